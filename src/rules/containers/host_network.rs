use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.host-network",
        title: "Do not share the host's network namespace",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.10"],
        rationale: "A container on the host network sees every host interface, can bind any host port and reach services listening on localhost, and is not isolated by the bridge or its firewall rules.",
        decided: "`HostConfig.NetworkMode` of `GET /containers/ID/json`, for every container in any state. Fail when it is `host`; `container:ID` (another container's namespace) passes.",
        remediation: "Recreate the container without `--network=host`; publish the ports it serves (`-p`) on a user-defined network.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    super::host_namespace(c, "NetworkMode", "network")
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn host_network() {
        let got = outcomes(
            "containers.host-network",
            &[
                container("own", json!({"HostConfig": {"NetworkMode": ""}})),
                container(
                    "joins",
                    json!({"HostConfig": {"NetworkMode": "container:abc"}}),
                ),
                container("shared", json!({"HostConfig": {"NetworkMode": "host"}})),
            ],
        );
        insta::assert_snapshot!(got, @r"
        own: pass: has its own network namespace [api GET /containers/own000000000/json: HostConfig.NetworkMode: ]
        joins: pass: does not share the host's network namespace (joins container abc) [api GET /containers/joins0000000/json: HostConfig.NetworkMode: container:abc]
        shared: fail: shares the host's network namespace (NetworkMode host) [api GET /containers/shared000000/json: HostConfig.NetworkMode: host]
        ");
    }
}
