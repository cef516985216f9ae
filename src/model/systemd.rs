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
use crate::parse::envfile::{is_valid_env_name, parse_env_file};
use crate::parse::unit::{
    ExecCommand, ExtractFlags, ParsedUnit, UnitEntry, Words, extract_first_word_and_warn,
    parse_exec, parse_unit, split_words,
};
use crate::snapshot::{FileKind, Snapshot};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

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

/// `/a/b/docker.service` -> (`/a/b`, `docker.service`).
fn split_unit_path(path: &str) -> (String, String) {
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

/// The service name in a cgroup-derived unit (`/system.slice/docker.service`
/// -> `docker.service`).
fn service_name_of(unit: &str) -> Option<String> {
    let last = unit.rsplit('/').next().unwrap_or(unit);
    last.ends_with(".service").then(|| last.to_string())
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

/// The unit file, drop-in directories and listed drop-ins of `name`.
fn unit_wants(snap: &Snapshot, name: &str, dirs: &[String], out: &mut Vec<Want>) {
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

fn is_dropin_name(e: &str) -> bool {
    e.len() > ".conf".len() && e.ends_with(".conf") && !e.contains('/')
}

/// The drop-in directories of `name` in `dir`, most specific first:
/// `<name>.d`, then the dash prefixes (`a-b-c.service` -> `a-b-.service.d`,
/// `a-.service.d`), then the type-wide `<type>.d` (systemd 246+).
fn dropin_dirs(dir: &str, name: &str) -> Vec<String> {
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
enum FileState<'a> {
    /// Not in the snapshot at all (collect did not read it).
    NotCollected,
    Missing,
    /// A symlink to /dev/null, /dev/null itself, or an empty file.
    Masked,
    Error(String),
    Text(&'a str),
}

fn file_state<'a>(snap: &'a Snapshot, path: &str) -> FileState<'a> {
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
struct UnitSource {
    path: String,
    parsed: ParsedUnit,
}

/// A unit with its drop-ins, as systemd would load it.
struct LoadedUnit {
    fragment: Option<String>,
    masked: bool,
    dropins: Vec<String>,
    sources: Vec<UnitSource>,
}

fn load_unit(
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

/// The `%` specifier context of a unit.
struct Spec<'a> {
    name: &'a str,
    fragment: Option<&'a str>,
}

/// Specifiers whose value depends on the host at run time.
const HOST_SPECIFIERS: &str = "aAbBHlmMoqvwWdjJ";

impl Spec<'_> {
    /// systemd's `unit_full_printf()`. `Err` for an unknown specifier (the
    /// setting is then invalid); host-specific ones are kept verbatim with a
    /// warning in `warn`.
    fn apply(&self, s: &str, warn: &mut Vec<String>) -> Result<String, String> {
        if !s.contains('%') {
            return Ok(s.to_string());
        }
        let (stem, _suffix) = self.name.rsplit_once('.').unwrap_or((self.name, ""));
        let (prefix, instance) = match stem.split_once('@') {
            Some((p, i)) => (p, i),
            None => (stem, ""),
        };
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let Some(k) = chars.next() else {
                out.push('%');
                break;
            };
            let v: String = match k {
                '%' => "%".into(),
                'n' => self.name.into(),
                'N' => stem.into(),
                'p' | 'P' => prefix.into(),
                'i' | 'I' => instance.into(),
                'f' => format!(
                    "/{}",
                    if instance.is_empty() {
                        prefix
                    } else {
                        instance
                    }
                ),
                'y' => self.fragment.unwrap_or("").into(),
                'Y' => self
                    .fragment
                    .and_then(|f| f.rsplit_once('/'))
                    .map(|(d, _)| d.to_string())
                    .unwrap_or_default(),
                't' => "/run".into(),
                'S' => "/var/lib".into(),
                'C' => "/var/cache".into(),
                'L' => "/var/log".into(),
                'E' => "/etc".into(),
                'T' => "/tmp".into(),
                'V' => "/var/tmp".into(),
                'h' => "/root".into(),
                's' => "/bin/sh".into(),
                'u' | 'g' => "root".into(),
                'U' | 'G' => "0".into(),
                k if HOST_SPECIFIERS.contains(k) => {
                    warn.push(format!(
                        "specifier %{k} depends on the host; kept verbatim in '{s}'"
                    ));
                    format!("%{k}")
                }
                k => return Err(format!("unknown specifier %{k} in '{s}'")),
            };
            out.push_str(&v);
        }
        Ok(out)
    }
}

/// The `[Service]` settings dockhard needs, after all files are applied.
#[derive(Default)]
struct ServiceSettings {
    /// `(command, file, entry)` of each command, in order.
    exec_start: Vec<(ExecCommand, String, UnitEntry)>,
    /// Environment= assignments, in order.
    environment: Vec<(String, String, Evidence)>,
    /// EnvironmentFile= values (with the `-`), in order.
    env_files: Vec<(String, Evidence)>,
    service_type: Option<(String, Evidence)>,
    sockets: Vec<String>,
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

fn collect_settings(
    lu: &LoadedUnit,
    spec: &Spec<'_>,
    problems: &mut Vec<Problem>,
) -> ServiceSettings {
    let mut s = ServiceSettings::default();
    for src in &lu.sources {
        for e in src.parsed.section("Service") {
            let ev = Evidence::at_line(
                Source::Unit,
                &src.path,
                e.line,
                format!("{}={}", e.key, e.value),
            );
            let at = |msg: String, level| problem(level, msg, ev.clone());
            match e.key.as_str() {
                "ExecStart" => {
                    if e.value.is_empty() {
                        s.exec_start.clear();
                        continue;
                    }
                    let parsed = parse_exec(&e.value);
                    for (msg, fatal) in &parsed.issues {
                        let (level, msg) = if *fatal {
                            (
                                ProblemLevel::Fatal,
                                format!("ExecStart=: {msg}; systemd refuses to load {}", spec.name),
                            )
                        } else {
                            (ProblemLevel::Warning, format!("ExecStart=: {msg}"))
                        };
                        problems.push(at(msg, level));
                    }
                    for mut cmd in parsed.commands {
                        let mut warn = Vec::new();
                        let mut failed = None;
                        for w in std::iter::once(&mut cmd.path).chain(cmd.argv.iter_mut()) {
                            match spec.apply(&w.text, &mut warn) {
                                Ok(t) => w.text = t,
                                Err(m) => failed = Some(m),
                            }
                        }
                        for m in warn {
                            problems.push(at(format!("ExecStart=: {m}"), ProblemLevel::Warning));
                        }
                        if let Some(m) = failed {
                            if cmd.ignore_failure {
                                problems.push(at(
                                    format!("ExecStart=: {m}; command ignored ('-' prefix)"),
                                    ProblemLevel::Warning,
                                ));
                            } else {
                                problems.push(at(
                                    format!(
                                        "ExecStart=: {m}; systemd refuses to load {}",
                                        spec.name
                                    ),
                                    ProblemLevel::Fatal,
                                ));
                            }
                            continue;
                        }
                        s.exec_start.push((cmd, src.path.clone(), e.clone()));
                    }
                }
                "Environment" => {
                    if e.value.is_empty() {
                        s.environment.clear();
                        continue;
                    }
                    let mut w = Words::new(&e.value);
                    loop {
                        match extract_first_word_and_warn(&mut w, ExtractFlags::UNIT) {
                            Ok(None) => break,
                            Err(_) => {
                                problems.push(at(
                                    "Environment=: invalid syntax (unbalanced quoting), rest of line ignored".to_string(),
                                    ProblemLevel::Warning,
                                ));
                                break;
                            }
                            Ok(Some((word, _, _))) => {
                                let mut warn = Vec::new();
                                let word = match spec.apply(&word, &mut warn) {
                                    Ok(x) => x,
                                    Err(m) => {
                                        problems.push(at(
                                            format!("Environment=: {m}; assignment ignored"),
                                            ProblemLevel::Warning,
                                        ));
                                        continue;
                                    }
                                };
                                match word.split_once('=') {
                                    Some((k, v)) if is_valid_env_name(k) => {
                                        let ev = Evidence::at_line(
                                            Source::Unit,
                                            &src.path,
                                            e.line,
                                            format!("Environment={word}"),
                                        );
                                        s.environment.push((k.to_string(), v.to_string(), ev));
                                    }
                                    _ => problems.push(at(
                                        format!(
                                            "Environment=: invalid assignment '{word}' ignored"
                                        ),
                                        ProblemLevel::Warning,
                                    )),
                                }
                            }
                        }
                    }
                }
                "EnvironmentFile" => {
                    if e.value.is_empty() {
                        s.env_files.clear();
                        continue;
                    }
                    let mut warn = Vec::new();
                    match spec.apply(&e.value, &mut warn) {
                        Ok(v) => {
                            let p = v.strip_prefix('-').unwrap_or(&v);
                            if p.starts_with('/') {
                                s.env_files.push((v.clone(), ev.clone()));
                            } else {
                                problems.push(at(
                                    format!("EnvironmentFile={v}: path is not absolute, ignored"),
                                    ProblemLevel::Warning,
                                ));
                            }
                        }
                        Err(m) => problems.push(at(
                            format!("EnvironmentFile=: {m}; ignored"),
                            ProblemLevel::Warning,
                        )),
                    }
                }
                "Type" => s.service_type = Some((e.value.clone(), ev.clone())),
                "Sockets" => {
                    if e.value.is_empty() {
                        s.sockets.clear();
                    }
                    let mut warn = Vec::new();
                    for n in e.value.split_whitespace() {
                        if let Ok(n) = spec.apply(n, &mut warn) {
                            if n.ends_with(".socket") && !n.contains('/') {
                                s.sockets.push(n);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    s
}

/// Variables the service manager itself may put in a service's environment.
const MANAGER_VARS: &[&str] = &[
    "PATH",
    "LANG",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "INVOCATION_ID",
    "NOTIFY_SOCKET",
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
    "JOURNAL_STREAM",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
    "MAINPID",
    "RUNTIME_DIRECTORY",
    "STATE_DIRECTORY",
    "CACHE_DIRECTORY",
    "LOGS_DIRECTORY",
    "CONFIGURATION_DIRECTORY",
    "CREDENTIALS_DIRECTORY",
    "SYSTEMD_EXEC_PID",
    "TERM",
];

type Env = BTreeMap<String, (String, Evidence)>;

/// systemd's `replace_env()` without extensions: `${NAME}` replaced by the
/// value (nothing if undefined), `$$` by `$`, anything else kept. Returns the
/// text and the names referenced.
pub fn replace_env(s: &str, lookup: impl Fn(&str) -> Option<String>) -> (String, Vec<String>) {
    #[derive(PartialEq)]
    enum St {
        Word,
        Curly,
        Variable,
    }
    let mut st = St::Word;
    let mut word = 0usize;
    let mut out = String::new();
    let mut used = Vec::new();
    for (i, c) in s.char_indices() {
        match st {
            St::Word => {
                if c == '$' {
                    st = St::Curly;
                }
            }
            St::Curly => {
                if c == '{' {
                    out.push_str(s.get(word..i.saturating_sub(1)).unwrap_or(""));
                    word = i.saturating_sub(1);
                    st = St::Variable;
                } else if c == '$' {
                    out.push_str(s.get(word..i).unwrap_or(""));
                    word = i + 1;
                    st = St::Word;
                } else {
                    st = St::Word;
                }
            }
            St::Variable => {
                if c == '}' {
                    let name = s.get(word + 2..i).unwrap_or("");
                    if let Some(v) = lookup(name) {
                        out.push_str(&v);
                    }
                    used.push(name.to_string());
                    word = i + 1;
                    st = St::Word;
                } else if c == ':' {
                    st = St::Word;
                }
            }
        }
    }
    out.push_str(s.get(word..).unwrap_or(""));
    (out, used)
}

/// Expand the environment variables of one command's argv (systemd's
/// `replace_env_argv()`), giving each word its provenance.
fn expand_command(
    cmd: &ExecCommand,
    file: &str,
    entry: &UnitEntry,
    env: &Env,
    problems: &mut Vec<Problem>,
) -> Vec<ArgWord> {
    let loc = |offset: usize| format!("{file}:{}", entry.line_at(offset));
    let mut out = vec![ArgWord {
        text: cmd.path.text.clone(),
        source: Source::Unit,
        location: loc(cmd.path.offset),
    }];
    let mut note_undefined = |name: &str, at: String| {
        if MANAGER_VARS.contains(&name) {
            problems.push(problem(
                ProblemLevel::Warning,
                format!("ExecStart= uses ${name}, which the service manager sets at start; dockhard expanded it to nothing"),
                Evidence::new(Source::Unit, at, format!("${name}")),
            ));
        }
    };
    for w in cmd.argv.iter().skip(1) {
        let here = loc(w.offset);
        if cmd.no_env_expand {
            out.push(ArgWord {
                text: w.text.clone(),
                source: Source::Unit,
                location: here,
            });
            continue;
        }
        let mut it = w.text.chars();
        if it.next() == Some('$') && !matches!(it.next(), Some('{') | Some('$')) {
            let name = w.text.get(1..).unwrap_or("");
            match env.get(name) {
                Some((value, ev)) => {
                    for t in split_words(value, ExtractFlags::SPLIT_VAR) {
                        out.push(ArgWord {
                            text: t,
                            source: ev.source,
                            location: format!("{} (${name})", ev.location),
                        });
                    }
                }
                None => note_undefined(name, here),
            }
            continue;
        }
        let (text, used) = replace_env(&w.text, |n| env.get(n).map(|(v, _)| v.clone()));
        let (source, location) = match used.as_slice() {
            [] => (Source::Unit, here),
            [one] if w.text == format!("${{{one}}}") => match env.get(one) {
                Some((_, ev)) => (ev.source, format!("{} (${{{one}}})", ev.location)),
                None => {
                    note_undefined(one, here.clone());
                    (Source::Unit, format!("{here} (${{{one}}})"))
                }
            },
            names => {
                let mut parts = Vec::new();
                for n in names {
                    match env.get(n) {
                        Some((_, ev)) => parts.push(format!("${{{n}}} from {}", ev.location)),
                        None => {
                            note_undefined(n, here.clone());
                            parts.push(format!("${{{n}}} undefined"));
                        }
                    }
                }
                (Source::Unit, format!("{here} ({})", parts.join(", ")))
            }
        };
        out.push(ArgWord {
            text,
            source,
            location,
        });
    }
    out
}

/// [`file_state`] for an EnvironmentFile, which systemd reads rather than
/// checks for a mask: /dev/null (or a link to it) and an empty file give no
/// variables, but another device node (`/dev/zero`, a tty) has content
/// dockhard does not read, so the environment is unknown.
fn env_file_state<'a>(snap: &'a Snapshot, path: &str) -> FileState<'a> {
    match file_state(snap, path) {
        FileState::Masked => {
            let f = snap.file(path);
            let node = f
                .and_then(|f| f.meta.as_ref())
                .is_some_and(|m| m.kind == FileKind::CharDevice && m.link_target.is_none());
            if node && path != "/dev/null" {
                FileState::Error(
                    f.and_then(|f| f.error.clone())
                        .unwrap_or_else(|| "not a regular file (character device)".into()),
                )
            } else {
                FileState::Masked
            }
        }
        s => s,
    }
}

/// Build the environment: Environment= first, then the EnvironmentFiles.
fn build_env(
    snap: &Snapshot,
    settings: &ServiceSettings,
    name: &str,
    problems: &mut Vec<Problem>,
    errors: &mut Vec<String>,
) -> Env {
    let mut env: Env = BTreeMap::new();
    for (k, v, ev) in &settings.environment {
        env.insert(k.clone(), (v.clone(), ev.clone()));
    }
    for (raw, ev) in &settings.env_files {
        let optional = raw.starts_with('-');
        let path = raw.strip_prefix('-').unwrap_or(raw);
        if path.contains(['*', '?', '[']) {
            errors.push(format!(
                "EnvironmentFile={raw}: glob patterns are not evaluated by dockhard"
            ));
            continue;
        }
        match env_file_state(snap, path) {
            FileState::NotCollected => errors.push(format!("{path}: not collected")),
            FileState::Missing => {
                if !optional {
                    problems.push(problem(
                        ProblemLevel::Fatal,
                        format!("EnvironmentFile={path} does not exist and is not optional (no '-' prefix): {name} fails to start"),
                        ev.clone(),
                    ));
                }
            }
            FileState::Masked => {}
            FileState::Error(e) => errors.push(format!("{path}: {e}")),
            FileState::Text(t) => {
                for a in parse_env_file(t) {
                    if is_valid_env_name(&a.key) {
                        let ev = Evidence::at_line(
                            Source::EnvFile,
                            path,
                            a.line,
                            format!("{}={}", a.key, a.value),
                        );
                        env.insert(a.key, (a.value, ev));
                    } else {
                        let hint = if a.key.starts_with("export ") {
                            " ('export' is shell syntax; systemd does not understand it)"
                        } else {
                            ""
                        };
                        problems.push(problem(
                            ProblemLevel::Warning,
                            format!(
                                "'{}' is not a valid variable name: systemd ignores this assignment{hint}",
                                a.key
                            ),
                            Evidence::at_line(Source::EnvFile, path, a.line, format!("{}={}", a.key, a.value)),
                        ));
                    }
                }
            }
        }
    }
    env
}

fn resolve_socket(
    snap: &Snapshot,
    name: &str,
    dirs: &[String],
    problems: &mut Vec<Problem>,
    errors: &mut Vec<String>,
) -> Option<SocketResolution> {
    let lu = load_unit(snap, name, dirs, problems, errors);
    let path = lu.fragment.clone()?;
    if lu.masked || lu.sources.is_empty() {
        return None;
    }
    let spec = Spec {
        name,
        fragment: Some(&path),
    };
    let mut listen = Vec::new();
    for src in &lu.sources {
        for e in src.parsed.section("Socket") {
            if e.key != "ListenStream" {
                continue;
            }
            if e.value.is_empty() {
                listen.clear();
                continue;
            }
            let ev = Evidence::at_line(
                Source::Unit,
                &src.path,
                e.line,
                format!("ListenStream={}", e.value),
            );
            let mut warn = Vec::new();
            match spec.apply(&e.value, &mut warn) {
                Ok(v) => listen.push((v, ev)),
                Err(m) => problems.push(problem(
                    ProblemLevel::Warning,
                    format!("ListenStream=: {m}; ignored"),
                    ev,
                )),
            }
        }
    }
    Some(SocketResolution {
        unit_path: path,
        dropins: lu.dropins,
        listen_streams: listen,
    })
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
    let spec = Spec {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{DaemonEvidence, DirEvidence, FileEvidence, FileMeta, Mode};
    use proptest::prelude::*;
    use std::path::PathBuf;

    // ---- test-only loader: a fixture tree as a host root ----

    fn meta(kind: FileKind, size: u64) -> FileMeta {
        FileMeta {
            kind,
            target_kind: None,
            link_target: None,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size,
            mtime: 0,
        }
    }

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
        crate::collect::read_wanted(snap, &crate::collect::files::Fs::under(root));
    }

    fn load(name: &str) -> Snapshot {
        let mut snap = Snapshot::new(Mode::Root);
        fill(&mut snap, name);
        snap
    }

    fn texts(r: &ServiceResolution) -> Vec<String> {
        r.exec_start
            .as_ref()
            .expect("exec_start")
            .iter()
            .map(|w| w.text.clone())
            .collect()
    }

    fn word<'a>(r: &'a ServiceResolution, text: &str) -> &'a ArgWord {
        r.exec_start
            .as_ref()
            .unwrap()
            .iter()
            .find(|w| w.text == text)
            .unwrap_or_else(|| panic!("no word {text}"))
    }

    fn fatal(r: &ServiceResolution) -> Vec<&Problem> {
        r.problems
            .iter()
            .filter(|p| p.level == ProblemLevel::Fatal)
            .collect()
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
}
