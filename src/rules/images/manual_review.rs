use crate::model::{Evidence, Source};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "images.manual-review",
        title: "Image items to review by hand",
        severity: Severity::Info,
        seed_item: None,
        profile: Profile::All,
        cis: &["4.2", "4.3", "4.4", "4.5", "4.8", "4.10", "4.11", "4.12"],
        rationale: "Trusted bases, minimal and patched content, setuid files, secrets and signed \
artifacts are properties of how images are built and where they come from: no daemon setting \
shows them.",
        decided: "Always `manual`, with the images there are to review (`GET /images/json`). \
The items: 4.2 containers use only trusted base images; 4.3 unnecessary packages are not \
installed; 4.4 images are scanned and rebuilt to include security patches; 4.5 content trust is \
enabled (a client setting: `DOCKER_CONTENT_TRUST=1`); 4.8 setuid and setgid permissions are \
removed; 4.10 secrets are not stored in Dockerfiles; 4.11 only verified packages are installed; \
4.12 all signed artifacts are validated.",
        remediation: "Build from trusted, pinned bases; scan images (Trivy, dockle) in CI; remove \
setuid bits (`find / -perm /6000`); keep secrets out of build files (BuildKit secrets); enable \
content trust on clients.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let images = match &cx.daemon.objects.images {
        Ok(i) => i,
        Err(e) => return super::super::objects_unknown(cx, e),
    };
    let names: Vec<&str> = images.iter().map(|i| i.name()).collect();
    super::super::manual_items(
        &RULE.meta,
        Evidence::new(
            Source::Api,
            "GET /images/json",
            format!("{} image(s) to review: {}", names.len(), names.join(", ")),
        ),
    )
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{image, lines, snapshot};
    use serde_json::json;

    #[test]
    fn manual_review() {
        let snap = snapshot(json!({}), &[], &[image("app", json!({}), &[])]);
        insta::assert_snapshot!(lines("images.manual-review", &snap), @r"
            daemon: manual: review by hand: CIS 4.2, 4.3, 4.4, 4.5, 4.8, 4.10, 4.11, 4.12 (`dockhard explain images.manual-review` lists them) [api GET /images/json: 1 image(s) to review: app:latest]
            ");
    }
}
