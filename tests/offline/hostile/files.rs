//! Hostile files: symlinks to secrets, 100 MiB files, deep nesting, non-UTF-8 bytes, FIFOs and devices, continuation lines (cases 1 to 6).

use super::*;

// ---------------------------------------------------------------------------
// 1. A symlink to a secret where daemon.json (or an EnvironmentFile) is
// ---------------------------------------------------------------------------

const KEY_MARK: &str = "DOCKHARD-TEST-SECRET-KEY-MATERIAL";
const SHADOW_MARK: &str = "DOCKHARD-TEST-SECRET-HASH";

/// `check --root ROOT` must exit 2; the message of daemon.config-valid.
fn config_valid_message(name: &str, root: &Path) -> Value {
    let r = report(name, &check_root(name, root, &[]), 2);
    result(&r, "daemon.config-valid")["message"].clone()
}

fn secret_key() -> String {
    format!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ{KEY_MARK}AAAAAQAAADMAAAALc3No\nZC1lZDI1NTE5AAAAIDk0bW9yZS1zZWNyZXQtYnl0ZXMtaGVyZQ==\n-----END OPENSSH PRIVATE KEY-----\n"
    )
}

fn secret_shadow() -> String {
    format!(
        "root:$6$rounds=5000${SHADOW_MARK}$Xq1vZ2:19700:0:99999:7:::\nalice:$y$j9T$abc$def:19700:0:99999:7:::\n"
    )
}

/// Every output of `check` (stdout in `--format`, the five files of
/// `--output-dir`, stderr), of `collect` (the snapshot) and of `check
/// --snapshot` on it: none may hold a secret.
fn all_outputs(name: &str, target: &[&str], want: i32) -> (Value, String) {
    let out = tempfile::tempdir().unwrap();
    let mut args = vec!["check", "--no-policy", "--format", "json", "--output-dir"];
    args.push(path_str(out.path()));
    args.extend_from_slice(target);
    let m = run(&format!("{name} check"), &args);
    let r = report(name, &m, want);
    let mut texts = vec![
        ("stdout".to_string(), m.stdout_text()),
        ("stderr".into(), m.stderr),
    ];
    let mut files: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "{name}: --output-dir files: {files:?}");
    for f in files {
        texts.push((
            f.display().to_string(),
            std::fs::read_to_string(&f).unwrap(),
        ));
    }
    let snap = out.path().join("snap.json");
    let mut args = vec!["collect", "--no-policy", "-o", path_str(&snap)];
    args.extend_from_slice(target);
    let m = run(&format!("{name} collect"), &args);
    assert_eq!(m.code, Some(0), "{name}: collect: {}", m.stderr);
    let snap_text = std::fs::read_to_string(&snap).unwrap();
    texts.push(("snapshot".into(), snap_text.clone()));
    let m = run(
        &format!("{name} check --snapshot"),
        &["check", "--no-policy", "--snapshot", path_str(&snap)],
    );
    assert_eq!(m.code, Some(want), "{name}: check --snapshot: {}", m.stderr);
    texts.push(("check --snapshot".into(), m.stdout_text()));
    for (what, t) in &texts {
        for mark in [
            KEY_MARK,
            SHADOW_MARK,
            "BEGIN OPENSSH PRIVATE KEY",
            "b3BlbnNzaC1rZXkt",
            "$y$j9T$",
        ] {
            assert!(
                !t.contains(mark),
                "{name}: {what} holds the secret `{mark}`:\n{t}"
            );
        }
    }
    (r, snap_text)
}

/// daemon.json and /etc/default/docker are symlinks to a private key and a
/// shadow file (mode 0600 and 0640) in an offline root. What a security
/// engineer expects: the audit says which file is a link and to what (the
/// target's path is metadata, and a link to /etc/shadow is itself the
/// finding), that its content was not read and why, and gives `error`
/// verdicts (exit 2): the configuration is unknown. The content itself is
/// never printed nor stored, in any format.
#[test]
fn secret_behind_a_symlink_is_never_printed_root() {
    let root = tempfile::tempdir().unwrap();
    put(
        root.path(),
        "root/.ssh/id_ed25519",
        secret_key().as_bytes(),
        0o600,
    );
    put(root.path(), "etc/shadow", secret_shadow().as_bytes(), 0o640);
    link(
        "/root/.ssh/id_ed25519",
        root.path(),
        "etc/docker/daemon.json",
    );
    let target = ["--root", path_str(root.path())];
    let (r, snap) = all_outputs("secret daemon.json (root)", &target, 2);
    let cv = result(&r, "daemon.config-valid");
    assert_eq!(cv["status"], "error", "{cv:#}");
    assert_eq!(
        cv["message"],
        "/etc/docker/daemon.json: symlink to /root/.ssh/id_ed25519, which is not world-readable (mode 0600): content not read",
    );
    let icc = result(&r, "daemon.icc");
    assert_eq!(icc["status"], "error");
    assert_mentions(
        "secret daemon.json",
        &icc.to_string(),
        "/etc/docker/daemon.json could not be read: symlink to /root/.ssh/id_ed25519",
    );
    let s: Value = serde_json::from_str(&snap).unwrap();
    let f = &s["files"]["/etc/docker/daemon.json"];
    assert_eq!(f["text"], Value::Null, "{f:#}");
    assert_eq!(f["meta"]["link_target"], "/root/.ssh/id_ed25519", "{f:#}");

    // The same through an EnvironmentFile (a relative link), daemon.json absent.
    let root = tempfile::tempdir().unwrap();
    put(root.path(), "etc/shadow", secret_shadow().as_bytes(), 0o640);
    put(
        root.path(),
        "etc/systemd/system/docker.service",
        UNIT_WITH_ENVFILE.as_bytes(),
        0o644,
    );
    link("../shadow", root.path(), "etc/default/docker");
    let target = ["--root", path_str(root.path())];
    let (r, _) = all_outputs("secret EnvironmentFile (root)", &target, 2);
    let cv = result(&r, "daemon.config-valid");
    assert_eq!(cv["status"], "error", "{cv:#}");
    assert_eq!(
        cv["message"],
        "the next start cannot be modelled: cannot resolve docker.service: /etc/default/docker: symlink to /etc/shadow, which is not world-readable (mode 0640): content not read",
    );
}

/// The same on the host's filesystem: a (fake) running dockerd whose
/// `--config-file` is a symlink to a private key.
#[test]
fn secret_behind_a_symlink_is_never_printed_host() {
    let dir = tempfile::tempdir().unwrap();
    let key = put(
        dir.path(),
        "secret/id_ed25519",
        secret_key().as_bytes(),
        0o600,
    );
    let cfg = link(path_str(&key), dir.path(), "etc/daemon.json");
    let fake = FakeDockerd::start(&["--config-file".into(), path_str(&cfg).into()], &[]);
    let none = format!("unix://{}/none.sock", dir.path().display());
    let pid = fake.pid.to_string();
    let target = ["--pid", &pid, "--host", &none, "--timeout-ms", TIMEOUT_MS];
    let (r, _) = all_outputs("secret --config-file (host)", &target, 2);
    let cv = result(&r, "daemon.config-valid");
    assert_eq!(cv["status"], "error", "{cv:#}");
    assert_eq!(
        cv["message"],
        format!(
            "{}: symlink to {}, which is not world-readable (mode 0600): content not read",
            cfg.display(),
            std::fs::canonicalize(&key).unwrap().display()
        ),
    );
}

// ---------------------------------------------------------------------------
// 2. 100 MiB files where daemon.json, a unit or an EnvironmentFile is
// ---------------------------------------------------------------------------

const HUNDRED_MIB: u64 = 100 << 20;
const TOO_LARGE: &str = "too large (104857600 bytes, limit 16 MiB)";

/// Refused from its size: what dockhard read in all stays far below the
/// 16 MiB limit (a sparse file reads as zeros: reading it would count).
fn assert_not_read(name: &str, m: &Measured) {
    let read = m
        .read_bytes
        .unwrap_or_else(|| panic!("{name}: /proc/PID/io not readable"));
    assert!(
        read < MAX_READ_BYTES,
        "{name}: read {read} bytes: {}",
        m.summary()
    );
}

#[test]
fn huge_files_are_refused_before_reading() {
    let root = tempfile::tempdir().unwrap();
    sparse(root.path(), "etc/docker/daemon.json", HUNDRED_MIB);
    let m = check_root("100 MiB daemon.json", root.path(), &[]);
    assert_not_read("100 MiB daemon.json", &m);
    let r = report("100 MiB daemon.json", &m, 2);
    assert_eq!(
        result(&r, "daemon.config-valid")["message"],
        format!("/etc/docker/daemon.json: {TOO_LARGE}")
    );
    assert_eq!(
        result(&r, "daemon.icc")["message"],
        format!("/etc/docker/daemon.json could not be read: {TOO_LARGE}")
    );

    let root = tempfile::tempdir().unwrap();
    sparse(
        root.path(),
        "etc/systemd/system/docker.service",
        HUNDRED_MIB,
    );
    let m = check_root("100 MiB docker.service", root.path(), &[]);
    assert_not_read("100 MiB docker.service", &m);
    let r = report("100 MiB docker.service", &m, 2);
    assert_mentions(
        "100 MiB docker.service",
        &result(&r, "daemon.config-valid").to_string(),
        &format!("/etc/systemd/system/docker.service: {TOO_LARGE}"),
    );

    let root = tempfile::tempdir().unwrap();
    put(
        root.path(),
        "etc/systemd/system/docker.service",
        UNIT_WITH_ENVFILE.as_bytes(),
        0o644,
    );
    sparse(root.path(), "etc/default/docker", HUNDRED_MIB);
    let m = check_root("100 MiB EnvironmentFile", root.path(), &[]);
    assert_not_read("100 MiB EnvironmentFile", &m);
    let r = report("100 MiB EnvironmentFile", &m, 2);
    assert_eq!(
        result(&r, "daemon.config-valid")["message"],
        format!(
            "the next start cannot be modelled: cannot resolve docker.service: /etc/default/docker: {TOO_LARGE}"
        )
    );

    // On the host: a running daemon's --config-file.
    let dir = tempfile::tempdir().unwrap();
    let big = sparse(dir.path(), "big.json", HUNDRED_MIB);
    let fake = FakeDockerd::start(&["--config-file".into(), path_str(&big).into()], &[]);
    let none = format!("unix://{}/none.sock", dir.path().display());
    let pid = fake.pid.to_string();
    let m = run(
        "100 MiB --config-file (host)",
        &[
            "check",
            "--no-policy",
            "--format",
            "json",
            "--pid",
            &pid,
            "--host",
            &none,
        ],
    );
    assert_not_read("100 MiB --config-file (host)", &m);
    let r = report("100 MiB --config-file (host)", &m, 2);
    assert_eq!(
        result(&r, "daemon.config-valid")["message"],
        format!("{}: {TOO_LARGE}", big.display())
    );
}

// ---------------------------------------------------------------------------
// 3. Deeply nested JSON in daemon.json (the API's is in section 8)
// ---------------------------------------------------------------------------

#[test]
fn deeply_nested_daemon_json() {
    let root = tempfile::tempdir().unwrap();
    put(
        root.path(),
        "etc/docker/daemon.json",
        "[".repeat(100_000).as_bytes(),
        0o644,
    );
    let m = check_root("100000 [ in daemon.json", root.path(), &[]);
    // dockerd refuses it too (Go's decoder stops at depth 10000): a failure.
    let r = report("100000 [ in daemon.json", &m, 1);
    let cv = result(&r, "daemon.config-valid");
    assert_eq!(cv["status"], "fail");
    assert_eq!(
        cv["message"],
        "dockerd would not start: unable to configure the Docker daemon with file /etc/docker/daemon.json: exceeded max depth (line 1, column 201)"
    );
    assert_eq!(status(&r, "daemon.icc"), "error");
}

// ---------------------------------------------------------------------------
// 4. Bytes that are not UTF-8
// ---------------------------------------------------------------------------

#[test]
fn non_utf8_daemon_json_unit_and_environment_file() {
    // dockerd 20.10 accepts invalid UTF-8 inside strings (replaced by U+FFFD).
    let root = tempfile::tempdir().unwrap();
    put(
        root.path(),
        "etc/docker/daemon.json",
        b"{\"labels\": [\"owner=\xff\xfe\"], \"icc\": false}",
        0o644,
    );
    let r = report(
        "non-UTF-8 string in daemon.json",
        &check_root("non-UTF-8 string in daemon.json", root.path(), &[]),
        1,
    );
    assert_eq!(status(&r, "daemon.icc"), "pass");
    assert_eq!(status(&r, "daemon.config-valid"), "pass");
    // Outside a string it is a syntax error, named with its position.
    let root = tempfile::tempdir().unwrap();
    put(
        root.path(),
        "etc/docker/daemon.json",
        b"{\"icc\": false, \xff\xfe: 1}",
        0o644,
    );
    let r = report(
        "non-UTF-8 key in daemon.json",
        &check_root("non-UTF-8 key in daemon.json", root.path(), &[]),
        1,
    );
    let cv = result(&r, "daemon.config-valid");
    assert_eq!(cv["status"], "fail", "{cv:#}");
    assert_mentions(
        "non-UTF-8 key",
        &cv["message"].to_string(),
        "/etc/docker/daemon.json: invalid character",
    );
    assert_mentions(
        "non-UTF-8 key",
        &cv["message"].to_string(),
        "(line 1, column 16)",
    );

    // A unit and its EnvironmentFile with invalid bytes in label values.
    let root = tempfile::tempdir().unwrap();
    put(
        root.path(),
        "etc/systemd/system/docker.service",
        b"[Service]\nEnvironmentFile=/etc/default/docker\nExecStart=/usr/bin/dockerd --label=env=pr\xffod --icc=false $DOCKER_OPTS\n",
        0o644,
    );
    put(
        root.path(),
        "etc/default/docker",
        b"DOCKER_OPTS=\"--live-restore --label=team=\xfe\"\n",
        0o644,
    );
    let m = check_root("non-UTF-8 unit and EnvironmentFile", root.path(), &[]);
    let r = report("non-UTF-8 unit and EnvironmentFile", &m, 1);
    assert_eq!(status(&r, "daemon.icc"), "pass");
    assert_eq!(status(&r, "daemon.live-restore"), "pass");
    assert_eq!(status(&r, "daemon.config-valid"), "pass");
    assert_mentions(
        "non-UTF-8 unit",
        &r["daemons"][0]["notes"].to_string(),
        "--label=env=pr\u{fffd}od",
    );
}

// ---------------------------------------------------------------------------
// 5. A FIFO or /dev/zero where a file is expected
// ---------------------------------------------------------------------------

/// Opens `fifo` for writing whenever a reader does, and writes zeros to it
/// without end; counts the readers it met (dockhard must never be one).
pub(super) fn fifo_writer(fifo: &Path) -> Background {
    use std::os::unix::fs::OpenOptionsExt;
    let p = fifo.to_path_buf();
    Background::spawn(move |s, r| {
        while !s.load(Ordering::SeqCst) {
            // ENXIO while nobody reads.
            match std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&p)
            {
                Ok(mut f) => {
                    r.fetch_add(1, Ordering::SeqCst);
                    let zeros = [0u8; 65536];
                    while !s.load(Ordering::SeqCst) {
                        match f.write(&zeros) {
                            Ok(_) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                                thread::sleep(Duration::from_millis(5))
                            }
                            Err(_) => break,
                        }
                    }
                }
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
    })
}

#[test]
#[ignore = "needs root; scripts/test runs it"]
fn fifo_and_char_device_where_files_are_expected() {
    need_root("fifo_and_char_device_where_files_are_expected");
    // daemon.json a FIFO nobody writes to: a blocking open would hang.
    let root = tempfile::tempdir().unwrap();
    mkfifo(&root.path().join("etc/docker/daemon.json"));
    assert_eq!(
        config_valid_message("FIFO daemon.json", root.path()),
        "/etc/docker/daemon.json: not a regular file (fifo)"
    );

    // daemon.json -> /dev/zero, a real device node inside the root.
    let root = tempfile::tempdir().unwrap();
    mknod_char(&root.path().join("dev/zero"), 1, 5);
    link("/dev/zero", root.path(), "etc/docker/daemon.json");
    assert_eq!(
        config_valid_message("daemon.json -> /dev/zero", root.path()),
        "/etc/docker/daemon.json: not a regular file (character device)"
    );

    // The unit a FIFO; then an EnvironmentFile that is a FIFO with a writer
    // flooding whoever opens it, and one that is /dev/zero itself.
    let root = tempfile::tempdir().unwrap();
    mkfifo(&root.path().join("etc/systemd/system/docker.service"));
    let r = report(
        "FIFO docker.service",
        &check_root("FIFO docker.service", root.path(), &[]),
        2,
    );
    assert_mentions(
        "FIFO docker.service",
        &result(&r, "daemon.config-valid").to_string(),
        "/etc/systemd/system/docker.service: not a regular file (fifo)",
    );
    let root = tempfile::tempdir().unwrap();
    put(
        root.path(),
        "etc/systemd/system/docker.service",
        UNIT_WITH_ENVFILE.as_bytes(),
        0o644,
    );
    let fifo = root.path().join("etc/default/docker");
    mkfifo(&fifo);
    let writer = fifo_writer(&fifo);
    let m = check_root("FIFO EnvironmentFile with a writer", root.path(), &[]);
    assert_eq!(writer.count(), 0, "dockhard opened the FIFO");
    drop(writer);
    let r = report("FIFO EnvironmentFile with a writer", &m, 2);
    assert_eq!(
        result(&r, "daemon.config-valid")["message"],
        "the next start cannot be modelled: cannot resolve docker.service: /etc/default/docker: not a regular file (fifo)"
    );
    std::fs::remove_file(&fifo).unwrap();
    mknod_char(&fifo, 1, 5);
    assert_eq!(
        config_valid_message("/dev/zero EnvironmentFile", root.path()),
        "the next start cannot be modelled: cannot resolve docker.service: /etc/default/docker: not a regular file (character device)"
    );

    // On the host: --config-file /dev/zero and a FIFO, --unit a FIFO.
    let dir = tempfile::tempdir().unwrap();
    let none = format!("unix://{}/none.sock", dir.path().display());
    let fifo = dir.path().join("daemon.json");
    mkfifo(&fifo);
    let unit = dir.path().join("docker.service");
    mkfifo(&unit);
    for (name, cfg, unit_arg) in [
        ("--config-file /dev/zero (host)", "/dev/zero", None),
        ("--config-file FIFO (host)", path_str(&fifo), None),
        (
            "--unit FIFO (host)",
            "/dev/null/none.json",
            Some(path_str(&unit)),
        ),
    ] {
        let fake = FakeDockerd::start(&["--config-file".into(), cfg.into()], &[]);
        let pid = fake.pid.to_string();
        let mut args = vec![
            "check",
            "--no-policy",
            "--format",
            "json",
            "--pid",
            &pid,
            "--host",
            &none,
        ];
        if let Some(u) = unit_arg {
            args.extend(["--unit", u]);
        }
        let m = run(name, &args);
        let r = report(name, &m, 2);
        let cv = result(&r, "daemon.config-valid").to_string();
        match unit_arg {
            None => {
                let kind = if cfg == "/dev/zero" {
                    "character device"
                } else {
                    "fifo"
                };
                assert_mentions(name, &cv, &format!("{cfg}: not a regular file ({kind})"));
            }
            Some(u) => assert_mentions(name, &cv, &format!("{u}: not a regular file (fifo)")),
        }
    }
}

// ---------------------------------------------------------------------------
// 6. A unit and an EnvironmentFile of 100000 continuation lines
// ---------------------------------------------------------------------------

#[test]
fn hundred_thousand_continuation_lines() {
    let mut unit = String::from(
        "[Service]\nEnvironmentFile=/etc/default/docker\nExecStart=/usr/bin/dockerd \\\n",
    );
    for i in 0..100_000 {
        unit.push_str(if i == 50_000 {
            "  --icc=false \\\n"
        } else {
            "  \\\n"
        });
    }
    unit.push_str("  $DOCKER_OPTS\n");
    let mut env = String::from("DOCKER_OPTS=\"\\\n");
    for _ in 0..100_000 {
        env.push_str(" \\\n");
    }
    env.push_str(" --live-restore\"\n");
    let root = tempfile::tempdir().unwrap();
    put(
        root.path(),
        "etc/systemd/system/docker.service",
        unit.as_bytes(),
        0o644,
    );
    put(root.path(), "etc/default/docker", env.as_bytes(), 0o644);
    let m = check_root("100000 continuation lines", root.path(), &[]);
    let r = report("100000 continuation lines", &m, 1);
    let icc = result(&r, "daemon.icc");
    assert_eq!(icc["status"], "pass", "{icc:#}");
    assert_eq!(
        icc["evidence"][0]["location"],
        "/etc/systemd/system/docker.service:50004"
    );
    let lr = result(&r, "daemon.live-restore");
    assert_eq!(lr["status"], "pass", "{lr:#}");
    assert_mentions(
        "100000 continuation lines",
        &lr.to_string(),
        "/etc/default/docker",
    );
}
