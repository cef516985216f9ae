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

/// `text` with the bytes `start..end` replaced by `with` (the edits of
/// [`json_edit`] and [`unit_edit`] all come down to this).
fn splice(text: &str, start: usize, end: usize, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(text.get(..start).unwrap_or(""));
    out.push_str(with);
    out.push_str(text.get(end..).unwrap_or(""));
    out
}
