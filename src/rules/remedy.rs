//! The remedy vocabulary: what a rule's fix asks for, in daemon.json
//! terms ([`FixSpec`]). Pure, and below the rules: rules name their fix in
//! these words, and `dockhard fix` (the `fix` command layer, above the
//! audit) plans and writes it.
//!
//! A rule's `fix` function sees a [`FixCx`] (the daemon's model, the
//! configuration of its next start, the snapshot, the user's inputs) and
//! returns the option changes that make it pass, with the hazards found.
//! Where each change is written (daemon.json, a drop-in, the unit, an
//! EnvironmentFile) is decided by the fix planner (`fix::plan`), not by the rule.

use crate::model::config::Effective;
use crate::model::daemon::DaemonModel;
use crate::snapshot::Snapshot;
use serde::Serialize;

/// Values given on the command line of `dockhard fix`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixInputs {
    /// `--authz-plugin NAME`
    pub authz_plugin: Option<String>,
    /// `--tls-ca`, `--tls-cert`, `--tls-key` (host paths).
    pub tls_ca: Option<String>,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    /// `--syslog-address URL`
    pub syslog_address: Option<String>,
    /// `--userns-remap default|USER[:GROUP]`
    pub userns_remap: Option<String>,
}

/// What a fix function sees.
pub struct FixCx<'a> {
    pub snap: &'a Snapshot,
    pub daemon: &'a DaemonModel,
    /// The configuration the next start would use (what the fix edits).
    pub next: &'a Effective,
    pub inputs: &'a FixInputs,
}

/// One option change, by daemon.json key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// Set a scalar key (`"icc": false`).
    Set {
        key: String,
        value: serde_json::Value,
    },
    /// Add one item to a list key (`authorization-plugins`).
    AddToList { key: String, item: String },
    /// Set one entry of a map key (`log-opts`.`syslog-address`).
    SetMapKey {
        key: String,
        inner: String,
        value: String,
    },
    /// Remove one entry of a map key.
    RemoveMapKey { key: String, inner: String },
    /// Remove a key (back to dockerd's default).
    Unset { key: String },
}

impl Change {
    /// The daemon.json key changed.
    pub fn key(&self) -> &str {
        match self {
            Change::Set { key, .. }
            | Change::AddToList { key, .. }
            | Change::SetMapKey { key, .. }
            | Change::RemoveMapKey { key, .. }
            | Change::Unset { key } => key,
        }
    }

    /// A SIGHUP of `engine` applies it.
    pub fn reloadable(&self, engine: &crate::model::engine::Engine) -> bool {
        crate::model::config::is_reloadable(engine, self.key())
    }

    /// `icc=false`, `+authorization-plugins=authz`, `log-opts.max-size` removed.
    pub fn describe(&self) -> String {
        match self {
            Change::Set { key, value } => format!("{key}={value}"),
            Change::AddToList { key, item } => format!("{key} += {item:?}"),
            Change::SetMapKey { key, inner, value } => format!("{key}.{inner}={value:?}"),
            Change::RemoveMapKey { key, inner } => format!("remove {key}.{inner}"),
            Change::Unset { key } => format!("remove {key}"),
        }
    }
}

/// Something that can go wrong if the change is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hazard {
    pub message: String,
    /// The fix is refused unless `--force`.
    pub blocking: bool,
}

impl Hazard {
    pub fn blocking(message: impl Into<String>) -> Self {
        Hazard {
            message: message.into(),
            blocking: true,
        }
    }
    pub fn warning(message: impl Into<String>) -> Self {
        Hazard {
            message: message.into(),
            blocking: false,
        }
    }
}

/// A rule's fix.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FixSpec {
    pub changes: Vec<Change>,
    pub hazards: Vec<Hazard>,
}

impl FixSpec {
    pub fn set(key: &str, value: serde_json::Value) -> Self {
        FixSpec {
            changes: vec![Change::Set {
                key: key.to_string(),
                value,
            }],
            hazards: Vec::new(),
        }
    }
}

/// A fix function: the changes, or why the rule cannot be fixed here
/// (`needs --authz-plugin NAME`).
pub type FixFn = fn(&FixCx<'_>) -> Result<FixSpec, String>;

/// Is a file present (any kind) in the snapshot?
pub fn exists(snap: &Snapshot, path: &str) -> bool {
    snap.file(path)
        .is_some_and(|f| !f.missing && (f.meta.is_some() || f.text.is_some()))
}
