//! Flags beside daemon.json: the settings the command line gives, and the
//! options set in both places (dockerd refuses to start).

use super::{Setting, Value, argv, file, options};
use crate::model::{Evidence, Problem, ProblemLevel};
use std::collections::BTreeMap;

/// Settings given on the command line, by key.
pub(super) fn flag_settings(args: &argv::ParsedArgs) -> BTreeMap<String, Setting> {
    let mut out: BTreeMap<String, Setting> = BTreeMap::new();
    let mut specs: Vec<&'static options::OptionSpec> = Vec::new();
    for u in &args.uses {
        if !specs.iter().any(|s| s.key == u.spec.key) {
            specs.push(u.spec);
        }
    }
    for spec in specs {
        let uses: Vec<&argv::FlagUse> = args.of(spec.flag).collect();
        let Some(last) = uses.last() else { continue };
        let in_order: Vec<Evidence> = uses.iter().map(|u| u.evidence.clone()).collect();
        let winner_first: Vec<Evidence> = in_order.iter().rev().cloned().collect();
        let (value, evidence) = match spec.kind {
            options::Kind::Bool => (
                Value::Bool(argv::parse_bool(&last.value).unwrap_or(false)),
                winner_first,
            ),
            options::Kind::Int | options::Kind::Uint32 => (
                argv::parse_go_int(&last.value)
                    .map(Value::Int)
                    .unwrap_or(Value::Str(last.value.clone())),
                winner_first,
            ),
            options::Kind::List => (
                Value::List(uses.iter().map(|u| u.value.clone()).collect()),
                in_order,
            ),
            options::Kind::Map => {
                let mut m = BTreeMap::new();
                for u in &uses {
                    let (k, v) = u.value.split_once('=').unwrap_or((u.value.as_str(), ""));
                    m.insert(k.to_string(), v.to_string());
                }
                (Value::Map(m), in_order)
            }
            options::Kind::Ulimits => {
                let mut m = serde_json::Map::new();
                for u in &uses {
                    if let Ok((name, soft, hard)) = argv::parse_ulimit(&u.value) {
                        m.insert(
                            name.clone(),
                            serde_json::json!({"Name": name, "Soft": soft, "Hard": hard}),
                        );
                    }
                }
                (Value::Json(serde_json::Value::Object(m)), in_order)
            }
            options::Kind::Runtimes => {
                let mut m = serde_json::Map::new();
                for u in &uses {
                    if let Ok((name, path)) = argv::parse_runtime(&u.value) {
                        m.insert(name, serde_json::json!({"path": path}));
                    }
                }
                (Value::Json(serde_json::Value::Object(m)), in_order)
            }
            options::Kind::Pools => {
                let mut a = Vec::new();
                for u in &uses {
                    let mut o = serde_json::Map::new();
                    for field in u.value.split(',') {
                        if let Some((k, v)) = field.split_once('=') {
                            let jv = v
                                .parse::<i64>()
                                .map(serde_json::Value::from)
                                .unwrap_or_else(|_| serde_json::Value::from(v));
                            o.insert(k.to_lowercase(), jv);
                        }
                    }
                    a.push(serde_json::Value::Object(o));
                }
                (Value::Json(serde_json::Value::Array(a)), in_order)
            }
            _ => (Value::Str(last.value.clone()), winner_first),
        };
        out.insert(spec.key.to_string(), Setting { value, evidence });
    }
    out
}

/// pflag's `Value.String()` of a flag as dockerd prints it in conflicts.
pub(super) fn flag_value_string(s: &Setting) -> String {
    match &s.value {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Num(n) => n.to_string(),
        Value::Str(t) => t.clone(),
        Value::List(v) => format!("[{}]", v.join(" ")),
        Value::Map(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Json(j) => j.to_string(),
        Value::Null => "<nil>".into(),
    }
}

/// `findConfigurationConflicts` step 3: every flag given explicitly whose
/// key (NamedOption name, or flag name / shorthand) is in the file.
pub(super) fn conflicts(
    args: &argv::ParsedArgs,
    flags: &BTreeMap<String, Setting>,
    file: &file::ParsedFile,
    path: &str,
) -> Vec<Problem> {
    let mut names: Vec<&'static options::OptionSpec> = Vec::new();
    for u in &args.uses {
        if !names.iter().any(|s| s.flag == u.spec.flag) {
            names.push(u.spec);
        }
    }
    names.sort_by_key(|s| s.flag);
    let mut out = Vec::new();
    for spec in names {
        let candidates: Vec<String> = if spec.named {
            vec![spec.key.to_string()]
        } else {
            let mut v = vec![spec.flag.to_string()];
            v.extend(spec.short.map(|c| c.to_string()));
            v
        };
        for name in candidates {
            if options::SKIP_DUPLICATES.contains(&name.as_str()) {
                continue;
            }
            let Some(entry) = file.value_set(&name) else {
                continue;
            };
            let flag_val = flags
                .get(spec.key)
                .map(flag_value_string)
                .unwrap_or_default();
            let flag_ev = flags
                .get(spec.key)
                .and_then(|s| s.evidence.first())
                .map(|e| format!("{} at {}", e.detail, e.location))
                .unwrap_or_default();
            out.push(Problem {
                level: ProblemLevel::Fatal,
                message: format!(
                    "unable to configure the Docker daemon with file {path}: the following directives are specified both as a flag and in the configuration file: {name}: (from flag: {flag_val}, from file: {}) [flag {flag_ev}]",
                    entry.node.value.go_format()
                ),
                evidence: entry.evidence.clone(),
            });
            break;
        }
    }
    out
}
