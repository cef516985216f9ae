use super::order::permutations;
use super::*;
use crate::collect::{CollectOptions, Target};
use std::time::Duration;

/// The snapshot of an offline root made of `files` (host path, text).
fn root_snapshot(files: &[(&str, &str)]) -> (tempfile::TempDir, Snapshot) {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (p, t) in files {
        let path = d.path().join(p.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap_or(d.path()))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, t).unwrap_or_else(|e| panic!("{e}"));
    }
    let snap = crate::collect::collect(&CollectOptions {
        target: Target::Root(d.path().to_path_buf()),
        host: None,
        timeout: Duration::from_millis(200),
        unit: None,
        objects: false,
        progress: false,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    (d, snap)
}

fn plan_for(snap: &Snapshot, method: Method, rules: &[&str]) -> Plan {
    plan(
        snap,
        0,
        &PlanOptions {
            rules: rules.iter().map(|r| r.to_string()).collect(),
            method,
            force: false,
            inputs: FixInputs::default(),
        },
    )
}

/// dockerd starts after every prefix of the writes (a crash between two).
fn every_prefix_starts(snap: &Snapshot, p: &Plan) -> bool {
    (0..=p.writes.len()).all(|k| {
        daemon::build_configs(&with_writes(snap, &p.writes[..k]))
            .first()
            .is_some_and(|m| m.next_start.config.as_ref().is_ok_and(|e| !e.has_fatal()))
    })
}

const UNIT: &str = "/lib/systemd/system/docker.service";
const JSON: &str = "/etc/docker/daemon.json";
const DROPIN: &str = "/etc/systemd/system/docker.service.d/zz-dockhard.conf";

#[test]
fn a_flag_moved_into_daemon_json_is_removed_first() {
    let (_d, snap) = root_snapshot(&[
        (
            UNIT,
            "[Service]\nExecStart=/usr/bin/dockerd -H fd:// --icc=true\n",
        ),
        (JSON, "{\n  \"debug\": false\n}\n"),
    ]);
    let p = plan_for(&snap, Method::DaemonJson, &["daemon.icc"]);
    assert!(p.refusals.is_empty(), "{:?}", p.refusals);
    let paths: Vec<&str> = p.writes.iter().map(|w| w.path.as_str()).collect();
    // Sorted by path daemon.json would come first: icc in both places.
    assert_eq!(paths, [DROPIN, JSON]);
    assert!(every_prefix_starts(&snap, &p));
    let json_first: Vec<FileWrite> = vec![p.writes[1].clone()];
    assert!(
        daemon::build_configs(&with_writes(&snap, &json_first))
            .first()
            .is_some_and(|m| m.next_start.config.as_ref().is_ok_and(|e| e.has_fatal())),
        "the other order is the unsafe one"
    );
}

#[test]
fn a_key_moved_into_a_flag_is_removed_first() {
    let (_d, snap) = root_snapshot(&[
        (UNIT, "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n"),
        (JSON, "{\n  \"icc\": true\n}\n"),
    ]);
    // --method dropin: icc=false becomes a flag, the key leaves daemon.json
    // (here the order by path is the safe one).
    let p = plan_for(&snap, Method::Dropin, &["daemon.icc"]);
    assert!(p.refusals.is_empty(), "{:?}", p.refusals);
    let paths: Vec<&str> = p.writes.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, [JSON, DROPIN]);
    assert!(every_prefix_starts(&snap, &p));
}

#[test]
fn independent_writes_keep_their_order() {
    let (_d, snap) = root_snapshot(&[
        (
            UNIT,
            "[Service]\nExecStart=/usr/bin/dockerd -H fd:// --icc=true\n",
        ),
        (JSON, "{\n  \"debug\": false\n}\n"),
    ]);
    let p = plan_for(&snap, Method::Auto, &["daemon.icc", "daemon.live-restore"]);
    let paths: Vec<&str> = p.writes.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, [JSON, DROPIN]);
    assert!(every_prefix_starts(&snap, &p));
}

#[test]
fn permutations_start_with_the_identity() {
    assert_eq!(permutations(1), [[0]]);
    assert_eq!(
        permutations(3),
        [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0]
        ]
    );
    assert_eq!(permutations(4).len(), 24);
}

/// A Debian-like root with daemon.json 0666 root:docker and the unit 0664.
fn loose_modes() -> (tempfile::TempDir, Snapshot) {
    use std::os::unix::fs::PermissionsExt;
    let (d, _) = root_snapshot(&[
        (UNIT, "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n"),
        (JSON, "{\n  \"debug\": false\n}\n"),
        ("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        ("/etc/group", "root:x:0:\ndocker:x:998:\n"),
    ]);
    let at = |p: &str| d.path().join(p.trim_start_matches('/'));
    for (p, mode) in [(UNIT, 0o664), (JSON, 0o666)] {
        std::fs::set_permissions(at(p), std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // Only root can give a file away; otherwise the group stays ours.
    let _ = std::os::unix::fs::chown(at(JSON), Some(0), Some(998));
    let snap = crate::collect::collect(&CollectOptions {
        target: Target::Root(d.path().to_path_buf()),
        host: None,
        timeout: Duration::from_millis(200),
        unit: None,
        objects: false,
        progress: false,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    (d, snap)
}

#[test]
fn file_modes_are_changed_in_place_with_no_restart() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return; // the owners of the tree are those of the test user
    }
    let (_d, snap) = loose_modes();
    let p = plan_for(
        &snap,
        Method::Auto,
        &["files.daemon-json", "files.docker-service"],
    );
    assert!(p.refusals.is_empty(), "{:?}", p.refusals);
    assert!(p.writes.is_empty());
    assert_eq!(p.action, Action::None);
    assert_eq!(p.perms.len(), 2);
    assert_eq!(
        p.fixed_rules(),
        ["files.daemon-json", "files.docker-service"]
    );
    assert!(!p.is_noop());
    let json = p.perms.iter().find(|c| c.path == JSON);
    assert!(json.is_some_and(|c| c.dev.is_some() && c.ino.is_some()));
    insta::assert_snapshot!(crate::fix::run::render_plan(&p), @r"
    dockhard fix: the configuration on disk (next start), daemon.json /etc/docker/daemon.json
      files.daemon-json     fail            in place: owner and mode, no restart
          0666 root:docker -> 0644 root:root  /etc/docker/daemon.json (daemon.json)
      files.docker-service  fail            in place: owner and mode, no restart
          0664 root:root -> 0644 root:root  /lib/systemd/system/docker.service (unit)
    files to write: 0; owners and modes to change: 2; dockerd action: none
    ");
    // The validation ran on the snapshot with the changes made.
    let after = with_perms(&snap, &p.perms);
    let m = after.file(JSON).and_then(|f| f.meta.clone());
    assert_eq!(m.map(|m| (m.mode, m.uid, m.gid)), Some((0o644, 0, 0)));
}

#[test]
fn a_symbolic_link_is_skipped_naming_it() {
    let (d, _) = root_snapshot(&[
        (UNIT, "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n"),
        ("/srv/real.json", "{}\n"),
    ]);
    std::fs::create_dir_all(d.path().join("etc/docker")).unwrap_or_else(|e| panic!("{e}"));
    {
        use std::os::unix::fs::PermissionsExt;
        let real = d.path().join("srv/real.json");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o666))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    std::os::unix::fs::symlink(
        "../../srv/real.json",
        d.path().join("etc/docker/daemon.json"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let snap = crate::collect::collect(&CollectOptions {
        target: Target::Root(d.path().to_path_buf()),
        host: None,
        timeout: Duration::from_millis(200),
        unit: None,
        objects: false,
        progress: false,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let p = plan_for(&snap, Method::Auto, &["files.daemon-json"]);
    assert!(p.perms.is_empty());
    let e = p.entries.first();
    assert_eq!(e.map(|e| e.before), Some(Status::Fail));
    let why = e.and_then(|e| e.skipped.clone()).unwrap_or_default();
    assert!(
        why.contains("is a symbolic link to ../../srv/real.json: dockhard never follows links"),
        "{why}"
    );
    assert!(p.is_noop());
}

#[test]
fn a_daemon_json_edit_and_its_mode_in_one_plan() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let (_d, snap) = loose_modes();
    let p = plan_for(&snap, Method::Auto, &["daemon.icc", "files.daemon-json"]);
    assert!(p.refusals.is_empty(), "{:?}", p.refusals);
    assert_eq!(p.writes.len(), 1);
    assert_eq!(p.perms.len(), 1);
    // Offline: the edit takes effect at the next start.
    assert_eq!(p.fixed_rules(), ["daemon.icc", "files.daemon-json"]);
}

#[test]
fn the_api_socket_goes_to_the_docker_group_with_warnings() {
    use crate::rules::testing::{snapshot, with_file, with_text};
    use crate::snapshot::FileKind;
    let mut s = snapshot(serde_json::json!({}), &[], &[]);
    s.daemons[0].unix_listeners = vec!["/var/run/docker.sock".into()];
    with_text(
        &mut s,
        "/etc/group",
        "root:x:0:\ndocker:x:998:\n",
        0o644,
        0,
        0,
    );
    with_text(
        &mut s,
        "/etc/passwd",
        "root:x:0:0::/root:/bin/sh\n",
        0o644,
        0,
        0,
    );
    with_file(
        &mut s,
        "/var/run/docker.sock",
        FileKind::Socket,
        0o666,
        0,
        5,
    );
    let p = plan_for(&s, Method::Auto, &["files.engine-socket"]);
    assert!(p.refusals.is_empty(), "{:?}", p.refusals);
    assert_eq!(p.action, Action::None, "no restart for a mode change");
    let text = crate::fix::run::render_plan(&p);
    assert!(
        text.contains("0666 root:5 -> 0660 root:docker  /var/run/docker.sock (socket)"),
        "{text}"
    );
    assert!(
        text.contains(
            "warning: /var/run/docker.sock (socket): members of group 5 lose access to it"
        ),
        "{text}"
    );
    assert!(
        text.contains("users outside its owner and group lose access to it"),
        "{text}"
    );
}

#[test]
fn a_file_two_rules_name_is_changed_once_with_both_masks() {
    use crate::rules::testing::{snapshot, with_argv, with_file};
    use crate::snapshot::FileKind;
    // One file as TLS CA and certificate (0444 and 0444), and key (0400).
    let mut s = snapshot(serde_json::json!({}), &[], &[]);
    let f = "/etc/docker/tls/all.pem";
    with_argv(
        &mut s,
        &[
            "dockerd",
            "-H",
            "tcp://0.0.0.0:2376",
            "--tlsverify",
            "--tlscacert",
            f,
            "--tlscert",
            f,
            "--tlskey",
            f,
        ],
    );
    s.daemons[0].tcp_listeners = vec![crate::snapshot::SocketAddrText {
        addr: "0.0.0.0".into(),
        port: 2376,
    }];
    with_file(&mut s, f, FileKind::File, 0o644, 0, 0);
    let p = plan_for(&s, Method::Auto, &["files.tls-ca", "files.tls-key"]);
    assert_eq!(p.perms.len(), 1, "{:?}", p.perms);
    assert_eq!(p.perms.first().map(|c| c.new_mode), Some(0o400));
}

const OWN_RULES: &str = "/etc/audit/rules.d/dockhard-docker.rules";

/// A root with dockerd's binary, unit, daemon.json and an other.rules
/// that watches /etc/docker.
fn audit_tree(extra: &[(&str, &str)]) -> (tempfile::TempDir, Snapshot) {
    let mut files = vec![
        (UNIT, "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n"),
        (JSON, "{}\n"),
        ("/usr/bin/dockerd", "ELF"),
        (
            "/etc/audit/rules.d/other.rules",
            "-w /etc/docker -k docker\n",
        ),
    ];
    files.extend_from_slice(extra);
    root_snapshot(&files)
}

fn audit_entry(p: &Plan) -> &Entry {
    p.entries
        .iter()
        .find(|e| e.rule == "host.audit-rules")
        .unwrap_or_else(|| panic!("no entry: {p:?}"))
}

#[test]
fn audit_rules_file_has_a_line_for_exactly_the_uncovered_paths() {
    let (d, snap) = audit_tree(&[]);
    let p = plan_for(&snap, Method::Auto, &["host.audit-rules"]);
    assert!(p.refusals.is_empty(), "{:?}", p.refusals);
    let rf = audit_entry(&p)
        .rules_file
        .clone()
        .unwrap_or_else(|| panic!("{p:?}"));
    assert_eq!(
        rf.lines,
        [
            "-w /usr/bin/dockerd -k docker",
            "-w /lib/systemd/system/docker.service -k docker"
        ]
    );
    // /etc/docker and the daemon.json in it are watched by other.rules.
    assert_eq!(
        rf.others,
        "1 other rules file(s) left alone; 2 of the paths are already covered there"
    );
    assert!(!rf.load, "an offline root loads nothing");
    assert!(
        p.notes.iter().any(|n| n.contains("offline root")),
        "{:?}",
        p.notes
    );
    // One write, of dockhard's own file only; the other file untouched.
    assert_eq!(p.writes.len(), 1);
    assert_eq!(p.writes[0].path, OWN_RULES);
    assert_eq!(p.writes[0].old, None);
    assert!(p.writes[0].new.starts_with("# Written by dockhard"));
    assert!(p.writes[0].new.ends_with(
        "-w /usr/bin/dockerd -k docker\n-w /lib/systemd/system/docker.service -k docker\n"
    ));
    assert_eq!(p.action, Action::None);
    assert!(!p.audit_load);
    assert_eq!(p.fixed_rules(), ["host.audit-rules"]);
    // A second run on the result plans nothing.
    let after = with_writes(&snap, &p.writes);
    let again = plan_for(&after, Method::Auto, &["host.audit-rules"]);
    assert_eq!(audit_entry(&again).before, Status::Pass);
    assert!(again.is_noop(), "{again:?}");
    drop(d);
}

#[test]
fn an_earlier_audit_rules_file_is_updated_in_place() {
    let old = "# Written by dockhard\n-w /usr/bin/dockerd -k docker\n";
    let (_d, snap) = audit_tree(&[(OWN_RULES, old)]);
    let p = plan_for(&snap, Method::Auto, &["host.audit-rules"]);
    assert!(p.refusals.is_empty(), "{:?}", p.refusals);
    assert_eq!(p.writes.len(), 1);
    assert_eq!(p.writes[0].path, OWN_RULES);
    assert_eq!(p.writes[0].old.as_deref(), Some(old));
    // Its own lines are not counted as coverage: it is written whole.
    let rf = audit_entry(&p)
        .rules_file
        .clone()
        .unwrap_or_else(|| panic!("{p:?}"));
    assert_eq!(rf.lines.len(), 2, "{rf:?}");
    assert!(rf.others.starts_with("1 other rules file(s)"), "{rf:?}");
    let diff = p.diff();
    assert!(
        diff.contains("--- a/etc/audit/rules.d/dockhard-docker.rules"),
        "{diff}"
    );
    assert!(
        diff.contains("+-w /lib/systemd/system/docker.service -k docker"),
        "{diff}"
    );
}

#[test]
fn audit_rules_are_loaded_only_where_auditd_runs() {
    let (_d, mut snap) = audit_tree(&[]);
    snap.root = None;
    snap.host.auditd_running = Some(false);
    // The kernel's rules, ignored without auditd: the files are what loads.
    snap.host.audit_loaded = Some("No rules\n".into());
    let p = plan_for(&snap, Method::Auto, &["host.audit-rules"]);
    assert!(p.refusals.is_empty(), "{:?}", p.refusals);
    assert!(!p.audit_load);
    assert!(
        p.notes
            .iter()
            .any(|n| n == "auditd is not running: the rules are written and load when it starts"),
        "{:?}",
        p.notes
    );
    snap.host.auditd_running = Some(true);
    let p = plan_for(&snap, Method::Auto, &["host.audit-rules"]);
    assert!(
        p.refusals.is_empty(),
        "validated on the loaded files: {:?}",
        p.refusals
    );
    assert!(p.audit_load);
    assert!(!p.is_noop());
    assert!(
        !p.notes.iter().any(|n| n.contains("auditd")),
        "{:?}",
        p.notes
    );
    assert_eq!(
        audit_entry(&p).rules_file.as_ref().map(|r| r.load),
        Some(true)
    );
}

#[test]
fn a_path_that_cannot_be_a_rule_line_is_left_out_with_a_warning() {
    let (_d, snap) = audit_tree(&[
        (JSON, "{\"data-root\": \"/srv/my docker\"}\n"),
        ("/srv/my docker/x", ""),
    ]);
    let p = plan_for(&snap, Method::Auto, &["host.audit-rules"]);
    let e = audit_entry(&p);
    let rf = e.rules_file.clone().unwrap_or_else(|| panic!("{p:?}"));
    assert!(rf.lines.iter().all(|l| !l.contains("my docker")), "{rf:?}");
    assert!(
        e.hazards
            .iter()
            .any(|h| !h.blocking && h.message.contains("/srv/my docker")),
        "{:?}",
        e.hazards
    );
    // The rule still fails after the plan: refused by validation.
    assert!(
        p.refusals
            .iter()
            .any(|r| r.contains("host.audit-rules would still be fail")),
        "{:?}",
        p.refusals
    );
}

/// auditd runs but has not loaded rules the files already have: the plan
/// only loads them (no file of its own with nothing in it).
#[test]
fn audit_rules_already_in_the_files_are_only_loaded() {
    let (_d, mut snap) = audit_tree(&[(
        "/etc/audit/rules.d/other.rules",
        "-w /etc/docker -k docker\n-w /usr/bin/dockerd -k docker\n-w /lib/systemd/system -k docker\n",
    )]);
    snap.root = None;
    snap.host.auditd_running = Some(true);
    snap.host.audit_loaded = Some("No rules\n".into());
    let p = plan_for(&snap, Method::Auto, &["host.audit-rules"]);
    assert_eq!(audit_entry(&p).before, Status::Fail);
    assert!(p.refusals.is_empty(), "{:?}", p.refusals);
    assert!(p.writes.is_empty(), "{:?}", p.writes);
    assert!(p.audit_load);
    assert!(!p.is_noop());
    assert_eq!(p.fixed_rules(), ["host.audit-rules"]);
}
