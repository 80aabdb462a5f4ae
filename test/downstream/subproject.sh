#!/usr/bin/env bash
# Downstream check 1: goro used as a meson subproject.
#
# Usage: subproject.sh <goro-source-root> <b_sanitize> <compiler command...>
#
# Creates a temporary meson project from test/downstream/subproject/meson.build
# and test/downstream/main.cpp, links subprojects/goro to the goro source tree,
# configures it with the goro subproject forced (and goro's own tests, examples,
# benchmarks and docs off), builds goro from scratch with the given compiler and
# sanitizers, runs the program and checks what it prints.
set -euo pipefail

fail() { echo "downstream/subproject: FAIL: $*" >&2; exit 1; }

[[ $# -ge 3 ]] || fail "usage: $0 <goro-source-root> <b_sanitize> <compiler command...>"
src_root=$(cd "$1" && pwd) || fail "no goro source tree at '$1'"
sanitize=$2
shift 2
cxx=("$@")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
expected='goro downstream ok: sum=385 detached=100'

command -v meson >/dev/null || fail "meson not found in PATH"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/goro-downstream-subproject.XXXXXX") || fail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT

proj=$tmp/consumer
mkdir -p "$proj/subprojects"
cp "$here/subproject/meson.build" "$here/main.cpp" "$proj/" || fail "cannot copy the consumer project"
ln -s "$src_root" "$proj/subprojects/goro" || fail "cannot link subprojects/goro"

setup_args=(
  --buildtype=debugoptimized
  --force-fallback-for=goro
  -Dgoro:tests=false -Dgoro:examples=false -Dgoro:benchmarks=false -Dgoro:docs=false
)
if [[ -n $sanitize && $sanitize != none ]]; then
  setup_args+=("-Db_sanitize=$sanitize" -Db_lundef=false)
fi

echo "== consumer: CXX='${cxx[*]}' meson setup ${setup_args[*]}"
CXX="${cxx[*]}" meson setup "${setup_args[@]}" "$tmp/build" "$proj" \
  || { tail -n 40 "$tmp/build/meson-logs/meson-log.txt" >&2 || true; fail "meson setup of the consumer project failed"; }
echo "== consumer: meson compile"
meson compile -C "$tmp/build" -j "$(nproc)" || fail "building the consumer project (and goro as its subproject) failed"

echo "== consumer: run"
rc=0
out=$("$tmp/build/downstream") || rc=$?
[[ $rc -eq 0 ]] || fail "the consumer program exited with status $rc (output: $out)"
echo "$out"
[[ $out == "$expected" ]] || fail "expected output '$expected', got '$out'"
echo "downstream/subproject: OK"
