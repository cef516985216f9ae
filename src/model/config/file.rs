//! daemon.json as dockerd 20.10 reads it (`daemon/config/config.go`:
//! `getConflictFreeConfiguration`, `configValuesSet`,
//! `findConfigurationConflicts`, the typed decode into `Config`, `Validate`).
//!
//! Order of dockerd's checks: JSON syntax (first value only in 20.10) ->
//! top level must be an object (or null) -> unknown keys -> flag/file
//! conflicts (in `mod.rs`) -> typed decode -> `graph`/`data-root` ->
//! `Validate`. dockerd reports the first failure only; the model reports
//! every one it finds, each naming its key and line.

use super::options::{self, KeyKind, Kind, OptionSpec};
use super::{Setting, Value};
use crate::model::engine::Engine;
use crate::model::{Evidence, Problem, ProblemLevel, Source};
use crate::parse::json::{self, JsonValue, Node};
use std::collections::BTreeMap;

/// One key of the file: top level, or lifted from an object-valued key that
/// is not a known map option.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub node: Node,
    /// Line of the key.
    pub line: usize,
    /// The top-level key it was lifted from.
    pub lifted_from: Option<String>,
    pub evidence: Evidence,
}

/// The file as dockerd sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFile {
    /// Every key, top level and lifted, in document order, duplicates kept.
    pub entries: Vec<Entry>,
    /// Options decoded from the file (top-level, typed), by key.
    pub settings: BTreeMap<String, Setting>,
    /// dockerd's `ValuesSet`: the last entry per key, lifted keys included.
    pub values_set: BTreeMap<String, usize>,
    pub problems: Vec<Problem>,
    /// The JSON could be read (no syntax error, object or null).
    pub syntax_ok: bool,
}

impl ParsedFile {
    pub fn value_set(&self, key: &str) -> Option<&Entry> {
        self.values_set.get(key).and_then(|i| self.entries.get(*i))
    }
}

fn fatal(message: String, evidence: Evidence) -> Problem {
    Problem {
        level: ProblemLevel::Fatal,
        message,
        evidence,
    }
}

fn warning(message: String, evidence: Evidence) -> Problem {
    Problem {
        level: ProblemLevel::Warning,
        message,
        evidence,
    }
}

/// `"key": value` as written (whitespace collapsed, at most 120 chars).
fn detail(text: &str, key: &str, node: &Node) -> String {
    let raw = text.get(node.start.offset..node.end).unwrap_or("");
    let mut v = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if v.chars().count() > 120 {
        v = v.chars().take(117).collect::<String>() + "...";
    }
    format!("{}: {v}", json_quote(key))
}

fn json_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Parse daemon.json text at `path` as `engine` reads it.
pub fn parse_file(path: &str, text: &str, invalid_utf8: bool, engine: &Engine) -> ParsedFile {
    let strict = engine.json.strict;
    let mut out = ParsedFile::default();
    let file_ev = |line: usize, d: String| Evidence::at_line(Source::DaemonJson, path, line, d);
    let prefix = format!("unable to configure the Docker daemon with file {path}");

    let mut body = text;
    let mut base = 0usize;
    if strict {
        if invalid_utf8 {
            let off = text.find('\u{FFFD}').unwrap_or(0);
            let p = json::pos_of(text, off);
            out.problems.push(fatal(
                format!(
                    "{prefix}: failed to decode configuration JSON at offset {off}: invalid UTF-8"
                ),
                file_ev(p.line, "invalid UTF-8".into()),
            ));
            return out;
        }
        if let Some(rest) = body.strip_prefix('\u{FEFF}') {
            body = rest;
            base = 3;
        }
        if body.trim().is_empty() {
            out.syntax_ok = true;
            return out;
        }
    }
    let parsed = if strict {
        json::parse(body).map(|n| {
            let end = n.end;
            (n, end)
        })
    } else {
        json::parse_first(body)
    };
    let (root, end) = match parsed {
        Ok(x) => x,
        Err(e) => {
            let p = json::pos_of(text, e.offset + base);
            out.problems.push(fatal(
                format!(
                    "{prefix}: {}{} (line {}, column {})",
                    engine.json.error_prefix, e.message, p.line, p.column
                ),
                file_ev(p.line, e.message.clone()),
            ));
            return out;
        }
    };
    if !strict {
        let rest = body.get(end..).unwrap_or("");
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        if !trimmed.is_empty() {
            let off = end + (rest.len() - trimmed.len());
            let p = json::pos_of(body, off);
            out.problems.push(warning(
                format!(
                    "{path}: data after the first JSON value (line {}, column {}) is ignored by dockerd 20.10; dockerd 23.0+ refuses to start with it",
                    p.line, p.column
                ),
                file_ev(p.line, "trailing data".into()),
            ));
        }
    }
    let members = match root.value {
        JsonValue::Object(m) => m,
        JsonValue::Null => {
            out.syntax_ok = true;
            return out;
        }
        other => {
            out.problems.push(fatal(
                format!(
                    "{prefix}: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    other.type_name()
                ),
                file_ev(root.start.line, format!("top-level {}", other.type_name())),
            ));
            return out;
        }
    };
    out.syntax_ok = true;

    // entries: top level + lifted (configValuesSet)
    for m in &members {
        let ev = file_ev(m.key_pos.line, detail(body, &m.key, &m.value));
        out.entries.push(Entry {
            key: m.key.clone(),
            node: m.value.clone(),
            line: m.key_pos.line,
            lifted_from: None,
            evidence: ev,
        });
    }
    // values set: last top-level occurrence per key; objects of non-flat
    // keys are replaced by their members.
    let mut last_top: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, m) in members.iter().enumerate() {
        last_top.insert(m.key.as_str(), i);
    }
    let mut order: Vec<usize> = last_top.values().copied().collect();
    order.sort_unstable();
    for i in order {
        let Some(m) = members.get(i) else { continue };
        match &m.value.value {
            JsonValue::Object(inner) if !options::is_flat(&m.key, engine) => {
                for im in inner {
                    let ev = file_ev(
                        im.key_pos.line,
                        format!(
                            "{} (inside {})",
                            detail(body, &im.key, &im.value),
                            json_quote(&m.key)
                        ),
                    );
                    out.entries.push(Entry {
                        key: im.key.clone(),
                        node: im.value.clone(),
                        line: im.key_pos.line,
                        lifted_from: Some(m.key.clone()),
                        evidence: ev,
                    });
                    let idx = out.entries.len() - 1;
                    out.values_set.insert(im.key.clone(), idx);
                }
            }
            _ => {
                out.values_set.insert(m.key.clone(), i);
            }
        }
    }

    duplicate_warnings(&mut out, path);

    // 1. unknown keys
    for (key, idx) in &out.values_set {
        if options::classify_key(key, engine) == KeyKind::Unknown {
            if let Some(e) = out.entries.get(*idx) {
                out.problems.push(fatal(
                    format!("{prefix}: the following directives don't match any configuration option: {key}"),
                    e.evidence.clone(),
                ));
            }
        }
    }

    // 2. typed decode of top-level keys (duplicates: last wins, maps merge)
    for (i, m) in members.iter().enumerate() {
        let Some(e) = out.entries.get(i).cloned() else {
            continue;
        };
        match options::classify_key(&m.key, engine) {
            KeyKind::Option(spec) => match decode(spec, &m.value, body, path) {
                Ok(items) => store(&mut out.settings, spec, items, e.evidence.clone()),
                Err(msg) => out
                    .problems
                    .push(fatal(format!("{prefix}: {msg}"), e.evidence.clone())),
            },
            KeyKind::FlagOnly(spec) => out.problems.push(warning(
                format!(
                    "{path}: key {} names the flag --{} but is not a configuration key: dockerd accepts it and ignores it{}",
                    json_quote(&m.key),
                    spec.flag,
                    if spec.named { format!(" (the key is {})", json_quote(spec.key)) } else { String::new() }
                ),
                e.evidence.clone(),
            )),
            KeyKind::Unknown => {}
        }
    }

    // 3. lifted keys: booleans are applied through their flag (Set("%v"))
    let lifted: Vec<(String, usize)> = out
        .values_set
        .iter()
        .filter(|(_, i)| {
            out.entries
                .get(**i)
                .is_some_and(|e| e.lifted_from.is_some())
        })
        .map(|(k, i)| (k.clone(), *i))
        .collect();
    for (key, idx) in lifted {
        let Some(e) = out.entries.get(idx).cloned() else {
            continue;
        };
        let from = e.lifted_from.clone().unwrap_or_default();
        let spec = options::by_flag(&key, engine);
        match spec {
            // Bound to dockerd's daemonOptions, copied into the config
            // before the file is read: setting the flag has no effect. A
            // lifted "tlsverify" still counts as set, which turns TLS on.
            Some(spec) if matches!(spec.flag, "debug" | "tls" | "tlsverify") => {
                let tlsverify = spec.flag == "tlsverify";
                out.problems.push(warning(
                    format!(
                        "{path}: {} nested inside {} has no effect{}",
                        json_quote(&key),
                        json_quote(&from),
                        if tlsverify {
                            " except that, being set, it turns TLS on (with client verification)"
                        } else {
                            ""
                        }
                    ),
                    e.evidence.clone(),
                ));
                if tlsverify {
                    store(
                        &mut out.settings,
                        spec,
                        vec![Value::Null],
                        e.evidence.clone(),
                    );
                }
            }
            Some(spec) if spec.kind == Kind::Bool && spec.file_field => {
                let text = e.node.value.go_format();
                if let Some(b) = super::argv::parse_bool(&text) {
                    out.problems.push(warning(
                        format!(
                            "{path}: {} is nested inside {} yet dockerd applies it ({key} = {b})",
                            json_quote(&key),
                            json_quote(&from)
                        ),
                        e.evidence.clone(),
                    ));
                    store(
                        &mut out.settings,
                        spec,
                        vec![Value::Bool(b)],
                        e.evidence.clone(),
                    );
                } else {
                    out.problems.push(warning(
                        format!(
                            "{path}: {} nested inside {} is not a boolean dockerd can parse: ignored",
                            json_quote(&key),
                            json_quote(&from)
                        ),
                        e.evidence.clone(),
                    ));
                }
            }
            // 23.0+: the proxies object is decoded as a whole.
            _ if from == "proxies" => {}
            _ if options::classify_key(&key, engine) != KeyKind::Unknown => {
                out.problems.push(warning(
                    format!(
                        "{path}: {} nested inside {} is accepted by dockerd but has no effect (it still conflicts with the flag)",
                        json_quote(&key),
                        json_quote(&from)
                    ),
                    e.evidence.clone(),
                ));
            }
            _ => {}
        }
    }

    // 4. graph / data-root
    if let (Some(g), Some(_)) = (out.settings.get("graph"), out.settings.get("data-root")) {
        let has = |v: &Value| matches!(v, Value::Str(s) if !s.is_empty());
        if has(&g.value) && out.settings.get("data-root").is_some_and(|d| has(&d.value)) {
            if let Some(ev) = g.evidence.first() {
                out.problems.push(fatal(
                    format!("{prefix}: cannot specify both \"graph\" and \"data-root\" config file options"),
                    ev.clone(),
                ));
            }
        }
    }
    out
}

fn duplicate_warnings(out: &mut ParsedFile, path: &str) {
    let mut seen: BTreeMap<(Option<String>, String), usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for e in &out.entries {
        let k = (e.lifted_from.clone(), e.key.clone());
        if let Some(first_line) = seen.get(&k) {
            let merged = e.lifted_from.is_none()
                && options::by_key(&e.key).is_some_and(|s| {
                    matches!(
                        s.kind,
                        Kind::Map | Kind::BoolMap | Kind::Ulimits | Kind::Runtimes
                    )
                });
            problems.push(warning(
                format!(
                    "{path}: duplicate key {}{} at lines {first_line} and {}: {}",
                    json_quote(&e.key),
                    e.lifted_from
                        .as_ref()
                        .map(|f| format!(" inside {}", json_quote(f)))
                        .unwrap_or_default(),
                    e.line,
                    if merged {
                        "dockerd merges the two objects (later members win)"
                    } else {
                        "dockerd silently uses the last one"
                    }
                ),
                e.evidence.clone(),
            ));
        }
        seen.insert(k, e.line);
    }
    out.problems.extend(problems);
}

/// Store decoded values in file order, as Go's decoder does: scalars
/// replace (winner first), maps merge, lists replace, `null` as below.
fn store(
    settings: &mut BTreeMap<String, Setting>,
    spec: &OptionSpec,
    items: Vec<Value>,
    ev: Evidence,
) {
    let value = items.into_iter().next().unwrap_or(Value::Null);
    // A later `null` (Go's encoding/json): into a bool, string or number it
    // is a no-op, so an earlier non-zero value stays (a zero one is then
    // filled from the flag's default by mergo); into a slice, map or net.IP
    // it sets nil. Verified on dockerd 20.10: `"live-restore": true,
    // "live-restore": null` runs with live restore; `"labels": [..],
    // "labels": null` with no labels.
    if matches!(value, Value::Null)
        && matches!(spec.kind, Kind::Bool | Kind::Str | Kind::Int | Kind::Uint32)
    {
        if let Some(existing) = settings.get_mut(spec.key) {
            let zero = match &existing.value {
                Value::Bool(b) => !b,
                Value::Str(t) => t.is_empty(),
                Value::Int(i) => *i == 0,
                Value::Null => true,
                _ => false,
            };
            if !zero {
                existing.evidence.push(ev);
                return;
            }
        }
    }
    match settings.get_mut(spec.key) {
        Some(existing) => {
            let merged = match (&existing.value, &value) {
                (Value::Map(a), Value::Map(b)) => {
                    let mut m = a.clone();
                    m.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
                    Some(Value::Map(m))
                }
                (
                    Value::Json(serde_json::Value::Object(a)),
                    Value::Json(serde_json::Value::Object(b)),
                ) if matches!(spec.kind, Kind::BoolMap | Kind::Ulimits | Kind::Runtimes) => {
                    let mut m = a.clone();
                    m.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
                    Some(Value::Json(serde_json::Value::Object(m)))
                }
                _ => None,
            };
            match merged {
                Some(v) => {
                    existing.value = v;
                    existing.evidence.push(ev);
                }
                None => {
                    existing.value = value;
                    existing.evidence.insert(0, ev);
                }
            }
        }
        None => {
            settings.insert(
                spec.key.to_string(),
                Setting {
                    value,
                    evidence: vec![ev],
                },
            );
        }
    }
}

fn type_err(got: &JsonValue, key: &str, go_type: &str) -> String {
    let what = match got {
        JsonValue::Number(n) if matches!(go_type, "int" | "int64" | "uint32") => {
            format!("number {n}")
        }
        other => other.type_name().to_string(),
    };
    format!("json: cannot unmarshal {what} into Go struct field Config.{key} of type {go_type}")
}

fn go_type(spec: &OptionSpec) -> &'static str {
    match spec.kind {
        Kind::Bool => "bool",
        Kind::Str => "string",
        Kind::Int => {
            if spec.key.starts_with("cpu-rt-") {
                "int64"
            } else {
                "int"
            }
        }
        Kind::Uint32 => "uint32",
        Kind::List => "[]string",
        Kind::Map => "map[string]string",
        Kind::Ulimits => "map[string]*units.Ulimit",
        Kind::Runtimes => "map[string]types.Runtime",
        Kind::Pools => "opts.PoolsOpt",
        Kind::Bytes => "opts.MemBytes",
        Kind::Ip => "net.IP",
        Kind::BoolMap => "map[string]bool",
        Kind::Object => "config.BuilderConfig",
    }
}

/// Decode one top-level value as Go decodes it into the Config field.
fn decode(spec: &OptionSpec, node: &Node, text: &str, _path: &str) -> Result<Vec<Value>, String> {
    let key = spec.key;
    let v = &node.value;
    let gt = go_type(spec);
    if matches!(v, JsonValue::Null) && spec.kind != Kind::Bytes {
        return Ok(vec![Value::Null]);
    }
    let value = match spec.kind {
        Kind::Bool => match v {
            JsonValue::Bool(b) => Value::Bool(*b),
            other => return Err(type_err(other, key, gt)),
        },
        Kind::Str => match v {
            JsonValue::String(s) => Value::Str(s.clone()),
            other => return Err(type_err(other, key, gt)),
        },
        Kind::Int | Kind::Uint32 => match v {
            JsonValue::Number(n) => {
                let parsed = n
                    .parse::<i64>()
                    .ok()
                    .filter(|x| spec.kind != Kind::Uint32 || (0..=i64::from(u32::MAX)).contains(x));
                match parsed {
                    Some(x) => Value::Int(x),
                    None => return Err(type_err(v, key, gt)),
                }
            }
            other => return Err(type_err(other, key, gt)),
        },
        Kind::List => match v {
            JsonValue::Array(items) => {
                let mut out = Vec::new();
                for it in items {
                    match &it.value {
                        JsonValue::String(s) => out.push(s.clone()),
                        // null elements decode to ""
                        JsonValue::Null => out.push(String::new()),
                        other => return Err(type_err(other, key, "string")),
                    }
                }
                Value::List(out)
            }
            other => return Err(type_err(other, key, gt)),
        },
        Kind::Map => match v {
            JsonValue::Object(members) => {
                let mut m = BTreeMap::new();
                for mem in members {
                    match &mem.value.value {
                        JsonValue::String(s) => {
                            m.insert(mem.key.clone(), s.clone());
                        }
                        JsonValue::Null => {
                            m.insert(mem.key.clone(), String::new());
                        }
                        other => return Err(type_err(other, key, "string")),
                    }
                }
                Value::Map(m)
            }
            other => return Err(type_err(other, key, gt)),
        },
        Kind::BoolMap => match v {
            JsonValue::Object(members) => {
                for mem in members {
                    if !matches!(mem.value.value, JsonValue::Bool(_) | JsonValue::Null) {
                        return Err(type_err(&mem.value.value, key, "bool"));
                    }
                }
                Value::Json(v.to_serde())
            }
            other => return Err(type_err(other, key, gt)),
        },
        Kind::Ulimits | Kind::Runtimes | Kind::Object => match v {
            JsonValue::Object(_) => Value::Json(v.to_serde()),
            other => return Err(type_err(other, key, gt)),
        },
        Kind::Pools => match v {
            JsonValue::Array(items) => {
                for it in items {
                    if !matches!(it.value, JsonValue::Object(_) | JsonValue::Null) {
                        return Err(format!(
                            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                            it.value.type_name()
                        ));
                    }
                }
                Value::Json(v.to_serde())
            }
            other => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go value of type []map[string]interface {{}}",
                    other.type_name()
                ));
            }
        },
        Kind::Bytes => {
            // MemBytes.UnmarshalJSON: a quoted string (null and numbers
            // fail with the raw text quoted), then RAMInBytes.
            let raw = text.get(node.start.offset..node.end).unwrap_or("");
            match v {
                JsonValue::String(s) if raw.len() > 2 => {
                    super::argv::parse_ram_bytes(s)?;
                    Value::Str(s.clone())
                }
                _ => return Err(format!("invalid size: {}", super::argv::go_quote(raw))),
            }
        }
        Kind::Ip => match v {
            JsonValue::String(s) if s.is_empty() => Value::Str(String::new()),
            JsonValue::String(s) => match super::argv::parse_ip(s) {
                Ok(_) => Value::Str(s.clone()),
                Err(_) => return Err(format!("invalid IP address: {s}")),
            },
            other => return Err(type_err(other, key, gt)),
        },
    };
    Ok(vec![value])
}

#[cfg(test)]
mod tests;
