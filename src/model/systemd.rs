//! systemd semantics for docker.service and docker.socket: unit search
//! paths, drop-ins, ExecStart, Environment=, EnvironmentFile= and variable
//! expansion, producing the argv the next start would use, each word with
//! the file and line it came from.

use super::{ArgWord, Evidence, Problem, Want};
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::collections::BTreeMap;

/// System unit search path, highest priority first.
pub const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// The resolved service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceResolution {
    pub name: String,
    /// The unit file in force (the highest-priority one), `None` if not found.
    pub unit_path: Option<String>,
    /// Drop-ins applied, in order.
    pub dropins: Vec<String>,
    /// The command line ExecStart= runs, after expansion; `None` if there is
    /// no ExecStart (or the unit is missing).
    pub exec_start: Option<Vec<ArgWord>>,
    /// Environment= and EnvironmentFile= variables, with where each was set.
    pub environment: BTreeMap<String, (String, Evidence)>,
    /// docker.socket (or the socket named by Sockets=/the same name).
    pub socket: Option<SocketResolution>,
    /// Problems in the units (multiple ExecStart=, missing non-optional
    /// EnvironmentFile, unparsable lines), with file and line.
    pub problems: Vec<Problem>,
    /// Evidence that could not be read (unreadable unit or env file): the
    /// resolution is incomplete and rules depending on it must say `error`.
    pub evidence_errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SocketResolution {
    pub unit_path: String,
    pub dropins: Vec<String>,
    /// ListenStream= values after resets (`ListenStream=` empty clears).
    pub listen_streams: Vec<(String, Evidence)>,
}

/// Resolve `name` (e.g. `docker.service`) from the unit files in the snapshot.
pub fn resolve(snap: &Snapshot, name: &str) -> ServiceResolution {
    let _ = (snap, name);
    todo!()
}

/// The unit files, drop-in directories and EnvironmentFiles the model needs
/// to resolve docker.service and docker.socket.
pub fn wanted(snap: &Snapshot) -> Vec<Want> {
    let _ = snap;
    Vec::new()
}
