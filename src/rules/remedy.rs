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
//!
//! The file rules (CIS section 3) ask for owner and mode changes instead
//! ([`PermChange`]): made in place, never through a symbolic link, and
//! needing no restart.

use crate::model::config::Effective;
use crate::model::daemon::{DaemonModel, View};
use crate::snapshot::{FileKind, Snapshot};
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
    /// The view the plan judged the rule on (the running daemon's, else
    /// the next start's): the files a file rule names.
    pub view: &'a View,
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

/// An owner and mode change of one file, in place (`chown`/`chmod`
/// without following a link). `old_*` is what the snapshot recorded (the
/// change is refused when the file no longer is so); the new mode is the old
/// one with bits removed, never added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermChange {
    /// Host path.
    pub path: String,
    /// `daemon.json`, `unit`, `drop-in`, `socket`, ...
    pub role: String,
    pub kind: FileKind,
    /// Device and inode at collection (`None` in older snapshots).
    pub dev: Option<u64>,
    pub ino: Option<u64>,
    pub old_mode: u32,
    pub old_uid: u32,
    pub old_gid: u32,
    pub new_mode: u32,
    pub new_uid: u32,
    pub new_gid: u32,
}

impl PermChange {
    /// `0664 root:root -> 0644 root:root`, owners named by `user` and
    /// `group` when they resolve, else numbers.
    pub fn describe(
        &self,
        user: &dyn Fn(u32) -> Option<String>,
        group: &dyn Fn(u32) -> Option<String>,
    ) -> String {
        let who = |u: u32, g: u32| {
            format!(
                "{}:{}",
                user(u).unwrap_or_else(|| u.to_string()),
                group(g).unwrap_or_else(|| g.to_string())
            )
        };
        format!(
            "{:04o} {} -> {:04o} {}",
            self.old_mode,
            who(self.old_uid, self.old_gid),
            self.new_mode,
            who(self.new_uid, self.new_gid)
        )
    }

    /// Whether the owner changes (not only the mode).
    pub fn chown(&self) -> bool {
        self.old_uid != self.new_uid || self.old_gid != self.new_gid
    }
}

/// A rules file dockhard owns, written whole (the audit rules): the other
/// files beside it are never edited, only counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RulesFile {
    /// Host path.
    pub path: String,
    /// `None`: the file does not exist yet.
    pub old: Option<String>,
    pub new: String,
    /// The rule lines written (`-w PATH -k docker`), for the plan.
    pub lines: Vec<String>,
    /// `2 other rules file(s) left alone; 3 of the paths are already covered there`.
    pub others: String,
    /// Load the rules after writing (`augenrules --load`): auditd runs.
    pub load: bool,
    /// Why nothing is loaded (auditd is not running, an offline root).
    pub note: Option<String>,
}

/// A rule's fix.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FixSpec {
    pub changes: Vec<Change>,
    pub hazards: Vec<Hazard>,
    /// Owner and mode changes (the file rules); they need no restart.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub perms: Vec<PermChange>,
    /// A rules file written whole (the audit rules); no restart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules_file: Option<RulesFile>,
}

impl FixSpec {
    pub fn set(key: &str, value: serde_json::Value) -> Self {
        FixSpec {
            changes: vec![Change::Set {
                key: key.to_string(),
                value,
            }],
            hazards: Vec::new(),
            perms: Vec::new(),
            rules_file: None,
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
