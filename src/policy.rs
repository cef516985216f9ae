//! The policy file (`--policy FILE`, TOML): profile, rules enabled and
//! disabled, severity overrides, the failure threshold, waivers and
//! exclusions. Pure: the CLI reads the file, [`parse`] turns its text into a
//! [`Policy`], and the audit applies it ([`Policy::rules`] chooses the
//! rules, [`Policy::apply`] adjusts each result).
//!
//! Every mistake in the file is an error naming the file, line and column:
//! unknown keys (`deny_unknown_fields`), values of the wrong type or out of
//! range, rule ids that name no rule, empty patterns. Rule ids and patterns
//! are kept with their spans ([`toml::Spanned`]) so that the checks made
//! after parsing still point at the line.
//!
//! Waivers: a `fail` result of the waiver's rule (and, when given, of a
//! container whose name and an image whose name match the patterns) becomes
//! `waived` while the waiver runs, judged against the collection time of the
//! snapshot, never the clock. A waiver expires at the start of its
//! `expires` date (UTC): `expires = 2027-01-31` covers results collected up
//! to 2027-01-30 23:59:59 UTC. An expired waiver leaves the result `fail`
//! with a warning; so does any waiver when the collection time is unknown.

use crate::model::objects::{Exclusions, glob};
use crate::report::{AppliedWaiver, RuleResult};
use crate::rules::{Check, CisVersion, Profile, RULES, Rule, Severity, Status};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;
use toml::value::Datetime;

/// Where dockhard looks for a policy when `--policy` is not given (on the
/// machine running dockhard, also with `--root`).
pub const DEFAULT_PATH: &str = "/etc/dockhard/policy.toml";

/// A parsed, checked policy. The default is the empty policy (no change).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    /// `profile`: used when `--profile` is not given.
    pub profile: Option<Profile>,
    /// `fail_on`: used when `--fail-on` is not given.
    pub fail_on: Option<Severity>,
    /// `cis_version`: the CIS Docker Benchmark ids reported, when
    /// `--cis-version` is not given.
    pub cis_version: Option<CisVersion>,
    /// `[rules] enable`: rule ids or prefixes (`containers.`) run beyond the profile.
    pub enable: Vec<String>,
    /// `[rules] disable`: rule ids or prefixes not run.
    pub disable: Vec<String>,
    /// `[severity]`: rule id or prefix -> severity (the longest match wins).
    pub severity: Vec<(String, Severity)>,
    pub waivers: Vec<Waiver>,
    /// `[exclude]`: merged with `--exclude-container` and `--exclude-label`.
    pub exclude: Exclusions,
}

/// One `[[waiver]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    /// A rule id (not a prefix).
    pub rule: String,
    /// Glob over the container's name.
    pub container: Option<String>,
    /// Glob over the image: the container's image as created, or an image's
    /// first tag.
    pub image: Option<String>,
    pub reason: String,
    pub owner: String,
    /// The first day (UTC) the waiver no longer applies.
    pub expires: Date,
}

/// A calendar date (TOML local date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// The UTC date of a Unix time.
    pub fn of_unix(secs: i64) -> Date {
        let (year, month, day, ..) = crate::timefmt::civil(secs);
        Date { year, month, day }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

// ---------------------------------------------------------------------------
// The file as written
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    profile: Option<Profile>,
    fail_on: Option<Severity>,
    cis_version: Option<Spanned<toml::Value>>,
    #[serde(default)]
    rules: RawRules,
    #[serde(default)]
    severity: BTreeMap<Spanned<String>, Severity>,
    #[serde(default)]
    waiver: Vec<RawWaiver>,
    #[serde(default)]
    exclude: RawExclude,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    enable: Vec<Spanned<String>>,
    #[serde(default)]
    disable: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    rule: Spanned<String>,
    container: Option<Spanned<String>>,
    image: Option<Spanned<String>>,
    reason: Spanned<String>,
    owner: Spanned<String>,
    expires: Spanned<Datetime>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawExclude {
    #[serde(default)]
    containers: Vec<Spanned<String>>,
    #[serde(default)]
    images: Vec<Spanned<String>>,
    #[serde(default)]
    labels: Vec<Spanned<String>>,
}

/// A mistake in the policy file, at a byte range of its text.
struct Bad {
    span: Option<std::ops::Range<usize>>,
    message: String,
}

fn bad<T>(s: &Spanned<T>, message: impl Into<String>) -> Bad {
    Bad {
        span: Some(s.span()),
        message: message.into(),
    }
}

/// `NAME:LINE:COLUMN: message` (1-based, columns in characters).
fn located(name: &str, text: &str, b: &Bad) -> String {
    let Some(span) = &b.span else {
        return format!("{name}: {}", b.message);
    };
    let mut start = span.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{name}:{line}:{column}: {}", b.message)
}

/// Parse and check a policy file's text; `name` (the file's path) is named
/// in every error, with the line and column.
pub fn parse(name: &str, text: &str) -> Result<Policy, String> {
    let raw: RawPolicy = toml::from_str(text).map_err(|e| {
        let mut message = e.message().trim_end().to_string();
        if message.starts_with("invalid type: string") && message.ends_with("a TOML datetime") {
            message.push_str(" (write the date unquoted: expires = 2027-01-31)");
        }
        located(
            name,
            text,
            &Bad {
                span: e.span(),
                message,
            },
        )
    })?;
    check(raw).map_err(|b| located(name, text, &b))
}

fn check(raw: RawPolicy) -> Result<Policy, Bad> {
    let selectors = |v: Vec<Spanned<String>>| -> Result<Vec<String>, Bad> {
        v.into_iter()
            .map(|s| selector(&s).map(|_| s.into_inner()))
            .collect()
    };
    let enable = selectors(raw.rules.enable)?;
    let disable = selectors(raw.rules.disable)?;
    let mut severity = Vec::new();
    for (k, v) in raw.severity {
        selector(&k)?;
        severity.push((k.into_inner(), v));
    }
    let mut waivers = Vec::new();
    for w in raw.waiver {
        waivers.push(waiver(w)?);
    }
    let patterns = |v: Vec<Spanned<String>>| -> Result<Vec<String>, Bad> {
        v.into_iter()
            .map(|s| pattern(&s).map(|_| s.into_inner()))
            .collect()
    };
    let mut labels = Vec::new();
    for l in raw.exclude.labels {
        let key = l
            .get_ref()
            .split_once('=')
            .map_or(l.get_ref().as_str(), |(k, _)| k);
        if key.trim().is_empty() {
            return Err(bad(&l, "a label is `KEY` or `KEY=VALUE`, with a key"));
        }
        no_controls(&l)?;
        labels.push(l.into_inner());
    }
    let cis_version = raw.cis_version.as_ref().map(cis_version).transpose()?;
    Ok(Policy {
        profile: raw.profile,
        fail_on: raw.fail_on,
        cis_version,
        enable,
        disable,
        severity,
        waivers,
        exclude: Exclusions {
            names: patterns(raw.exclude.containers)?,
            images: patterns(raw.exclude.images)?,
            labels,
        },
    })
}

/// `cis_version = "1.6"` or `"1.8"`.
fn cis_version(v: &Spanned<toml::Value>) -> Result<CisVersion, Bad> {
    let expected = "expected \"1.6\" or \"1.8\" (CIS Docker Benchmark v1.6.0 or v1.8.0)";
    match v.get_ref() {
        toml::Value::String(s) => CisVersion::parse(s).ok_or_else(|| {
            bad(
                v,
                format!("unknown `cis_version` \"{}\": {expected}", s.escape_debug()),
            )
        }),
        other => Err(bad(
            v,
            format!(
                "`cis_version` is a {}, not a string: {expected}",
                other.type_str()
            ),
        )),
    }
}

/// A rule id, or a prefix ending in `.` of at least one rule id.
fn selector(s: &Spanned<String>) -> Result<(), Bad> {
    let id = s.get_ref();
    let known = crate::rules::find(id).is_some()
        || (id.ends_with('.') && RULES.iter().any(|r| r.meta.id.starts_with(id.as_str())));
    if known {
        Ok(())
    } else {
        Err(bad(s, unknown_rule(id)))
    }
}

fn unknown_rule(id: &str) -> String {
    format!(
        "unknown rule `{}`: not a rule id, nor a prefix of one ending in `.` such as `containers.` (see `dockhard rules`)",
        id.escape_debug()
    )
}

fn no_controls(s: &Spanned<String>) -> Result<(), Bad> {
    if s.get_ref().chars().any(char::is_control) {
        Err(bad(s, "control characters are not allowed"))
    } else {
        Ok(())
    }
}

fn pattern(s: &Spanned<String>) -> Result<(), Bad> {
    if s.get_ref().trim().is_empty() {
        return Err(bad(s, "empty pattern (`*` matches everything)"));
    }
    no_controls(s)
}

fn text_field(s: &Spanned<String>, key: &str) -> Result<(), Bad> {
    if s.get_ref().trim().is_empty() {
        return Err(bad(s, format!("`{key}` must not be empty")));
    }
    Ok(())
}

fn waiver(w: RawWaiver) -> Result<Waiver, Bad> {
    let id = w.rule.get_ref();
    let rule = crate::rules::find(id).ok_or_else(|| {
        if id.ends_with('.') && RULES.iter().any(|r| r.meta.id.starts_with(id.as_str())) {
            bad(
                &w.rule,
                format!(
                    "a waiver names one rule id, not a prefix (`{}`)",
                    id.escape_debug()
                ),
            )
        } else {
            bad(&w.rule, unknown_rule(id))
        }
    })?;
    let scope = rule.check.scope();
    if let Some(c) = &w.container {
        pattern(c)?;
        if !matches!(rule.check, Check::Container(_)) {
            return Err(bad(
                c,
                format!(
                    "`container` is set but `{}` is {} rule, not a container rule",
                    rule.meta.id,
                    if scope == "image" {
                        "an image"
                    } else {
                        "a daemon"
                    }
                ),
            ));
        }
    }
    if let Some(i) = &w.image {
        pattern(i)?;
        if matches!(rule.check, Check::Daemon(_)) {
            return Err(bad(
                i,
                format!(
                    "`image` is set but `{}` is a daemon rule, not a container or image rule",
                    rule.meta.id
                ),
            ));
        }
    }
    text_field(&w.reason, "reason")?;
    text_field(&w.owner, "owner")?;
    let expires = match w.expires.get_ref() {
        Datetime {
            date: Some(d),
            time: None,
            offset: None,
        } => Date {
            year: i64::from(d.year),
            month: u32::from(d.month),
            day: u32::from(d.day),
        },
        _ => {
            return Err(bad(
                &w.expires,
                "`expires` is a date (YYYY-MM-DD), without a time",
            ));
        }
    };
    Ok(Waiver {
        rule: rule.meta.id.to_string(),
        container: w.container.map(Spanned::into_inner),
        image: w.image.map(Spanned::into_inner),
        reason: w.reason.into_inner(),
        owner: w.owner.into_inner(),
        expires,
    })
}

// ---------------------------------------------------------------------------
// Applying it
// ---------------------------------------------------------------------------

/// How well `sel` names rule `id`: an exact id beats any prefix, a longer
/// prefix beats a shorter one.
fn score(sel: &str, id: &str) -> Option<usize> {
    if sel == id {
        Some(usize::MAX)
    } else if sel.ends_with('.') && id.starts_with(sel) {
        Some(sel.len())
    } else {
        None
    }
}

fn best<'a>(sels: impl Iterator<Item = &'a str>, id: &str) -> Option<usize> {
    sels.filter_map(|s| score(s, id)).max()
}

impl Policy {
    /// Does the audit run `rule` with this profile? The most specific of
    /// `enable` and `disable` that names it decides (`disable` on a tie);
    /// without either, the profile.
    pub fn selects(&self, profile: Profile, rule: &Rule) -> bool {
        let id = rule.meta.id;
        let on = best(self.enable.iter().map(String::as_str), id);
        let off = best(self.disable.iter().map(String::as_str), id);
        match (on, off) {
            (None, None) => profile.includes(rule),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(on), Some(off)) => on > off,
        }
    }

    /// The rules the audit runs, in report order.
    pub fn rules(&self, profile: Profile) -> impl Iterator<Item = &'static Rule> + '_ {
        RULES.iter().filter(move |r| self.selects(profile, r))
    }

    /// The severity `[severity]` gives rule `id`, if any (longest match).
    pub fn severity_of(&self, id: &str) -> Option<Severity> {
        self.severity
            .iter()
            .filter_map(|(sel, sev)| score(sel, id).map(|s| (s, *sev)))
            .max_by_key(|(s, _)| *s)
            .map(|(_, sev)| sev)
    }

    /// Apply the severity overrides and the waivers to one result.
    /// `collected_unix` is the snapshot's collection time: waivers are
    /// judged against it, and without it none applies.
    pub fn apply(&self, r: &mut RuleResult, collected_unix: Option<i64>) {
        if let Some(sev) = self.severity_of(&r.rule) {
            r.severity = sev;
        }
        if r.status != Status::Fail {
            return;
        }
        let today = collected_unix.map(Date::of_unix);
        let mut warnings = Vec::new();
        for w in self.waivers.iter().filter(|w| w.covers(r)) {
            match today {
                Some(t) if t < w.expires => {
                    r.status = Status::Waived;
                    r.waiver = Some(AppliedWaiver {
                        reason: w.reason.clone(),
                        owner: w.owner.clone(),
                        expires: w.expires.to_string(),
                    });
                    return;
                }
                Some(_) => warnings.push(format!(
                    "waiver expired on {} (owner: {})",
                    w.expires, w.owner
                )),
                None => warnings.push(format!(
                    "waiver not applied: the collection time is unknown, so its expiry ({}, owner: {}) cannot be checked",
                    w.expires, w.owner
                )),
            }
        }
        r.warnings.extend(warnings);
    }
}

impl Waiver {
    /// Is `r` a result this waiver is about (whatever its status)?
    pub fn covers(&self, r: &RuleResult) -> bool {
        if r.rule != self.rule {
            return false;
        }
        let subject = r.subject.as_ref();
        if let Some(p) = &self.container {
            if !subject.is_some_and(|s| s.kind == "container" && glob(p, &s.name)) {
                return false;
            }
        }
        if let Some(p) = &self.image {
            let image = subject.and_then(|s| match s.kind.as_str() {
                "container" => s.image.as_deref(),
                "image" => Some(s.name.as_str()),
                _ => None,
            });
            if !image.is_some_and(|i| glob(p, i)) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests;
