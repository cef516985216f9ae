use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.host-uts",
        title: "Do not share the host's UTS namespace",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.21"],
        rationale: "With the host's UTS namespace a container can change the host's hostname and domain name.",
        decided: "`HostConfig.UTSMode` of `GET /containers/ID/json`, for every container in any state. Fail when it is `host`.",
        remediation: "Recreate the container without `--uts=host`.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    super::host_namespace(c, "UTSMode", "UTS")
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn host_uts() {
        let got = outcomes(
            "containers.host-uts",
            &[
                container("own", json!({"HostConfig": {"UTSMode": ""}})),
                container("joins", json!({"HostConfig": {"UTSMode": "container:abc"}})),
                container("shared", json!({"HostConfig": {"UTSMode": "host"}})),
            ],
        );
        insta::assert_snapshot!(got, @r"
        own: pass: has its own UTS namespace [api GET /containers/own000000000/json: HostConfig.UTSMode: ]
        joins: pass: does not share the host's UTS namespace (joins container abc) [api GET /containers/joins0000000/json: HostConfig.UTSMode: container:abc]
        shared: fail: shares the host's UTS namespace (UTSMode host) [api GET /containers/shared000000/json: HostConfig.UTSMode: host]
        ");
    }
}
