//! Section 3 of the CIS Docker Benchmark: ownership and permissions of the
//! files the daemon really uses (the unit and drop-ins in force, the
//! daemon.json it reads, the TLS files and sockets of its configuration).
//!
//! Modes are compared as bit masks: "0644 or stricter" means no permission
//! bit outside 0644 (0622 and 0606 fail, and so does any setuid, setgid or
//! sticky bit). Owners are compared as numbers: root is uid 0 and gid 0.
//! Every rule here builds a list of [`Target`]s and calls [`judge`].

use super::remedy::{FixCx, FixSpec, Hazard, PermChange};
use super::{Ctx, Outcome, Status};
use crate::model::{Evidence, Source};
use crate::snapshot::{FileKind, FileMeta};

pub mod certs_d;
pub mod containerd_socket;
pub mod daemon_json;
pub mod docker_service;
pub mod docker_socket_unit;
pub mod engine_socket;
pub mod etc_default_docker;
pub mod etc_docker;
pub mod etc_sysconfig_docker;
pub mod tls_ca;
pub mod tls_cert;
pub mod tls_key;

/// Who may own a file and which bits it may have.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Expect {
    /// The permission mask: no bit outside it (and no special bit).
    pub mode: u32,
    /// Allowed owners.
    pub uids: Vec<u32>,
    /// Allowed groups; `None`: the group is not judged (a rootless
    /// daemon's files belong to its user's group).
    pub gids: Option<Vec<u32>>,
    /// The expectation as a reader says it: `root:root`, `root:docker`.
    pub owner: String,
}

impl Expect {
    /// root:root with at most `mode`.
    pub fn root(mode: u32) -> Self {
        Expect {
            mode,
            uids: vec![0],
            gids: Some(vec![0]),
            owner: "root:root".into(),
        }
    }

    /// root:root, or for a rootless daemon its own user (any group): the
    /// files such a daemon reads live in its user's home.
    pub fn daemon_owned(cx: &Ctx<'_>, mode: u32) -> Self {
        match rootless_uid(cx) {
            Some(uid) => Expect {
                mode,
                uids: vec![0, uid],
                gids: None,
                owner: format!("root or uid {uid} (rootless daemon)"),
            },
            None => Expect::root(mode),
        }
    }

    fn problems(&self, m: &FileMeta) -> Vec<String> {
        let mut out = Vec::new();
        let extra = m.mode & 0o7777 & !self.mode;
        if extra != 0 {
            out.push(format!(
                "mode {:04o} has bits {extra:04o} outside {:04o}",
                m.mode, self.mode
            ));
        }
        if !self.uids.contains(&m.uid) {
            out.push(format!("owned by uid {}, not {}", m.uid, self.owner));
        }
        if let Some(g) = &self.gids {
            if !g.contains(&m.gid) {
                out.push(format!("group gid {}, not {}", m.gid, self.owner));
            }
        }
        out
    }
}

/// The uid of the audited daemon when it is rootless.
pub(crate) fn rootless_uid(cx: &Ctx<'_>) -> Option<u32> {
    if !cx.daemon.rootless {
        return None;
    }
    cx.snap
        .daemons
        .iter()
        .find(|d| Some(d.pid) == cx.daemon.pid)
        .and_then(|d| d.uid)
        .filter(|u| *u != 0)
}

/// One file to judge.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub path: String,
    /// What it is, in messages: `unit`, `drop-in`, `CA`, `socket`.
    pub role: String,
    /// In use, so it must exist: missing is a failure. Otherwise a missing
    /// file is left out.
    pub required: bool,
    pub expect: Expect,
    /// Where the path comes from (the flag, key or unit line naming it).
    pub source: Option<Evidence>,
}

impl Target {
    pub fn new(path: impl Into<String>, role: impl Into<String>, expect: Expect) -> Self {
        Target {
            path: path.into(),
            role: role.into(),
            required: false,
            expect,
            source: None,
        }
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn from(mut self, e: Evidence) -> Self {
        self.source = Some(e);
        self
    }
}

/// The files a rule judges, with the message when none exists; or the
/// verdict itself when there is no file to judge (TLS off, no unit).
pub(crate) type Targets = Result<(Vec<Target>, String), Outcome>;

/// The verdict of a rule that judges `targets`.
pub(crate) fn judged(cx: &Ctx<'_>, targets: Targets) -> Outcome {
    match targets {
        Ok((t, none)) => judge(cx, &t, &none),
        Err(o) => o,
    }
}

/// The owner and mode change that makes `m` meet `e`, `None` when it does.
/// The new mode is the old one without the bits outside the mask (bits are
/// never added); a wrong owner or group becomes the first expected one
/// (root, or the socket group), a right one is kept. Refused: symbolic
/// links (chmod cannot change a link itself on Linux, and the file it
/// points to is not the one named), files of other kinds than regular
/// files, directories and sockets, and a wrong owner of a rootless
/// daemon's file (root or its user: which one is for a person to say).
pub(crate) fn perm_change(
    path: &str,
    role: &str,
    m: &FileMeta,
    e: &Expect,
) -> Result<Option<PermChange>, String> {
    if e.problems(m).is_empty() {
        return Ok(None);
    }
    let name = format!("{path} ({role})");
    match m.kind {
        FileKind::File | FileKind::Dir | FileKind::Socket => {}
        FileKind::Symlink => {
            let to = m
                .link_target
                .as_deref()
                .map(|t| format!(" to {t}"))
                .unwrap_or_default();
            return Err(format!(
                "{name} is a symbolic link{to}: dockhard never follows links; change the owner and mode of the file it names by hand, or replace the link by the file"
            ));
        }
        k => {
            return Err(format!(
                "{name} is a {k:?}, not a regular file, directory or socket: not changed"
            ));
        }
    }
    let old_mode = m.mode & 0o7777;
    let new_uid = if e.uids.contains(&m.uid) {
        m.uid
    } else if e.gids.is_none() {
        return Err(format!(
            "{name} is owned by uid {}: a rootless daemon's file may belong to root or its user, chown it by hand",
            m.uid
        ));
    } else {
        *e.uids
            .first()
            .ok_or_else(|| format!("{name}: no owner is allowed"))?
    };
    let new_gid = match &e.gids {
        Some(g) if !g.contains(&m.gid) => *g
            .first()
            .ok_or_else(|| format!("{name}: no group is allowed"))?,
        _ => m.gid,
    };
    Ok(Some(PermChange {
        path: path.to_string(),
        role: role.to_string(),
        kind: m.kind,
        dev: m.dev,
        ino: m.ino,
        old_mode,
        old_uid: m.uid,
        old_gid: m.gid,
        new_mode: old_mode & e.mode & 0o7777,
        new_uid,
        new_gid,
    }))
}

/// The owner and mode changes that make `targets` pass, or why they
/// cannot be made (a symbolic link, a file missing or not collected).
pub(crate) fn perm_fix(cx: &Ctx<'_>, targets: &[Target]) -> Result<FixSpec, String> {
    let mut spec = FixSpec::default();
    for t in targets {
        let name = format!("{} ({})", t.path, t.role);
        let f = cx
            .snap
            .file(&t.path)
            .ok_or_else(|| format!("{name} was not collected"))?;
        if f.missing {
            if t.required {
                return Err(format!(
                    "{name} does not exist: there is no owner or mode to change"
                ));
            }
            continue;
        }
        let m = f.meta.as_ref().ok_or_else(|| {
            format!(
                "{name}: {}",
                f.error.as_deref().unwrap_or("no metadata was collected")
            )
        })?;
        if let Some(c) = perm_change(&t.path, &t.role, m, &t.expect)? {
            if c.kind == FileKind::Socket {
                if c.old_gid != c.new_gid {
                    spec.hazards.push(Hazard::warning(format!(
                        "{name}: members of group {} lose access to it",
                        c.old_gid
                    )));
                }
                if c.old_mode & 0o007 != 0 && c.new_mode & 0o007 == 0 {
                    spec.hazards.push(Hazard::warning(format!(
                        "{name}: users outside its owner and group lose access to it"
                    )));
                }
            }
            spec.perms.push(c);
        }
    }
    if spec.perms.is_empty() {
        return Err("no owner or mode to change".into());
    }
    Ok(spec)
}

/// The fix of a rule whose files are `targets`.
pub(crate) fn fix_targets(
    cx: &FixCx<'_>,
    targets: fn(&Ctx<'_>) -> Targets,
) -> Result<FixSpec, String> {
    let ctx = Ctx {
        snap: cx.snap,
        daemon: cx.daemon,
        view: cx.view,
    };
    match targets(&ctx) {
        Ok((t, _)) => perm_fix(&ctx, &t),
        Err(o) => Err(format!("no file to change: {}", o.message)),
    }
}

/// `mode 0644, owner 0:0`
pub(crate) fn meta_text(m: &FileMeta) -> String {
    format!("mode {:04o}, owner {}:{}", m.mode & 0o7777, m.uid, m.gid)
}

/// The verdict over `targets`: `fail` when any file has a bit outside its
/// mask or a wrong owner, or a required file is missing; `error` when the
/// metadata of one was not collected; `not_applicable` (with `none`) when
/// no file exists; else `pass`.
pub(crate) fn judge(cx: &Ctx<'_>, targets: &[Target], none: &str) -> Outcome {
    let mut failures = Vec::new();
    let mut errors = Vec::new();
    let mut passed = Vec::new();
    let mut evidence = Vec::new();
    for t in targets {
        evidence.extend(t.source.clone());
        let name = format!("{} ({})", t.path, t.role);
        match cx.snap.file(&t.path) {
            None => errors.push(format!("{name} was not collected")),
            Some(f) if f.missing => {
                evidence.push(Evidence::new(Source::File, &t.path, "does not exist"));
                if t.required {
                    failures.push(format!("{name} does not exist"));
                }
            }
            Some(f) => match &f.meta {
                None => errors.push(format!(
                    "{name}: {}",
                    f.error.as_deref().unwrap_or("no metadata")
                )),
                Some(m) => {
                    evidence.push(Evidence::new(Source::File, &t.path, meta_text(m)));
                    let p = t.expect.problems(m);
                    if p.is_empty() {
                        passed.push(t);
                    } else {
                        failures.push(format!("{name}: {}", p.join(", ")));
                    }
                }
            },
        }
    }
    let status = if !failures.is_empty() {
        Status::Fail
    } else if !errors.is_empty() {
        Status::Error
    } else if passed.is_empty() {
        Status::NotApplicable
    } else {
        Status::Pass
    };
    let message = match status {
        Status::Fail => failures.join("; "),
        Status::Error => errors.join("; "),
        Status::NotApplicable => none.to_string(),
        _ => {
            let mut groups: Vec<(&Expect, Vec<&str>)> = Vec::new();
            for t in &passed {
                match groups.iter_mut().find(|(e, _)| *e == &t.expect) {
                    Some((_, v)) => v.push(&t.path),
                    None => groups.push((&t.expect, vec![&t.path])),
                }
            }
            groups
                .iter()
                .map(|(e, paths)| {
                    format!(
                        "{}: {}, {:04o} or stricter",
                        paths.join(", "),
                        e.owner,
                        e.mode
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
    };
    let out = Outcome::new(status, message).with_all(evidence);
    if status == Status::Fail {
        out.with_warnings(errors)
    } else {
        out
    }
}

/// A fixed path that is judged only when it exists.
pub(crate) fn optional_root_file(path: &str, role: &str, mode: u32) -> Targets {
    Ok((
        vec![Target::new(path, role, Expect::root(mode))],
        format!("{path} does not exist"),
    ))
}

/// Which TLS file of the effective configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Tls {
    Ca,
    Cert,
    Key,
}

/// The TLS CA, certificate or key in effect: it must exist when TLS is on
/// and the file is configured (flags, daemon.json or the DOCKER_CERT_PATH
/// defaults); `not_applicable` when TLS is off or the file is not set.
pub(crate) fn tls_file(cx: &Ctx<'_>, which: Tls, mode: u32) -> Targets {
    let cfg = super::config(cx)?;
    let tls = cfg.tls();
    if !tls.enabled {
        return Err(Outcome::not_applicable("TLS is not configured").with_all(tls.evidence));
    }
    let (file, role, key) = match which {
        Tls::Ca => (&tls.ca, "TLS CA", "tlscacert"),
        Tls::Cert => (&tls.cert, "TLS certificate", "tlscert"),
        Tls::Key => (&tls.key, "TLS key", "tlskey"),
    };
    let Some((path, ev)) = file else {
        return Err(
            Outcome::not_applicable(format!("TLS is on but no {key} is configured"))
                .with_all(tls.evidence),
        );
    };
    let target = Target::new(path, role, Expect::daemon_owned(cx, mode))
        .required()
        .from(ev.clone());
    Ok((vec![target], String::new()))
}

/// The `remediation` text shared by the rules of one file.
macro_rules! chown_chmod {
    ($owner:literal, $mode:literal, $what:literal) => {
        concat!(
            "`chown ",
            $owner,
            " ",
            $what,
            "` and `chmod ",
            $mode,
            " ",
            $what,
            "` (or stricter: remove bits, never add them)."
        )
    };
}
pub(crate) use chown_chmod;

/// Test support shared by the rules of this section.
#[cfg(test)]
pub(crate) mod support {
    use crate::rules::testing::{lines, snapshot, with_argv, with_file, with_missing};
    use crate::snapshot::{FileKind, Snapshot};
    use serde_json::json;

    /// `rule` with `path` absent (`None`) or a `kind` file of this mode and
    /// owner.
    pub fn fixed(rule: &str, path: &str, kind: FileKind, file: Option<(u32, u32, u32)>) -> String {
        let mut s = snapshot(json!({}), &[], &[]);
        match file {
            Some((mode, uid, gid)) => with_file(&mut s, path, kind, mode, uid, gid),
            None => with_missing(&mut s, path),
        }
        lines(rule, &s)
    }

    pub const CA: &str = "/etc/docker/tls/ca.pem";
    pub const CERT: &str = "/etc/docker/tls/server-cert.pem";
    pub const KEY: &str = "/etc/docker/tls/server-key.pem";

    /// A daemon with `--tlsverify` and these files (all 0400 root:root but
    /// `path`, which has `mode` and `uid`; `None`: absent).
    pub fn tls(rule: &str, path: &str, file: Option<(u32, u32)>) -> String {
        let mut s: Snapshot = snapshot(json!({}), &[], &[]);
        with_argv(
            &mut s,
            &[
                "dockerd",
                "-H",
                "tcp://0.0.0.0:2376",
                "--tlsverify",
                "--tlscacert",
                CA,
                "--tlscert",
                CERT,
                "--tlskey",
                KEY,
            ],
        );
        s.daemons[0].tcp_listeners = vec![crate::snapshot::SocketAddrText {
            addr: "0.0.0.0".into(),
            port: 2376,
        }];
        for p in [CA, CERT, KEY] {
            with_file(&mut s, p, FileKind::File, 0o400, 0, 0);
        }
        match file {
            Some((mode, uid)) => with_file(&mut s, path, FileKind::File, mode, uid, 0),
            None => with_missing(&mut s, path),
        }
        lines(rule, &s)
    }

    /// `rule` on a daemon without TLS.
    pub fn no_tls(rule: &str) -> String {
        lines(rule, &snapshot(json!({}), &[], &[]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::FileKind;

    fn meta(mode: u32, uid: u32, gid: u32) -> FileMeta {
        FileMeta {
            kind: FileKind::File,
            target_kind: None,
            link_target: None,
            mode,
            uid,
            gid,
            size: 0,
            mtime: 0,
            dev: None,
            ino: None,
        }
    }

    fn change(m: &FileMeta, e: &Expect) -> Result<Option<String>, String> {
        perm_change("/etc/docker/daemon.json", "daemon.json", m, e).map(|c| {
            c.map(|c| {
                let n = |_: u32| None;
                c.describe(&n, &n)
            })
        })
    }

    #[test]
    fn the_new_mode_only_loses_the_bits_outside_the_mask() {
        let e = Expect::root(0o644);
        let got = |mode| change(&meta(mode, 0, 0), &e);
        assert_eq!(got(0o666), Ok(Some("0666 0:0 -> 0644 0:0".into())));
        assert_eq!(got(0o664), Ok(Some("0664 0:0 -> 0644 0:0".into())));
        // Numerically below 0644, yet group-writable: 0622 -> 0600, never 0644.
        assert_eq!(got(0o622), Ok(Some("0622 0:0 -> 0600 0:0".into())));
        assert_eq!(got(0o4755), Ok(Some("4755 0:0 -> 0644 0:0".into())));
        assert_eq!(got(0o777), Ok(Some("0777 0:0 -> 0644 0:0".into())));
        // Already within the mask: nothing to do, nothing added.
        assert_eq!(got(0o600), Ok(None));
        assert_eq!(got(0o400), Ok(None));
        assert_eq!(got(0o000), Ok(None));
        let key = Expect::root(0o400);
        assert_eq!(
            change(&meta(0o640, 0, 0), &key),
            Ok(Some("0640 0:0 -> 0400 0:0".into()))
        );
    }

    #[test]
    fn a_wrong_owner_becomes_the_expected_one_a_right_one_is_kept() {
        let e = Expect::root(0o644);
        // Mode right, owner wrong: the mode is kept as it is.
        assert_eq!(
            change(&meta(0o640, 1000, 0), &e),
            Ok(Some("0640 1000:0 -> 0640 0:0".into()))
        );
        assert_eq!(
            change(&meta(0o664, 0, 998), &e),
            Ok(Some("0664 0:998 -> 0644 0:0".into()))
        );
        // The API socket: root:docker or root:root; another group becomes docker.
        let sock = Expect {
            mode: 0o660,
            uids: vec![0],
            gids: Some(vec![998, 0]),
            owner: "root:docker (gid 998) or root:root".into(),
        };
        let mut m = meta(0o666, 0, 5);
        m.kind = FileKind::Socket;
        assert_eq!(change(&m, &sock), Ok(Some("0666 0:5 -> 0660 0:998".into())));
        m.gid = 0;
        assert_eq!(change(&m, &sock), Ok(Some("0666 0:0 -> 0660 0:0".into())));
        // A rootless daemon's file: its mode is fixed, a wrong owner is not
        // chosen by dockhard.
        let rootless = Expect {
            mode: 0o644,
            uids: vec![0, 1000],
            gids: None,
            owner: "root or uid 1000 (rootless daemon)".into(),
        };
        assert_eq!(
            change(&meta(0o664, 1000, 1000), &rootless),
            Ok(Some("0664 1000:1000 -> 0644 1000:1000".into()))
        );
        let refused = change(&meta(0o644, 1001, 1001), &rootless).unwrap_err();
        assert!(refused.contains("chown it by hand"), "{refused}");
    }

    #[test]
    fn symbolic_links_and_other_kinds_are_refused() {
        let e = Expect::root(0o644);
        let mut m = meta(0o666, 0, 0);
        m.kind = FileKind::Symlink;
        m.target_kind = Some(FileKind::File);
        m.link_target = Some("/srv/real.json".into());
        assert_eq!(
            change(&m, &e),
            Err("/etc/docker/daemon.json (daemon.json) is a symbolic link to /srv/real.json: dockhard never follows links; change the owner and mode of the file it names by hand, or replace the link by the file".into())
        );
        m.kind = FileKind::Fifo;
        let refused = change(&m, &e).unwrap_err();
        assert!(refused.contains("not a regular file"), "{refused}");
        // A link whose target passes needs nothing.
        m.kind = FileKind::Symlink;
        m.mode = 0o644;
        assert_eq!(change(&m, &e), Ok(None));
    }

    #[test]
    fn modes_are_bit_masks_not_numbers() {
        let e = Expect::root(0o644);
        assert!(e.problems(&meta(0o644, 0, 0)).is_empty());
        assert!(e.problems(&meta(0o600, 0, 0)).is_empty());
        assert!(e.problems(&meta(0o400, 0, 0)).is_empty());
        // Numerically below 644, yet group- and world-writable.
        assert_eq!(
            e.problems(&meta(0o622, 0, 0)),
            ["mode 0622 has bits 0022 outside 0644"]
        );
        assert_eq!(
            e.problems(&meta(0o606, 0, 0)),
            ["mode 0606 has bits 0002 outside 0644"]
        );
        assert_eq!(
            e.problems(&meta(0o4644, 0, 0)),
            ["mode 4644 has bits 4000 outside 0644"]
        );
        assert_eq!(
            e.problems(&meta(0o644, 1000, 5)),
            [
                "owned by uid 1000, not root:root",
                "group gid 5, not root:root"
            ]
        );
    }
}
