#!/usr/bin/env bash
# demo.sh -- the main job on a demo: profile an AFIRGen-shaped backend under
# load, with no change to its code, and report against the AFIRGen targets.
#
#   make demo                    60 s, PyMySQL, uvicorn with h11
#   DURATION=300 make demo       the AFIRGen suite's 5-minute run
#   DRIVER=mysqldb SERVER=httptools make demo
#
# Starts (and stops, by pid, on any exit) MariaDB and Redis in build/servers,
# the model-server stub, and the backend under `perftap record`; drives it
# with Locust headless (15 users, spawn rate 5); then writes every report
# format, the dumps and Locust's CSV into one folder and prints its path.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DURATION=${DURATION:-60}
DRIVER=${DRIVER:-pymysql}       # pymysql | mysqldb
SERVER=${SERVER:-h11}           # h11 | httptools (with uvloop)
USERS=${USERS:-15}
SPAWN_RATE=${SPAWN_RATE:-5}
MODEL_DELAY=${MODEL_DELAY:-1.0}
N_FIRS=${N_FIRS:-3000}
BACKEND_PORT=${BACKEND_PORT:-18080}
MODEL_PORT=${MODEL_PORT:-18001}
OUT=${OUT:-$BUILD/demo/$(date +%Y%m%d-%H%M%S)}
export PERFTAP_BUILD=$BUILD    # scripts/servers.sh keeps its servers there
PY=/usr/bin/python3
PERFTAP=$BUILD/perftap
THRESHOLDS=$ROOT/baselines/afirgen-thresholds.json

pids=()
started_servers=0

cleanup() {
	local status=$?
	for pid in "${pids[@]}"; do
		kill -INT "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	pids=()
	if [[ $started_servers -eq 1 ]]; then
		bash "$ROOT/scripts/servers.sh" stop >/dev/null || true
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Wait for a TCP port to accept connections, without sending a request (a
# request would be counted by the shim and spoil the Locust comparison).
wait_port() {
	local port=$1 what=$2
	for _ in $(seq 150); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	echo "demo: $what did not start on port $port" >&2
	return 1
}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
mkdir -m 0700 -p "$OUT/dumps"

if ! bash "$ROOT/scripts/servers.sh" status >/dev/null 2>&1; then
	bash "$ROOT/scripts/servers.sh" start
	started_servers=1
fi
set -a
# shellcheck disable=SC1091
source "${PERFTAP_SERVERS_DIR:-$BUILD/servers}/env"
set +a

export DEMO_SEED_JSON=$OUT/seed.json
export DEMO_SESSIONS_DB=$OUT/sessions.db
export DEMO_DRIVER=$DRIVER
export DEMO_MODEL_URL=http://127.0.0.1:$MODEL_PORT
export DEMO_MODEL_DELAY=$MODEL_DELAY
"$PY" "$ROOT/scripts/demo/seed.py" "$DEMO_SEED_JSON" "$N_FIRS"

cd "$ROOT/scripts/demo"
"$PY" -m uvicorn model_stub:app --host 127.0.0.1 --port "$MODEL_PORT" \
	--log-level warning &
pids+=($!)

server_opts=(--http h11 --loop asyncio)
if [[ $SERVER == httptools ]]; then
	server_opts=(--http httptools --loop uvloop)
fi
PERFTAP_ROUTES=$ROOT/scripts/demo/routes.txt \
	"$PERFTAP" record -o "$OUT/dumps" -- \
	"$PY" -m uvicorn backend:app --host 127.0.0.1 --port "$BACKEND_PORT" \
	--log-level warning --no-access-log "${server_opts[@]}" &
backend_pid=$!
pids+=("$backend_pid")
wait_port "$MODEL_PORT" "the model stub"
wait_port "$BACKEND_PORT" "the backend"

echo "demo: ${DURATION}s of load: $USERS users, $DRIVER, uvicorn $SERVER"
# Locust runs past the load window by more than the slowest request (three
# model calls), so that it stops with no request in flight.
export DEMO_LOAD_SECONDS=$DURATION
grace=$("$PY" -c "print(int(3 * $MODEL_DELAY) + 5)")
locust -f "$ROOT/scripts/demo/locustfile.py" --headless \
	-u "$USERS" -r "$SPAWN_RATE" -t "$((DURATION + grace))s" --stop-timeout 60 \
	--host "http://127.0.0.1:$BACKEND_PORT" --csv "$OUT/locust" \
	--only-summary --loglevel WARNING >"$OUT/locust.log" 2>&1 || {
	echo "demo: locust failed; see $OUT/locust.log" >&2
	exit 1
}

# Stop the backend first and gracefully, so its last requests are complete.
kill -INT "$backend_pid"
wait "$backend_pid" 2>/dev/null || true
cd "$ROOT"

"$PERFTAP" events "$OUT"/dumps/*.ptd >"$OUT/events.jsonl"
for fmt_ext in json:json markdown:md junit:xml csv:csv html:html \
	otlp:otlp.jsonl prometheus:prom; do
	fmt=${fmt_ext%%:*}
	# A format this build does not have is skipped, not fatal.
	"$PERFTAP" report --thresholds "$THRESHOLDS" --format "$fmt" \
		-o "$OUT/report.${fmt_ext#*:}" "$OUT/dumps" 2>/dev/null ||
		rm -f "$OUT/report.${fmt_ext#*:}"
done
test -s "$OUT/report.json" || {
	echo "demo: perftap report failed" >&2
	exit 1
}
"$PERFTAP" report --thresholds "$THRESHOLDS" "$OUT/dumps" | tee "$OUT/report.txt"
# The run joins a history database in the output folder (perftap history
# show/trend, compare --against-history read it).
"$PERFTAP" history add --db "$OUT/history.db" --label demo "$OUT/dumps"

echo
"$PY" "$ROOT/scripts/demo/cache_summary.py" "$OUT/report.json" |
	tee "$OUT/cache-summary.txt"

echo
echo "HTTP requests per route, as Locust counted them and as perftap did:"
"$PY" "$ROOT/scripts/demo/compare_counts.py" "$OUT/locust_stats.csv" \
	"$OUT/events.jsonl"

echo
echo "demo: everything is in $OUT"
echo "demo: try  $PERFTAP report $OUT/dumps"
echo "      or   $PERFTAP check --thresholds $THRESHOLDS $OUT/dumps"
