//! Refused writes, a failing restart, two runs at once.

use super::*;

// ---------------------------------------------------------------------------
// Refused writes

/// A mount made by the test, detached on drop.
struct Mount(PathBuf);

impl Mount {
    fn run(args: &[&str]) {
        let out = Command::new("mount").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "mount {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A tmpfs of `size` on `dir`.
    fn tmpfs(dir: &Path, size: &str) -> Mount {
        fs::create_dir_all(dir).unwrap();
        let d = dir.display().to_string();
        Self::run(&[
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size},mode=0755"),
            "tmpfs",
            &d,
        ]);
        Mount(dir.to_path_buf())
    }

    /// `dir` bind-mounted read-only onto itself.
    fn read_only(dir: &Path) -> Mount {
        let d = dir.display().to_string();
        Self::run(&["--bind", &d, &d]);
        let m = Mount(dir.to_path_buf());
        Self::run(&["-o", "remount,bind,ro", &d]);
        m
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let c = std::ffi::CString::new(self.0.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } != 0 {
            eprintln!(
                "umount {}: {}",
                self.0.display(),
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Fill the filesystem holding `dir` (a file `dir/filler`).
fn fill(dir: &Path) {
    use std::io::Write;
    let mut f = fs::File::create(dir.join("filler")).unwrap();
    let chunk = vec![0u8; 4096];
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("fill {}: {e}", dir.display()),
        }
    }
    // The last partial page too.
    while f.write(&[0]).is_ok_and(|n| n == 1) {}
}

/// A refused run changed nothing: same files under D/etc, same daemon
/// (pid, no restart, still answering, same configuration).
struct Untouched {
    files: BTreeMap<PathBuf, Vec<u8>>,
    pid: u32,
    starts: usize,
}

impl Untouched {
    fn now(sv: &Supervised) -> Untouched {
        Untouched {
            files: files_under(&sv.dir.join("etc")),
            pid: sv.pid(),
            starts: sv.starts(),
        }
    }

    fn check(&self, sv: &Supervised, label: &str) {
        let files = files_under(&sv.dir.join("etc"));
        let changed: Vec<&PathBuf> = files
            .keys()
            .chain(self.files.keys())
            .filter(|p| files.get(*p) != self.files.get(*p))
            .collect();
        assert!(changed.is_empty(), "{label}: changed or left: {changed:?}");
        assert_eq!(sv.pid(), self.pid, "{label}: dockerd was restarted");
        assert_eq!(sv.starts(), self.starts, "{label}: dockerd was restarted");
        assert!(sv.wait_ping(), "{label}: dockerd does not answer");
        check_daemon_config(sv, label).unwrap();
    }
}

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_faults_full_disk_and_read_only_etc() {
    let live = live("live_faults_full_disk_and_read_only_etc");
    let sv = Supervised::start(&live, UNIT_FLAGS, INITIAL_JSON);
    let restart = sv.restart_cmd();
    let fix = |method: &str, backup_dir: Option<&Path>| {
        let mut a: Vec<String> = RULES.iter().map(|s| s.to_string()).collect();
        a.extend(
            [
                "--method",
                method,
                "--restart",
                &restart,
                "--apply",
                "--yes",
            ]
            .map(String::from),
        );
        let mut all = sv.fix_args(&a.iter().map(String::as_str).collect::<Vec<_>>());
        if let Some(b) = backup_dir {
            let i = all.iter().position(|x| x == "--backup-dir").unwrap();
            all[i + 1] = b.display().to_string();
        }
        sv.dockhard(&all.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let etc = sv.dir.join("etc");
    let etc_docker = sv.config.parent().unwrap().to_path_buf();

    // 1. The directory of daemon.json on a full tmpfs.
    {
        let _m = Mount::tmpfs(&etc_docker, "64k");
        fs::write(&sv.config, INITIAL_JSON).unwrap();
        fill(&etc_docker);
        let u = Untouched::now(&sv);
        for method in ["auto", "daemon-json"] {
            let label = format!("full daemon.json directory, --method {method}");
            let (code, out) = fix(method, None);
            assert_refused(
                &label,
                code,
                &out,
                "No space left on device",
                &format!("{}:", sv.config.display()),
            );
            u.check(&sv, &label);
            // Whatever set was made is already undone.
            let (code, out) = sv.fix(&["--rollback", "--restart", "none"]);
            assert!(code == 0 || code == 2, "{label}: --rollback:\n{out}");
            u.check(&sv, &format!("{label}, then --rollback"));
        }
    }
    put_state(&sv, &read_state(&sv));

    // 2. The backup directory on a full tmpfs.
    {
        let full = sv.dir.join("fullbackups");
        let _m = Mount::tmpfs(&full, "64k");
        fill(&full);
        let u = Untouched::now(&sv);
        let label = "full backup directory";
        let (code, out) = fix("auto", Some(&full));
        assert_refused(
            label,
            code,
            &out,
            "No space left on device",
            &full.display().to_string(),
        );
        u.check(&sv, label);
        let left: Vec<_> = fs::read_dir(&full)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "filler" && n != "dockhard.lock")
            .collect();
        assert!(
            left.is_empty(),
            "{label}: left in the backup directory: {left:?}"
        );
    }

    // 3. A read-only /etc.
    {
        let _m = Mount::read_only(&etc);
        let u = Untouched::now(&sv);
        for method in ["auto", "daemon-json"] {
            let label = format!("read-only etc, --method {method}");
            let (code, out) = fix(method, None);
            assert_refused(
                &label,
                code,
                &out,
                "Read-only file system",
                &etc.display().to_string(),
            );
            u.check(&sv, &label);
        }
    }
}

/// A refused `fix --apply`: exit 2, the system's error `why`, and the path
/// at fault (`names`) in the message.
fn assert_refused(label: &str, code: i32, out: &str, why: &str, names: &str) {
    println!("{label}: exit {code}\n{}", last_lines(out, 3));
    assert_eq!(code, 2, "{label}:\n{out}");
    assert!(out.contains(why), "{label}:\n{out}");
    assert!(
        out.contains(names),
        "{label}: the error names {names}:\n{out}"
    );
}

// ---------------------------------------------------------------------------
// A failing restart

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_faults_failing_restart_command_rolls_back() {
    let live = live("live_faults_failing_restart_command_rolls_back");
    let sv = Supervised::start(&live, UNIT_FLAGS, INITIAL_JSON);
    let before = read_state(&sv);
    let fix = |restart: &str| {
        let mut a: Vec<&str> = RULES.to_vec();
        a.extend_from_slice(&[
            "--restart",
            restart,
            "--apply",
            "--yes",
            "--wait-secs",
            "20",
        ]);
        sv.fix(&a)
    };

    // The command fails without restarting: the old daemon never stopped.
    let pid = sv.pid();
    let starts = sv.starts();
    let (code, out) = fix("cmd:echo restart refused >&2; exit 3");
    println!("refused restart: exit {code}\n{}", last_lines(&out, 6));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("was not restarted: it runs with the previous configuration"),
        "{out}"
    );
    assert!(out.contains("FAILED"), "{out}");
    assert!(out.contains("restored"), "{out}");
    assert_eq!(read_state(&sv), before, "{out}");
    assert_eq!((sv.pid(), sv.starts()), (pid, starts), "{out}");
    check_daemon_config(&sv, "after a refused restart").unwrap();
    let (lr, icc) = expected_config(&sv);
    assert!(!lr && icc);

    // The command restarts dockerd (with the new files), then fails: the
    // rollback restarts it again with the old ones.
    let cmd = format!("{}; exit 1", sv.restart_cmd());
    let (code, out) = fix(&cmd);
    println!(
        "failing restart command: exit {code}\n{}",
        last_lines(&out, 6)
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("restored"), "{out}");
    assert_eq!(read_state(&sv), before, "{out}");
    assert!(sv.starts() >= starts + 2, "restarted twice:\n{out}");
    assert!(sv.wait_ping(), "{out}");
    assert_ne!(sv.pid(), pid);
    check_daemon_config(&sv, "after a failing restart command").unwrap();
    let (code, out) = sv.fix(&["--rollback", "--restart", "none"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("already rolled back"), "{out}");
}

// ---------------------------------------------------------------------------
// Two runs at once

/// Hold dockhard's lock (as another dockhard would) until dropped.
fn hold_lock(sv: &Supervised) -> fs::File {
    fs::create_dir_all(&sv.backups).unwrap();
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(sv.backups.join("dockhard.lock"))
        .unwrap();
    // SAFETY: flock on a descriptor we own.
    assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
    f
}

fn spawn(sv: &Supervised, args: &[String]) -> Child {
    sv.command(DOCKHARD)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(c: Child) -> (i32, String) {
    let out = c.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_faults_two_applies_at_once() {
    // Finds the daemon without --pid (scenario 4): no other test's dockerd
    // may run.
    let live = live_exclusive("live_faults_two_applies_at_once");
    let sv = Supervised::start(&live, UNIT_FLAGS, INITIAL_JSON);
    let init = read_state(&sv);
    let lock = sv.backups.join("dockhard.lock").display().to_string();
    let none = |rules: &[&str]| {
        let mut a = rules.to_vec();
        a.extend_from_slice(&["--restart", "none", "--apply", "--yes"]);
        sv.fix_args(&a)
    };

    // 1. Both started while the lock is held (both have read the same old
    //    files): they wait; the one that goes second sees the first's
    //    files and changes nothing.
    put_state(&sv, &init);
    let held = hold_lock(&sv);
    let (a, b) = (spawn(&sv, &none(&RULES)), spawn(&sv, &none(&RULES)));
    thread::sleep(Duration::from_millis(1500));
    drop(held);
    let ((ca, oa), (cb, ob)) = (finish(a), finish(b));
    assert_eq!((ca, cb), (0, 0), "{oa}\n---\n{ob}");
    let (complete, incomplete) = backup_sets(&sv, "same rules");
    assert_eq!(
        (complete, incomplete),
        (1, 0),
        "one backup set:\n{oa}\n---\n{ob}"
    );
    let after = read_state(&sv);
    put_state(&sv, &init);
    let (st, _) = run_quiet(&sv, &none(&RULES));
    assert!(st.success());
    assert_eq!(after, read_state(&sv), "the files of one uninterrupted run");

    // 2. Different changes to the same drop-in at once: none is lost (the
    //    end state is that of one run fixing all three rules).
    put_state(&sv, &init);
    let held = hold_lock(&sv);
    let a = spawn(
        &sv,
        &none(&["--rule", "daemon.icc", "--rule", "daemon.live-restore"]),
    );
    let b = spawn(&sv, &none(&["--rule", "daemon.userland-proxy"]));
    thread::sleep(Duration::from_millis(1500));
    drop(held);
    let ((ca, oa), (cb, ob)) = (finish(a), finish(b));
    assert_eq!((ca, cb), (0, 0), "{oa}\n---\n{ob}");
    assert_eq!(
        read_state(&sv),
        after,
        "{}\n{oa}\n---\n{ob}",
        describe(&read_state(&sv))
    );
    let (complete, _) = backup_sets(&sv, "different rules");
    assert_eq!(complete, 2, "one backup set per run:\n{oa}\n---\n{ob}");

    // 3. The lock held longer than dockhard waits: refused, naming the lock.
    put_state(&sv, &init);
    let held = hold_lock(&sv);
    let (code, out) = finish(spawn(&sv, &none(&RULES)));
    drop(held);
    println!("lock held: exit {code}\n{}", last_lines(&out, 2));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&lock) && out.contains("another dockhard"),
        "{out}"
    );
    assert_eq!(read_state(&sv), init, "{out}");

    // 4. Two real runs with a restart: one waits (or refuses, naming the
    //    lock); the new configuration runs; one backup set.
    put_state(&sv, &init);
    let restart = sv.restart_cmd();
    let mut r: Vec<&str> = RULES.to_vec();
    r.extend_from_slice(&["--restart", &restart, "--apply", "--yes"]);
    // No --pid: the second run must find the daemon the first restarted.
    let mut args = sv.fix_args(&r);
    let i = args.iter().position(|a| a == "--pid").unwrap();
    args.drain(i..i + 2);
    let (a, b) = (spawn(&sv, &args), spawn(&sv, &args));
    let ((ca, oa), (cb, ob)) = (finish(a), finish(b));
    let both = format!("{oa}\n---\n{ob}");
    println!(
        "two runs with a restart: exit {ca}, {cb}\n{}\n---\n{}",
        last_lines(&oa, 3),
        last_lines(&ob, 3)
    );
    assert!(ca == 0 || cb == 0, "{both}");
    for (c, o) in [(ca, &oa), (cb, &ob)] {
        assert!(
            c == 0 || (c == 2 && o.contains(&lock)),
            "neither done nor a refusal naming the lock:\n{both}"
        );
    }
    assert_eq!(read_state(&sv), after, "{both}");
    assert_eq!(backup_sets(&sv, "with restart"), (1, 0), "{both}");
    assert!(sv.wait_ping());
    check_daemon_config(&sv, "two runs with a restart").unwrap();
    let (lr, icc) = expected_config(&sv);
    assert!(lr && !icc, "{both}");
}
