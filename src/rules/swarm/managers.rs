use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};
use serde_json::Value;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "swarm.managers",
        title: "The swarm has the minimum number of managers it needs",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::All,
        cis: &["7.1"],
        rationale: "Every manager holds the cluster state and keys: more than fault tolerance needs \
is more to protect; an even number adds no tolerance.",
        decided: "`manual`: the right count depends on the fault tolerance wanted. The evidence is \
`Swarm.Managers` and `Swarm.Nodes` of `GET /info`, with a warning for an even number of \
managers. `not_applicable` outside swarm mode.",
        remediation: "Keep an odd number of managers (1, 3 or 5); demote the others with `docker \
node demote`.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let n = match super::active(cx) {
        Ok(n) => n,
        Err(o) => return o,
    };
    let count = |k: &str| {
        n.info
            .pointer(&format!("/Swarm/{k}"))
            .and_then(Value::as_i64)
    };
    let (Some(managers), nodes) = (count("Managers"), count("Nodes")) else {
        return Outcome::error("`GET /info` has no Swarm.Managers").with(n.evidence);
    };
    let detail = format!(
        "Swarm.Managers: {managers}, Swarm.Nodes: {}",
        nodes
            .map(|x| x.to_string())
            .unwrap_or_else(|| "unknown".into())
    );
    let mut o = Outcome::manual(format!(
        "{managers} manager(s): confirm this is the minimum needed"
    ))
    .with(n.evidence)
    .with(crate::model::Evidence::new(
        crate::model::Source::Api,
        "GET /info",
        detail,
    ));
    if managers % 2 == 0 {
        o = o.warn(format!(
            "{managers} managers: an even number adds no fault tolerance"
        ));
    }
    o
}

#[cfg(test)]
mod tests {
    use crate::rules::swarm::tests::swarm_snapshot;
    use crate::rules::testing::lines;
    use serde_json::json;

    #[test]
    fn managers() {
        let two = json!({"Swarm": {"LocalNodeState": "active", "ControlAvailable": true, "Managers": 2, "Nodes": 5}});
        insta::assert_snapshot!(lines("swarm.managers", &swarm_snapshot(two, &[])), @r"
            daemon: manual: 2 manager(s): confirm this is the minimum needed [api GET /info: Swarm.LocalNodeState: active; api GET /info: Swarm.Managers: 2, Swarm.Nodes: 5] (warning: 2 managers: an even number adds no fault tolerance)
            ");
    }
}
