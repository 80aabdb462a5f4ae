#!/usr/bin/env bash
# Installs the Debian 12 (bookworm) packages needed to build goro, run its
# tests (g++ and clang++ with their sanitizer runtimes), the examples and the
# benchmarks (their Go twins need Go). Non-interactive; run as root, or as a
# user with sudo.
set -euo pipefail

# The list lives in tools/debian-packages.txt (one package a line), which
# .ci/run installs from too.
mapfile -t packages < <(grep -v '^#' "$(dirname "${BASH_SOURCE[0]}")/debian-packages.txt")

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps.sh: run as root (or install sudo)" >&2; exit 1; }
  sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
