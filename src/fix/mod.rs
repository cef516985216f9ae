//! Foundations of `dockhard fix`: format-preserving edits of daemon.json
//! ([`json_edit`]) and of systemd units / EnvironmentFiles ([`unit_edit`]),
//! unified diffs for the dry run ([`diff`]), and the safe writer with
//! backups, atomic replace, rollback and a lock ([`apply`]).
//!
//! `json_edit`, `unit_edit` and `diff` are pure; `apply` does all the I/O.

pub mod apply;
pub mod diff;
pub mod json_edit;
pub mod plan;
pub mod run;
pub mod spec;
pub mod unit_edit;
