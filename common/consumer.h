/* Turns MQTT messages into committed state: decode, apply in one transaction
 * with the events it causes, dead-letter what is bad, and only then return. */
#ifndef SHOP_CONSUMER_H
#define SHOP_CONSUMER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

struct mqtt;

#include "db.h"
#include "dead_letter.h"
#include "event.h"
#include "lag.h"
#include "outbox.h"

/* A daemon's store numbers its statements from 0 up to below this: the
 * slots from here up are those of the rows the consumer writes on the same
 * connection (dead letters, outbox). Each store asserts its enum fits. */
#define CONSUMER_STORE_SLOTS DEAD_LETTER_STMT_SLOT

enum consumer_result {
	CONSUMER_APPLIED = 0,
	CONSUMER_CONFLICT = 1, /* the message contradicts recorded state: dead-letter it */
	CONSUMER_DB_ERROR = -1,
};

/* The daemon a consumer's handlers act on (struct inventory, struct order):
 * common/ never sees inside it; each daemon converts it back to its own
 * struct in one place (inventory_of, order_of). */
struct consumer_daemon;

/* Runs inside the transaction: changes state and adds outbox rows. */
typedef enum consumer_result (*consumer_apply_fn)(struct consumer_daemon *daemon,
						  const struct event *ev);

/* What a daemon does with each kind of event: one table per daemon. */
struct consumer_handlers {
	consumer_apply_fn apply[EVENT_KIND_COUNT]; /* NULL: not subscribed */
	/* Kinds whose commit may skip the fsync (db_transaction_retry's
	 * relaxed): losing one to a power cut is repaired by the re-drive. */
	unsigned char redrive_repairs[EVENT_KIND_COUNT];
};

struct consumer {
	const char *prefix;
	struct db *db;            /* the service's write connection */
	pthread_mutex_t *db_lock; /* the database is used by Paho's thread and the HTTP threads */
	struct outbox *outbox;    /* NULL in tests: nothing is woken */
	struct consumer_daemon *daemon;
	const struct consumer_handlers *handlers;
	atomic_ulong received, applied, conflicts, dead_letters, retries;
	struct mqtt *publisher; /* the outbox's own connection */
	struct heartbeat *heartbeat; /* on the publisher, while both connections are up */
	struct lag lag;         /* on /healthz, the front sheds on it */
};

/* Sets c up for a daemon whose handlers act on daemon and write through db
 * (held under db_lock) and outbox; no connection yet (consumer_connect).
 * Undo with consumer_destroy. */
void consumer_init(struct consumer *c, const char *prefix, struct db *db,
		   pthread_mutex_t *db_lock, struct outbox *outbox,
		   struct consumer_daemon *daemon, const struct consumer_handlers *handlers);
void consumer_destroy(struct consumer *c);

/* Opens a daemon's database with its schema plus the outbox and dead-letter
 * tables the consumer writes, and the lock that guards its one connection
 * (the consumer's db_lock); 0 or -1 (logged, nothing left open).
 * consumer_db_close closes both. */
int consumer_db_open(struct db *db, pthread_mutex_t *lock, const char *path, const char *sync,
		     const char *schema);
void consumer_db_close(struct db *db, pthread_mutex_t *lock);

/* The mqtt_message_fn of a daemon: ctx is a struct consumer. */
void consumer_on_message(void *ctx, const char *topic, const char *payload, size_t len,
			 int retained);

/* Applies one decoded event as consumer_on_message does, in one transaction
 * under db_lock: its handler, the rows it adds, and for a conflict a
 * dead-letter row holding payload (len bytes; NULL for none). Tried once,
 * never retried: CONSUMER_DB_ERROR means it was rolled back. For tests and
 * tools that feed a daemon's handlers without a broker. */
enum consumer_result consumer_apply(struct consumer *c, const struct event *ev,
				    const char *payload, size_t len);

struct service_settings;
struct mqtt;
/* Subscribes to the kinds the consumer has handlers for (persistent session,
 * *out) and starts the outbox publisher on a second connection; 0 or -1
 * (logged). */
int consumer_connect(struct consumer *c, const struct service_settings *svc,
		     const char *service, struct mqtt **out);
/* Closes the outbox's connection; after outbox_stop, before freeing it. */
void consumer_disconnect(struct consumer *c);

/* Notes how long ago the front accepted the order (its created_at), now
 * that this daemon has acted on it; a created_at that is not a time is
 * ignored. Handlers call it for new work only, not for duplicates. */
void consumer_note_lag(struct consumer *c, const char *created_at);

/* The mqtt on_ready of a daemon: after a reconnect, publish the outbox again. */
void consumer_on_ready(void *ctx);

void consumer_write_metrics(FILE *out, struct consumer *c, const char *service);

#endif
