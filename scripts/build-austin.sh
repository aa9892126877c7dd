#!/usr/bin/env bash
# build-austin.sh -- build the austin frame sampler that test_stacks_austin.py
# cross-checks perftap's Python call sites against.
#
# Debian 12 packages austin 1.0.1, which predates CPython 3.11's frame
# layout and samples nothing from the interpreter the tests run.  Austin
# 3.7.0 (Debian 13's package) reads 3.11 and 3.12; its source is plain C
# with no dependency beyond libc and pthreads, so it is built here from the
# Debian archive's own orig tarball, checked against the checksum Debian
# published, into $PERFTAP_BUILD/tools/austin.  A second run does nothing.
#
# Exit status: 0 built (or already built), 1 download, checksum or build
# failed (said on stderr).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case "${PERFTAP_BUILD:-build}" in
/*) BUILD=${PERFTAP_BUILD} ;;
*) BUILD=$REPO/${PERFTAP_BUILD:-build} ;;
esac

VERSION=3.7.0
URL=http://deb.debian.org/debian/pool/main/a/austin/austin_${VERSION}.orig.tar.gz
SHA256=225968a4302529b62d212db07fa692446a6df58049f2f444011ef4866604339e
OUT=$BUILD/tools/austin

if [[ -x "$OUT" ]] && "$OUT" --version 2>/dev/null | grep -q "$VERSION"; then
	exit 0
fi

work=$(mktemp -d /tmp/perftap-austin.XXXXXX)
trap 'rm -rf "$work"' EXIT

if ! curl -sSfL --retry 3 -o "$work/austin.tar.gz" "$URL"; then
	echo "build-austin: cannot download $URL" >&2
	exit 1
fi
if ! echo "$SHA256  $work/austin.tar.gz" | sha256sum -c --quiet -; then
	echo "build-austin: checksum mismatch for $URL" >&2
	exit 1
fi
tar -xzf "$work/austin.tar.gz" -C "$work"
src=$(find "$work" -maxdepth 2 -type d -name src | head -1)
mkdir -p "$(dirname "$OUT")"
# The sources of src/ make the austin binary (the platform code is in
# headers under src/linux/); -w: their warnings are not ours to fix.
if ! gcc -O2 -w -pthread -o "$OUT.tmp" "$src"/*.c 2>"$work/cc.log"; then
	echo "build-austin: build failed:" >&2
	tail -5 "$work/cc.log" >&2
	exit 1
fi
mv "$OUT.tmp" "$OUT"
echo "build-austin: built $OUT ($("$OUT" --version 2>&1 | head -1))"
