//! The text of `dockhard rules` (text, JSON, the Markdown rule table) and
//! of `dockhard explain`.

use super::RulesFormat;
use crate::rules::{self, RULES};

/// `ids` joined, or `-`.
pub(super) fn cis_list(ids: &[String]) -> String {
    if ids.is_empty() {
        "-".to_string()
    } else {
        ids.join(", ")
    }
}

/// `dockhard rules` in the given format, with the CIS ids of `cis`.
pub fn render_rules(format: RulesFormat, cis: rules::CisVersion) -> String {
    match format {
        RulesFormat::Json => {
            let metas: Vec<serde_json::Value> = RULES
                .iter()
                .map(|r| {
                    let mut v = serde_json::to_value(r.meta).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("cis".into(), serde_json::json!(r.meta.cis_ids(cis)));
                        o.insert("cis_version".into(), serde_json::json!(cis));
                    }
                    v
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&metas).unwrap_or_default();
            s.push('\n');
            s
        }
        RulesFormat::Text => {
            // The CIS ids last: a few rules have many.
            let w = RULES.iter().map(|r| r.meta.id.len()).max().unwrap_or(0);
            let tw = RULES.iter().map(|r| r.meta.title.len()).max().unwrap_or(0);
            let mut s = format!(
                "{:<w$}  {:<8}  {:<4}  {:<tw$}  CIS {}\n",
                "RULE",
                "SEVERITY",
                "SEED",
                "TITLE",
                cis.full()
            );
            for r in RULES {
                let m = &r.meta;
                s.push_str(&format!(
                    "{:<w$}  {:<8}  {:<4}  {:<tw$}  {}\n",
                    m.id,
                    m.severity.as_str(),
                    m.seed_item
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "-".into()),
                    m.title,
                    cis_list(&m.cis_ids(cis))
                ));
            }
            s
        }
        RulesFormat::Markdown => {
            // The chosen version's ids, then the other versions'.
            let versions: Vec<rules::CisVersion> = std::iter::once(cis)
                .chain(rules::CisVersion::ALL.into_iter().filter(|v| *v != cis))
                .collect();
            let heads: String = versions
                .iter()
                .map(|v| format!(" CIS {} |", v.full()))
                .collect();
            let mut s = format!(
                "| id | severity | seed item |{heads} title | how it is decided |\n|---|---|---|{}---|---|\n",
                "---|".repeat(versions.len())
            );
            for r in RULES {
                let m = &r.meta;
                let ids: String = versions
                    .iter()
                    .map(|v| format!(" {} |", cis_list(&m.cis_ids(*v))))
                    .collect();
                s.push_str(&format!(
                    "| `{}` | {} | {} |{ids} {} | {} |\n",
                    m.id,
                    m.severity,
                    m.seed_item
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "-".into()),
                    m.title,
                    m.decided.replace('\n', " ").replace('|', "\\|")
                ));
            }
            s
        }
    }
}

/// `dockhard explain RULE`, with the CIS ids of `cis` (and those of the
/// other versions when they differ).
pub fn explain(r: &rules::Rule, cis: rules::CisVersion) -> String {
    let m = &r.meta;
    let ids = m.cis_ids(cis);
    let others: Vec<String> = rules::CisVersion::ALL
        .into_iter()
        .filter(|v| *v != cis && m.cis_ids(*v) != ids)
        .map(|v| format!("{}: {}", v.full(), cis_list(&m.cis_ids(v))))
        .collect();
    let others = if others.is_empty() {
        String::new()
    } else {
        format!(" ({})", others.join("; "))
    };
    format!(
        "{id}: {title}\n\nseverity: {sev}\nseed item: {seed}\nCIS Docker Benchmark {version}: {ids}{others}\n\nWhy it matters\n{rat}\n\nHow it is decided\n{dec}\n\nHow to fix it by hand\n{rem}\n",
        id = m.id,
        title = m.title,
        sev = m.severity,
        seed = m
            .seed_item
            .map(|i| i.to_string())
            .unwrap_or_else(|| "-".into()),
        version = cis.full(),
        ids = cis_list(&ids),
        rat = m.rationale,
        dec = m.decided,
        rem = m.remediation,
    )
}
