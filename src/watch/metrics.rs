//! The metrics of `dockhard watch` (pure): the latest report and the
//! counters of the watch, rendered with the Prometheus project's
//! `prometheus-client` into the text exposition format 0.0.4.
//!
//! Names and labels are part of the interface (docs/watch.md):
//! `dockhard_result`, `dockhard_rule_failures`, `dockhard_drift`,
//! `dockhard_audit_duration_seconds`, `dockhard_audits_total`,
//! `dockhard_audit_errors_total`, `dockhard_last_full_audit_timestamp_seconds`,
//! `dockhard_events_total`, `dockhard_build_info`.

use crate::report::Report;
use crate::rules::Status;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

/// What started an audit (`dockhard_audits_total{trigger}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    Start,
    Event,
    File,
    Process,
    Interval,
    Signal,
}

impl Trigger {
    pub const ALL: [Trigger; 6] = [
        Trigger::Start,
        Trigger::Event,
        Trigger::File,
        Trigger::Process,
        Trigger::Interval,
        Trigger::Signal,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::Event => "event",
            Trigger::File => "file",
            Trigger::Process => "process",
            Trigger::Interval => "interval",
            Trigger::Signal => "signal",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    daemon: String,
    rule: String,
    severity: String,
    cis: String,
    subject_kind: String,
    subject: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    daemon: String,
    rule: String,
    severity: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DriftLabels {
    daemon: String,
    rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TriggerLabels {
    trigger: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    engine_version: String,
}

type DurationFamily = Family<KindLabels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(BUCKETS.iter().copied())
}

/// The counters of one watch (monotonic over its life; constant size).
#[derive(Debug, Clone)]
pub struct Stats {
    pub audits: BTreeMap<Trigger, u64>,
    pub audit_errors: u64,
    pub events: u64,
    /// Unix seconds of the last full audit that ran.
    pub last_full_audit: Option<f64>,
    /// Durations of the audits, by kind (`full`): buckets, not samples.
    durations: DurationFamily,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            audits: BTreeMap::new(),
            audit_errors: 0,
            events: 0,
            last_full_audit: None,
            durations: Family::new_with_constructor(duration_histogram),
        }
    }
}

impl Stats {
    /// One audit of `kind` took `secs` seconds.
    pub fn observe_duration(&self, kind: &str, secs: f64) {
        self.durations
            .get_or_create(&KindLabels { kind: kind.into() })
            .observe(secs);
    }
}

/// A label value escaped per the text format (`prometheus-client` writes
/// label values as given): backslash, double quote and line feed.
pub fn esc(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Histogram buckets of an audit's duration, seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The daemon label of a report's daemon: `pid:N`, else its endpoint, else
/// `next-start` (an offline root or no running dockerd).
pub fn daemon_label(d: &crate::report::DaemonReport) -> String {
    match (d.pid, &d.endpoint) {
        (Some(p), _) => format!("pid:{p}"),
        (None, Some(e)) => e.clone(),
        (None, None) => "next-start".into(),
    }
}

/// Every metric family [`render`] writes (the name of its `# TYPE` line,
/// its type): the interface docs/watch.md documents and the Grafana
/// dashboard and the PrometheusRule query (tests/offline/monitoring.rs
/// checks all three against this list). A family without a series (no
/// drift) is left out of the output.
pub const METRICS: &[(&str, &str)] = &[
    ("dockhard_result", "gauge"),
    ("dockhard_rule_failures", "gauge"),
    ("dockhard_drift", "gauge"),
    ("dockhard_audit_duration_seconds", "histogram"),
    ("dockhard_audits_total", "counter"),
    ("dockhard_audit_errors_total", "counter"),
    ("dockhard_events_total", "counter"),
    ("dockhard_last_full_audit_timestamp_seconds", "gauge"),
    ("dockhard_build_info", "gauge"),
];

/// Render the exposition text of `report` (none before the first audit)
/// and `stats`.
pub fn render(report: Option<&Report>, stats: &Stats) -> String {
    let mut reg = Registry::default();
    let results = Family::<ResultLabels, Gauge>::default();
    let failures = Family::<RuleLabels, Gauge>::default();
    let drift = Family::<DriftLabels, Gauge>::default();
    let mut engine_version = String::new();
    if let Some(r) = report {
        for d in &r.daemons {
            let daemon = esc(&daemon_label(d));
            if engine_version.is_empty()
                && let Some(e) = d.engine.as_ref().or(d.next_start_engine.as_ref())
            {
                engine_version = esc(&e.version);
            }
            let mut fails: BTreeMap<(&str, &str), i64> = BTreeMap::new();
            for res in &d.results {
                let (kind, subject) = match &res.subject {
                    Some(s) => (esc(&s.kind), esc(&s.name)),
                    None => (String::new(), String::new()),
                };
                results
                    .get_or_create(&ResultLabels {
                        daemon: daemon.clone(),
                        rule: esc(&res.rule),
                        severity: res.severity.as_str().to_string(),
                        cis: esc(&res.cis.join(",")),
                        subject_kind: kind,
                        subject,
                        status: res.status.as_str().to_string(),
                    })
                    .set(1);
                let n = fails
                    .entry((res.rule.as_str(), res.severity.as_str()))
                    .or_insert(0);
                if res.status == Status::Fail {
                    *n += 1;
                }
                if res.drift.is_some() && res.subject.is_none() {
                    drift
                        .get_or_create(&DriftLabels {
                            daemon: daemon.clone(),
                            rule: esc(&res.rule),
                        })
                        .set(1);
                }
            }
            for ((rule, severity), n) in fails {
                failures
                    .get_or_create(&RuleLabels {
                        daemon: daemon.clone(),
                        rule: esc(rule),
                        severity: severity.to_string(),
                    })
                    .set(n);
            }
        }
    }
    reg.register(
        "dockhard_result",
        "One series per rule and subject with its current status (value 1)",
        results,
    );
    reg.register(
        "dockhard_rule_failures",
        "Failing subjects per rule",
        failures,
    );
    reg.register(
        "dockhard_drift",
        "1 where the configuration on disk would change the verdict at the next reload or restart",
        drift,
    );
    // The same (shared) histograms each time: registering a clone.
    reg.register(
        "dockhard_audit_duration_seconds",
        "Duration of the audits",
        stats.durations.clone(),
    );
    let audits = Family::<TriggerLabels, Counter>::default();
    for t in Trigger::ALL {
        audits
            .get_or_create(&TriggerLabels {
                trigger: t.as_str().into(),
            })
            .inc_by(stats.audits.get(&t).copied().unwrap_or(0));
    }
    reg.register(
        "dockhard_audits",
        "Audits run, by what started them",
        audits,
    );
    let errors = Counter::<u64>::default();
    errors.inc_by(stats.audit_errors);
    reg.register(
        "dockhard_audit_errors",
        "Audits that could not run at all",
        errors,
    );
    let events = Counter::<u64>::default();
    events.inc_by(stats.events);
    reg.register("dockhard_events", "Engine API events received", events);
    if let Some(t) = stats.last_full_audit {
        let g = Gauge::<f64, AtomicU64>::default();
        g.set(t);
        reg.register(
            "dockhard_last_full_audit_timestamp_seconds",
            "Unix time of the last full audit",
            g,
        );
    }
    let build = Family::<BuildLabels, Gauge>::default();
    build
        .get_or_create(&BuildLabels {
            version: env!("CARGO_PKG_VERSION").into(),
            engine_version,
        })
        .set(1);
    reg.register(
        "dockhard_build_info",
        "dockhard's version and the engine's",
        build,
    );
    let mut open = String::new();
    if prometheus_client::encoding::text::encode_registry(&mut open, &reg).is_err() {
        return String::new();
    }
    to_text_format(&open)
}

/// OpenMetrics text (as `prometheus-client` writes it) to the Prometheus
/// text format 0.0.4: a counter's `# HELP`/`# TYPE` name the `_total`
/// series the samples use, and there is no `# EOF`.
pub fn to_text_format(open: &str) -> String {
    let mut counters: Vec<String> = Vec::new();
    for l in open.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ")
            && let Some(name) = rest.strip_suffix(" counter")
        {
            counters.push(name.to_string());
        }
    }
    let mut out = String::with_capacity(open.len() + 64);
    for l in open.lines() {
        if l == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|p| {
            let rest = l.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .iter()
                .any(|c| c == name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(l));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::objects::Subject;
    use crate::report::{DaemonReport, RuleResult};
    use crate::rules::Severity;

    fn result(rule: &str, status: Status, subject: Option<&str>) -> RuleResult {
        RuleResult {
            rule: rule.into(),
            subject: subject.map(|n| Subject {
                kind: "container".into(),
                id: "c0ffee".into(),
                name: n.into(),
                image: None,
            }),
            status,
            severity: Severity::High,
            title: String::new(),
            seed_item: None,
            cis: vec!["5.4".into()],
            message: String::new(),
            evidence: Vec::new(),
            drift: None,
            warnings: Vec::new(),
            remediation: String::new(),
            waiver: None,
        }
    }

    fn report(results: Vec<RuleResult>) -> Report {
        let mut r = crate::report::sample::sample_report();
        r.daemons.truncate(1);
        r.daemons[0] = DaemonReport {
            pid: Some(42),
            results,
            ..r.daemons[0].clone()
        };
        r
    }

    #[test]
    fn series_counts_and_text_format() {
        let r = report(vec![
            result("containers.privileged", Status::Fail, Some("web")),
            result("containers.privileged", Status::Pass, Some("db")),
            result("daemon.icc", Status::Fail, None),
        ]);
        let mut stats = Stats::default();
        stats.audits.insert(Trigger::Start, 1);
        stats.audits.insert(Trigger::Event, 3);
        stats.events = 7;
        stats.observe_duration("full", 0.04);
        let text = render(Some(&r), &stats);
        assert!(text.contains(
            "dockhard_result{daemon=\"pid:42\",rule=\"containers.privileged\",severity=\"high\",cis=\"5.4\",subject_kind=\"container\",subject=\"web\",status=\"fail\"} 1"
        ), "{text}");
        assert!(text.contains(
            "dockhard_rule_failures{daemon=\"pid:42\",rule=\"containers.privileged\",severity=\"high\"} 1"
        ), "{text}");
        assert!(
            text.contains("dockhard_audits_total{trigger=\"event\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE dockhard_audits_total counter"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE dockhard_events_total counter"),
            "{text}"
        );
        assert!(text.contains("dockhard_events_total 7"), "{text}");
        assert!(
            text.contains("dockhard_audit_duration_seconds_count{kind=\"full\"} 1"),
            "{text}"
        );
        assert!(!text.contains("# EOF"), "{text}");
        // Before the first audit: no result series at all.
        let empty = render(None, &Stats::default());
        assert!(!empty.contains("dockhard_result{"), "{empty}");
        assert!(empty.contains("dockhard_build_info{"), "{empty}");
    }

    #[test]
    fn hostile_names_are_escaped() {
        let evil = "a\"b\\c\nd} 1\ndockhard_result{x=\"y\"";
        let r = report(vec![result(
            "containers.privileged",
            Status::Fail,
            Some(evil),
        )]);
        let text = render(Some(&r), &Stats::default());
        // Every line is a comment or one sample: the name cannot open a line.
        for l in text.lines() {
            assert!(
                l.starts_with('#') || l.starts_with("dockhard_"),
                "line {l:?} in\n{text}"
            );
        }
        assert!(
            text.contains(r#"subject="a\"b\\c\nd} 1\ndockhard_result{x=\"y\"""#),
            "{text}"
        );
    }

    #[test]
    fn every_family_is_in_the_list() {
        let mut drifting = result("daemon.live-restore", Status::Fail, None);
        drifting.drift = Some("daemon.json turns it on at the next restart".into());
        let r = report(vec![
            result("containers.privileged", Status::Fail, Some("web")),
            drifting,
        ]);
        let mut stats = Stats::default();
        stats.observe_duration("full", 0.01);
        stats.last_full_audit = Some(1.0);
        let text = render(Some(&r), &stats);
        let types: Vec<(&str, &str)> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_once(' '))
            .collect();
        assert_eq!(types, METRICS, "{text}");
    }
}
