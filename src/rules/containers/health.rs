use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.health",
        title: "Check container health at runtime",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.27"],
        rationale: "A health check lets the daemon and orchestrators see a container that runs \
but no longer serves, and act on it.",
        decided: "`State.Health.Status` of `GET /containers/ID/json` for running containers: \
`healthy` and `starting` pass, `unhealthy` fails, no `State.Health` fails (no health check in \
the image or container, or one disabled with `Config.Healthcheck.Test` `NONE`). \
`not_applicable` for containers that are not running.",
        remediation: "Add a `HEALTHCHECK` to the image, or recreate the container with \
`--health-cmd`; investigate and fix an unhealthy container.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    if !c.running {
        return Outcome::not_applicable("not running").with(c.evidence("/State/Running"));
    }
    let e = c.evidence("/State/Health/Status");
    let Some(status) = c
        .at("/State/Health")
        .map(|_| c.str_at("/State/Health/Status").unwrap_or_default())
    else {
        let hc = c.evidence("/Config/Healthcheck");
        let disabled = c.strings_at("/Config/Healthcheck/Test").first() == Some(&"NONE");
        return if disabled {
            Outcome::fail("health check disabled (NONE)").with(hc)
        } else {
            Outcome::fail("no health check")
                .with(c.evidence("/State/Health"))
                .with(hc)
        };
    };
    match status {
        "healthy" | "starting" => Outcome::pass(format!("health {status}")),
        "unhealthy" => Outcome::fail("unhealthy"),
        s => Outcome::fail(format!("health status {s:?}")),
    }
    .with(e)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn health() {
        let st = |s: &str| json!({"State": {"Health": {"Status": s, "FailingStreak": 0}}});
        let got = outcomes(
            "containers.health",
            &[
                container("ok", st("healthy")),
                container("sick", st("unhealthy")),
                container("none", json!({})),
                container(
                    "off",
                    json!({"Config": {"Healthcheck": {"Test": ["NONE"]}}}),
                ),
                container(
                    "stopped",
                    json!({"State": {"Status": "exited", "Running": false}}),
                ),
            ],
        );
        insta::assert_snapshot!(got, @r#"
        ok: pass: health healthy [api GET /containers/ok0000000000/json: State.Health.Status: healthy]
        sick: fail: unhealthy [api GET /containers/sick00000000/json: State.Health.Status: unhealthy]
        none: fail: no health check [api GET /containers/none00000000/json: State.Health: unset; api GET /containers/none00000000/json: Config.Healthcheck: unset]
        off: fail: health check disabled (NONE) [api GET /containers/off000000000/json: Config.Healthcheck: {"Test":["NONE"]}]
        stopped: not_applicable: not running [api GET /containers/stopped00000/json: State.Running: false]
        "#);
    }
}
