//! SARIF 2.1.0 renderer (for code scanning: GitHub, GitLab, Azure DevOps).
//!
//! One run. `tool.driver.rules` has one `reportingDescriptor` per rule that
//! appears in the report (in the order of [`crate::rules::RULES`]), with its
//! rationale, how it is decided and its remediation, the CIS ids (of the
//! report's CIS version, also the run's `properties.cisVersion`) and area as
//! tags, and GitHub's `security-severity`.
//!
//! Which results are emitted (SARIF §3.27.9 `kind`):
//! - `fail`: `kind: fail`, `level` from the severity (critical and high:
//!   `error`, medium: `warning`, low and info: `note`);
//! - `waived`: the same, with a `suppressions` entry (`kind: external`,
//!   `status: accepted`, the waiver as justification);
//! - `error` (evidence missing) and `manual` (a person decides):
//!   `kind: review`, `level: none` (§3.27.10: any kind but `fail` has level
//!   `none`);
//! - `pass` and `not_applicable` are not emitted: code scanning tools show
//!   every result as an alert whatever its kind.
//!
//! Locations: evidence from `daemon.json`, a unit or an EnvironmentFile
//! (`path:line`) becomes a physical location relative to `HOSTROOT` (the
//! audited root, `file:///` on a live host). Every location also names the
//! daemon (and container or image) as a logical location. A result with no
//! such file evidence gets a physical location naming the resource
//! (`dockerd`, `dockerd/containers/NAME`, `dockerd/images/NAME`, no region)
//! beside its logical location: GitHub code scanning rejects a whole file
//! when one result has no physical location.

use super::{DaemonReport, Report, RuleResult};
use crate::model::Source;
use crate::rules::{Profile, Severity, Status};
use serde_json::{Map, Value, json};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The base every physical file location is relative to.
pub const HOST_ROOT: &str = "HOSTROOT";
/// Key of the stable fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "dockhardRuleSubject/v1";

pub fn render(report: &Report) -> String {
    let v = sarif(report);
    let mut s = serde_json::to_string_pretty(&v)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize SARIF: {e}\"}}"));
    s.push('\n');
    s
}

/// The SARIF log as a JSON value.
pub fn sarif(report: &Report) -> Value {
    let all = report.daemons.iter().flat_map(|d| &d.results);
    let rule_ids = rule_ids(all.map(|r| r.rule.as_str()));
    let rules: Vec<Value> = rule_ids.iter().map(|id| descriptor(id, report)).collect();
    let mut results = Vec::new();
    for d in &report.daemons {
        for r in &d.results {
            if let Some(v) = result(report, d, r, &rule_ids) {
                results.push(v);
            }
        }
    }

    let mut invocation = Map::new();
    invocation.insert(
        "executionSuccessful".into(),
        Value::Bool(!report.daemons.is_empty()),
    );
    if let Some(t) = report.host.collected_at.as_deref().filter(|t| is_utc(t)) {
        invocation.insert("endTimeUtc".into(), json!(t));
    }
    if let Some(h) = &report.host.hostname {
        invocation.insert("machine".into(), json!(h));
    }
    let notes: Vec<Value> = report
        .host
        .notes
        .iter()
        .map(|n| (None, n))
        .chain(
            report
                .daemons
                .iter()
                .flat_map(|d| d.notes.iter().map(move |n| (Some(d), n))),
        )
        .map(|(d, n)| {
            let text = match d {
                Some(d) => format!("{}: {n}", daemon_label(d)),
                None => n.clone(),
            };
            json!({"message": {"text": text}, "level": "note"})
        })
        .collect();
    if !notes.is_empty() {
        invocation.insert("toolExecutionNotifications".into(), Value::Array(notes));
    }

    let mut run = Map::new();
    run.insert(
        "tool".into(),
        json!({"driver": {
            "name": report.tool.name,
            "version": report.tool.version,
            "semanticVersion": report.tool.version,
            "rules": rules,
        }}),
    );
    run.insert("invocations".into(), json!([Value::Object(invocation)]));
    run.insert(
        "originalUriBaseIds".into(),
        json!({HOST_ROOT: {
            "uri": host_root_uri(report.host.root.as_deref()),
            "description": {"text": "The root directory of the audited host"},
        }}),
    );
    run.insert(
        "automationDetails".into(),
        json!({"id": format!(
            "dockhard/{}/",
            report.host.hostname.as_deref().unwrap_or("unknown-host")
        )}),
    );
    run.insert("results".into(), Value::Array(results));
    run.insert(
        "properties".into(),
        json!({
            "reportSchema": report.schema,
            // The CIS Docker Benchmark version of the `CIS-…` tags.
            "cisVersion": report.cis_version().as_str(),
            "host": {
                "hostname": report.host.hostname,
                "kernel": report.host.kernel,
                "mode": report.host.mode,
                "root": report.host.root,
                "collectedAt": report.host.collected_at,
            },
            "summary": {
                "byStatus": report.summary.by_status,
                "failedBySeverity": report.summary.failed_by_severity,
                "daemons": report.summary.daemons,
            },
        }),
    );
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [Value::Object(run)],
    })
}

/// The rule ids of the report, each once: those of [`crate::rules::RULES`]
/// in its order, then unknown ones (a report from another version) in the
/// order they appear.
fn rule_ids<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen: Vec<&str> = Vec::new();
    for id in ids {
        if !seen.contains(&id) {
            seen.push(id);
        }
    }
    let known = crate::rules::RULES
        .iter()
        .map(|r| r.meta.id)
        .filter(|id| seen.contains(id));
    let unknown = seen
        .iter()
        .copied()
        .filter(|id| crate::rules::find(id).is_none());
    known.chain(unknown).map(String::from).collect()
}

/// `daemon.remote-api-auth` -> `DaemonRemoteApiAuth`.
fn pascal_name(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + cs.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `daemon`, `containers`, ... (the part of the id before the first dot).
pub fn area(id: &str) -> &str {
    id.split_once('.').map_or(id, |(a, _)| a)
}

/// GitHub code scanning's `security-severity` (a number as a string).
pub fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// The `level` of a failure of this severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn descriptor(id: &str, report: &Report) -> Value {
    let Some(rule) = crate::rules::find(id) else {
        // Not a rule of this version: describe it from its results.
        let r = report
            .daemons
            .iter()
            .flat_map(|d| &d.results)
            .find(|r| r.rule == id);
        let (title, severity, cis) = r.map_or(("", Severity::Info, &[][..]), |r| {
            (r.title.as_str(), r.severity, r.cis.as_slice())
        });
        let mut tags = vec!["security".to_string(), area(id).to_string()];
        tags.extend(cis.iter().map(|c| format!("CIS-{c}")));
        return json!({
            "id": id,
            "name": pascal_name(id),
            "shortDescription": {"text": if title.is_empty() { id } else { title }},
            "defaultConfiguration": {"level": level(severity)},
            "properties": {
                "tags": tags,
                "security-severity": security_severity(severity),
                "precision": "medium",
            },
        });
    };
    let m = &rule.meta;
    let version = report.cis_version();
    let ids = m.cis_ids(version);
    let mut tags = vec!["security".to_string(), area(m.id).to_string()];
    tags.extend(ids.iter().map(|c| format!("CIS-{c}")));
    if let Some(n) = m.seed_item {
        tags.push(format!("seed-{n}"));
    }
    let cis = if ids.is_empty() {
        String::new()
    } else {
        format!(
            "CIS Docker Benchmark {}: {}\n\n",
            version.full(),
            ids.join(", ")
        )
    };
    let text = format!(
        "{cis}How dockhard decides: {}\n\nRemediation: {}",
        m.decided, m.remediation
    );
    let markdown = format!(
        "{cis}**How dockhard decides**\n\n{}\n\n**Remediation**\n\n{}\n\n`dockhard explain {}` prints this text.",
        m.decided, m.remediation, m.id
    );
    json!({
        "id": m.id,
        "name": pascal_name(m.id),
        "shortDescription": {"text": m.title},
        "fullDescription": {"text": m.rationale},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": level(m.severity)},
        "properties": {
            "tags": tags,
            "security-severity": security_severity(m.severity),
            // Items a person decides (`--profile all` only) are the least
            // precise: their verdict is `manual`.
            "precision": if m.profile == Profile::All { "medium" } else { "high" },
        },
    })
}

fn daemon_label(d: &DaemonReport) -> String {
    match d.pid {
        Some(pid) => format!("dockerd pid {pid}"),
        None => "dockerd next start".to_string(),
    }
}

/// `dockerd/pid 1234`, `dockerd/pid 1234/container web`, `dockerd/next start`.
fn fully_qualified_name(d: &DaemonReport, r: &RuleResult) -> String {
    let daemon = match d.pid {
        Some(pid) => format!("dockerd/pid {pid}"),
        None => "dockerd/next start".to_string(),
    };
    match &r.subject {
        Some(s) => format!("{daemon}/{} {}", s.kind, s.name),
        None => daemon,
    }
}

fn logical_locations(d: &DaemonReport, r: &RuleResult) -> Value {
    let daemon_name = match d.pid {
        Some(pid) => format!("pid {pid}"),
        None => "next start".to_string(),
    };
    match &r.subject {
        Some(s) => json!([{
            "name": s.name,
            "fullyQualifiedName": fully_qualified_name(d, r),
            "kind": "resource",
            "properties": {"objectKind": s.kind, "id": s.id, "daemon": daemon_name},
        }]),
        None => json!([{
            "name": daemon_name,
            "fullyQualifiedName": fully_qualified_name(d, r),
            "kind": "resource",
        }]),
    }
}

/// A `path:line` location (`path:line ($VAR)` from units and environment
/// files) as (path, line).
pub fn file_line(location: &str) -> Option<(&str, u64)> {
    let loc = match location.find(" (") {
        Some(i) => location.get(..i)?,
        None => location,
    };
    let (path, line) = loc.trim_end().rsplit_once(':')?;
    let line: u64 = line.parse().ok()?;
    (line >= 1 && !path.is_empty()).then_some((path, line))
}

/// Percent-encode a path for a URI reference (unreserved characters and `/`
/// stay; every other byte, `:` and `%` included, is `%XX`).
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn host_root_uri(root: Option<&str>) -> String {
    match root {
        Some(r) if r.starts_with('/') => {
            let mut u = format!("file://{}", percent_encode(r));
            if !u.ends_with('/') {
                u.push('/');
            }
            u
        }
        _ => "file:///".to_string(),
    }
}

/// A host path relative to `HOSTROOT` (no leading `/`, no empty or dot
/// segments that would escape it).
fn relative_uri(path: &str) -> Option<String> {
    let segs: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if segs.is_empty() || segs.contains(&"..") {
        return None;
    }
    Some(percent_encode(&segs.join("/")))
}

/// The resource a result without file evidence is about, as a relative URI.
fn resource_uri(r: &RuleResult) -> String {
    match &r.subject {
        Some(s) => {
            let dir = if s.kind == "image" {
                "images"
            } else {
                "containers"
            };
            // A name may contain `/` (images: `library/nginx`): keep it
            // within one path segment.
            format!(
                "dockerd/{dir}/{}",
                percent_encode(&s.name).replace('/', "%2F")
            )
        }
        None => "dockerd".to_string(),
    }
}

fn locations(d: &DaemonReport, r: &RuleResult) -> Vec<Value> {
    let logical = logical_locations(d, r);
    let mut out: Vec<Value> = Vec::new();
    let mut seen: Vec<(String, u64)> = Vec::new();
    for e in &r.evidence {
        if !matches!(
            e.source,
            Source::DaemonJson | Source::Unit | Source::EnvFile
        ) {
            continue;
        }
        let Some((path, line)) = file_line(&e.location) else {
            continue;
        };
        let Some(uri) = relative_uri(path) else {
            continue;
        };
        if seen.iter().any(|(u, l)| *u == uri && *l == line) {
            continue;
        }
        seen.push((uri.clone(), line));
        out.push(json!({
            "id": out.len(),
            "physicalLocation": {
                "artifactLocation": {"uri": uri, "uriBaseId": HOST_ROOT},
                "region": {"startLine": line},
            },
            "logicalLocations": logical,
            "message": {"text": format!("{} {}: {}", e.source, e.location, e.detail)},
        }));
    }
    if out.is_empty() {
        out.push(json!({
            "physicalLocation": {"artifactLocation": {"uri": resource_uri(r)}},
            "logicalLocations": logical,
        }));
    }
    out
}

/// The waiver's justification: who waived it, until when and why (the
/// policy's waiver), else the message.
fn justification(r: &RuleResult) -> String {
    match &r.waiver {
        Some(w) => w.describe(),
        None => r.message.clone(),
    }
}

fn result(report: &Report, d: &DaemonReport, r: &RuleResult, rule_ids: &[String]) -> Option<Value> {
    let (kind, level) = match r.status {
        Status::Fail | Status::Waived => ("fail", level(r.severity)),
        Status::Error | Status::Manual => ("review", "none"),
        Status::Pass | Status::NotApplicable => return None,
    };
    let index = rule_ids.iter().position(|id| *id == r.rule)?;
    let mut v = Map::new();
    v.insert("ruleId".into(), json!(r.rule));
    v.insert("ruleIndex".into(), json!(index));
    v.insert("kind".into(), json!(kind));
    v.insert("level".into(), json!(level));
    let text = match r.status {
        Status::Error => format!("could not decide: {}", r.message),
        Status::Manual => format!("to decide by hand: {}", r.message),
        _ => r.message.clone(),
    };
    v.insert("message".into(), json!({"text": text}));
    v.insert("locations".into(), Value::Array(locations(d, r)));
    let subject = r
        .subject
        .as_ref()
        .map(|s| format!("{}:{}", s.kind, s.name))
        .unwrap_or_else(|| "daemon".into());
    let host = report.host.hostname.as_deref().unwrap_or("");
    v.insert(
        "partialFingerprints".into(),
        json!({FINGERPRINT_KEY: format!("{}|{}|{subject}", r.rule, host)}),
    );
    if r.status == Status::Waived {
        v.insert(
            "suppressions".into(),
            json!([{"kind": "external", "status": "accepted", "justification": justification(r)}]),
        );
    }
    let evidence: Vec<Value> = r
        .evidence
        .iter()
        .map(|e| json!({"source": e.source.as_str(), "location": e.location, "detail": e.detail}))
        .collect();
    let mut props = Map::new();
    props.insert("status".into(), json!(r.status.as_str()));
    props.insert("severity".into(), json!(r.severity.as_str()));
    props.insert("daemon".into(), json!(daemon_label(d)));
    if let Some(s) = &r.subject {
        props.insert("subject".into(), json!(s));
    }
    props.insert("evidence".into(), Value::Array(evidence));
    if let Some(drift) = &r.drift {
        props.insert("drift".into(), json!(drift));
    }
    if !r.warnings.is_empty() {
        props.insert("warnings".into(), json!(r.warnings));
    }
    if !r.remediation.is_empty() {
        props.insert("remediation".into(), json!(r.remediation));
    }
    v.insert("properties".into(), Value::Object(props));
    Some(Value::Object(v))
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` (SARIF wants UTC date-times).
fn is_utc(t: &str) -> bool {
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r)
            .is_some_and(|s| s.iter().all(|c| c.is_ascii_digit()))
    };
    b.len() >= 20
        && digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && b.get(10) == Some(&b'T')
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19)
        && t.ends_with('Z')
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::report::sample::sample_report;

    #[test]
    fn golden_sample() {
        insta::assert_snapshot!("sarif_sample", render(&sample_report()));
    }

    #[test]
    fn file_line_parses_the_trailing_line() {
        assert_eq!(
            file_line("/etc/docker/daemon.json:3"),
            Some(("/etc/docker/daemon.json", 3))
        );
        assert_eq!(
            file_line("/etc/default/docker:2 ($DOCKER_OPTS)"),
            Some(("/etc/default/docker", 2))
        );
        assert_eq!(file_line("/a:b/c:0"), None);
        assert_eq!(file_line("argv[3]"), None);
        assert_eq!(file_line(":4"), None);
    }

    #[test]
    fn uris_are_encoded_and_stay_under_the_root() {
        assert_eq!(
            relative_uri("/srv/<x> y:z%/daemon.json").as_deref(),
            Some("srv/%3Cx%3E%20y%3Az%25/daemon.json")
        );
        assert_eq!(relative_uri("/etc/../x"), None);
        assert_eq!(host_root_uri(Some("/mnt/img")), "file:///mnt/img/");
        assert_eq!(host_root_uri(None), "file:///");
    }

    #[test]
    fn statuses_map_to_kinds() {
        let mut report = sample_report();
        // Make one failure waived, as a policy would.
        let d = &mut report.daemons[0];
        let r = d
            .results
            .iter_mut()
            .find(|r| r.rule == "daemon.userland-proxy")
            .unwrap();
        r.status = Status::Waived;
        r.waiver = Some(crate::report::AppliedWaiver {
            reason: "proxy needed for IPv6".into(),
            owner: "ops".into(),
            expires: "2027-01-31".into(),
        });
        let v = sarif(&report);
        let results = v["runs"][0]["results"].as_array().unwrap();
        let by = |rule: &str| results.iter().find(|x| x["ruleId"] == rule).unwrap();
        let waived = by("daemon.userland-proxy");
        assert_eq!(waived["kind"], "fail");
        assert_eq!(waived["suppressions"][0]["kind"], "external");
        assert_eq!(
            waived["suppressions"][0]["justification"],
            "waived by ops until 2027-01-31: proxy needed for IPv6"
        );
        assert_eq!(by("daemon.remote-api-auth")["level"], "error");
        assert_eq!(by("host.audit-rules")["kind"], "review");
        assert_eq!(by("host.audit-rules")["level"], "none");
        assert_eq!(by("host.dedicated")["kind"], "review");
        assert!(results.iter().all(|x| x["ruleId"] != "daemon.experimental"));
        // Physical location from daemon.json evidence.
        let loc = &by("daemon.live-restore")["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "etc/docker/daemon.json");
        assert_eq!(loc["artifactLocation"]["uriBaseId"], HOST_ROOT);
        assert_eq!(loc["region"]["startLine"], 2);
        // Every result has a physical location and indexes its rule.
        let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
        for x in results {
            assert!(x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string());
            let i = x["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[i]["id"], x["ruleId"]);
        }
        // Container results name the container.
        let web = results
            .iter()
            .find(|x| x["ruleId"] == "containers.privileged")
            .unwrap();
        assert_eq!(
            web["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "dockerd/pid 4242/container web"
        );
        assert_eq!(
            web["partialFingerprints"][FINGERPRINT_KEY],
            "containers.privileged|node1|container:web"
        );
    }

    #[test]
    fn unknown_rules_and_empty_reports_render() {
        let mut report = sample_report();
        report.daemons[0].results[0].rule = "future.rule".into();
        let v = sarif(&report);
        let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.last().unwrap()["id"], "future.rule");
        report.daemons.clear();
        let v = sarif(&report);
        assert_eq!(v["runs"][0]["invocations"][0]["executionSuccessful"], false);
        assert_eq!(v["runs"][0]["results"], json!([]));
    }
}
