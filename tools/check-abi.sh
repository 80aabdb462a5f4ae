#!/usr/bin/env bash
# Checks that the shared library's soname and its symbols carry the ABI
# version of include/goro/version.hpp: libgoro.so.<ABI>, and every exported
# goro symbol inside the inline namespace goro::abi_v<ABI>.
#
# usage: tools/check-abi.sh SOURCE_ROOT SHARED_LIBRARY
set -uo pipefail
root=$1 lib=$2
abi=$("$root/tools/version.sh" --abi) || exit 2
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
status=0
if [[ $soname != "libgoro.so.$abi" ]]; then
  echo "check-abi: soname is '$soname', want libgoro.so.$abi" >&2
  status=1
fi
outside=$(nm -D --defined-only -C "$lib" | awk '$2 ~ /^[TWVBDR]$/ {$1=$2=""; print substr($0, 3)}' |
          grep '^goro::' | grep -v "^goro::abi_v$abi::" | head -5)
if [[ -n $outside ]]; then
  echo "check-abi: exported goro symbols outside goro::abi_v$abi:" >&2
  echo "$outside" >&2
  status=1
fi
exit $status
