#!/usr/bin/env bash
# run-tests.sh -- run every test: the Criterion unit tests (plain and under
# ASan + UBSan), then the pytest integration tests against the private
# MariaDB and Redis of scripts/servers.sh.  `make test` runs it after
# `make build-tests`; it builds nothing itself.
#
# Then the fuzz smoke (scripts/fuzz.sh) and the fuzz regression inputs.
# Prints one line per suite as it goes, the full output of any suite that
# fails, and closes with exactly one line
#
#   tests: N passed, N failed
#
# (test cases, summed over Criterion and pytest).  Exits 1 if any test
# failed or crashed, a binary was missing or died, or the servers did not
# start; 0 otherwise.  Servers this run started are stopped on every exit,
# Ctrl-C included; servers that were already running are left running.
#
# Environment:
#   PERFTAP_BUILD        build directory (default build, from the repo root)
#   PERFTAP_TEST_FILTER  run only the suites whose name contains this text
#                        (unit binary names such as test_writer, integration
#                        files such as test_servers.py); the servers start
#                        only if an integration file is selected
#   PERFTAP_TEST_JOBS    Criterion --jobs (default 2: the CI machines have 2)
#   PERFTAP_UNIT_TIMEOUT seconds per unit binary (default 600)
#   PERFTAP_PYTEST_TIMEOUT seconds for all integration tests (default 1800)
#   PERFTAP_PYTEST_ARGS  extra pytest arguments (e.g. "-x" or "-k name")
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 2

case "${PERFTAP_BUILD:-build}" in
/*) BUILD=${PERFTAP_BUILD} ;;
*) BUILD=$REPO/${PERFTAP_BUILD:-build} ;;
esac
export PERFTAP_BUILD=$BUILD
FILTER=${PERFTAP_TEST_FILTER:-}
JOBS=${PERFTAP_TEST_JOBS:-2}
UNIT_TIMEOUT=${PERFTAP_UNIT_TIMEOUT:-600}
PYTEST_TIMEOUT=${PERFTAP_PYTEST_TIMEOUT:-1800}
PYTHON=/usr/bin/python3

PASSED=0
FAILED=0
FAILED_SUITES=()
STARTED_SERVERS=0
CHILD=0
LOG_DIR=$(mktemp -d /tmp/perftap-tests.XXXXXX) || exit 2

# run_child LOG CMD...: run CMD with output to LOG, in the background and
# waited for, so that a signal to this script runs its trap at once (bash
# defers traps while a foreground child runs, and `timeout` puts its child
# in a process group of its own, out of reach of the terminal's Ctrl-C).
run_child() {
	local log=$1 rc
	shift
	"$@" >"$log" 2>&1 </dev/null &
	CHILD=$!
	wait "$CHILD" 2>/dev/null # the status says it; no "Segmentation fault" line
	rc=$?
	CHILD=0
	return "$rc"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if ((CHILD)); then
		kill -TERM "$CHILD" 2>/dev/null
		wait "$CHILD" 2>/dev/null
	fi
	if ((STARTED_SERVERS)); then
		bash "$REPO/scripts/servers.sh" stop >"$LOG_DIR/servers-stop.log" 2>&1 ||
			cat "$LOG_DIR/servers-stop.log" >&2
	fi
	rm -rf "$LOG_DIR"
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "run-tests: interrupted" >&2; exit 130' INT
trap 'echo "run-tests: terminated" >&2; exit 143' TERM

selected() { [[ -z "$FILTER" || "$1" == *"$FILTER"* ]]; }

# suite_line KIND NAME PASSED FAILED SECONDS [NOTE]
suite_line() {
	printf '%-9s %-34s %4d passed, %d failed  %5.1fs%s\n' \
		"$1" "$2" "$3" "$4" "$5" "${6:+  ($6)}"
}

# show_log FILE: a failing suite's output, in full, set off for CI logs.
show_log() {
	echo "----- output of the failing suite -----"
	sed 's/\x1b\[[0-9;]*m//g' "$1"
	echo "----- end -----"
}

elapsed() { echo "$(($(date +%s%N) - $1))" | awk '{ printf "%.1f", $1 / 1e9 }'; }

# ------------------------------------------------------------ unit tests ---

# run_unit KIND BINARY: one Criterion binary; sums its synthesis line.
run_unit() {
	local kind=$1 bin=$2 name log rc t0 synth passing failed note=""
	name=$(basename "$bin")
	log=$LOG_DIR/$kind-$name.log
	t0=$(date +%s%N)
	if [[ ! -x "$bin" ]]; then
		suite_line "$kind" "$name" 0 1 0 "not built: run make build-tests"
		FAILED=$((FAILED + 1))
		FAILED_SUITES+=("$kind/$name")
		return
	fi
	# halt_on_error / abort: a sanitizer report ends the test as a crash,
	# which Criterion counts.
	ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		run_child "$log" timeout --kill-after=10 "$UNIT_TIMEOUT" \
		"$bin" --jobs "$JOBS" --color=never
	rc=$?
	synth=$(sed 's/\x1b\[[0-9;]*m//g' "$log" |
		grep -o 'Synthesis: Tested: [0-9]* | Passing: [0-9]* | Failing: [0-9]* | Crashing: [0-9]*' |
		tail -n 1)
	if [[ -n "$synth" ]]; then
		# Tested - Passing: failing and crashing tests alike.
		read -r passing failed < <(echo "$synth" |
			awk -F'[:|]' '{ print $5+0, $3-$5 }')
	else
		passing=0 failed=1
		note="no Criterion synthesis line"
	fi
	if ((rc == 124 || rc == 137)); then
		note="timed out after ${UNIT_TIMEOUT}s"
		((failed)) || failed=1
	elif ((rc != 0 && failed == 0)); then
		# A leak report at exit or a crash of the runner itself still
		# fails the suite even when every test passed.
		failed=1
		note="exit status $rc"
	elif ((rc != 0)) && [[ -z "$synth" ]]; then
		note="$note, exit status $rc"
	fi
	suite_line "$kind" "$name" "$passing" "$failed" "$(elapsed "$t0")" "$note"
	PASSED=$((PASSED + passing))
	FAILED=$((FAILED + failed))
	if ((failed)); then
		FAILED_SUITES+=("$kind/$name")
		show_log "$log"
	fi
}

UNIT_SRC=()
for src in tests/unit/test_*.c; do
	[[ -e "$src" ]] || continue
	name=$(basename "$src" .c)
	selected "$name" && UNIT_SRC+=("$name")
done
for name in ${UNIT_SRC[@]+"${UNIT_SRC[@]}"}; do
	run_unit unit "$BUILD/tests/$name"
done
for name in ${UNIT_SRC[@]+"${UNIT_SRC[@]}"}; do
	run_unit unit-san "$BUILD/tests-san/$name"
done
((${#UNIT_SRC[@]})) || echo "unit      (no unit tests${FILTER:+ match \"$FILTER\"})"

# ------------------------------------------------------------ fuzz smoke ---

# Each libFuzzer target (make fuzz-build) for a fixed number of executions
# on its committed corpus (scripts/fuzz.sh smoke: a few seconds each), then
# every input of tests/data/fuzz-regressions/ replayed through its target.
# One test case per target smoke and per regression input.  Selected by
# the target's name (e.g. PERFTAP_TEST_FILTER=fuzz_report).
run_fuzz() {
	local name dir regs t0 f passed failed note log
	while read -r name _ _ regs; do
		selected "$name" || continue
		t0=$(date +%s%N)
		passed=0 failed=0 note=""
		log=$LOG_DIR/fuzz-$name.log
		if run_child "$log" timeout --kill-after=10 120 \
			bash scripts/fuzz.sh smoke "$name"; then
			passed=1
		else
			failed=1
			note="smoke failed"
		fi
		for f in "$regs"/*; do
			[[ -f "$f" ]] || continue
			if run_child "$LOG_DIR/fuzz-reg.log" timeout --kill-after=10 60 \
				bash scripts/fuzz.sh replay "$name" "$f"; then
				passed=$((passed + 1))
			else
				failed=$((failed + 1))
				note="${note:+$note, }regression ${f##*/}"
				cat "$LOG_DIR/fuzz-reg.log" >>"$log"
			fi
		done
		suite_line fuzz "$name" "$passed" "$failed" "$(elapsed "$t0")" "$note"
		PASSED=$((PASSED + passed))
		FAILED=$((FAILED + failed))
		if ((failed)); then
			FAILED_SUITES+=("fuzz/$name")
			show_log "$log"
		fi
	done < <(bash scripts/fuzz.sh list)
}
run_fuzz

# ----------------------------------------------------- integration tests ---

ITEST=()
for f in tests/integration/test_*.py; do
	[[ -e "$f" ]] || continue
	selected "$(basename "$f")" && ITEST+=("$f")
done

run_integration() {
	local log=$LOG_DIR/pytest.log rc t0 summary passed=0 failed=0 n word
	local skipped=0 note=""
	t0=$(date +%s%N)
	if bash scripts/servers.sh status >/dev/null 2>&1; then
		echo "servers   already running; leaving them running"
	else
		STARTED_SERVERS=1
		if ! run_child "$LOG_DIR/servers.log" bash scripts/servers.sh start; then
			suite_line integr "servers.sh start" 0 1 "$(elapsed "$t0")" \
				"servers did not start"
			show_log "$LOG_DIR/servers.log"
			FAILED=$((FAILED + 1))
			FAILED_SUITES+=("servers")
			return
		fi
		echo "servers   started ($(elapsed "$t0")s)"
	fi
	t0=$(date +%s%N)
	# Output goes to the log and, for failures, to the screen in full
	# (pytest -q prints only dots and the summary when all pass).
	# shellcheck disable=SC2086
	PYTHONDONTWRITEBYTECODE=1 run_child "$log" \
		timeout --kill-after=10 "$PYTEST_TIMEOUT" \
		"$PYTHON" -m pytest -q -p no:cacheprovider -rfE --color=no \
		${PERFTAP_PYTEST_ARGS:-} "${ITEST[@]}"
	rc=$?
	# The last line is the summary, e.g. "1 failed, 13 passed, 2 errors in
	# 0.15s" or "no tests ran in 0.01s"; it may be framed with "=".
	summary=$(grep -E '(passed|failed|error|errors|skipped|no tests ran|xfailed|xpassed|deselected)( |,|$)' "$log" |
		grep -E ' in [0-9.]+s' | tail -n 1)
	while read -r n word; do
		case "$word" in
		passed) passed=$((passed + n)) ;;
		failed | error | errors) failed=$((failed + n)) ;;
		skipped) skipped=$((skipped + n)) ;;
		esac
	done < <(echo "$summary" | grep -oE '[0-9]+ (passed|failed|errors?|skipped)')
	((skipped)) && note="$skipped skipped"
	case $rc in
	0 | 1) ;;
	5) # No tests collected although test files exist: a failure,
		# unless the caller deselected them (-k in PERFTAP_PYTEST_ARGS).
		note="no tests collected"
		[[ -n "${PERFTAP_PYTEST_ARGS:-}" ]] || failed=$((failed + 1))
		;;
	124 | 137)
		note="timed out after ${PYTEST_TIMEOUT}s"
		failed=$((failed + 1))
		;;
	*)
		note="pytest exit status $rc"
		((failed)) || failed=1
		;;
	esac
	if ((rc == 1 && failed == 0)); then
		failed=1
		note="pytest exit status 1 with no failure counted"
	fi
	suite_line integr "pytest tests/integration" "$passed" "$failed" \
		"$(elapsed "$t0")" "$note"
	PASSED=$((PASSED + passed))
	FAILED=$((FAILED + failed))
	if ((failed)); then
		FAILED_SUITES+=("integration")
		show_log "$log"
	fi
}

if ((${#ITEST[@]})); then
	run_integration
else
	echo "integr    (no integration tests${FILTER:+ match \"$FILTER\"}; servers not started)"
fi

((${#FAILED_SUITES[@]})) && echo "failing suites: ${FAILED_SUITES[*]}"
echo "tests: $PASSED passed, $FAILED failed"
((FAILED == 0))
