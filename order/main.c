/* shop-order: records orders and their status from the bus, re-drives what is owed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "order.h"

static const char *const summary =
	"The webshop's order daemon: tracks every order's status from the bus.";

static void parse_settings(struct order *o, int argc, char **argv)
{
	const struct setting table[] = {
		SERVICE_SETTINGS_ROWS(o->svc),
		SERVICE_INTERNAL_BIND_ROW(o->svc),
		SERVICE_INTERNAL_THREADS_ROW(o->svc),
		SERVICE_TEST_SNAPSHOT_ROW(o->svc),
		{ "--order-port", "SHOP_ORDER_PORT", SETTING_INT, &o->port, 1, 65535, "8082", NULL,
		  "HTTP port of the internal API" },
		{ "--sqlite-sync", "SHOP_SQLITE_SYNC", SETTING_CHOICE, &o->sync, 0, 0, "full",
		  "normal|full", "SQLite synchronous setting" },
		{ "--redrive-s", "SHOP_REDRIVE_S", SETTING_INT, &o->redrive_s, 1, 3600, "5", NULL,
		  "seconds before an order still owed an answer is re-driven" },
	};
	enum settings_result r = settings_parse(table, sizeof table / sizeof *table, argc, argv,
						"shop-order", summary);
	if (r == SETTINGS_EXIT_SUCCESS)
		exit(0);
	if (r == SETTINGS_ERROR || service_settings_finish(&o->svc, "shop-order") != 0 ||
	    service_data_dir_create(&o->svc, "shop-order") != 0)
		exit(2);
}

static void open_store(struct order *o, char *db_path, size_t len)
{
	if (service_path(db_path, len, o->svc.data_dir, "order.db") != 0)
		fatal("data dir path '%s' is too long", o->svc.data_dir);
	if (o->svc.test_snapshot_dir != NULL && db_test_snapshots(o->svc.test_snapshot_dir) != 0)
		fatal("test snapshot dir %s is not a directory", o->svc.test_snapshot_dir);
	if (order_store_open(&o->store, db_path, o->sync) != 0)
		fatal("cannot open database %s", db_path);
	if (outbox_create(db_path, &o->store.lock, &o->outbox) != 0)
		fatal("cannot open the outbox in %s", db_path);
	/* With full, the inventory's answers commit without an fsync
	 * (handlers.c): the outbox takes one for all of them before it
	 * publishes, and the HTTP API before it shows a final status. */
	if (strcmp(o->sync, "full") == 0 && outbox_sync_before_publish(o->outbox, &o->store.db) != 0)
		fatal("cannot set up the outbox's sync in %s", db_path);
}

static void connect_bus(struct order *o)
{
	if (consumer_connect(&o->consumer, &o->svc, "order", &o->mqtt) != 0)
		fatal("cannot connect to the broker at %s: %s", o->svc.broker_url,
		      mqtt_start_failure());
}

int main(int argc, char **argv)
{
	static struct order o;
	char db_path[4096];

	parse_settings(&o, argc, argv);
	service_install_signals();
	open_store(&o, db_path, sizeof db_path);
	order_consumer_init(&o);
	if (order_http_start(&o) != 0)
		fatal("cannot serve HTTP on %s:%d: %s", o.svc.bind, o.port,
		      http_start_failure());
	connect_bus(&o);
	if (order_redrive_start(&o) != 0)
		fatal("cannot start the re-drive thread");
	log_info("order daemon ready: http://%s:%d, broker %s, database %s", o.svc.bind, o.port,
		 o.svc.broker_url, db_path);

	service_wait_for_stop();

	log_info("order daemon stopping");
	http_stop(o.http);
	order_redrive_stop(&o);
	outbox_stop(o.outbox);
	consumer_disconnect(&o.consumer);
	mqtt_stop(o.mqtt);
	outbox_free(o.outbox);
	order_store_close(&o.store);
	consumer_destroy(&o.consumer);
	return 0;
}
