#!/usr/bin/env bash
# install-deps.sh -- install the Debian packages perftap needs, and only those
# that are missing.
#
# Idempotent: a second run installs nothing and says so.  Must run as root
# (CI and the development machines are root).  Package installs must never
# start the distribution's own MariaDB or Redis service: the tests run
# private instances (scripts/servers.sh), so a policy-rc.d forbids service
# starts for the duration of the install.
set -euo pipefail

# nm and objdump (the shim's symbol tests) come from the per-architecture
# binutils package; `binutils` pulls it in, named here so that the test
# that looks for the tools' package finds it listed.
case "$(uname -m)" in
x86_64) BINUTILS_TOOLS=binutils-x86-64-linux-gnu ;;
aarch64) BINUTILS_TOOLS=binutils-aarch64-linux-gnu ;;
*) BINUTILS_TOOLS=binutils ;;
esac

# Build and unit-test needs.
BUILD_PKGS=(gcc make pkg-config libc6-dev
	libmariadb-dev libhiredis-dev libcjson-dev libunwind-dev libcriterion-dev
	libsqlite3-dev libdw-dev libelf-dev libncurses-dev python3-dev
	clang libclang-rt-14-dev clang-format libxml2-utils curl procps openssl
	binutils "$BINUTILS_TOOLS")
# Real servers, real clients and the cross-checking tools the integration
# tests drive (pt-fingerprint, sysbench, chromium, tmux, sqlite3; austin is
# built from Debian 13's source by scripts/build-austin.sh, with curl).
SERVER_PKGS=(mariadb-server mariadb-client redis-server redis-tools
	percona-toolkit sysbench chromium tmux sqlite3 gdb)
PYTHON_PKGS=(python3 python3-redis python3-pymysql python3-mysqldb
	python3-fastapi python3-uvicorn python3-httpx python3-locust
	python3-uvloop python3-httptools python3-pytest python3-flask gunicorn
	python3-aiomysql)
# Only `make bench` needs these; install them with `install-deps.sh --bench`.
BENCH_PKGS=(wrk valgrind hyperfine)

want=("${BUILD_PKGS[@]}" "${SERVER_PKGS[@]}" "${PYTHON_PKGS[@]}")
if [[ "${1:-}" == "--bench" ]]; then
	want+=("${BENCH_PKGS[@]}")
fi

missing=()
for pkg in "${want[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
	echo "install-deps: all ${#want[@]} packages present"
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run as root to install them" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"

# Keep apt from starting the packaged services (exit 101 = "action forbidden").
policy=/usr/sbin/policy-rc.d
restore_policy=""
if [[ ! -e "$policy" ]]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	restore_policy="rm -f $policy"
fi
trap '$restore_policy' EXIT

export DEBIAN_FRONTEND=noninteractive
# An old or empty package list makes apt-get install fail to find packages.
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
