//! The audit: every rule over every daemon model, with drift between the
//! running configuration and the one on disk. Pure.

use crate::model::daemon::{self, DaemonModel, View};
use crate::model::objects::{Exclusions, Image, Subject};
use crate::policy::Policy;
use crate::report::{DaemonReport, HostInfo, REPORT_SCHEMA, Report, RuleResult, Summary, ToolInfo};
use crate::rules::{Check, CisVersion, Ctx, Outcome, Profile, REFUSED, Rule, Status};
use crate::snapshot::{Mode, Snapshot};

/// Containers and images from which the audit uses two threads.
const PARALLEL_OBJECTS: usize = 50;

/// What to audit of a snapshot.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub profile: Profile,
    /// Containers left out (by name pattern or label), images by tag.
    pub exclude: Exclusions,
    /// The policy file: rules enabled and disabled, severities, waivers and
    /// more exclusions (the profile and threshold are the caller's to merge).
    pub policy: Policy,
    /// The CIS Docker Benchmark version whose ids the report shows.
    pub cis_version: CisVersion,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            profile: Profile::Seed,
            exclude: Exclusions::default(),
            policy: Policy::default(),
            cis_version: CisVersion::default(),
        }
    }
}

/// Evaluate a snapshot into a report with the `seed` profile.
pub fn run(snap: &Snapshot) -> Report {
    run_with(snap, &AuditOptions::default())
}

/// Evaluate a snapshot into a report.
pub fn run_with(snap: &Snapshot, opts: &AuditOptions) -> Report {
    let models = daemon::build(snap);
    let daemons = models
        .iter()
        .map(|m| audit_daemon(snap, m, opts))
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
        cis_version: Some(opts.cis_version),
    }
}

fn audit_daemon(snap: &Snapshot, m: &DaemonModel, opts: &AuditOptions) -> DaemonReport {
    let primary = m.running.as_ref().unwrap_or(&m.next_start);
    let mut notes = m.notes.clone();
    let exclude = opts.exclude.merged(&opts.policy.exclude);
    let mut excluded = Vec::new();
    let containers = m.objects.containers.as_ref().map(|cs| {
        cs.iter()
            .filter(|c| match exclude.reason(c) {
                Some(why) => {
                    excluded.push(format!("{} ({why})", c.name));
                    false
                }
                None => true,
            })
            .collect::<Vec<_>>()
    });
    let mut excluded_images = Vec::new();
    let images = m.objects.images.as_ref().map(|is| {
        is.iter()
            .filter(|i| match exclude.image_reason(i) {
                Some(why) => {
                    excluded_images.push(format!("{} ({why})", i.name()));
                    false
                }
                None => true,
            })
            .collect::<Vec<_>>()
    });
    let rules: Vec<&Rule> = opts.policy.rules(opts.profile).collect();
    if rules.iter().any(|r| !matches!(r.check, Check::Daemon(_))) {
        notes.extend(m.objects.notes.iter().cloned());
        if !excluded.is_empty() {
            notes.push(format!(
                "{} container(s) excluded from the audit: {}",
                excluded.len(),
                excluded.join(", ")
            ));
        }
        if !excluded_images.is_empty() {
            notes.push(format!(
                "{} image(s) excluded from the audit: {}",
                excluded_images.len(),
                excluded_images.join(", ")
            ));
        }
    }
    let images: Result<Vec<&Image>, &str> = images.map_err(|e| e.as_str());
    let containers = containers
        .as_ref()
        .map(|v| v.as_slice())
        .map_err(|e| e.as_str());
    let eval = |rules: &[&Rule]| {
        let cx = Ctx {
            snap,
            daemon: m,
            view: primary,
        };
        let mut out = Vec::new();
        for rule in rules {
            let first = out.len();
            match rule.check {
                Check::Daemon(_) => out.push(evaluate(snap, m, primary, rule)),
                Check::Container(f) => {
                    per_object(&mut out, rule, m, "containers", containers, |c| {
                        (c.subject(), f(&cx, c))
                    })
                }
                Check::Image(f) => {
                    let is = images.as_ref().map(Vec::as_slice).map_err(|e| *e);
                    per_object(&mut out, rule, m, "images", is, |i| {
                        (i.subject(), f(&cx, i))
                    })
                }
            }
            let cis = rule.meta.cis_ids(opts.cis_version);
            for r in &mut out[first..] {
                r.cis.clone_from(&cis);
            }
        }
        out
    };
    // Thousands of per-object verdicts: both halves of the rule list at
    // once (the order of the results stays the rules' order).
    let objects = containers.map_or(0, <[_]>::len) + images.as_ref().map_or(0, Vec::len);
    let results = if objects >= PARALLEL_OBJECTS {
        let (first, second) = rules.split_at(rules.len() / 2);
        std::thread::scope(|s| {
            let h = s.spawn(|| eval(second));
            let mut r = eval(first);
            r.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            r
        })
    } else {
        eval(&rules)
    };
    let mut results = results;
    // A refused configuration makes every rule that needs it an error: say
    // so once for the daemon, not as drift under each rule.
    if m.running.is_some() {
        if m.reload.as_ref().is_some_and(crate::rules::refused) {
            notes.push(
                "drift: at the next reload (SIGHUP) dockerd would reject the configuration on disk (see daemon.config-valid); the rules judge the running configuration".into(),
            );
        }
        if crate::rules::refused(&m.next_start) {
            notes.push(
                "drift: at the next restart dockerd would not start with the configuration on disk (see daemon.config-valid); the rules judge the running configuration".into(),
            );
        }
    }
    for r in &mut results {
        opts.policy.apply(r, snap.collected_unix);
    }
    for c in m.engine.iter().chain(std::iter::once(&m.next_engine)) {
        for w in &c.warnings {
            if !notes.contains(w) {
                notes.push(w.clone());
            }
        }
    }
    DaemonReport {
        engine: m.engine.as_ref().map(crate::report::EngineReport::of),
        next_start_engine: Some(crate::report::EngineReport::of(&m.next_engine)),
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
        notes,
        results,
    }
}

/// One result per object (container or image) for `rule`; one
/// `not_applicable` result when there are none, one `error` or
/// `not_applicable` when they are unknown.
fn per_object<T>(
    results: &mut Vec<RuleResult>,
    rule: &Rule,
    m: &DaemonModel,
    what: &str,
    objects: Result<&[&T], &str>,
    judge: impl Fn(&T) -> (Subject, Outcome),
) {
    match objects {
        Err(why) => results.push(no_objects(rule, m, what, why)),
        Ok([]) => results.push(result(
            rule,
            None,
            Outcome::not_applicable(format!("no {what}")),
            None,
        )),
        Ok(objs) => results.extend(objs.iter().map(|o| {
            let (subject, out) = judge(o);
            result(rule, Some(subject), out, None)
        })),
    }
}

/// A daemon rule's verdict on one view. Per-object rules have no verdict
/// of their own on a view: `None`.
pub fn check(snap: &Snapshot, m: &DaemonModel, view: &View, rule: &Rule) -> Option<Outcome> {
    match rule.check {
        Check::Daemon(f) => Some(f(&Ctx {
            snap,
            daemon: m,
            view,
        })),
        Check::Container(_) | Check::Image(_) => None,
    }
}

/// Containers or images are unknown: `not_applicable` where there are none
/// to see (an offline root, no daemon running), else `error`.
fn no_objects(rule: &Rule, m: &DaemonModel, what: &str, why: &str) -> RuleResult {
    let out = if m.running.is_none() {
        Outcome::not_applicable(format!("{why}: no {what} to audit"))
    } else {
        Outcome::error(format!("the {what} of this daemon are unknown: {why}"))
    };
    result(rule, None, out, None)
}

fn evaluate(snap: &Snapshot, m: &DaemonModel, primary: &View, rule: &Rule) -> RuleResult {
    let Some(out) = check(snap, m, primary, rule) else {
        return result(rule, None, Outcome::error("not a daemon rule"), None);
    };
    let drift = if m.running.is_some() {
        drift_note(&out, snap, m, rule)
    } else {
        None
    };
    result(rule, None, out, drift)
}

fn result(
    rule: &Rule,
    subject: Option<Subject>,
    out: Outcome,
    drift: Option<String>,
) -> RuleResult {
    RuleResult {
        rule: rule.meta.id.to_string(),
        subject,
        status: out.status,
        severity: rule.meta.severity,
        title: rule.meta.title.to_string(),
        seed_item: rule.meta.seed_item,
        // The chosen version's ids: filled in by `audit_daemon`.
        cis: Vec::new(),
        message: out.message,
        evidence: out.evidence,
        drift,
        warnings: out.warnings,
        remediation: rule.meta.remediation.to_string(),
        waiver: None,
    }
}

/// What changes at the next SIGHUP or restart, if the verdict would differ.
fn drift_note(now: &Outcome, snap: &Snapshot, m: &DaemonModel, rule: &Rule) -> Option<String> {
    let mut notes = Vec::new();
    // A refused view's errors are said once, in the daemon's notes.
    let said = |o: &Outcome| o.status == Status::Error && o.message == REFUSED;
    if let Some(reload) = &m.reload {
        let r = check(snap, m, reload, rule)?;
        if r.status != now.status && !said(&r) {
            notes.push(format!(
                "at the next reload (SIGHUP): {} ({})",
                r.status, r.message
            ));
        }
    }
    let next = check(snap, m, &m.next_start, rule)?;
    if next.status != now.status && !said(&next) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::daemon_snapshot;
    use serde_json::json;

    /// A running daemon whose configuration on disk dockerd would refuse:
    /// the refusal is said once, in the daemon's notes, never as drift
    /// under each rule (text and JSON alike).
    #[test]
    fn refused_next_start_is_said_once() {
        let snap = daemon_snapshot(
            json!({}),
            &["/usr/sbin/dockerd", "--icc=false"],
            Some("{\"icc\": true}\n"),
        );
        let report = run_with(
            &snap,
            &AuditOptions {
                profile: Profile::Cis,
                ..AuditOptions::default()
            },
        );
        let d = &report.daemons[0];
        assert!(d.results.len() > 10);
        for r in &d.results {
            assert!(
                !r.drift.as_deref().unwrap_or_default().contains(REFUSED),
                "{}: {:?}",
                r.rule,
                r.drift
            );
        }
        let said: Vec<&String> = d
            .notes
            .iter()
            .filter(|n| n.contains("would not start"))
            .collect();
        insta::assert_snapshot!(format!("{said:?}"), @r#"
            ["drift: at the next restart dockerd would not start with the configuration on disk (see daemon.config-valid); the rules judge the running configuration"]
        "#);
        let text = crate::report::text::render(&report, false);
        assert_eq!(text.matches("would not start").count(), 2, "{text}");
        let json = crate::report::json::render(&report);
        assert_eq!(json.matches("would not start").count(), 2, "{json}");
    }
}
