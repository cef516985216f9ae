//! The `[Service]` settings dockhard needs, gathered from a loaded unit and
//! its drop-ins in order, with `%` specifiers applied.

use super::paths::LoadedUnit;
use super::problem;
use super::{Evidence, Problem, ProblemLevel, Source};
use crate::parse::envfile::is_valid_env_name;
use crate::parse::unit::{
    ExecCommand, ExtractFlags, UnitEntry, Words, extract_first_word_and_warn, parse_exec,
};

/// The `%` specifier context of a unit.
pub(super) struct Specifiers<'a> {
    pub(super) name: &'a str,
    pub(super) fragment: Option<&'a str>,
}

/// Specifiers whose value depends on the host at run time.
pub(super) const HOST_SPECIFIERS: &str = "aAbBHlmMoqvwWdjJ";

impl Specifiers<'_> {
    /// systemd's `unit_full_printf()`. `Err` for an unknown specifier (the
    /// setting is then invalid); host-specific ones are kept verbatim with a
    /// warning in `warn`.
    pub(super) fn apply(&self, s: &str, warn: &mut Vec<String>) -> Result<String, String> {
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
pub(super) struct ServiceSettings {
    /// `(command, file, entry)` of each command, in order.
    pub(super) exec_start: Vec<(ExecCommand, String, UnitEntry)>,
    /// Environment= assignments, in order.
    pub(super) environment: Vec<(String, String, Evidence)>,
    /// EnvironmentFile= values (with the `-`), in order.
    pub(super) env_files: Vec<(String, Evidence)>,
    pub(super) service_type: Option<(String, Evidence)>,
    pub(super) sockets: Vec<String>,
}

pub(super) fn collect_settings(
    lu: &LoadedUnit,
    spec: &Specifiers<'_>,
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
