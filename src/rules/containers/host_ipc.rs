use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.host-ipc",
        title: "Do not share the host's IPC namespace",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.17"],
        rationale: "With the host's IPC namespace a container can read and write the host's shared memory segments, semaphores and message queues.",
        decided: "`HostConfig.IpcMode` of `GET /containers/ID/json`, for every container in any state. Fail when it is `host`; `private`, `shareable` and `container:ID` pass.",
        remediation: "Recreate the container without `--ipc=host`.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    super::host_namespace(c, "IpcMode", "IPC")
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn host_ipc() {
        let got = outcomes(
            "containers.host-ipc",
            &[
                container("own", json!({"HostConfig": {"IpcMode": ""}})),
                container("joins", json!({"HostConfig": {"IpcMode": "container:abc"}})),
                container("shared", json!({"HostConfig": {"IpcMode": "host"}})),
            ],
        );
        insta::assert_snapshot!(got, @r"
        own: pass: has its own IPC namespace [api GET /containers/own000000000/json: HostConfig.IpcMode: ]
        joins: pass: does not share the host's IPC namespace (joins container abc) [api GET /containers/joins0000000/json: HostConfig.IpcMode: container:abc]
        shared: fail: shares the host's IPC namespace (IpcMode host) [api GET /containers/shared000000/json: HostConfig.IpcMode: host]
        ");
    }
}
