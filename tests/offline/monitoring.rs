//! What Prometheus and Grafana users are given to watch `dockhard watch`:
//! the Grafana dashboard (`deploy/grafana/dockhard.json`), the
//! PrometheusRule (`deploy/kubernetes/prometheusrule.yaml`) and the metrics
//! table of docs/watch.md, each checked against the exporter's own list of
//! metric families (`dockhard::watch::metrics::METRICS`, which a unit test
//! holds equal to what `render` writes). The rules also pass `promtool
//! check rules` (Debian's prometheus).

use dockhard::watch::metrics::METRICS;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The `dockhard_*` names an expression uses, histogram series
/// (`_bucket`, `_sum`, `_count`) named by their family.
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("dockhard_") {
        let before = rest[..i].chars().next_back();
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            let name = &tail[..end];
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|f| METRICS.contains(&(f, "histogram")))
                })
                .unwrap_or(name);
            out.push(family.to_string());
        }
        rest = &tail[end..];
    }
    out
}

fn exported() -> BTreeSet<&'static str> {
    METRICS.iter().map(|(n, _)| *n).collect()
}

/// Every name `exprs` use is exported; the names used.
fn assert_exported(what: &str, exprs: &[String]) -> BTreeSet<String> {
    let known = exported();
    let mut used = BTreeSet::new();
    for e in exprs {
        let names = metric_names(e);
        assert!(!names.is_empty(), "{what}: `{e}` names no dockhard metric");
        for n in names {
            assert!(
                known.contains(n.as_str()),
                "{what}: `{e}` names {n}, which dockhard watch does not export ({known:?})"
            );
            used.insert(n);
        }
    }
    used
}

#[test]
fn metric_names_of_an_expression() {
    assert_eq!(
        metric_names(
            "histogram_quantile(0.9, rate(dockhard_audit_duration_seconds_bucket[5m])) / dockhard_build_info{x=\"dockhard_result\"}"
        ),
        [
            "dockhard_audit_duration_seconds",
            "dockhard_build_info",
            "dockhard_result"
        ]
    );
    assert!(metric_names("my_dockhard_x + up").is_empty());
    // A typo is a name of its own, not a prefix match.
    assert_eq!(
        metric_names("dockhard_rule_failure"),
        ["dockhard_rule_failure"]
    );
}

/// Every string under a key `expr` or a templating `query` of `v`.
fn queries(v: &Value, key: Option<&str>, out: &mut Vec<String>) {
    match v {
        Value::String(s) if matches!(key, Some("expr" | "query" | "definition")) => {
            out.push(s.clone())
        }
        Value::Array(a) => a.iter().for_each(|x| queries(x, key, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| queries(x, Some(k), out)),
        _ => {}
    }
}

fn panels(v: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in v["panels"].as_array().into_iter().flatten() {
        out.push(p);
        out.extend(panels(p));
    }
    out
}

#[test]
fn dashboard_queries_name_exported_metrics() {
    let text = read("deploy/grafana/dockhard.json");
    let dash: Value = serde_json::from_str(&text).expect("deploy/grafana/dockhard.json: JSON");
    assert_eq!(dash["uid"], "dockhard");
    let mut exprs = Vec::new();
    queries(&dash, None, &mut exprs);
    // Grafana's datasource variable's own query is a plugin id.
    exprs.retain(|e| e != "prometheus");
    assert!(exprs.len() >= 15, "{exprs:?}");
    let used = assert_exported("deploy/grafana/dockhard.json", &exprs);
    // The fleet overview and the per-host detail use what matters.
    for m in [
        "dockhard_result",
        "dockhard_rule_failures",
        "dockhard_drift",
        "dockhard_audit_errors_total",
        "dockhard_audit_duration_seconds",
        "dockhard_audits_total",
        "dockhard_last_full_audit_timestamp_seconds",
        "dockhard_build_info",
    ] {
        assert!(used.contains(m), "the dashboard does not show {m}");
    }
    // Every panel queries the chosen data source; every non-row panel has
    // a query; the host variable drives the detail rows.
    let ps = panels(&dash);
    assert!(ps.len() >= 10);
    for p in ps {
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{p}");
        let targets = p["targets"].as_array().unwrap_or_else(|| panic!("{p}"));
        assert!(!targets.is_empty(), "{p}");
    }
    let vars = dash["templating"]["list"].as_array().unwrap();
    assert!(vars.iter().any(|v| v["name"] == "instance"));
    assert!(exprs.iter().filter(|e| e.contains("$instance")).count() >= 5);
}

/// The `expr:` values of a PrometheusRule's YAML (each on one line).
fn rule_exprs(yaml: &str) -> Vec<String> {
    yaml.lines()
        .filter_map(|l| l.trim_start().strip_prefix("expr: "))
        .map(|e| e.trim().to_string())
        .collect()
}

/// The text of alert `name` up to the next rule.
fn alert<'a>(yaml: &'a str, name: &str) -> &'a str {
    let start = yaml
        .find(&format!("- alert: {name}\n"))
        .unwrap_or_else(|| panic!("no alert {name}"));
    let rest = &yaml[start + 2..];
    &rest[..rest.find("- alert: ").unwrap_or(rest.len())]
}

#[test]
fn prometheus_rule_names_exported_metrics() {
    let yaml = read("deploy/kubernetes/prometheusrule.yaml");
    let exprs = rule_exprs(&yaml);
    assert_eq!(exprs.len(), 4, "{exprs:?}");
    assert_exported("deploy/kubernetes/prometheusrule.yaml", &exprs);
    // The alerts the fleet asks for: any critical failure, drift for more
    // than an hour, audits failing.
    assert!(alert(&yaml, "DockhardCriticalFailure").contains("severity=\"critical\""));
    assert!(alert(&yaml, "DockhardDrift").contains("dockhard_drift"));
    assert!(alert(&yaml, "DockhardDrift").contains("for: 1h\n"));
    assert!(alert(&yaml, "DockhardAuditsFailing").contains("dockhard_audit_errors_total"));
}

#[test]
fn docs_list_every_metric() {
    let doc = read("docs/watch.md");
    let table: BTreeSet<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|n| n.starts_with("dockhard_"))
        .collect();
    assert_eq!(table, exported(), "docs/watch.md's metrics table");
}

/// `spec:` of a PrometheusRule as a Prometheus rules file (`groups:` at the
/// top).
fn rules_file(yaml: &str) -> String {
    let spec = yaml.find("\nspec:\n").expect("spec:") + "\nspec:\n".len();
    yaml[spec..]
        .lines()
        .map(|l| l.strip_prefix("  ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
#[ignore = "needs promtool (Debian's prometheus); scripts/test runs it"]
fn prometheus_rules_pass_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let check = |name: &str, text: &str| {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        let out = Command::new("promtool")
            .args(["check", "rules"])
            .arg(&f)
            .output()
            .unwrap_or_else(|e| {
                panic!("promtool: {e} (scripts/test installs Debian's prometheus)")
            });
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let rules = rules_file(&read("deploy/kubernetes/prometheusrule.yaml"));
    let (ok, out) = check("rules.yaml", &rules);
    assert!(ok, "promtool check rules:\n{out}\n--- rules ---\n{rules}");
    assert!(out.contains("SUCCESS: 4 rules found"), "{out}");
    // promtool really rejects a broken expression.
    let (ok, out) = check("bad.yaml", &rules.replace("> 0", "> > 0"));
    assert!(!ok, "{out}");
}
