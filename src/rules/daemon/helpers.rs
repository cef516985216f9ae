//! Helpers shared by the section 2 daemon rules.

use crate::model::Evidence;
use crate::model::config::{Effective, Key};
use crate::rules::{Ctx, Outcome, live_or_config};

/// A verdict from a judged value: pass or fail with its evidence and warnings.
pub(crate) fn verdict(
    ok: bool,
    pass: impl Into<String>,
    fail: impl Into<String>,
    evidence: Vec<Evidence>,
    warnings: Vec<String>,
) -> Outcome {
    let o = if ok {
        Outcome::pass(pass)
    } else {
        Outcome::fail(fail)
    };
    o.with_all(evidence).with_warnings(warnings)
}

/// A boolean option the API does not report: pass when it equals `want`.
pub(crate) fn bool_rule(cx: &Ctx<'_>, key: Key, want: bool, pass: &str, fail: &str) -> Outcome {
    match live_or_config(cx, None, |c| c.bool(key)) {
        Err(o) => o,
        Ok((v, e, w)) => verdict(
            v == want,
            format!("{pass} ({}={v})", key.name()),
            format!("{fail} ({}={v})", key.name()),
            e,
            w,
        ),
    }
}

/// An effective string option where an empty value means unset.
pub(crate) fn string_set(c: &Effective, key: Key) -> (Option<String>, Evidence) {
    let (v, e) = c.string(key);
    (v.filter(|s| !s.is_empty()), e)
}

/// `not_applicable` when the engine the view is judged as no longer has
/// storage driver `name` (it refuses to start with it: `daemon.config-valid`).
pub(crate) fn removed_storage_driver(cx: &Ctx<'_>, name: &str) -> Option<Outcome> {
    let engine = cx.view.engine.engine();
    let at = engine.removed_storage_driver(name)?;
    Some(Outcome::not_applicable(format!(
        "dockerd {} has no {name} storage driver (removed in {}): it refuses to start with it (daemon.config-valid)",
        engine.version,
        at.line()
    )))
}
