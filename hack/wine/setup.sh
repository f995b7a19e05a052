#!/usr/bin/env bash
# What `make wine` needs on the host: Debian's 64-bit Wine loader and the
# MinGW-w64 C compiler that builds the test's stand-in DLL. Installs them
# only when missing and it can (Debian, root); anywhere else it prints one
# line naming what to install and exits non-zero. Idempotent: a ready host
# costs two file checks.
set -euo pipefail

say() { printf 'wine-setup: %s\n' "$*" >&2; }
die() { printf 'wine-setup: %s\n' "$*" >&2; exit 1; }

# Debian's wine64 installs its loader outside the PATH (the `wine` package
# adds the wrapper); the test runs the loader itself.
loader=/usr/lib/wine/wine64
cc=x86_64-w64-mingw32-gcc
apt_packages=(wine64 gcc-mingw-w64-x86-64-win32)

missing=()
[ -x "$loader" ] || missing+=("$loader (Debian: wine64)")
command -v "$cc" >/dev/null 2>&1 || missing+=("$cc (Debian: gcc-mingw-w64-x86-64-win32)")
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || [ ! -f /etc/debian_version ]; then
  die "missing: ${missing[*]}; install them (on Debian as root: apt-get install ${apt_packages[*]}), then retry"
fi
say "installing ${apt_packages[*]} from Debian's archive"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
[ -x "$loader" ] && command -v "$cc" >/dev/null 2>&1 || die "installed ${apt_packages[*]}, but $loader or $cc is still missing"
