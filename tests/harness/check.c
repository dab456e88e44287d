/* shop-replay check: reads the front (its admin API with the admin token, or
 * with --direct the daemons' internal HTTP) and prints the invariants of docs/protocol.md
 * one per line; with --timeout it polls until they hold on two equal
 * snapshots in a row (quiescence) or time is up. */
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "http_client.h"
#include "invariants.h"
#include "service.h"

#define CHECK_HTTP_TIMEOUT_MS 5000
#define CHECK_POLL_MS 100
#define CHECK_MAX_TOKEN 512

struct endpoint {
	const char *url;
	struct http_target target;
	const char *token; /* sent as a bearer token; NULL: none */
	int internal;      /* a daemon's internal HTTP: token is the internal token */
};

struct check_options {
	struct endpoint front, admin, inventory, order; /* admin: the front, with the token */
	const char *admin_token;
	const char *internal_token; /* docs/protocol.md §Settings, SHOP_INTERNAL_TOKEN */
	int timeout_s;
	int no_front;
	int direct;
};

/* What one round of GETs saw. */
struct snapshot {
	cJSON *stock, *reservations, *orders, *catalog, *restocks;
	int front_ready;
	char *raw;       /* every body, one after another: equal raw, equal state */
	size_t raw_len;
	char error[600]; /* the first GET that failed */
	int refused;     /* the front said 401/403: polling will not help */
};

static void snapshot_free(struct snapshot *s)
{
	cJSON_Delete(s->stock);
	cJSON_Delete(s->reservations);
	cJSON_Delete(s->orders);
	cJSON_Delete(s->catalog);
	cJSON_Delete(s->restocks);
	free(s->raw);
	memset(s, 0, sizeof *s);
}

static int raw_append(struct snapshot *s, const struct http_response *r)
{
	char *bigger = realloc(s->raw, s->raw_len + r->len + 2);

	if (bigger == NULL)
		return -1;
	s->raw = bigger;
	memcpy(s->raw + s->raw_len, r->body, r->len);
	s->raw_len += r->len;
	s->raw[s->raw_len++] = '\n';
	return 0;
}

/* http_client_get with the bearer token. 0 with any HTTP status, -1
 * without an answer. */
static int get_with_token(const struct endpoint *e, const char *path, struct http_response *out)
{
	char auth[CHECK_MAX_TOKEN + 32];

	snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", e->token);
	return http_client_get_with(&e->target, path, auth, CHECK_HTTP_TIMEOUT_MS, out);
}

/* The one line for a 401/403 of the admin API, from its error body. */
static void refused_line(struct snapshot *s, const struct endpoint *e, const char *path,
			 const struct http_response *r)
{
	cJSON *body = cJSON_ParseWithLength(r->body ? r->body : "", r->len);
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(body, "error");
	const char *c = cJSON_IsString(code) ? code->valuestring : "";
	const char *hint = e->internal ?
		"the daemon refused the internal token: pass it with --internal-token or "
		"SHOP_INTERNAL_TOKEN ($SHOP_DATA_DIR/internal-token of ./shop run)" :
		strcmp(c, "admin_disabled") == 0 ?
		"the front runs without an admin token (start it with SHOP_ADMIN_TOKEN), or use --direct" :
		"the front refused the admin token: pass its token with --admin-token or SHOP_ADMIN_TOKEN";

	snprintf(s->error, sizeof s->error, "GET %s%s: HTTP %d %s: %s", e->url, path, r->status,
		 c[0] ? c : "refused", hint);
	s->refused = 1;
	cJSON_Delete(body);
}

/* GETs a JSON body holding the array `list`; 0, or -1 with s->error set. */
static int fetch(struct snapshot *s, const struct endpoint *e, const char *path,
		 const char *list, cJSON **out)
{
	struct http_response r;
	const cJSON *a;
	int got = e->token ? get_with_token(e, path, &r) :
			     http_client_get(&e->target, path, CHECK_HTTP_TIMEOUT_MS, &r);

	if (got != 0) {
		snprintf(s->error, sizeof s->error, "GET %s%s: no answer", e->url, path);
		return -1;
	}
	if (e->token && (r.status == 401 || r.status == 403)) {
		refused_line(s, e, path, &r);
		http_response_free(&r);
		return -1;
	}
	if (r.status != 200) {
		snprintf(s->error, sizeof s->error, "GET %s%s: HTTP %d %.200s", e->url, path,
			 r.status, r.body ? r.body : "");
		http_response_free(&r);
		return -1;
	}
	*out = cJSON_ParseWithLength(r.body, r.len);
	a = *out ? cJSON_GetObjectItemCaseSensitive(*out, list) : NULL;
	if (!cJSON_IsArray(a)) {
		snprintf(s->error, sizeof s->error, "GET %s%s: not a JSON object with a \"%s\" list",
			 e->url, path, list);
		http_response_free(&r);
		return -1;
	}
	if (raw_append(s, &r) != 0) {
		snprintf(s->error, sizeof s->error, "out of memory");
		http_response_free(&r);
		return -1;
	}
	http_response_free(&r);
	return 0;
}

static int front_ready(struct snapshot *s, const struct endpoint *e)
{
	struct http_response r;

	if (http_client_get(&e->target, "/readyz", CHECK_HTTP_TIMEOUT_MS, &r) != 0) {
		snprintf(s->error, sizeof s->error, "GET %s/readyz: no answer", e->url);
		return -1;
	}
	s->front_ready = r.status;
	http_response_free(&r);
	return 0;
}

static int snapshot_take(struct snapshot *s, const struct check_options *o)
{
	memset(s, 0, sizeof *s);
	if (!o->direct) {
		/* The admin listings are the daemons' bodies relayed as they are. */
		if (fetch(s, &o->admin, "/api/v1/admin/stock", "products", &s->stock) != 0 ||
		    fetch(s, &o->admin, "/api/v1/admin/reservations", "reservations",
			  &s->reservations) != 0 ||
		    fetch(s, &o->admin, "/api/v1/admin/orders", "orders", &s->orders) != 0 ||
		    fetch(s, &o->admin, "/api/v1/admin/restocks", "restocks", &s->restocks) != 0)
			return -1;
	} else if (fetch(s, &o->inventory, "/stock", "products", &s->stock) != 0 ||
		   fetch(s, &o->inventory, "/reservations", "reservations", &s->reservations) != 0 ||
		   fetch(s, &o->order, "/orders", "orders", &s->orders) != 0 ||
		   fetch(s, &o->inventory, "/restocks", "restocks", &s->restocks) != 0) {
		return -1;
	}
	if (o->no_front)
		return 0;
	if (front_ready(s, &o->front) != 0 ||
	    fetch(s, &o->front, "/api/v1/catalog", "products", &s->catalog) != 0)
		return -1;
	return 0;
}

/* Evaluates a snapshot; 1 when everything passed. */
static int evaluate(const struct snapshot *s, struct invariant_result res[INVARIANTS_COUNT])
{
	struct shop_view v = { .stock = s->stock, .reservations = s->reservations,
			       .orders = s->orders, .restocks = s->restocks, .catalog = s->catalog,
			       .front_ready = s->front_ready };
	int all = 1;

	invariants_evaluate(&v, res);
	for (int i = 0; i < INVARIANTS_COUNT; i++)
		all &= !res[i].checked || res[i].pass;
	return all;
}

static double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int check_run(const struct check_options *o)
{
	struct invariant_result res[INVARIANTS_COUNT];
	struct snapshot now = { 0 }, prev = { 0 };
	double start = monotonic_s();
	int fetched = 0, pass = 0, stable = 0;

	mg_init_library(0);
	service_install_signals();
	for (;;) {
		fetched = snapshot_take(&now, o) == 0;
		pass = fetched && evaluate(&now, res);
		stable = pass && prev.raw != NULL && prev.raw_len == now.raw_len &&
			 memcmp(prev.raw, now.raw, now.raw_len) == 0;
		if (o->timeout_s == 0 || stable || service_stopping || now.refused ||
		    monotonic_s() - start >= o->timeout_s)
			break;
		snapshot_free(&prev);
		prev = now; /* moved, not copied */
		memset(&now, 0, sizeof now);
		service_sleep_ms(CHECK_POLL_MS);
	}
	if (now.refused) {
		fprintf(stderr, "%s check: %s\n", CLI_PROGRAM, now.error);
	} else if (!fetched) {
		printf("FAIL fetch: %s\n", now.error);
	} else {
		for (int i = 0; i < INVARIANTS_COUNT; i++) {
			if (res[i].checked)
				printf("%s\n", res[i].line);
		}
	}
	if (o->timeout_s > 0 && fetched)
		printf("%s quiescent: %s after %.1f s\n", stable ? "PASS" : "FAIL",
		       stable ? "two snapshots in a row the same" :
		       pass ? "the state kept changing" : "the invariants did not hold",
		       monotonic_s() - start);
	snapshot_free(&now);
	snapshot_free(&prev);
	mg_exit_library();
	return pass && (o->timeout_s == 0 || stable) ? 0 : 1;
}

static int endpoint_finish(struct endpoint *e, char *buf, size_t len, int port,
			   const char *flag)
{
	service_default_url(&e->url, buf, len, "http", port);
	if (http_target_parse(e->url, &e->target) != 0) {
		fprintf(stderr, "%s check: invalid %s '%s': expected http://host:port\n",
			CLI_PROGRAM, flag, e->url);
		return -1;
	}
	return 0;
}

/* The token goes into a header line: printable ASCII only, so it can
 * neither end the line nor smuggle another header. 0, or -1 with a line. */
static int token_valid(const char *token, const char *what)
{
	size_t n = strlen(token);

	if (n > CHECK_MAX_TOKEN) {
		fprintf(stderr, "%s check: the %s is longer than %d characters\n",
			CLI_PROGRAM, what, CHECK_MAX_TOKEN);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (token[i] <= ' ' || token[i] > '~') {
			fprintf(stderr, "%s check: the %s must be printable ASCII without spaces\n",
				CLI_PROGRAM, what);
			return -1;
		}
	}
	return 0;
}

/* Which sources the mode needs, checked before anything is fetched; 0, or
 * -1 with one line on stderr. */
static int options_finish(struct check_options *o)
{
	if (!o->direct && o->no_front) {
		fprintf(stderr, "%s check: --no-front needs --direct (without it everything is read "
			"through the front)\n", CLI_PROGRAM);
		return -1;
	}
	if (!o->direct && (o->admin_token == NULL || o->admin_token[0] == '\0')) {
		fprintf(stderr, "%s check: no admin token: pass --admin-token or set SHOP_ADMIN_TOKEN "
			"(./shop run writes it to $SHOP_DATA_DIR/admin-token), or use --direct\n",
			CLI_PROGRAM);
		return -1;
	}
	if (!o->direct && token_valid(o->admin_token, "admin token") != 0)
		return -1;
	if (o->direct && o->internal_token != NULL &&
	    token_valid(o->internal_token, "internal token") != 0)
		return -1;
	o->admin = o->front;
	o->admin.token = o->direct ? NULL : o->admin_token;
	o->inventory.token = o->order.token = o->internal_token;
	o->inventory.internal = o->order.internal = 1;
	return 0;
}

int check_main(int argc, char **argv)
{
	struct cli_common c = { 0 };
	struct check_options o = { 0 };
	int front_port = 0, inventory_port = 0, order_port = 0;
	char front_buf[64], inventory_buf[64], order_buf[64];
	const struct setting table[] = {
		CLI_COMMON_ROWS(c),
		{ "--front-port", "SHOP_FRONT_PORT", SETTING_INT, &front_port, 1, 65535, "8080",
		  NULL, "port of the front, used when --front-url is not given" },
		{ "--front-url", "SHOP_FRONT_URL", SETTING_STRING, &o.front.url, 0, 0, NULL, NULL,
		  "the front (default http://127.0.0.1:<front-port>)" },
		{ "--admin-token", "SHOP_ADMIN_TOKEN", SETTING_STRING, &o.admin_token, 0, 0, NULL,
		  NULL, "the front's admin token, sent as a bearer token to /api/v1/admin/*; "
		  "needed unless --direct" },
		{ "--internal-token", "SHOP_INTERNAL_TOKEN", SETTING_STRING, &o.internal_token, 0, 0,
		  NULL, NULL, "with --direct: the daemons' internal token, sent as a bearer token "
		  "(./shop run writes it to $SHOP_DATA_DIR/internal-token)" },
		{ "--inventory-port", "SHOP_INVENTORY_PORT", SETTING_INT, &inventory_port, 1, 65535,
		  "8081", NULL, "with --direct: port of the inventory, used when --inventory-url is not given" },
		{ "--order-port", "SHOP_ORDER_PORT", SETTING_INT, &order_port, 1, 65535, "8082",
		  NULL, "with --direct: port of the order daemon, used when --order-url is not given" },
		{ "--inventory-url", "SHOP_INVENTORY_URL", SETTING_STRING, &o.inventory.url, 0, 0,
		  NULL, NULL, "with --direct: the inventory's internal HTTP (default http://127.0.0.1:<inventory-port>)" },
		{ "--order-url", "SHOP_ORDER_URL", SETTING_STRING, &o.order.url, 0, 0, NULL, NULL,
		  "with --direct: the order daemon's internal HTTP (default http://127.0.0.1:<order-port>)" },
		{ "--timeout", "SHOP_REPLAY_TIMEOUT", SETTING_INT, &o.timeout_s, 0, 86400, "0", NULL,
		  "poll until the invariants hold on two equal snapshots in a row, for up to this many seconds; 0: look once" },
	};
	const struct cli_switch switches[] = {
		{ "--direct", "SHOP_REPLAY_DIRECT", &o.direct,
		  "read stock, reservations and orders from the daemons' internal HTTP (--inventory-url, "
		  "--order-url) instead of the front's admin API, with the internal token" },
		{ "--no-front", "SHOP_REPLAY_NO_FRONT", &o.no_front,
		  "with --direct: check only the daemons (skip the front's /readyz and catalog)" },
	};
	enum cli_result parsed;
	const struct cli_spec spec = {
		.name = "check", .args = "",
		.summary = "Reads the front's GET /api/v1/admin/stock, /reservations and /orders (with\n"
			   "the admin token), its /readyz and catalog, and prints the invariants of docs/protocol.md\n"
			   "one per line, PASS or FAIL with figures. Exit status 0 when all pass, 1 when\n"
			   "one fails or the front refuses the token (401/403), 2 on a bad flag or no token.\n"
			   "--direct reads the inventory's /stock and /reservations and the order daemon's\n"
			   "/orders on their internal HTTP instead (--internal-token, --inventory-url,\n"
			   "--order-url).",
		CLI_TABLES(table, switches),
	};

	if ((parsed = cli_parse(&spec, &c, argc, argv)) != CLI_OK)
		return cli_exit_status(parsed);
	if (endpoint_finish(&o.front, front_buf, sizeof front_buf, front_port, "--front-url") != 0)
		return 2;
	/* The daemons' URLs matter only with --direct: ./shop run exports them
	 * for the front, so they are ignored rather than refused otherwise. */
	if (o.direct &&
	    (endpoint_finish(&o.inventory, inventory_buf, sizeof inventory_buf, inventory_port,
			     "--inventory-url") != 0 ||
	     endpoint_finish(&o.order, order_buf, sizeof order_buf, order_port, "--order-url") != 0))
		return 2;
	if (options_finish(&o) != 0)
		return 2;
	return check_run(&o);
}
