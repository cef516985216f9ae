//! Foundations of `dockhard fix`: format-preserving edits of daemon.json
//! ([`json_edit`]) and of systemd units / EnvironmentFiles ([`unit_edit`]),
//! unified diffs for the dry run ([`diff`]), and the safe writer with
//! backups, atomic replace, rollback and a lock ([`apply`]).
//!
//! `json_edit`, `unit_edit` and `diff` are pure; `apply` does all the I/O.
//!
//! `fix` is a command layer above the audit: [`plan`] re-runs the rules
//! ([`crate::audit`]) and turns each failing rule's remedy
//! ([`crate::rules::remedy`], the vocabulary below the rules) into edits;
//! [`run`] drives it. Nothing below (rules, model, parse) imports `fix`.

pub mod apply;
pub mod diff;
pub mod json_edit;
pub mod plan;
pub mod run;
pub mod unit_edit;
