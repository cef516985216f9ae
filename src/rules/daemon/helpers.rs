//! Helpers shared by the section 2 daemon rules.

use crate::model::config::keys;
use crate::model::config::{Effective, Key};
use crate::model::{Evidence, Source};
use crate::rules::{Ctx, Outcome, config, is_running, live_or_config};

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

/// The driver named by the environment or the configuration.
fn explicit(c: &Effective) -> Option<(String, Evidence)> {
    if let Some(d) = c.context.env.get("DOCKER_DRIVER").filter(|d| !d.is_empty()) {
        return Some((
            d.clone(),
            Evidence::new(
                Source::Process,
                "environment",
                format!("DOCKER_DRIVER={d} (wins over storage-driver)"),
            ),
        ));
    }
    match string_set(c, keys::STORAGE_DRIVER) {
        (Some(d), e) => Some((d, e)),
        (None, _) => None,
    }
}

fn judge(avoid: &str, driver: &str, e: Vec<Evidence>, w: Vec<String>) -> Outcome {
    verdict(
        driver != avoid,
        format!("the storage driver is `{driver}`"),
        format!("the storage driver is {avoid}"),
        e,
        w,
    )
}

/// The check of `daemon.storage-driver-aufs` and `-devicemapper`: the
/// storage driver in use, or the one the start would choose, is not `avoid`.
pub(crate) fn avoided_storage_driver(cx: &Ctx<'_>, avoid: &str) -> Outcome {
    // Engines that cannot run the driver at all (removed in 24.0 or 25.0).
    if let Some(o) = removed_storage_driver(cx, avoid) {
        return o;
    }
    let live = cx
        .view
        .live
        .as_ref()
        .and_then(|l| l.storage_driver.as_ref());
    if let Some((d, e)) = live {
        let mut ev = vec![e.clone()];
        if let Some((_, ce)) = cx.view.config.as_ref().ok().and_then(explicit) {
            ev.push(ce);
        }
        return judge(avoid, d, ev, Vec::new());
    }
    let c = match config(cx) {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Some((d, e)) = explicit(c) {
        return judge(avoid, &d, vec![e], Vec::new());
    }
    let (root, root_ev) = c.string(keys::DATA_ROOT);
    let root = root.unwrap_or_else(|| "/var/lib/docker".into());
    let chosen = "no storage driver is set: dockerd chooses at start";
    match cx.snap.dir(&root) {
        Some(d) if d.missing => Outcome::pass(format!(
            "{chosen}; {root} does not exist yet, so no prior {avoid} state is reused and overlay2 comes before {avoid}"
        ))
        .with(root_ev),
        Some(d) => match &d.entries {
            Some(entries) if entries.iter().any(|e| e == avoid) => Outcome::fail(format!(
                "{chosen}, and it reuses the prior driver {avoid} ({root}/{avoid} exists)"
            ))
            .with(root_ev)
            .with(Evidence::new(Source::File, format!("{root}/{avoid}"), "exists")),
            Some(_) => Outcome::pass(format!(
                "{chosen}; {root} holds no {avoid} state and overlay2 comes before {avoid}"
            ))
            .with(root_ev)
            .with(Evidence::new(Source::File, root.clone(), format!("no {avoid} directory"))),
            None => Outcome::error(format!(
                "{chosen}; {root} could not be listed ({})",
                d.error.as_deref().unwrap_or("unknown error")
            ))
            .with(root_ev),
        },
        None => Outcome::error(format!("{chosen}; {root} was not listed")).with(root_ev),
    }
}

/// `error` when the daemon runs and the TCP sockets it holds are unknown
/// (the remote API rules cannot decide then).
pub(crate) fn tcp_sockets_unknown(cx: &Ctx<'_>) -> Option<Outcome> {
    let why = cx.view.tcp_unknown.as_ref().filter(|_| is_running(cx))?;
    Some(Outcome::error(format!(
        "the TCP sockets the daemon holds are unknown: {why}"
    )))
}
