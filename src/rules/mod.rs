//! The rules. One folder per section (`daemon/`, `host/`, `files/`,
//! `images/`, `containers/`, `swarm/`), one file per rule: its metadata
//! ([`RuleMeta`]) beside its check. A rule's fix is said in the words of
//! [`remedy`]. [`RULES`] is the one list that drives `dockhard rules`,
//! `dockhard explain`, the rule table of docs/rules.md and the audit itself.
//!
//! A check is pure: it sees one [`Ctx`] (a daemon's model, one view of its
//! configuration, the snapshot) and returns an [`Outcome`]. Missing evidence
//! is never a pass: a check that cannot decide returns [`Status::Error`]
//! saying what is missing.

use crate::model::Evidence;
use crate::model::daemon::{DaemonModel, View};
pub use crate::model::objects::{Container, Image};
use crate::snapshot::Snapshot;
use serde::{Deserialize, Serialize};
use std::fmt;

pub use cis::CisVersion;

pub mod cis;
pub mod remedy;

mod containers;
mod daemon;
mod files;
mod host;
mod images;
mod swarm;
#[cfg(test)]
pub(crate) mod testing;

/// Every rule, in report order.
pub static RULES: &[Rule] = &[
    daemon::icc::RULE,
    daemon::remote_api_auth::RULE,
    daemon::userland_proxy::RULE,
    daemon::userns_remap::RULE,
    daemon::authorization_plugin::RULE,
    daemon::remote_logging::RULE,
    daemon::live_restore::RULE,
    daemon::remote_api_tls::RULE,
    daemon::experimental::RULE,
    daemon::config_valid::RULE,
    host::dedicated::RULE,
    // Section 1: the host (host.*).
    host::data_root_partition::RULE,
    host::docker_group::RULE,
    host::audit_rules::RULE,
    host::docker_version::RULE,
    // Section 2: the daemon (daemon.*), beyond the guide.
    daemon::rootless::RULE,
    daemon::log_level::RULE,
    daemon::iptables::RULE,
    daemon::insecure_registries::RULE,
    daemon::storage_driver_aufs::RULE,
    daemon::storage_driver_devicemapper::RULE,
    daemon::default_ulimits::RULE,
    daemon::cgroup_parent::RULE,
    daemon::base_device_size::RULE,
    daemon::no_new_privileges::RULE,
    daemon::seccomp_profile::RULE,
    // Section 3: files (files.*).
    files::docker_service::RULE,
    files::docker_socket_unit::RULE,
    files::etc_docker::RULE,
    files::certs_d::RULE,
    files::tls_ca::RULE,
    files::tls_cert::RULE,
    files::tls_key::RULE,
    files::engine_socket::RULE,
    files::daemon_json::RULE,
    files::etc_default_docker::RULE,
    files::etc_sysconfig_docker::RULE,
    files::containerd_socket::RULE,
    // Section 4: images (images.*).
    images::user::RULE,
    images::healthcheck::RULE,
    images::update_alone::RULE,
    images::add_instruction::RULE,
    // Section 5: containers (containers.*).
    containers::privileged::RULE,
    containers::apparmor::RULE,
    containers::selinux::RULE,
    containers::capabilities::RULE,
    containers::sensitive_mounts::RULE,
    containers::sshd::RULE,
    containers::privileged_ports::RULE,
    containers::needed_ports::RULE,
    containers::host_network::RULE,
    containers::memory_limit::RULE,
    containers::cpu_limit::RULE,
    containers::read_only_rootfs::RULE,
    containers::ports_all_interfaces::RULE,
    containers::restart_policy::RULE,
    containers::host_pid::RULE,
    containers::host_ipc::RULE,
    containers::host_devices::RULE,
    containers::ulimits::RULE,
    containers::mount_propagation::RULE,
    containers::host_uts::RULE,
    containers::seccomp::RULE,
    containers::cgroup_parent::RULE,
    containers::no_new_privileges::RULE,
    containers::health::RULE,
    containers::pids_limit::RULE,
    containers::default_bridge::RULE,
    containers::host_userns::RULE,
    containers::docker_sock::RULE,
    // Sections 6 and 7: operations and swarm (swarm.*).
    images::sprawl::RULE,
    containers::sprawl::RULE,
    swarm::mode::RULE,
    swarm::managers::RULE,
    swarm::overlay_encryption::RULE,
    swarm::autolock::RULE,
    swarm::cert_expiry::RULE,
    images::manual_review::RULE,
    swarm::manual_review::RULE,
];

/// Find a rule by id.
pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.meta.id == id)
}

/// A rule: what it is, and how it is decided.
pub struct Rule {
    pub meta: RuleMeta,
    pub check: Check,
    /// How `dockhard fix` fixes it (`None`: by hand only).
    pub fix: Option<remedy::FixFn>,
}

/// How a rule is decided, and over what.
#[derive(Clone, Copy)]
pub enum Check {
    /// One verdict per daemon, on one view of its configuration (the
    /// running one, the next start, a reload: drift compares them).
    Daemon(fn(&Ctx<'_>) -> Outcome),
    /// One verdict per container of a running daemon (all states).
    Container(fn(&Ctx<'_>, &Container) -> Outcome),
    /// One verdict per image of a running daemon.
    Image(fn(&Ctx<'_>, &Image) -> Outcome),
}

impl Check {
    /// What one verdict is about: `daemon`, `container` or `image`.
    pub fn scope(&self) -> &'static str {
        match self {
            Check::Daemon(_) => "daemon",
            Check::Container(_) => "container",
            Check::Image(_) => "image",
        }
    }
}

/// Rule sets for `--profile`. Each rule names the smallest profile it is
/// in: `seed` (the hardening guide) is in `cis` (every CIS item that can be
/// decided automatically), which is in `all` (also the items a person must
/// decide, listed as `manual` with what dockhard could see).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Seed,
    Cis,
    All,
}

impl Profile {
    pub const ALL: [Profile; 3] = [Profile::Seed, Profile::Cis, Profile::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Seed => "seed",
            Profile::Cis => "cis",
            Profile::All => "all",
        }
    }

    /// Does this profile run `rule`?
    pub fn includes(self, rule: &Rule) -> bool {
        rule.meta.profile <= self
    }

    /// The rules of this profile, in report order.
    pub fn rules(self) -> impl Iterator<Item = &'static Rule> {
        RULES.iter().filter(move |r| self.includes(r))
    }
}

/// A rule's documentation and classification. Everything a user reads about
/// a rule comes from here.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RuleMeta {
    /// Stable id, `area.name` (`daemon.icc`).
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// Item number in the hardening guide (`../shared/seed`), if any.
    pub seed_item: Option<u8>,
    /// The smallest `--profile` that runs it.
    pub profile: Profile,
    /// CIS Docker Benchmark v1.6.0 ids; an item a later version added
    /// (with no v1.6.0 id) is written `"1.8:2.7"` (the version that added
    /// it, its id there). Reports show [`RuleMeta::cis_ids`] of the chosen
    /// version, derived by [`cis::id`].
    pub cis: &'static [&'static str],
    /// Why it matters.
    pub rationale: &'static str,
    /// How dockhard decides, including which evidence wins.
    pub decided: &'static str,
    /// How to fix it by hand.
    pub remediation: &'static str,
}

impl RuleMeta {
    /// The CIS Docker Benchmark ids of this rule in `version` (none when
    /// the benchmark has no such item in that version).
    pub fn cis_ids(&self, version: CisVersion) -> Vec<String> {
        cis::ids(self.cis, version)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Manual,
    NotApplicable,
    /// Evidence is missing or unreadable: never a pass.
    Error,
    /// A failure covered by an unexpired waiver of the policy file.
    Waived,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Pass,
        Status::Fail,
        Status::Manual,
        Status::NotApplicable,
        Status::Error,
        Status::Waived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Manual => "manual",
            Status::NotApplicable => "not_applicable",
            Status::Error => "error",
            Status::Waived => "waived",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check sees.
pub struct Ctx<'a> {
    pub snap: &'a Snapshot,
    pub daemon: &'a DaemonModel,
    /// The configuration under judgement: the running daemon's, or the one
    /// the next start (or a reload) would use.
    pub view: &'a View,
}

/// What a check says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub status: Status,
    /// One sentence: the verdict and the deciding value.
    pub message: String,
    pub evidence: Vec<Evidence>,
    /// Things worth knowing that do not change the status (certificate
    /// expiring soon, duplicate keys, ...).
    pub warnings: Vec<String>,
}

impl Outcome {
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Outcome {
            status,
            message: message.into(),
            evidence: Vec::new(),
            warnings: Vec::new(),
        }
    }
    pub fn pass(message: impl Into<String>) -> Self {
        Self::new(Status::Pass, message)
    }
    pub fn fail(message: impl Into<String>) -> Self {
        Self::new(Status::Fail, message)
    }
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Status::Error, message)
    }
    pub fn manual(message: impl Into<String>) -> Self {
        Self::new(Status::Manual, message)
    }
    pub fn not_applicable(message: impl Into<String>) -> Self {
        Self::new(Status::NotApplicable, message)
    }
    pub fn with(mut self, e: Evidence) -> Self {
        self.evidence.push(e);
        self
    }
    pub fn with_all(mut self, e: impl IntoIterator<Item = Evidence>) -> Self {
        self.evidence.extend(e);
        self
    }
    pub fn with_warnings(mut self, w: impl IntoIterator<Item = String>) -> Self {
        self.warnings.extend(w);
        self
    }
    pub fn warn(mut self, w: impl Into<String>) -> Self {
        self.warnings.push(w.into());
        self
    }
}

/// The message of every rule that needs a configuration dockerd would
/// refuse. The audit says it once per daemon, never as per-rule drift.
pub(crate) const REFUSED: &str =
    "dockerd would not start with this configuration (see daemon.config-valid)";

/// Would dockerd refuse this view's configuration (the condition of
/// [`REFUSED`])? Never for the running view: it runs.
pub(crate) fn refused(view: &crate::model::daemon::View) -> bool {
    view.kind != crate::model::daemon::ViewKind::Running
        && view.config.as_ref().is_ok_and(|c| {
            !matches!(c.file_state, crate::model::config::FileState::Unreadable(_))
                && c.problems
                    .iter()
                    .any(|p| p.level == crate::model::ProblemLevel::Fatal)
        })
}

/// The configuration under judgement, or an `error` outcome saying why
/// there is none.
///
/// A daemon.json that could not be read is missing evidence. A configuration
/// dockerd would refuse (next start, reload) has no values to judge: the
/// verdict is `error`, and `daemon.config-valid` says why it would not start.
pub(crate) fn config<'a>(cx: &'a Ctx<'_>) -> Result<&'a crate::model::config::Effective, Outcome> {
    use crate::model::config::FileState;
    let cfg =
        cx.view.config.as_ref().map_err(|e| {
            Outcome::error(format!("the configuration could not be determined: {e}"))
        })?;
    if let FileState::Unreadable(why) = &cfg.file_state {
        return Err(
            Outcome::error(format!("{} could not be read: {why}", cfg.config_path.path))
                .with(cfg.config_path.evidence.clone()),
        );
    }
    if !is_running(cx) {
        if let Some(p) = cfg
            .problems
            .iter()
            .find(|p| p.level == crate::model::ProblemLevel::Fatal)
        {
            return Err(Outcome::error(REFUSED).with(p.evidence.clone()));
        }
    }
    Ok(cfg)
}

/// The containers or images of a daemon are unknown: `not_applicable`
/// where there are none to see (an offline root, no daemon running), else
/// `error`.
pub(crate) fn objects_unknown(cx: &Ctx<'_>, why: &str) -> Outcome {
    if cx.daemon.running.is_none() {
        Outcome::not_applicable(format!("{why}: nothing to count"))
    } else {
        Outcome::error(format!("unknown: {why}"))
    }
}

/// An always-`manual` verdict for a rule whose items are listed in its
/// `decided` text, with what dockhard could see. Only for items whose ids
/// are the same in every CIS version (sections 4, 6, 7): a check does not
/// know the version a report shows.
pub(crate) fn manual_items(rule: &RuleMeta, seen: Evidence) -> Outcome {
    Outcome::manual(format!(
        "review by hand: CIS {} (`dockhard explain {}` lists them)",
        rule.cis_ids(CisVersion::default()).join(", "),
        rule.id
    ))
    .with(seen)
}

/// Is this the running daemon's view?
pub(crate) fn is_running(cx: &Ctx<'_>) -> bool {
    cx.view.kind == crate::model::daemon::ViewKind::Running
}

/// A value judged from the daemon's own report when there is one, else
/// from the configuration. A value read from a daemon.json that changed
/// after the daemon started, with no live value to confirm it, is not
/// evidence of what runs: that is an `error`.
///
/// With a live value, the configuration's own answer is kept beside it as
/// provenance (where the value was set), and a disagreement is a warning.
pub(crate) fn live_or_config<T: Clone + PartialEq + std::fmt::Debug>(
    cx: &Ctx<'_>,
    live: Option<&(T, Evidence)>,
    from_config: impl FnOnce(&crate::model::config::Effective) -> (T, Evidence),
) -> Result<(T, Vec<Evidence>, Vec<String>), Outcome> {
    if let Some((v, e)) = live {
        let mut evidence = vec![e.clone()];
        let mut warnings = Vec::new();
        if let Ok(cfg) = cx.view.config.as_ref() {
            let (cv, ce) = from_config(cfg);
            if &cv != v {
                warnings.push(format!(
                    "the daemon reports {v:?} but its configuration says {cv:?} ({}: {})",
                    ce.location, ce.detail
                ));
            }
            evidence.push(ce);
        }
        return Ok((v.clone(), evidence, warnings));
    }
    let cfg = config(cx)?;
    let (v, e) = from_config(cfg);
    let mut warnings = Vec::new();
    if is_running(cx) {
        let why = cx
            .view
            .live
            .as_ref()
            .and_then(|l| l.api_error.clone())
            .unwrap_or_else(|| "the daemon does not report this value".into());
        if e.source == crate::model::Source::DaemonJson
            && cx.daemon.config_modified_after_start.is_some()
        {
            return Err(Outcome::error(format!(
                "{} changed after the daemon started and the live value is unknown ({why})",
                e.location
            ))
            .with(e));
        }
        if cx.view.live.as_ref().is_some_and(|l| l.api_error.is_some()) {
            warnings.push(format!("judged from the configuration: {why}"));
        }
    }
    Ok((v, vec![e], warnings))
}
