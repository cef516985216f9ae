use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.privileged",
        title: "Do not run privileged containers",
        severity: Severity::Critical,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.5"],
        rationale: "A privileged container has every capability, every host device and no \
seccomp or AppArmor confinement: root in it is root on the host.",
        decided: "`HostConfig.Privileged` of `GET /containers/ID/json`, for every container in \
any state. Pass when it is false.",
        remediation: "Recreate the container without `--privileged`; grant only the capabilities \
(`--cap-add`) and devices (`--device`) it needs.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let e = c.evidence("/HostConfig/Privileged");
    if c.bool_at("/HostConfig/Privileged") {
        Outcome::fail("runs privileged").with(e)
    } else {
        Outcome::pass("not privileged").with(e)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn privileged() {
        let got = outcomes(
            "containers.privileged",
            &[
                container("plain", json!({"HostConfig": {"Privileged": false}})),
                container("root", json!({"HostConfig": {"Privileged": true}})),
            ],
        );
        insta::assert_snapshot!(got, @r"
        plain: pass: not privileged [api GET /containers/plain0000000/json: HostConfig.Privileged: false]
        root: fail: runs privileged [api GET /containers/root00000000/json: HostConfig.Privileged: true]
        ");
    }
}
