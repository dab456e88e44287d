/* Prefilled databases for ./shop bench's scaling rows, written by the
 * daemons' own store code and event encoders. */
#ifndef SHOP_BENCH_PREFILL_H
#define SHOP_BENCH_PREFILL_H

/* Brings the stopped daemons' databases in data_dir (inventory.db with its
 * catalog loaded, order.db) to total orders: the orders missing become
 * confirmed, one unit of a catalog product each (round robin), with their
 * reservations, random ids, created two days before now a millisecond
 * apart. Topics under prefix. 0, or -1 with one line on stderr. */
int bench_prefill(const char *data_dir, long total, const char *prefix);

#endif
