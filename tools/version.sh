#!/bin/sh
# Prints the version written in include/goro/version.hpp (its only home).
cd "$(dirname "$0")/.." || exit 1
v() { sed -n "s/^#define GORO_VERSION_$1 \([0-9]*\)$/\1/p" include/goro/version.hpp; }
echo "$(v MAJOR).$(v MINOR).$(v PATCH)"
