//! The fleet report (`dockhard merge`): many hosts' JSON reports
//! (`dockhard/report/v1`) merged into one `dockhard/fleet/v1`: per host its
//! counts and failures, per rule its pass rate and failing hosts.
//!
//! [`merge`] is pure; so are the renderers [`render_json`] and
//! [`render_text`]. Every string in a fleet comes from the audited hosts:
//! the text renderer strips control characters.

use super::Report;
use crate::model::objects::Subject;
use crate::rules::{CisVersion, Severity, Status};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

pub const FLEET_SCHEMA: &str = "dockhard/fleet/v1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fleet {
    pub schema: String,
    pub tool: super::ToolInfo,
    pub hosts: Vec<FleetHost>,
    pub rules: Vec<FleetRule>,
    pub summary: FleetSummary,
    /// The CIS Docker Benchmark version of the rules' `cis` ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cis_version: Option<CisVersion>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FleetHost {
    /// The host's name in this fleet: its hostname, else the name the
    /// report was given (its file name without `.json`); made unique.
    pub name: String,
    /// Where the report came from (the file given to `dockhard merge`).
    pub source: String,
    pub hostname: Option<String>,
    /// `live`, `on_disk` or `root`.
    pub mode: String,
    pub collected_at: Option<String>,
    /// The dockhard version that wrote the report.
    pub tool_version: String,
    pub daemons: usize,
    /// Results by status over all the host's daemons (every status present).
    pub by_status: BTreeMap<String, usize>,
    pub failures: Vec<FleetFailure>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FleetFailure {
    pub rule: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
    /// The daemon's pid (absent when the configuration on disk was audited).
    pub pid: Option<u32>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FleetRule {
    pub rule: String,
    pub title: String,
    /// Its CIS ids in the fleet's `cis_version` (for a rule this version
    /// does not know: as a report of that CIS version gave them, if any).
    #[serde(default)]
    pub cis: Vec<String>,
    /// The highest severity any host reported for it.
    pub severity: Severity,
    /// Hosts where the rule reached a verdict: pass, fail or waived (for
    /// per-container rules: at least one container did).
    pub hosts_applied: usize,
    /// Hosts where it passed (no result of the host failed, errored or was
    /// waived).
    pub hosts_passed: usize,
    /// `hosts_passed / hosts_applied`; null when it applied nowhere.
    pub pass_rate: Option<f64>,
    pub failing_hosts: Vec<String>,
    /// Hosts where evidence was missing (`error`): neither pass nor fail.
    pub error_hosts: Vec<String>,
    pub waived_hosts: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FleetSummary {
    pub hosts: usize,
    /// Hosts with at least one failure.
    pub hosts_failing: usize,
    /// Hosts with at least one `error` verdict.
    pub hosts_with_errors: usize,
    /// Results by status over every host.
    pub by_status: BTreeMap<String, usize>,
    /// Failures by severity over every host.
    pub failed_by_severity: BTreeMap<String, usize>,
}

impl Fleet {
    /// True when some host has a failure (`dockhard merge` exits 1).
    pub fn has_failures(&self) -> bool {
        self.summary.hosts_failing > 0
    }
}

/// A host's status for one rule over all its results (daemons, containers):
/// the worst one, in this order.
fn host_status(statuses: &[Status]) -> Status {
    [
        Status::Fail,
        Status::Error,
        Status::Waived,
        Status::Pass,
        Status::Manual,
        Status::NotApplicable,
    ]
    .into_iter()
    .find(|s| statuses.contains(s))
    .unwrap_or(Status::NotApplicable)
}

fn zero_counts() -> BTreeMap<String, usize> {
    Status::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), 0))
        .collect()
}

/// Merge `(source, report)` pairs (the source names the report: its file)
/// into a fleet, hosts in the given order, rules in `dockhard rules` order
/// (rules this version does not know after them, by id), with the CIS ids
/// of the current CIS version.
pub fn merge(reports: &[(String, Report)]) -> Fleet {
    merge_with(reports, CisVersion::default())
}

/// [`merge`], with the CIS ids of `cis_version`: taken from the rule
/// metadata, whatever CIS version each report was written with.
pub fn merge_with(reports: &[(String, Report)], cis_version: CisVersion) -> Fleet {
    let mut hosts = Vec::new();
    let mut summary = FleetSummary {
        hosts: reports.len(),
        by_status: zero_counts(),
        ..FleetSummary::default()
    };
    // rule id -> (title, severity, host index -> statuses)
    struct Acc {
        title: String,
        /// The ids of a report of `cis_version` (for rules not known here).
        cis: Option<Vec<String>>,
        severity: Severity,
        per_host: BTreeMap<usize, Vec<Status>>,
    }
    let mut rules: BTreeMap<String, Acc> = BTreeMap::new();
    let mut taken = BTreeSet::new();

    for (i, (source, report)) in reports.iter().enumerate() {
        let base = report
            .host
            .hostname
            .clone()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| source_name(source));
        let name = unique_name(&mut taken, base);
        let mut by_status = zero_counts();
        let mut failures = Vec::new();
        let mut has_error = false;
        for d in &report.daemons {
            for r in &d.results {
                *by_status.entry(r.status.as_str().to_string()).or_default() += 1;
                *summary
                    .by_status
                    .entry(r.status.as_str().to_string())
                    .or_default() += 1;
                match r.status {
                    Status::Fail => {
                        *summary
                            .failed_by_severity
                            .entry(r.severity.as_str().to_string())
                            .or_default() += 1;
                        failures.push(FleetFailure {
                            rule: r.rule.clone(),
                            severity: r.severity,
                            subject: r.subject.clone(),
                            pid: d.pid,
                            message: r.message.clone(),
                        });
                    }
                    Status::Error => has_error = true,
                    _ => {}
                }
                let acc = rules.entry(r.rule.clone()).or_insert_with(|| Acc {
                    title: r.title.clone(),
                    cis: None,
                    severity: r.severity,
                    per_host: BTreeMap::new(),
                });
                acc.severity = acc.severity.max(r.severity);
                if acc.cis.is_none() && report.cis_version() == cis_version {
                    acc.cis = Some(r.cis.clone());
                }
                acc.per_host.entry(i).or_default().push(r.status);
            }
        }
        if !failures.is_empty() {
            summary.hosts_failing += 1;
        }
        if has_error {
            summary.hosts_with_errors += 1;
        }
        hosts.push(FleetHost {
            name,
            source: source.clone(),
            hostname: report.host.hostname.clone(),
            mode: report.host.mode.clone(),
            collected_at: report.host.collected_at.clone(),
            tool_version: report.tool.version.clone(),
            daemons: report.daemons.len(),
            by_status,
            failures,
        });
    }

    let known = |id: &str| crate::rules::RULES.iter().position(|r| r.meta.id == id);
    let mut ids: Vec<&String> = rules.keys().collect();
    ids.sort_by_key(|id| (known(id).unwrap_or(usize::MAX), (*id).clone()));
    let rules = ids
        .into_iter()
        .filter_map(|id| rules.get(id).map(|acc| (id, acc)))
        .map(|(id, acc)| {
            let cis = match crate::rules::find(id) {
                Some(rule) => rule.meta.cis_ids(cis_version),
                None => acc.cis.clone().unwrap_or_default(),
            };
            let mut fr = FleetRule {
                rule: id.clone(),
                title: acc.title.clone(),
                cis,
                severity: acc.severity,
                hosts_applied: 0,
                hosts_passed: 0,
                pass_rate: None,
                failing_hosts: vec![],
                error_hosts: vec![],
                waived_hosts: vec![],
            };
            for (&h, statuses) in &acc.per_host {
                let host = hosts.get(h).map(|x| x.name.clone()).unwrap_or_default();
                match host_status(statuses) {
                    Status::Fail => {
                        fr.hosts_applied += 1;
                        fr.failing_hosts.push(host);
                    }
                    Status::Waived => {
                        fr.hosts_applied += 1;
                        fr.waived_hosts.push(host);
                    }
                    Status::Pass => {
                        fr.hosts_applied += 1;
                        fr.hosts_passed += 1;
                    }
                    Status::Error => fr.error_hosts.push(host),
                    Status::Manual | Status::NotApplicable => {}
                }
            }
            if fr.hosts_applied > 0 {
                fr.pass_rate = Some(fr.hosts_passed as f64 / fr.hosts_applied as f64);
            }
            fr
        })
        .collect();

    Fleet {
        schema: FLEET_SCHEMA.to_string(),
        tool: super::ToolInfo {
            name: "dockhard".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        hosts,
        rules,
        summary,
        cis_version: Some(cis_version),
    }
}

/// `reports/node-1.json` -> `node-1`.
fn source_name(source: &str) -> String {
    let file = source.rsplit('/').next().unwrap_or(source);
    let stem = file.strip_suffix(".json").unwrap_or(file);
    if stem.is_empty() {
        source.to_string()
    } else {
        stem.to_string()
    }
}

/// `name`, or `name (2)`, `name (3)`... when taken.
fn unique_name(taken: &mut BTreeSet<String>, base: String) -> String {
    let mut name = base.clone();
    let mut n = 1;
    while taken.contains(&name) {
        n += 1;
        name = format!("{base} ({n})");
    }
    taken.insert(name.clone());
    name
}

/// The fleet as JSON (`dockhard/fleet/v1`).
pub fn render_json(fleet: &Fleet) -> String {
    let mut s = serde_json::to_string_pretty(fleet)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize the fleet: {e}\"}}"));
    s.push('\n');
    s
}

/// Control characters of untrusted strings replaced, newlines folded.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// Rows of cells as left-aligned columns (the last one unpadded), two
/// spaces apart; `right` marks the columns aligned right (numbers).
fn table(out: &mut String, rows: &[Vec<String>], right: &[usize]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = |c: usize| {
        rows.iter()
            .filter_map(|r| r.get(c))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..cols).map(width).collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let w = widths.get(c).copied().unwrap_or(0);
            let pad = w.saturating_sub(cell.chars().count());
            if c > 0 {
                line.push_str("  ");
            }
            if right.contains(&c) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// The fleet for people: the hosts, the rules with their pass rates, then
/// every host's failures.
pub fn render_text(fleet: &Fleet) -> String {
    let mut out = String::new();
    let s = &fleet.summary;
    let _ = writeln!(
        out,
        "dockhard {} fleet: {} host(s), {} with failures, {} with errors",
        fleet.tool.version, s.hosts, s.hosts_failing, s.hosts_with_errors
    );
    let count = |m: &BTreeMap<String, usize>, k: &str| m.get(k).copied().unwrap_or(0).to_string();

    out.push('\n');
    let mut rows = vec![
        [
            "HOST",
            "MODE",
            "COLLECTED",
            "PASS",
            "FAIL",
            "ERROR",
            "MANUAL",
            "N/A",
            "WAIVED",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for h in &fleet.hosts {
        rows.push(vec![
            clean(&h.name),
            clean(&h.mode),
            clean(h.collected_at.as_deref().unwrap_or("-")),
            count(&h.by_status, "pass"),
            count(&h.by_status, "fail"),
            count(&h.by_status, "error"),
            count(&h.by_status, "manual"),
            count(&h.by_status, "not_applicable"),
            count(&h.by_status, "waived"),
        ]);
    }
    table(&mut out, &rows, &[3, 4, 5, 6, 7, 8]);

    out.push('\n');
    let mut rows = vec![
        [
            "RULE",
            "SEVERITY",
            &format!("CIS {}", fleet.cis_version.unwrap_or_default().full()),
            "PASSED",
            "RATE",
            "FAILING HOSTS",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in &fleet.rules {
        let mut failing: Vec<String> = r.failing_hosts.iter().map(|h| clean(h)).collect();
        failing.extend(
            r.error_hosts
                .iter()
                .map(|h| format!("{} (error)", clean(h))),
        );
        failing.extend(
            r.waived_hosts
                .iter()
                .map(|h| format!("{} (waived)", clean(h))),
        );
        rows.push(vec![
            clean(&r.rule),
            r.severity.as_str().to_string(),
            if r.cis.is_empty() {
                "-".into()
            } else {
                clean(&r.cis.join(", "))
            },
            format!("{}/{}", r.hosts_passed, r.hosts_applied),
            match r.pass_rate {
                Some(p) => format!("{:.0}%", p * 100.0),
                None => "-".into(),
            },
            if failing.is_empty() {
                "-".into()
            } else {
                failing.join(", ")
            },
        ]);
    }
    table(&mut out, &rows, &[3, 4]);

    for h in fleet.hosts.iter().filter(|h| !h.failures.is_empty()) {
        let _ = writeln!(out, "\n{}: {} failure(s)", clean(&h.name), h.failures.len());
        let rows: Vec<Vec<String>> = h
            .failures
            .iter()
            .map(|f| {
                let what = match &f.subject {
                    Some(s) => format!(
                        "{} {}: {}",
                        clean(&s.kind),
                        clean(&s.name),
                        clean(&f.message)
                    ),
                    None => clean(&f.message),
                };
                vec![
                    format!("  {}", clean(&f.rule)),
                    f.severity.as_str().to_string(),
                    what,
                ]
            })
            .collect();
        table(&mut out, &rows, &[]);
    }

    let by = |k: &str| count(&s.by_status, k);
    let _ = writeln!(
        out,
        "\n{} host(s): {} pass, {} fail, {} error, {} manual, {} not applicable, {} waived",
        s.hosts,
        by("pass"),
        by("fail"),
        by("error"),
        by("manual"),
        by("not_applicable"),
        by("waived"),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{DaemonReport, HostInfo, RuleResult, Summary, ToolInfo};

    fn result(
        rule: &str,
        status: Status,
        severity: Severity,
        container: Option<&str>,
    ) -> RuleResult {
        RuleResult {
            rule: rule.into(),
            subject: container.map(|c| Subject {
                kind: "container".into(),
                id: format!("{c}-id"),
                name: c.into(),
                image: Some("nginx:1.27".into()),
            }),
            status,
            severity,
            title: format!("title of {rule}"),
            seed_item: None,
            cis: vec![],
            message: format!("{rule} is {status}"),
            evidence: vec![],
            drift: None,
            warnings: vec![],
            remediation: String::new(),
            waiver: None,
        }
    }

    fn report(hostname: Option<&str>, results: Vec<RuleResult>) -> Report {
        let daemons = vec![DaemonReport {
            pid: Some(42),
            version: Some("20.10.24".into()),
            endpoint: None,
            rootless: false,
            audited: "running".into(),
            config_file: None,
            engine: None,
            next_start_engine: None,
            notes: vec![],
            results,
        }];
        Report {
            schema: crate::report::REPORT_SCHEMA.into(),
            tool: ToolInfo {
                name: "dockhard".into(),
                version: "0.1.0".into(),
            },
            host: HostInfo {
                hostname: hostname.map(String::from),
                kernel: None,
                mode: "live".into(),
                root: None,
                collected_at: Some("2026-12-01T12:00:00Z".into()),
                notes: vec![],
            },
            summary: Summary::of(&daemons),
            daemons,
            cis_version: None,
        }
    }

    /// Three hosts: one hardened, one failing icc and a container rule,
    /// one (named by its file) with an error and a waiver.
    fn three() -> Vec<(String, Report)> {
        use Severity::*;
        use Status::*;
        vec![
            (
                "reports/a.json".into(),
                report(
                    Some("node-a"),
                    vec![
                        result("daemon.icc", Pass, High, None),
                        result("daemon.live-restore", Pass, Medium, None),
                        result("containers.privileged", Pass, High, Some("web")),
                        result("host.dedicated", Manual, Low, None),
                    ],
                ),
            ),
            (
                "reports/b.json".into(),
                report(
                    Some("node-b"),
                    vec![
                        result("daemon.icc", Fail, High, None),
                        result("daemon.live-restore", Pass, Medium, None),
                        result("containers.privileged", Pass, High, Some("db")),
                        result("containers.privileged", Fail, High, Some("web\x1b[31m")),
                        result("host.dedicated", Manual, Low, None),
                    ],
                ),
            ),
            (
                "reports/node-c.json".into(),
                report(
                    None,
                    vec![
                        result("daemon.icc", Error, High, None),
                        result("daemon.live-restore", Waived, Medium, None),
                        result("containers.privileged", NotApplicable, High, None),
                        result("host.dedicated", Manual, Low, None),
                    ],
                ),
            ),
        ]
    }

    #[test]
    fn rules_carry_the_ids_of_the_chosen_cis_version() {
        use Severity::*;
        use Status::*;
        let mut reports = three();
        // A rule this version does not know, from a report of v1.8.0 ids.
        let mut future = result("daemon.future", Fail, Low, None);
        future.cis = vec!["2.20".into()];
        reports[0].1.daemons[0].results.push(future);
        reports[0].1.cis_version = Some(CisVersion::V1_8);
        let ids = |f: &Fleet| -> Vec<(String, String)> {
            f.rules
                .iter()
                .map(|r| (r.rule.clone(), r.cis.join(",")))
                .collect()
        };
        let f = merge_with(&reports, CisVersion::V1_6);
        assert_eq!(f.cis_version, Some(CisVersion::V1_6));
        assert_eq!(
            ids(&f)[..3],
            [
                ("daemon.icc".into(), "2.2".into()),
                ("daemon.live-restore".into(), "2.15".into()),
                ("host.dedicated".into(), "".into()),
            ]
        );
        assert_eq!(ids(&f).last().unwrap().1, "", "not a v1.6.0 report");
        let f = merge(&reports);
        assert_eq!(f.cis_version, Some(CisVersion::V1_8));
        assert_eq!(ids(&f)[1].1, "2.16");
        assert_eq!(ids(&f).last().unwrap().1, "2.20");
        let text = render_text(&f);
        assert!(text.contains("CIS v1.8.0"), "{text}");
    }

    #[test]
    fn hosts_keep_their_counts_and_failures() {
        let f = merge(&three());
        assert_eq!(f.schema, FLEET_SCHEMA);
        let names: Vec<&str> = f.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["node-a", "node-b", "node-c"]);
        let b = &f.hosts[1];
        assert_eq!(b.by_status["pass"], 2);
        assert_eq!(b.by_status["fail"], 2);
        assert_eq!(b.by_status["manual"], 1);
        assert_eq!(b.by_status["waived"], 0);
        let failed: Vec<(&str, Option<&str>)> = b
            .failures
            .iter()
            .map(|x| (x.rule.as_str(), x.subject.as_ref().map(|s| s.name.as_str())))
            .collect();
        assert_eq!(
            failed,
            [
                ("daemon.icc", None),
                ("containers.privileged", Some("web\x1b[31m"))
            ]
        );
        assert_eq!(b.failures[0].pid, Some(42));
        assert!(f.hosts[0].failures.is_empty());
        assert!(f.hosts[2].failures.is_empty());
        assert_eq!(f.summary.hosts, 3);
        assert_eq!(f.summary.hosts_failing, 1);
        assert_eq!(f.summary.hosts_with_errors, 1);
        assert_eq!(f.summary.by_status["fail"], 2);
        assert_eq!(f.summary.failed_by_severity["high"], 2);
        assert!(f.has_failures());
    }

    #[test]
    fn rules_have_pass_rates_over_the_hosts_where_they_applied() {
        let f = merge(&three());
        let rule = |id: &str| f.rules.iter().find(|r| r.rule == id).unwrap();
        let icc = rule("daemon.icc");
        // node-c errored: it neither passed nor failed.
        assert_eq!((icc.hosts_passed, icc.hosts_applied), (1, 2));
        assert_eq!(icc.pass_rate, Some(0.5));
        assert_eq!(icc.failing_hosts, ["node-b"]);
        assert_eq!(icc.error_hosts, ["node-c"]);
        let lr = rule("daemon.live-restore");
        assert_eq!((lr.hosts_passed, lr.hosts_applied), (2, 3));
        assert_eq!(lr.waived_hosts, ["node-c"]);
        assert!(lr.failing_hosts.is_empty());
        // One failing container fails the host; not applicable is no verdict.
        let p = rule("containers.privileged");
        assert_eq!((p.hosts_passed, p.hosts_applied), (1, 2));
        assert_eq!(p.failing_hosts, ["node-b"]);
        let d = rule("host.dedicated");
        assert_eq!((d.hosts_applied, d.pass_rate), (0, None));
        // `dockhard rules` order.
        let ids: Vec<&str> = f.rules.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(
            ids,
            [
                "daemon.icc",
                "daemon.live-restore",
                "host.dedicated",
                "containers.privileged"
            ]
        );
    }

    #[test]
    fn names_are_unique_and_fall_back_to_the_file() {
        let mut r = three();
        r[1].1.host.hostname = Some("node-a".into());
        r.push(("x/node-a.json".into(), report(None, vec![])));
        let f = merge(&r);
        let names: Vec<&str> = f.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["node-a", "node-a (2)", "node-c", "node-a (3)"]);
        assert_eq!(f.hosts[3].daemons, 1);
        assert!(merge(&[]).rules.is_empty());
    }

    #[test]
    fn text_is_aligned_and_inert() {
        let text = render_text(&merge(&three()));
        assert!(!text.contains('\x1b'), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn json_round_trips() {
        let f = merge(&three());
        let back: Fleet = serde_json::from_str(&render_json(&f)).unwrap();
        assert_eq!(back, f);
    }
}
