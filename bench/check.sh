#!/usr/bin/env bash
# Benchmark: wall time of `dockhard check --pid PID --format json` against a
# private dockerd (default bridge, no containers). Runs it RUNS times (30),
# discards the first (cold caches) and prints the median and p90 in ms.
# Target: median <= TARGET_MS (50); exit 1 when it is missed, 2 on setup errors.
# Needs root (it starts dockerd). Takes the live tests' lock (shared docker0).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${RUNS:-30}
TARGET_MS=${TARGET_MS:-50}

die() { echo "bench/check.sh: $*" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || die "needs root (it starts a private dockerd)"
DOCKERD=""
for c in /usr/bin/dockerd /usr/sbin/dockerd "$(command -v dockerd || true)"; do
  if [[ -n $c && -x $c ]]; then DOCKERD=$c; break; fi
done
[[ -n $DOCKERD ]] || die "dockerd not found (apt-get install docker.io)"
((RUNS >= 2)) || die "RUNS must be at least 2"

echo "building release..." >&2
cargo build --release --quiet
BIN=${DOCKHARD_BIN:-$PWD/target/release/dockhard}

exec 9>/tmp/dockhard-live.lock
flock 9

D=$(mktemp -d /tmp/dockhard-bench-XXXXXX)
chmod 0755 "$D"
pid=""
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  fi
  # Whatever this daemon left (its containerd after a SIGKILL): their command
  # lines name our unique directory.
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

"$DOCKERD" --data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/pid" \
  -H "unix://$D/docker.sock" --storage-driver vfs >"$D/dockerd.log" 2>&1 &
pid=$!
ready=""
for _ in $(seq 300); do
  if curl -sf --unix-socket "$D/docker.sock" http://docker/_ping >/dev/null 2>&1; then
    ready=1
    break
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $ready ]]; then
  tail -n 20 "$D/dockerd.log" >&2
  die "dockerd did not come up"
fi

echo "dockerd $("$DOCKERD" --version | sed 's/^Docker version //') pid $pid; $RUNS runs of: dockhard check --pid $pid --format json" >&2
# Timestamps: bash 5's EPOCHREALTIME (no fork, µs), else date(1).
now_us() { echo $(($(date +%s%N) / 1000)); }
times_us=()
for i in $(seq "$RUNS"); do
  rc=0
  t0=${EPOCHREALTIME:-}
  [[ -n $t0 ]] || t0=$(now_us)
  "$BIN" check --pid "$pid" --format json >"$D/report.json" 2>"$D/stderr" || rc=$?
  t1=${EPOCHREALTIME:-}
  [[ -n $t1 ]] || t1=$(now_us)
  if ((rc != 0 && rc != 1)); then
    cat "$D/stderr" >&2
    die "dockhard exited $rc"
  fi
  ((i == 1)) && continue
  t0=${t0/[.,]/}
  t1=${t1/[.,]/}
  times_us+=($((10#$t1 - 10#$t0)))
done

mapfile -t sorted < <(printf '%s\n' "${times_us[@]}" | sort -n)
n=${#sorted[@]}
if ((n % 2)); then
  median=${sorted[n / 2]}
else
  median=$(((sorted[n / 2 - 1] + sorted[n / 2]) / 2))
fi
p90=${sorted[(9 * n + 9) / 10 - 1]} # nearest rank: ceil(0.9 n)
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
echo "runs: $n (first discarded)  min: $(ms "${sorted[0]}") ms  median: $(ms "$median") ms  p90: $(ms "$p90") ms  max: $(ms "${sorted[n - 1]}") ms"
if ((median <= TARGET_MS * 1000)); then
  echo "target met: median <= $TARGET_MS ms"
else
  echo "TARGET MISSED: median $(ms "$median") ms > $TARGET_MS ms"
  exit 1
fi
