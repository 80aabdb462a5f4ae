#!/bin/sh
# Usage: compile_check.sh <source> <case> <expected> -- <compiler command...>
#   Compiles <source> with -DGORO_REJECT_CASE=<case> -fsyntax-only. <expected>
#   is "ok" (the compiler must succeed) or a text the compiler must fail with
#   (a static_assert's message).
set -u
src=$1 case=$2 expected=$3
shift 3
[ "$1" = "--" ] && shift
out=$("$@" -fsyntax-only -DGORO_REJECT_CASE="$case" "$src" 2>&1)
status=$?
if [ "$expected" = ok ]; then
  if [ $status -ne 0 ]; then
    printf '%s\n' "$out"
    echo "FAIL: case $case should compile"
    exit 1
  fi
  echo "ok: case $case compiles"
  exit 0
fi
if [ $status -eq 0 ]; then
  echo "FAIL: case $case compiled; it must fail with: $expected"
  exit 1
fi
if ! printf '%s\n' "$out" | grep -qF -- "$expected"; then
  printf '%s\n' "$out"
  echo "FAIL: case $case failed to compile, but not with: $expected"
  exit 1
fi
echo "ok: case $case fails with: $expected"
