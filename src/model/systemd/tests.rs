use super::paths::dropin_dirs;
use super::*;
use crate::snapshot::{DaemonEvidence, DirEvidence, FileEvidence, FileKind, FileMeta, Mode};
use proptest::prelude::*;

// ---- test-only loader: a fixture tree as a host root ----

pub(crate) fn meta(kind: FileKind, size: u64) -> FileMeta {
    FileMeta {
        kind,
        target_kind: None,
        link_target: None,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size,
        mtime: 0,
        dev: None,
        ino: None,
    }
}

pub(crate) fn texts(r: &ServiceResolution) -> Vec<String> {
    r.exec_start
        .as_ref()
        .expect("exec_start")
        .iter()
        .map(|w| w.text.clone())
        .collect()
}

pub(crate) fn word<'a>(r: &'a ServiceResolution, text: &str) -> &'a ArgWord {
    r.exec_start
        .as_ref()
        .unwrap()
        .iter()
        .find(|w| w.text == text)
        .unwrap_or_else(|| panic!("no word {text}"))
}

pub(crate) fn fatal(r: &ServiceResolution) -> Vec<&Problem> {
    r.problems
        .iter()
        .filter(|p| p.level == ProblemLevel::Fatal)
        .collect()
}

// ---- hand-built snapshots ----

fn snap_with(files: &[(&str, &str)]) -> Snapshot {
    let mut snap = Snapshot::new(Mode::Root);
    for (p, t) in files {
        snap.files.insert(
            p.to_string(),
            FileEvidence {
                meta: Some(meta(FileKind::File, t.len() as u64)),
                text: Some(t.to_string()),
                ..Default::default()
            },
        );
    }
    // Everything else wanted is missing.
    for _ in 0..10 {
        for w in wanted(&snap) {
            match w {
                Want::File(p) | Want::Meta(p) => {
                    snap.files.entry(p).or_insert_with(|| FileEvidence {
                        missing: true,
                        ..Default::default()
                    });
                }
                Want::Dir(p) => {
                    let name = format!("{p}/");
                    let entries: Vec<String> = snap
                        .files
                        .keys()
                        .filter_map(|k| k.strip_prefix(&name))
                        .filter(|k| !k.contains('/'))
                        .map(String::from)
                        .collect();
                    snap.dirs.entry(p).or_insert_with(|| {
                        if entries.is_empty() {
                            DirEvidence {
                                missing: true,
                                ..Default::default()
                            }
                        } else {
                            DirEvidence {
                                entries: Some(entries),
                                ..Default::default()
                            }
                        }
                    });
                }
            }
        }
    }
    snap
}

const U: &str = "/lib/systemd/system/docker.service";

#[test]
fn unreadable_unit_is_an_evidence_error() {
    let mut snap = snap_with(&[]);
    snap.files.insert(
        "/etc/systemd/system/docker.service".into(),
        FileEvidence {
            meta: Some(meta(FileKind::File, 10)),
            error: Some("permission denied".into()),
            ..Default::default()
        },
    );
    let r = resolve(&snap, "docker.service");
    assert!(r.exec_start.is_none());
    assert_eq!(
        r.evidence_errors,
        ["/etc/systemd/system/docker.service: permission denied"]
    );
}

#[test]
fn not_collected_is_an_evidence_error() {
    let snap = Snapshot::new(Mode::Root);
    let r = resolve(&snap, "docker.service");
    assert!(!r.evidence_errors.is_empty());
    assert!(r.problems.is_empty());
}

#[test]
fn unreadable_envfile_is_an_evidence_error() {
    let mut snap = snap_with(&[(
        U,
        "[Service]\nEnvironmentFile=-/etc/default/docker\nExecStart=/usr/bin/dockerd $DOCKER_OPTS\n",
    )]);
    snap.files.insert(
        "/etc/default/docker".into(),
        FileEvidence {
            error: Some("permission denied".into()),
            ..Default::default()
        },
    );
    let r = resolve(&snap, "docker.service");
    assert_eq!(
        r.evidence_errors,
        ["/etc/default/docker: permission denied"]
    );
}

#[test]
fn device_node_envfile_is_unknown_but_dev_null_is_empty() {
    let unit = "[Service]\nEnvironmentFile=/etc/default/docker\nEnvironmentFile=/dev/null\nExecStart=/usr/bin/dockerd $DOCKER_OPTS\n";
    let mut snap = snap_with(&[(U, unit)]);
    for p in ["/etc/default/docker", "/dev/null"] {
        snap.files.insert(
            p.into(),
            FileEvidence {
                meta: Some(meta(FileKind::CharDevice, 0)),
                error: Some("not a regular file (character device)".into()),
                ..Default::default()
            },
        );
    }
    let r = resolve(&snap, "docker.service");
    assert_eq!(
        r.evidence_errors,
        ["/etc/default/docker: not a regular file (character device)"]
    );
}

#[test]
fn empty_unit_file_is_masked() {
    let snap = snap_with(&[
        ("/etc/systemd/system/docker.service", ""),
        (U, "[Service]\nExecStart=/x\n"),
    ]);
    let r = resolve(&snap, "docker.service");
    assert!(r.exec_start.is_none());
    assert!(fatal(&r)[0].message.contains("masked"));
}

#[test]
fn resets_and_order() {
    let snap = snap_with(&[
        (
            U,
            "[Service]\nEnvironment=A=1 B=2\nEnvironmentFile=/nonexistent\nExecStart=/usr/bin/dockerd ${A}${B}\n",
        ),
        (
            "/etc/systemd/system/docker.service.d/a.conf",
            "[Service]\nEnvironment=\nEnvironment=B=3\nEnvironmentFile=\n",
        ),
    ]);
    let r = resolve(&snap, "docker.service");
    assert_eq!(texts(&r), ["/usr/bin/dockerd", "3"]);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(
        r.exec_start.as_ref().unwrap()[1].location,
        format!(
            "{U}:4 (${{A}} undefined, ${{B}} from /etc/systemd/system/docker.service.d/a.conf:3)"
        )
    );
}

#[test]
fn envfile_overrides_environment_and_later_files_win() {
    let snap = snap_with(&[
        (
            U,
            "[Service]\nEnvironmentFile=-/etc/a\nEnvironment=X=unit\nEnvironmentFile=-/etc/b\nExecStart=/usr/bin/dockerd $X\n",
        ),
        ("/etc/a", "X=a\n"),
        ("/etc/b", "X=b\n"),
    ]);
    let r = resolve(&snap, "docker.service");
    assert_eq!(texts(&r), ["/usr/bin/dockerd", "b"]);
    assert_eq!(r.exec_start.as_ref().unwrap()[1].location, "/etc/b:1 ($X)");
}

#[test]
fn dropin_shadowing_and_masking_by_name() {
    let snap = snap_with(&[
        (U, "[Service]\nExecStart=/usr/bin/dockerd\n"),
        (
            "/lib/systemd/system/docker.service.d/x.conf",
            "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --lib\n",
        ),
        (
            "/etc/systemd/system/docker.service.d/x.conf",
            "[Service]\nEnvironment=X=1\n",
        ),
        (
            "/usr/lib/systemd/system/service.d/y.conf",
            "[Service]\nEnvironment=Y=1\n",
        ),
    ]);
    let r = resolve(&snap, "docker.service");
    assert_eq!(texts(&r), ["/usr/bin/dockerd"]);
    assert_eq!(
        r.dropins,
        [
            "/etc/systemd/system/docker.service.d/x.conf",
            "/usr/lib/systemd/system/service.d/y.conf"
        ]
    );
    assert!(r.environment.contains_key("Y"));
}

#[test]
fn oneshot_may_have_several_commands() {
    let snap = snap_with(&[(
        U,
        "[Service]\nType=oneshot\nExecStart=/bin/a\nExecStart=/bin/b\n",
    )]);
    let r = resolve(&snap, "docker.service");
    assert!(fatal(&r).is_empty());
    assert_eq!(texts(&r), ["/bin/a"]);
    let snap = snap_with(&[(U, "[Service]\nExecStart=/bin/a ; /bin/b\n")]);
    assert_eq!(fatal(&resolve(&snap, "docker.service")).len(), 1);
}

#[test]
fn specifiers_and_prefixes() {
    let snap = snap_with(&[(
        U,
        "[Service]\nExecStart=-@/usr/bin/dockerd dockerd --p=%t/%n --h=%H\n",
    )]);
    let r = resolve(&snap, "docker.service");
    assert_eq!(
        texts(&r),
        ["/usr/bin/dockerd", "--p=/run/docker.service", "--h=%H"]
    );
    assert_eq!(r.problems.len(), 1);
    assert_eq!(r.problems[0].level, ProblemLevel::Warning);
    let snap = snap_with(&[(U, "[Service]\nExecStart=/usr/bin/dockerd %Z\n")]);
    let r = resolve(&snap, "docker.service");
    assert!(fatal(&r).iter().any(|p| p.message.contains("%Z")));
    let snap = snap_with(&[(
        U,
        "[Service]\nEnvironment=A=x\nExecStart=:/usr/bin/dockerd $A ${A}\n",
    )]);
    assert_eq!(
        texts(&resolve(&snap, "docker.service")),
        ["/usr/bin/dockerd", "$A", "${A}"]
    );
}

#[test]
fn sockets_setting_names_another_socket() {
    let snap = snap_with(&[
        (
            U,
            "[Service]\nSockets=api.socket\nExecStart=/usr/bin/dockerd -H fd://\n",
        ),
        (
            "/etc/systemd/system/api.socket",
            "[Socket]\nListenStream=2375\nListenStream=\nListenStream=127.0.0.1:2375\n",
        ),
    ]);
    let r = resolve(&snap, "docker.service");
    let s = r.socket.unwrap();
    assert_eq!(s.unit_path, "/etc/systemd/system/api.socket");
    assert_eq!(s.listen_streams.len(), 1);
    assert_eq!(s.listen_streams[0].0, "127.0.0.1:2375");
}

#[test]
fn daemon_unit_name_is_wanted() {
    let mut snap = Snapshot::new(Mode::Live);
    snap.daemons.push(DaemonEvidence {
        systemd_unit: Some("/system.slice/docker-custom.service".into()),
        ..Default::default()
    });
    let w = wanted(&snap);
    assert!(w.contains(&Want::File(
        "/etc/systemd/system/docker-custom.service".into()
    )));
    assert!(w.contains(&Want::File(
        "/lib/systemd/system/docker-custom.socket".into()
    )));
    assert!(w.contains(&Want::Dir("/etc/systemd/system/docker-.service.d".into())));
    assert_eq!(
        dropin_dirs("/d", "a-b-c.service"),
        [
            "/d/a-b-c.service.d",
            "/d/a-b-.service.d",
            "/d/a-.service.d",
            "/d/service.d"
        ]
    );
    assert_eq!(
        dropin_dirs("/d", "docker.socket"),
        ["/d/docker.socket.d", "/d/socket.d"]
    );
}

#[test]
fn replace_env_rules() {
    let env = |n: &str| (n == "A").then(|| "x y".to_string());
    assert_eq!(replace_env("a${A}b", env).0, "ax yb");
    assert_eq!(replace_env("${B}", env).0, "");
    assert_eq!(replace_env("$$A", env).0, "$A");
    assert_eq!(replace_env("$A", env).0, "$A");
    assert_eq!(replace_env("${A:-d}", env).0, "${A:-d}");
    assert_eq!(replace_env("${A", env).0, "${A");
    assert_eq!(
        replace_env("${A}${A}", env),
        ("x yx y".to_string(), vec!["A".to_string(), "A".to_string()])
    );
}

proptest! {
    #[test]
    fn replace_env_never_panics(s in "\\PC*") {
        let _ = replace_env(&s, |n| Some(n.to_string()));
    }

    #[test]
    fn resolve_never_panics(exec in "[a-z$%{}:;@!+\\-\"' \\\\/=]{0,60}", envf in "[A-Z=\"' \\\\\n$a-z#]{0,80}") {
        let unit = format!("[Service]\nEnvironmentFile=-/e\nEnvironment=A=1 \"B=2 3\"\nExecStart=/usr/bin/dockerd {exec}\nExecStart=/x{exec}\n");
        let snap = snap_with(&[(U, &unit), ("/e", &envf)]);
        let r = resolve(&snap, "docker.service");
        if let Some(w) = r.exec_start {
            prop_assert_eq!(w[0].text.as_str(), "/usr/bin/dockerd");
        }
    }
}
