#!/bin/sh
# Prints the version written in include/goro/version.hpp (its only home), or
# with --abi the ABI version (the shared library's soname).
cd "$(dirname "$0")/.." || exit 1
v() { sed -n "s/^#define GORO_$1 \([0-9]*\)$/\1/p" include/goro/version.hpp; }
if [ "${1-}" = --abi ]; then
  v ABI_VERSION
else
  echo "$(v VERSION_MAJOR).$(v VERSION_MINOR).$(v VERSION_PATCH)"
fi
