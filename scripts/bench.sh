#!/usr/bin/env bash
# bench.sh -- what perftap costs, side by side with what users run today.
#
#   make bench                     (installs sysbench, wrk, ...; builds; runs this)
#   bash scripts/bench.sh          (after `make all` and the bench binaries)
#
# Runs every measurement of bench/RESULTS.md on this machine, as ratios
# taken side by side in one run (plain and with-shim runs alternate, and the
# order within a round alternates too, so that drift on a shared machine
# falls on both sides), and writes bench/RESULTS.md with the command behind
# each figure.  Never a pass/fail test: it prints figures and the targets
# they meet or miss, and exits 0 unless a measurement could not run.
#
# Sections (each a function below):
#   1. untracked   read/write on a pipe, send/recv on a socketpair
#   2. redis       redis-benchmark -c 15 GET/SET, plain / -P 16; MONITOR anchor
#   3. mysql       sysbench oltp_point_select / oltp_read_only, 15 threads;
#                  anchors: general log, slow log at long_query_time=0
#   4. http        wrk against bench_httpd, shim on the server
#   4b. requests   threaded backend (Redis + SQL per request), 15 clients:
#                  plain / PERFTAP_REQUESTS=off / on: rps, CPU per request
#   5. event       per-event cost: ns (bench_event) and instructions
#                  (callgrind, difference of two iteration counts); call
#                  stack capture (bench/bench_stack.py, a CPython probe)
#   6. report      perftap report on a 10M-event synthetic dump; anchor
#                  pt-query-digest on a slow log of the same queries
#   7. drops       bench_rate at controlled rates; drops in the real runs
#   8. samples     resource samples: redis-benchmark -P 16 with the shim,
#                  PERFTAP_SAMPLE_INTERVAL=0 / 1s (the per-event clock
#                  compare); the `perftap record` sampler's own CPU at 1 s
#
# Servers: a private MariaDB and Redis (scripts/servers.sh) in
# $WORK/servers on ports BENCH_MYSQL_PORT / BENCH_REDIS_PORT (defaults
# 33916 / 36916), HTTP on BENCH_HTTP_PORT (38916); everything listens on
# 127.0.0.1 only (the next free port when one is taken).  A trap stops every process this script started, by pid,
# and the servers, on any exit.
#
# Knobs (environment): BUILD (build dir, default build), BENCH_ROUNDS
# (alternating pairs for redis and untracked, default 5), BENCH_SQL_ROUNDS
# (default 3), BENCH_SQL_TIME (seconds per sysbench run, default 10),
# BENCH_WRK_ROUNDS (3), BENCH_WRK_TIME (5), BENCH_REPORT_EVENTS
# (10000000), BENCH_DIGEST_QUERIES (100000), BENCH_SAMPLER_TIME (seconds
# the sampler's CPU is measured over, default 30), BENCH_ONLY (space-separated
# section names to run; the rest keep no figure), BENCH_OUT (results
# file, default bench/RESULTS.md).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

BUILD=${BUILD:-${PERFTAP_BUILD:-build}}
case "$BUILD" in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
LIB=$BUILD/libperftap.so
CMD=$BUILD/perftap
BB=$BUILD/bench
WORK=$BUILD/bench-run
OUT=${BENCH_OUT:-$REPO/bench/RESULTS.md}
RAW=$WORK/results.tsv

ROUNDS=${BENCH_ROUNDS:-5}
SQL_ROUNDS=${BENCH_SQL_ROUNDS:-3}
SQL_TIME=${BENCH_SQL_TIME:-10}
WRK_ROUNDS=${BENCH_WRK_ROUNDS:-3}
WRK_TIME=${BENCH_WRK_TIME:-5}
REPORT_EVENTS=${BENCH_REPORT_EVENTS:-10000000}
DIGEST_QUERIES=${BENCH_DIGEST_QUERIES:-100000}
SAMPLER_TIME=${BENCH_SAMPLER_TIME:-30}
ONLY=${BENCH_ONLY:-untracked redis mysql http requests event report drops samples}
MYSQL_PORT=${BENCH_MYSQL_PORT:-33916}
REDIS_PORT=${BENCH_REDIS_PORT:-36916}
HTTP_PORT=${BENCH_HTTP_PORT:-38916}
HOST=127.0.0.1

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	printf 'bench: error: %s\n' "$*" >&2
	exit 1
}

# --------------------------------------------------------- processes ---

PIDS=()    # background processes we started, stopped by pid on exit
SERVERS=0  # 1 once servers.sh start ran

stop_pid() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	set +e
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	if ((SERVERS)); then
		PERFTAP_SERVERS_DIR=$WORK/servers PERFTAP_MYSQL_PORT=$MYSQL_PORT \
			PERFTAP_REDIS_PORT=$REDIS_PORT \
			bash scripts/servers.sh stop >/dev/null 2>&1
	fi
	rm -rf "$WORK/dumps" "$WORK/tmp"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() {
	local keep=() p
	for p in "${PIDS[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

want() { [[ " $ONLY " == *" $1 "* ]]; }

# One figure: section, variant, round, metric, value.
rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RAW"; }
# The command behind a figure (first one of each key is kept).
cmd_note() { printf 'CMD\t%s\t%s\n' "$1" "$2" >>"$RAW"; }

fresh_dumps() {
	rm -rf "$WORK/dumps"
	mkdir -m 700 -p "$WORK/dumps"
}

# Environment of a with-shim run.
SHIM_ENV=()
shim_env() {
	SHIM_ENV=(env LD_PRELOAD="$LIB" PERFTAP_DIR="$WORK/dumps"
		PERFTAP_MYSQL_PORTS="$MYSQL_PORT" PERFTAP_REDIS_PORTS="$REDIS_PORT"
		PERFTAP_QUIET=1)
}

# Events and drops of the dumps now in $WORK/dumps -> rec lines.
dump_stat() {
	local section=$1 variant=$2 round=$3 line
	shopt -s nullglob
	local files=("$WORK"/dumps/*.ptd)
	shopt -u nullglob
	((${#files[@]})) || {
		rec "$section" "$variant" "$round" dump_events 0
		return 0
	}
	line=$("$BB/bench_dumpstat" "${files[@]}")
	for kv in $line; do
		rec "$section" "$variant" "$round" "dump_${kv%%=*}" "${kv#*=}"
	done
}

# ------------------------------------------------------------ checks ---

port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

free_port() {
	local p=$1 end=$(($1 + 100))
	while port_busy "$p"; do
		p=$((p + 1))
		((p < end)) || die "no free port in $1..$end"
	done
	echo "$p"
}

preflight() {
	local f
	for f in "$LIB" "$CMD" "$BB/bench_event" "$BB/bench_api" "$BB/bench_api_mysql" "$BB/bench_api_redis" "$BB/bench_untracked" \
		"$BB/bench_rate" "$BB/bench_httpd" "$BB/bench_dumpstat" \
		"$BB/gen_dump"; do
		[[ -x "$f" ]] || die "$f missing: run 'make all' and the bench binaries (make bench does)"
	done
	for f in redis-benchmark redis-cli sysbench wrk pt-query-digest valgrind \
		callgrind_annotate mariadb /usr/bin/time python3; do
		command -v "$f" >/dev/null || die "$f not found: run scripts/install-deps.sh --bench"
	done
	# Other engineers' servers may hold a default port: take the next
	# free one (the port is written into every command shown).
	MYSQL_PORT=$(free_port "$MYSQL_PORT")
	REDIS_PORT=$(free_port "$REDIS_PORT")
	HTTP_PORT=$(free_port "$HTTP_PORT")
}

machine_facts() {
	rec machine - - nproc "$(nproc)"
	rec machine - - cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	rec machine - - kernel "$(uname -sr)"
	rec machine - - date "$(date -u '+%Y-%m-%d %H:%M UTC')"
	rec machine - - load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
	rec machine - - os "$(. /etc/os-release && echo "$PRETTY_NAME")"
	rec machine - - redis "$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
	rec machine - - mariadb "$(mariadbd --version 2>/dev/null | awk '{print $3}')"
	rec machine - - sysbench "$(sysbench --version | awk '{print $2}')"
	rec machine - - wrk "$(wrk -v 2>&1 | head -1 | awk '{print $2}')"
	rec machine - - pt_query_digest "$(pt-query-digest --version | awk '{print $2}')"
	rec machine - - valgrind "$(valgrind --version)"
}

start_servers() {
	say "starting private MariaDB ($MYSQL_PORT) and Redis ($REDIS_PORT) in $WORK/servers"
	SERVERS=1
	PERFTAP_SERVERS_DIR=$WORK/servers PERFTAP_MYSQL_PORT=$MYSQL_PORT \
		PERFTAP_REDIS_PORT=$REDIS_PORT bash scripts/servers.sh start >&2
}

# Total Ir of a callgrind output file.
ir_total() { sed -n 's/^summary: *//p' "$1" | head -1; }

# ---------------------------------------------------- 1. untracked ---

bench_untracked() {
	say "1. untracked calls: $ROUNDS alternating pairs"
	local args=(--calls 200000 --batches 9) r v out
	cmd_note untracked "$BB/bench_untracked ${args[*]}  # plain; with the shim: LD_PRELOAD=$LIB PERFTAP_DIR=DIR ..."
	fresh_dumps
	shim_env
	for r in $(seq "$ROUNDS"); do
		local order=(plain shim)
		((r % 2)) || order=(shim plain)
		for v in "${order[@]}"; do
			if [[ $v == plain ]]; then
				out=$("$BB/bench_untracked" "${args[@]}")
			else
				out=$("${SHIM_ENV[@]}" "$BB/bench_untracked" "${args[@]}")
			fi
			rec untracked "$v" "$r" pipe_ns "$(awk '/^pipe/ {sub("min_ns=","",$2); print $2}' <<<"$out")"
			rec untracked "$v" "$r" socket_ns "$(awk '/^socket/ {sub("min_ns=","",$2); print $2}' <<<"$out")"
		done
	done
	# Instructions per call (user space: the hook's own work), callgrind,
	# difference of two call counts so that start-up cancels out.
	local n1=10000 n2=30000 k=3 calls
	calls=$((4 * ((n2 / 10 - n1 / 10) + k * (n2 - n1))))
	cmd_note untracked_ir "valgrind --tool=callgrind $BB/bench_untracked --calls {$n1,$n2} --batches $k  # Ir difference / $calls calls; with LD_PRELOAD=$LIB for the shim"
	for v in plain shim; do
		local a b pre=()
		[[ $v == shim ]] && pre=("${SHIM_ENV[@]}")
		"${pre[@]}" valgrind --tool=callgrind --callgrind-out-file="$WORK/tmp/cgu.$v.1" \
			"$BB/bench_untracked" --calls $n1 --batches $k >/dev/null 2>&1
		"${pre[@]}" valgrind --tool=callgrind --callgrind-out-file="$WORK/tmp/cgu.$v.2" \
			"$BB/bench_untracked" --calls $n2 --batches $k >/dev/null 2>&1
		a=$(ir_total "$WORK/tmp/cgu.$v.1")
		b=$(ir_total "$WORK/tmp/cgu.$v.2")
		rec untracked "$v" 1 ir_per_call "$(awk -v a="$a" -v b="$b" -v c="$calls" 'BEGIN {printf "%.1f", (b-a)/c}')"
	done
}

# -------------------------------------------------------- 2. redis ---

redis_run() { # variant round pipeline
	local v=$1 r=$2 p=$3 n out pre=() mon=
	n=100000
	((p > 1)) && n=2000000
	local args=(-h $HOST -p "$REDIS_PORT" -c 15 -n "$n" -P "$p" -t get,set --csv)
	fresh_dumps
	case $v in
	shim) pre=("${SHIM_ENV[@]}") ;;
	monitor)
		redis-cli -h $HOST -p "$REDIS_PORT" monitor >/dev/null &
		mon=$!
		PIDS+=("$mon")
		sleep 0.3
		;;
	esac
	out=$("${pre[@]}" redis-benchmark "${args[@]}")
	if [[ -n $mon ]]; then
		stop_pid "$mon"
		forget_pid "$mon"
	fi
	local tag=plain
	((p > 1)) && tag=P16
	rec redis "$v" "$r" "${tag}_SET_rps" "$(awk -F'"' '$2=="SET" {print $4}' <<<"$out")"
	rec redis "$v" "$r" "${tag}_GET_rps" "$(awk -F'"' '$2=="GET" {print $4}' <<<"$out")"
	[[ $v == shim ]] && dump_stat redis "$v-$tag" "$r"
	return 0
}

bench_redis() {
	say "2. redis-benchmark: $ROUNDS rounds x {plain, shim, MONITOR} x {-P 1, -P 16}"
	shim_env
	cmd_note redis_P1 "redis-benchmark -h $HOST -p $REDIS_PORT -c 15 -n 100000 -P 1 -t get,set --csv  # shim: LD_PRELOAD=$LIB PERFTAP_DIR=DIR PERFTAP_REDIS_PORTS=$REDIS_PORT; anchor: redis-cli -p $REDIS_PORT monitor >/dev/null attached"
	cmd_note redis_P16 "redis-benchmark -h $HOST -p $REDIS_PORT -c 15 -n 2000000 -P 16 -t get,set --csv  # same variants"
	local r v
	for r in $(seq "$ROUNDS"); do
		local order=(plain shim monitor)
		case $((r % 3)) in
		0) order=(shim monitor plain) ;;
		2) order=(monitor plain shim) ;;
		esac
		for v in "${order[@]}"; do redis_run "$v" "$r" 1; done
		for v in "${order[@]}"; do redis_run "$v" "$r" 16; done
	done
}

# -------------------------------------------------------- 3. mysql ---

sql() {
	mariadb --no-defaults --protocol=tcp -h $HOST -P "$MYSQL_PORT" -uperftap \
		-pperftap -N -B -e "$1"
}

SB_ARGS=()
sb_args() {
	SB_ARGS=(--mysql-host=$HOST --mysql-port="$MYSQL_PORT" --mysql-user=perftap
		--mysql-password=perftap --mysql-db=perftap_test --tables=4
		--table-size=10000)
}

mysql_run() { # variant round test
	local v=$1 r=$2 t=$3 out pre=()
	fresh_dumps
	case $v in
	shim) pre=("${SHIM_ENV[@]}") ;;
	genlog)
		rm -f "$WORK/tmp/general.log"
		sql "SET GLOBAL log_output='FILE'; SET GLOBAL general_log_file='$WORK/tmp/general.log'; SET GLOBAL general_log=1"
		;;
	slowlog)
		rm -f "$WORK/tmp/slow.log"
		sql "SET GLOBAL log_output='FILE'; SET GLOBAL slow_query_log_file='$WORK/tmp/slow.log'; SET GLOBAL long_query_time=0; SET GLOBAL slow_query_log=1"
		;;
	esac
	out=$("${pre[@]}" sysbench "$t" "${SB_ARGS[@]}" --threads=15 --time="$SQL_TIME" --report-interval=0 run)
	case $v in
	genlog) sql "SET GLOBAL general_log=0" ;;
	slowlog) sql "SET GLOBAL slow_query_log=0; SET GLOBAL long_query_time=10" ;;
	esac
	rm -f "$WORK/tmp/general.log" "$WORK/tmp/slow.log"
	rec mysql "$v" "$r" "${t}_qps" "$(sed -n 's/.*queries: *[0-9]* *(\([0-9.]*\) per sec.*/\1/p' <<<"$out")"
	[[ $v == shim ]] && dump_stat mysql "$v-$t" "$r"
	return 0
}

bench_mysql() {
	say "3. sysbench: $SQL_ROUNDS rounds x {plain, shim, general log, slow log} x 2 tests x ${SQL_TIME}s"
	shim_env
	sb_args
	sysbench oltp_point_select "${SB_ARGS[@]}" cleanup >/dev/null 2>&1 || true
	sysbench oltp_point_select "${SB_ARGS[@]}" --threads=4 prepare >/dev/null
	cmd_note mysql "sysbench {oltp_point_select,oltp_read_only} ${SB_ARGS[*]} --threads=15 --time=$SQL_TIME run  # shim: LD_PRELOAD=$LIB PERFTAP_DIR=DIR PERFTAP_MYSQL_PORTS=$MYSQL_PORT (client side)"
	cmd_note mysql_anchor "general log: SET GLOBAL general_log_file='FILE', general_log=1; slow log: SET GLOBAL slow_query_log_file='FILE', long_query_time=0, slow_query_log=1 (log_output=FILE)"
	local r v t
	for r in $(seq "$SQL_ROUNDS"); do
		local order=(plain shim genlog slowlog)
		((r % 2)) || order=(slowlog genlog shim plain)
		for t in oltp_point_select oltp_read_only; do
			for v in "${order[@]}"; do mysql_run "$v" "$r" "$t"; done
		done
	done
	sysbench oltp_point_select "${SB_ARGS[@]}" cleanup >/dev/null 2>&1 || true
}

# --------------------------------------------------------- 4. http ---

http_run() { # variant round
	local v=$1 r=$2 pid out pre=()
	fresh_dumps
	[[ $v == shim ]] && pre=("${SHIM_ENV[@]}")
	"${pre[@]}" "$BB/bench_httpd" "$HTTP_PORT" --seconds 600 >/dev/null &
	pid=$!
	PIDS+=("$pid")
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/$HOST/$HTTP_PORT") 2>/dev/null && break
		sleep 0.1
	done
	out=$(wrk -t2 -c15 -d"${WRK_TIME}s" "http://$HOST:$HTTP_PORT/fir/FIR-1a2b3c4d-20260115093000")
	stop_pid "$pid"
	forget_pid "$pid"
	rec http "$v" "$r" rps "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
	[[ $v == shim ]] && dump_stat http "$v" "$r"
	return 0
}

bench_http() {
	say "4. wrk: $WRK_ROUNDS rounds x {plain, shim on the server} x ${WRK_TIME}s"
	shim_env
	cmd_note http "$BB/bench_httpd $HTTP_PORT & wrk -t2 -c15 -d${WRK_TIME}s http://$HOST:$HTTP_PORT/fir/FIR-1a2b3c4d-20260115093000  # shim: LD_PRELOAD=$LIB PERFTAP_DIR=DIR on bench_httpd"
	local r v
	for r in $(seq "$WRK_ROUNDS"); do
		local order=(plain shim)
		((r % 2)) || order=(shim plain)
		for v in "${order[@]}"; do http_run "$v" "$r"; done
	done
}

# ---------------------------------------------------- 4b. requests ---

# Record every "variant round metric value" line a Python bench script
# (scripts/bench/SCRIPT) prints under key, run with the servers' settings.
rec_python_bench() {
	local key=$1 script=$2 v r m x
	shift 2
	while read -r v r m x; do
		rec "$key" "$v" "$r" "$m" "$x"
	done < <(set -a && . "$WORK/servers/env" && set +a &&
		/usr/bin/python3 "scripts/bench/$script" "$LIB" \
			"$WORK/dumps" "$WRK_ROUNDS" "$WRK_TIME" "$@")
}

bench_requests() {
	say "4b. request attribution: $WRK_ROUNDS rounds x {plain, off, on} x ${WRK_TIME}s"
	cmd_note requests "python3 scripts/bench/requests.py $LIB DIR ROUNDS $WRK_TIME  # threaded http.server, 15 httpx clients; shim with PERFTAP_REQUESTS=off|on"
	rec_python_bench requests requests.py
	say "4c. request attribution, asyncio: uvicorn h11 + asyncio.to_thread"
	cmd_note requests_asgi "python3 scripts/bench/requests.py $LIB DIR ROUNDS $WRK_TIME asgi  # uvicorn h11, work in asyncio.to_thread; shim with PERFTAP_REQUESTS=off|on"
	rec_python_bench requests_asgi requests.py asgi
	say "4d. call stacks: threaded backend, PERFTAP_STACKS=off / all"
	cmd_note requests_stacks "python3 scripts/bench/requests.py $LIB DIR ROUNDS $WRK_TIME threaded stacks  # threaded http.server, 15 httpx clients; shim with PERFTAP_STACKS=off|all"
	rec_python_bench requests_stacks requests.py threaded stacks
	say "4e. call stacks, asyncio client: redis.asyncio, PERFTAP_STACKS=off / slow / all"
	cmd_note async_stacks "python3 scripts/bench/async_client.py $LIB DIR ROUNDS $WRK_TIME  # 4 tasks of redis.asyncio GETs; shim with PERFTAP_STACKS=off|slow|all (the stack of every send is taken)"
	rec_python_bench async_stacks async_client.py
}

# -------------------------------------------------------- 5. event ---

bench_event() {
	say "5. per-event cost: bench_event (ns) and callgrind (instructions)"
	local out p
	cmd_note event_ns "$BB/bench_event --iterations 1000000 --repeat 5  # and --clock: two clock_gettime per event, as the shim reads them"
	for clk in "" --clock; do
		out=$("$BB/bench_event" --iterations 1000000 --repeat 5 $clk)
		while read -r p _ med min max _; do
			rec event "$p${clk:+-clock}" 1 ns_median "${med#median=}"
			rec event "$p${clk:+-clock}" 1 ns_min "${min#min=}"
			rec event "$p${clk:+-clock}" 1 ns_max "${max#max=}"
		done < <(awk '{print $1, $2, $4, $5, $6}' <<<"$out")
	done
	# The client-API path (api_sqlite.c) beside the socket path: the
	# shim's added cost per SQLite execution, real libsqlite3 underneath.
	cmd_note event_api_ns "$BB/bench_api --iterations 300000 --repeat 5  # (traced - plain) ns per execution; plain_ns is SQLite's own"
	out=$("$BB/bench_api" --iterations 300000 --repeat 5)
	read -r p _ med min max plain <<<"$(awk '{print $1, $2, $4, $5, $6, $7}' <<<"$out")"
	rec event "$p-api" 1 ns_median "${med#median=}"
	rec event "$p-api" 1 ns_min "${min#min=}"
	rec event "$p-api" 1 ns_max "${max#max=}"
	rec event "$p-api" 1 plain_ns "${plain#plain_ns=}"
	# libmysqlclient API path (api_mysql.c): one text query + stored
	# result, accessors stubbed (no server), real writer.
	cmd_note event_api_mysql_ns "$BB/bench_api_mysql --iterations 300000 --repeat 5  # ns per API event (shim's own work)"
	out=$("$BB/bench_api_mysql" --iterations 300000 --repeat 5)
	read -r p _ med min max _ <<<"$(awk '{print $1, $2, $4, $5, $6, $7}' <<<"$out")"
	rec event "$p-api" 1 ns_median "${med#median=}"
	rec event "$p-api" 1 ns_min "${min#min=}"
	rec event "$p-api" 1 ns_max "${max#max=}"
	# hiredis API path (api_redis.c): one GET fed from obuf and its reply
	# re-encoded into the context's RESP decoder, real writer; beside it
	# the socket path's "redis" above (the same decoder fed from socket
	# bytes), and the lookup a hook makes for an untracked context.
	cmd_note event_api_redis_ns "$BB/bench_api_redis --iterations 300000 --repeat 5 [--untracked]  # ns per API event (shim's own work); untracked: a hooked call on a context not tracked"
	for u in "" --untracked; do
		out=$("$BB/bench_api_redis" --iterations 300000 --repeat 5 $u)
		read -r p _ med min max _ <<<"$(awk '{print $1, $2, $4, $5, $6, $7}' <<<"$out")"
		p=redis-api${u:+-untracked}
		rec event "$p" 1 ns_median "${med#median=}"
		rec event "$p" 1 ns_min "${min#min=}"
		rec event "$p" 1 ns_max "${max#max=}"
	done
	# Call stacks per event (PERFTAP_STACKS), inside a live CPython.
	cmd_note event_stack_ns "/usr/bin/python3 bench/bench_stack.py $BUILD  # ns per event: capture (python, native, both) at 10 and 30 Python frames; emit with an interned stack"
	while read -r p val _; do
		rec event_stack "$p" 1 ns "$val"
	done < <(/usr/bin/python3 bench/bench_stack.py "$BUILD")
	cmd_note event_ir "valgrind --tool=callgrind --callgrind-out-file=F $BB/bench_event --iterations {10000,30000} --repeat 1 PROTO  # (Ir(30000) - Ir(10000)) / 20000; callgrind_annotate F for the profile"
	for p in redis mysql http; do
		for n in 10000 30000; do
			valgrind --tool=callgrind --callgrind-out-file="$WORK/tmp/cg.$p.$n" \
				"$BB/bench_event" --iterations $n --repeat 1 "$p" >/dev/null 2>&1
		done
		local a b
		a=$(ir_total "$WORK/tmp/cg.$p.10000")
		b=$(ir_total "$WORK/tmp/cg.$p.30000")
		rec event "$p" 1 ir_per_event "$(((b - a) / 20000))"
		# The five heaviest functions, for the profile table.
		callgrind_annotate "$WORK/tmp/cg.$p.30000" 2>/dev/null |
			sed -n 's/^ *\([0-9,]*\) *( *\([0-9.]*%\)) *[^ ]*:\([^ :]*\) .*/\1\t\2\t\3/p' |
			grep -v 'PROGRAM TOTALS' | tr -d ',' | head -6 |
			while IFS=$'\t' read -r ir pct fn; do
				rec event_prof "$p" 1 "$fn" "$((ir / 30000)) $pct"
			done
	done
}

# ------------------------------------------------------- 6. report ---

bench_report() {
	say "6. report speed: $REPORT_EVENTS synthetic events; pt-query-digest on $DIGEST_QUERIES of its queries"
	local dir=$WORK/tmp/report dump t
	rm -rf "$dir"
	mkdir -m 700 -p "$dir"
	cmd_note report_gen "$BB/gen_dump -o DIR -n $REPORT_EVENTS -s 1"
	dump=$("$BB/gen_dump" -o "$dir" -n "$REPORT_EVENTS" -s 1)
	rec report dump 1 bytes "$(stat -c %s "$dump")"
	rec report dump 1 events "$REPORT_EVENTS"
	cmd_note report "/usr/bin/time -f '%e s %M KiB' $CMD report DUMP >/dev/null  # 3 runs"
	for r in 1 2 3; do
		/usr/bin/time -f '%e %M' -o "$WORK/tmp/time" "$CMD" report "$dump" >"$WORK/tmp/report.txt"
		read -r t rss <"$WORK/tmp/time"
		rec report perftap "$r" seconds "$t"
		rec report perftap "$r" rss_kib "$rss"
		rec report perftap "$r" events_per_s "$(awk -v n="$REPORT_EVENTS" -v t="$t" 'BEGIN {printf "%.0f", n / (t > 0 ? t : 0.01)}')"
	done
	# Memory per event, apart from the mapped dump: the report's own
	# accounting (peak anonymous memory) after load and analysis.
	cmd_note report_mem "$CMD report --stats-memory -o /dev/null DUMP  # 2nd stderr line"
	local stats
	stats=$("$CMD" report --stats-memory -o /dev/null "$dump" 2>&1 >/dev/null | tail -1)
	rec report memory 1 bytes_per_event "$(sed -n 's/.*bytes_per_event=\([0-9.]*\).*/\1/p' <<<"$stats")"
	rec report memory 1 events_per_cpu_s "$(sed -n 's/.*events_per_cpu_s=\([0-9]*\).*/\1/p' <<<"$stats")"
	# The same queries as a slow log: the dump's MySQL events with
	# literals put back (scripts/bench/slowlog.py).
	cmd_note digest "$CMD events DUMP | python3 scripts/bench/slowlog.py $DIGEST_QUERIES >slow.log; /usr/bin/time -f '%e s %M KiB' pt-query-digest slow.log >/dev/null"
	local n
	# slowlog.py stops reading after its quota: perftap events then dies
	# of SIGPIPE, which is expected (hence the || true under pipefail).
	n=$({ "$CMD" events "$dump" || true; } |
		python3 scripts/bench/slowlog.py "$DIGEST_QUERIES" 2>&1 >"$WORK/tmp/digest-slow.log" | tail -1)
	rec report digest 1 queries "$n"
	/usr/bin/time -f '%e %M' -o "$WORK/tmp/time" pt-query-digest "$WORK/tmp/digest-slow.log" >/dev/null
	read -r t rss <"$WORK/tmp/time"
	rec report digest 1 seconds "$t"
	rec report digest 1 rss_kib "$rss"
	rec report digest 1 events_per_s "$(awk -v n="$n" -v t="$t" 'BEGIN {printf "%.0f", n / (t > 0 ? t : 0.01)}')"
	rm -rf "$dir" "$WORK/tmp/digest-slow.log"
}

# -------------------------------------------------------- 7. drops ---

bench_drops() {
	say "7. drops: bench_rate at controlled rates, default dump size"
	local dir=$WORK/tmp/rate line
	rm -rf "$dir"
	mkdir -m 700 -p "$dir"
	cmd_note drops "$BB/bench_rate -o DIR --rate R --seconds S --threads T --mode wrap|stop  # 256 MiB default size; --max: as fast as the writer goes"
	local runs=(
		"200k-wrap-10s|--rate 200000 --seconds 10 --threads 4 --mode wrap"
		"200k-stop-10s|--rate 200000 --seconds 10 --threads 4 --mode stop"
		"400k-stop-10s|--rate 400000 --seconds 10 --threads 4 --mode stop"
		"800k-stop-10s|--rate 800000 --seconds 10 --threads 4 --mode stop"
		"max-wrap-3s|--max --seconds 3 --threads 1 --mode wrap"
		"max-stop-3s|--max --seconds 3 --threads 1 --mode stop"
	)
	local spec name args
	for spec in "${runs[@]}"; do
		name=${spec%%|*}
		args=${spec#*|}
		# shellcheck disable=SC2086
		line=$("$BB/bench_rate" -o "$dir" $args)
		for kv in $line; do
			rec drops "$name" 1 "${kv%%=*}" "${kv#*=}"
		done
	done
	rm -rf "$dir"
}

# ------------------------------------------------------ 8. samples ---

# CPU ns the scheduler has charged to pid (/proc/PID/schedstat, field 1).
sched_ns() { awk '{print $1}' "/proc/$1/schedstat"; }

bench_samples() {
	say "8. samples: redis-benchmark -P 16 with samples off / on, $ROUNDS rounds; sampler CPU over $SAMPLER_TIME s"
	shim_env
	local args=(-h $HOST -p "$REDIS_PORT" -c 15 -n 2000000 -P 16 -t get,set --csv)
	cmd_note samples_event "redis-benchmark ${args[*]}  # LD_PRELOAD=$LIB PERFTAP_DIR=DIR PERFTAP_REDIS_PORTS=$REDIS_PORT PERFTAP_SAMPLE_INTERVAL=0 (off) or 1s (on)"
	local r v out
	for r in $(seq "$ROUNDS"); do
		local order=(off on)
		((r % 2)) || order=(on off)
		for v in "${order[@]}"; do
			fresh_dumps
			local iv=0
			[[ $v == on ]] && iv=1s
			out=$("${SHIM_ENV[@]}" PERFTAP_SAMPLE_INTERVAL=$iv redis-benchmark "${args[@]}")
			rec samples "$v" "$r" SET_rps "$(awk -F'"' '$2=="SET" {print $4}' <<<"$out")"
			rec samples "$v" "$r" GET_rps "$(awk -F'"' '$2=="GET" {print $4}' <<<"$out")"
		done
	done
	# The supervisor's own CPU: a tree of five idle processes sampled
	# every second, charged time over the window after start-up.
	local t=$((SAMPLER_TIME + 5)) pid a b
	cmd_note samples_sampler "$CMD record -o DIR -- sh -c 'sleep $t & sleep $t & sleep $t & sleep $t & wait'  # schedstat of the record process over $SAMPLER_TIME s"
	fresh_dumps
	PERFTAP_LIB=$LIB "$CMD" record -o "$WORK/dumps" -- sh -c \
		"sleep $t & sleep $t & sleep $t & sleep $t & wait" &
	pid=$!
	PIDS+=("$pid")
	sleep 2
	a=$(sched_ns "$pid")
	sleep "$SAMPLER_TIME"
	b=$(sched_ns "$pid")
	rec samples sampler 1 cpu_pct "$(awk -v a="$a" -v b="$b" -v t="$SAMPLER_TIME" 'BEGIN {printf "%.4f", (b - a) / (t * 1e7)}')"
	rec samples sampler 1 procs_on_machine "$(ls -d /proc/[0-9]* | wc -l)"
	stop_pid "$pid"
	forget_pid "$pid"
}

# --------------------------------------------------------------- main ---

main() {
	preflight
	mkdir -p "$WORK"
	rm -rf "$WORK/tmp"
	mkdir -m 700 -p "$WORK/tmp"
	: >"$RAW"
	local t0=$SECONDS
	machine_facts
	if want redis || want mysql || want requests || want samples; then start_servers; fi
	want untracked && bench_untracked
	want redis && bench_redis
	want mysql && bench_mysql
	want http && bench_http
	want requests && bench_requests
	want event && bench_event
	want report && bench_report
	want drops && bench_drops
	want samples && bench_samples
	rec machine - - load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
	rec machine - - bench_seconds "$((SECONDS - t0))"
	python3 scripts/bench/results.py "$RAW" >"$OUT.tmp"
	mv -f "$OUT.tmp" "$OUT"
	say "done in $((SECONDS - t0)) s; results in $OUT (raw figures: $RAW)"
}

main "$@"
