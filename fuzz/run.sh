#!/usr/bin/env bash
# Fuzz every target (or those named) for SECS seconds each (default 600),
# JOBS at a time (default 1), with libFuzzer under AddressSanitizer and
# LeakSanitizer; then minimize each corpus and pick the committed subset.
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
#
# The fuzzer works in fuzz/work/TARGET (not in git): what an earlier
# campaign left there, the committed corpus and the seeds (seeds/make.py;
# with DOCKHARD_BIN set, also snapshots and reports of the fixture trees).
# After the run, `cargo fuzz cmin` minimizes it in place, and select.py
# writes at most CAP inputs of it (default 30) to fuzz/corpus/TARGET, the
# corpus that is committed and replayed by `cargo test`.
# Logs: fuzz/logs/TARGET.log; the last lines give the executions
# (stat::number_of_executed_units).
#   fuzz/run.sh                 # all targets, 10 minutes each
#   SECS=60 fuzz/run.sh pem     # one target, one minute
#   SECS=0 fuzz/run.sh          # no fuzzing: rebuild work/ and minimize it
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
secs=${SECS:-600}
jobs=${JOBS:-1}
cap=${CAP:-30}
targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
mkdir -p logs work
for t in "${targets[@]}"; do
  mkdir -p "work/$t"
  cp -n "corpus/$t"/* "work/$t"/ 2>/dev/null || true
done
python3 seeds/make.py "$PWD/work"
cargo +nightly fuzz build
one() {
  local t=$1 max_len=8192
  case $t in snapshot | report | unit) max_len=65536 ;; esac
  if ((secs > 0)); then
    nice -n 10 cargo +nightly fuzz run "$t" "work/$t" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
      -print_final_stats=1 >"logs/$t.log" 2>&1 && echo "$t: ok" || echo "$t: FAILED (logs/$t.log)"
  fi
  cargo +nightly fuzz cmin "$t" "work/$t" >>"logs/$t.log" 2>&1 || true
  grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "logs/$t.log" | tail -2 | sed "s/^/$t: /"
}
export -f one
export secs
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'one {}'
python3 select.py --cap "$cap" "${targets[@]}"
