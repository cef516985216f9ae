//! Where systemd finds a unit: the search paths (system and user), drop-in
//! directories, masking, and loading a unit with its drop-ins in order.

use super::{Evidence, Problem, ProblemLevel, Source, Want};
use crate::parse::unit::{ParsedUnit, parse_unit};
use crate::snapshot::{FileKind, Snapshot};
use std::collections::BTreeMap;

/// System unit search path, highest priority first (systemd's lookup paths
/// for the system manager, without generator and `.attached` directories).
pub const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// The user unit search path of a user whose home is `home` (for rootless
/// dockerd run by `systemctl --user`), highest priority first.
pub fn user_unit_dirs(home: &str) -> Vec<String> {
    let home = home.trim_end_matches('/');
    vec![
        format!("{home}/.config/systemd/user.control"),
        format!("{home}/.config/systemd/user"),
        "/etc/systemd/user".to_string(),
        format!("{home}/.local/share/systemd/user"),
        "/usr/local/lib/systemd/user".to_string(),
        "/usr/lib/systemd/user".to_string(),
        "/lib/systemd/user".to_string(),
    ]
}

/// `/a/b/docker.service` -> (`/a/b`, `docker.service`).
pub(super) fn split_unit_path(path: &str) -> (String, String) {
    match path.rsplit_once('/') {
        Some((d, n)) => (
            if d.is_empty() {
                "/".to_string()
            } else {
                d.to_string()
            },
            n.to_string(),
        ),
        None => (".".to_string(), path.to_string()),
    }
}

/// The service name in a cgroup-derived unit (`/system.slice/docker.service`
/// -> `docker.service`).
pub(super) fn service_name_of(unit: &str) -> Option<String> {
    let last = unit.rsplit('/').next().unwrap_or(unit);
    last.ends_with(".service").then(|| last.to_string())
}

/// The unit file, drop-in directories and listed drop-ins of `name`.
pub(super) fn unit_wants(snap: &Snapshot, name: &str, dirs: &[String], out: &mut Vec<Want>) {
    for dir in dirs {
        out.push(Want::File(format!("{dir}/{name}")));
        for dd in dropin_dirs(dir, name) {
            if let Some(entries) = snap.dir(&dd).and_then(|d| d.entries.as_ref()) {
                for e in entries.iter().filter(|e| is_dropin_name(e)) {
                    out.push(Want::File(format!("{dd}/{e}")));
                }
            }
            out.push(Want::Dir(dd));
        }
    }
}

pub(super) fn is_dropin_name(e: &str) -> bool {
    e.len() > ".conf".len() && e.ends_with(".conf") && !e.contains('/')
}

/// The drop-in directories of `name` in `dir`, most specific first:
/// `<name>.d`, then the dash prefixes (`a-b-c.service` -> `a-b-.service.d`,
/// `a-.service.d`), then the type-wide `<type>.d` (systemd 246+).
pub(super) fn dropin_dirs(dir: &str, name: &str) -> Vec<String> {
    let mut v = vec![format!("{dir}/{name}.d")];
    if let Some((stem, ty)) = name.rsplit_once('.') {
        if !ty.is_empty() {
            let mut s = stem;
            loop {
                let t = s.strip_suffix('-').unwrap_or(s);
                match t.rfind('-') {
                    Some(i) => {
                        s = t.get(..=i).unwrap_or("");
                        v.push(format!("{dir}/{s}.{ty}.d"));
                    }
                    None => break,
                }
            }
            v.push(format!("{dir}/{ty}.d"));
        }
    }
    v
}

/// What the snapshot says of one file.
pub(super) enum FileState<'a> {
    /// Not in the snapshot at all (collect did not read it).
    NotCollected,
    Missing,
    /// A symlink to /dev/null, /dev/null itself, or an empty file.
    Masked,
    Error(String),
    Text(&'a str),
}

pub(super) fn file_state<'a>(snap: &'a Snapshot, path: &str) -> FileState<'a> {
    let Some(f) = snap.file(path) else {
        return FileState::NotCollected;
    };
    // A link to /dev/null masks the unit, even where it dangles (an offline
    // root without /dev).
    if f.meta.as_ref().and_then(|m| m.link_target.as_deref()) == Some("/dev/null") {
        return FileState::Masked;
    }
    if f.missing {
        return FileState::Missing;
    }
    if let Some(m) = &f.meta {
        let null_link = m.link_target.as_deref() == Some("/dev/null");
        // /dev/null itself (a device, not a link); a link to another
        // device (/dev/zero) is an unreadable file, not a mask.
        let chardev = m.kind == FileKind::CharDevice && m.link_target.is_none();
        if null_link || chardev {
            return FileState::Masked;
        }
        if m.size == 0 && f.text.as_deref().is_some_and(str::is_empty) {
            return FileState::Masked;
        }
    }
    match (&f.text, &f.error) {
        (Some(t), _) => FileState::Text(t),
        (None, Some(e)) => FileState::Error(e.clone()),
        (None, None) => FileState::Error("content not recorded".to_string()),
    }
}

/// One unit file or drop-in, parsed.
pub(super) struct UnitSource {
    pub(super) path: String,
    pub(super) parsed: ParsedUnit,
}

/// A unit with its drop-ins, as systemd would load it.
pub(super) struct LoadedUnit {
    pub(super) fragment: Option<String>,
    pub(super) masked: bool,
    pub(super) dropins: Vec<String>,
    pub(super) sources: Vec<UnitSource>,
}

pub(super) fn load_unit(
    snap: &Snapshot,
    name: &str,
    dirs: &[String],
    problems: &mut Vec<Problem>,
    errors: &mut Vec<String>,
) -> LoadedUnit {
    let mut lu = LoadedUnit {
        fragment: None,
        masked: false,
        dropins: Vec::new(),
        sources: Vec::new(),
    };
    for dir in dirs {
        let path = format!("{dir}/{name}");
        match file_state(snap, &path) {
            FileState::Missing => continue,
            FileState::NotCollected => {
                errors.push(format!("{path}: not collected"));
                // A unit lower in the path may be the wrong one: stop here.
                break;
            }
            FileState::Masked => {
                lu.fragment = Some(path.clone());
                lu.masked = true;
                problems.push(Problem {
                    level: ProblemLevel::Fatal,
                    message: format!(
                        "{name} is masked ({path} is /dev/null or empty): it cannot be started"
                    ),
                    evidence: Evidence::new(Source::Unit, path, "masked"),
                });
                break;
            }
            FileState::Error(e) => {
                errors.push(format!("{path}: {e}"));
                lu.fragment = Some(path);
                break;
            }
            FileState::Text(t) => {
                lu.sources.push(UnitSource {
                    path: path.clone(),
                    parsed: parse_unit(t),
                });
                lu.fragment = Some(path);
                break;
            }
        }
    }
    // Drop-ins: by file name, the first directory (highest priority) wins.
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for dir in dirs {
        for dd in dropin_dirs(dir, name) {
            match snap.dir(&dd) {
                None => errors.push(format!("{dd}/: not collected")),
                Some(d) if d.missing => {}
                Some(d) => match &d.entries {
                    None => errors.push(format!(
                        "{dd}/: {}",
                        d.error.as_deref().unwrap_or("could not be listed")
                    )),
                    Some(entries) => {
                        for e in entries.iter().filter(|e| is_dropin_name(e)) {
                            by_name
                                .entry(e.clone())
                                .or_insert_with(|| format!("{dd}/{e}"));
                        }
                    }
                },
            }
        }
    }
    if lu.masked {
        return lu;
    }
    for path in by_name.into_values() {
        match file_state(snap, &path) {
            FileState::Missing | FileState::Masked => {}
            FileState::NotCollected => errors.push(format!("{path}: not collected")),
            FileState::Error(e) => errors.push(format!("{path}: {e}")),
            FileState::Text(t) => {
                lu.dropins.push(path.clone());
                lu.sources.push(UnitSource {
                    path,
                    parsed: parse_unit(t),
                });
            }
        }
    }
    for src in &lu.sources {
        for issue in &src.parsed.issues {
            problems.push(Problem {
                level: if issue.fatal {
                    ProblemLevel::Fatal
                } else {
                    ProblemLevel::Warning
                },
                message: if issue.fatal {
                    format!("{}; systemd refuses to load {name}", issue.message)
                } else {
                    issue.message.clone()
                },
                evidence: Evidence::at_line(Source::Unit, &src.path, issue.line, "syntax"),
            });
        }
    }
    lu
}
