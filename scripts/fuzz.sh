#!/usr/bin/env bash
# fuzz.sh -- run the libFuzzer targets of tests/fuzz/ (built by
# `make fuzz-build` into $PERFTAP_BUILD/fuzz/).
#
#   fuzz.sh list              one line per target: NAME CORPUS MAX_LEN REGRESSIONS
#                             (directories relative to the repo root)
#   fuzz.sh run [NAME...]     fuzz each target for $FUZZ_SECONDS (default
#                             60) or, if $FUZZ_RUNS is set, for exactly
#                             that many executions (a campaign: see
#                             tests/fuzz/RESULTS.md), niced, one at a time,
#                             from its committed corpus plus what earlier
#                             runs found; `make fuzz` runs this.  Ends each
#                             target with one line: executions, seconds,
#                             coverage, corpus size, crashes
#   fuzz.sh smoke NAME        $FUZZ_SMOKE_RUNS executions (default 5000) on
#                             the committed corpus: what `make test` runs
#   fuzz.sh replay NAME FILE  run one regression input once (fuzz_report:
#                             through every output format)
#
# Corpora: tests/fuzz/corpus/<dir> (committed; regenerate with
# tests/fuzz/make_seeds.py and make_dump_seeds.c).  Regression inputs:
# tests/data/fuzz-regressions/<dir>.  New inputs found by `run` go to
# $PERFTAP_BUILD/fuzz/corpus/NAME, crashes to $PERFTAP_BUILD/fuzz/artifacts/.
# Exit status: 0 clean, 1 a crash, a sanitizer report or a broken
# invariant, 2 usage or a missing binary.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 2
case "${PERFTAP_BUILD:-build}" in
/*) BUILD=${PERFTAP_BUILD} ;;
*) BUILD=$REPO/${PERFTAP_BUILD:-build} ;;
esac

# NAME CORPUS MAX_LEN REGRESSIONS.  MAX_LEN bounds what the mutator makes;
# seeds stay well under it (a seed over it is cut, and slows every run).
TARGETS="fuzz_proto_mysql   mysql     65536  mysql
fuzz_proto_redis   redis     8192   redis
fuzz_proto_http    http      65536  http
fuzz_normalize     normalize 4096   normalize
fuzz_sniff         sniff     4096   sniff
fuzz_dump_reader   dump      262144 dump
fuzz_report        dump      262144 report"

# Sanitizer reports abort (libFuzzer then keeps the input and exits 1).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

target_line() { echo "$TARGETS" | awk -v n="$1" '$1 == n'; }

binary() {
	local bin=$BUILD/fuzz/$1
	if [[ ! -x "$bin" ]]; then
		echo "fuzz: $bin not built: run make fuzz-build" >&2
		exit 2
	fi
	echo "$bin"
}

# One line per finished target, the figures tests/fuzz/RESULTS.md keeps:
# executions and rate from libFuzzer's final stats, edge coverage and
# features from its DONE line, the corpus it ended with, crash files kept.
summary() {
	local name=$1 log=$2 secs=$3 work=$4 art=$5 execs rate done crashes
	execs=$(awk '/^stat::number_of_executed_units:/ { print $2 }' "$log")
	rate=$(awk '/^stat::average_exec_per_sec:/ { print $2 }' "$log")
	done=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 |
		sed -E 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [^ ]+).*/\1/')
	# crash-, leak-, timeout-, oom-: failures.  slow-unit-: an input
	# over libFuzzer's slow threshold (10 s), which on a niced run of a
	# busy machine is as often the scheduler as the input: listed apart,
	# to be replayed (fuzz.sh replay) before it is called slow.
	crashes=$(find "$art" -maxdepth 1 -type f ! -name 'slow-unit-*' | wc -l)
	slow=$(find "$art" -maxdepth 1 -type f -name 'slow-unit-*' | wc -l)
	echo "fuzz: $name: ${execs:-?} executions in ${secs}s (${rate:-?}/s), ${done:-no DONE line}, $(find "$work" -type f | wc -l) new inputs, $crashes crashes, $slow slow units"
}

cmd=${1:-}
shift || true
case "$cmd" in
list)
	echo "$TARGETS" | awk '{ printf "%s tests/fuzz/corpus/%s %s tests/data/fuzz-regressions/%s\n", $1, $2, $3, $4 }'
	;;
smoke)
	read -r name dir max _ < <(target_line "${1:?target}") || exit 2
	bin=$(binary "$name")
	out=$(mktemp -d /tmp/perftap-fuzz.XXXXXX) || exit 2
	trap 'rm -rf "$out"' EXIT
	# -seed fixed: the same executions every time (a smoke, not a search).
	"$bin" -runs="${FUZZ_SMOKE_RUNS:-5000}" -seed=1 -max_len="$max" \
		-timeout=20 -rss_limit_mb=2048 -artifact_prefix="$out/" \
		-print_final_stats=1 "$out" "tests/fuzz/corpus/$dir"
	;;
replay)
	read -r name _ max _ < <(target_line "${1:?target}") || exit 2
	bin=$(binary "$name")
	out=$(mktemp -d /tmp/perftap-fuzz.XXXXXX) || exit 2
	trap 'rm -rf "$out"' EXIT
	# fuzz_report: every output format, not the one its hash picks.
	PERFTAP_FUZZ_ALL_FORMATS=1 "$bin" -timeout=20 -rss_limit_mb=2048 \
		-artifact_prefix="$out/" "${2:?file}"
	;;
run)
	names=("$@")
	((${#names[@]})) || mapfile -t names < <(echo "$TARGETS" | awk '{ print $1 }')
	rc=0
	for name in "${names[@]}"; do
		read -r _ dir max _ < <(target_line "$name") || {
			echo "fuzz: no target $name" >&2
			exit 2
		}
		bin=$(binary "$name")
		work=$BUILD/fuzz/corpus/$name
		art=$BUILD/fuzz/artifacts/$name/
		mkdir -p "$work" "$art"
		if [[ -n "${FUZZ_RUNS:-}" ]]; then
			limit=(-runs="$FUZZ_RUNS")
			echo "fuzz: $name for $FUZZ_RUNS executions"
		else
			limit=(-max_total_time="${FUZZ_SECONDS:-60}")
			echo "fuzz: $name for ${FUZZ_SECONDS:-60}s"
		fi
		dict=()
		[[ "$name" == fuzz_normalize || "$name" == fuzz_proto_mysql ]] &&
			dict=(-dict=tests/fuzz/sql.dict)
		log=$BUILD/fuzz/$name.log
		start=$SECONDS
		nice -n "${FUZZ_NICE:-10}" "$bin" "${limit[@]}" \
			-max_len="$max" -timeout=20 -rss_limit_mb=2048 \
			-artifact_prefix="$art" -print_final_stats=1 \
			${dict[@]+"${dict[@]}"} "$work" "tests/fuzz/corpus/$dir" \
			2>&1 | tee "$log" | grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|==[0-9]+==ERROR|SUMMARY|stat::)' ||
			true
		((PIPESTATUS[0] == 0)) || rc=1
		summary "$name" "$log" $((SECONDS - start)) "$work" "$art"
	done
	exit "$rc"
	;;
*)
	sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
