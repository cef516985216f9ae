use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.host-pid",
        title: "Do not share the host's process namespace",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.16"],
        rationale: "With the host's PID namespace a container sees and can signal every host process, and with enough privilege read their memory and environment through /proc.",
        decided: "`HostConfig.PidMode` of `GET /containers/ID/json`, for every container in any state. Fail when it is `host`; `container:ID` passes.",
        remediation: "Recreate the container without `--pid=host`.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    super::host_namespace(c, "PidMode", "PID")
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn host_pid() {
        let got = outcomes(
            "containers.host-pid",
            &[
                container("own", json!({"HostConfig": {"PidMode": ""}})),
                container("joins", json!({"HostConfig": {"PidMode": "container:abc"}})),
                container("shared", json!({"HostConfig": {"PidMode": "host"}})),
            ],
        );
        insta::assert_snapshot!(got, @r"
        own: pass: has its own PID namespace [api GET /containers/own000000000/json: HostConfig.PidMode: ]
        joins: pass: does not share the host's PID namespace (joins container abc) [api GET /containers/joins0000000/json: HostConfig.PidMode: container:abc]
        shared: fail: shares the host's PID namespace (PidMode host) [api GET /containers/shared000000/json: HostConfig.PidMode: host]
        ");
    }
}
