//! The host around the daemon (CIS section 1): the files the host rules
//! read, and the paths that should be audited, as the daemon really uses
//! them.

use super::Want;
use super::config::Effective;
use super::daemon::DaemonModel;
use crate::model::config::keys;
use crate::snapshot::Snapshot;

pub const GROUP: &str = "/etc/group";
pub const PASSWD: &str = "/etc/passwd";
pub const AUDIT_RULES: &str = "/etc/audit/audit.rules";
pub const AUDIT_RULES_D: &str = "/etc/audit/rules.d";
/// The audit rules file `dockhard fix` writes (and the only one it edits).
pub const AUDIT_OWN_RULES: &str = "/etc/audit/rules.d/dockhard-docker.rules";

/// Where binaries are looked up, in the order of root's PATH.
const BIN_DIRS: &[&str] = &["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin"];

/// A path that should have an audit watch, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditTarget {
    pub path: String,
    /// CIS id and what the path is.
    pub why: String,
}

/// The audit rule files to read: audit.rules, then rules.d/*.rules sorted.
pub fn audit_rule_files(snap: &Snapshot) -> Vec<String> {
    let mut out = vec![AUDIT_RULES.to_string()];
    if let Some(entries) = snap.dir(AUDIT_RULES_D).and_then(|d| d.entries.as_ref()) {
        out.extend(
            entries
                .iter()
                .filter(|e| e.ends_with(".rules"))
                .map(|e| format!("{AUDIT_RULES_D}/{e}")),
        );
    }
    out
}

/// What the host rules want read: groups, audit rules, and the metadata of
/// every path that should be audited (a path that does not exist needs no
/// watch).
pub fn wanted(snap: &Snapshot) -> Vec<Want> {
    let mut out = vec![
        Want::File(GROUP.into()),
        Want::File(PASSWD.into()),
        Want::Dir(AUDIT_RULES_D.into()),
    ];
    out.extend(audit_rule_files(snap).into_iter().map(Want::File));
    for name in BINARIES.iter().map(|(n, _)| *n).chain(["dockerd"]) {
        out.extend(BIN_DIRS.iter().map(|d| Want::Meta(format!("{d}/{name}"))));
    }
    for m in super::daemon::build_configs(snap) {
        let view = m.running.as_ref().unwrap_or(&m.next_start);
        for t in audit_targets(snap, &m, view.config.as_ref().ok()) {
            out.push(Want::Meta(t.path));
        }
    }
    out
}

/// Binaries CIS wants audited besides dockerd.
const BINARIES: &[(&str, &str)] = &[
    ("containerd", "1.1.14 containerd"),
    ("containerd-shim", "1.1.15 containerd-shim"),
    ("containerd-shim-runc-v1", "1.1.16 containerd-shim-runc-v1"),
    ("containerd-shim-runc-v2", "1.1.17 containerd-shim-runc-v2"),
    ("runc", "1.1.18 runc"),
];

/// Does the snapshot show that `path` exists?
pub fn exists(snap: &Snapshot, path: &str) -> bool {
    snap.file(path)
        .is_some_and(|f| !f.missing && (f.meta.is_some() || f.text.is_some()))
}

/// The first `name` found along root's PATH, else its usual place.
fn binary(snap: &Snapshot, name: &str) -> String {
    BIN_DIRS
        .iter()
        .map(|d| format!("{d}/{name}"))
        .find(|p| exists(snap, p))
        .unwrap_or_else(|| format!("/usr/bin/{name}"))
}

/// The paths that should be audited for this daemon (CIS 1.1.3-1.1.18),
/// as it really uses them: its executable, data-root, unit and socket files
/// with drop-ins, the daemon.json it reads, containerd's socket.
pub fn audit_targets(
    snap: &Snapshot,
    m: &DaemonModel,
    cfg: Option<&Effective>,
) -> Vec<AuditTarget> {
    let mut out = Vec::new();
    let mut add = |path: String, why: &str| {
        if !out.iter().any(|t: &AuditTarget| t.path == path) {
            out.push(AuditTarget {
                path,
                why: why.to_string(),
            });
        }
    };
    let exe = m
        .pid
        .and_then(|pid| snap.daemons.iter().find(|d| d.pid == pid))
        .and_then(|d| d.exe.as_deref())
        .map(|e| e.trim_end_matches(" (deleted)").to_string())
        .or_else(|| {
            m.service
                .as_ref()
                .and_then(|s| s.exec_start.as_ref())
                .and_then(|w| w.first())
                .map(|w| w.text.clone())
                .filter(|t| t.starts_with('/'))
        })
        .unwrap_or_else(|| binary(snap, "dockerd"));
    add(exe, "1.1.3 the dockerd binary");
    add("/run/containerd".into(), "1.1.4 /run/containerd");
    let data_root = cfg
        .and_then(|c| c.string(keys::DATA_ROOT).0)
        .unwrap_or_else(|| "/var/lib/docker".into());
    add(data_root, "1.1.5 the data-root");
    add("/etc/docker".into(), "1.1.6 /etc/docker");
    if let Some(s) = &m.service {
        if let Some(u) = &s.unit_path {
            add(u.clone(), "1.1.7 the docker.service unit");
        }
        for d in &s.dropins {
            add(d.clone(), "1.1.7 a docker.service drop-in");
        }
        if let Some(sock) = &s.socket {
            add(sock.unit_path.clone(), "1.1.9 the docker.socket unit");
            for d in &sock.dropins {
                add(d.clone(), "1.1.9 a docker.socket drop-in");
            }
        }
    }
    let containerd_sock = cfg
        .and_then(|c| c.string(keys::CONTAINERD).0)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/run/containerd/containerd.sock".into());
    add(containerd_sock, "1.1.8 containerd.sock");
    add("/etc/default/docker".into(), "1.1.10 /etc/default/docker");
    if let Some(c) = cfg {
        add(c.config_path.path.clone(), "1.1.11 the daemon.json in use");
    }
    add(
        "/etc/containerd/config.toml".into(),
        "1.1.12 /etc/containerd/config.toml",
    );
    add(
        "/etc/sysconfig/docker".into(),
        "1.1.13 /etc/sysconfig/docker",
    );
    for (name, why) in BINARIES {
        add(binary(snap, name), why);
    }
    out
}
