#!/usr/bin/env bash
# Host set-up for kiamol-e2e: make sure a Docker engine is installed and
# running, with what these machines need for `docker run --privileged`.
#
#   hack/host-setup.sh          ensure the engine (install/start only if missing)
#   hack/host-setup.sh --check  only say whether it is ready (exit 1 if not)
#
# It changes the host only when the engine is missing or stopped AND it can fix
# that itself (Debian, root). Anywhere else it prints one line naming what to
# install and exits non-zero. Idempotent: a ready host costs a `docker info`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
libexec=/usr/local/libexec/kiamol-e2e
capfilter=$libexec/runc-capfilter
runtime_name=kiamol-capfilter
dockerd_log=/var/log/kiamol-e2e-dockerd.log
mode=${1:-ensure}

say() { printf 'host-setup: %s\n' "$*" >&2; }
die() { printf 'host-setup: %s\n' "$*" >&2; exit 1; }

# Tools the air-gapped image build runs besides the engine itself.
build_tools=(debootstrap tar gzip iptables)
apt_packages=(docker.io debootstrap tar gzip iptables ca-certificates)

engine_ready() { docker info >/dev/null 2>&1; }

can_fix() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -f /etc/debian_version ]; }

# A bounding set without some capability makes runc refuse --privileged.
bounding_set_is_narrow() {
  local bnd last want
  bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  last=$(cat /proc/sys/kernel/cap_last_cap 2>/dev/null || echo 40)
  want=$(( (1 << (last + 1)) - 1 ))
  [ $(( 0x$bnd & want )) -ne "$want" ]
}

missing_tools() {
  local t out=()
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || out+=("$t")
  done
  printf '%s\n' "${out[@]}"
}

install_packages() {
  say "installing ${apt_packages[*]} from Debian's archive"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # docker.io's postinst tries to start the service; with no init system that
  # fails harmlessly, and we start dockerd ourselves below.
  apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
}

install_capfilter() {
  command -v go >/dev/null 2>&1 || die "Go is needed to build the runc capability filter: install Go 1.26 or newer"
  mkdir -p "$libexec"
  local tmp
  tmp=$(mktemp "$libexec/.runc-capfilter.XXXXXX")
  (cd "$root" && CGO_ENABLED=0 go build -trimpath -o "$tmp" ./images/runc-capfilter)
  chmod 0755 "$tmp"
  mv -f "$tmp" "$capfilter"
}

# A dockerd that was killed (as at the end of every session here) leaves its
# pid file; once that pid belongs to another process, dockerd refuses to start.
clear_stale_pidfile() {
  local pidfile=/var/run/docker.pid pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  # a killed dockerd whose parent is gone can linger as a zombie: not running
  if [ -z "$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ] ||
    grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
    say "removing stale $pidfile (pid ${pid:-none} is not a running dockerd)"
    rm -f "$pidfile"
  fi
}

start_dockerd() {
  local args=()
  clear_stale_pidfile
  if bounding_set_is_narrow; then
    say "capability bounding set lacks some capabilities: registering $capfilter as dockerd's default runtime"
    install_capfilter
    args+=(--add-runtime "$runtime_name=$capfilter" --default-runtime "$runtime_name")
  fi
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ] && [ ${#args[@]} -eq 0 ]; then
    systemctl start docker
  else
    say "starting dockerd (log: $dockerd_log)"
    # setsid: dockerd must outlive this script and the make that called it.
    setsid nohup dockerd "${args[@]}" >>"$dockerd_log" 2>&1 </dev/null &
  fi
  local i
  for i in $(seq 1 60); do
    engine_ready && return 0
    sleep 0.5
  done
  die "dockerd did not answer within 30 s; see $dockerd_log"
}

check_runtime() {
  bounding_set_is_narrow || return 0
  if ! docker info --format '{{.DefaultRuntime}}' 2>/dev/null | grep -qx "$runtime_name"; then
    say "warning: dockerd is running without the $runtime_name runtime, and this host's capability bounding set is narrow;"
    say "warning: kind's privileged node containers may fail with 'unable to apply caps'. Stop dockerd and run $0 to restart it with the filter."
  fi
}

# The engine is needed by every run; the build tools only by air-gapped image
# builds, which name them again themselves if they are still missing then.
missing_engine=$(missing_tools docker dockerd)
missing_build=$(missing_tools "${build_tools[@]}")
if [ "$mode" = --check ]; then
  [ -z "$missing_engine" ] || die "missing: $(echo $missing_engine) (install Docker Engine, or run hack/host-setup.sh as root on Debian)"
  engine_ready || die "the Docker engine is not running (start dockerd, or run hack/host-setup.sh as root)"
  check_runtime
  exit 0
fi

if [ -n "$missing_engine$missing_build" ]; then
  if can_fix; then
    install_packages
  elif [ -n "$missing_engine" ]; then
    die "missing: $(echo $missing_engine). Install Docker Engine (on Debian as root: apt-get install docker.io), then retry"
  else
    say "note: air-gapped image builds also need: $(echo $missing_build)"
  fi
fi

if ! engine_ready; then
  can_fix || die "the Docker engine is not running: start it (for example 'sudo systemctl start docker'), then retry"
  start_dockerd
fi
check_runtime
say "Docker engine ready ($(docker version --format 'server {{.Server.Version}}' 2>/dev/null))"
