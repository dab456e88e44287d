/* The order daemon's SQLite store: one row per order, loaded and saved whole. */
#ifndef ORDER_STORE_H
#define ORDER_STORE_H

#include <pthread.h>
#include <stdint.h>

#include "db.h"
#include "event.h"

enum order_status { ORDER_PENDING, ORDER_CONFIRMED, ORDER_REJECTED, ORDER_CANCELED };

struct order_record {
	char order_id[EVENT_ORDER_ID_LEN + 1];
	enum order_status status;
	char *items;          /* canonical [{sku,qty}], NULL for a bare cancel tombstone */
	char *priced;         /* [{sku,qty,unit_price_cents}] once the inventory priced it */
	long long total_cents; /* -1 until priced */
	char reason[32];
	char reason_sku[EVENT_SKU_MAX + 1];
	char created_at[40];
	int released;          /* the inventory answered inventory/released */
	int64_t next_redrive_ms;
	int redrives;
	int64_t final_ms;      /* when it became confirmed, rejected or canceled */
};

struct order_store {
	struct db db;
	pthread_mutex_t lock; /* one connection for Paho's, the re-drive and HTTP threads */
};

int order_store_open(struct order_store *s, const char *path, const char *sync);
void order_store_close(struct order_store *s);

/* DB_MISSING leaves rec a fresh pending record with this id. Free the
 * record's strings with order_record_free whatever it returns. */
enum db_lookup order_store_load(struct order_store *s, const char *order_id,
				struct order_record *rec);
int order_store_save(struct order_store *s, const struct order_record *rec);
void order_record_free(struct order_record *rec);
/* Replaces a string field of a record with a copy of text (NULL allowed). */
int order_record_set(char **field, const char *text);

/* Orders the re-drive owes an event (pending, or canceled and not released)
 * whose time has come, at most max; returns how many were loaded or -1. */
int order_store_due(struct order_store *s, int64_t now_ms, struct order_record *out, int max);

/* How long ago the front accepted the nth oldest order still pending (1 is
 * the oldest), in ms; 0 when fewer are pending. Takes the lock. */
int64_t order_store_pending_age(struct order_store *s, int nth, int64_t now_ms);

/* Calls fn for every order (or the one with order_id), holding the lock. */
int order_store_each(struct order_store *s, const char *order_id,
		     void (*fn)(void *ctx, const struct order_record *rec), void *ctx);

const char *order_status_name(enum order_status status);

#endif
