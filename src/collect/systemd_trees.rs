//! The systemd model on the fixture host trees of `tests/fixtures/hosts`,
//! read with collect's own reader (which asks the model what it wants
//! until nothing new is wanted): the two together, so these tests live
//! above both.

use super::files::Fs;
use super::read_wanted;
use crate::model::systemd::tests::{fatal, texts, word};
use crate::model::systemd::{resolve, resolve_user, wanted};
use crate::model::{ProblemLevel, Source, Want};
use crate::snapshot::{DaemonEvidence, Mode, Snapshot};
use std::path::PathBuf;

fn fixture_root(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hosts")
        .join(name)
}

/// Fill `snap` from the fixture tree with collect's own reader, which
/// asks the model what it wants until nothing new is wanted.
fn fill(snap: &mut Snapshot, name: &str) {
    let root = fixture_root(name);
    assert!(root.is_dir(), "no fixture {name}");
    read_wanted(snap, &Fs::under(root));
}

fn load(name: &str) -> Snapshot {
    let mut snap = Snapshot::new(Mode::Root);
    fill(&mut snap, name);
    snap
}

const DEB_UNIT: &str = "/lib/systemd/system/docker.service";

// ---- fixtures ----

#[test]
fn debian() {
    let snap = load("debian");
    let r = resolve(&snap, "docker.service");
    assert_eq!(r.unit_path.as_deref(), Some(DEB_UNIT));
    assert!(r.dropins.is_empty());
    assert_eq!(
        texts(&r),
        [
            "/usr/sbin/dockerd",
            "-H",
            "fd://",
            "--containerd=/run/containerd/containerd.sock",
            "--dns",
            "8.8.8.8",
            "--dns",
            "8.8.4.4"
        ]
    );
    let w = r.exec_start.as_ref().unwrap();
    assert_eq!(w[0].source, Source::Unit);
    assert_eq!(w[0].location, format!("{DEB_UNIT}:14"));
    assert_eq!(w[2].location, format!("{DEB_UNIT}:14"));
    assert_eq!(w[4].source, Source::EnvFile);
    assert_eq!(w[4].location, "/etc/default/docker:14 ($DOCKER_OPTS)");
    assert_eq!(w[7].location, "/etc/default/docker:14 ($DOCKER_OPTS)");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert!(r.evidence_errors.is_empty(), "{:?}", r.evidence_errors);
    let s = r.socket.as_ref().unwrap();
    assert_eq!(s.unit_path, "/lib/systemd/system/docker.socket");
    assert_eq!(s.listen_streams.len(), 1);
    assert_eq!(s.listen_streams[0].0, "/run/docker.sock");
    assert_eq!(
        s.listen_streams[0].1.location,
        "/lib/systemd/system/docker.socket:7"
    );
    assert_eq!(
        r.environment.get("DOCKER_OPTS").map(|v| v.0.as_str()),
        Some("--dns 8.8.8.8 --dns 8.8.4.4")
    );
}

#[test]
fn debian_wanted_paths() {
    let snap = load("debian");
    let w = wanted(&snap);
    assert!(w.contains(&Want::File(DEB_UNIT.into())));
    assert!(w.contains(&Want::File("/etc/systemd/system/docker.service".into())));
    assert!(w.contains(&Want::Dir("/etc/systemd/system/docker.service.d".into())));
    assert!(w.contains(&Want::Dir("/run/systemd/system/docker.socket.d".into())));
    assert!(w.contains(&Want::File("/lib/systemd/system/docker.socket".into())));
    assert!(w.contains(&Want::File("/etc/default/docker".into())));
}

#[test]
fn rhel_multiline_and_sysconfig() {
    let snap = load("rhel");
    let r = resolve(&snap, "docker.service");
    assert_eq!(
        texts(&r),
        [
            "/usr/bin/dockerd",
            "--selinux-enabled",
            "--log-driver=journald",
            "--signature-verification=false",
            "--storage-driver",
            "overlay2",
            "--icc=false"
        ]
    );
    let u = "/lib/systemd/system/docker.service";
    assert_eq!(word(&r, "/usr/bin/dockerd").location, format!("{u}:18"));
    assert_eq!(
        word(&r, "--log-driver=journald").location,
        "/etc/sysconfig/docker:4 ($OPTIONS)"
    );
    assert_eq!(word(&r, "--log-driver=journald").source, Source::EnvFile);
    assert_eq!(
        word(&r, "overlay2").location,
        "/etc/sysconfig/docker-storage:10 ($DOCKER_STORAGE_OPTIONS)"
    );
    assert_eq!(word(&r, "--icc=false").location, format!("{u}:22"));
    assert_eq!(word(&r, "--icc=false").source, Source::Unit);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert!(r.evidence_errors.is_empty(), "{:?}", r.evidence_errors);
    assert!(r.socket.is_none());
    // Environment= values are there too, with their unit line.
    assert_eq!(
        r.environment
            .get("GOTRACEBACK")
            .map(|v| v.1.location.as_str()),
        Some("/lib/systemd/system/docker.service:15")
    );
    assert_eq!(
        r.environment.get("DOCKER_CERT_PATH").map(|v| v.0.as_str()),
        Some("/etc/docker")
    );
}

#[test]
fn dropin_override() {
    let snap = load("dropin-override");
    let r = resolve(&snap, "docker.service");
    assert_eq!(r.unit_path.as_deref(), Some(DEB_UNIT));
    assert_eq!(
        r.dropins,
        [
            "/lib/systemd/system/docker.service.d/50-limits.conf",
            "/etc/systemd/system/docker.service.d/http-proxy.conf",
            "/etc/systemd/system/docker.service.d/override.conf",
        ]
    );
    assert_eq!(
        texts(&r),
        [
            "/usr/sbin/dockerd",
            "--containerd=/run/containerd/containerd.sock",
            "--icc=false",
            "--userland-proxy=false",
            "--live-restore"
        ]
    );
    let o = "/etc/systemd/system/docker.service.d/override.conf";
    assert_eq!(word(&r, "/usr/sbin/dockerd").location, format!("{o}:4"));
    assert_eq!(word(&r, "--icc=false").location, format!("{o}:6"));
    assert_eq!(word(&r, "--live-restore").location, format!("{o}:8"));
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(
        r.environment.get("NO_PROXY").map(|v| v.0.as_str()),
        Some("localhost,127.0.0.1")
    );
    assert_eq!(
        r.environment
            .get("HTTP_PROXY")
            .map(|v| v.1.location.as_str()),
        Some("/etc/systemd/system/docker.service.d/http-proxy.conf:2")
    );
    assert!(r.environment.contains_key("FROM_LIB_DROPIN"));
}

#[test]
fn etc_replaces_lib() {
    let snap = load("etc-replaces");
    let r = resolve(&snap, "docker.service");
    let u = "/etc/systemd/system/docker.service";
    assert_eq!(r.unit_path.as_deref(), Some(u));
    assert_eq!(
        texts(&r),
        [
            "/usr/bin/dockerd",
            "-H",
            "fd://",
            "-H",
            "tcp://0.0.0.0:2375",
            "--containerd=/run/containerd/containerd.sock"
        ]
    );
    assert_eq!(word(&r, "tcp://0.0.0.0:2375").location, format!("{u}:11"));
    // The packaged EnvironmentFile= is gone with the packaged unit.
    assert!(r.environment.is_empty());
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn socket_tcp() {
    let snap = load("socket-tcp");
    let r = resolve(&snap, "docker.service");
    assert_eq!(texts(&r)[1..3], ["-H", "fd://"]);
    let s = r.socket.as_ref().unwrap();
    let ls: Vec<_> = s.listen_streams.iter().map(|l| l.0.as_str()).collect();
    assert_eq!(ls, ["/run/docker.sock", "0.0.0.0:2375", "[::1]:2375"]);
    assert_eq!(
        s.listen_streams[1].1.location,
        "/lib/systemd/system/docker.socket:6"
    );
    assert_eq!(
        s.dropins,
        ["/etc/systemd/system/docker.socket.d/10-ipv6.conf"]
    );
    assert_eq!(
        s.listen_streams[2].1.location,
        "/etc/systemd/system/docker.socket.d/10-ipv6.conf:3"
    );
}

#[test]
fn env_expansion() {
    let snap = load("env-expansion");
    let r = resolve(&snap, "docker.service");
    assert_eq!(
        texts(&r),
        [
            "/usr/bin/dockerd",
            "--log-opt",
            "max-size=10m",
            "--log-opt max-size=10m",
            "--label",
            "a=1",
            "--label",
            "b=two words",
            "--data-root=/var/lib/docker data",
            "--debug",
            "from-file",
            "a",
            "b c",
            "d",
            "",
            "--x=$HOME",
            "--y=$ONLY_UNIT",
            "%",
            "--pidfile=/run/docker.pid",
        ]
    );
    let u = "/etc/systemd/system/docker.service";
    let e = "/etc/docker/dockerd.env";
    let w = r.exec_start.as_ref().unwrap();
    assert_eq!(w[1].location, format!("{u}:6 ($LOG_OPTS)"));
    assert_eq!(w[1].source, Source::Unit);
    assert_eq!(w[3].location, format!("{u}:6 (${{LOG_OPTS}})"));
    assert_eq!(w[8].location, format!("{u}:11 (${{DATA}} from {e}:3)"));
    assert_eq!(w[9].location, format!("{u}:7 ($ONLY_UNIT)"));
    assert_eq!(w[10].source, Source::EnvFile);
    assert_eq!(w[10].location, format!("{e}:2 ($OVERRIDDEN)"));
    assert_eq!(w[12].location, format!("{e}:5 ($QUOTED)"));
    assert_eq!(w[14].location, format!("{u}:12 (${{UNDEFINED}})"));
    assert_eq!(w[15].location, format!("{u}:12"));
    assert_eq!(w[18].location, format!("{u}:12"));
    // `export EXPORTED=1` is dropped by systemd: a warning.
    assert!(!r.environment.contains_key("EXPORTED"));
    assert!(
        r.problems.iter().any(|p| p.level == ProblemLevel::Warning
            && p.message.contains("export")
            && p.evidence.location == format!("{e}:4")),
        "{:?}",
        r.problems
    );
    assert!(fatal(&r).is_empty(), "{:?}", r.problems);
    assert_eq!(
        r.environment.get("OVERRIDDEN").map(|v| v.0.as_str()),
        Some("from-file")
    );
}

#[test]
fn invalid_missing_envfile() {
    let snap = load("invalid-missing-envfile");
    let r = resolve(&snap, "docker.service");
    let f = fatal(&r);
    assert_eq!(f.len(), 1, "{:?}", r.problems);
    assert!(f[0].message.contains("/etc/default/docker"));
    assert_eq!(f[0].evidence.location, format!("{DEB_UNIT}:13"));
    // The command line is still known: rules can show it.
    assert_eq!(texts(&r).len(), 4);
}

#[test]
fn invalid_two_execstart() {
    let snap = load("invalid-two-execstart");
    let r = resolve(&snap, "docker.service");
    let f = fatal(&r);
    assert_eq!(f.len(), 1, "{:?}", r.problems);
    assert!(f[0].message.contains("2 ExecStart="), "{}", f[0].message);
    assert_eq!(
        f[0].evidence.location,
        "/etc/systemd/system/docker.service.d/override.conf:3"
    );
}

#[test]
fn invalid_unterminated_quote() {
    let snap = load("invalid-unterminated-quote");
    let r = resolve(&snap, "docker.service");
    assert!(r.exec_start.is_none());
    let f = fatal(&r);
    assert!(
        f.iter().any(|p| p.message.contains("unbalanced quoting")
            && p.evidence.location == "/etc/systemd/system/docker.service.d/override.conf:3"),
        "{:?}",
        r.problems
    );
    assert!(f.iter().any(|p| p.message.contains("no ExecStart")));
}

#[test]
fn masked() {
    let snap = load("masked");
    let r = resolve(&snap, "docker.service");
    assert_eq!(
        r.unit_path.as_deref(),
        Some("/etc/systemd/system/docker.service")
    );
    assert!(r.exec_start.is_none());
    let f = fatal(&r);
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("masked"));
}

#[test]
fn rootless_user_unit() {
    let mut snap = Snapshot::new(Mode::Live);
    let mut d = DaemonEvidence {
        pid: 4242,
        uid: Some(1000),
        systemd_unit: Some(
            "/user.slice/user-1000.slice/user@1000.service/app.slice/docker.service".into(),
        ),
        ..Default::default()
    };
    d.environ.insert("HOME".into(), "/home/alice".into());
    snap.daemons.push(d);
    fill(&mut snap, "rootless");
    let u = "/home/alice/.config/systemd/user/docker.service";
    assert!(snap.files.get(u).and_then(|f| f.text.as_ref()).is_some());
    let r = resolve_user(&snap, "docker.service", "/home/alice");
    assert_eq!(r.unit_path.as_deref(), Some(u));
    assert_eq!(texts(&r), ["/home/alice/bin/dockerd-rootless.sh"]);
    assert_eq!(r.exec_start.as_ref().unwrap()[0].location, format!("{u}:7"));
    // The system unit does not exist on this host.
    assert_eq!(resolve(&snap, "docker.service").unit_path, None);
}
