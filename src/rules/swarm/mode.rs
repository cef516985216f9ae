use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "swarm.mode",
        title: "Swarm mode is enabled only where it is needed",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.1"],
        rationale: "Swarm mode opens the cluster ports (2377, 7946, 4789) and runs the swarm \
management plane: on a host that does not take part in a swarm it is attack surface for nothing.",
        decided: "`Swarm.LocalNodeState` of the running daemon's `GET /info`. Pass when it is not \
`active`; an active swarm is `manual`: only you know whether the host needs it.",
        remediation: "On a host that should not be in a swarm: `docker swarm leave` (on the last \
manager: `--force`).",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    match super::node(cx) {
        Err(o) => o,
        Ok(n) if n.state == "active" => Outcome::manual(format!(
            "swarm mode is active ({}): confirm the host needs it",
            if n.manager { "manager" } else { "worker" }
        ))
        .with(n.evidence),
        Ok(n) => Outcome::pass(format!("swarm mode is {}", n.state)).with(n.evidence),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::swarm::tests::{manager_info, swarm_snapshot};
    use crate::rules::testing::lines;
    use serde_json::json;

    #[test]
    fn mode() {
        let off = lines("swarm.mode", &swarm_snapshot(json!({}), &[]));
        let on = lines("swarm.mode", &swarm_snapshot(manager_info(), &[]));
        insta::assert_snapshot!(off + &on, @r"
            daemon: pass: swarm mode is inactive [api GET /info: Swarm.LocalNodeState: inactive]
            daemon: manual: swarm mode is active (manager): confirm the host needs it [api GET /info: Swarm.LocalNodeState: active]
            ");
    }
}
