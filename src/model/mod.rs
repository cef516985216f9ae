//! The model: dockerd's own semantics applied to a [`Snapshot`].
//!
//! Pure: nothing here touches the filesystem, network, environment or clock.
//! Everything it needs is in the snapshot; what it would like to see is said
//! by [`wanted_paths`], which `collect` uses to read more evidence.
//!
//! - [`config`]: argv + daemon.json -> effective configuration, exactly as
//!   dockerd 20.10 computes it, with provenance and start-failure problems.
//! - [`systemd`]: unit files, drop-ins, EnvironmentFiles and socket units ->
//!   the argv the next start of `docker.service` would use.
//! - [`daemon`]: one [`daemon::DaemonModel`] per audited daemon: the running
//!   view, the next-start view, live facts from the API and probes.

pub mod certs;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod files;
pub mod host;
pub mod objects;
pub mod systemd;

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a piece of evidence comes from. Serialized names are part of the
/// JSON report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The running daemon's command line (`/proc/PID/cmdline`).
    Argv,
    /// A daemon.json file.
    #[serde(rename = "daemon.json")]
    DaemonJson,
    /// A systemd unit file or drop-in.
    Unit,
    /// An EnvironmentFile (`/etc/default/docker`, `/etc/sysconfig/docker`).
    EnvFile,
    /// The daemon's Engine API.
    Api,
    /// A listening socket of the daemon (/proc).
    Socket,
    /// A probe of a listener made by dockhard.
    Probe,
    /// Another file (certificates, plugin sockets, ...).
    File,
    /// dockerd's built-in default.
    Default,
    /// The daemon process itself (/proc: uid, parent, environment).
    Process,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Argv => "argv",
            Source::DaemonJson => "daemon.json",
            Source::Unit => "unit",
            Source::EnvFile => "env-file",
            Source::Api => "api",
            Source::Socket => "socket",
            Source::Probe => "probe",
            Source::File => "file",
            Source::Default => "default",
            Source::Process => "process",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of evidence: where a value came from and what it said.
/// `location` is `path:line` for files, `argv[N]` for the command line,
/// an API path (`GET /info`) or an address for sockets and probes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub source: Source,
    pub location: String,
    pub detail: String,
}

impl Evidence {
    pub fn new(source: Source, location: impl Into<String>, detail: impl Into<String>) -> Self {
        Evidence {
            source,
            location: location.into(),
            detail: detail.into(),
        }
    }

    /// `path:line`
    pub fn at_line(source: Source, path: &str, line: usize, detail: impl Into<String>) -> Self {
        Evidence::new(source, format!("{path}:{line}"), detail)
    }
}

/// One word of a dockerd command line, with where it came from: `argv[N]` of
/// a running process, or the unit line / EnvironmentFile line that produced
/// it when the command line was resolved from systemd units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgWord {
    pub text: String,
    /// `Argv` (from /proc), `Unit` (literal in ExecStart) or `EnvFile`/`Unit`
    /// (expanded from `$VAR` defined by EnvironmentFile= / Environment=).
    pub source: Source,
    /// `argv[3]`, `/lib/systemd/system/docker.service:12`,
    /// `/etc/sysconfig/docker:2 ($OPTIONS)`.
    pub location: String,
}

impl ArgWord {
    /// Words of a process command line: `argv[0]`, `argv[1]`, ...
    pub fn from_argv(argv: &[String]) -> Vec<ArgWord> {
        argv.iter()
            .enumerate()
            .map(|(i, t)| ArgWord {
                text: t.clone(),
                source: Source::Argv,
                location: format!("argv[{i}]"),
            })
            .collect()
    }
}

/// A problem in the configuration: a start failure (dockerd would refuse to
/// start, or a setting is not applied) or a warning (accepted by dockerd but
/// worth knowing, such as a duplicate key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub level: ProblemLevel,
    /// What is wrong, naming the flag or key at fault.
    pub message: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ProblemLevel {
    /// dockerd does not start with this (or, on reload, rejects it).
    Fatal,
    /// dockerd accepts it, but it is surprising or risky.
    Warning,
}

/// A path the model wants `collect` to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Want {
    /// Read the content (bounded) and metadata.
    File(String),
    /// Metadata only: never the content (private keys, sockets).
    Meta(String),
    /// List the directory's entries.
    Dir(String),
}

/// Everything the model would like to see, given what the snapshot already
/// holds. `collect` reads what is missing and asks again until nothing new is
/// wanted.
pub fn wanted_paths(snap: &crate::snapshot::Snapshot) -> Vec<Want> {
    let mut out = systemd::wanted(snap);
    out.extend(daemon::wanted(snap));
    out.extend(files::wanted(snap));
    out.extend(host::wanted(snap));
    out.sort();
    out.dedup();
    out
}
