//! The report: the single source every output format renders.
//! Its JSON form is versioned by [`REPORT_SCHEMA`] and documented in
//! `docs/report-format.md`.

use crate::model::Evidence;
use crate::rules::{Severity, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub mod fleet;
pub mod fleet_html;
pub mod html;
pub mod json;
pub mod junit;
#[cfg(test)]
pub mod sample;
pub mod sarif;
pub mod text;

/// The output formats; every one renders the same [`Report`]. Also the
/// values of `check --format` (the variants' docs are its help).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// SARIF 2.1.0 (code scanning).
    Sarif,
    /// JUnit XML (CI test reports).
    Junit,
    /// One self-contained HTML page.
    Html,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Html,
    ];

    /// The file `--output-dir` writes this format to.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Text => "dockhard.txt",
            Format::Json => "dockhard.json",
            Format::Sarif => "dockhard.sarif",
            Format::Junit => "dockhard.junit.xml",
            Format::Html => "dockhard.html",
        }
    }
}

/// Render the report; `color` only affects text.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::render(report, color),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
        Format::Html => html::render(report),
    }
}

pub const REPORT_SCHEMA: &str = "dockhard/report/v1.1";

/// A report schema this dockhard reads: `dockhard/report/v1` and its minor
/// versions (minor versions only add fields).
pub fn schema_supported(schema: &str) -> bool {
    schema == "dockhard/report/v1"
        || schema
            .strip_prefix("dockhard/report/v1.")
            .is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
}

/// The engine a daemon's verdicts are judged as (report v1.1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EngineReport {
    /// The release judged (`28.5.2`; `29.7.2` when assumed).
    pub version: String,
    /// `api`, `executable`, `package`, `option` or `assumed`.
    pub source: String,
    /// The text it was read from (`28.5.2+dfsg4`), when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// Where (`GET /version`, `/usr/sbin/dockerd`, `package docker.io in /var/lib/dpkg/status`).
    pub detail: String,
}

impl EngineReport {
    pub fn of(c: &crate::model::engine::EngineChoice) -> EngineReport {
        EngineReport {
            version: c.version.to_string(),
            source: c.source.as_str().to_string(),
            found: c.raw.clone(),
            detail: c.detail.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub schema: String,
    pub tool: ToolInfo,
    pub host: HostInfo,
    pub daemons: Vec<DaemonReport>,
    pub summary: Summary,
    /// The CIS Docker Benchmark version of every result's `cis` ids
    /// (`"1.6"`, `"1.8"`). Absent in reports of earlier dockhard releases,
    /// whose ids are v1.6.0's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cis_version: Option<crate::rules::CisVersion>,
}

impl Report {
    /// The CIS version of the results' ids (v1.6.0 for a report that does
    /// not say).
    pub fn cis_version(&self) -> crate::rules::CisVersion {
        self.cis_version.unwrap_or(crate::rules::CisVersion::V1_6)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HostInfo {
    pub hostname: Option<String>,
    pub kernel: Option<String>,
    /// `live`, `on_disk` or `root`.
    pub mode: String,
    pub root: Option<String>,
    pub collected_at: Option<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DaemonReport {
    pub pid: Option<u32>,
    pub version: Option<String>,
    pub endpoint: Option<String>,
    pub rootless: bool,
    /// What the verdicts are about: `running` or `next_start`.
    pub audited: String,
    pub config_file: Option<String>,
    /// The engine the running view is judged as (absent when none runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineReport>,
    /// The engine the next start is judged as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_start_engine: Option<EngineReport>,
    pub notes: Vec<String>,
    pub results: Vec<RuleResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RuleResult {
    pub rule: String,
    /// The container or image a per-object verdict is about (absent for
    /// daemon rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<crate::model::objects::Subject>,
    pub status: Status,
    pub severity: Severity,
    pub title: String,
    pub seed_item: Option<u8>,
    pub cis: Vec<String>,
    pub message: String,
    pub evidence: Vec<Evidence>,
    /// What changes at the next restart or reload, when the configuration on
    /// disk differs from the running one.
    pub drift: Option<String>,
    pub warnings: Vec<String>,
    pub remediation: String,
    /// The policy waiver that turned a `fail` into `waived` (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<AppliedWaiver>,
}

/// A waiver of the policy file, as applied to a result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AppliedWaiver {
    pub reason: String,
    pub owner: String,
    /// `YYYY-MM-DD`: the first day it no longer applies.
    pub expires: String,
}

impl AppliedWaiver {
    /// One line for people: `waived by OWNER until DATE: REASON`.
    pub fn describe(&self) -> String {
        format!(
            "waived by {} until {}: {}",
            self.owner, self.expires, self.reason
        )
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Results by status (`pass`, `fail`, ...), over all daemons.
    pub by_status: BTreeMap<String, usize>,
    /// Failures by severity.
    pub failed_by_severity: BTreeMap<String, usize>,
    pub daemons: usize,
}

impl Summary {
    pub fn of(daemons: &[DaemonReport]) -> Summary {
        let mut s = Summary {
            daemons: daemons.len(),
            ..Summary::default()
        };
        for st in Status::ALL {
            s.by_status.insert(st.as_str().to_string(), 0);
        }
        for r in daemons.iter().flat_map(|d| &d.results) {
            *s.by_status
                .entry(r.status.as_str().to_string())
                .or_default() += 1;
            if r.status == Status::Fail {
                *s.failed_by_severity
                    .entry(r.severity.as_str().to_string())
                    .or_default() += 1;
            }
        }
        s
    }
}
