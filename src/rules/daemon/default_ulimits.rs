use crate::model::config::keys;
use crate::model::{Evidence, Source};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, config};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.default-ulimits",
        title: "Set default ulimits for containers as appropriate",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::All,
        cis: &["2.8"],
        rationale: "Default ulimits (open files, processes, ...) bound what one container can take \
from the host; which limits suit the workload is a decision for its owner.",
        decided: "Always `manual`: appropriate limits depend on the workload. The evidence lists \
the effective `default-ulimits` (`--default-ulimit name=soft[:hard]`, repeatable, and the \
`\"default-ulimits\"` object of daemon.json), each with where it was set; none means containers \
inherit dockerd's own limits.",
        remediation: "Set `\"default-ulimits\"` in /etc/docker/daemon.json (for example \
`{\"nofile\": {\"Name\": \"nofile\", \"Soft\": 20000, \"Hard\": 40000}}`) or \
`--default-ulimit nofile=20000:40000`, and restart dockerd.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let c = match config(cx) {
        Ok(c) => c,
        Err(o) => return o,
    };
    let limits = c.map(keys::DEFAULT_ULIMITS);
    if limits.is_empty() {
        return Outcome::manual(
            "decide by hand; no default ulimit is set: containers inherit dockerd's own limits",
        )
        .with(Evidence::new(
            Source::Default,
            "default",
            "default-ulimits: dockerd default (none)",
        ));
    }
    let names: Vec<&str> = limits.keys().map(String::as_str).collect();
    Outcome::manual(format!(
        "decide by hand; default ulimits: {}",
        names.join(", ")
    ))
    .with_all(limits.into_iter().map(|(k, (v, mut e))| {
        e.detail = format!("{k}: {v} ({})", e.detail);
        e
    }))
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::daemon_lines;
    use serde_json::json;

    #[test]
    fn lists_the_effective_ulimits() {
        let got = [
            daemon_lines("daemon.default-ulimits", json!({}), &["dockerd"], None),
            daemon_lines(
                "daemon.default-ulimits",
                json!({}),
                &["dockerd", "--default-ulimit", "nproc=512:1024"],
                None,
            ),
            daemon_lines(
                "daemon.default-ulimits",
                json!({}),
                &["dockerd"],
                Some(r#"{"default-ulimits": {"nofile": {"Name": "nofile", "Soft": 100, "Hard": 200}}}"#),
            ),
        ]
        .concat();
        insta::assert_snapshot!(got, @r#"
            daemon: manual: decide by hand; no default ulimit is set: containers inherit dockerd's own limits [default default: default-ulimits: dockerd default (none)]
            daemon: manual: decide by hand; default ulimits: nproc [argv argv[1]: nproc: {"Hard":1024,"Name":"nproc","Soft":512} (--default-ulimit nproc=512:1024)]
            daemon: manual: decide by hand; default ulimits: nofile [daemon.json /etc/docker/daemon.json:1: nofile: {"Hard":200,"Name":"nofile","Soft":100} ("default-ulimits": {"nofile": {"Name": "nofile", "Soft": 100, "Hard": 200}})]
            "#);
    }
}
