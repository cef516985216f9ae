use crate::rules::{Check, Ctx, Image, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "images.user",
        title: "Images run as a non-root user",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["4.1"],
        rationale: "An image without a `USER` starts its containers as root unless every `docker \
run` remembers `--user`; a process escaping such a container is root outside.",
        decided: "`Config.User` of `GET /images/ID/json` for every image. Pass when it is set and \
is neither `root` nor uid 0.",
        remediation: "Add `USER name` (created in the image) to the Dockerfile and rebuild, or run \
its containers with `--user`.",
    },
    check: Check::Image(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, i: &Image) -> Outcome {
    let e = i.evidence("/Config/User");
    let user = i.at("/Config/User").and_then(|v| v.as_str()).unwrap_or("");
    let name = user.split(':').next().unwrap_or("");
    if name.is_empty() {
        Outcome::fail("no USER: containers run as root").with(e)
    } else if name == "root" || name == "0" {
        Outcome::fail(format!("USER {user}: containers run as root")).with(e)
    } else {
        Outcome::pass(format!("USER {user}")).with(e)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{image, image_outcomes};
    use serde_json::json;

    #[test]
    fn user() {
        let got = image_outcomes(
            "images.user",
            &[
                image("app", json!({"Config": {"User": "app:app"}}), &[]),
                image("bare", json!({"Config": {"User": ""}}), &[]),
                image("root", json!({"Config": {"User": "0"}}), &[]),
            ],
        );
        insta::assert_snapshot!(got, @r"
        app:latest: pass: USER app:app [api GET /images/app000000000/json: Config.User: app:app]
        bare:latest: fail: no USER: containers run as root [api GET /images/bare00000000/json: Config.User: ]
        root:latest: fail: USER 0: containers run as root [api GET /images/root00000000/json: Config.User: 0]
        ");
    }
}
