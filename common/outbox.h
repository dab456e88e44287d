/* Transactional outbox: events recorded with the state change, published by
 * one thread at QoS 1, deleted only after the broker's PUBACK. */
#ifndef SHOP_OUTBOX_H
#define SHOP_OUTBOX_H

#include <pthread.h>

#include "db.h"
#include "mqtt.h"

/* The db statement slot outbox_add uses; stores use the slots below it. */
#define OUTBOX_STMT_SLOT (DB_MAX_STMTS - 1)

struct outbox;

/* Creates the outbox table in db (inside the store's schema set-up). */
int outbox_create_schema(struct db *db);

/* Records an event to publish, inside the caller's open transaction. */
int outbox_add(struct db *db, const char *topic, const char *payload);

/* Encodes ev and records it for <prefix><topic of its kind>. */
struct event;
int outbox_add_event(struct db *db, const char *prefix, const struct event *ev);

/* Opens its own connection to the database at path; no thread yet.
 * writer_lock is the lock the daemon holds around its own write
 * transactions on that database (its store's): the outbox holds it around
 * its writes too (deletes), so that the daemon's writer waits on a
 * mutex that wakes it at once, not in SQLite's busy handler, which sleeps
 * 1 to 100 ms between tries (docs/internals.md). Outlives the outbox. */
int outbox_create(const char *path, pthread_mutex_t *writer_lock, struct outbox **out);
/* Durable before visible (docs/protocol.md §Durable before visible): before
 * it publishes rows, the publisher makes the database's log durable once
 * (an fdatasync of the log file, unless a synced commit of writer covers
 * them), so that the daemon's handlers may commit theirs (on writer,
 * db_transaction_retry's relaxed) without an fsync. Syncs once at once,
 * with a write under synchronous=FULL, covering what an earlier life left.
 * Before outbox_start and outbox_sync_for_reader; writer outlives o; 0 or
 * -1. */
int outbox_sync_before_publish(struct outbox *o, struct db *writer);
/* Before a state that relaxed commits of the writer decided is shown over
 * HTTP (read first, then call): returns 0 once an fsync covers every
 * relaxed commit made so far, taking one only when none does yet (the same
 * sync as the publisher's; cheap when covered), or -1 when it cannot sync:
 * show nothing final then. Without outbox_sync_before_publish it returns 0
 * at once and counts the state as shown unsynced. Any thread. */
int outbox_sync_for_reader(struct outbox *o);
/* Starts the publisher thread on an MQTT client. */
int outbox_start(struct outbox *o, struct mqtt *mqtt);
/* New rows were committed: publish them soon. */
void outbox_wake(struct outbox *o);
/* Right after a commit on the daemon's connection, with the rows it kept
 * (db_kept_rows_take inside the transaction): hands them to the MQTT
 * client from the caller's thread when they are next in line and need no
 * sync first (docs/protocol.md §Outbox), which spares the outbox thread's
 * wake-up; else wakes it. Any thread, Paho's callbacks too; empties rows. */
void outbox_publish_committed(struct outbox *o, struct db_kept_rows *rows);
/* The connection came back: publish every row not yet acknowledged again. */
void outbox_resend(struct outbox *o);
/* Stops the thread; outbox_free after the MQTT client is gone. */
void outbox_stop(struct outbox *o);
void outbox_free(struct outbox *o);

/* Counters for /metrics. */
unsigned long outbox_published(struct outbox *o);
/* Of those, handed over right after their commit (outbox_publish_committed). */
unsigned long outbox_published_direct(struct outbox *o);
unsigned long outbox_acked(struct outbox *o);
/* How often everything not yet acknowledged was sent again (reconnects, failed publishes). */
unsigned long outbox_resends(struct outbox *o);
/* Syncs taken before publishing, and rows handed to the MQTT client that
 * no such sync covered (0 with outbox_sync_before_publish; all without). */
unsigned long outbox_syncs(struct outbox *o);
unsigned long outbox_unsynced_sent(struct outbox *o);
/* Syncs taken for outbox_sync_for_reader (part of outbox_syncs), and the
 * calls of it that did not wait for one (0 with outbox_sync_before_publish). */
unsigned long outbox_reader_syncs(struct outbox *o);
unsigned long outbox_unsynced_shown(struct outbox *o);
/* Rows waiting for a PUBACK (as of the last pass of the thread). */
long outbox_backlog(struct outbox *o);

#endif
