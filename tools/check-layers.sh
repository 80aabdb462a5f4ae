#!/usr/bin/env bash
# Checks that lib/'s layers only point down (docs/design.md, "Layers"):
#
#   base     fatal errors, barriers, cpu_relax, the clock, the locks
#   netpoll  the backend probe, the per-P pollers        (may include base)
#   sched    goroutines, Ps, run queues, parking         (base, netpoll)
#   chan     channels and select                         (base, sched/park.hpp, sched/timer.hpp)
#   sync     the sync primitives                         (base, sched/park.hpp)
#   blocking the pool of threads for goro::blocking      (base, sched/park.hpp)
#   time     sleep, timer, ticker                        (base, sched/park.hpp, sched/timer.hpp)
#   fs       files: goro::fs                             (base, sched/io.hpp,
#                                                         sched/park.hpp, blocking)
#   context  context, group                              (base, sched/park.hpp, sched/timer.hpp)
#   rt       run, runtime, join: the entry points        (anything below)
#
# chan, sync, blocking, time and context reach the scheduler only through
# sched/park.hpp (chan, time and context also through sched/timer.hpp, fs
# through sched/io.hpp, the I/O interface), and no layer below rt includes
# the public entry-point headers (goro.hpp, runtime.hpp, go.hpp). Prints
# every include that breaks a rule; exits 1 if any does.
#
# usage: tools/check-layers.sh [SOURCE_ROOT]
set -uo pipefail
root=${1:-$(dirname "${BASH_SOURCE[0]}")/..}
cd "$root/lib" || exit 2

# allowed[layer]: an extended regex that a quoted include of that layer must match.
declare -A allowed=(
  [base]='^base/'
  [netpoll]='^(base|netpoll)/'
  [sched]='^(base|netpoll|sched)/'
  [chan]='^(base/|sched/(park|timer)\.hpp$|chan/)'
  [sync]='^(base/|sched/park\.hpp$|sync/)'
  [blocking]='^(base/|sched/park\.hpp$|blocking/)'
  [time]='^(base/|sched/(park|timer)\.hpp$|time/)'
  [fs]='^(base/|sched/io\.hpp$|sched/park\.hpp$|blocking/|fs/)'
  [context]='^(base/|sched/(park|timer)\.hpp$|context/)'
)
entry_points='^goro/(goro|runtime|go)\.hpp$'

status=0
for layer in base netpoll sched chan sync blocking time fs context rt; do
  [[ -d $layer ]] || { echo "check-layers: lib/$layer is missing" >&2; status=1; continue; }
  while IFS= read -r line; do
    file=${line%%:*}
    rest=${line#*:}
    rest=${rest#*:}
    if [[ $rest =~ \#include\ \"([^\"]+)\" ]]; then
      inc=${BASH_REMATCH[1]}
      if [[ $layer != rt && ! $inc =~ ${allowed[$layer]} ]]; then
        echo "lib/$file: layer '$layer' includes \"$inc\"" >&2
        status=1
      fi
    elif [[ $rest =~ \#include\ \<([^\>]+)\> ]]; then
      inc=${BASH_REMATCH[1]}
      if [[ $layer != rt && $inc =~ $entry_points ]]; then
        echo "lib/$file: layer '$layer' includes the entry-point header <$inc>" >&2
        status=1
      fi
    fi
  done < <(grep -Hn '^[[:space:]]*#[[:space:]]*include' "$layer"/*.hpp "$layer"/*.cpp 2>/dev/null)
done
for dir in */; do
  dir=${dir%/}
  case $dir in base | netpoll | sched | chan | sync | blocking | time | fs | context | rt) ;; *) echo "lib/$dir: not a known layer (add it to tools/check-layers.sh and docs/design.md)" >&2; status=1 ;; esac
done
exit $status
