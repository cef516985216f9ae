use crate::model::{Evidence, Source};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};
use std::collections::BTreeSet;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "images.sprawl",
        title: "Image sprawl is avoided",
        severity: Severity::Info,
        seed_item: None,
        profile: Profile::All,
        cis: &["6.1"],
        rationale: "Images nobody runs still carry their vulnerabilities and take disk space; \
many of them make it hard to know what is deployed.",
        decided: "`manual`: how many images are too many is yours to decide. The evidence counts \
the images of `GET /images/json` and those no container (in any state) uses.",
        remediation: "Remove unused images: `docker image prune -a` (review the list first).",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let (images, containers) = match (&cx.daemon.objects.images, &cx.daemon.objects.containers) {
        (Ok(i), Ok(c)) => (i, c),
        (Err(e), _) | (_, Err(e)) => return super::super::objects_unknown(cx, e),
    };
    let used: BTreeSet<&str> = containers
        .iter()
        .filter_map(|c| c.str_at("/Image"))
        .collect();
    let unused: Vec<&str> = images
        .iter()
        .filter(|i| !used.contains(i.id.as_str()))
        .map(|i| i.name())
        .collect();
    Outcome::manual(format!(
        "{} image(s), {} not used by any container",
        images.len(),
        unused.len()
    ))
    .with(Evidence::new(
        Source::Api,
        "GET /images/json",
        format!(
            "{} image(s); unused: {}",
            images.len(),
            if unused.is_empty() {
                "none".to_string()
            } else {
                unused.join(", ")
            }
        ),
    ))
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, image, lines, snapshot};
    use serde_json::json;

    #[test]
    fn sprawl() {
        let (used, h) = image("app", json!({}), &[]);
        let id = used["Id"].clone();
        let snap = snapshot(
            json!({}),
            &[container("web", json!({"Image": id}))],
            &[(used, h), image("old", json!({}), &[])],
        );
        insta::assert_snapshot!(lines("images.sprawl", &snap), @r"
            daemon: manual: 2 image(s), 1 not used by any container [api GET /images/json: 2 image(s); unused: old:latest]
            ");
    }
}
