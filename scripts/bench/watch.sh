#!/usr/bin/env bash
# Benchmark of issue 12's costs, against a private dockerd with N (200)
# running busybox-static containers:
#   - `check --profile seed` (daemon rules only) with 0 and N containers:
#     the same cost wanted;
#   - `check --profile all` against the Engine API floor (examples/api_floor:
#     /version, the list, /info, the bridge and one inspect per container,
#     over the same number of connections, timed in the same run);
#   - `dockhard watch --profile all`: its full audit and its incremental
#     audits (from its own dockhard_audit_duration_seconds), the time from a
#     container event (a rename) to /metrics, a scrape of /metrics;
#   - idle: CPU time per minute with no events (IDLE_SECS, 60);
#   - memory (VmRSS) over EVENTS (10000) container events of create/destroy
#     churn, sampled every 2000.
# Prints one line per figure. Exit 2 on setup errors. Needs root; takes the
# live tests' lock.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
N=${N:-200}
RUNS=${RUNS:-10}
IDLE_SECS=${IDLE_SECS:-60}
EVENTS=${EVENTS:-10000}

# shellcheck source=scripts/bench/lib.sh
source scripts/bench/lib.sh
command -v docker >/dev/null || die "docker CLI not found"
BUSYBOX=""
for c in /bin/busybox /usr/bin/busybox; do [[ -x $c ]] && BUSYBOX=$c && break; done
[[ -n $BUSYBOX ]] || die "busybox not found (apt-get install busybox-static)"
cargo build --release --quiet --example api_floor
FLOOR=${CARGO_TARGET_DIR:-$PWD/target}/release/examples/api_floor
start_dockerd
SOCK=$D/docker.sock
export DOCKER_HOST="unix://$SOCK"
api() { curl -sf --unix-socket "$SOCK" "$@"; }

mkdir -p "$D/rootfs/bin"
cp "$BUSYBOX" "$D/rootfs/bin/busybox"
for l in sh sleep; do ln -s busybox "$D/rootfs/bin/$l"; done
tar -C "$D/rootfs" --numeric-owner -cf "$D/rootfs.tar" .
docker import "$D/rootfs.tar" dockhard-bench:busybox >/dev/null
echo "dockerd $(docker version --format '{{.Server.Version}}') pid $pid" >&2

# Median (ms) of RUNS runs of a dockhard command (the first discarded).
time_check() {
  local times_us=() i rc t0 t1
  for i in $(seq "$RUNS"); do
    rc=0
    t0=${EPOCHREALTIME/[.,]/}
    "$BIN" "$@" >/dev/null 2>"$D/stderr" || rc=$?
    t1=${EPOCHREALTIME/[.,]/}
    ((rc == 0 || rc == 1)) || { cat "$D/stderr" >&2; die "dockhard $* exited $rc"; }
    ((i == 1)) && continue
    times_us+=($((10#$t1 - 10#$t0)))
  done
  stats "${times_us[@]}"
  echo "$median"
}

seed0=$(time_check check --pid "$pid" --profile seed --format json)
for _ in $(seq "$N"); do
  docker run -d --net none dockhard-bench:busybox sleep 36000 >/dev/null
done
seedn=$(time_check check --pid "$pid" --profile seed --format json)
echo "check --profile seed: 0 containers $(ms "$seed0") ms, $N containers $(ms "$seedn") ms (ratio $(awk -v a="$seedn" -v b="$seed0" 'BEGIN { printf "%.2f", a / b }'))"

# The full audit and its floor, alternating so that both see the same load.
# Two floors: the audit's 4 connections, and one call after the other (a
# plain client: curl or `docker inspect` in a loop).
full_us=() floor_us=() floor1_us=()
for _ in 1 2 3; do
  full_us+=("$(time_check check --pid "$pid" --profile all --format json)")
  floor_us+=("$("$FLOOR" "$SOCK" "$RUNS")")
  floor1_us+=("$("$FLOOR" "$SOCK" "$RUNS" 1)")
done
stats "${full_us[@]}"; full=$median
stats "${floor_us[@]}"; floor=$median
stats "${floor1_us[@]}"; floor1=$median
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "check --profile all at $N containers: $(ms "$full") ms; API floor $(ms "$floor") ms over 4 connections (ratio $(ratio "$full" "$floor")), $(ms "$floor1") ms over one (ratio $(ratio "$full" "$floor1"))"

# dockhard watch.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" watch --no-policy --pid "$pid" --profile all --interval 1h \
  --listen "127.0.0.1:$port" 2>"$D/watch.log" &
wpid=$!
trap 'kill -TERM $wpid 2>/dev/null || true; wait $wpid 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$D/watch.log" >&2; die "watch never healthy"; }
metric() { curl -sf "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$wpid/status"; }
# CPU time in ns of all its threads (schedstat: not the 10 ms ticks of
# /proc/PID/stat).
cpu_ns() { cat /proc/"$wpid"/task/*/schedstat | awk '{ s += $1 } END { printf "%d", s }'; }
start_ms=$(sed -n 's/.*audit (start) in \([0-9]*\) ms.*/\1/p' "$D/watch.log" | head -1)
echo "watch: first full audit $start_ms ms"

# Incremental: RENAMES renames, each timed from the API call to its series.
ids=($(docker ps -q | head -20))
lat_us=()
k=0
for id in "${ids[@]}"; do
  k=$((k + 1))
  t0=${EPOCHREALTIME/[.,]/}
  api -X POST "http://d/containers/$id/rename?name=bench-renamed-$k" >/dev/null
  # (No `curl | grep -q`: with pipefail, grep's early exit fails curl.)
  until [[ $(curl -sf "http://127.0.0.1:$port/metrics") == *"subject=\"bench-renamed-$k\""* ]]; do
    sleep 0.002
  done
  t1=${EPOCHREALTIME/[.,]/}
  lat_us+=($((10#$t1 - 10#$t0)))
done
stats "${lat_us[@]}"
echo "container event (rename) to /metrics: median $(ms "$median") ms, max $(ms "$max") ms over ${#lat_us[@]}"
isum=$(metric 'dockhard_audit_duration_seconds_sum{kind="incremental"}')
icount=$(metric 'dockhard_audit_duration_seconds_count{kind="incremental"}')
fsum=$(metric 'dockhard_audit_duration_seconds_sum{kind="full"}')
fcount=$(metric 'dockhard_audit_duration_seconds_count{kind="full"}')
echo "watch audits at $N containers: full $(awk -v s="$fsum" -v c="$fcount" 'BEGIN { printf "%.1f", 1000 * s / c }') ms ($fcount), incremental $(awk -v s="$isum" -v c="${icount:-0}" 'BEGIN { if (c > 0) printf "%.1f", 1000 * s / c; else printf "none" }') ms mean ($icount); API calls of each: $(grep -o 'incremental audit ([0-9]* API call' "$D/watch.log" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"

# Scrape.
scr=()
for _ in $(seq 50); do
  scr+=($(curl -sf -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/metrics" | awk '{ printf "%d", $1 * 1000000 }'))
done
stats "${scr[@]}"
echo "scrape of /metrics ($(curl -sf "http://127.0.0.1:$port/metrics" | wc -c) bytes): median $(ms "$median") ms, p90 $(ms "$p90") ms"

# Idle.
c0=$(cpu_ns)
sleep "$IDLE_SECS"
c1=$(cpu_ns)
echo "idle: $(awk -v t=$((c1 - c0)) -v s="$IDLE_SECS" 'BEGIN { printf "%.1f", t / 1e6 * 60 / s }') ms CPU per minute (over ${IDLE_SECS} s)"

# Memory over create/destroy churn (two events each, four at a time).
e0=$(metric dockhard_events_total)
echo "memory: VmRSS $(rss_kb) kB at start of the churn"
churn() {
  local i id
  for i in $(seq "$1"); do
    id=$(curl -sf --unix-socket "$SOCK" -H 'Content-Type: application/json' \
      -d '{"Image":"dockhard-bench:busybox","Cmd":["true"],"NetworkDisabled":true}' \
      http://d/containers/create | sed 's/.*"Id":"\([0-9a-f]*\)".*/\1/')
    curl -sf --unix-socket "$SOCK" -X DELETE "http://d/containers/$id" >/dev/null
  done
}
step=2000
done_events=0
while ((done_events < EVENTS)); do
  workers=()
  for _ in 1 2 3 4; do
    churn $((step / 8)) &
    workers+=($!)
  done
  wait "${workers[@]}"
  done_events=$((done_events + step))
  sleep 1
  echo "memory: VmRSS $(rss_kb) kB after $(($(metric dockhard_events_total) - e0)) events"
done
kill -0 "$wpid" || die "watch died"
echo "watch audits total: $(curl -sf "http://127.0.0.1:$port/metrics" | grep '^dockhard_audits_total' | tr '\n' ' ')"
