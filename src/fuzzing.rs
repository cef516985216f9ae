//! The fuzz targets' bodies, one function per parser, shared by the
//! cargo-fuzz targets in `fuzz/` (libFuzzer, nightly) and by
//! `tests/offline/fuzz_corpus.rs`, which replays the committed corpus on stable.
//!
//! Each function takes arbitrary bytes, feeds them to a parser the way
//! dockhard does on a real host, and checks what must hold for any input
//! (a panic here is a finding). None of them touches the filesystem, the
//! network, the environment or the clock.

use std::io::Cursor;

use crate::collect::http::{Limits, read_response};
use crate::model::ArgWord;
use crate::model::config::file::parse_file;
use crate::model::config::hosts::{parse_host, split_host_port, validate_host};
use crate::model::engine::Engine;
use crate::parse;
use crate::snapshot::{DaemonEvidence, DirEvidence, FileEvidence, Mode, SNAPSHOT_SCHEMA, Snapshot};

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target, by name: what `fuzz/fuzz_targets/NAME.rs` runs and the
/// directory `fuzz/corpus/NAME/` holds inputs for.
pub const TARGETS: &[(&str, Target)] = &[
    ("daemon_json", daemon_json),
    ("unit", unit),
    ("envfile", envfile),
    ("argv", argv),
    ("procnet", procnet),
    ("procfs", procfs),
    ("http_response", http_response),
    ("pem", pem),
    ("policy", policy),
    ("report", report),
    ("snapshot", snapshot),
];

/// The text dockhard would hold for these bytes (invalid UTF-8 replaced, as
/// the collector does) and whether anything was replaced.
fn text_of(data: &[u8]) -> (String, bool) {
    match std::str::from_utf8(data) {
        Ok(s) => (s.to_string(), false),
        Err(_) => (String::from_utf8_lossy(data).into_owned(), true),
    }
}

/// daemon.json: the strict parser, the dockerd key rules over it, and the
/// editor `fix` uses: setting a key in any object it accepts gives a
/// document that parses and holds the value, with every other key intact.
pub fn daemon_json(data: &[u8]) {
    let (text, invalid) = text_of(data);
    let parsed = parse::json::parse(&text);
    let _ = parse_file(
        "/etc/docker/daemon.json",
        &text,
        invalid,
        &Engine::default(),
    );
    if let Ok(node) = &parsed {
        let _ = node.value.go_format();
        let _ = node.value.to_serde();
    }
    let value = serde_json::Value::Bool(false);
    if let Ok(edited) = crate::fix::json_edit::set_key(&text, "icc", &value) {
        let again = parse::json::parse(&edited);
        assert!(again.is_ok(), "set_key output does not parse: {edited:?}");
        assert_eq!(
            crate::fix::json_edit::get_key(&edited, "icc"),
            Some(value.clone()),
            "set_key lost its value: {edited:?}"
        );
        if let (Ok(before), Ok(after)) = (&parsed, &again) {
            let (mut b, a) = (before.value.to_serde(), after.value.to_serde());
            if let (Some(b), Some(a)) = (b.as_object_mut(), a.as_object()) {
                b.insert("icc".into(), value);
                assert_eq!(&*b, a, "set_key changed another key: {edited:?}");
            }
        }
    }
    if let Ok(edited) = crate::fix::json_edit::remove_key(&text, "icc") {
        assert_eq!(crate::fix::json_edit::get_key(&edited, "icc"), None);
    }
}

/// Splits fuzz input into up to `n` parts at NUL bytes.
fn parts(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = data
        .splitn(n, |b| *b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    out.resize(n, String::new());
    out
}

/// A systemd unit, a drop-in and an EnvironmentFile (NUL-separated), first
/// parsed on their own, then resolved as docker.service with `$OPTIONS`
/// expansion and audited from disk, as `dockhard check --root` would.
pub fn unit(data: &[u8]) {
    let p = parts(data, 3);
    for text in &p[..2] {
        let u = parse::unit::parse_unit(text);
        for e in &u.entries {
            let _ = parse::unit::parse_exec(&e.value);
            let (s, _) = crate::model::systemd::replace_env(&e.value, |k| {
                (k.len() < 8).then(|| k.repeat(2))
            });
            let _ = parse::unit::split_words(&s, parse::unit::ExtractFlags::default());
            let _ = e.line_at(e.value.len() / 2);
        }
    }
    let mut snap = Snapshot::new(Mode::Root);
    snap.root = Some("/fuzz".into());
    let file = |t: &str| FileEvidence {
        text: Some(t.to_string()),
        ..FileEvidence::default()
    };
    let unit_path = "/lib/systemd/system/docker.service";
    snap.files.insert(unit_path.into(), file(&p[0]));
    snap.files.insert(
        "/etc/systemd/system/docker.service.d/override.conf".into(),
        file(&p[1]),
    );
    snap.dirs.insert(
        "/etc/systemd/system/docker.service.d".into(),
        DirEvidence {
            entries: Some(vec!["override.conf".into()]),
            ..DirEvidence::default()
        },
    );
    snap.files.insert("/etc/default/docker".into(), file(&p[2]));
    snap.files
        .insert("/etc/sysconfig/docker".into(), file(&p[2]));
    snap.unit_file = Some(unit_path.into());
    let _ = crate::model::systemd::resolve_file(&snap, unit_path);
    let _ = crate::model::systemd::wanted(&snap);
    let report = crate::audit::run(&snap);
    let _ = crate::report::json::render(&report);
}

/// An EnvironmentFile= (`/etc/default/docker`, `/etc/sysconfig/docker`).
pub fn envfile(data: &[u8]) {
    let (text, _) = text_of(data);
    let lines = 1 + text.chars().filter(|c| matches!(c, '\n' | '\r')).count();
    for a in parse::envfile::parse_env_file(&text) {
        assert!(a.line >= 1 && a.line <= lines, "line {} of {lines}", a.line);
        let _ = parse::envfile::is_valid_env_name(&a.key);
    }
}

/// A dockerd command line (words separated by NUL, as in /proc/PID/cmdline):
/// flag parsing, every `-H` form, and the effective configuration with a
/// daemon.json given by the last word.
pub fn argv(data: &[u8]) {
    let words = parse::procnet::split_nul(data);
    let argv = ArgWord::from_argv(&words);
    let _ = crate::model::config::argv::parse_args(&argv, &Engine::default());
    for w in &words {
        let _ = validate_host(w);
        for (tls, rootless) in [(false, false), (true, false), (false, true)] {
            if let Ok(h) = parse_host(tls, rootless, Some("/run/user/1000"), w) {
                let _ = h.canonical();
            }
        }
        let _ = split_host_port(w);
        let _ = crate::model::config::argv::parse_go_int(w);
        let _ = crate::model::config::argv::parse_ram_bytes(w);
        let _ = crate::model::config::argv::parse_ulimit(w);
    }
    let mut snap = Snapshot::new(Mode::Live);
    let daemon_json = words.last().cloned().unwrap_or_default();
    snap.files.insert(
        "/etc/docker/daemon.json".into(),
        FileEvidence {
            text: Some(daemon_json),
            ..FileEvidence::default()
        },
    );
    snap.daemons.push(DaemonEvidence {
        pid: 1234,
        argv: words,
        ..DaemonEvidence::default()
    });
    let report = crate::audit::run(&snap);
    let _ = crate::report::text::render(&report, false);
}

/// /proc/net/tcp, tcp6 and unix.
pub fn procnet(data: &[u8]) {
    let (text, _) = text_of(data);
    for e in parse::procnet::parse_tcp(&text) {
        let _ = e.is_listen();
    }
    for e in parse::procnet::parse_unix(&text) {
        let _ = e.is_listen();
    }
    for w in text.split_whitespace() {
        let _ = parse::procnet::parse_hex_addr(w);
        let _ = parse::procnet::parse_socket_link(w);
    }
}

/// The other per-process and host files: stat, status, cgroup, environ,
/// /proc/stat, mountinfo, audit rules.
pub fn procfs(data: &[u8]) {
    let (text, _) = text_of(data);
    let _ = parse::procnet::parse_stat(&text);
    let _ = parse::procnet::parse_status_uid(&text);
    let _ = parse::procnet::parse_status_ppid(&text);
    let _ = parse::procnet::parse_cgroup_unit(&text);
    let _ = parse::procnet::parse_btime(&text);
    let _ = parse::procnet::parse_environ(data);
    let mounts = parse::mountinfo::parse(&text);
    for p in ["/", "/var/lib/docker", "/var/lib/docker/overlay2"] {
        let _ = parse::mountinfo::mount_of(&mounts, p);
    }
    for w in parse::audit::parse(&text) {
        let _ = w.covers("/usr/bin/dockerd");
    }
}

/// An Engine API response: status line, headers, chunked or Content-Length
/// body, 1xx interim responses, with small limits so that the limits are
/// reached too.
pub fn http_response(data: &[u8]) {
    for limits in [
        Limits::default(),
        Limits {
            max_header: 256,
            max_body: 1024,
        },
    ] {
        let mut r = Cursor::new(data);
        if let Ok(resp) = read_response(&mut r, limits) {
            assert!(resp.body.len() <= limits.max_body, "body over the limit");
            let _ = resp.header("content-type");
        }
    }
}

/// PEM files holding certificates (tlscacert, tlscert, swarm certificates),
/// read for validity and subject, and by rustls's PEM reader.
pub fn pem(data: &[u8]) {
    let (text, _) = text_of(data);
    if let Ok(certs) = crate::model::certs::parse_pem_certs(&text) {
        assert!(!certs.is_empty());
    }
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    for der in CertificateDer::pem_slice_iter(data).take(64).flatten() {
        let _ = x509_parser::parse_x509_certificate(&der);
    }
}

/// The policy file (`--policy`, /etc/dockhard/policy.toml).
pub fn policy(data: &[u8]) {
    let (text, _) = text_of(data);
    let _ = crate::policy::parse("policy.toml", &text);
}

/// A JSON report as `dockhard merge` reads it, then merged and rendered.
pub fn report(data: &[u8]) {
    if let Ok(r) = crate::cli::parse_report("report.json", data) {
        let fleet = crate::report::fleet::merge(&[("host".to_string(), r)]);
        let _ = crate::report::fleet::render_json(&fleet);
        let _ = crate::report::fleet::render_text(&fleet);
    }
}

/// A snapshot as `dockhard check --snapshot` reads it, then audited with
/// every rule and rendered.
pub fn snapshot(data: &[u8]) {
    if let Ok(snap) = crate::cli::parse_snapshot("snapshot.json", data) {
        assert_eq!(snap.schema, SNAPSHOT_SCHEMA);
        let opts = crate::audit::AuditOptions {
            profile: crate::rules::Profile::All,
            exclude: crate::model::objects::Exclusions::default(),
            policy: crate::policy::Policy::default(),
            cis_version: crate::rules::CisVersion::default(),
        };
        let report = crate::audit::run_with(&snap, &opts);
        let _ = crate::report::json::render(&report);
        let _ = crate::report::text::render(&report, false);
    }
}
