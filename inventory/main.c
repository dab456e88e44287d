/* shop-inventory: keeps stock, reserves it for orders, returns it for cancels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "inventory.h"
#include "log.h"

static const char *const summary =
	"The webshop's inventory daemon: reserves stock for orders from the bus.";

static int parse_settings(struct inventory *inv, int argc, char **argv)
{
	const struct setting table[] = {
		SERVICE_SETTINGS_ROWS(inv->svc),
		SERVICE_INTERNAL_BIND_ROW(inv->svc),
		SERVICE_INTERNAL_THREADS_ROW(inv->svc),
		SERVICE_TEST_SNAPSHOT_ROW(inv->svc),
		{ "--inventory-port", "SHOP_INVENTORY_PORT", SETTING_INT, &inv->port, 1, 65535,
		  "8081", NULL, "HTTP port of the internal API" },
		{ "--sqlite-sync", "SHOP_SQLITE_SYNC", SETTING_CHOICE, &inv->sync, 0, 0, "full",
		  "normal|full", "SQLite synchronous setting" },
		{ "--catalog", "SHOP_CATALOG", SETTING_STRING, &inv->catalog, 0, 0, NULL, NULL,
		  "JSON catalog loaded when the product table is empty" },
	};
	enum settings_result r = settings_parse(table, sizeof table / sizeof *table, argc, argv,
						"shop-inventory", summary);
	if (r == SETTINGS_EXIT_SUCCESS)
		exit(0);
	if (r == SETTINGS_ERROR || service_settings_finish(&inv->svc, "shop-inventory") != 0 ||
	    service_data_dir_create(&inv->svc, "shop-inventory") != 0)
		exit(2);
	return 0;
}

static void open_store(struct inventory *inv, char *db_path, size_t len)
{
	if (service_path(db_path, len, inv->svc.data_dir, "inventory.db") != 0)
		fatal("data dir path '%s' is too long", inv->svc.data_dir);
	if (inv->svc.test_snapshot_dir != NULL && db_test_snapshots(inv->svc.test_snapshot_dir) != 0)
		fatal("test snapshot dir %s is not a directory", inv->svc.test_snapshot_dir);
	if (inventory_store_open(&inv->store, db_path, inv->sync) != 0)
		fatal("cannot open database %s", db_path);
	if (inv->catalog != NULL && inventory_store_load_catalog(&inv->store, inv->catalog) != 0)
		fatal("cannot load catalog %s", inv->catalog);
	if (outbox_create(db_path, &inv->store.lock, &inv->outbox) != 0)
		fatal("cannot open the outbox in %s", db_path);
	/* With full, orders and cancels commit without an fsync (handlers.c) and
	 * the outbox takes one for all of them before it publishes. */
	if (strcmp(inv->sync, "full") == 0 &&
	    outbox_sync_before_publish(inv->outbox, &inv->store.db) != 0)
		fatal("cannot set up the outbox's sync in %s", db_path);
}

static void connect_bus(struct inventory *inv)
{
	if (consumer_connect(&inv->consumer, &inv->svc, "inventory", &inv->mqtt) != 0)
		fatal("cannot connect to the broker at %s: %s", inv->svc.broker_url,
		      mqtt_start_failure());
}

int main(int argc, char **argv)
{
	static struct inventory inv;
	char db_path[4096];

	parse_settings(&inv, argc, argv);
	service_install_signals();
	open_store(&inv, db_path, sizeof db_path);
	inventory_consumer_init(&inv);
	if (inventory_http_start(&inv) != 0)
		fatal("cannot serve HTTP on %s:%d: %s", inv.svc.bind, inv.port,
		      http_start_failure());
	connect_bus(&inv);
	log_info("inventory ready: http://%s:%d, broker %s, database %s", inv.svc.bind, inv.port,
		 inv.svc.broker_url, db_path);

	service_wait_for_stop();

	log_info("inventory stopping");
	http_stop(inv.http);
	outbox_stop(inv.outbox);
	consumer_disconnect(&inv.consumer);
	mqtt_stop(inv.mqtt);
	outbox_free(inv.outbox);
	inventory_store_close(&inv.store);
	consumer_destroy(&inv.consumer);
	return 0;
}
