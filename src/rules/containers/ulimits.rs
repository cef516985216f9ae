use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.ulimits",
        title: "Override the default ulimits of a container only when needed",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::All,
        cis: &["5.19"],
        rationale: "The daemon's default ulimits (`default-ulimits`) bound what each container \
can use; a container given higher limits of its own should need them.",
        decided: "Always `manual`: whether an override is needed is for a person to say. The \
evidence lists `HostConfig.Ulimits` of `GET /containers/ID/json` (name, soft, hard).",
        remediation: "Recreate the container without the `--ulimit` options it does not need; \
set shared defaults with `default-ulimits` in daemon.json.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let limits: Vec<String> = c
        .at("/HostConfig/Ulimits")
        .and_then(|d| d.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|u| {
            let name = u.get("Name").and_then(|v| v.as_str()).unwrap_or_default();
            let n = |k: &str| u.get(k).map(|v| v.to_string()).unwrap_or_default();
            format!("{name}={}:{}", n("Soft"), n("Hard"))
        })
        .collect();
    if limits.is_empty() {
        return Outcome::manual("uses the daemon's default ulimits")
            .with(c.evidence_with("/HostConfig/Ulimits", "none"));
    }
    Outcome::manual(format!("review its ulimits: {}", limits.join(", ")))
        .with(c.evidence_with("/HostConfig/Ulimits", &limits.join(", ")))
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn ulimits() {
        let got = outcomes(
            "containers.ulimits",
            &[
                container("default", json!({"HostConfig": {"Ulimits": null}})),
                container(
                    "files",
                    json!({"HostConfig": {"Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 4096}]}}),
                ),
            ],
        );
        insta::assert_snapshot!(got, @r"
        default: manual: uses the daemon's default ulimits [api GET /containers/default00000/json: HostConfig.Ulimits: none]
        files: manual: review its ulimits: nofile=1024:4096 [api GET /containers/files0000000/json: HostConfig.Ulimits: nofile=1024:4096]
        ");
    }
}
