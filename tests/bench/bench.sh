# shellcheck shell=bash
# ./shop bench, sourced by ./shop: uses its helpers (say, die, nap, alive,
# port_open, http_ok, load_settings, start_all, stop_all, launch, wait_until,
# ensure_packages, build_main) and its PID/SERVICES tables.
#
# A fresh shop on free ports in a temp data dir; the layers' limits measured
# by the programs of tests/bench/; the shop under closed-loop and paced load,
# with POST -> final latency of every order from the daemons' timestamps, and
# CPU and context switches per confirmed order of each service from /proc; paced
# rows at 80 % of the measured capacity and at 1,000 orders/s; an overload row
# (2x offered) and a wrk flood row (tests/bench/flood.lua); a recovery row
# (SIGKILL of the inventory under load); rows with 10^4..10^6 orders prefilled
# and a 10,000-product catalog. Every row of the load generator says how much
# of a core it used itself. Prints a table and name=value ratios, writes
# bench.json to the data dir.

BENCH_BIN=$ROOT/build/tests/bench
BENCH_ROWS=()
BENCH_HTTP_PID='' BENCH_LOAD_PID=''
BENCH_SKUS_FILE=
BENCH_DURING='' BENCH_AFTER='' # hooks of bench_orders: beside the load, extra fields after it
declare -A BENCH_USED_PORT=()
# The messages an order needs on the bus by the contract (docs/protocol.md §Topics):
# order/send, inventory/in-stock and two order/status (pending, confirmed), each counted
# as the bus row's QoS 1 publish and delivery. Left out, going opposite ways: the second
# delivery of order/send, and the PUBACKs the fronts do not send (QoS 0 for order/status).
BUS_MSGS_PER_ORDER=4
# An order's created_at (RFC 3339 UTC, set by the front) in epoch milliseconds.
CREATED_MS="CAST(round((julianday(created_at) - 2440587.5) * 86400000) AS INTEGER)"

# --- settings and helpers -------------------------------------------------------

bench_settings() { # QUICK: row lengths and which rows run
	if (($1)); then # under 90 s: one prefilled level on the run's own shop, no recovery
		BENCH_S=3 BENCH_W=1 BENCH_DRAIN=3 BENCH_LIMIT_S=2 BENCH_READ_S=2
		BENCH_LIMIT_CS=(64) BENCH_READ_CS=(64) BENCH_SCALE=(1e5) BENCH_SCALE_BASE=orders_c64
		BENCH_BIG_CATALOG=0 BENCH_RECOVERY_S=0
	else
		BENCH_S=10 BENCH_W=2 BENCH_DRAIN=15 BENCH_LIMIT_S=10 BENCH_READ_S=5
		BENCH_LIMIT_CS=(1 8 64) BENCH_READ_CS=(1 8 64) BENCH_SCALE=(1e4 1e5 1e6)
		BENCH_SCALE_BASE=scale_0 BENCH_BIG_CATALOG=10000 BENCH_RECOVERY_S=20
	fi
	BENCH_MAXC=64
	# Clients of the paced rows: enough that the offered rate does not wait
	# on answers, no more than the front's HTTP threads (a keep-alive
	# connection holds one; SHOP_FRONT_THREADS, 128 by default).
	BENCH_PACED_C=64
}

bench_free_port() { # a port nothing listens on, not handed out before
	local p
	while true; do
		p=$((20000 + RANDOM % 12000)) # below the ephemeral range
		[[ -z ${BENCH_USED_PORT[$p]:-} ]] && ! port_open 127.0.0.1 "$p" && break
	done
	BENCH_USED_PORT[$p]=1
	echo "$p"
}

bench_catalog() { # PRODUCTS: catalog (stock 10^9, never runs out) and SKU list in the data dir
	BENCH_CATALOG=$SHOP_DATA_DIR/bench-catalog.json
	BENCH_SKUS_FILE=$SHOP_DATA_DIR/bench-skus.txt
	awk -v n="$1" -v cat="$BENCH_CATALOG" -v skus="$BENCH_SKUS_FILE" 'BEGIN {
		w = length(n - 1 "") < 2 ? 2 : length(n - 1 "")
		printf "{\"products\":[" >cat
		for (i = 0; i < n; i++) {
			sku = sprintf("BENCH-%0" w "d", i)
			printf "%s{\"sku\":\"%s\",\"name\":\"Bench item %d\",\"price_cents\":%d,\"currency\":\"EUR\",\"stock\":1000000000}", (i ? "," : ""), sku, i, 100 + i % 1000 >cat
			print sku >skus
		}
		print "]}" >cat
	}'
}

kv() { # "LINE" KEY: the value of KEY=value in LINE
	local t
	for t in $1; do [[ $t == "$2="* ]] && { echo "${t#*=}"; return; }; done
	echo ""
}

rv() { # ROW KEY: the value of KEY in the kept row named ROW
	local row
	for row in "${BENCH_ROWS[@]}"; do
		[[ $row == "$1 "* ]] && { kv "$row" "$2"; return; }
	done
	echo ""
}

bench_row() { # NAME "LINE": keep one result row (the line without its first word)
	local rest=${2#* }
	BENCH_ROWS+=("$1 $rest")
	printf '  %-20s %s\n' "$1" "$rest"
}

product() { awk -v a="$1" "BEGIN { if (a != \"\") printf \"%.0f\", a * $2 }"; } # A B-EXPRESSION: A × B, whole ("" when A is)
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; } # AWK-EXPRESSION: its value, 3 decimals

ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }'; }

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

cpu_ticks() { # PID: utime+stime in clock ticks (0 if gone)
	local -a f
	{ read -r -a f <"/proc/$1/stat"; } 2>/dev/null || { echo 0; return; }
	echo $((f[13] + f[14]))
}

proc_kb() { { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" || echo 0; } 2>/dev/null; } # PID FIELD

cpu_per_orders() { # TICKS ORDERS PER [DECIMALS]: CPU seconds per PER orders (PER 1000: CPU
	# seconds per 1,000 orders; PER 1000000: CPU microseconds per order)
	awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" -v per="$3" -v d="${4:-3}" \
		'BEGIN { printf "%." d "f", (n > 0 ? t / hz / n * per : 0) }'
}

ctxsw() { # PID: voluntary + nonvoluntary context switches of all its live threads (0 if gone).
	# /proc/PID/status counts the main thread only; a thread that ended took its counts along.
	cat "/proc/$1/task/"*/status 2>/dev/null |
		awk '$1 == "voluntary_ctxt_switches:" || $1 == "nonvoluntary_ctxt_switches:" { s += $2 } END { print s + 0 }'
}

declare -A BENCH_MARK_PID=() BENCH_MARK_TICKS=() BENCH_MARK_CTXSW=()
proc_mark() { # remember every service's PID, CPU ticks and context switches (for proc_fields)
	local name
	for name in "${SERVICES[@]}"; do
		BENCH_MARK_PID[$name]=${PID[$name]}
		BENCH_MARK_TICKS[$name]=$(cpu_ticks "${PID[$name]}")
		BENCH_MARK_CTXSW[$name]=$(ctxsw "${PID[$name]}")
	done
}

proc_fields() { # ORDERS: CPU and context switches of each service since proc_mark, per order
	# (ORDERS confirmed meanwhile), and of all four; a service restarted since has none, nor the total
	local name t c all_t=0 all_c=0 whole=1
	for name in "${SERVICES[@]}"; do
		if [[ ${PID[$name]} != "${BENCH_MARK_PID[$name]}" ]]; then
			whole=0
			continue
		fi
		t=$(($(cpu_ticks "${PID[$name]}") - BENCH_MARK_TICKS[$name]))
		c=$(($(ctxsw "${PID[$name]}") - BENCH_MARK_CTXSW[$name]))
		all_t=$((all_t + t)) all_c=$((all_c + c))
		printf ' cpu_s_per_1k_%s=%s cpu_us_per_order_%s=%s ctxsw_per_order_%s=%s' \
			"$name" "$(cpu_per_orders "$t" "$1" 1000)" "$name" "$(cpu_per_orders "$t" "$1" 1000000 0)" \
			"$name" "$(ratio "$c" "$1")"
	done
	((whole)) && printf ' cpu_us_per_order=%s ctxsw_per_order=%s' \
		"$(cpu_per_orders "$all_t" "$1" 1000000 0)" "$(ratio "$all_c" "$1")"
	return 0
}

order_sql() { sqlite3 -cmd '.timeout 5000' "$SHOP_DATA_DIR/order.db" "$1" 2>/dev/null; } # SQL

has_final_ms() { # the order daemon records when an order became final (orders.final_ms)
	[[ $(order_sql "SELECT count(*) FROM pragma_table_info('orders') WHERE name = 'final_ms'") == 1 ]]
}

front_metric() { # NAME: a counter of the front's /metrics (0 when absent)
	curl -s -m 2 "http://$HOST:$SHOP_FRONT_PORT/metrics" |
		awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }'
}

# --- starting and stopping ---------------------------------------------------------

bench_traps() { # stop everything on Ctrl-C, TERM and exit (stop_all clears the traps)
	trap 'say "stopping"; bench_stop; exit 130' INT TERM
	trap 'bench_stop' EXIT
}

bench_kill_child() { # VAR: SIGTERM the child whose PID is in VAR, if any, and clear VAR
	local pid=${!1}
	if [[ -n $pid ]] && alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	printf -v "$1" ''
}

bench_stop() { # stop the shop and every helper the bench started
	bench_kill_child BENCH_LOAD_PID
	bench_kill_child BENCH_HTTP_PID
	stop_all
}

bench_fresh_shop() { # NAME PRODUCTS: stop the shop, start an empty one in data dir NAME
	bench_stop
	bench_traps
	SHOP_DATA_DIR=$BENCH_DIR/$1
	mkdir -p "$SHOP_DATA_DIR/broker" "$SHOP_DATA_DIR/log"
	bench_catalog "$2"
	start_all
}

# --- layer limits --------------------------------------------------------------

bench_wrk_at() { # C PATH [PORT]: wrk_fields for BENCH_READ_S at the top concurrency only: there
	# the generator is likeliest the limit (its loadgen_cpu_pct says), and the bench stays short
	((${1} == BENCH_MAXC)) || return 0
	wrk_fields "$1" "$2" "$BENCH_READ_S" "${3:-}"
}

wrk_fields() { # C PATH SECONDS [PORT]: " wrk_rps=" of Debian's wrk on the same route and
	# concurrency (a second opinion on the generator's limit), or "na" without wrk
	local c=$1 out
	command -v wrk >/dev/null || { echo " wrk_rps=na"; return; }
	out=$(wrk -t"$((c < 2 ? c : 2))" -c"$c" -d"$3s" --timeout 5s "http://127.0.0.1:${4:-$SHOP_FRONT_PORT}$2" 2>&1) ||
		{ echo " wrk_rps=failed"; return; }
	awk '$1 == "Requests/sec:" { r = $2 } $1 == "Non-2xx" { n = $NF }
		END { printf " wrk_rps=%.0f wrk_non2xx=%d", r, n }' <<<"$out"
}

bench_limits() { # bus, storage and bare HTTP rows
	local s=$BENCH_LIMIT_S w=1 c line port i ticks
	ticks=$(cpu_ticks "${PID[broker]}")
	line=$("$BENCH_BIN/shop-bench-bus" --url "tcp://127.0.0.1:$SHOP_BROKER_PORT" \
		--username harness --password-file "$SHOP_DATA_DIR/broker/harness.pw" \
		--topic "${SHOP_TOPIC_PREFIX}bench/bus" --seconds "$s" --warmup "$w" --window 100 --size 200) ||
		die "shop-bench-bus failed"
	ticks=$(($(cpu_ticks "${PID[broker]}") - ticks))
	bench_row bus "$line$(bus_cpu_fields "$ticks" "$line")"
	line=$("$BENCH_BIN/shop-bench-storage" --dir "$SHOP_DATA_DIR" --sync "$SHOP_SQLITE_SYNC" \
		--seconds "$s") || die "shop-bench-storage failed"
	bench_row storage "$line"
	port=$(bench_free_port)
	setsid "$BENCH_BIN/shop-bench-http" --port "$port" --threads "${SHOP_FRONT_THREADS:-128}" </dev/null \
		>>"$SHOP_DATA_DIR/log/bench-http.log" 2>&1 &
	BENCH_HTTP_PID=$!
	for ((i = 0; i < 50; i++)); do port_open 127.0.0.1 "$port" && break; nap 0.1; done
	for c in "${BENCH_LIMIT_CS[@]}"; do
		line=$("$BENCH_BIN/shop-bench-load" --port "$port" --path /bench --concurrency "$c" \
			--seconds "$s" --warmup "$w") || die "shop-bench-load failed"
		bench_row "http_c$c" "$line$(bench_wrk_at "$c" /bench "$port")"
	done
	bench_kill_child BENCH_HTTP_PID
}

bus_cpu_fields() { # BROKER-TICKS "BUS-LINE": the CPU of one QoS 1 message, publisher to broker to
	# subscriber, all three processes (the bus row's clients and the broker over its whole run)
	local broker_s
	broker_s=$(cpu_per_orders "$1" 1 1)
	echo " broker_cpu_s=$broker_s cpu_us_per_msg=$(calc "($(kv "$2" client_cpu_s) + $broker_s) / $(kv "$2" sent) * 1000000")"
}

# --- the shop under load -----------------------------------------------------------

ts_stats() { # ROWID FROM-MS TO-MS: "orders pending confirmed p50 p99 p999 max" of POST -> confirmed
	# over the orders saved after ROWID and created in [FROM, TO), from the daemons' timestamps
	order_sql "WITH d AS (SELECT status, final_ms, $CREATED_MS AS c FROM orders WHERE rowid > $1),
		w AS (SELECT status, final_ms - c AS ms FROM d WHERE c >= $2 AND c < $3),
		r AS (SELECT ms, row_number() OVER (ORDER BY ms) AS k, count(*) OVER () AS n
		      FROM w WHERE status = 1 AND ms >= 0)
		SELECT (SELECT count(*) FROM w), (SELECT count(*) FROM w WHERE status = 0), coalesce(max(n), 0),
		       coalesce(min(CASE WHEN k >= 0.5 * n THEN ms END), 0),
		       coalesce(min(CASE WHEN k >= 0.99 * n THEN ms END), 0),
		       coalesce(min(CASE WHEN k >= 0.999 * n THEN ms END), 0), coalesce(max(ms), 0) FROM r" |
		tr '|' ' '
}

bench_confirm_ts() { # ROWID "LOAD-LINE": POST -> confirmed of every order of the row's window
	local o p n p50 p99 p999 max unseen
	if ! has_final_ms; then
		echo " ts=no_final_ms_column"
		return
	fi
	read -r o p n p50 p99 p999 max < <(ts_stats "$1" "$(kv "$2" window_start_ms)" "$(kv "$2" window_end_ms)")
	# Orders answered 202 in the window that the order daemon has not recorded
	# yet, and pending ones, are the slowest: with any, the quantiles are lower bounds.
	unseen=$(($(kv "$2" status_202) - o))
	echo " ts_orders=$o ts_unseen=$((unseen > 0 ? unseen : 0)) ts_pending=$p ts_confirmed=$n ts_confirm_p50_ms=$p50 ts_confirm_p99_ms=$p99 ts_confirm_p999_ms=$p999 ts_confirm_max_ms=$max"
}

sustained() { # "LOAD-LINE": whether the backlog (accepted - confirmed) held still over the window
	local a b n
	a=$(kv "$1" lag_start) b=$(kv "$1" lag_end) n=$(kv "$1" confirmed_in_window)
	[[ -n $a && -n $b ]] || return 0
	echo " backlog_growth=$((b - a)) sustained=$((b - a <= n / 10 + 20 ? 1 : 0))"
}

bench_orders() { # NAME C RATE: one POST-orders row (RATE 0: closed loop); runs the hooks.
	# BENCH_SAMPLE: orders polled for POST -> confirmed by the generator (0: none, so the
	# daemons' CPU per order is the orders' alone; every order's latency comes from
	# the daemons' timestamps anyway)
	local row=$1 c=$2 rate=$3 line n r0 extra='' out=$SHOP_DATA_DIR/bench-load.out
	proc_mark
	r0=$(order_sql "SELECT coalesce(max(rowid), 0) FROM orders")
	extra=" pending_at_start=$(order_sql "SELECT count(*) FROM orders WHERE status = 0")"
	"$BENCH_BIN/shop-bench-load" --mode orders --port "$SHOP_FRONT_PORT" \
		--skus-file "$BENCH_SKUS_FILE" --concurrency "$c" --seconds "$BENCH_S" \
		--warmup "$BENCH_W" --rate "$rate" --order-port "$SHOP_ORDER_PORT" \
		--inventory-port "$SHOP_INVENTORY_PORT" --order-db "$SHOP_DATA_DIR/order.db" \
		--drain-s "$BENCH_DRAIN" --sample "${BENCH_SAMPLE:-200}" --ids-out "$SHOP_DATA_DIR/bench-ids-$row.txt" >"$out" &
	BENCH_LOAD_PID=$!
	[[ -z $BENCH_DURING ]] || "$BENCH_DURING"
	wait "$BENCH_LOAD_PID" || die "shop-bench-load failed"
	BENCH_LOAD_PID=
	line=$(<"$out")
	# CPU and context switches over the row and its drain, per order confirmed meanwhile.
	n=$(order_sql "SELECT count(*) FROM orders WHERE rowid > $r0 AND status = 1")
	extra+=" confirmed_in_row=$n$(proc_fields "$n")"
	extra+=$(sustained "$line")$(bench_confirm_ts "$r0" "$line")
	[[ -z $BENCH_AFTER ]] || extra+=$("$BENCH_AFTER" "$r0" "$line")
	bench_row "$row" "$line$extra"
}

bench_get() { # NAME LOAD-ARGS...: one row of GET requests to the front (BENCH_GET_EXTRA:
	# a command whose output joins the row)
	local name=$1 line
	shift
	line=$("$BENCH_BIN/shop-bench-load" --port "$SHOP_FRONT_PORT" --seconds "$BENCH_READ_S" \
		--warmup 1 "$@") || die "shop-bench-load failed"
	bench_row "$name" "$line$(${BENCH_GET_EXTRA:-true})"
}

bench_reads() { # C: catalog (with wrk beside) and order GET rows (of the paced row's orders:
	# all known, confirmed)
	BENCH_GET_EXTRA="bench_wrk_at $1 /api/v1/catalog" \
		bench_get "catalog_c$1" --path /api/v1/catalog --concurrency "$1"
	bench_get "order_get_c$1" --mode get-orders --concurrency "$1" \
		--ids-file "$SHOP_DATA_DIR/bench-ids-orders_paced_c8.txt"
}

bench_resources() { # PREFIX: a row per process: peak and current RSS, total CPU seconds
	local name hz pid
	hz=$(getconf CLK_TCK)
	for name in "${SERVICES[@]}"; do
		pid=${PID[$name]}
		bench_row "$1_$name" "x pid=$pid vm_hwm_kb=$(proc_kb "$pid" VmHWM) vm_rss_kb=$(proc_kb "$pid" VmRSS) cpu_s=$(awk -v t="$(cpu_ticks "$pid")" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')"
	done
}

bench_order_db_row() { # the orders in the order daemon's database, by status
	bench_row order_db "$(order_sql "SELECT 'x total=' || count(*) || ' confirmed=' ||
		sum(status = 1) || ' pending=' || sum(status = 0) || ' other=' || sum(status > 1)
		FROM orders" || echo "x unreadable=1")"
}

best_confirmed() { # [sustained] [PREFIX]: the best confirmed orders/s of the closed-loop rows
	# (those named PREFIX*, orders_c* by default): all accepted orders over the time until all
	# were confirmed (end_to_end_confirmed_per_s of a drained row: sustained by construction),
	# or confirmed_per_s in the window (with "sustained", only where the backlog held still)
	local row v best=0 prefix=${2:-orders_c}
	for row in "${BENCH_ROWS[@]}"; do
		[[ $row == "$prefix"* ]] || continue
		for v in "$([[ $(kv "$row" drained) == 1 ]] && kv "$row" end_to_end_confirmed_per_s)" \
			"$([[ -z ${1:-} || $(kv "$row" sustained) == 1 ]] && kv "$row" confirmed_per_s)"; do
			((${v:-0} > best)) && best=$v
		done
	done
	echo "$best"
}

bench_capacity() { # "RATE BASIS": the shop's capacity, the best confirmed orders/s of a closed-loop
	# row whose backlog held still ("sustained"), else the best at all ("peak_backlog_grew")
	local best
	best=$(best_confirmed sustained)
	if ((best > 0)); then echo "$best sustained"; else echo "$(best_confirmed) peak_backlog_grew"; fi
}

bench_paced() { # once the capacity is known: a paced row at 80 % of it, and one at 1,000/s for
	# the CPU per order (when 80 % of the capacity is below 1,000/s, the 80 % row is that row:
	# BENCH_CPU_ROW and BENCH_CPU_BASIS say which). No sampler polls beside them: the daemons'
	# CPU is the orders' own, and POST -> confirmed comes from the daemons' timestamps.
	local cap basis r80
	read -r cap basis < <(bench_capacity)
	r80=$((cap * 8 / 10))
	((r80 > 0)) || { say "no confirmed rate measured: no paced 80 % and 1,000/s rows"; return; }
	say "paced at 80 % of the capacity ($cap orders/s, $basis): $r80 orders/s over $BENCH_PACED_C clients"
	BENCH_CAPACITY="$cap $basis" BENCH_SAMPLE=0 BENCH_AFTER=paced_fields \
		bench_orders paced_80pct "$BENCH_PACED_C" "$r80"
	if ((r80 >= 1000)); then
		say "paced at 1,000 orders/s for the CPU per order"
		BENCH_CAPACITY="$cap $basis" BENCH_SAMPLE=0 BENCH_AFTER=paced_fields \
			bench_orders paced_1000 "$BENCH_PACED_C" 1000
		BENCH_CPU_ROW=paced_1000 BENCH_CPU_BASIS=1000_per_s
	else
		say "the shop cannot take 1,000 orders/s: CPU per order from the 80 % row ($r80/s)"
		BENCH_CPU_ROW=paced_80pct BENCH_CPU_BASIS=80pct_of_capacity
	fi
}

paced_fields() { # ROWID "LOAD-LINE": the capacity the paced row was set from
	local cap basis
	read -r cap basis <<<"$BENCH_CAPACITY"
	echo " capacity=$cap capacity_basis=$basis offered_per_s=$(kv "$2" rps)"
}

# --- overload and recovery ---------------------------------------------------------

bench_overload() { # paced offered load at twice the best confirmed rate: accepted, shed, p99
	local rate=$((2 * $(best_confirmed))) shed0
	((rate > 0)) || { say "no confirmed rate measured: no overload row"; return; }
	say "overload: $rate orders/s offered over $BENCH_PACED_C clients (twice the best confirmed rate)"
	shed0=$(front_metric shop_front_orders_shed_total)
	BENCH_SHED0=$shed0 BENCH_AFTER=overload_fields bench_orders overload "$BENCH_PACED_C" "$rate"
}

overload_fields() { # ROWID "LOAD-LINE": offered, shed (503 in the window; the front's counter over the row)
	local s shed
	s=$(kv "$2" seconds) shed=$(kv "$2" status_503)
	echo " offered_per_s=$(kv "$2" rps) shed=${shed:-0} shed_per_s=$(ratio "${shed:-0}" "$s") shed_in_row=$(($(front_metric shop_front_orders_shed_total) - BENCH_SHED0))"
}

wait_final() { # ROWID ACCEPTED: until the order daemon holds ACCEPTED orders after ROWID, none
	# pending (at most BENCH_DRAIN s); prints " drained=0|1 drain_s=S"
	local t0 n p
	t0=$(now_ms)
	while true; do
		read -r n p < <(order_sql "SELECT count(*), coalesce(sum(status = 0), 0) FROM orders WHERE rowid > $1" | tr '|' ' ')
		((${n:-0} >= $2 && ${p:-1} == 0)) && { echo " drained=1 drain_s=$(calc "($(now_ms) - $t0) / 1000")"; return; }
		(($(now_ms) - t0 >= BENCH_DRAIN * 1000)) && { echo " drained=0 drain_s=-1"; return; }
		nap 0.1
	done
}

bench_flood() { # wrk -t2 -c64 POSTing one-line orders as fast as answers come (tests/bench/flood.lua):
	# accepted (202) and shed (503) per second, and POST -> confirmed of the accepted ones
	local out=$SHOP_DATA_DIR/bench-flood.out line r0 t0 t1 secs acc n extra
	command -v wrk >/dev/null || { say "wrk is not installed: no flood row"; return; }
	say "flood: wrk -t2 -c64 for ${BENCH_S} s POSTing orders"
	proc_mark
	r0=$(order_sql "SELECT coalesce(max(rowid), 0) FROM orders")
	t0=$(now_ms)
	wrk -t2 -c64 -d"${BENCH_S}s" --timeout 5s -s "$ROOT/tests/bench/flood.lua" \
		"http://127.0.0.1:$SHOP_FRONT_PORT" -- "$BENCH_SKUS_FILE" >"$out" 2>&1 || die "wrk failed: $(tail -n 1 "$out")"
	t1=$(now_ms)
	line=$(grep '^flood ' "$out") || die "wrk printed no flood line: $(tail -n 1 "$out")"
	secs=$(calc "$(kv "$line" duration_us) / 1000000") acc=$(kv "$line" accepted)
	extra=" seconds=$secs rps=$(ratio "$(kv "$line" requests)" "$secs") accepted_per_s=$(ratio "$acc" "$secs")"
	extra+=" shed_per_s=$(ratio "$(kv "$line" shed)" "$secs")$(wait_final "$r0" "$acc")"
	n=$(order_sql "SELECT count(*) FROM orders WHERE rowid > $r0 AND status = 1")
	extra+=" confirmed_in_row=$n$(proc_fields "$n")"
	bench_row flood "$line$extra$(bench_confirm_ts "$r0" "window_start_ms=$t0 window_end_ms=$((t1 + 1)) status_202=$acc")"
}

bench_normal() { # what the fsync costs: the closed-loop rows again on a fresh shop with
	# SHOP_SQLITE_SYNC=normal (no fsync; survives a crash of a process, not a power cut),
	# as normal_c* rows that the capacity of the shipped setting does not count
	local sync=$SHOP_SQLITE_SYNC c
	[[ $sync != normal ]] || return 0
	SHOP_SQLITE_SYNC=normal
	bench_fresh_shop normal 10
	say "the closed-loop rows again with SHOP_SQLITE_SYNC=normal"
	for c in 8 "$BENCH_MAXC"; do bench_orders "normal_c$c" "$c" 0; done
	SHOP_SQLITE_SYNC=$sync
}

bench_recovery() { # on a fresh shop (no backlog left by the rows before), paced load at half
	# the best confirmed rate; SIGKILL the inventory and restart it
	local rate=$(($(best_confirmed) / 2))
	((rate > 0)) || { say "no confirmed rate measured: no recovery row"; return; }
	bench_fresh_shop recovery 10
	say "recovery: $rate orders/s; SIGKILL of the inventory $((BENCH_W + BENCH_RECOVERY_S / 4)) s in"
	BENCH_BACK_MS='' BENCH_S=$BENCH_RECOVERY_S BENCH_DURING=kill_inventory BENCH_AFTER=recovery_fields \
		bench_orders recovery "$BENCH_PACED_C" "$rate"
}

kill_inventory() { # beside the recovery load: SIGKILL our inventory daemon, start it again
	nap $((BENCH_W + BENCH_RECOVERY_S / 4))
	BENCH_KILL_MS=$(now_ms)
	kill -KILL "${PID[inventory]}"
	wait "${PID[inventory]}" 2>/dev/null || true
	BENCH_RESTARTS=0
	until restart_inventory; do
		((++BENCH_RESTARTS < 3)) || { say "inventory did not come back"; return; }
		nap 1
	done
	BENCH_BACK_MS=$(now_ms)
	say "inventory killed and restarted (pid ${PID[inventory]}) in $((BENCH_BACK_MS - BENCH_KILL_MS)) ms"
}

restart_inventory() { # launch the inventory as start_all did; 0 once healthy, else stop it (one try
	# of what ./shop run's supervisor does)
	local end=$((SECONDS + 15)) pid
	launch inventory
	pid=${PID[inventory]}
	while alive "$pid" && ((SECONDS < end)); do
		http_ok "http://$HOST:$SHOP_INVENTORY_PORT/healthz" && return 0
		nap 0.2
	done
	say "inventory restart failed: $(tail -n 1 "$SHOP_DATA_DIR/log/inventory.log")"
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	return 1
}

recovery_fields() { # ROWID "LOAD-LINE": seconds until latency is back and the backlog drained
	local r0=$1 k=$BENCH_KILL_MS ws we pre thr nb fin pend last maxms
	ws=$(kv "$2" window_start_ms) we=$(kv "$2" window_end_ms)
	echo -n " failed_restarts=$BENCH_RESTARTS"
	[[ -n $BENCH_BACK_MS ]] || { echo " recovered=0 recovery_s=none"; return; }
	has_final_ms || return 0
	read -r _ _ _ _ pre _ _ < <(ts_stats "$r0" "$ws" "$k")
	thr=$((3 * pre > pre + 20 ? 3 * pre : pre + 20))
	# 250 ms buckets of orders created after the kill; a bucket is slow when over
	# 1 % of its orders took longer than thr or are still pending. Latency is
	# back after the last slow bucket; recovery_s is when the backlog is
	# drained: the last order created before that point is final ("none"
	# when that did not happen within the row).
	read -r nb fin pend last maxms < <(order_sql "WITH d AS (SELECT status, final_ms, $CREATED_MS AS c FROM orders WHERE rowid > $r0),
		a AS (SELECT (c - $k) / 250 AS b, status, final_ms, final_ms - c AS ms FROM d WHERE c >= $k AND c < $we),
		s AS (SELECT b FROM a GROUP BY b HAVING sum(status = 0 OR ms > $thr) > 0.01 * count(*))
		SELECT coalesce((SELECT max(b) + 1 FROM s), 0),
		       (SELECT max(final_ms) FROM a WHERE b < coalesce((SELECT max(b) + 1 FROM s), 0)),
		       (SELECT count(*) FROM a WHERE status = 0), (SELECT max(b) FROM a), (SELECT max(ms) FROM a)" | tr '|' ' ')
	local ok=$((pend == 0 && nb <= ${last:-0} ? 1 : 0)) secs=none
	((ok)) && secs=$(calc "(${fin:-$k} - $k) / 1000")
	echo " outage_s=$(calc "($BENCH_BACK_MS - $k) / 1000") pre_kill_p99_ms=$pre slow_threshold_ms=$thr latency_back_s=$(calc "$nb * 0.25") recovery_s=$secs post_kill_max_ms=${maxms:-0} pending_at_end=$pend recovered=$ok"
}

# --- how cost grows: prefilled databases, a large catalog ------------------------------

bench_prefill() { # TOTAL: confirmed orders up to TOTAL, with their reservations, in the
	# stopped daemons' databases, written by their own store code (shop-bench-prefill)
	say "prefilling up to $1 orders"
	"$BENCH_BIN/shop-bench-prefill" --data-dir "$SHOP_DATA_DIR" --orders "$1" \
		--topic-prefix "$SHOP_TOPIC_PREFIX" || die "prefill failed"
}

db_mb() { du -m "$SHOP_DATA_DIR/$1" 2>/dev/null | cut -f1; } # FILE: its size in MB

scale_fields() { # ROWID "LOAD-LINE": what the databases and the services hold now
	local name
	printf ' db_orders=%s order_db_mb=%s inventory_db_mb=%s' "$BENCH_DB_ORDERS" \
		"$(db_mb order.db)" "$(db_mb inventory.db)"
	for name in "${SERVICES[@]}"; do printf ' rss_kb_%s=%s' "$name" "$(proc_kb "${PID[$name]}" VmRSS)"; done
}

grows() { # ROW BASE-ROW: "grows=" the figures of ROW more than 20 % worse than in BASE-ROW
	local k a b worse out=''
	for k in p99_ms ts_confirm_p99_ms cpu_s_per_1k_broker cpu_s_per_1k_inventory \
		cpu_s_per_1k_order cpu_s_per_1k_front rss_kb_inventory rss_kb_order rss_kb_front \
		-confirmed_per_s -end_to_end_confirmed_per_s; do # -: lower is worse
		a=$(rv "$1" "${k#-}") b=$(rv "$2" "${k#-}")
		[[ -n $a && -n $b ]] || continue
		worse='a > 1.2 * b'
		[[ $k == -* ]] && worse='a < b / 1.2'
		awk -v a="$a" -v b="$b" "BEGIN { exit !(b > 0 && $worse) }" &&
			out+="${out:+,}${k#-}:x$(ratio "$a" "$b")"
	done
	echo "grows=${out:-nothing}"
}

bench_scale_row() { # NAME: a closed-loop row at the top concurrency, with what the databases hold
	BENCH_DB_ORDERS=$(order_sql "SELECT count(*) FROM orders")
	BENCH_AFTER=scale_fields bench_orders "$1" "$BENCH_MAXC" 0
	[[ $1 == "$BENCH_SCALE_BASE" ]] || bench_row "$1_vs_base" "x base=$BENCH_SCALE_BASE $(grows "$1" "$BENCH_SCALE_BASE")"
}

bench_scale() { # the rows again with 10^4..10^6 orders already in the databases
	local level
	say "scaling: ${BENCH_SCALE[*]} orders prefilled, compared with $BENCH_SCALE_BASE"
	if [[ $BENCH_SCALE_BASE == scale_0 ]]; then
		bench_fresh_shop scale 10
		bench_scale_row scale_0
	fi
	for level in "${BENCH_SCALE[@]}"; do
		bench_stop
		bench_traps
		bench_prefill "$(awk -v x="$level" 'BEGIN { printf "%d", x }')"
		start_all
		bench_scale_row "scale_$level"
	done
	bench_resources "rss_$level"
}

bench_big_catalog() { # the row again with a catalog of BENCH_BIG_CATALOG products
	((BENCH_BIG_CATALOG > 0)) || return 0
	say "scaling: a catalog of $BENCH_BIG_CATALOG products"
	bench_fresh_shop catalog "$BENCH_BIG_CATALOG"
	bench_scale_row "scale_catalog$BENCH_BIG_CATALOG"
	bench_get "catalog${BENCH_BIG_CATALOG}_c8" --path /api/v1/catalog --concurrency 8
}

bench_drop_scale_dbs() { # the prefilled databases are large: keep only logs and bench.json
	rm -f "$BENCH_DIR"/{recovery,scale,catalog}/*.db "$BENCH_DIR"/{recovery,scale,catalog}/*.db-{wal,shm}
}

# --- report ---------------------------------------------------------------------

bench_ratios() { # name=value lines from the rows into RATIO_LINES (scale_*_vs_base compares
	# end-to-end rates, all accepted orders over the time until all were confirmed: the
	# window rate of a short row mostly shows where the backlog stood)
	local best basis peak last=${BENCH_SCALE[-1]} base=$BENCH_SCALE_BASE c=$BENCH_MAXC n cpu=${BENCH_CPU_ROW:-none}
	read -r best basis < <(bench_capacity)
	peak=$(best_confirmed)
	RATIO_LINES=("confirmed_orders_per_s=$best" "confirmed_rate_basis=$basis"
		"confirmed_orders_per_s_peak=$peak"
		"confirmed_orders_per_s_normal=$(best_confirmed '' normal_c | sed 's/^0$//')"
		"full_vs_normal=$([[ $SHOP_SQLITE_SYNC == normal ]] || ratio "$peak" "$(best_confirmed '' normal_c)")"
		"orders_vs_bus=$(ratio $((best * 3)) "$(rv bus msgs_per_s)")"
		"orders_vs_storage=$(ratio $((best * 3)) "$(rv storage tx_per_s)")"
		"bus_cpu_us_per_msg=$(rv bus cpu_us_per_msg)"
		"bus_floor_us_per_order=$(product "$(rv bus cpu_us_per_msg)" "$BUS_MSGS_PER_ORDER")"
		"bus_floor_orders_per_s=$(product "$(rv bus msgs_per_s)" "1 / $BUS_MSGS_PER_ORDER")"
		"catalog_vs_http=$(ratio "$(rv "catalog_c$c" rps)" "$(rv "http_c$c" rps)")"
		"confirm_p50_paced_ms=$(rv orders_paced_c8 ts_confirm_p50_ms)"
		"confirm_p50_c1_ms=$(rv orders_c1 ts_confirm_p50_ms)"
		"confirm_p50_c1_sampled_ms=$(rv orders_c1 confirm_p50_ms)"
		"post_p99_c${c}_ms=$(rv "orders_c$c" p99_ms)"
		"post_errors_c${c}=$(rv "orders_c$c" errors)"
		"confirm_p99_c${c}_ms=$(rv "orders_c$c" ts_confirm_p99_ms)"
		"overload_accepted_per_s=$(rv overload accepted_per_s)"
		"overload_shed_per_s=$(rv overload shed_per_s)"
		"overload_confirmed_per_s=$(rv overload confirmed_per_s)"
		"overload_confirm_p99_ms=$(rv overload ts_confirm_p99_ms)"
		"overload_goodput_vs_capacity=$(ratio "$(rv overload accepted_per_s)" "$peak")"
		"flood_accepted_per_s=$(rv flood accepted_per_s)"
		"flood_shed_per_s=$(rv flood shed_per_s)"
		"flood_goodput_vs_capacity=$(ratio "$(rv flood accepted_per_s)" "$peak")"
		"flood_confirm_p99_ms=$(rv flood ts_confirm_p99_ms)"
		"confirm_p50_at_80pct_ms=$(rv paced_80pct ts_confirm_p50_ms)"
		"confirm_p99_at_80pct_ms=$(rv paced_80pct ts_confirm_p99_ms)"
		"cpu_us_per_order=$(rv "$cpu" cpu_us_per_order)"
		"cpu_us_per_order_rate=$(rv "$cpu" rps)"
		"cpu_us_per_order_basis=${BENCH_CPU_BASIS:-}"
		"cpu_us_per_order_broker=$(rv "$cpu" cpu_us_per_order_broker)"
		"cpu_us_per_order_inventory=$(rv "$cpu" cpu_us_per_order_inventory)"
		"cpu_us_per_order_order=$(rv "$cpu" cpu_us_per_order_order)"
		"cpu_us_per_order_front=$(rv "$cpu" cpu_us_per_order_front)"
		"ctxsw_per_order=$(rv "$cpu" ctxsw_per_order)"
		"catalog_wrk_rps_c${c}=$(rv "catalog_c$c" wrk_rps)"
		"catalog_wrk_vs_loadgen_c${c}=$(ratio "$(rv "catalog_c$c" wrk_rps)" "$(rv "catalog_c$c" rps)")"
		"loadgen_bound_rows=$(loadgen_bound_rows)"
		"recovery_s=$(rv recovery recovery_s)"
		"scale_${last}_vs_base=$(ratio "$(rv "scale_$last" end_to_end_confirmed_per_s)" "$(rv "$base" end_to_end_confirmed_per_s)")"
		"scale_${last}_window_vs_base=$(ratio "$(rv "scale_$last" confirmed_per_s)" "$(rv "$base" confirmed_per_s)")"
		"scale_${last}_post_p99_vs_base=$(ratio "$(rv "scale_$last" p99_ms)" "$(rv "$base" p99_ms)")"
		"rss_max_mb_after_$last=$(calc "$(for n in inventory order front; do rv "rss_${last}_$n" vm_hwm_kb; done | sort -n | tail -n 1) / 1024")")
	if ((BENCH_BIG_CATALOG > 0)); then
		n=$BENCH_BIG_CATALOG
		RATIO_LINES+=("catalog${n}_orders_vs_10=$(ratio "$(rv "scale_catalog$n" confirmed_per_s)" "$(rv "$base" confirmed_per_s)")"
			"catalog${n}_reads_vs_10=$(ratio "$(rv "catalog${n}_c8" rps)" "$(rv catalog_c8 rps)")")
	fi
	RATIO_LINES=("${RATIO_LINES[@]/%=/=na}") # a row that did not run
}

loadgen_bound_rows() { # the rows where the load generator used 90 % of a core or more ("none")
	local row out=''
	for row in "${BENCH_ROWS[@]}"; do
		[[ $(kv "$row" loadgen_bound) == 1 ]] && out+="${out:+,}${row%% *}"
	done
	echo "${out:-none}"
}

bench_json() { # FILE: every row and ratio as JSON
	local row r sep=
	{
		printf '{"quick":%s,"sqlite_sync":"%s","cpus":%s,"date":"%s","txns_per_order":3,"rows":[' \
			"$BENCH_QUICK" "$SHOP_SQLITE_SYNC" "$(nproc)" "$(date -Iseconds)"
		for row in "${BENCH_ROWS[@]}"; do
			printf '%s' "$sep"
			awk '{ printf "{\"row\":\"%s\"", $1
				for (i = 2; i <= NF; i++) { k = $i; sub(/=.*/, "", k); v = substr($i, length(k) + 2)
					if (k == $i) continue
					if (v ~ /^-?[0-9]+(\.[0-9]+)?$/) printf ",\"%s\":%s", k, v
					else printf ",\"%s\":\"%s\"", k, v }
				printf "}" }' <<<"$row"
			sep=,
		done
		printf '],"ratios":{'
		sep=
		for r in "${RATIO_LINES[@]}"; do printf '%s"%s":"%s"' "$sep" "${r%%=*}" "${r#*=}"; sep=,; done
		printf '}}\n'
	} >"$1"
}

# --- ./shop bench [--quick] -----------------------------------------------------------

bench_main() { # the whole run: settings, a fresh shop, every row, the report
	local c rate=${SHOP_BENCH_RATE:-100}
	case ${1:-} in --quick) BENCH_QUICK=1 ;; '') BENCH_QUICK=0 ;; *) usage >&2; exit 2 ;; esac
	bench_settings "$BENCH_QUICK"
	ensure_packages || exit 1
	build_main || die "build failed"
	BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/shop-bench.XXXXXX")
	unset SHOP_BROKER_URL SHOP_INVENTORY_URL SHOP_ORDER_URL SHOP_BIND SHOP_ADMIN_TOKEN SHOP_BUILD_DIR
	SHOP_EDGES=0 # the single topology: its rows compare with earlier runs
	SHOP_DATA_DIR=$BENCH_DIR
	SHOP_BROKER_PORT=$(bench_free_port) SHOP_FRONT_PORT=$(bench_free_port)
	SHOP_INVENTORY_PORT=$(bench_free_port) SHOP_ORDER_PORT=$(bench_free_port)
	load_settings
	bench_catalog 10
	bench_traps
	start_all
	say "limits (sync=$SHOP_SQLITE_SYNC, data dir $SHOP_DATA_DIR)"
	bench_limits
	say "shop under light paced load first: $rate orders/s over 8 clients"
	bench_orders orders_paced_c8 8 "$rate"
	say "shop under load (closed loop)"
	for c in 1 8 64; do bench_orders "orders_c$c" "$c" 0; done
	bench_paced
	for c in "${BENCH_READ_CS[@]}"; do bench_reads "$c"; done
	bench_overload
	bench_flood
	bench_resources proc
	bench_order_db_row
	bench_normal
	((BENCH_RECOVERY_S > 0)) && bench_recovery
	bench_scale
	bench_big_catalog
	bench_stop
	bench_drop_scale_dbs
	bench_ratios
	bench_json "$BENCH_DIR/bench.json"
	printf '%s\n' "${RATIO_LINES[@]}"
	say "table as JSON: $BENCH_DIR/bench.json"
}
