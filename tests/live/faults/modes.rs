//! Kills between owner and mode changes (`fix --rule files.* --apply`).
//!
//! The supervised daemon's daemon.json (0666, group 1), its unit (0664) and
//! a drop-in (0666), all under the test directory, are fixed in place. The
//! uninterrupted run is traced to find the write-side calls of the changes
//! (`fchownat(fd, "", AT_EMPTY_PATH)` and `chmod("/proc/self/fd/N")`), then
//! the run is killed on entry of each of them in turn: every file is then
//! exactly old or new (the changes made before the kill, none after), the
//! lock is free, the change set recorded every old value before the first
//! change, and `fix --rollback` restores every recorded value. A fresh
//! `fix --apply` after a kill completes the rest.

use super::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

/// (mode, uid, gid)
type Perm = (u32, u32, u32);

fn perm(p: &Path) -> Perm {
    let m = fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.mode() & 0o7777, m.uid(), m.gid())
}

/// Set `p` (a file under the test directory) to `to`.
fn set_perm(sv: &Supervised, p: &Path, to: Perm) {
    assert!(p.starts_with(&sv.dir), "{}", p.display());
    std::os::unix::fs::chown(p, Some(to.1), Some(to.2)).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(to.0)).unwrap();
}

/// The write-side points of the owner and mode changes in a traced run:
/// (syscall, N) for the N-th call of the syscall.
fn change_points(sv: &Supervised, strace: &Path, args: &[String]) -> Vec<Point> {
    let log = sv.dir.join("strace-modes.log");
    let st = sv
        .command(strace)
        .arg("-o")
        .arg(&log)
        .args(["-e", "trace=chmod,fchownat"])
        .arg("--")
        .arg(DOCKHARD)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "traced run: {st}");
    let text = fs::read_to_string(&log).unwrap();
    let _ = fs::remove_file(&log);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut points = Vec::new();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once('(') else {
            continue;
        };
        if name.contains(' ') || name.starts_with("+++") {
            continue;
        }
        let n = counts.entry(name.to_string()).or_default();
        *n += 1;
        let ours = (name == "chmod" && rest.starts_with("\"/proc/self/fd/"))
            || (name == "fchownat" && rest.contains("AT_EMPTY_PATH"));
        if ours {
            points.push((name.to_string(), *n));
        }
    }
    points
}

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_faults_kills_between_mode_changes() {
    let test = "live_faults_kills_between_mode_changes";
    let live = live(test);
    let strace = strace(test);
    let sv = Supervised::start(&live, "", INITIAL_JSON);
    let dropin_dir = PathBuf::from(format!("{}.d", sv.unit.display()));
    fs::create_dir_all(&dropin_dir).unwrap();
    let dropin = dropin_dir.join("10-test.conf");
    fs::write(&dropin, "[Service]\n").unwrap();
    let files: [(PathBuf, Perm, Perm); 3] = [
        (sv.config.clone(), (0o666, 0, 1), (0o644, 0, 0)),
        (sv.unit.clone(), (0o664, 0, 0), (0o644, 0, 0)),
        (dropin.clone(), (0o666, 0, 0), (0o644, 0, 0)),
    ];
    let reset = || {
        for (p, old, _) in &files {
            set_perm(&sv, p, *old);
        }
    };
    let state = || files.iter().map(|(p, _, _)| perm(p)).collect::<Vec<Perm>>();
    let old: Vec<Perm> = files.iter().map(|f| f.1).collect();
    let new: Vec<Perm> = files.iter().map(|f| f.2).collect();
    let args = sv.fix_args(&[
        "--rule",
        "files.daemon-json",
        "--rule",
        "files.docker-service",
        "--apply",
        "--yes",
    ]);
    let rollback = sv.fix_args(&["--rollback"]);
    reset();
    let points = change_points(&sv, &strace, &args);
    assert_eq!(state(), new, "the traced run");
    // One chown (daemon.json's group) and three chmods.
    assert_eq!(points.len(), 4, "{points:?}");
    let started = Instant::now();
    for (k, point) in points.iter().enumerate() {
        let label = format!("killed before {}#{}", point.0, point.1);
        reset();
        let sets_before = backup_sets(&sv, &label).0;
        let st = kill_at_syscall_args(&sv, &args, &strace, point);
        assert!(killed(&st), "{label}: {st}");
        assert_lock_free(&sv, &label);
        let now = state();
        // Each file is old, new, or (between its chown and its chmod) new
        // owner and old mode; the changes before the kill are made, the
        // others not.
        if k == 0 {
            assert_eq!(now, old, "{label}");
        }
        for (i, (p, o, n)) in files.iter().enumerate() {
            assert!(
                now[i] == *o || now[i] == *n || now[i] == (o.0, n.1, n.2),
                "{label}: {} is {:o}:{}:{}",
                p.display(),
                now[i].0,
                now[i].1,
                now[i].2
            );
        }
        assert_ne!(now, new, "{label}: not everything was changed");
        // The change set was written before the first change.
        let sets = backup_sets(&sv, &label);
        assert_eq!(sets, (sets_before + 1, 0), "{label}");
        if k % 2 == 1 {
            // A fresh run completes the rest, and its rollback returns to
            // what the killed run left.
            let (st, _) = run_quiet(&sv, &args);
            assert!(st.success(), "{label}: fresh run: {st}");
            assert_eq!(state(), new, "{label}: fresh run");
            let (st, _) = run_quiet(&sv, &rollback);
            assert!(st.success(), "{label}: rollback of the fresh run: {st}");
            assert_eq!(state(), now, "{label}: rollback of the fresh run");
        } else {
            let (st, _) = run_quiet(&sv, &rollback);
            assert!(st.success(), "{label}: rollback: {st}");
            assert_eq!(
                state(),
                old,
                "{label}: rollback restores every recorded value"
            );
        }
    }
    eprintln!(
        "[faults-modes] {} kills between owner and mode changes in {:.1} s",
        points.len(),
        started.elapsed().as_secs_f64()
    );
    reset();
    // Nothing but the daemon's own files changed, and it still answers.
    assert!(sv.wait_ping());
}

/// Run `args` under strace, killed on entry of `point`.
fn kill_at_syscall_args(
    sv: &Supervised,
    args: &[String],
    strace: &Path,
    point: &Point,
) -> ExitStatus {
    sv.command(strace)
        .args(["-o", "/dev/null", "-e"])
        .arg(format!("trace={}", point.0))
        .arg("-e")
        .arg(format!("inject={}:signal=KILL:when={}", point.0, point.1))
        .arg("--")
        .arg(DOCKHARD)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
}
