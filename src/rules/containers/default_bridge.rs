use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.default-bridge",
        title: "Do not use the default bridge network",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.30"],
        rationale: "Every container on the default `docker0` bridge can reach every other one \
(unless `icc` is off) and sees their traffic; user-defined networks isolate groups of \
containers and give them name resolution.",
        decided: "`NetworkSettings.Networks` of `GET /containers/ID/json`, for every container \
in any state: fail when the container is attached to `bridge`. Without `Networks`, \
`HostConfig.NetworkMode` decides (`default` and `bridge` are the default bridge).",
        remediation: "Create a network (`docker network create NAME`) and recreate the container \
with `--network NAME`, or `docker network disconnect bridge CONTAINER` after connecting it to \
one.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let on_bridge = match c
        .at("/NetworkSettings/Networks")
        .and_then(|n| n.as_object())
    {
        Some(nets) => {
            let names: Vec<&str> = nets.keys().map(String::as_str).collect();
            let e = c.evidence_with("/NetworkSettings/Networks", &names.join(", "));
            (nets.contains_key("bridge"), e)
        }
        None => {
            let mode = c.str_at("/HostConfig/NetworkMode").unwrap_or_default();
            (
                matches!(mode, "" | "default" | "bridge"),
                c.evidence("/HostConfig/NetworkMode"),
            )
        }
    };
    match on_bridge {
        (true, e) => Outcome::fail("attached to the default bridge").with(e),
        (false, e) => Outcome::pass("not on the default bridge").with(e),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn default_bridge() {
        let got = outcomes(
            "containers.default-bridge",
            &[
                container(
                    "app",
                    json!({"HostConfig": {"NetworkMode": "app"},
                           "NetworkSettings": {"Networks": {"app": {"IPAddress": "172.18.0.2"}}}}),
                ),
                container(
                    "bridged",
                    json!({"HostConfig": {"NetworkMode": "default"},
                           "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}}}),
                ),
                container("old", json!({"HostConfig": {"NetworkMode": "bridge"}})),
            ],
        );
        insta::assert_snapshot!(got, @r"
        app: pass: not on the default bridge [api GET /containers/app000000000/json: NetworkSettings.Networks: app]
        bridged: fail: attached to the default bridge [api GET /containers/bridged00000/json: NetworkSettings.Networks: bridge]
        old: fail: attached to the default bridge [api GET /containers/old000000000/json: HostConfig.NetworkMode: bridge]
        ");
    }
}
