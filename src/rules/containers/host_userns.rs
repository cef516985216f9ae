use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.host-userns",
        title: "Do not share the host's user namespace",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.31"],
        rationale: "`--userns=host` opts a container out of the daemon's user namespace remapping: root in it is root on the host.",
        decided: "`HostConfig.UsernsMode` of `GET /containers/ID/json`, for every container in any state. Fail when it is `host`. Whether the daemon remaps at all is `daemon.userns-remap`.",
        remediation: "Recreate the container without `--userns=host`.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    super::host_namespace(c, "UsernsMode", "user")
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn host_userns() {
        let got = outcomes(
            "containers.host-userns",
            &[
                container("own", json!({"HostConfig": {"UsernsMode": ""}})),
                container(
                    "joins",
                    json!({"HostConfig": {"UsernsMode": "container:abc"}}),
                ),
                container("shared", json!({"HostConfig": {"UsernsMode": "host"}})),
            ],
        );
        insta::assert_snapshot!(got, @r"
        own: pass: has its own user namespace [api GET /containers/own000000000/json: HostConfig.UsernsMode: ]
        joins: pass: does not share the host's user namespace (joins container abc) [api GET /containers/joins0000000/json: HostConfig.UsernsMode: container:abc]
        shared: fail: shares the host's user namespace (UsernsMode host) [api GET /containers/shared000000/json: HostConfig.UsernsMode: host]
        ");
    }
}
