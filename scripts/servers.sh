#!/usr/bin/env bash
# servers.sh -- start, stop and check the private MariaDB and Redis that the
# integration tests, the demo and the benchmarks talk to.
#
#   scripts/servers.sh start    start both (a second start is harmless)
#   scripts/servers.sh stop     stop both, by the pids in their pid files
#   scripts/servers.sh status   say what runs; exit 0 if both answer, else 3
#   scripts/servers.sh env      print the env file (after start)
#
# Everything lives in one folder, ${PERFTAP_SERVERS_DIR:-build/servers}
# (relative paths are taken from the repository root, whatever the cwd):
#
#   env                   PERFTAP_* lines every test reads (the one place
#                         where ports and sockets are written down)
#   lock                  flock(1) lock serialising start/stop
#   mariadb/data          datadir (mariadb-install-db, once)
#   mariadb/mysqld.sock   Unix socket; mariadb/mariadb.pid, mariadb.log
#   redis/redis.conf      the Redis configuration (given on its command line)
#   redis/redis.sock      Unix socket; redis/redis.pid, redis.log
#
# The servers listen on 127.0.0.1 only, on non-default ports (MariaDB 13306,
# Redis 16379; PERFTAP_MYSQL_PORT / PERFTAP_REDIS_PORT override), and on the
# Unix sockets above.  No option file under /etc is read (--no-defaults) and
# the distribution's own instances are never touched.
#
# A pid counts as ours only when the process's cwd is our datadir (mariadbd
# chdirs there) or our redis dir (Redis's `dir`), so a recycled pid from a
# crashed run is never signalled; stale pid files, sockets and socket locks
# are removed before a start.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

abspath() {
	case "$1" in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$REPO/$1" ;;
	esac
}

DIR=$(abspath "${PERFTAP_SERVERS_DIR:-${PERFTAP_BUILD:-build}/servers}")
MYSQL_PORT=${PERFTAP_MYSQL_PORT:-13306}
REDIS_PORT=${PERFTAP_REDIS_PORT:-16379}
HOST=127.0.0.1
DB_USER=perftap
DB_PASSWORD=perftap
DB_NAME=perftap_test
START_TIMEOUT=${PERFTAP_SERVERS_TIMEOUT:-60}  # seconds to wait for an answer
STOP_TIMEOUT=${PERFTAP_SERVERS_STOP_TIMEOUT:-30} # SIGTERM -> SIGKILL

M_DIR=$DIR/mariadb
M_DATA=$M_DIR/data
M_SOCK=$M_DIR/mysqld.sock
M_PID=$M_DIR/mariadb.pid
M_LOG=$M_DIR/mariadb.log
M_INIT_LOG=$M_DIR/install-db.log
M_READY=$M_DIR/initialised # written once the datadir is complete
R_DIR=$DIR/redis
R_CONF=$R_DIR/redis.conf
R_SOCK=$R_DIR/redis.sock
R_PID=$R_DIR/redis.pid
R_LOG=$R_DIR/redis.log
ENV_FILE=$DIR/env

say() { printf 'servers: %s\n' "$*"; }
die() {
	printf 'servers: error: %s\n' "$*" >&2
	exit 1
}

# fd 9 holds the lock (see with_lock); servers are started with 9>&- so
# that they do not keep it after this script exits.

# Show the end of a log, indented, on stderr (what a failed start needs).
log_tail() {
	local f=$1
	if [[ -s "$f" ]]; then
		printf 'servers: last lines of %s:\n' "$f" >&2
		tail -n 25 "$f" | sed 's/^/    /' >&2
	else
		printf 'servers: (%s is empty or missing)\n' "$f" >&2
	fi
}

# ---------------------------------------------------------------- pids ---

# The binaries, resolved: on Debian redis-server is a symlink to
# redis-check-rdb, and /proc/PID/exe names the target.
PATH=$PATH:/usr/sbin:/sbin
# Redis picks its mode from argv[0], so it is run by its own name and only
# the comparison uses the resolved path.
MARIADBD_BIN=$(command -v mariadbd || echo /usr/sbin/mariadbd)
REDIS_BIN=$(command -v redis-server || echo /usr/bin/redis-server)
MARIADBD=$(readlink -f "$MARIADBD_BIN")
REDIS_SERVER=$(readlink -f "$REDIS_BIN")

# Is $1 a live process of ours, running binary $2 with cwd $3?
pid_is_ours() {
	local pid=$1 exe=$2 cwd=$3 real_exe real_cwd
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	real_exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	real_cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
	# " (deleted)": the package was upgraded under a running server.
	[[ "${real_exe% (deleted)}" == "$exe" ]] || return 1
	[[ "$real_cwd" == "$(readlink -f "$cwd")" ]]
}

read_pid() {
	if [[ -f "$1" ]]; then tr -dc '0-9' <"$1" 2>/dev/null || true; fi
}

mariadb_pid() {
	local pid
	pid=$(read_pid "$M_PID")
	pid_is_ours "$pid" "$MARIADBD" "$M_DATA" && echo "$pid"
}

redis_pid() {
	local pid
	pid=$(read_pid "$R_PID")
	pid_is_ours "$pid" "$REDIS_SERVER" "$R_DIR" && echo "$pid"
}

# Is some process (ours or not) listening on 127.0.0.1:$1?
port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# ---------------------------------------------------------------- pings ---

# A real login as the test user, not just `mariadb-admin ping` (which
# succeeds even on "access denied"): the tests need the user to work.
mariadb_ping_socket() {
	[[ "$(mariadb --no-defaults --protocol=socket --socket="$M_SOCK" \
		--user="$DB_USER" --password="$DB_PASSWORD" --connect-timeout=2 \
		-N -B -e 'SELECT 1' 2>/dev/null)" == 1 ]]
}
mariadb_ping_tcp() {
	[[ "$(mariadb --no-defaults --protocol=tcp --host=$HOST \
		--port="$MYSQL_PORT" --user="$DB_USER" --password="$DB_PASSWORD" \
		--connect-timeout=2 -N -B -e 'SELECT 1' 2>/dev/null)" == 1 ]]
}
# As root over the socket: answers as soon as the server is up, before our
# user exists.
mariadb_ping_root() {
	mariadb-admin --no-defaults --protocol=socket --socket="$M_SOCK" \
		--user=root --connect-timeout=2 ping >/dev/null 2>&1
}
redis_ping_socket() {
	[[ "$(redis-cli -s "$R_SOCK" ping 2>/dev/null)" == PONG ]]
}
redis_ping_tcp() {
	[[ "$(redis-cli -h $HOST -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

# wait_for NAME PIDFN LOG CHECK...: poll until every CHECK succeeds, the
# server dies, or START_TIMEOUT passes; on failure show the log's tail.
wait_for() {
	local name=$1 pidfn=$2 log=$3 deadline check ok
	shift 3
	deadline=$((SECONDS + START_TIMEOUT))
	while :; do
		ok=1
		for check in "$@"; do
			"$check" || {
				ok=0
				break
			}
		done
		((ok)) && return 0
		if ! "$pidfn" >/dev/null; then
			printf 'servers: error: %s exited during start-up\n' "$name" >&2
			log_tail "$log"
			[[ "$name" != MariaDB ]] ||
				printf 'servers: if the datadir is damaged, remove %s and start again (a new one is made)\n' "$M_DIR" >&2
			exit 1
		fi
		if ((SECONDS >= deadline)); then
			printf 'servers: error: %s did not answer within %ss\n' \
				"$name" "$START_TIMEOUT" >&2
			log_tail "$log"
			exit 1
		fi
		sleep 0.1
	done
}

# ---------------------------------------------------------------- start ---

check_socket_path() {
	# sun_path holds 108 bytes including the NUL.
	((${#1} <= 107)) || die "socket path too long (${#1} > 107): $1; set PERFTAP_SERVERS_DIR to a shorter path"
}

check_port_free() {
	local port=$1 var=$2
	if port_busy "$port"; then
		die "127.0.0.1:$port is already in use by another process; set $var to a free port"
	fi
}

mariadb_args() {
	# --no-defaults must come first.  Small buffers and no binary log or
	# performance schema keep start-up fast and memory low on 2 cores.
	printf '%s\n' --no-defaults --user=root \
		--datadir="$M_DATA" --tmpdir="$M_DIR/tmp" \
		--socket="$M_SOCK" --port="$MYSQL_PORT" --bind-address=$HOST \
		--pid-file="$M_PID" --log-error="$M_LOG" \
		--skip-log-bin --performance-schema=OFF --skip-name-resolve \
		--innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
		--innodb-log-buffer-size=4M --innodb-flush-log-at-trx-commit=2 \
		--max-connections=200 --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_general_ci --local-infile=1 \
		--skip-external-locking --table-open-cache=400 \
		--innodb-buffer-pool-dump-at-shutdown=OFF \
		--innodb-buffer-pool-load-at-startup=OFF
}

setup_sql() {
	cat <<EOF
CREATE DATABASE IF NOT EXISTS $DB_NAME CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;
EOF
}

mariadb_init() {
	[[ -f "$M_READY" ]] && return 0
	# A half-made datadir (crash or failure during an earlier init) is
	# useless; start again from nothing.
	rm -rf "$M_DATA"
	mkdir -p "$M_DATA" "$M_DIR/tmp"
	say "initialising MariaDB datadir $M_DATA"
	# install-db runs the server in bootstrap mode; it takes --no-defaults
	# first, its own options, then passes the rest to mariadbd.
	if ! mariadb-install-db --no-defaults --user=root \
		--datadir="$M_DATA" --auth-root-authentication-method=normal \
		--skip-test-db --skip-name-resolve \
		--innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
		--skip-log-bin --performance-schema=OFF \
		--character-set-server=utf8mb4 \
		--collation-server=utf8mb4_general_ci \
		>"$M_INIT_LOG" 2>&1; then
		printf 'servers: error: mariadb-install-db failed\n' >&2
		# Its log ends in a page of generic advice; the cause is above.
		grep -i -m 10 'error' "$M_INIT_LOG" | sed 's/^/    /' >&2 || true
		printf 'servers: full log: %s\n' "$M_INIT_LOG" >&2
		exit 1
	fi
	: >"$M_READY"
}

mariadb_start() {
	local pid
	if pid=$(mariadb_pid) && mariadb_ping_socket; then
		say "MariaDB already running (pid $pid)"
		return 0
	fi
	if [[ -n "${pid:-}" ]]; then
		# Ours but not answering: stuck; replace it.
		say "MariaDB pid $pid does not answer; restarting it"
		stop_pid MariaDB "$pid" "$M_PID"
	fi
	# Stale leftovers of a crashed run (the pid, if any, is not ours).
	rm -f "$M_PID" "$M_SOCK" "$M_SOCK.lock"
	check_socket_path "$M_SOCK"
	check_port_free "$MYSQL_PORT" PERFTAP_MYSQL_PORT
	mariadb_init
	mkdir -p "$M_DIR/tmp"
	local args
	mapfile -t args < <(mariadb_args)
		echo "=== servers.sh start $(date '+%F %T')" >>"$M_LOG"
	# setsid: the server must outlive this shell's process group (CI
	# runners and job control kill a group at the end of a step).  In a
	# non-interactive shell the background job is not a group leader, so
	# setsid execs in place and $! is mariadbd's own pid.
	(cd "$M_DATA" && exec setsid "$MARIADBD_BIN" "${args[@]}" </dev/null 9>&- \
		>>"$M_LOG" 2>&1) &
	pid=$!
	echo "$pid" >"$M_PID"
	wait_for MariaDB mariadb_pid "$M_LOG" mariadb_ping_root
	# Idempotent: repairs a datadir made by an older version of this script.
	setup_sql | mariadb --no-defaults --protocol=socket --socket="$M_SOCK" \
		--user=root 2>>"$M_LOG" ||
		{
			printf 'servers: error: creating %s and user %s failed\n' \
				"$DB_NAME" "$DB_USER" >&2
			log_tail "$M_LOG"
			exit 1
		}
	wait_for MariaDB mariadb_pid "$M_LOG" mariadb_ping_socket mariadb_ping_tcp
	say "MariaDB started (pid $pid, 127.0.0.1:$MYSQL_PORT, $M_SOCK)"
}

redis_conf() {
	cat <<EOF
# Written by scripts/servers.sh; regenerated at every start.
bind $HOST
port $REDIS_PORT
protected-mode yes
unixsocket $R_SOCK
unixsocketperm 700
daemonize yes
pidfile $R_PID
logfile $R_LOG
loglevel notice
dir $R_DIR
save ""
appendonly no
databases 16
maxclients 1000
EOF
}

redis_start() {
	local pid
	if pid=$(redis_pid) && redis_ping_socket; then
		say "Redis already running (pid $pid)"
		return 0
	fi
	if [[ -n "${pid:-}" ]]; then
		say "Redis pid $pid does not answer; restarting it"
		stop_pid Redis "$pid" "$R_PID"
	fi
	rm -f "$R_PID" "$R_SOCK"
	check_socket_path "$R_SOCK"
	check_port_free "$REDIS_PORT" PERFTAP_REDIS_PORT
	mkdir -p "$R_DIR"
	redis_conf >"$R_CONF"
	echo "=== servers.sh start $(date '+%F %T')" >>"$R_LOG"
	# daemonize yes: redis-server forks, writes its pid file and returns.
	if ! (cd "$R_DIR" && setsid "$REDIS_BIN" "$R_CONF" </dev/null 9>&- \
		>>"$R_LOG" 2>&1); then
		printf 'servers: error: redis-server failed to start\n' >&2
		log_tail "$R_LOG"
		exit 1
	fi
	local deadline=$((SECONDS + 10))
	until [[ -s "$R_PID" ]]; do
		if ((SECONDS >= deadline)); then
			printf 'servers: error: Redis wrote no pid file\n' >&2
			log_tail "$R_LOG"
			exit 1
		fi
		sleep 0.05
	done
	wait_for Redis redis_pid "$R_LOG" redis_ping_socket redis_ping_tcp
	say "Redis started (pid $(redis_pid), 127.0.0.1:$REDIS_PORT, $R_SOCK)"
}

write_env() {
	local tmp=$ENV_FILE.tmp
	cat >"$tmp" <<EOF
# Written by scripts/servers.sh start; sourced by tests (shell and Python).
PERFTAP_SERVERS_DIR=$DIR
PERFTAP_MYSQL_HOST=$HOST
PERFTAP_MYSQL_PORT=$MYSQL_PORT
PERFTAP_MYSQL_SOCKET=$M_SOCK
PERFTAP_MYSQL_USER=$DB_USER
PERFTAP_MYSQL_PASSWORD=$DB_PASSWORD
PERFTAP_MYSQL_DB=$DB_NAME
PERFTAP_REDIS_HOST=$HOST
PERFTAP_REDIS_PORT=$REDIS_PORT
PERFTAP_REDIS_SOCKET=$R_SOCK
EOF
	mv -f "$tmp" "$ENV_FILE"
}

# ----------------------------------------------------------------- stop ---

# stop_pid NAME PID PIDFILE: SIGTERM, wait, SIGKILL after STOP_TIMEOUT.
stop_pid() {
	local name=$1 pid=$2 pidfile=$3 deadline
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$((SECONDS + STOP_TIMEOUT))
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			say "$name pid $pid ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
			break
		fi
		sleep 0.1
	done
	rm -f "$pidfile"
}

mariadb_stop() {
	local pid
	if pid=$(mariadb_pid); then
		stop_pid MariaDB "$pid" "$M_PID"
		say "MariaDB stopped (pid $pid)"
	elif [[ -e "$M_PID" ]]; then
		say "MariaDB not running (removed stale pid file)"
	fi
	rm -f "$M_PID" "$M_SOCK" "$M_SOCK.lock"
}

redis_stop() {
	local pid
	if pid=$(redis_pid); then
		stop_pid Redis "$pid" "$R_PID"
		say "Redis stopped (pid $pid)"
	elif [[ -e "$R_PID" ]]; then
		say "Redis not running (removed stale pid file)"
	fi
	rm -f "$R_PID" "$R_SOCK"
}

# --------------------------------------------------------------- status ---

status() {
	local rc=0 pid where
	if pid=$(mariadb_pid); then
		where=""
		mariadb_ping_tcp && where+=" tcp 127.0.0.1:$MYSQL_PORT"
		mariadb_ping_socket && where+=" socket $M_SOCK"
		echo "mariadb: running (pid $pid) answers on:${where:- nothing}"
		[[ "$where" == *tcp*socket* ]] || rc=3
	else
		echo "mariadb: not running"
		rc=3
	fi
	if pid=$(redis_pid); then
		where=""
		redis_ping_tcp && where+=" tcp 127.0.0.1:$REDIS_PORT"
		redis_ping_socket && where+=" socket $R_SOCK"
		echo "redis: running (pid $pid) answers on:${where:- nothing}"
		[[ "$where" == *tcp*socket* ]] || rc=3
	else
		echo "redis: not running"
		rc=3
	fi
	return $rc
}

# ----------------------------------------------------------------- main ---

with_lock() {
	mkdir -p "$DIR"
	chmod 700 "$DIR"
	exec 9>"$DIR/lock"
	flock -w 120 9 || die "another servers.sh holds $DIR/lock"
	"$@"
}

# The ports the env file names win over the defaults, so that `stop` and
# `status` without the variables still find servers started with them.
if [[ -f "$ENV_FILE" && -z "${PERFTAP_MYSQL_PORT:-}${PERFTAP_REDIS_PORT:-}" && "${1:-}" != start ]]; then
	MYSQL_PORT=$(sed -n 's/^PERFTAP_MYSQL_PORT=//p' "$ENV_FILE")
	REDIS_PORT=$(sed -n 's/^PERFTAP_REDIS_PORT=//p' "$ENV_FILE")
	MYSQL_PORT=${MYSQL_PORT:-13306}
	REDIS_PORT=${REDIS_PORT:-16379}
fi

do_start() {
	[[ $(id -u) -eq 0 ]] || die "must run as root (mariadbd runs with --user=root)"
	command -v mariadbd >/dev/null || die "mariadbd not found: run scripts/install-deps.sh"
	command -v redis-server >/dev/null || die "redis-server not found: run scripts/install-deps.sh"
	mariadb_start
	redis_start
	write_env
	say "env file: $ENV_FILE"
}

do_stop() {
	# Both at once: each takes one to two seconds to shut down.
	redis_stop &
	mariadb_stop &
	wait
	rm -f "$ENV_FILE"
}

case "${1:-}" in
start) with_lock do_start ;;
stop)
	[[ -d "$DIR" ]] || {
		say "nothing to stop ($DIR does not exist)"
		exit 0
	}
	with_lock do_stop
	;;
status)
	status || exit 3
	;;
env)
	[[ -f "$ENV_FILE" ]] || die "servers not started: run scripts/servers.sh start"
	cat "$ENV_FILE"
	;;
*)
	echo "usage: $0 start|stop|status|env" >&2
	exit 2
	;;
esac
