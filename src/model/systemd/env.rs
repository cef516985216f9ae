//! `Environment=`, `EnvironmentFile=` and the expansion of `$VAR` and
//! `${VAR}` in the command `ExecStart=` runs.

use super::paths::{FileState, file_state};
use super::problem;
use super::settings::ServiceSettings;
use super::{ArgWord, Evidence, Problem, ProblemLevel, Source};
use crate::parse::envfile::{is_valid_env_name, parse_env_file};
use crate::parse::unit::{ExecCommand, ExtractFlags, UnitEntry, split_words};
use crate::snapshot::{FileKind, Snapshot};
use std::collections::BTreeMap;

/// Variables the service manager itself may put in a service's environment.
pub(super) const MANAGER_VARS: &[&str] = &[
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

pub(super) type Env = BTreeMap<String, (String, Evidence)>;

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
pub(super) fn expand_command(
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
pub(super) fn env_file_state<'a>(snap: &'a Snapshot, path: &str) -> FileState<'a> {
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
pub(super) fn build_env(
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
