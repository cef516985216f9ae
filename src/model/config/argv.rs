//! dockerd's command line as spf13/pflag (v1.0.5, under cobra) parses it.
//!
//! - `--opt=value`, `--opt value` (non-bool; the next word is taken even if
//!   it starts with `-`), bool `--opt` / `--opt=false` (Go `ParseBool`).
//! - Shorthands: `-H x`, `-Hx`, `-H=x`, combined bools `-Dl debug`.
//! - `--` ends the flags; other words are positional arguments, which
//!   dockerd refuses (`"dockerd" accepts no argument(s).`).
//! - The first error stops parsing (pflag returns it, cobra exits).
//! - Values are validated when set, like the flag's `Set` (ParseBool,
//!   ParseInt base 0, ValidateHost, labels, IPs, ulimits, runtimes, sizes).

use super::hosts;
use super::options::{self, Kind, OptionSpec};
use crate::model::engine::Engine;
use crate::model::{ArgWord, Evidence, Problem, ProblemLevel};

/// One flag occurrence on the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagUse {
    pub spec: &'static OptionSpec,
    /// The value as given (`"true"` for a bare bool flag).
    pub value: String,
    /// Where: the flag word's source and location; detail is the flag as
    /// written (`--icc=false`, `-H fd://`).
    pub evidence: Evidence,
}

/// The parsed command line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedArgs {
    pub uses: Vec<FlagUse>,
    pub positional: Vec<(String, Evidence)>,
    pub problems: Vec<Problem>,
    /// The engine whose flags were parsed.
    pub engine: Engine,
}

impl ParsedArgs {
    /// The flag was given explicitly (pflag's `Changed`).
    pub fn changed(&self, flag: &str) -> bool {
        self.uses.iter().any(|u| u.spec.flag == flag)
    }

    /// Occurrences of a flag, in order.
    pub fn of<'a>(&'a self, flag: &'a str) -> impl Iterator<Item = &'a FlagUse> + 'a {
        self.uses.iter().filter(move |u| u.spec.flag == flag)
    }

    /// Last occurrence of a flag (the value that wins for scalars).
    pub fn last(&self, flag: &str) -> Option<&FlagUse> {
        self.uses.iter().rev().find(|u| u.spec.flag == flag)
    }
}

fn word_evidence(w: &ArgWord, detail: String) -> Evidence {
    Evidence::new(w.source, w.location.clone(), detail)
}

fn fatal(w: &ArgWord, message: String) -> Problem {
    Problem {
        level: ProblemLevel::Fatal,
        message,
        evidence: word_evidence(w, w.text.clone()),
    }
}

/// Parse `argv` (argv[0] is the program and is skipped).
pub fn parse_args(argv: &[ArgWord], engine: &Engine) -> ParsedArgs {
    let mut out = ParsedArgs {
        engine: *engine,
        ..ParsedArgs::default()
    };
    let mut i = 1;
    while i < argv.len() {
        let Some(w) = argv.get(i) else { break };
        i += 1;
        let s = w.text.as_str();
        if s.len() < 2 || !s.starts_with('-') {
            out.positional
                .push((s.to_string(), word_evidence(w, s.to_string())));
            continue;
        }
        if s == "--" {
            for rest in argv.iter().skip(i) {
                out.positional
                    .push((rest.text.clone(), word_evidence(rest, rest.text.clone())));
            }
            break;
        }
        let result = if let Some(long) = s.strip_prefix("--") {
            parse_long(long, w, argv, &mut i, &mut out)
        } else {
            parse_short(s.get(1..).unwrap_or(""), w, argv, &mut i, &mut out)
        };
        if let Err(p) = result {
            out.problems.push(p);
            return out;
        }
    }
    finish(&mut out);
    out
}

fn finish(out: &mut ParsedArgs) {
    // cobra: help and version win over argument validation.
    if let Some(u) = out.uses.iter().find(|u| u.spec.flag == "help") {
        out.problems.push(Problem {
            level: ProblemLevel::Fatal,
            message: "--help: dockerd prints its usage and exits instead of starting".into(),
            evidence: u.evidence.clone(),
        });
        return;
    }
    if let Some(u) = out
        .uses
        .iter()
        .rev()
        .find(|u| u.spec.flag == "version" && parse_bool(&u.value) == Some(true))
    {
        out.problems.push(Problem {
            level: ProblemLevel::Fatal,
            message: "--version: dockerd prints its version and exits instead of starting".into(),
            evidence: u.evidence.clone(),
        });
        return;
    }
    if let Some((_, ev)) = out.positional.first() {
        out.problems.push(Problem {
            level: ProblemLevel::Fatal,
            message: format!(
                "\"dockerd\" accepts no argument(s): {:?} is not a flag (a bool flag takes its value as --flag=value)",
                ev.detail
            ),
            evidence: ev.clone(),
        });
    }
    for u in &out.uses {
        let msg = match u.spec.flag {
            "graph" => Some("the -g / --graph flag is deprecated, use --data-root"),
            "restart" => {
                Some("flag --restart has been deprecated, use a restart policy on docker run")
            }
            "cluster-store" | "cluster-advertise" | "cluster-store-opt" => {
                Some("this flag has been deprecated: Swarm classic is deprecated, use Swarm-mode")
            }
            _ => None,
        };
        if let Some(m) = msg {
            out.problems.push(Problem {
                level: ProblemLevel::Warning,
                message: format!("--{}: {m}", u.spec.flag),
                evidence: u.evidence.clone(),
            });
        }
    }
    if out.changed("graph") && out.changed("data-root") {
        if let Some(u) = out.last("graph") {
            out.problems.push(Problem {
                level: ProblemLevel::Fatal,
                message: "cannot specify both \"--graph\" and \"--data-root\" option".into(),
                evidence: u.evidence.clone(),
            });
        }
    }
}

fn parse_long(
    long: &str,
    w: &ArgWord,
    argv: &[ArgWord],
    i: &mut usize,
    out: &mut ParsedArgs,
) -> Result<(), Problem> {
    if long.is_empty() || long.starts_with('-') || long.starts_with('=') {
        return Err(fatal(w, format!("bad flag syntax: {}", w.text)));
    }
    let (name, inline) = match long.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (long, None),
    };
    let Some(spec) = options::by_flag(name, &out.engine) else {
        return Err(fatal(w, format!("unknown flag: --{name}")));
    };
    let (value, detail) = match inline {
        Some(v) => (v.to_string(), w.text.clone()),
        None if spec.kind == Kind::Bool => ("true".to_string(), w.text.clone()),
        None => match argv.get(*i) {
            Some(next) => {
                *i += 1;
                (next.text.clone(), format!("{} {}", w.text, next.text))
            }
            None => return Err(fatal(w, format!("flag needs an argument: {}", w.text))),
        },
    };
    set(spec, value, word_evidence(w, detail), w, out)
}

fn parse_short(
    mut shorts: &str,
    w: &ArgWord,
    argv: &[ArgWord],
    i: &mut usize,
    out: &mut ParsedArgs,
) -> Result<(), Problem> {
    while let Some(c) = shorts.chars().next() {
        let rest = shorts.get(c.len_utf8()..).unwrap_or("");
        let Some(spec) = options::by_short(c, &out.engine) else {
            return Err(fatal(
                w,
                format!("unknown shorthand flag: {} in -{shorts}", go_quote_rune(c)),
            ));
        };
        let value;
        let detail;
        if rest.len() > 1 && rest.starts_with('=') {
            value = rest.get(1..).unwrap_or("").to_string();
            detail = format!("-{c}={value}");
            shorts = "";
        } else if spec.kind == Kind::Bool {
            value = "true".to_string();
            detail = format!("-{c}");
            shorts = rest;
        } else if !rest.is_empty() {
            value = rest.to_string();
            detail = format!("-{c}{rest}");
            shorts = "";
        } else if let Some(next) = argv.get(*i) {
            *i += 1;
            value = next.text.clone();
            detail = format!("-{c} {value}");
            shorts = "";
        } else {
            return Err(fatal(
                w,
                format!("flag needs an argument: {} in -{shorts}", go_quote_rune(c)),
            ));
        }
        set(spec, value, word_evidence(w, detail), w, out)?;
    }
    Ok(())
}

/// Go's `%q` of a rune.
fn go_quote_rune(c: char) -> String {
    match c {
        '\'' => "'\\''".to_string(),
        c if c.is_control() => format!("'\\x{:02x}'", u32::from(c)),
        c => format!("'{c}'"),
    }
}

fn set(
    spec: &'static OptionSpec,
    value: String,
    evidence: Evidence,
    w: &ArgWord,
    out: &mut ParsedArgs,
) -> Result<(), Problem> {
    if let Err(e) = validate_flag_value(spec, &value, out) {
        return Err(Problem {
            level: ProblemLevel::Fatal,
            message: format!(
                "invalid argument {} for {} flag: {e}",
                go_quote(&value),
                go_quote(&options::flag_display(spec))
            ),
            evidence: word_evidence(w, evidence.detail),
        });
    }
    out.uses.push(FlagUse {
        spec,
        value,
        evidence,
    });
    Ok(())
}

/// Go's `%q` of a string (approximation: Rust's escapes for controls).
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Validate a flag value like the flag's `Set`.
fn validate_flag_value(spec: &OptionSpec, value: &str, out: &ParsedArgs) -> Result<(), String> {
    match spec.kind {
        Kind::Bool => parse_bool(value).map(|_| ()).ok_or_else(|| {
            format!(
                "strconv.ParseBool: parsing {}: invalid syntax",
                go_quote(value)
            )
        }),
        Kind::Int | Kind::Uint32 => parse_go_int(value).map(|_| ()),
        Kind::Ip => parse_ip(value).map(|_| ()),
        Kind::Bytes => parse_ram_bytes(value).map(|_| ()),
        Kind::List => validate_list_item(spec.flag, value),
        Kind::Map => Ok(()),
        Kind::Ulimits => parse_ulimit(value).map(|_| ()),
        Kind::Runtimes => {
            let (name, _) = parse_runtime(value)?;
            let dup = out.of("add-runtime").any(|u| {
                parse_runtime(&u.value)
                    .map(|(n, _)| n == name)
                    .unwrap_or(false)
            });
            if dup {
                return Err(format!("runtime '{name}' was already defined"));
            }
            Ok(())
        }
        Kind::Pools => validate_pool(value),
        Kind::Str | Kind::BoolMap | Kind::Object => Ok(()),
    }
}

/// Go `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Go `strconv.ParseInt(s, 0, 64)` with its error text.
pub fn parse_go_int(s: &str) -> Result<i64, String> {
    let syntax = || format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(s));
    let range = || {
        format!(
            "strconv.ParseInt: parsing {}: value out of range",
            go_quote(s)
        )
    };
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if body.is_empty() {
        return Err(syntax());
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower.get(1..).unwrap_or("").to_string(), true)
    } else {
        (10, lower.clone(), false)
    };
    // underscores: only between digits (or after a base prefix)
    if digits.contains('_') {
        let ok = !digits.ends_with('_')
            && !digits.contains("__")
            && (prefixed || !digits.starts_with('_'));
        if !ok {
            return Err(syntax());
        }
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if clean.is_empty() {
        return Err(syntax());
    }
    let mut acc: i128 = 0;
    for c in clean.chars() {
        let d = c.to_digit(radix).ok_or_else(syntax)?;
        acc = acc * i128::from(radix) + i128::from(d);
        if acc > i128::from(i64::MAX) + 1 {
            return Err(range());
        }
    }
    let v = if neg { -acc } else { acc };
    i64::try_from(v).map_err(|_| range())
}

/// Go `net.ParseIP` (approximation by the standard library).
pub fn parse_ip(s: &str) -> Result<std::net::IpAddr, String> {
    s.parse::<std::net::IpAddr>()
        .map_err(|_| format!("{s} is not an ip address"))
}

/// go-units `RAMInBytes`.
pub fn parse_ram_bytes(s: &str) -> Result<i64, String> {
    let err = || format!("invalid size: '{s}'");
    let num_end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let num = s.get(..num_end).unwrap_or("");
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') || num.contains("..") {
        return Err(err());
    }
    let mut rest = s.get(num_end..).unwrap_or("");
    rest = rest.strip_prefix(' ').unwrap_or(rest);
    let mut mult: f64 = 1.0;
    let mut chars = rest.chars().peekable();
    if let Some(c) = chars.peek().copied() {
        let m = match c.to_ascii_lowercase() {
            'k' => Some(1024f64),
            'm' => Some(1024f64.powi(2)),
            'g' => Some(1024f64.powi(3)),
            't' => Some(1024f64.powi(4)),
            'p' => Some(1024f64.powi(5)),
            _ => None,
        };
        if let Some(m) = m {
            mult = m;
            chars.next();
        }
    }
    if matches!(chars.peek(), Some('i' | 'I')) {
        chars.next();
    }
    if matches!(chars.peek(), Some('b' | 'B')) {
        chars.next();
    }
    if chars.next().is_some() {
        return Err(err());
    }
    // "1.2.3" is accepted by the regexp but ParseFloat fails
    let f: f64 = num.parse().map_err(|_| err())?;
    let v = f * mult;
    if !v.is_finite() || v >= 9.2e18 {
        return Err(err());
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(v as i64)
}

const ULIMIT_NAMES: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// go-units `ParseUlimit`: `name=soft[:hard]`.
pub fn parse_ulimit(s: &str) -> Result<(String, i64, i64), String> {
    let Some((name, limits)) = s.split_once('=') else {
        return Err(format!("invalid ulimit argument: {s}"));
    };
    if !ULIMIT_NAMES.contains(&name) {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let parts: Vec<&str> = limits.split(':').collect();
    let p10 = |t: &str| -> Result<i64, String> {
        t.parse::<i64>()
            .map_err(|_| format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(t)))
    };
    let (soft, hard) = match parts.as_slice() {
        [soft] => {
            let v = p10(soft)?;
            (v, v)
        }
        [soft, hard] => {
            let h = p10(hard)?;
            (p10(soft)?, h)
        }
        _ => {
            return Err(format!(
                "too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`"
            ));
        }
    };
    if hard != -1 && soft > hard {
        return Err(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        ));
    }
    Ok((name.to_string(), soft, hard))
}

/// `--add-runtime name=path`.
pub fn parse_runtime(s: &str) -> Result<(String, String), String> {
    let Some((name, path)) = s.split_once('=') else {
        return Err(format!("invalid runtime argument: {s}"));
    };
    let (name, path) = (name.trim(), path.trim());
    if name.is_empty() || path.is_empty() {
        return Err(format!("invalid runtime argument: {s}"));
    }
    let name = name.to_lowercase();
    if name == "runc" {
        return Err("runtime name 'runc' is reserved".to_string());
    }
    Ok((name, path.to_string()))
}

fn validate_pool(s: &str) -> Result<(), String> {
    for field in s.split(',') {
        let Some((k, v)) = field.split_once('=') else {
            return Err(format!("invalid field '{field}' must be a key=value pair"));
        };
        match k.to_lowercase().as_str() {
            "base" => {}
            "size" => {
                v.parse::<i64>().map_err(|_| {
                    format!("strconv.Atoi: parsing {}: invalid syntax", go_quote(v))
                })?;
            }
            _ => return Err(format!("unexpected key '{k}' in '{field}'")),
        }
    }
    Ok(())
}

/// Validators of list flags (`opts.Validate*`).
pub fn validate_list_item(flag: &str, value: &str) -> Result<(), String> {
    match flag {
        "host" => hosts::validate_host(value),
        "label" => {
            if value.contains('=') {
                Ok(())
            } else {
                Err(format!("bad attribute format: {value}"))
            }
        }
        "dns" => parse_ip(value.trim()).map(|_| ()),
        "registry-mirror" => {
            let v = value.trim_end_matches('/');
            if v.starts_with("http://") || v.starts_with("https://") {
                Ok(())
            } else {
                Err(format!(
                    "invalid mirror: unsupported scheme in {}",
                    go_quote(value)
                ))
            }
        }
        "insecure-registry" | "allow-nondistributable-artifacts" => {
            if value.starts_with('-') || value.ends_with('-') {
                Err(format!(
                    "invalid index name ({value}). Cannot begin or end with a hyphen."
                ))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
