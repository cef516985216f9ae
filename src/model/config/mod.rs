//! dockerd's configuration semantics (20.10, with version differences where
//! they matter): command-line flags, daemon.json, and how the two combine into
//! the effective configuration, with provenance for every value and the
//! problems that make dockerd refuse to start.
//!
//! Entry points: [`config_file_path`] (which daemon.json the daemon reads) and
//! [`compute`] (argv + that file -> [`Effective`]).

use super::{ArgWord, Evidence, Problem, Source};
use crate::snapshot::FileEvidence;
use serde::Serialize;
use std::collections::BTreeMap;

/// What [`compute`] needs.
#[derive(Debug, Clone)]
pub struct ConfigInput<'a> {
    /// The full command line including argv[0] (the program).
    pub argv: &'a [ArgWord],
    /// Evidence for the daemon.json named by [`config_file_path`]; `None`
    /// when it was not collected at all (then it is an evidence error).
    pub config_file: Option<&'a FileEvidence>,
    /// The daemon's environment (HOME, DOCKER_CERT_PATH, XDG_*, ...).
    pub env: &'a BTreeMap<String, String>,
    /// The daemon runs rootless (changes default paths).
    pub rootless: bool,
    /// dockerd version (`20.10.24`), when known; `None` means 20.10.
    pub version: Option<&'a str>,
}

/// Which daemon.json the daemon reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigPath {
    pub path: String,
    /// Given by `--config-file` (a missing file is then a start failure).
    pub explicit: bool,
    pub evidence: Evidence,
}

/// A typed configuration value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    List(Vec<String>),
    Map(BTreeMap<String, String>),
    /// Structured values kept as JSON (default-ulimits, runtimes, ...).
    Json(serde_json::Value),
    /// `null` in daemon.json: unset, but the key still counts for conflicts.
    Null,
}

/// One explicitly set option.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    pub value: Value,
    /// Where it was set. For scalars the winning occurrence comes first, then
    /// the overridden ones; for lists and maps one entry per contribution.
    pub evidence: Vec<Evidence>,
}

/// A listener dockerd would open for one `-H`/`hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Listener {
    /// `addr` is the bind address as dockerd resolves it (`127.0.0.1` for
    /// `:2375`, `0.0.0.0` for `0.0.0.0:2375`).
    Tcp {
        addr: String,
        port: u16,
        spec: String,
        evidence: Evidence,
    },
    Unix {
        path: String,
        spec: String,
        evidence: Evidence,
    },
    /// `fd://` or `fd://NAME`: sockets passed by systemd socket activation.
    Fd {
        name: Option<String>,
        spec: String,
        evidence: Evidence,
    },
}

/// TLS as dockerd decides it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsSettings {
    /// TLS is on (`--tls`, any `--tlsverify`, `"tls": true`, a `"tlsverify"` key).
    pub enabled: bool,
    /// Clients must present a certificate signed by the CA (true unless
    /// tlsverify is explicitly false).
    pub verify_clients: bool,
    /// Effective CA, certificate and key paths with where each came from
    /// (flag, file, or the default directory).
    pub ca: Option<(String, Evidence)>,
    pub cert: Option<(String, Evidence)>,
    pub key: Option<(String, Evidence)>,
    /// The settings that decided `enabled` and `verify_clients`.
    pub evidence: Vec<Evidence>,
}

/// State of the daemon.json that was (or was not) read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Read and parsed (possibly with problems).
    Loaded,
    /// Absent at the default path: fine, dockerd ignores it.
    AbsentDefault,
    /// Absent but given by --config-file: start failure (also in `problems`).
    AbsentExplicit,
    /// Could not be read: evidence is missing (the reason).
    Unreadable(String),
    /// Not collected at all.
    NotCollected,
}

/// The effective configuration of one daemon (or of its next start).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effective {
    pub config_path: ConfigPath,
    pub file_state: FileState,
    /// Explicitly set options, by daemon.json key (`icc`, `hosts`,
    /// `authorization-plugins`, `log-opts`, `tlsverify`, ...).
    pub settings: BTreeMap<String, Setting>,
    /// Start failures and warnings, each naming the flag or key and location.
    pub problems: Vec<Problem>,
}

impl Effective {
    /// The option as set, by daemon.json key; `None` when it is not set.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.get(key)
    }

    /// Effective boolean (dockerd's default when unset, with a `default`
    /// evidence entry).
    pub fn bool(&self, key: &str) -> (bool, Evidence) {
        todo!("{key}")
    }

    /// Effective string (default when unset; `None` when there is no default).
    pub fn string(&self, key: &str) -> (Option<String>, Evidence) {
        todo!("{key}")
    }

    /// Effective list entries with their evidence (empty when unset).
    pub fn list(&self, key: &str) -> Vec<(String, Evidence)> {
        todo!("{key}")
    }

    /// Effective map entries with their evidence (empty when unset).
    pub fn map(&self, key: &str) -> BTreeMap<String, (String, Evidence)> {
        todo!("{key}")
    }

    /// The listeners dockerd opens, after its defaults (no -H: the default
    /// unix socket; TLS on and no -H: tcp://localhost:2376).
    pub fn listeners(&self) -> Vec<Listener> {
        todo!()
    }

    /// TLS as dockerd decides it, with default certificate paths resolved
    /// from the daemon's environment.
    pub fn tls(&self) -> TlsSettings {
        todo!()
    }

    /// True when at least one problem would stop dockerd from starting.
    pub fn has_fatal(&self) -> bool {
        self.problems
            .iter()
            .any(|p| p.level == super::ProblemLevel::Fatal)
    }
}

/// Which daemon.json the daemon reads: `--config-file` (either form, last
/// wins), else `/etc/docker/daemon.json`, or for a rootless daemon
/// `$XDG_CONFIG_HOME/docker/daemon.json` (`~/.config/docker/daemon.json`).
pub fn config_file_path(
    argv: &[ArgWord],
    env: &BTreeMap<String, String>,
    rootless: bool,
) -> ConfigPath {
    let _ = (argv, env, rootless, Source::Default);
    todo!()
}

/// argv + daemon.json -> effective configuration, as dockerd computes it.
pub fn compute(input: &ConfigInput<'_>) -> Effective {
    let _ = input;
    todo!()
}

/// What a SIGHUP would make of `running`: the reloadable keys re-read from
/// `new_file` (only the file is re-read; flags stay), everything else
/// unchanged. An invalid file on reload leaves the configuration unchanged
/// (with a problem saying so).
pub fn reload(running: &Effective, input: &ConfigInput<'_>, new_file: &FileEvidence) -> Effective {
    let _ = (running, input, new_file);
    todo!()
}

/// Names of options a SIGHUP reloads (daemon.json keys).
pub fn is_reloadable(key: &str) -> bool {
    let _ = key;
    todo!()
}
