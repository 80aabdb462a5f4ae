#!/usr/bin/env bash
# Builds goro and runs its test suite in the configurations CI requires:
#
#   asan     g++, debug, -Db_sanitize=address,undefined
#   asan-o2  g++, -O2 (debugoptimized), -Db_sanitize=address,undefined: the
#            optimizer and the sanitizers together change what g++ makes of
#            coroutines (it stops turning symmetric transfer into tail calls)
#   release  g++, release
#   tsan     clang++, debugoptimized, -Db_sanitize=thread, and a 4-entry SQ
#            per ring (-Dnetpoll_sq_entries=4) so the SQ-full and CQ-overflow
#            paths run
#
# Each configuration runs the suite on the backend the probe picks (io_uring
# where the kernel allows it), then again with GORO_NETPOLL=epoll, all but the
# suites that do not depend on the backend (lint, headers, downstream) and
# netpoll (whose tests pick their backend themselves). asan-o2 runs the first
# pass only.
#
# Usage: tools/test.sh [asan|asan-o2|release|tsan ...] [-- <meson test arguments>]
#   With no configuration named, all four run, in that order. Every named
#   configuration runs even if an earlier one fails; the exit status is non-zero
#   if any failed. Arguments after `--` go to `meson test` (e.g. `--suite sched`).
#   The 'downstream' suite (slow: it builds goro again as a subproject) runs in
#   the release configuration only. asan-o2 does not build the benchmarks
#   (asan builds them; no configuration runs them).
#
# Environment:
#   GORO_BUILD_PREFIX  build directories are <prefix><config> (default: build-)
#   GORO_JOBS          parallel compile jobs (default: nproc)
#   GORO_WIPE=1        wipe existing build directories instead of reconfiguring
set -uo pipefail

script=$(realpath "${BASH_SOURCE[0]}")
cd "$(dirname "$script")/.." || exit 1
root=$(pwd)

prefix=${GORO_BUILD_PREFIX:-build-}
jobs=${GORO_JOBS:-$(nproc 2>/dev/null || echo 2)}

configs=()
test_args=()
while [[ $# -gt 0 ]]; do
  case $1 in
    asan | asan-o2 | release | tsan) configs+=("$1") ;;
    --) shift; test_args=("$@"); break ;;
    -h | --help) sed -n '2,/^set -/p' "$script" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "tools/test.sh: unknown configuration '$1' (expected asan, asan-o2, release or tsan)" >&2; exit 2 ;;
  esac
  shift
done
[[ ${#configs[@]} -gt 0 ]] || configs=(asan asan-o2 release tsan)

banner() {
  printf '\n%s\n== %s\n%s\n' "$(printf '=%.0s' {1..78})" "$*" "$(printf '=%.0s' {1..78})"
}

# Runs the whole cycle for one configuration; returns non-zero on any failure.
run_config() {
  local name=$1 cxx setup_args=() test_env=() wrap=() dir=$prefix$1
  local -a extra_test_args=()
  case $name in
    asan)
      cxx=g++
      setup_args=(-Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false)
      test_env=(ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)
      extra_test_args=(--no-suite downstream)
      ;;
    asan-o2)
      cxx=g++
      setup_args=(-Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
                  -Dbenchmarks=false)
      test_env=(ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)
      extra_test_args=(--no-suite downstream)
      ;;
    release)
      cxx=g++
      setup_args=(-Dbuildtype=release)
      ;;
    tsan)
      cxx=clang++
      setup_args=(-Dbuildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false -Dnetpoll_sq_entries=4)
      test_env=(TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1)
      extra_test_args=(--no-suite downstream)
      # clang 14's TSan cannot map its shadow memory when the kernel randomizes
      # mmap with more than 28 bits (newer kernels default to 32): run without
      # ASLR there.
      local bits
      bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)
      if [[ $bits -gt 28 ]] && setarch "$(uname -m)" -R true 2>/dev/null; then
        wrap=(setarch "$(uname -m)" -R)
      fi
      ;;
  esac

  banner "$name: CXX=$cxx meson setup $dir ${setup_args[*]}"
  # tools/test.sh owns its build directories: it notes the compiler it set one
  # up with, and starts afresh when that differs (meson cannot change the
  # compiler of a build directory) or when asked to (GORO_WIPE=1).
  local stamp=$dir/goro-test-config
  if [[ -e $dir && ! -f $dir/meson-private/coredata.dat && -n "$(ls -A "$dir" 2>/dev/null)" ]]; then
    echo "== $name: $dir exists and is not a meson build directory; not touching it" >&2
    return 1
  fi
  if [[ ${GORO_WIPE:-0} == 1 || ! -f $dir/meson-private/coredata.dat ||
        "$(cat "$stamp" 2>/dev/null)" != "$cxx" ]]; then
    rm -rf "$dir"
    CXX=$cxx meson setup "$dir" "${setup_args[@]}" || return 1
  elif ! meson setup --reconfigure "$dir" "${setup_args[@]}"; then
    echo "== $name: reconfiguring $dir failed; starting afresh" >&2
    rm -rf "$dir"
    CXX=$cxx meson setup "$dir" "${setup_args[@]}" || return 1
  fi
  echo "$cxx" >"$stamp"

  banner "$name: meson compile -C $dir -j $jobs"
  meson compile -C "$dir" -j "$jobs" || return 1

  banner "$name: meson test -C $dir ${extra_test_args[*]} ${test_args[*]}"
  env "${test_env[@]}" "${wrap[@]}" meson test -C "$dir" --no-rebuild --print-errorlogs \
    "${extra_test_args[@]}" "${test_args[@]}" || return 1
  [[ $name == asan-o2 ]] && return 0

  local epoll_args=(--no-suite lint --no-suite headers --no-suite downstream --no-suite netpoll)
  banner "$name: GORO_NETPOLL=epoll meson test -C $dir ${epoll_args[*]} ${test_args[*]}"
  env "${test_env[@]}" GORO_NETPOLL=epoll "${wrap[@]}" meson test -C "$dir" --no-rebuild --print-errorlogs \
    "${epoll_args[@]}" "${test_args[@]}" || return 1
}

declare -A result
status=0
for c in "${configs[@]}"; do
  start=$SECONDS
  if run_config "$c"; then
    result[$c]="passed"
  else
    result[$c]="FAILED"
    status=1
  fi
  result[$c]+=" ($((SECONDS - start)) s)"
done

banner "summary"
for c in "${configs[@]}"; do
  printf '  %-8s %s\n' "$c" "${result[$c]}"
done
exit $status
