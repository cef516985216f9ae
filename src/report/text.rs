//! Text renderer for people: one block per daemon, one line per rule,
//! evidence and drift indented below. Colour only when asked (a terminal,
//! `NO_COLOR` unset).

use super::{Report, RuleResult};
use crate::rules::Status;
use std::fmt::Write;

struct Paint(bool);

impl Paint {
    fn status(&self, s: Status) -> String {
        let text = format!("{:<14}", s.as_str().to_uppercase());
        if !self.0 {
            return text;
        }
        let code = match s {
            Status::Pass => "32",
            Status::Fail => "31;1",
            Status::Error => "35;1",
            Status::Manual => "36",
            Status::NotApplicable => "2",
            Status::Waived => "33",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
    fn dim(&self, s: &str) -> String {
        if self.0 {
            format!("\x1b[2m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        if self.0 {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Strip control characters from untrusted strings (they come from files
/// and API answers) so they cannot drive the terminal.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect::<String>()
        .replace('\n', " ")
}

pub fn render(report: &Report, color: bool) -> String {
    let p = Paint(color);
    let mut out = String::new();
    let host = report.host.hostname.as_deref().unwrap_or("?");
    let _ = writeln!(
        out,
        "{} {} on {} ({})",
        p.bold("dockhard"),
        report.tool.version,
        clean(host),
        match report.host.mode.as_str() {
            "live" => "running daemons".to_string(),
            "on_disk" => "configuration on disk".to_string(),
            _ => format!(
                "offline root {}",
                report.host.root.as_deref().unwrap_or("?")
            ),
        }
    );
    for n in &report.host.notes {
        let _ = writeln!(out, "  note: {}", clean(n));
    }
    for d in &report.daemons {
        out.push('\n');
        let what = match d.pid {
            Some(pid) => format!("dockerd pid {pid}"),
            None => "dockerd (next start)".to_string(),
        };
        let mut facts = Vec::new();
        if let Some(v) = &d.version {
            facts.push(format!("version {}", clean(v)));
        }
        if let Some(e) = &d.endpoint {
            facts.push(clean(e));
        }
        if d.rootless {
            facts.push("rootless".into());
        }
        if let Some(c) = &d.config_file {
            facts.push(format!("config {}", clean(c)));
        }
        let _ = writeln!(out, "{}  {}", p.bold(&what), p.dim(&facts.join(", ")));
        let engine = |e: &crate::report::EngineReport| {
            format!("{} ({}: {})", clean(&e.version), e.source, clean(&e.detail))
        };
        match (&d.engine, &d.next_start_engine) {
            (Some(r), Some(n)) if r.version != n.version => {
                let _ = writeln!(
                    out,
                    "  engine: running {}; next start judged as {}",
                    engine(r),
                    engine(n)
                );
            }
            (Some(r), _) => {
                let _ = writeln!(out, "  engine: {}", engine(r));
            }
            (None, Some(n)) => {
                let _ = writeln!(out, "  engine: next start judged as {}", engine(n));
            }
            (None, None) => {}
        }
        for n in &d.notes {
            let _ = writeln!(out, "  note: {}", clean(n));
        }
        let w = d.results.iter().map(|r| r.rule.len()).max().unwrap_or(0);
        let mut i = 0;
        while i < d.results.len() {
            let r = &d.results[i];
            if r.subject.is_none() {
                result(&mut out, &p, r, w);
                i += 1;
                continue;
            }
            let n = d.results[i..]
                .iter()
                .take_while(|x| x.rule == r.rule && x.subject.is_some())
                .count();
            objects(&mut out, &p, &d.results[i..i + n], w);
            i += n;
        }
    }
    let s = &report.summary;
    let count = |k: &str| s.by_status.get(k).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "\n{} pass, {} fail, {} error, {} manual, {} not applicable{}",
        count("pass"),
        count("fail"),
        count("error"),
        count("manual"),
        count("not_applicable"),
        match count("waived") {
            0 => String::new(),
            n => format!(", {n} waived"),
        }
    );
    out
}

/// One rule over many containers or images: a summary line with the worst
/// status, then every verdict that is not a pass, with its evidence.
fn objects(out: &mut String, p: &Paint, group: &[RuleResult], w: usize) {
    let Some(first) = group.first() else { return };
    let worst = [
        Status::Error,
        Status::Fail,
        Status::Waived,
        Status::Manual,
        Status::Pass,
        Status::NotApplicable,
    ]
    .into_iter()
    .find(|s| group.iter().any(|r| r.status == *s))
    .unwrap_or(Status::Pass);
    let kind = first
        .subject
        .as_ref()
        .map(|s| s.kind.as_str())
        .unwrap_or("object");
    let count = |s: Status| group.iter().filter(|r| r.status == s).count();
    let mut parts = Vec::new();
    for s in Status::ALL {
        let c = count(s);
        if c > 0 {
            parts.push(format!("{c} {s}"));
        }
    }
    let _ = writeln!(
        out,
        "  {} {:<w$}  {:<8}  {} {kind}(s): {}",
        p.status(worst),
        first.rule,
        first.severity.as_str(),
        group.len(),
        parts.join(", ")
    );
    let pad = " ".repeat(18);
    for r in group
        .iter()
        .filter(|r| r.status != Status::Pass && r.status != Status::NotApplicable)
    {
        let who = r
            .subject
            .as_ref()
            .map(|s| match &s.image {
                Some(img) => format!("{} ({}, {})", s.name, s.id.get(..12).unwrap_or(&s.id), img),
                None => format!(
                    "{} ({})",
                    s.name,
                    s.id.trim_start_matches("sha256:")
                        .get(..12)
                        .unwrap_or(&s.id)
                ),
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{pad}{} {}: {}",
            r.status.as_str().to_uppercase(),
            clean(&who),
            clean(&r.message)
        );
        for e in &r.evidence {
            let _ = writeln!(
                out,
                "{pad}  {}",
                p.dim(&format!(
                    "{} {}: {}",
                    e.source,
                    clean(&e.location),
                    clean(&e.detail)
                ))
            );
        }
        for x in &r.warnings {
            let _ = writeln!(out, "{pad}  warning: {}", clean(x));
        }
        if let Some(w) = &r.waiver {
            let _ = writeln!(out, "{pad}  {}", clean(&w.describe()));
        }
    }
}

fn result(out: &mut String, p: &Paint, r: &RuleResult, w: usize) {
    let _ = writeln!(
        out,
        "  {} {:<w$}  {:<8}  {}",
        p.status(r.status),
        r.rule,
        r.severity.as_str(),
        clean(&r.message)
    );
    let pad = " ".repeat(18);
    for e in &r.evidence {
        let _ = writeln!(
            out,
            "{pad}{}",
            p.dim(&if e.location == e.source.as_str() {
                format!("{}: {}", e.source, clean(&e.detail))
            } else {
                format!("{} {}: {}", e.source, clean(&e.location), clean(&e.detail))
            })
        );
    }
    for x in &r.warnings {
        let _ = writeln!(out, "{pad}warning: {}", clean(x));
    }
    if let Some(w) = &r.waiver {
        let _ = writeln!(out, "{pad}{}", clean(&w.describe()));
    }
    if let Some(d) = &r.drift {
        let _ = writeln!(out, "{pad}drift: {}", clean(d));
    }
}
