use crate::model::config::keys;
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, live_or_config};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.icc",
        title: "Restrict network traffic between containers on the default bridge",
        severity: Severity::High,
        seed_item: Some(1),
        profile: Profile::Seed,
        cis: &["2.2"],
        rationale: "By default every container on the default bridge can reach every other one and see \
the traffic on the host's container network, so data leaks between containers.",
        decided: "Live: the `com.docker.network.bridge.enable_icc` option of the `bridge` network \
(`GET /networks/bridge`). Otherwise the effective `icc` from the command line and daemon.json \
(Go booleans: `--icc=0` and `--icc=false` both disable it). Pass when it is false.",
        remediation: "Set `\"icc\": false` in /etc/docker/daemon.json (or `--icc=false` where the other \
flags live, never both) and restart dockerd. `--icc=false` needs `--iptables` left on. Containers \
that must talk use a user-defined network or explicit links.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let live = cx.view.live.as_ref().and_then(|l| l.icc.as_ref());
    match live_or_config(cx, live, |c| c.bool(keys::ICC)) {
        Err(o) => o,
        Ok((false, e, w)) => Outcome::pass("inter-container communication is disabled (icc=false)")
            .with_all(e)
            .with_warnings(w),
        Ok((true, e, w)) => Outcome::fail("inter-container communication is enabled (icc=true)")
            .with_all(e)
            .with_warnings(w),
    }
}

fn fix(cx: &crate::rules::remedy::FixCx<'_>) -> Result<crate::rules::remedy::FixSpec, String> {
    use crate::rules::remedy::{FixSpec, Hazard};
    let mut spec = FixSpec::set("icc", serde_json::Value::Bool(false));
    if !cx.next.bool(keys::IPTABLES).0 {
        spec.hazards.push(Hazard::warning(
            "iptables is disabled: icc=false has no effect without dockerd's iptables rules",
        ));
    }
    Ok(spec)
}
