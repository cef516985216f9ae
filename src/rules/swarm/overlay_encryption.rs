use crate::model::{Evidence, Source};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};
use serde_json::Value;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "swarm.overlay-encryption",
        title: "Overlay networks encrypt their data traffic",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["7.3"],
        rationale: "Container traffic on an unencrypted overlay network crosses the hosts' network \
in clear (VXLAN): anyone on the path reads it.",
        decided: "On a swarm manager: every network of `GET /networks` with driver `overlay` \
except the built-in `ingress` must have the option `encrypted`. `not_applicable` outside swarm \
mode and on workers.",
        remediation: "Recreate the network with `docker network create -d overlay --opt \
encrypted NAME` (services must be moved to it).",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let nets = match super::manager_call(cx, "/networks") {
        Ok(v) => v.as_array().cloned().unwrap_or_default(),
        Err(o) => return o,
    };
    let s = |n: &Value, k: &str| n.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let overlay: Vec<&Value> = nets
        .iter()
        .filter(|n| {
            s(n, "Driver") == "overlay"
                && !n.get("Ingress").and_then(Value::as_bool).unwrap_or(false)
                && s(n, "Name") != "ingress"
        })
        .collect();
    if overlay.is_empty() {
        return Outcome::pass("no overlay network besides ingress").with(Evidence::new(
            Source::Api,
            "GET /networks",
            format!("{} network(s), none overlay", nets.len()),
        ));
    }
    let mut clear = Vec::new();
    let mut evidence = Vec::new();
    for n in &overlay {
        let encrypted = n.pointer("/Options/encrypted").is_some();
        evidence.push(Evidence::new(
            Source::Api,
            "GET /networks",
            format!(
                "{}: driver overlay, {}",
                s(n, "Name"),
                if encrypted {
                    "encrypted"
                } else {
                    "not encrypted"
                }
            ),
        ));
        if !encrypted {
            clear.push(s(n, "Name"));
        }
    }
    if clear.is_empty() {
        Outcome::pass(format!(
            "{} overlay network(s), all encrypted",
            overlay.len()
        ))
        .with_all(evidence)
    } else {
        Outcome::fail(format!(
            "overlay network(s) not encrypted: {}",
            clear.join(", ")
        ))
        .with_all(evidence)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::swarm::tests::{manager_info, swarm_snapshot};
    use crate::rules::testing::lines;
    use serde_json::json;

    #[test]
    fn overlay_encryption() {
        let nets = json!([
            {"Name": "ingress", "Driver": "overlay", "Ingress": true, "Options": {}},
            {"Name": "front", "Driver": "overlay", "Options": {"encrypted": ""}},
            {"Name": "back", "Driver": "overlay", "Options": {}},
            {"Name": "bridge", "Driver": "bridge"},
        ]);
        let got = lines(
            "swarm.overlay-encryption",
            &swarm_snapshot(manager_info(), &[("/networks", nets)]),
        );
        let none = lines("swarm.overlay-encryption", &swarm_snapshot(json!({}), &[]));
        insta::assert_snapshot!(got + &none, @r"
            daemon: fail: overlay network(s) not encrypted: back [api GET /networks: front: driver overlay, encrypted; api GET /networks: back: driver overlay, not encrypted]
            daemon: not_applicable: swarm mode is inactive [api GET /info: Swarm.LocalNodeState: inactive]
            ");
    }
}
