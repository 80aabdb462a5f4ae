#!/usr/bin/env bash
# Installs the Debian 12 (bookworm) packages needed to build goro, run its
# tests (g++ and clang++ with their sanitizer runtimes), the examples and the
# benchmarks (their Go twins need Go). Non-interactive; run as root, or as a
# user with sudo.
set -euo pipefail

packages=(
  g++                  # GCC 12: the primary compiler
  clang                # clang 14: the second compiler (TSan configuration)
  libclang-rt-14-dev   # clang 14's sanitizer runtimes (TSan, ASan, UBSan)
  meson
  ninja-build
  pkg-config           # pkgconf: finds fmt, checks the installed goro.pc
  liburing-dev         # the io_uring netpoller
  libfmt-dev
  catch2               # the test suite (Catch2 v2)
  golang-go            # the benchmarks' Go twins (tools/bench/go)
  git
  ca-certificates
)

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps.sh: run as root (or install sudo)" >&2; exit 1; }
  sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
