use crate::rules::{Check, Ctx, Image, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "images.healthcheck",
        title: "Images define a HEALTHCHECK",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["4.6"],
        rationale: "Without a health check the engine (and an orchestrator) only knows that the \
process runs, not that the service works: a hung service is never restarted.",
        decided: "`Config.Healthcheck.Test` of `GET /images/ID/json` for every image. Pass when a \
test is set and is not `NONE` (which disables an inherited check).",
        remediation: "Add `HEALTHCHECK CMD ...` to the Dockerfile and rebuild, or give its \
containers `--health-cmd`.",
    },
    check: Check::Image(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, i: &Image) -> Outcome {
    let e = i.evidence("/Config/Healthcheck/Test");
    let test: Vec<&str> = i
        .at("/Config/Healthcheck/Test")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    match test.first() {
        None => Outcome::fail("no HEALTHCHECK").with(e),
        Some(&"NONE") => Outcome::fail("HEALTHCHECK NONE disables the health check").with(e),
        Some(_) => Outcome::pass("HEALTHCHECK is set").with(e),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{image, image_outcomes};
    use serde_json::json;

    #[test]
    fn healthcheck() {
        let got = image_outcomes(
            "images.healthcheck",
            &[
                image(
                    "web",
                    json!({"Config": {"Healthcheck": {"Test": ["CMD-SHELL", "wget -q localhost"]}}}),
                    &[],
                ),
                image("bare", json!({}), &[]),
                image(
                    "off",
                    json!({"Config": {"Healthcheck": {"Test": ["NONE"]}}}),
                    &[],
                ),
            ],
        );
        insta::assert_snapshot!(got, @r#"
            web:latest: pass: HEALTHCHECK is set [api GET /images/web000000000/json: Config.Healthcheck.Test: ["CMD-SHELL","wget -q localhost"]]
            bare:latest: fail: no HEALTHCHECK [api GET /images/bare00000000/json: Config.Healthcheck.Test: unset]
            off:latest: fail: HEALTHCHECK NONE disables the health check [api GET /images/off000000000/json: Config.Healthcheck.Test: ["NONE"]]
            "#);
    }
}
