//! systemd semantics for docker.service and docker.socket: unit search
//! paths, drop-ins, ExecStart, Environment=, EnvironmentFile= and variable
//! expansion, producing the argv the next start would use, each word with
//! the file and line it came from.
//!
//! What is modelled (systemd 245..256; systemd.unit(5), systemd.service(5),
//! systemd.exec(5), systemd.socket(5), checked against systemd's source):
//!
//! - The unit file in force is the one in the first [`UNIT_DIRS`] entry
//!   holding it; it replaces lower ones entirely. A unit file that is a
//!   symlink to `/dev/null` (or empty) masks the unit.
//! - Drop-ins: `*.conf` in `<dir>/<name>.d/` and `<dir>/<type>.d/` (e.g.
//!   `service.d/`) of every unit directory; of two drop-ins with the same
//!   file name the one in the higher-priority directory wins (a `/dev/null`
//!   one masks the other); they apply after the unit file in lexical order
//!   of file name.
//! - `ExecStart=` empty resets the list; more than one command in a service
//!   that is not `Type=oneshot` makes systemd refuse the unit. Quoting, C
//!   escapes, prefixes `-@:+!!!`, `;` separators and `%` specifiers are
//!   applied when the unit is loaded; `$VAR` and `${VAR}` when the command
//!   runs (`replace_env_argv()`):
//!   - a word that is `$NAME` (after unquoting; quotes do not protect it)
//!     becomes the value of NAME split at whitespace, with quotes in the
//!     value respected and removed: zero or more words; an undefined
//!     variable gives no word at all;
//!   - `${NAME}` anywhere in a word is replaced by the exact value (an
//!     undefined one by nothing): always one word, possibly empty;
//!   - `$$` is a literal `$`; `$NAME` inside a longer word and
//!     `${NAME:-default}` are left as they are (systemd does not expand them);
//!   - the program (first word) is never expanded; with `@` the path is
//!     executed and the second word is argv\[0\]: the words returned start
//!     with the executed path so that argv\[1..\] are the daemon's flags.
//! - `Environment=` (quoted `"A=1 2" B=3`, empty resets) is applied first,
//!   then each `EnvironmentFile=` in order (empty resets; `-` makes a missing
//!   file harmless, otherwise the start fails); later assignments override
//!   earlier ones; names that are not valid variable names (`export A`) are
//!   dropped by systemd.
//! - The socket: `<name>.socket` (the unit of the same name), else the first
//!   unit named by `Sockets=`; its `ListenStream=` values (empty resets).
//!
//! Not modelled (reported as evidence errors or warnings): glob patterns in
//! `EnvironmentFile=`, host-specific specifiers (`%H`, `%m`, `%b`, ...),
//! variables the service manager sets itself (`$PATH`, `$INVOCATION_ID`, ...).

use super::{ArgWord, Evidence, Problem, ProblemLevel, Source, Want};
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

mod env;
mod paths;
mod settings;
mod socket;
#[cfg(test)]
pub(crate) mod tests;

pub use env::replace_env;
use env::{build_env, expand_command};
pub use paths::{UNIT_DIRS, user_unit_dirs};
use paths::{load_unit, service_name_of, split_unit_path, unit_wants};
use settings::{Specifiers, collect_settings};
use socket::resolve_socket;

/// The resolved service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceResolution {
    pub name: String,
    /// The unit file in force (the highest-priority one), `None` if not found.
    pub unit_path: Option<String>,
    /// Drop-ins applied, in order.
    pub dropins: Vec<String>,
    /// The command line ExecStart= runs, after expansion; `None` if there is
    /// no ExecStart (or the unit is missing).
    pub exec_start: Option<Vec<ArgWord>>,
    /// Environment= and EnvironmentFile= variables, with where each was set.
    pub environment: BTreeMap<String, (String, Evidence)>,
    /// docker.socket (or the socket named by Sockets=/the same name).
    pub socket: Option<SocketResolution>,
    /// Problems in the units (multiple ExecStart=, missing non-optional
    /// EnvironmentFile, unparsable lines), with file and line.
    pub problems: Vec<Problem>,
    /// Evidence that could not be read (unreadable unit or env file): the
    /// resolution is incomplete and rules depending on it must say `error`.
    pub evidence_errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SocketResolution {
    pub unit_path: String,
    pub dropins: Vec<String>,
    /// ListenStream= values after resets (`ListenStream=` empty clears).
    pub listen_streams: Vec<(String, Evidence)>,
}

/// Resolve `name` (e.g. `docker.service`) from the unit files in the snapshot.
pub fn resolve(snap: &Snapshot, name: &str) -> ServiceResolution {
    let dirs: Vec<String> = UNIT_DIRS.iter().map(|d| d.to_string()).collect();
    resolve_full(snap, name, &dirs).resolution
}

/// Resolve the user unit `name` of the user whose home is `home` (rootless
/// dockerd started by `systemctl --user`).
pub fn resolve_user(snap: &Snapshot, name: &str, home: &str) -> ServiceResolution {
    resolve_full(snap, name, &user_unit_dirs(home)).resolution
}

/// Resolve the service whose unit file is `path` (`--unit FILE`): drop-ins
/// come from the directories beside it (`FILE.d/`).
pub fn resolve_file(snap: &Snapshot, path: &str) -> ServiceResolution {
    let (dir, name) = split_unit_path(path);
    resolve_full(snap, &name, &[dir]).resolution
}

/// The unit files, drop-in directories and EnvironmentFiles the model needs
/// to resolve docker.service and docker.socket.
pub fn wanted(snap: &Snapshot) -> Vec<Want> {
    let mut out = Vec::new();
    if let Some(path) = &snap.unit_file {
        let (dir, name) = split_unit_path(path);
        wanted_for(snap, &name, &[dir], &mut out);
    }
    let system: Vec<String> = UNIT_DIRS.iter().map(|d| d.to_string()).collect();
    let mut services: BTreeSet<String> = BTreeSet::new();
    services.insert("docker.service".to_string());
    for d in &snap.daemons {
        if let Some(u) = d.systemd_unit.as_deref().and_then(service_name_of) {
            services.insert(u);
        }
    }
    for svc in &services {
        wanted_for(snap, svc, &system, &mut out);
    }
    for d in &snap.daemons {
        let rootless = d.uid.is_some_and(|u| u != 0)
            || d.environ.keys().any(|k| k.starts_with("ROOTLESSKIT_"));
        if let (true, Some(home)) = (rootless, d.environ.get("HOME")) {
            if home.starts_with('/') {
                let name = d
                    .systemd_unit
                    .as_deref()
                    .and_then(service_name_of)
                    .unwrap_or_else(|| "docker.service".to_string());
                wanted_for(snap, &name, &user_unit_dirs(home), &mut out);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn wanted_for(snap: &Snapshot, svc: &str, dirs: &[String], out: &mut Vec<Want>) {
    unit_wants(snap, svc, dirs, out);
    let full = resolve_full(snap, svc, dirs);
    for sock in &full.socket_names {
        unit_wants(snap, sock, dirs, out);
    }
    for p in full.env_file_paths {
        out.push(Want::File(p));
    }
}

struct Full {
    resolution: ServiceResolution,
    env_file_paths: Vec<String>,
    socket_names: Vec<String>,
}

fn problem(level: ProblemLevel, message: String, evidence: Evidence) -> Problem {
    Problem {
        level,
        message,
        evidence,
    }
}

fn resolve_full(snap: &Snapshot, name: &str, dirs: &[String]) -> Full {
    let mut problems = Vec::new();
    let mut errors = Vec::new();
    let lu = load_unit(snap, name, dirs, &mut problems, &mut errors);
    let mut res = ServiceResolution {
        name: name.to_string(),
        unit_path: lu.fragment.clone(),
        dropins: lu.dropins.clone(),
        exec_start: None,
        environment: BTreeMap::new(),
        socket: None,
        problems: Vec::new(),
        evidence_errors: Vec::new(),
    };
    let stem = name.strip_suffix(".service").unwrap_or(name);
    let same_socket = format!("{stem}.socket");
    let mut full = Full {
        resolution: res.clone(),
        env_file_paths: Vec::new(),
        socket_names: vec![same_socket.clone()],
    };
    if lu.masked || lu.sources.is_empty() {
        // Missing (not a systemd host, or another name), masked or unreadable.
        res.problems = problems;
        res.evidence_errors = errors;
        full.resolution = res;
        return full;
    }
    let spec = Specifiers {
        name,
        fragment: lu.fragment.as_deref(),
    };
    let settings = collect_settings(&lu, &spec, &mut problems);
    full.env_file_paths = settings
        .env_files
        .iter()
        .map(|(raw, _)| raw.strip_prefix('-').unwrap_or(raw).to_string())
        .filter(|p| !p.contains(['*', '?', '[']))
        .collect();
    full.socket_names.extend(settings.sockets.iter().cloned());

    let env = build_env(snap, &settings, name, &mut problems, &mut errors);

    let ty = settings
        .service_type
        .as_ref()
        .map(|(t, _)| t.as_str())
        .unwrap_or("simple");
    let unit_ev = Evidence::new(
        Source::Unit,
        lu.fragment.clone().unwrap_or_default(),
        "[Service]",
    );
    match settings.exec_start.as_slice() {
        [] => problems.push(problem(
            ProblemLevel::Fatal,
            format!("{name} has no ExecStart= (after drop-ins): systemd refuses to start it"),
            unit_ev,
        )),
        [(cmd, file, entry), rest @ ..] => {
            if let (false, Some((_, f2, e2))) = (ty == "oneshot", rest.first()) {
                problems.push(problem(
                    ProblemLevel::Fatal,
                    format!(
                        "{name} has {} ExecStart= commands, which only Type=oneshot allows (Type={ty}); systemd refuses to load it (an ExecStart= line with an empty value in a drop-in resets the list)",
                        settings.exec_start.len()
                    ),
                    Evidence::at_line(Source::Unit, f2, e2.line, format!("ExecStart={}", e2.value)),
                ));
            }
            res.exec_start = Some(expand_command(cmd, file, entry, &env, &mut problems));
        }
    }
    res.environment = env;

    let mut socket = resolve_socket(snap, &same_socket, dirs, &mut problems, &mut errors);
    if socket.is_none() {
        if let Some(first) = settings.sockets.first() {
            socket = resolve_socket(snap, first, dirs, &mut problems, &mut errors);
        }
    }
    res.socket = socket;
    res.problems = problems;
    res.evidence_errors = errors;
    full.resolution = res;
    full
}
