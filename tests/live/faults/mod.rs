//! Fault injection on `dockhard fix --apply` against a real dockerd: the
//! binary is run the way a user runs it and is killed, starved of disk,
//! denied writes, given a failing restart, or run twice at once.
//!
//! The daemon is run by the test supervisor (tests/support/supervisor.rs)
//! from `D/etc/systemd/system/docker.service` with flags, daemon.json in
//! `D/etc/docker/`, so a fix writes daemon.json and the drop-in
//! `docker.service.d/zz-dockhard.conf` in the order they sort on a host.
//!
//! # Kills (`live_faults_kills_at_every_write_syscall_and_at_random_times`)
//!
//! Three scenarios: (1) `--method auto`: keys into daemon.json, flags into a
//! new drop-in; (2) `--method daemon-json`: flags moved out of the unit into
//! daemon.json (the drop-in removes them); (3) the same from the state of
//! (1): the drop-in replaced. Each is applied once uninterrupted to get the
//! new version of every file ("after") and its duration, then killed:
//!
//! - at every write-side syscall (`strace -e inject=S:signal=KILL:when=N`
//!   for every N at which the uninterrupted run makes a write-side syscall
//!   S: openat for writing, write, fsync, rename, mkdir, fchmod, fchown,
//!   chmod, flock, ftruncate, unlink...). strace delivers the SIGKILL on
//!   entry, before the syscall runs, so "killed before write-side syscall
//!   k" for every k (and the uninterrupted run) is every state a kill can
//!   leave: read-only syscalls change nothing on disk. No test hook is in
//!   the production code. The enumeration is made twice and must agree,
//!   and every such trial must end killed (proof the point was reached);
//! - after random delays between 0 and the uninterrupted duration
//!   (`DOCKHARD_FAULT_TRIALS`, default 80; seed `DOCKHARD_FAULT_SEED`,
//!   reported).
//!
//! After each kill: daemon.json and the drop-in are byte for byte the old
//! or the new version (never partial or empty); every other file under
//! `D/etc` is a hidden dockhard temporary (`.NAME.dockhard-PID-N.tmp`: never
//! `*.conf`, which systemd would read from a drop-in directory); the lock is
//! free (the kernel released it); every backup set with a manifest has its
//! copies. On a sample of trials (every `DOCKHARD_FAULT_SAMPLE`-th, default
//! 8), alternately: a fresh `fix --apply` completes with the new version
//! and leaves no temporary file, and a `fix --rollback` then restores (the
//! old version unless the kill left a mix), or `fix --rollback` right away
//! restores the old version.
//!
//! Daemon starts are slow (1-2 s), so the state of each trial is recorded
//! (the bytes of daemon.json and of the drop-in) and the real dockerd is
//! started once per DISTINCT state: whether it starts, and with which
//! configuration, depends only on those files and on the unit's
//! `ExecStart=`, which no trial changes (the data root is the same and
//! nothing else dockerd reads is written by dockhard). Each start must
//! answer `/_ping` and report, via `/info` and `/networks/bridge`, the
//! live-restore and icc those files say.
//!
//! # Kills during the restart (`live_faults_kills_during_the_restart`)
//!
//! `DOCKHARD_FAULT_RESTART_TRIALS` (default 3) runs with a real restart by
//! the supervisor, killed at random times up to the uninterrupted duration
//! (mostly inside the restart and the wait for the daemon): the supervisor
//! brings dockerd back, the files are old or new, and a fresh `fix --apply`
//! ends with the new configuration running.
//!
//! # Refused writes, failing restarts, concurrent runs
//!
//! A full tmpfs under daemon.json and under the backup directory, and a
//! read-only `D/etc`: exit 2, an error naming the file, nothing changed, no
//! temporary left, the running daemon untouched. A restart command that
//! fails (before or after restarting): files rolled back, the old
//! configuration runs (a configuration dockerd refuses is
//! `live_fix_rollback_when_dockerd_does_not_start` in tests/live/fix.rs).
//! Two `fix --apply` at once: they wait for each other (or one refuses,
//! naming the lock), the files end as the new version with every change of
//! both, one backup set per run that changed something.
//!
//! With the defaults this file takes about 75 s on a busy 2-core machine
//! (209 kills with 7 daemon starts: 38 s; kills during the restart: 15 s;
//! concurrent runs: 12 s, 5 of them the lock timeout).
//!
//! Needs root, dockerd, strace and mount (scripts/test installs them).
//! Each daemon runs in a network namespace of its own, and every dockhard
//! run against it in the same one (`Supervised::command`); the tests run in
//! parallel with the other live tests (`support::live`), except the one
//! that finds its daemon without `--pid` (`support::live_exclusive`).

use crate::support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};
use support::supervisor::{Supervised, exec_start};
use support::{live, live_exclusive, loud};

mod modes;
mod refused;

const DOCKHARD: &str = env!("CARGO_BIN_EXE_dockhard");

/// The daemon.json every test starts from.
const INITIAL_JSON: &str = "{\n  \"debug\": false\n}\n";
/// The unit's own flags (so fixes go into a drop-in, or move out of it).
const UNIT_FLAGS: &str = "--icc=true --userland-proxy=true";
/// The rules every scenario fixes (all need neither plugins nor syslog).
const RULES: [&str; 6] = [
    "--rule",
    "daemon.icc",
    "--rule",
    "daemon.userland-proxy",
    "--rule",
    "daemon.live-restore",
];

/// Write-side syscalls (openat only when it opens for writing).
const WRITE_SIDE: &[&str] = &[
    "openat",
    "creat",
    "write",
    "pwrite64",
    "writev",
    "fsync",
    "fdatasync",
    "sync_file_range",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "unlink",
    "unlinkat",
    "rmdir",
    "mkdir",
    "mkdirat",
    "chmod",
    "fchmod",
    "fchmodat",
    "chown",
    "fchown",
    "fchownat",
    "lchown",
    "flock",
    "ftruncate",
    "truncate",
];

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{name}={v:?}: {e}")),
        Err(_) => default,
    }
}

/// splitmix64: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

fn seed() -> u64 {
    match std::env::var("DOCKHARD_FAULT_SEED") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("DOCKHARD_FAULT_SEED={v:?}: {e}")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    }
}

/// strace; a panic without it (a live test never passes without running).
fn strace(test: &str) -> PathBuf {
    for p in ["/usr/bin/strace", "/bin/strace"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("live test `{test}` cannot run: `strace` not found (package strace)");
}

// ---------------------------------------------------------------------------
// File states

/// What dockerd's start depends on that dockhard writes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct State {
    json: Vec<u8>,
    dropin: Option<Vec<u8>>,
}

fn read_opt(p: &Path) -> Option<Vec<u8>> {
    match fs::read(p) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("{}: {e}", p.display()),
    }
}

fn read_state(sv: &Supervised) -> State {
    State {
        json: fs::read(&sv.config).unwrap_or_else(|e| panic!("{}: {e}", sv.config.display())),
        dropin: read_opt(&sv.dropin()),
    }
}

fn describe(st: &State) -> String {
    format!(
        "daemon.json:\n{}\ndrop-in:\n{}",
        String::from_utf8_lossy(&st.json),
        st.dropin
            .as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_else(|| "(none)".into())
    )
}

/// Every regular file under `dir`, with its bytes.
fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => todo.push(p),
                Ok(_) => {
                    let b = fs::read(&p).unwrap_or_default();
                    out.insert(p, b);
                }
                Err(_) => {}
            }
        }
    }
    out
}

/// `.NAME.dockhard-PID-N.tmp`: the temporary file of dockhard's writer.
fn is_dockhard_temp(p: &Path) -> bool {
    let name = p.file_name().map(|n| n.as_bytes()).unwrap_or_default();
    name.starts_with(b".")
        && name.ends_with(b".tmp")
        && name.windows(10).any(|w| w == b".dockhard-")
}

fn last_lines(s: &str, n: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(n)..].join("\n")
}

/// Put `st` on disk (and nothing else: no drop-in directory when there is
/// no drop-in, no temporary files, no backups).
fn put_state(sv: &Supervised, st: &State) {
    fs::write(&sv.config, &st.json).unwrap();
    let dd = sv.dropin().parent().unwrap().to_path_buf();
    match &st.dropin {
        Some(b) => {
            fs::create_dir_all(&dd).unwrap();
            fs::write(sv.dropin(), b).unwrap();
        }
        None => {
            let _ = fs::remove_dir_all(&dd);
        }
    }
    for p in files_under(&sv.dir.join("etc")).keys() {
        if is_dockhard_temp(p) {
            fs::remove_file(p).unwrap();
        }
    }
    let _ = fs::remove_dir_all(&sv.backups);
}

/// The live-restore and icc a daemon started on the files now on disk must
/// report.
fn expected_config(sv: &Supervised) -> (bool, bool) {
    let json: Value = serde_json::from_slice(&fs::read(&sv.config).unwrap()).unwrap();
    let live_restore = json["live-restore"] == true;
    let flag = exec_start(&sv.unit).iter().rev().find_map(|w| {
        if w == "--icc" {
            Some(true)
        } else {
            w.strip_prefix("--icc=").map(|v| v == "true")
        }
    });
    let icc = json["icc"].as_bool().or(flag).unwrap_or(true);
    (live_restore, icc)
}

/// The running daemon reports `expected_config()`.
fn check_daemon_config(sv: &Supervised, label: &str) -> Result<(), String> {
    let (lr, icc) = expected_config(sv);
    let info = sv.get("/info");
    let bridge = sv.get("/networks/bridge");
    let got_icc = bridge["Options"]["com.docker.network.bridge.enable_icc"].as_str();
    if info["LiveRestoreEnabled"] != lr || got_icc != Some(if icc { "true" } else { "false" }) {
        return Err(format!(
            "{label}: dockerd reports LiveRestoreEnabled={} icc={got_icc:?}, the files say live-restore={lr} icc={icc}",
            info["LiveRestoreEnabled"]
        ));
    }
    Ok(())
}

/// The lock is free (a killed holder's lock is released by the kernel).
fn assert_lock_free(sv: &Supervised, label: &str) {
    let p = sv.backups.join("dockhard.lock");
    if let Ok(f) = fs::File::open(&p) {
        // SAFETY: flock on a descriptor we own.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(rc, 0, "{label}: {} is still locked", p.display());
    }
}

/// Backup sets under D/backups: (complete, incomplete). A complete set has
/// a manifest whose copies exist with their sizes; an incomplete one (a
/// kill before its manifest) has no manifest, only copies and temporaries.
fn backup_sets(sv: &Supervised, label: &str) -> (usize, usize) {
    let (mut complete, mut incomplete) = (0, 0);
    let Ok(rd) = fs::read_dir(&sv.backups) else {
        return (0, 0);
    };
    for e in rd.flatten() {
        let dir = e.path();
        if !dir.is_dir() {
            continue;
        }
        let manifest = dir.join("manifest.json");
        match fs::read(&manifest) {
            Ok(b) => {
                let m: Value = serde_json::from_slice(&b)
                    .unwrap_or_else(|e| panic!("{label}: {}: {e}", manifest.display()));
                for ent in m["entries"].as_array().unwrap() {
                    if let Some(name) = ent["backup"].as_str() {
                        let copy = dir.join(name);
                        let len = fs::metadata(&copy).map(|m| m.len()).ok();
                        assert_eq!(
                            len,
                            ent["size"].as_u64(),
                            "{label}: backup copy {} does not match its manifest",
                            copy.display()
                        );
                    }
                }
                complete += 1;
            }
            Err(_) => {
                for f in fs::read_dir(&dir).unwrap().flatten() {
                    let p = f.path();
                    let ok = p.extension().is_some_and(|x| x == "bak") || is_dockhard_temp(&p);
                    assert!(ok, "{label}: unexpected {} in a backup set", p.display());
                }
                incomplete += 1;
            }
        }
    }
    (complete, incomplete)
}

/// One scenario of the kill trials.
struct Scenario {
    name: &'static str,
    args: Vec<String>,
    before: State,
    after: State,
    /// Of an uninterrupted run (median of three).
    duration: Duration,
}

/// What a kill left.
struct Observed {
    state: State,
    temps: usize,
    incomplete_sets: usize,
}

/// Check the files after a killed (or finished) run of `sc`.
fn inspect(sv: &Supervised, sc: &Scenario, label: &str) -> Observed {
    let st = read_state(sv);
    assert!(
        st.json == sc.before.json || st.json == sc.after.json,
        "{label}: daemon.json is neither the old nor the new version:\n{}",
        String::from_utf8_lossy(&st.json)
    );
    assert!(
        st.dropin == sc.before.dropin || st.dropin == sc.after.dropin,
        "{label}: the drop-in is neither the old nor the new version:\n{}",
        describe(&st)
    );
    let mut temps = 0;
    for p in files_under(&sv.dir.join("etc")).keys() {
        if *p == sv.config || *p == sv.unit || *p == sv.dropin() {
            continue;
        }
        assert!(
            is_dockhard_temp(p),
            "{label}: stray file {} (a *.conf in a drop-in directory is read by systemd)",
            p.display()
        );
        temps += 1;
    }
    assert_lock_free(sv, label);
    let (_, incomplete_sets) = backup_sets(sv, label);
    Observed {
        state: st,
        temps,
        incomplete_sets,
    }
}

fn apply_args(sv: &Supervised, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<&str> = RULES.to_vec();
    a.extend_from_slice(extra);
    a.extend_from_slice(&["--restart", "none", "--apply", "--yes"]);
    sv.fix_args(&a)
}

fn run_quiet(sv: &Supervised, args: &[String]) -> (ExitStatus, Duration) {
    let t = Instant::now();
    let st = sv
        .command(DOCKHARD)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    (st, t.elapsed())
}

fn killed(st: &ExitStatus) -> bool {
    st.signal() == Some(libc::SIGKILL) || st.code() == Some(128 + libc::SIGKILL)
}

/// (syscall, N): the N-th call of that syscall is write-side.
type Point = (String, usize);

/// The write-side syscall points of an uninterrupted traced run of `sc`.
fn enumerate(sv: &Supervised, sc: &Scenario, strace: &Path) -> Vec<Point> {
    put_state(sv, &sc.before);
    let log = sv.dir.join("strace.log");
    let st = sv
        .command(strace)
        .arg("-o")
        .arg(&log)
        .arg("-e")
        .arg(format!(
            "trace={}",
            WRITE_SIDE
                .iter()
                .map(|s| format!("?{s}"))
                .collect::<Vec<_>>()
                .join(",")
        ))
        .arg("--")
        .arg(DOCKHARD)
        .args(&sc.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "{}: traced run: {st}", sc.name);
    assert_eq!(read_state(sv), sc.after, "{}: traced run", sc.name);
    let text = fs::read_to_string(&log).unwrap();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut points = Vec::new();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once('(') else {
            continue;
        };
        if name.starts_with("+++") || name.starts_with("---") || name.contains(' ') {
            continue;
        }
        let n = counts.entry(name.to_string()).or_default();
        *n += 1;
        let write_side = name != "openat"
            || ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"]
                .iter()
                .any(|f| rest.contains(f));
        if write_side {
            points.push((name.to_string(), *n));
        }
    }
    let _ = fs::remove_file(&log);
    points
}

/// Run `sc` under strace, killed on entry of the `point`.
fn kill_at_syscall(sv: &Supervised, sc: &Scenario, strace: &Path, point: &Point) -> ExitStatus {
    sv.command(strace)
        .args(["-o", "/dev/null", "-e"])
        .arg(format!("trace={}", point.0))
        .arg("-e")
        .arg(format!("inject={}:signal=KILL:when={}", point.0, point.1))
        .arg("--")
        .arg(DOCKHARD)
        .args(&sc.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
}

/// Run `args`, SIGKILL it after `delay` (if it still runs).
fn kill_after(sv: &Supervised, args: &[String], delay: Duration) -> ExitStatus {
    let mut c: Child = sv
        .command(DOCKHARD)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    thread::sleep(delay);
    let _ = c.kill();
    c.wait().unwrap()
}

fn make_scenario(sv: &Supervised, name: &'static str, extra: &[&str], before: State) -> Scenario {
    let args = apply_args(sv, extra);
    let mut times = Vec::new();
    let mut after = None;
    for _ in 0..3 {
        put_state(sv, &before);
        let (st, t) = run_quiet(sv, &args);
        assert!(st.success(), "{name}: uninterrupted run: {st}");
        let now = read_state(sv);
        assert_ne!(now, before, "{name}: the fix changed nothing");
        if let Some(a) = &after {
            assert_eq!(&now, a, "{name}: two uninterrupted runs differ");
        }
        after = Some(now);
        times.push(t);
    }
    times.sort();
    Scenario {
        name,
        args,
        before,
        after: after.unwrap(),
        duration: times[1],
    }
}

/// After a kill: a fresh `fix --apply` completes (and cleans up), then
/// `fix --rollback` restores; or `fix --rollback` right away restores.
fn recover(sv: &Supervised, sc: &Scenario, obs: &Observed, label: &str, fresh_first: bool) {
    let rollback = sv.fix_args(&["--rollback", "--restart", "none"]);
    let rollback: Vec<&str> = rollback.iter().map(String::as_str).collect();
    if fresh_first {
        let args: Vec<&str> = sc.args.iter().map(String::as_str).collect();
        let (code, out) = sv.dockhard(&args);
        assert_eq!(code, 0, "{label}: fresh fix --apply after the kill:\n{out}");
        assert_eq!(read_state(sv), sc.after, "{label}: fresh fix --apply");
        let left: Vec<PathBuf> = files_under(&sv.dir.join("etc"))
            .into_keys()
            .filter(|p| is_dockhard_temp(p))
            .collect();
        assert!(
            left.is_empty(),
            "{label}: temporary files of the killed run left after a fresh apply: {left:?}"
        );
        assert_lock_free(sv, label);
        let (code, out) = sv.dockhard(&rollback);
        assert_eq!(code, 0, "{label}: fix --rollback:\n{out}");
        let st = read_state(sv);
        let mixed = obs.state != sc.before && obs.state != sc.after;
        if mixed {
            // The last change set is the fresh run's: it restores the mix
            // it found, each file the old or the new version.
            assert!(
                (st.json == sc.before.json || st.json == sc.after.json)
                    && (st.dropin == sc.before.dropin || st.dropin == sc.after.dropin),
                "{label}: after --rollback:\n{}",
                describe(&st)
            );
        } else {
            assert_eq!(st, sc.before, "{label}: fix --rollback:\n{out}");
        }
    } else {
        let (complete, _) = backup_sets(sv, label);
        let (code, out) = sv.dockhard(&rollback);
        if complete > 0 {
            assert_eq!(code, 0, "{label}: fix --rollback:\n{out}");
        } else {
            // Killed before the manifest: nothing was written yet.
            assert_eq!(code, 2, "{label}: fix --rollback:\n{out}");
            assert!(out.contains("no change set"), "{label}: {out}");
        }
        assert_eq!(
            read_state(sv),
            sc.before,
            "{label}: fix --rollback right after the kill:\n{out}"
        );
    }
}

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_faults_kills_at_every_write_syscall_and_at_random_times() {
    let test = "live_faults_kills_at_every_write_syscall_and_at_random_times";
    let live = live(test);
    let strace = strace(test);
    let t0 = Instant::now();
    let seed = seed();
    let random_trials = env_usize("DOCKHARD_FAULT_TRIALS", 80);
    let sample = env_usize("DOCKHARD_FAULT_SAMPLE", 8).max(1);
    loud(&format!(
        "[faults] seed {seed} (DOCKHARD_FAULT_SEED), {random_trials} random-time kills (DOCKHARD_FAULT_TRIALS)"
    ));
    let mut rng = Rng(seed);
    let sv = Supervised::start(&live, UNIT_FLAGS, INITIAL_JSON);
    let init = read_state(&sv);
    let s1 = make_scenario(&sv, "auto", &[], init.clone());
    let s2 = make_scenario(&sv, "daemon-json", &["--method", "daemon-json"], init);
    let s3_before = s1.after.clone();
    let s3 = make_scenario(
        &sv,
        "replace-dropin",
        &["--method", "daemon-json"],
        s3_before,
    );
    let scenarios = [s1, s2, s3];

    // Every state a trial leaves -> the trials that left it.
    let mut states: BTreeMap<State, Vec<String>> = BTreeMap::new();
    for sc in &scenarios {
        states
            .entry(sc.before.clone())
            .or_default()
            .push(format!("{} before", sc.name));
        states
            .entry(sc.after.clone())
            .or_default()
            .push(format!("{} after", sc.name));
    }
    let mut plan: Vec<(usize, Option<Point>, Duration)> = Vec::new();
    for (i, sc) in scenarios.iter().enumerate() {
        let points = enumerate(&sv, sc, &strace);
        let again = enumerate(&sv, sc, &strace);
        assert_eq!(points, again, "{}: two traced runs differ", sc.name);
        assert!(points.len() > 20, "{}: {points:?}", sc.name);
        plan.extend(points.into_iter().map(|p| (i, Some(p), Duration::ZERO)));
    }
    let syscall_trials = plan.len();
    for k in 0..random_trials {
        let i = k % scenarios.len();
        let max = u64::try_from(scenarios[i].duration.as_micros()).unwrap_or(u64::MAX);
        plan.push((i, None, Duration::from_micros(rng.below(max + 1))));
    }
    let setup = t0.elapsed();
    let t1 = Instant::now();
    let (mut random_killed, mut temps, mut incomplete, mut recoveries) = (0, 0, 0, 0);
    for (n, (i, point, delay)) in plan.iter().enumerate() {
        let sc = &scenarios[*i];
        put_state(&sv, &sc.before);
        let (label, st) = match point {
            Some(p) => {
                let label = format!("{}: kill on {} #{}", sc.name, p.0, p.1);
                let st = kill_at_syscall(&sv, sc, &strace, p);
                assert!(
                    killed(&st),
                    "{label}: not killed ({st}): the run took another path"
                );
                (label, st)
            }
            None => {
                let label = format!("{}: kill after {delay:?} (seed {seed})", sc.name);
                let st = kill_after(&sv, &sc.args, *delay);
                if killed(&st) {
                    random_killed += 1;
                } else {
                    assert!(st.success(), "{label}: {st}");
                }
                (label, st)
            }
        };
        let obs = inspect(&sv, sc, &label);
        if !killed(&st) {
            assert_eq!(obs.state, sc.after, "{label}: finished");
        }
        temps += obs.temps;
        incomplete += obs.incomplete_sets;
        if n % sample == 0 {
            recover(&sv, sc, &obs, &label, recoveries % 2 == 0);
            recoveries += 1;
        }
        let e = states.entry(obs.state).or_default();
        if e.len() < 3 {
            e.push(label);
        }
    }
    let trials_time = t1.elapsed();

    // One real start per distinct state.
    let t2 = Instant::now();
    let mut failures = Vec::new();
    for (st, labels) in &states {
        put_state(&sv, st);
        let label = format!("state of [{}]", labels.join("; "));
        match sv.restart() {
            Ok(_) => {
                if let Err(e) = check_daemon_config(&sv, &label) {
                    failures.push(e);
                }
            }
            Err(e) => failures.push(format!(
                "{label}: dockerd does not start: {e}\n{}",
                describe(st)
            )),
        }
    }
    let starts_time = t2.elapsed();
    loud(&format!(
        "[faults] {} kill trials: {syscall_trials} at syscall points (all killed), {} random-time ({random_killed} killed before the end); {} distinct file states, each started: {:.1} s trials, {:.1} s starts, {:.1} s setup; {temps} temporaries and {incomplete} incomplete backup sets left by kills (no *.conf, never read); {recoveries} recoveries checked",
        plan.len(),
        random_trials,
        states.len(),
        trials_time.as_secs_f64(),
        starts_time.as_secs_f64(),
        setup.as_secs_f64()
    ));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        plan.len() >= 200 || random_trials < 100,
        "{} trials",
        plan.len()
    );
}

/// Running `--restart cmd:` commands of this supervisor (they name its
/// request file).
fn restart_commands(sv: &Supervised) -> Vec<u32> {
    let req = sv.dir.join("ctl/restart");
    let needle = req.as_os_str().as_bytes();
    support::processes_under(&sv.dir)
        .into_iter()
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_faults_kills_during_the_restart() {
    let live = live("live_faults_kills_during_the_restart");
    let seed = seed() ^ 0x5eed;
    let trials = env_usize("DOCKHARD_FAULT_RESTART_TRIALS", 3);
    let mut rng = Rng(seed);
    let sv = Supervised::start(&live, UNIT_FLAGS, INITIAL_JSON);
    let before = read_state(&sv);
    let restart = sv.restart_cmd();
    let args = |sv: &Supervised| {
        let mut a: Vec<&str> = RULES.to_vec();
        a.extend_from_slice(&["--restart", &restart, "--apply", "--yes"]);
        sv.fix_args(&a)
    };
    // The uninterrupted run: its duration and the new files.
    let t = Instant::now();
    let (code, out) = sv.dockhard(&args(&sv).iter().map(String::as_str).collect::<Vec<_>>());
    let full = t.elapsed();
    assert_eq!(code, 0, "{out}");
    let after = read_state(&sv);
    check_daemon_config(&sv, "uninterrupted").unwrap();
    let sc = Scenario {
        name: "restart",
        args: Vec::new(),
        before: before.clone(),
        after: after.clone(),
        duration: full,
    };
    for k in 0..trials {
        put_state(&sv, &before);
        sv.restart().unwrap();
        let delay = Duration::from_micros(rng.below(full.as_micros() as u64));
        let label = format!("restart trial {k}: kill after {delay:?} (seed {seed})");
        let st = kill_after(&sv, &args(&sv), delay);
        // The supervisor serves a restart a killed run asked for (its
        // restart command outlives it).
        let ok = support::poll(Duration::from_secs(70), || {
            (!sv.restart_pending() && restart_commands(&sv).is_empty()).then_some(())
        });
        assert!(ok.is_some(), "{label}: a restart request is never served");
        assert!(sv.wait_ping(), "{label}: dockerd does not come back");
        let obs = inspect(&sv, &sc, &label);
        if !killed(&st) {
            assert_eq!(obs.state, after, "{label}: finished ({st})");
        }
        // A fresh run ends with the new configuration running.
        let (code, out) = sv.dockhard(&args(&sv).iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, 0, "{label}: fresh fix --apply:\n{out}");
        assert_eq!(read_state(&sv), after, "{label}: fresh fix --apply");
        check_daemon_config(&sv, &label).unwrap();
        let (lr, icc) = expected_config(&sv);
        assert!(lr && !icc, "{label}: {}", describe(&read_state(&sv)));
    }
    loud(&format!(
        "[faults] {trials} kills during the restart (seed {seed}, DOCKHARD_FAULT_RESTART_TRIALS), uninterrupted run {:.1} s",
        full.as_secs_f64()
    ));
}
