#!/usr/bin/env bash
# Downstream check 2: a program built against the installed library through
# pkg-config.
#
# Usage: pkgconfig.sh <meson-command> <build-root> <b_sanitize> <compiler command...>
#
# Installs the already built goro from <build-root> into a temporary DESTDIR
# (--no-rebuild: test/downstream/meson.build makes the libraries dependencies
# of this test, so meson test has built them),
# points pkg-config at the goro.pc found there (its prefix redefined to the
# DESTDIR copy), compiles test/downstream/main.cpp with the same compiler and
# sanitizers as the build, once against the shared library and once against
# the static one (if installed), runs both and checks what they print.
set -euo pipefail

fail() { echo "downstream/pkgconfig: FAIL: $*" >&2; exit 1; }

[[ $# -ge 4 ]] || fail "usage: $0 <meson-command> <build-root> <b_sanitize> <compiler command...>"
meson_cmd=$1
build_root=$2
sanitize=$3
shift 3
cxx=("$@")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
expected='goro downstream ok: sum=385 detached=100'

pkg_config=$(command -v pkg-config || command -v pkgconf || true)
if [[ -z $pkg_config ]]; then
  echo "downstream/pkgconfig: SKIP: neither pkg-config nor pkgconf is installed" >&2
  exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/goro-downstream-pkgconfig.XXXXXX") || fail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

echo "== meson install -C $build_root --no-rebuild --destdir $dest"
"$meson_cmd" install -C "$build_root" --no-rebuild --destdir "$dest" --quiet \
  || fail "meson install into a DESTDIR failed"

mapfile -t pcs < <(find "$dest" -path '*/pkgconfig/goro.pc')
[[ ${#pcs[@]} -eq 1 ]] || fail "expected one installed goro.pc under $dest, found ${#pcs[@]}: ${pcs[*]:-}"
pc=${pcs[0]}
echo "== installed $pc:"
cat "$pc"

# goro.pc says prefix=<the configured prefix>; every path in it is relative to
# ${prefix}, so redefining prefix points it at the DESTDIR copy. (pkgconf's
# --define-prefix guesses the prefix from the .pc location and gets it wrong
# for Debian's multiarch libdir, lib/<triplet>/pkgconfig.)
export PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
prefix=$("$pkg_config" --variable=prefix goro) || fail "pkg-config cannot read goro.pc"
[[ $prefix == /* ]] || fail "goro.pc has a relative prefix '$prefix'"
pc_args=(--define-variable=prefix="$dest$prefix")
libdir=$("$pkg_config" "${pc_args[@]}" --variable=libdir goro) || fail "pkg-config --variable=libdir failed"
[[ -d $libdir ]] || fail "libdir from goro.pc ($libdir) is not in the DESTDIR"

read -r -a cflags <<<"$("$pkg_config" "${pc_args[@]}" --cflags goro)" || fail "pkg-config --cflags goro failed"
read -r -a libs <<<"$("$pkg_config" "${pc_args[@]}" --libs goro)" || fail "pkg-config --libs goro failed"
[[ " ${cflags[*]} " == *" -I$dest"* ]] || fail "pkg-config --cflags does not point into the DESTDIR: ${cflags[*]}"
echo "== pkg-config --cflags --libs goro: ${cflags[*]} ${libs[*]}"

san=()
if [[ -n $sanitize && $sanitize != none ]]; then
  san=("-fsanitize=$sanitize")
fi

check_run() {
  local exe=$1 name out rc=0
  name=$(basename "$exe")
  out=$(LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$exe") || rc=$?
  [[ $rc -eq 0 ]] || fail "$name exited with status $rc (output: $out)"
  echo "$out"
  [[ $out == "$expected" ]] || fail "$name: expected output '$expected', got '$out'"
}

# Shared library.
echo "== ${cxx[*]} main.cpp (shared libgoro)"
"${cxx[@]}" -O2 -g "${san[@]}" "${cflags[@]}" "$here/main.cpp" -o "$tmp/downstream-shared" "${libs[@]}" \
  || fail "compiling the consumer against the installed shared library failed"
ldd_out=$(LD_LIBRARY_PATH="$libdir" ldd "$tmp/downstream-shared") || fail "ldd failed"
grep -q "libgoro.so.* => $libdir/" <<<"$ldd_out" \
  || fail "the consumer does not load libgoro from the DESTDIR: $ldd_out"
check_run "$tmp/downstream-shared"

# Static library, if installed: only libgoro.a is visible in the first -L
# directory, and --static adds goro's private dependencies.
if [[ -e $libdir/libgoro.a ]]; then
  read -r -a static_libs <<<"$("$pkg_config" "${pc_args[@]}" --static --libs goro)" \
    || fail "pkg-config --static --libs goro failed"
  mkdir "$tmp/static"
  ln -s "$libdir/libgoro.a" "$tmp/static/libgoro.a"
  echo "== ${cxx[*]} main.cpp (static libgoro): ${static_libs[*]}"
  "${cxx[@]}" -O2 -g "${san[@]}" "${cflags[@]}" "$here/main.cpp" -o "$tmp/downstream-static" \
    "-L$tmp/static" "${static_libs[@]}" \
    || fail "compiling the consumer against the installed static library failed"
  if readelf -d "$tmp/downstream-static" | grep -q 'NEEDED.*libgoro'; then
    fail "the static consumer still needs libgoro.so"
  fi
  check_run "$tmp/downstream-static"
fi

echo "downstream/pkgconfig: OK"
