#!/usr/bin/env bash
# Benchmark: wall time of `dockhard check --pid PID --format json` against a
# private dockerd (default bridge, no containers). Runs it RUNS times (30),
# discards the first (cold caches) and prints the median and p90 in ms.
# Target: median <= TARGET_MS (50); exit 1 when it is missed, 2 on setup errors.
# Needs root (it starts dockerd). Takes the live tests' lock (shared docker0).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
RUNS=${RUNS:-30}
TARGET_MS=${TARGET_MS:-50}

((RUNS >= 2)) || { echo "scripts/bench/check.sh: RUNS must be at least 2" >&2; exit 2; }
# shellcheck source=scripts/bench/lib.sh
source scripts/bench/lib.sh
start_dockerd

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

stats "${times_us[@]}"
n=${#times_us[@]}
echo "runs: $n (first discarded)  min: $(ms "$min") ms  median: $(ms "$median") ms  p90: $(ms "$p90") ms  max: $(ms "$max") ms"
if ((median <= TARGET_MS * 1000)); then
  echo "target met: median <= $TARGET_MS ms"
else
  echo "TARGET MISSED: median $(ms "$median") ms > $TARGET_MS ms"
  exit 1
fi
