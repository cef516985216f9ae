use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.needed-ports",
        title: "Publish only the ports a container needs",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::All,
        cis: &["5.9"],
        rationale: "Every published port is a way into the container from outside the host; \
only the ports its service needs should be open.",
        decided: "Always `manual`: which ports are needed is for a person to say. The evidence \
lists the published ports (`NetworkSettings.Ports` of a running container, \
`HostConfig.PortBindings` otherwise).",
        remediation: "Recreate the container publishing only the ports it serves (`-p`), \
without `-P` (every exposed port).",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let (list, e) = super::bindings(c);
    let msg = match list.len() {
        0 => "publishes no ports".to_string(),
        n => format!("review its {n} published port(s)"),
    };
    Outcome::manual(msg).with(e)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn needed_ports() {
        let got = outcomes(
            "containers.needed-ports",
            &[
                container("none", json!({})),
                container(
                    "web",
                    json!({"NetworkSettings": {"Ports": {
                        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}}}),
                ),
            ],
        );
        insta::assert_snapshot!(got, @r"
        none: manual: publishes no ports [api GET /containers/none00000000/json: NetworkSettings.Ports: no published ports]
        web: manual: review its 1 published port(s) [api GET /containers/web000000000/json: NetworkSettings.Ports: 80/tcp -> 127.0.0.1:8080]
        ");
    }
}
