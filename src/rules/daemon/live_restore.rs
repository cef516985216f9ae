use crate::model::config::keys;
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, live_or_config};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.live-restore",
        title: "Enable live restore",
        severity: Severity::Medium,
        seed_item: Some(7),
        profile: Profile::Seed,
        cis: &["2.15"],
        rationale: "With live restore, containers keep running while dockerd is stopped, upgraded or \
patched, so security updates of the engine do not need downtime.",
        decided: "`not_applicable` when the node is in swarm mode (`Swarm.LocalNodeState` of \
`GET /info`; live restore is incompatible with swarm). Live: `LiveRestoreEnabled` of `GET /info`. \
Otherwise the effective `live-restore` (default false). Pass when it is true. It is reloadable: a \
SIGHUP applies a change in daemon.json.",
        remediation: "Set `\"live-restore\": true` in /etc/docker/daemon.json and reload dockerd \
(`kill -HUP $(pidof dockerd)` or `systemctl reload docker`); not in swarm mode.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let live = cx.view.live.as_ref();
    if let Some((state, e)) = live.and_then(|l| l.swarm_state.as_ref()) {
        if state != "inactive" && !state.is_empty() {
            return Outcome::not_applicable(format!(
                "the node is in swarm mode ({state}); live restore is incompatible with swarm"
            ))
            .with(e.clone());
        }
    }
    match live_or_config(cx, live.and_then(|l| l.live_restore.as_ref()), |c| {
        c.bool(keys::LIVE_RESTORE)
    }) {
        Err(o) => o,
        Ok((true, e, w)) => Outcome::pass("live restore is enabled")
            .with_all(e)
            .with_warnings(w),
        Ok((false, e, w)) => Outcome::fail("live restore is disabled")
            .with_all(e)
            .with_warnings(w),
    }
}

fn fix(cx: &crate::rules::remedy::FixCx<'_>) -> Result<crate::rules::remedy::FixSpec, String> {
    use crate::rules::remedy::{FixSpec, Hazard};
    let mut spec = FixSpec::set("live-restore", serde_json::Value::Bool(true));
    let swarm = cx
        .daemon
        .running
        .as_ref()
        .and_then(|v| v.live.as_ref())
        .and_then(|l| l.swarm_state.as_ref());
    match swarm {
        Some((st, _)) if st != "inactive" && !st.is_empty() => {
            spec.hazards.push(Hazard::blocking(format!(
                "the node is in swarm mode (Swarm.LocalNodeState: {st}): dockerd refuses live-restore with swarm"
            )));
        }
        Some(_) => {}
        None => spec.hazards.push(Hazard::warning(
            "swarm mode could not be checked (no running daemon answered): dockerd refuses live-restore in swarm mode",
        )),
    }
    Ok(spec)
}
