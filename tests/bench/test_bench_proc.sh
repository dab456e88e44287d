#!/usr/bin/env bash
# Test of ./shop bench's per-order process figures (bench.sh): context switches
# are summed over every thread (/proc/PID/status alone counts the main thread),
# CPU per order converts ticks right, and the load generator reports its own CPU.
# Usage: test_bench_proc.sh BENCH-SH SHOP-BENCH-HTTP SHOP-BENCH-LOAD
set -euo pipefail

BENCH_SH=$1 HTTP_BIN=$2 LOAD_BIN=$3
ROOT=$(cd "$(dirname "$BENCH_SH")/../.." && pwd)
# shellcheck source=tests/bench/bench.sh
source "$BENCH_SH"

fails=0
check() { # WHAT GOT OP WANT: one assertion; prints both values when it fails
	if awk -v a="$2" -v b="$4" "BEGIN { exit !(a $3 b) }"; then
		echo "ok   $1: $2 $3 $4"
	else
		echo "FAIL $1: got $2, want $3 $4"
		fails=$((fails + 1))
	fi
}

main_thread_ctxsw() { # PID: the counts of /proc/PID/status (its main thread only)
	awk '$1 == "voluntary_ctxt_switches:" || $1 == "nonvoluntary_ctxt_switches:" { s += $2 } END { print s + 0 }' "/proc/$1/status"
}

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$HTTP_BIN" --port "$port" --threads 8 >/dev/null 2>&1 &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for ((i = 0; i < 100; i++)); do (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

c0=$(ctxsw "$server") m0=$(main_thread_ctxsw "$server") t0=$(cpu_ticks "$server")
line=$("$LOAD_BIN" --port "$port" --path /bench --concurrency 4 --seconds 1 --warmup 0)
c1=$(ctxsw "$server") m1=$(main_thread_ctxsw "$server") t1=$(cpu_ticks "$server")
requests=$(kv "$line" requests)

# Each request wakes a worker thread: the all-thread count grows with the
# requests, the main thread's (civetweb's master, asleep in poll) barely.
check "requests served" "$requests" ">" 100
# (bounds with room: a loaded machine, or a worker that finds the next
# request already there, switches less; it failed once at requests / 2)
check "context switches of all threads over the requests" "$((c1 - c0))" ">=" "$((requests / 10))"
check "main thread's switches alone (what /proc/PID/status shows)" "$((m1 - m0))" "<" "$(((c1 - c0) / 4))"
check "CPU ticks of the server's threads" "$((t1 - t0))" ">" 0
check "ctxsw of a process that is gone" "$(ctxsw 999999999)" "==" 0

hz=$(getconf CLK_TCK)
check "CPU us per order: hz ticks over 1,000 orders" "$(cpu_per_orders "$hz" 1000 1000000 0)" "==" 1000
check "CPU s per 1,000 orders: hz ticks over 500 orders" "$(cpu_per_orders "$hz" 500 1000)" "==" 2
check "CPU per order of no orders" "$(cpu_per_orders "$hz" 0 1000000 0)" "==" 0

pct=$(kv "$line" loadgen_cpu_pct) bound=$(kv "$line" loadgen_bound)
check "loadgen_cpu_pct printed" "${pct:--1}" ">=" 0
check "loadgen_cpu_pct at most all cores" "${pct:-999}" "<=" "$((100 * $(nproc)))"
check "loadgen_bound agrees with loadgen_cpu_pct" "${bound:--1}" "==" "$(awk -v p="${pct:-0}" 'BEGIN { print (p >= 90) }')"

((fails == 0)) || { echo "$fails check(s) failed"; exit 1; }
