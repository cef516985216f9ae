use crate::model::{Evidence, Source};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.sprawl",
        title: "Container sprawl is avoided",
        severity: Severity::Info,
        seed_item: None,
        profile: Profile::All,
        cis: &["6.2"],
        rationale: "Stopped containers keep their writable layers, volumes and configuration \
(secrets in environment variables included) on the host.",
        decided: "`manual`: the evidence counts the containers of `GET /containers/json?all=1` by \
state.",
        remediation: "Remove containers that are not needed: `docker container prune` (review the \
list first).",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let containers = match &cx.daemon.objects.containers {
        Ok(c) => c,
        Err(e) => return super::super::objects_unknown(cx, e),
    };
    let running = containers.iter().filter(|c| c.running).count();
    let stopped: Vec<&str> = containers
        .iter()
        .filter(|c| !c.running)
        .map(|c| c.name.as_str())
        .collect();
    Outcome::manual(format!(
        "{} container(s): {running} running, {} not running",
        containers.len(),
        stopped.len()
    ))
    .with(Evidence::new(
        Source::Api,
        "GET /containers/json?all=1",
        format!(
            "not running: {}",
            if stopped.is_empty() {
                "none".to_string()
            } else {
                stopped.join(", ")
            }
        ),
    ))
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, lines, snapshot};
    use serde_json::json;

    #[test]
    fn sprawl() {
        let snap = snapshot(
            json!({}),
            &[
                container("web", json!({})),
                container(
                    "job",
                    json!({"State": {"Status": "exited", "Running": false}}),
                ),
            ],
            &[],
        );
        insta::assert_snapshot!(lines("containers.sprawl", &snap), @r"
            daemon: manual: 2 container(s): 1 running, 1 not running [api GET /containers/json?all=1: not running: job]
            ");
    }
}
