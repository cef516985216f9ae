# Shared by the bench scripts: a private dockerd in a unique directory D,
# stopped (by pid) and cleaned up on exit. Source it, then call
# `start_dockerd [EXTRA_FLAGS...]`; it sets D, pid and DOCKERD.
# shellcheck shell=bash

die() { echo "$(basename "$0"): $*" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || die "needs root (it starts a private dockerd)"
DOCKERD=""
for c in /usr/bin/dockerd /usr/sbin/dockerd "$(command -v dockerd || true)"; do
  if [[ -n $c && -x $c ]]; then DOCKERD=$c; break; fi
done
[[ -n $DOCKERD ]] || die "dockerd not found (apt-get install docker.io)"

echo "building release..." >&2
cargo build --release --quiet
BIN=${DOCKHARD_BIN:-$PWD/target/release/dockhard}

# The live tests' lock, exclusively: the benchmark's dockerd uses the host's
# docker0 and sees every dockerd (the live tests' daemons have their own).
exec 9>/tmp/dockhard-live.lock
flock 9

D=$(mktemp -d /tmp/dockhard-bench-XXXXXX)
chmod 0755 "$D"
pid=""
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  fi
  # Whatever this daemon left (its containerd, shims after a SIGKILL): their
  # command lines name our unique directory.
  for f in /proc/[0-9]*/cmdline; do
    p=${f#/proc/}
    p=${p%/cmdline}
    [[ $p == "$$" ]] && continue
    if tr '\0' ' ' 2>/dev/null <"$f" | grep -qF -- "$D"; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  awk -v d="$D" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
    sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$D"
}
trap cleanup EXIT

start_dockerd() {
  "$DOCKERD" --data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/pid" \
    -H "unix://$D/docker.sock" --storage-driver vfs "$@" >"$D/dockerd.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    if curl -sf --unix-socket "$D/docker.sock" http://docker/_ping >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$D/dockerd.log" >&2
  die "dockerd did not come up"
}

# Median and p90 (nearest rank) of the microsecond figures in "$@": sets
# median and p90.
stats() {
  local sorted n
  mapfile -t sorted < <(printf '%s\n' "$@" | sort -n)
  n=${#sorted[@]}
  if ((n % 2)); then median=${sorted[n / 2]}; else median=$(((sorted[n / 2 - 1] + sorted[n / 2]) / 2)); fi
  p90=${sorted[(9 * n + 9) / 10 - 1]}
  min=${sorted[0]}
  max=${sorted[n - 1]}
}
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
