//! Swarm mode (CIS 5.1 and section 7): from the running daemon's `/info`
//! and, on managers, `/swarm`, `/nodes` and `/networks`. These facts exist
//! only in a running daemon, so the verdict is the same for every view of
//! its configuration (no drift).

use crate::model::Evidence;
use crate::rules::{Ctx, Outcome};
use serde_json::Value;

pub mod autolock;
pub mod cert_expiry;
pub mod managers;
pub mod manual_review;
pub mod mode;
pub mod overlay_encryption;

/// The swarm state of the running daemon: `LocalNodeState` and whether
/// this node is a manager (`ControlAvailable`), or the outcome to give
/// when it is unknown or not active.
pub(crate) struct SwarmNode<'a> {
    pub state: String,
    pub evidence: Evidence,
    pub manager: bool,
    pub info: &'a Value,
}

pub(crate) fn node<'a>(cx: &'a Ctx<'_>) -> Result<SwarmNode<'a>, Outcome> {
    let Some(running) = cx.daemon.running.as_ref() else {
        return Err(Outcome::not_applicable(
            "no running daemon: the swarm state lives in the running engine",
        ));
    };
    let live = running.live.as_ref();
    if let Some(e) = live.and_then(|l| l.api_error.as_ref()) {
        return Err(Outcome::error(format!(
            "the swarm state is unknown: the Engine API could not be used: {e}"
        )));
    }
    let info = cx
        .snap
        .daemons
        .iter()
        .find(|d| Some(d.pid) == cx.daemon.pid)
        .and_then(|d| d.api.info.as_ref())
        .and_then(|c| c.body.as_ref());
    let (Some(info), Some((state, evidence))) = (info, live.and_then(|l| l.swarm_state.as_ref()))
    else {
        return Err(Outcome::error(
            "the swarm state is unknown: `GET /info` has no Swarm.LocalNodeState",
        ));
    };
    let manager = info
        .pointer("/Swarm/ControlAvailable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(SwarmNode {
        state: state.clone(),
        evidence: evidence.clone(),
        manager,
        info,
    })
}

/// An active swarm node, else the outcome (`not_applicable` when swarm
/// mode is off).
pub(crate) fn active<'a>(cx: &'a Ctx<'_>) -> Result<SwarmNode<'a>, Outcome> {
    let n = node(cx)?;
    if n.state != "active" {
        return Err(Outcome::not_applicable(format!("swarm mode is {}", n.state)).with(n.evidence));
    }
    Ok(n)
}

/// An active manager node, else the outcome.
pub(crate) fn manager<'a>(cx: &'a Ctx<'_>) -> Result<SwarmNode<'a>, Outcome> {
    let n = active(cx)?;
    if !n.manager {
        return Err(Outcome::not_applicable(
            "this node is a swarm worker: the cluster settings are on the managers",
        )
        .with(n.evidence));
    }
    Ok(n)
}

/// The body of a swarm call on an active manager; else the outcome
/// (`not_applicable` off swarm and on workers, `error` when the answer is
/// missing).
pub(crate) fn manager_call<'a>(cx: &'a Ctx<'_>, path: &str) -> Result<&'a Value, Outcome> {
    manager(cx)?;
    cx.daemon
        .objects
        .swarm_call(path)
        .map_err(|e| Outcome::error(format!("swarm evidence missing: {e}")))
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::snapshot::{ApiCall, Snapshot};
    use serde_json::{Value, json};

    /// A manager of an active swarm with these swarm answers.
    pub fn swarm_snapshot(info: Value, calls: &[(&str, Value)]) -> Snapshot {
        let mut snap = crate::rules::testing::snapshot(info, &[], &[]);
        for (p, v) in calls {
            snap.daemons[0].api.objects.insert(
                p.to_string(),
                ApiCall {
                    status: Some(200),
                    body: Some(v.clone()),
                    error: None,
                },
            );
        }
        snap
    }

    pub fn manager_info() -> Value {
        json!({"Swarm": {"LocalNodeState": "active", "ControlAvailable": true, "Managers": 1, "Nodes": 1}})
    }
}
