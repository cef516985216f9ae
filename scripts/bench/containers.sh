#!/usr/bin/env bash
# Benchmark: `dockhard check --profile all` against a private dockerd with
# 0, 50 and 200 running busybox-static containers (COUNTS). For each count it
# times RUNS runs (10; the first discarded) and prints the median and p90 in
# ms, the API calls dockhard made, and the cost per container.
# DOCKHARD_BIN: the binary (default target/release/dockhard); DOCKHARD_BINS:
# several, timed in turn.
#
# With DBS=/path/to/docker-bench-security (a checkout of
# docker/docker-bench-security), its full run is timed once per count on the
# same daemon (DOCKER_HOST pointed at it) and the ratio is printed.
# Targets (issue 4): at most TARGET_MS (300) for 200 containers; at least
# 100x faster than docker-bench-security at 50. Exit 1 when the first is
# missed, 2 on setup errors. Needs root; takes the live tests' lock.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
RUNS=${RUNS:-10}
COUNTS=${COUNTS:-"0 50 200"}
TARGET_MS=${TARGET_MS:-300}

# shellcheck source=scripts/bench/lib.sh
source scripts/bench/lib.sh
# DOCKHARD_BINS="A B ...": compare binaries (the first one is reported as
# usual, each one's median and p90 before it).
read -r -a BINS <<<"${DOCKHARD_BINS:-$BIN}"
command -v docker >/dev/null || die "docker CLI not found"
BUSYBOX=""
for c in /bin/busybox /usr/bin/busybox; do [[ -x $c ]] && BUSYBOX=$c && break; done
[[ -n $BUSYBOX ]] || die "busybox not found (apt-get install busybox-static)"
start_dockerd

export DOCKER_HOST="unix://$D/docker.sock"
docker version --format '{{.Server.Version}}' >/dev/null || die "dockerd did not come up"

mkdir -p "$D/rootfs/bin"
cp "$BUSYBOX" "$D/rootfs/bin/busybox"
for l in sh sleep; do ln -s busybox "$D/rootfs/bin/$l"; done
tar -C "$D/rootfs" --numeric-owner -cf "$D/rootfs.tar" .
docker import "$D/rootfs.tar" dockhard-bench:busybox >/dev/null

echo "dockerd $(docker version --format '{{.Server.Version}}') pid $pid" >&2
have=0
status=0
for n in $COUNTS; do
  while ((have < n)); do
    docker run -d --net none dockhard-bench:busybox sleep 36000 >/dev/null
    have=$((have + 1))
  done
  # Each binary in turn within a run (DOCKHARD_BINS: interleaved, so that
  # the load of a shared machine falls on all of them alike).
  times_of=()
  for i in $(seq "$RUNS"); do
    for b in "${!BINS[@]}"; do
      rc=0
      t0=${EPOCHREALTIME/[.,]/}
      "${BINS[b]}" check --pid "$pid" --profile all --format json >"$D/report.json" 2>"$D/stderr" || rc=$?
      t1=${EPOCHREALTIME/[.,]/}
      if ((rc != 0 && rc != 1)); then
        cat "$D/stderr" >&2
        die "${BINS[b]} exited $rc"
      fi
      ((i == 1)) && continue
      times_of[b]+=" $((10#$t1 - 10#$t0))"
    done
  done
  if ((${#BINS[@]} > 1)); then
    for b in "${!BINS[@]}"; do
      # shellcheck disable=SC2086
      stats ${times_of[b]}
      echo "containers: $n  median: $(ms "$median") ms  p90: $(ms "$p90") ms  ${BINS[b]}"
    done
  fi
  # shellcheck disable=SC2086
  stats ${times_of[0]}
  results=$(grep -o '"rule":' "$D/report.json" | wc -l)
  line="containers: $n  median: $(ms "$median") ms  p90: $(ms "$p90") ms  results: $results"
  if [[ -n ${DBS:-} ]]; then
    t0=${EPOCHREALTIME/[.,]/}
    (cd "$DBS" && ./docker-bench-security.sh >/dev/null 2>&1) || true
    t1=${EPOCHREALTIME/[.,]/}
    dbs=$((10#$t1 - 10#$t0))
    line+="  docker-bench-security: $(ms "$dbs") ms  ratio: $(awk -v a="$dbs" -v b="$median" 'BEGIN { printf "%.0fx", a / b }')"
  fi
  echo "$line"
  if ((n >= 200 && median > TARGET_MS * 1000)); then
    echo "TARGET MISSED: $(ms "$median") ms > $TARGET_MS ms at $n containers"
    status=1
  fi
done
exit $status
