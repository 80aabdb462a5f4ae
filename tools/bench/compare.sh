#!/usr/bin/env bash
# Runs each goro benchmark next to its Go twin and prints the medians and ratios.
#
# usage: tools/bench/compare.sh [-k RUNS] [BENCHMARK...]
#
#   BENCHMARK   spawn, yield_ping, park_mem, chan_pingpong_p1, chan_pingpong_p2,
#               chan_mpmc_buffered, chan_mpmc_unbuffered, select, mutex,
#               timers_wall, timers_late_mean, timers_late_max, select_after,
#               file_rw, wake_latency, skynet, ring, sieve (default: all).
#               The _p1/_p2 entries run one program at a fixed P count
#               (wake_latency always at 2); the timers_* entries read one
#               figure each of the timers program; a program's name
#               (chan_pingpong, timers) stands for all its entries.
#   -k RUNS     runs per side and benchmark (default 5, or $BENCH_RUNS)
#
# Environment:
#   BENCH_RUNS     runs per side (as -k)
#   BENCH_PROCS    P count for both sides: sets GORO_MAXPROCS and GOMAXPROCS
#                  (default: nproc, the CPUs this process may run on); the
#                  entries with a fixed P count ignore it
#   BENCH_BUILD    build directory (default: build-bench at the top of the repo)
#   BENCH_TIMEOUT  seconds one run may take before it counts as hung (default 300)
#
# Steps: (1) configure and build a release tree of goro in $BENCH_BUILD,
# (2) build the Go twins under tools/bench/go into the same tree, (3) run each
# pair alternately, goro then Go, RUNS times, (4) print each side's median and
# the ratio against the benchmark's bar. Every benchmark program prints
# lines "<name> <metric> <value>" and nothing else: exactly one, or, for a
# program with several entries (timers), one per metric, of which each entry
# reads its own (${metric_of[entry]}).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}
runs=${BENCH_RUNS:-5}
procs=${BENCH_PROCS:-$(nproc)}
timeout_s=${BENCH_TIMEOUT:-300}

while getopts 'k:h' opt; do
    case $opt in
    k) runs=$OPTARG ;;
    h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [-k RUNS] [BENCHMARK...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
# Every benchmark entry, in the order they run by default.
all=(spawn yield_ping park_mem chan_pingpong_p1 chan_pingpong_p2 chan_mpmc_buffered chan_mpmc_unbuffered select mutex
    timers_wall timers_late_mean timers_late_max select_after file_rw wake_latency skynet ring sieve)
benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=("${all[@]}")

for v in "$runs" "$procs" "$timeout_s"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: not a positive integer: '$v'" >&2; exit 2; }
done

# The bars, as docs/performance.md states them (its table "Bars": change both
# together), and how each figure is compared with Go's.
#   time:  speedup = Go / goro, higher is better; bar is a minimum speedup
#   bytes: ratio = goro / Go, lower is better; bar is a maximum ratio
#   limit: goro's own figure, lower is better; bar is a maximum of it (Go's
#          figure is printed beside it)
declare -A kind=([spawn]=time [yield_ping]=time [park_mem]=bytes
    [chan_pingpong_p1]=time [chan_pingpong_p2]=time [chan_mpmc_buffered]=time [chan_mpmc_unbuffered]=time [select]=time
    [mutex]=time [timers_wall]=time [timers_late_mean]=limit [timers_late_max]=limit [select_after]=limit [file_rw]=time [wake_latency]=time
    [skynet]=time [ring]=time [sieve]=time)
declare -A bar=([spawn]=5 [park_mem]=0.1
    [chan_pingpong_p1]=2 [chan_pingpong_p2]=2 [chan_mpmc_buffered]=2.5 [chan_mpmc_unbuffered]=2 [select]=2
    [mutex]=2.5 [timers_wall]=1 [timers_late_mean]=1000 [select_after]=20 [skynet]=10 [ring]=10 [sieve]=5)
# An entry runs the programs bench_<program> and go/<program>, where program
# is ${program[entry]}, or the entry's own name. An entry in fixed_procs runs
# at that P count on both sides instead of $procs.
declare -A program=([chan_pingpong_p1]=chan_pingpong [chan_pingpong_p2]=chan_pingpong
    [timers_wall]=timers [timers_late_mean]=timers [timers_late_max]=timers)
declare -A fixed_procs=([chan_pingpong_p1]=1 [chan_pingpong_p2]=2 [wake_latency]=2)
# An entry in metric_of reads that metric's line of its program's output.
declare -A metric_of=([timers_wall]=wall_ms [timers_late_mean]=late_mean_us [timers_late_max]=late_max_us)
entries=()
for b in "${benches[@]}"; do
    if [ -n "${kind[$b]:-}" ]; then
        entries+=("$b")
        continue
    fi
    found=0
    for e in "${all[@]}"; do # a program's name: all of its entries
        if [ "${program[$e]:-}" = "$b" ]; then entries+=("$e"); found=1; fi
    done
    [ $found = 1 ] || { echo "compare.sh: unknown benchmark '$b' (${all[*]})" >&2; exit 2; }
done
benches=("${entries[@]}")

# --- 1. goro, release build ---------------------------------------------------
echo "== building goro (release) in $build" >&2
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" --buildtype=release -Dtests=false -Dexamples=false -Dbenchmarks=true >&2
else # an existing tree: make sure it still is a release build with the benchmarks on
    meson configure "$build" -Dbuildtype=release -Dbenchmarks=true >&2
fi
ninja -C "$build" >&2

# --- 2. the Go twins ----------------------------------------------------------
echo "== building the Go twins" >&2
gobin=$build/tools/bench/go
mkdir -p "$gobin"
if [ -z "${GOCACHE:-}" ]; then
    cache=$(go env GOCACHE 2>/dev/null || true)
    if [ -z "$cache" ] || [ "$cache" = off ] || ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
        export GOCACHE=$build/go-cache # HOME unset or unwritable
    fi
fi
(cd "$root/tools/bench/go" && go build -o "$gobin/" ./...) >&2
go_version=$(go env GOVERSION)

# --- 3. run the pairs alternately -------------------------------------------
export GORO_MAXPROCS=$procs GOMAXPROCS=$procs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run SIDE NAME BINARY PROCS: runs the benchmark entry NAME once with PROCS
# Ps, appends its value to $tmp/NAME.SIDE and remembers its metric; exits the
# script on any failure.
run() {
    local side=$1 name=$2 bin=$3 p=$4 out line status=0 want=${metric_of[$2]:-}
    out=$(GORO_MAXPROCS=$p GOMAXPROCS=$p timeout "$timeout_s" "$bin" 2>"$tmp/stderr") || status=$?
    if [ "$status" -eq 0 ] && [ -n "$want" ]; then
        # Every line must have the format; the entry reads its metric's.
        line=
        while IFS= read -r l; do
            [[ $l =~ ^${program[$name]:-$name}\ [a-z_]+\ -?[0-9]+(\.[0-9]+)?$ ]] || { line=; break; }
            [[ $l == "${program[$name]:-$name} $want "* ]] && line=$l
        done <<<"$out"
        out=$line
    fi
    if [ "$status" -ne 0 ] || ! [[ $out =~ ^${program[$name]:-$name}\ ([a-z_]+)\ (-?[0-9]+(\.[0-9]+)?)$ ]]; then
        echo "compare.sh: $side $name failed (exit status $status; 124 = timed out after ${timeout_s}s)" >&2
        echo "  stdout: $out" >&2
        sed 's/^/  stderr: /' "$tmp/stderr" >&2
        exit 1
    fi
    echo "${BASH_REMATCH[1]}" >"$tmp/$name.metric"
    echo "${BASH_REMATCH[2]}" >>"$tmp/$name.$side"
}

# median FILE: the median of the numbers in FILE, one per line.
median() {
    sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

for b in "${benches[@]}"; do
    echo "== running $b: $runs x (goro, Go)" >&2
    prog=${program[$b]:-$b}
    for ((i = 1; i <= runs; i++)); do
        run goro "$b" "$build/tools/bench/bench_$prog" "${fixed_procs[$b]:-$procs}"
        run go "$b" "$gobin/$prog" "${fixed_procs[$b]:-$procs}"
    done
done

# --- 4. report ----------------------------------------------------------------
echo "goro $("$root/tools/version.sh") vs $go_version on $(nproc) CPUs, GORO_MAXPROCS=GOMAXPROCS=$procs, median of $runs runs per side"
for b in "${benches[@]}"; do
    metric=$(cat "$tmp/$b.metric")
    g=$(median "$tmp/$b.goro")
    o=$(median "$tmp/$b.go")
    echo
    echo "$b ($metric${fixed_procs[$b]:+, GORO_MAXPROCS=GOMAXPROCS=${fixed_procs[$b]}})"
    echo "  goro: $g   runs: $(paste -sd' ' "$tmp/$b.goro")"
    echo "  Go:   $o   runs: $(paste -sd' ' "$tmp/$b.go")"
    if [ "${kind[$b]}" = limit ]; then
        awk -v g="$g" -v bar="${bar[$b]:-}" 'BEGIN {
            if (bar == "") print "  bar: none (informational)"
            else printf "  bar: goro ≤ %g: %s\n", bar, (g <= bar ? "met" : "NOT met")
        }'
    elif [ "${kind[$b]}" = time ]; then
        awk -v g="$g" -v o="$o" -v bar="${bar[$b]:-}" 'BEGIN {
            if (g <= 0) { print "  speedup goro vs Go: n/a (goro figure is 0)"; exit }
            r = o / g
            printf "  speedup goro vs Go = Go_ns/goro_ns = %.2f×\n", r
            if (bar == "") print "  bar: none (informational)"
            else printf "  bar: ≥ %g× faster: %s\n", bar, (r >= bar ? "met" : "NOT met")
        }'
    else
        awk -v g="$g" -v o="$o" -v bar="${bar[$b]}" 'BEGIN {
            if (o <= 0 || g <= 0) { print "  goro/Go bytes: n/a (a figure is not positive)"; exit }
            r = g / o
            printf "  goro/Go bytes = %.3f (Go uses %.1f× as much)\n", r, o / g
            printf "  bar: ≤ %g of Go'"'"'s: %s\n", bar, (r <= bar ? "met" : "NOT met")
        }'
    fi
done
