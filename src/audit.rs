//! The audit: every rule over every daemon model, with drift between the
//! running configuration and the one on disk. Pure.

use crate::model::daemon::{self, DaemonModel, View};
use crate::report::{DaemonReport, HostInfo, REPORT_SCHEMA, Report, RuleResult, Summary, ToolInfo};
use crate::rules::{Ctx, Outcome, RULES, Rule};
use crate::snapshot::{Mode, Snapshot};

/// Evaluate a snapshot into a report.
pub fn run(snap: &Snapshot) -> Report {
    let models = daemon::build(snap);
    let daemons = models
        .iter()
        .map(|m| audit_daemon(snap, m))
        .collect::<Vec<_>>();
    Report {
        schema: REPORT_SCHEMA.to_string(),
        tool: ToolInfo {
            name: "dockhard".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        host: HostInfo {
            hostname: snap.host.hostname.clone(),
            kernel: snap.host.kernel.clone(),
            mode: match snap.mode {
                Mode::Live => "live",
                Mode::OnDisk => "on_disk",
                Mode::Root => "root",
            }
            .into(),
            root: snap.root.clone(),
            collected_at: snap.collected_at.clone(),
            notes: snap.notes.clone(),
        },
        summary: Summary::of(&daemons),
        daemons,
    }
}

fn audit_daemon(snap: &Snapshot, m: &DaemonModel) -> DaemonReport {
    let primary = m.running.as_ref().unwrap_or(&m.next_start);
    let results = RULES
        .iter()
        .map(|rule| evaluate(snap, m, primary, rule))
        .collect();
    DaemonReport {
        pid: m.pid,
        version: m.version.clone(),
        endpoint: m.endpoint.clone(),
        rootless: m.rootless,
        audited: if m.running.is_some() {
            "running"
        } else {
            "next_start"
        }
        .into(),
        config_file: primary
            .config
            .as_ref()
            .ok()
            .map(|c| c.config_path.path.clone()),
        notes: m.notes.clone(),
        results,
    }
}

fn check(snap: &Snapshot, m: &DaemonModel, view: &View, rule: &Rule) -> Outcome {
    (rule.check)(&Ctx {
        snap,
        daemon: m,
        view,
    })
}

fn evaluate(snap: &Snapshot, m: &DaemonModel, primary: &View, rule: &Rule) -> RuleResult {
    let out = check(snap, m, primary, rule);
    let drift = if m.running.is_some() {
        drift_note(&out, snap, m, rule)
    } else {
        None
    };
    RuleResult {
        rule: rule.meta.id.to_string(),
        status: out.status,
        severity: rule.meta.severity,
        title: rule.meta.title.to_string(),
        seed_item: rule.meta.seed_item,
        cis: rule.meta.cis.iter().map(|s| s.to_string()).collect(),
        message: out.message,
        evidence: out.evidence,
        drift,
        warnings: out.warnings,
        remediation: rule.meta.remediation.to_string(),
    }
}

/// What changes at the next SIGHUP or restart, if the verdict would differ.
fn drift_note(now: &Outcome, snap: &Snapshot, m: &DaemonModel, rule: &Rule) -> Option<String> {
    let mut notes = Vec::new();
    if let Some(reload) = &m.reload {
        let r = check(snap, m, reload, rule);
        if r.status != now.status {
            notes.push(format!(
                "at the next reload (SIGHUP): {} ({})",
                r.status, r.message
            ));
        }
    }
    let next = check(snap, m, &m.next_start, rule);
    if next.status != now.status {
        notes.push(format!(
            "at the next restart: {} ({})",
            next.status, next.message
        ));
    }
    if notes.is_empty() {
        None
    } else {
        Some(notes.join("; "))
    }
}
