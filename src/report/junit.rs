//! JUnit XML renderer (for CI test report views: GitLab, Jenkins, ...).
//!
//! `<testsuites>` holds one `<testsuite>` per audited daemon (`dockerd pid
//! N`, or `dockerd next start` when the configuration on disk is audited)
//! and one `<testcase>` per result: the rule id as name (with ` [container
//! NAME]` or ` [image NAME]` for per-object results), the rule's area
//! (`daemon`, `containers`, ...) as classname.
//!
//! - `fail` -> `<failure message=MESSAGE type=SEVERITY>` with the evidence,
//!   warnings, drift and remediation as text;
//! - `error` -> `<error message=MESSAGE type="error">` with the evidence;
//! - `manual` and `not_applicable` -> `<skipped message=...>`;
//! - `waived` -> `<skipped message="waived: ...">`;
//! - `pass` -> a plain test case.
//!
//! A result with CIS ids has `<properties><property name="cis" value="2.8"/>`
//! (the ids of the CIS version in the suite's `cis_version` property).
//!
//! Every string is escaped, and characters XML 1.0 cannot carry (control
//! characters other than tab, newline and carriage return, U+FFFE, U+FFFF)
//! are dropped.

use super::{DaemonReport, Report, RuleResult};
use crate::rules::Status;
use std::fmt::Write;

pub fn render(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let all: Vec<&RuleResult> = report.daemons.iter().flat_map(|d| &d.results).collect();
    let c = Counts::of(all.iter().copied());
    let _ = writeln!(
        out,
        "<testsuites name=\"dockhard\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"0\">",
        c.tests, c.failures, c.errors, c.skipped
    );
    for d in &report.daemons {
        suite(&mut out, report, d);
    }
    out.push_str("</testsuites>\n");
    out
}

#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn of<'a>(results: impl Iterator<Item = &'a RuleResult>) -> Counts {
        let mut c = Counts::default();
        for r in results {
            c.tests += 1;
            match r.status {
                Status::Fail => c.failures += 1,
                Status::Error => c.errors += 1,
                Status::Manual | Status::NotApplicable | Status::Waived => c.skipped += 1,
                Status::Pass => {}
            }
        }
        c
    }
}

fn suite_name(d: &DaemonReport) -> String {
    match d.pid {
        Some(pid) => format!("dockerd pid {pid}"),
        None => "dockerd next start".to_string(),
    }
}

/// JUnit timestamps are ISO 8601 without a zone (the JUnit XSD); the
/// report's are UTC (`...Z`).
fn timestamp(t: &str) -> &str {
    t.strip_suffix('Z').unwrap_or(t)
}

fn suite(out: &mut String, report: &Report, d: &DaemonReport) {
    let c = Counts::of(d.results.iter());
    let _ = write!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"0\"",
        attr(&suite_name(d)),
        c.tests,
        c.failures,
        c.errors,
        c.skipped
    );
    if let Some(t) = &report.host.collected_at {
        let _ = write!(out, " timestamp=\"{}\"", attr(timestamp(t)));
    }
    if let Some(h) = &report.host.hostname {
        let _ = write!(out, " hostname=\"{}\"", attr(h));
    }
    out.push_str(">\n");

    let mut props: Vec<(&str, String)> = vec![
        ("audited", d.audited.clone()),
        ("mode", report.host.mode.clone()),
    ];
    let optional = [
        ("version", &d.version),
        ("endpoint", &d.endpoint),
        ("config_file", &d.config_file),
        ("kernel", &report.host.kernel),
        ("root", &report.host.root),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            props.push((k, v.clone()));
        }
    }
    props.push(("rootless", d.rootless.to_string()));
    props.push(("cis_version", report.cis_version().as_str().to_string()));
    for n in report.host.notes.iter().chain(&d.notes) {
        props.push(("note", n.clone()));
    }
    out.push_str("    <properties>\n");
    for (k, v) in props {
        let _ = writeln!(
            out,
            "      <property name=\"{}\" value=\"{}\"/>",
            attr(k),
            attr(&v)
        );
    }
    out.push_str("    </properties>\n");

    for r in &d.results {
        case(out, r);
    }
    out.push_str("  </testsuite>\n");
}

/// `daemon.icc`, `containers.privileged [container web]`.
pub fn case_name(r: &RuleResult) -> String {
    match &r.subject {
        Some(s) => format!("{} [{} {}]", r.rule, s.kind, s.name),
        None => r.rule.clone(),
    }
}

fn details(r: &RuleResult, with_remediation: bool) -> String {
    let mut t = String::new();
    for e in &r.evidence {
        if e.source == crate::model::Source::Default {
            let _ = writeln!(t, "default: {}", e.detail);
        } else {
            let _ = writeln!(t, "{} {}: {}", e.source, e.location, e.detail);
        }
    }
    for w in &r.warnings {
        let _ = writeln!(t, "warning: {w}");
    }
    if let Some(d) = &r.drift {
        let _ = writeln!(t, "drift: {d}");
    }
    if with_remediation && !r.remediation.is_empty() {
        let _ = writeln!(t, "remediation: {}", r.remediation);
    }
    t
}

fn case(out: &mut String, r: &RuleResult) {
    let area = r.rule.split_once('.').map_or(r.rule.as_str(), |(a, _)| a);
    let _ = write!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\" time=\"0\"",
        attr(&case_name(r)),
        attr(area)
    );
    let mut body = String::new();
    // The CIS ids (of the suite's `cis_version`) as a property of the case.
    if !r.cis.is_empty() {
        let _ = writeln!(
            body,
            "      <properties><property name=\"cis\" value=\"{}\"/></properties>",
            attr(&r.cis.join(", "))
        );
    }
    let severity = r.severity.as_str();
    match r.status {
        Status::Pass => {}
        Status::Fail => {
            let _ = writeln!(
                body,
                "      <failure message=\"{}\" type=\"{severity}\">{}</failure>",
                attr(&r.message),
                text(&details(r, true))
            );
        }
        Status::Error => {
            let _ = writeln!(
                body,
                "      <error message=\"{}\" type=\"error\">{}</error>",
                attr(&r.message),
                text(&details(r, false))
            );
        }
        Status::Manual | Status::NotApplicable | Status::Waived => {
            let msg = match r.status {
                Status::Manual => format!("manual: {}", r.message),
                Status::NotApplicable => format!("not applicable: {}", r.message),
                _ => match &r.waiver {
                    Some(w) => format!("waived: {} ({})", r.message, w.describe()),
                    None => format!("waived: {}", r.message),
                },
            };
            let details = details(r, false);
            if details.is_empty() {
                let _ = writeln!(body, "      <skipped message=\"{}\"/>", attr(&msg));
            } else {
                let _ = writeln!(
                    body,
                    "      <skipped message=\"{}\">{}</skipped>",
                    attr(&msg),
                    text(&details)
                );
            }
        }
    }
    if body.is_empty() {
        out.push_str("/>\n");
    } else {
        let _ = write!(out, ">\n{body}    </testcase>\n");
    }
}

/// Is `c` allowed in an XML 1.0 document?
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escape for element content.
pub fn text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars().filter(|&c| xml_char(c)) {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            // A bare CR would be normalised away by the parser.
            '\r' => o.push_str("&#13;"),
            _ => o.push(c),
        }
    }
    o
}

/// Escape for a double-quoted attribute value (whitespace other than the
/// space as character references, so parsers keep it).
pub fn attr(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars().filter(|&c| xml_char(c)) {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' => o.push_str("&#9;"),
            '\n' => o.push_str("&#10;"),
            '\r' => o.push_str("&#13;"),
            _ => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::report::sample::sample_report;

    #[test]
    fn golden_sample() {
        insta::assert_snapshot!("junit_sample", render(&sample_report()));
    }

    #[test]
    fn escapes_and_strips_what_xml_cannot_carry() {
        assert_eq!(
            attr("a<b>&\"c'\n\t\u{1}\u{1b}[0m\u{FFFE}"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#10;&#9;[0m"
        );
        assert_eq!(
            text("<script>\u{0}x\r\n</script>"),
            "&lt;script&gt;x&#13;\n&lt;/script&gt;"
        );
    }

    #[test]
    fn hostile_strings_stay_text() {
        let mut report = sample_report();
        let r = &mut report.daemons[0].results[0];
        r.status = Status::Fail;
        r.message = "</failure><testcase name=\"x\"/>\u{7}".into();
        let xml = render(&report);
        assert!(!xml.contains("</failure><testcase"));
        assert!(!xml.contains('\u{7}'));
        assert!(xml.contains("&lt;/failure&gt;&lt;testcase name=&quot;x&quot;/&gt;"));
        // The sample's hostile label never appears unescaped.
        assert!(!xml.contains("<script>"));
    }

    #[test]
    fn counts_and_names() {
        let report = sample_report();
        let xml = render(&report);
        let d = &report.daemons[0];
        let fails = d
            .results
            .iter()
            .filter(|r| r.status == Status::Fail)
            .count();
        assert!(xml.contains(&format!(
            "<testsuite name=\"dockerd pid 4242\" tests=\"{}\" failures=\"{fails}\"",
            d.results.len()
        )));
        assert!(xml.contains("timestamp=\"2026-12-01T12:00:00\""));
        assert!(xml.contains(
            "<testcase name=\"containers.privileged [container web]\" classname=\"containers\""
        ));
        assert_eq!(
            xml.matches("<testcase ").count(),
            d.results.len(),
            "one test case per result"
        );
    }
}
