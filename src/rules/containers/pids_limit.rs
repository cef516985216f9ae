use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.pids-limit",
        title: "Limit the number of processes in a container",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.29"],
        rationale: "Without a PIDs limit a fork bomb in one container exhausts the host's process \
table and stops everything else.",
        decided: "`HostConfig.PidsLimit` of `GET /containers/ID/json`, for every container in any \
state. Fail when it is unset (null), 0 or negative (unlimited).",
        remediation: "Recreate the container with `--pids-limit N` (for example 100), or change \
it in place with `docker update --pids-limit N`.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let e = c.evidence("/HostConfig/PidsLimit");
    match c.i64_at("/HostConfig/PidsLimit") {
        n if n > 0 => Outcome::pass(format!("at most {n} processes")).with(e),
        _ => Outcome::fail("no PIDs limit").with(e),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn pids_limit() {
        let got = outcomes(
            "containers.pids-limit",
            &[
                container("limited", json!({"HostConfig": {"PidsLimit": 100}})),
                container("unset", json!({"HostConfig": {"PidsLimit": null}})),
                container("minus", json!({"HostConfig": {"PidsLimit": -1}})),
            ],
        );
        insta::assert_snapshot!(got, @r"
        limited: pass: at most 100 processes [api GET /containers/limited00000/json: HostConfig.PidsLimit: 100]
        unset: fail: no PIDs limit [api GET /containers/unset0000000/json: HostConfig.PidsLimit: unset]
        minus: fail: no PIDs limit [api GET /containers/minus0000000/json: HostConfig.PidsLimit: -1]
        ");
    }
}
