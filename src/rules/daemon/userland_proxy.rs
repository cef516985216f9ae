use crate::model::config::keys;
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, live_or_config};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.userland-proxy",
        title: "Disable the userland proxy",
        severity: Severity::Medium,
        seed_item: Some(3),
        profile: Profile::Seed,
        cis: &["2.16"],
        rationale: "The userland proxy (docker-proxy) is an extra process per published port and an \
extra attack surface; hairpin NAT does the same job in the kernel with its own filtering.",
        decided: "The API does not report it: the effective `userland-proxy` from the running \
command line and daemon.json (default true). Pass when it is false.",
        remediation: "Set `\"userland-proxy\": false` in /etc/docker/daemon.json (or \
`--userland-proxy=false`, never both) and restart dockerd.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn check(cx: &Ctx<'_>) -> Outcome {
    match live_or_config(cx, None, |c| c.bool(keys::USERLAND_PROXY)) {
        Err(o) => o,
        Ok((false, e, w)) => Outcome::pass("the userland proxy is disabled (userland-proxy=false)")
            .with_all(e)
            .with_warnings(w),
        Ok((true, e, w)) => Outcome::fail("the userland proxy is enabled (userland-proxy=true)")
            .with_all(e)
            .with_warnings(w),
    }
}

fn fix(_cx: &crate::rules::remedy::FixCx<'_>) -> Result<crate::rules::remedy::FixSpec, String> {
    let mut spec =
        crate::rules::remedy::FixSpec::set("userland-proxy", serde_json::Value::Bool(false));
    spec.hazards.push(crate::rules::remedy::Hazard::warning(
        "published ports are then served by iptables NAT only: connections to a published port from the host itself via 127.0.0.1 need the kernel's route_localnet (set by dockerd)",
    ));
    Ok(spec)
}
