use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.restart-policy",
        title: "Limit container restarts on failure",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.15"],
        rationale: "A container restarted forever hides a failing or attacked service and can \
keep the host busy; a bounded `on-failure` policy stops and leaves the failure visible.",
        decided: "`HostConfig.RestartPolicy` of `GET /containers/ID/json`, for every container \
in any state. Pass for `no` (or empty) and for `on-failure` with `MaximumRetryCount` 1 to 5. \
Fail for `always`, `unless-stopped`, and `on-failure` with more retries or with 0 (dockerd \
then retries forever).",
        remediation: "Recreate the container with `--restart on-failure:5`, or change it in place \
with `docker update --restart on-failure:5`.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let e = c.evidence("/HostConfig/RestartPolicy");
    let name = c
        .str_at("/HostConfig/RestartPolicy/Name")
        .unwrap_or_default();
    let max = c.i64_at("/HostConfig/RestartPolicy/MaximumRetryCount");
    match name {
        "" | "no" => Outcome::pass("never restarted automatically"),
        "on-failure" if (1..=5).contains(&max) => {
            Outcome::pass(format!("restarted on failure at most {max} times"))
        }
        "on-failure" if max <= 0 => Outcome::fail("restarted on failure without limit"),
        "on-failure" => Outcome::fail(format!(
            "restarted on failure up to {max} times (more than 5)"
        )),
        p => Outcome::fail(format!("restart policy {p}: restarted without limit")),
    }
    .with(e)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn restart_policy() {
        let p = |name: &str, max: i64| json!({"HostConfig": {"RestartPolicy": {"Name": name, "MaximumRetryCount": max}}});
        let got = outcomes(
            "containers.restart-policy",
            &[
                container("never", p("no", 0)),
                container("bounded", p("on-failure", 5)),
                container("forever", p("on-failure", 0)),
                container("always", p("always", 0)),
            ],
        );
        insta::assert_snapshot!(got, @r#"
        never: pass: never restarted automatically [api GET /containers/never0000000/json: HostConfig.RestartPolicy: {"MaximumRetryCount":0,"Name":"no"}]
        bounded: pass: restarted on failure at most 5 times [api GET /containers/bounded00000/json: HostConfig.RestartPolicy: {"MaximumRetryCount":5,"Name":"on-failure"}]
        forever: fail: restarted on failure without limit [api GET /containers/forever00000/json: HostConfig.RestartPolicy: {"MaximumRetryCount":0,"Name":"on-failure"}]
        always: fail: restart policy always: restarted without limit [api GET /containers/always000000/json: HostConfig.RestartPolicy: {"MaximumRetryCount":0,"Name":"always"}]
        "#);
    }
}
