//! Collection: all of dockhard's I/O on the audited host, producing a
//! [`Snapshot`]. Read-only: it reads files and /proc, calls the Engine API
//! with GET requests, and probes the TCP listeners dockerd itself holds.

use crate::snapshot::Snapshot;
use std::path::PathBuf;
use std::time::Duration;

pub mod http;

/// What to audit.
#[derive(Debug, Clone)]
pub enum Target {
    /// Every running dockerd; the configuration on disk when none runs.
    Auto,
    /// This daemon only.
    Pid(u32),
    /// The configuration files under this directory as a host's `/`.
    Root(PathBuf),
}

#[derive(Debug, Clone)]
pub struct CollectOptions {
    pub target: Target,
    /// Engine API endpoint override (`unix:///path`, `tcp://h:p`, `https://h:p`).
    pub host: Option<String>,
    /// Timeout of each API call and probe step (at most 2 s for probes).
    pub timeout: Duration,
}

/// Why nothing could be audited.
#[derive(Debug)]
pub struct CollectError(pub String);

impl std::fmt::Display for CollectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CollectError {}

/// Gather the evidence.
pub fn collect(opts: &CollectOptions) -> Result<Snapshot, CollectError> {
    let _ = opts;
    todo!()
}
