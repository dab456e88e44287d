/* The inventory's SQLite store: products, reservations and their lines. */
#ifndef INVENTORY_STORE_H
#define INVENTORY_STORE_H

#include <pthread.h>
#include <stdint.h>

#include "db.h"
#include "event.h"

struct cJSON;

struct inventory_store {
	struct db db;
	pthread_mutex_t lock; /* one connection, used by Paho's thread and HTTP threads */
};

enum reservation_status {
	RESERVATION_RESERVED,
	RESERVATION_REJECTED,
	RESERVATION_RELEASED,
	RESERVATION_TOMBSTONE, /* canceled before the order was seen: never reserve */
};

struct reservation {
	enum reservation_status status;
	char *items;           /* canonical items JSON, NULL for a bare tombstone */
	char *outcome_topic;   /* what was published for the first order/send */
	char *outcome_payload;
};

int inventory_store_open(struct inventory_store *s, const char *path, const char *sync);
void inventory_store_close(struct inventory_store *s);

/* Loads a catalog file when the product table is empty; 0 loaded or skipped. */
int inventory_store_load_catalog(struct inventory_store *s, const char *path);

/* The functions below run inside the caller's transaction. */

/* Free out with inventory_reservation_free whatever it returns. */
enum db_lookup inventory_store_find(struct inventory_store *s, const char *order_id,
				    struct reservation *out);
void inventory_reservation_free(struct reservation *r);

/* Decides an order/send all or nothing: takes every line's stock and fills
 * outcome as in-stock with prices, or takes nothing and fills out-of-stock. */
int inventory_store_reserve(struct inventory_store *s, const struct event *send,
			    struct event *outcome);
int inventory_store_insert(struct inventory_store *s, const char *order_id,
			   enum reservation_status status, const char *items,
			   const char *outcome_topic, const char *outcome_payload);
int inventory_store_set_items(struct inventory_store *s, const char *order_id, const char *items);
/* Gives a reservation's stock back and marks it released. */
int inventory_store_release(struct inventory_store *s, const char *order_id);

/* The admin's events (docs/protocol.md §Topics), inside the caller's
 * transaction. A restock applies once per restock_id; one of an unknown SKU
 * is kept (parked) and applied when the product appears, so that a restock
 * and the product event that creates its SKU converge in either order. */
enum inventory_restock_result {
	INVENTORY_RESTOCK_APPLIED,   /* stock added */
	INVENTORY_RESTOCK_PARKED,    /* recorded; the SKU is unknown yet */
	INVENTORY_RESTOCK_DUPLICATE, /* this restock_id was seen: nothing changes */
	INVENTORY_RESTOCK_CONFLICT,  /* this restock_id was seen with another sku or qty */
	INVENTORY_RESTOCK_ERROR = -1,
};
enum inventory_restock_result inventory_store_restock(struct inventory_store *s,
						      const struct event *ev, int64_t now_ms);

/* A product change applies when its version is newer than the stored one
 * (at the same version, the greater (name, price, currency) wins); an
 * unknown SKU is created with 0 stock plus its parked restocks. Reservations
 * take the price current when they are made. */
enum inventory_product_result {
	INVENTORY_PRODUCT_CREATED,
	INVENTORY_PRODUCT_UPDATED,
	INVENTORY_PRODUCT_STALE, /* not newer than the stored version: nothing changes */
	INVENTORY_PRODUCT_ERROR = -1,
};
enum inventory_product_result inventory_store_product(struct inventory_store *s,
						      const struct event *ev, int64_t now_ms);

/* Reads for HTTP (take the lock themselves); the caller frees the JSON. */
struct cJSON *inventory_store_catalog_json(struct inventory_store *s);
struct cJSON *inventory_store_stock_json(struct inventory_store *s);
struct cJSON *inventory_store_reservations_json(struct inventory_store *s, const char *order_id);
/* {"restocks":[{restock_id, sku, qty, applied_at (ms, null while parked)}]} */
struct cJSON *inventory_store_restocks_json(struct inventory_store *s);

const char *inventory_reservation_status_name(enum reservation_status status);

#endif
