use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "swarm.manual-review",
        title: "Swarm items to review by hand",
        severity: Severity::Info,
        seed_item: None,
        profile: Profile::All,
        cis: &["7.2", "7.4", "7.6", "7.8", "7.9"],
        rationale: "Key and certificate rotation, interface binding and plane separation are \
operating practices of the swarm: the API shows a state, not whether it is kept up.",
        decided: "`not_applicable` outside swarm mode; on a swarm node always `manual`. The \
items: 7.2 swarm services are bound to a specific host interface (`--listen-addr`); 7.4 secrets \
management is used for sensitive data (`docker secret`, not environment variables); 7.6 the \
manager auto-lock key is rotated periodically (`docker swarm unlock-key --rotate`); 7.8 CA \
certificates are rotated as appropriate (`docker swarm ca --rotate`); 7.9 management plane \
traffic is separated from data plane traffic (`--data-path-addr`).",
        remediation: "Rotate the unlock key and the CA on a schedule, bind the swarm to a \
management interface and use `--data-path-addr` for the data plane.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    match super::active(cx) {
        Err(o) => o,
        Ok(n) => super::super::manual_items(&RULE.meta, n.evidence),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::swarm::tests::{manager_info, swarm_snapshot};
    use crate::rules::testing::lines;
    use serde_json::json;

    #[test]
    fn manual_review() {
        let got = lines("swarm.manual-review", &swarm_snapshot(manager_info(), &[]))
            + &lines("swarm.manual-review", &swarm_snapshot(json!({}), &[]));
        insta::assert_snapshot!(got, @r"
            daemon: manual: review by hand: CIS 7.2, 7.4, 7.6, 7.8, 7.9 (`dockhard explain swarm.manual-review` lists them) [api GET /info: Swarm.LocalNodeState: active]
            daemon: not_applicable: swarm mode is inactive [api GET /info: Swarm.LocalNodeState: inactive]
            ");
    }
}
