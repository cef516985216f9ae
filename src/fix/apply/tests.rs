use super::*;
use std::os::unix::fs::symlink;

fn meta(p: &Path) -> (u32, u32, u32) {
    let m = fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.mode() & 0o7777, m.uid(), m.gid())
}

fn write(p: &Path, s: &str, mode: u32) {
    fs::write(p, s).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap_or_else(|e| panic!("{e}"));
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn keeps_mode_and_owner() {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = d.path().join("daemon.json");
    write(&p, "{}\n", 0o640);
    if is_root() {
        std::os::unix::fs::chown(&p, Some(1234), Some(2345)).unwrap_or_else(|e| panic!("{e}"));
    }
    let before = meta(&p);
    atomic_write(&p, b"{\"icc\": false}\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read(&p), "{\"icc\": false}\n");
    assert_eq!(meta(&p), before);
    if is_root() {
        assert_eq!(before, (0o640, 1234, 2345));
    }
    // No temporary file left behind.
    assert_eq!(entries(d.path()), ["daemon.json"]);
    // A new file: 0644, root when we are root.
    let n = d.path().join("new.conf");
    atomic_write(&n, b"x").unwrap_or_else(|e| panic!("{e}"));
    let (mode, uid, _) = meta(&n);
    assert_eq!(mode, 0o644);
    if is_root() {
        assert_eq!(uid, 0);
    }
    // Writing the empty content is a real (empty) file, not a failure.
    atomic_write(&n, b"").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read(&n), "");
}

#[test]
fn refuses_symlinks_and_non_files() {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let target = d.path().join("target");
    write(&target, "old", 0o644);
    let link = d.path().join("link");
    symlink(&target, &link).unwrap_or_else(|e| panic!("{e}"));
    let e = atomic_write(&link, b"new").err().map(|e| e.to_string());
    assert_eq!(
        e,
        Some(format!(
            "write {}: refusing to follow the symbolic link {} (dockhard never writes through links)",
            link.display(),
            link.display()
        ))
    );
    assert_eq!(read(&target), "old");
    // A symlinked parent directory.
    let real = d.path().join("real");
    fs::create_dir(&real).unwrap_or_else(|e| panic!("{e}"));
    let ldir = d.path().join("ldir");
    symlink(&real, &ldir).unwrap_or_else(|e| panic!("{e}"));
    assert!(atomic_write(&ldir.join("f"), b"x").is_err());
    assert!(!real.join("f").exists());
    // A directory is not a file.
    let e = atomic_write(&real, b"x").err().map(|e| e.to_string());
    assert_eq!(
        e,
        Some(format!("write {}: not a regular file", real.display()))
    );
    // Backups and locks refuse links too.
    assert!(backup(std::slice::from_ref(&link), &d.path().join("b")).is_err());
    assert!(Lock::acquire(&link).is_err());
}

/// Makes `dir` unwritable (even for root: `chattr +i`) until dropped.
struct ReadOnly(PathBuf, bool);

impl ReadOnly {
    fn new(dir: &Path) -> Option<ReadOnly> {
        if is_root() {
            let ok = std::process::Command::new("chattr")
                .arg("+i")
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
            ok.then(|| ReadOnly(dir.to_path_buf(), true))
        } else {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).ok()?;
            Some(ReadOnly(dir.to_path_buf(), false))
        }
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.1 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.0)
                .status();
        } else {
            let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o755));
        }
    }
}

#[test]
fn read_only_directory_is_a_clear_error_and_keeps_the_file() {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = d.path().join("etc");
    fs::create_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let p = dir.join("daemon.json");
    write(&p, "{\"old\": true}\n", 0o644);
    let Some(_ro) = ReadOnly::new(&dir) else {
        panic!("cannot make {} read-only (chattr missing?)", dir.display());
    };
    let e = atomic_write(&p, b"{}")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.starts_with(&format!(
            "write: create a temporary file for {}: ",
            p.display()
        )),
        "{e}"
    );
    drop(_ro);
    assert_eq!(read(&p), "{\"old\": true}\n");
    assert_eq!(entries(&dir), ["daemon.json"]);
}

#[test]
fn backup_and_restore_round_trip() {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = d.path().join("backups");
    let a = d.path().join("daemon.json");
    let b = d.path().join("zz-dockhard.conf");
    // World-readable original: its backup is still 0600 in a 0700 set.
    write(&a, "{\"icc\": true}\n", 0o644);
    if is_root() {
        std::os::unix::fs::chown(&a, Some(1000), Some(1001)).unwrap_or_else(|e| panic!("{e}"));
    }
    let a_meta = meta(&a);
    let set = backup(&[a.clone(), b.clone()], &root).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(meta(&set.dir).0, 0o700);
    assert_eq!(meta(&set.dir.join("0.bak")).0, 0o600);
    assert_eq!(meta(&set.dir.join(MANIFEST_NAME)).0, 0o600);
    assert_eq!(entries(&set.dir), ["0.bak", MANIFEST_NAME]);
    let m = &set.manifest;
    assert_eq!(m.entries.len(), 2);
    assert!(m.entries[0].existed);
    assert_eq!(m.entries[0].mode, Some(a_meta.0));
    assert_eq!(m.entries[0].uid, Some(a_meta.1));
    assert_eq!(m.entries[0].size, Some(14));
    assert_eq!(
        m.entries[0].sha256.as_deref(),
        Some(sha256_hex(b"{\"icc\": true}\n").as_str())
    );
    assert!(!m.entries[1].existed);
    assert_eq!(read_manifest(&set.dir).ok().as_ref(), Some(m));
    assert_eq!(latest_backup(&root).ok().flatten(), Some(set.clone()));

    // Change both, then roll back.
    atomic_write(&a, b"{\"icc\": false}\n").unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&a, fs::Permissions::from_mode(0o644)).unwrap_or_else(|e| panic!("{e}"));
    atomic_write(&b, b"[Service]\n").unwrap_or_else(|e| panic!("{e}"));
    let done = restore(&set.dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done, [a.clone(), b.clone()]);
    assert_eq!(read(&a), "{\"icc\": true}\n");
    assert_eq!(meta(&a), a_meta);
    assert!(!b.exists());
    // Restoring twice changes nothing.
    assert!(restore(&set.dir).is_ok());
    assert_eq!(read(&a), "{\"icc\": true}\n");

    // A second set is the latest one.
    let set2 = backup(std::slice::from_ref(&a), &root).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(set2.dir, set.dir);
    assert_eq!(
        latest_backup(&root).ok().flatten().map(|s| s.dir),
        Some(set2.dir)
    );
    assert_eq!(latest_backup(&d.path().join("none")).ok(), Some(None));
}

#[test]
fn restore_checks_every_copy_first() {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = d.path().join("backups");
    let a = d.path().join("a");
    let b = d.path().join("b");
    write(&a, "A", 0o644);
    write(&b, "B", 0o644);
    let set = backup(&[a.clone(), b.clone()], &root).unwrap_or_else(|e| panic!("{e}"));
    write(&a, "A2", 0o644);
    write(&b, "B2", 0o644);
    write(&set.dir.join("1.bak"), "X", 0o600);
    let e = restore(&set.dir)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("does not match the manifest"), "{e}");
    // Nothing was written, not even the good copy of `a`.
    assert_eq!(read(&a), "A2");
    assert_eq!(read(&b), "B2");
}

#[test]
fn locks_exclude_each_other() {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = d.path().join("dockhard.lock");
    let first = Lock::acquire(&p).unwrap_or_else(|e| panic!("{e}"));
    let e = Lock::acquire(&p).err().map(|e| e.to_string());
    assert_eq!(
        e,
        Some(format!(
            "lock {}: another dockhard (pid {}) is changing the configuration; try again when it has finished",
            p.display(),
            std::process::id()
        ))
    );
    // From another thread, with a timeout.
    let p2 = p.clone();
    let r =
        std::thread::spawn(move || Lock::acquire_timeout(&p2, Duration::from_millis(100)).is_err())
            .join();
    assert_eq!(r.ok(), Some(true));
    drop(first);
    let again = Lock::acquire_timeout(&p, Duration::from_secs(5));
    assert!(again.is_ok(), "{again:?}");
}

#[test]
fn a_failed_backup_leaves_no_set() {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = d.path().join("backups");
    let a = d.path().join("a");
    write(&a, "A", 0o644);
    // The second path is a directory: the backup fails after copying `a`.
    let e = backup(&[a, d.path().to_path_buf()], &root)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("not a regular file"), "{e}");
    assert_eq!(entries(&root), Vec::<String>::new());
    assert_eq!(latest_backup(&root).ok(), Some(None));
}

#[test]
fn restore_leaves_unchanged_files_alone() {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = d.path().join("backups");
    let (etc, unit) = (d.path().join("etc"), d.path().join("unit.d"));
    fs::create_dir(&etc).unwrap_or_else(|e| panic!("{e}"));
    fs::create_dir(&unit).unwrap_or_else(|e| panic!("{e}"));
    let a = etc.join("daemon.json");
    let b = unit.join("zz-dockhard.conf");
    write(&a, "{}\n", 0o644);
    let set = backup(&[a.clone(), b.clone()], &root).unwrap_or_else(|e| panic!("{e}"));
    // Only `b` was written when the run failed; `a` cannot be written now
    // (a full or read-only filesystem): the restore does not need to.
    atomic_write(&b, b"[Service]\n").unwrap_or_else(|e| panic!("{e}"));
    let Some(ro) = ReadOnly::new(&etc) else {
        panic!("cannot make {} read-only (chattr missing?)", etc.display());
    };
    let done = restore(&set.dir);
    drop(ro);
    assert_eq!(done.ok(), Some(vec![a.clone(), b.clone()]));
    assert!(!b.exists());
    assert_eq!(read(&a), "{}\n");
    // A changed mode alone is restored.
    fs::set_permissions(&a, fs::Permissions::from_mode(0o600)).unwrap_or_else(|e| panic!("{e}"));
    assert!(restore(&set.dir).is_ok());
    assert_eq!(meta(&a).0, 0o644);
}

#[test]
fn temporaries_of_dead_writers_are_removed() {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = d.path().join("zz-dockhard.conf");
    // pid_max is at most 2^22: 99999999 never runs.
    let dead = ".zz-dockhard.conf.dockhard-99999999-3.tmp";
    let ours = format!(".zz-dockhard.conf.dockhard-{}-999.tmp", std::process::id());
    let alive = ".zz-dockhard.conf.dockhard-1-0.tmp";
    let other = ".other.conf.dockhard-99999999-0.tmp";
    let odd = ".zz-dockhard.conf.dockhard-99999999-x.tmp";
    for n in [dead, ours.as_str(), alive, other, odd] {
        write(&d.path().join(n), "partial", 0o600);
    }
    atomic_write(&p, b"[Service]\n").unwrap_or_else(|e| panic!("{e}"));
    let mut want = vec![alive, other, ours.as_str(), odd, "zz-dockhard.conf"];
    want.sort();
    assert_eq!(entries(d.path()), want);
    assert_eq!(read(&p), "[Service]\n");
}

fn perm_entry(p: &Path, old: (u32, u32, u32), new: (u32, u32, u32)) -> PermEntry {
    PermEntry {
        path: p.to_path_buf(),
        dev: None,
        ino: None,
        old_mode: old.0,
        old_uid: old.1,
        old_gid: old.2,
        new_mode: new.0,
        new_uid: new.1,
        new_gid: new.2,
    }
}

#[test]
fn owner_and_mode_are_changed_recorded_and_restored() {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let a = d.path().join("daemon.json");
    let b = d.path().join("docker.service");
    write(&a, "{}\n", 0o666);
    write(&b, "[Service]\n", 0o664);
    let (ma, mb) = (meta(&a), meta(&b));
    let ea = perm_entry(&a, ma, (0o644, ma.1, ma.2));
    let eb = perm_entry(&b, mb, (0o644, mb.1, mb.2));
    let held: Vec<HeldPerm> = [&ea, &eb]
        .iter()
        .map(|e| perm_open(e).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert!(
        held.iter()
            .all(|h| h.entry.dev.is_some() && h.entry.ino.is_some())
    );
    let root = d.path().join("backups");
    let entries: Vec<PermEntry> = held.iter().map(|h| h.entry.clone()).collect();
    let set = backup_with(&[], &entries, &root).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read_manifest(&set.dir).ok().map(|m| m.perms), Some(entries));
    // Killed between the two changes: only the first is made.
    held[0].apply().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(meta(&a).0, 0o644);
    assert_eq!(meta(&b).0, 0o664);
    let restored = restore(&set.dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(restored, std::slice::from_ref(&a));
    assert_eq!((meta(&a), meta(&b)), (ma, mb));
    // Both made, both restored.
    for h in &held {
        h.apply().unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!((meta(&a).0, meta(&b).0), (0o644, 0o644));
    restore(&set.dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((meta(&a), meta(&b)), (ma, mb));
}

#[test]
fn a_file_changed_or_replaced_since_the_plan_is_refused() {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let a = d.path().join("daemon.json");
    write(&a, "{}\n", 0o666);
    let m = meta(&a);
    let md = fs::symlink_metadata(&a).unwrap_or_else(|e| panic!("{e}"));
    let mut e = perm_entry(&a, m, (0o644, m.1, m.2));
    e.dev = Some(md.dev());
    e.ino = Some(md.ino());
    // Its mode changed since.
    fs::set_permissions(&a, fs::Permissions::from_mode(0o660)).unwrap_or_else(|e| panic!("{e}"));
    let err = perm_open(&e).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("changed since it was read (0660"), "{err}");
    assert!(err.contains(&a.display().to_string()), "{err}");
    // Replaced by another file with the same mode and owner (renamed over
    // it while the old one exists: another inode for sure).
    fs::set_permissions(&a, fs::Permissions::from_mode(0o666)).unwrap_or_else(|e| panic!("{e}"));
    let other = d.path().join("other.json");
    write(&other, "{}\n", 0o666);
    fs::rename(&other, &a).unwrap_or_else(|e| panic!("{e}"));
    let err = perm_open(&e).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("replaced since it was read"), "{err}");
    assert_eq!(meta(&a).0, 0o666, "nothing changed");
}

#[test]
fn a_symbolic_link_is_never_followed_for_a_mode_change() {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let real = d.path().join("real.json");
    write(&real, "{}\n", 0o666);
    let link = d.path().join("daemon.json");
    symlink(&real, &link).unwrap_or_else(|e| panic!("{e}"));
    let m = meta(&real);
    let err = perm_open(&perm_entry(&link, m, (0o644, m.1, m.2)))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("symbolic link"), "{err}");
    // A link in a parent directory too.
    let sub = d.path().join("sub");
    fs::create_dir(&sub).unwrap_or_else(|e| panic!("{e}"));
    write(&sub.join("f"), "", 0o666);
    let via = d.path().join("via");
    symlink(&sub, &via).unwrap_or_else(|e| panic!("{e}"));
    let m = meta(&sub.join("f"));
    let err = perm_open(&perm_entry(&via.join("f"), m, (0o644, m.1, m.2)))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(meta(&real).0, 0o666);
    assert_eq!(meta(&sub.join("f")).0, 0o666);
}

#[test]
fn restore_refuses_a_file_replaced_after_the_change() {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let a = d.path().join("daemon.json");
    write(&a, "{}\n", 0o666);
    let m = meta(&a);
    let h = perm_open(&perm_entry(&a, m, (0o644, m.1, m.2))).unwrap_or_else(|e| panic!("{e}"));
    let set = backup_with(&[], std::slice::from_ref(&h.entry), &d.path().join("b"))
        .unwrap_or_else(|e| panic!("{e}"));
    h.apply().unwrap_or_else(|e| panic!("{e}"));
    drop(h);
    let other = d.path().join("other.json");
    write(&other, "{\"other\": 1}\n", 0o644);
    fs::rename(&other, &a).unwrap_or_else(|e| panic!("{e}"));
    let err = restore(&set.dir).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("replaced since dockhard changed it"), "{err}");
    assert_eq!(meta(&a).0, 0o644);
}
