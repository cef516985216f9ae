//! One audited daemon: its running configuration, what the next start (or a
//! SIGHUP) would use, and the live facts from its API and sockets.

use super::config::{Effective, Listener};
use super::systemd::ServiceResolution;
use super::{Evidence, Want};
use crate::snapshot::{DaemonEvidence, ProbeEvidence, Snapshot, SocketAddrText};
use serde::Serialize;

/// Which configuration a [`View`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewKind {
    /// The running daemon (argv from /proc, live values from the API).
    Running,
    /// What the next start would run with (units and files on disk).
    NextStart,
    /// What a SIGHUP would change (reloadable keys from the file on disk).
    Reload,
}

/// One configuration of a daemon, as the rules judge it.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub kind: ViewKind,
    /// The effective configuration, or why it could not be computed
    /// (evidence missing).
    pub config: Result<Effective, String>,
    /// Live facts: only in the running view.
    pub live: Option<LiveFacts>,
    /// TCP listeners: the sockets the daemon holds (running), or those the
    /// configuration asks for (next start), after socket activation.
    pub tcp: Vec<TcpListener>,
}

/// A TCP listener with how it is known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TcpListener {
    pub addr: String,
    pub port: u16,
    pub evidence: Evidence,
    /// The probe of this listener, in the running view.
    pub probe: Option<ProbeEvidence>,
}

/// Values the daemon itself reports (the final word where present).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveFacts {
    /// Why the API could not be used, if it could not.
    pub api_error: Option<String>,
    pub version: Option<String>,
    /// `/networks/bridge` option `com.docker.network.bridge.enable_icc`.
    pub icc: Option<(bool, Evidence)>,
    pub logging_driver: Option<(String, Evidence)>,
    pub live_restore: Option<(bool, Evidence)>,
    pub experimental: Option<(bool, Evidence)>,
    /// `/info` SecurityOptions entries (`name=userns`, `name=rootless`, ...).
    pub security_options: Option<(Vec<String>, Evidence)>,
    pub authorization_plugins: Option<(Vec<String>, Evidence)>,
    /// `/info` Swarm.LocalNodeState (`inactive`, `active`, ...).
    pub swarm_state: Option<(String, Evidence)>,
    /// `/info` Warnings.
    pub warnings: Vec<String>,
}

/// One audited daemon.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonModel {
    /// None when auditing the configuration on disk (no running daemon).
    pub pid: Option<u32>,
    pub version: Option<String>,
    pub endpoint: Option<String>,
    pub rootless: bool,
    pub rootless_evidence: Vec<Evidence>,
    /// The running daemon's configuration (None when none runs).
    pub running: Option<View>,
    /// What the next start would use.
    pub next_start: View,
    /// What a SIGHUP would change (running daemons only).
    pub reload: Option<View>,
    /// The systemd service that starts it, when known.
    pub service: Option<ServiceResolution>,
    /// daemon.json changed after the daemon started.
    pub config_modified_after_start: Option<Evidence>,
    /// Things the user should know about how this daemon was modelled.
    pub notes: Vec<String>,
}

/// Build the model of every audited daemon: one per running dockerd, or one
/// for the configuration on disk when none runs (and for `--root`).
pub fn build(snap: &Snapshot) -> Vec<DaemonModel> {
    let _ = snap;
    todo!()
}

/// The daemon.json, TLS files and plugin sockets the model needs.
pub fn wanted(snap: &Snapshot) -> Vec<Want> {
    let _ = snap;
    Vec::new()
}

#[allow(dead_code)]
fn _uses(_: &DaemonEvidence, _: &SocketAddrText, _: &Listener) {}
