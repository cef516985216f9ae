use super::helpers::string_set;
use crate::model::config::keys;
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, live_or_config};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.cgroup-parent",
        title: "Use the default cgroup parent for containers",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["2.10"],
        rationale: "The cgroup parent decides which resource limits contain all containers; a \
non-default parent can put them under a group with looser (or no) limits.",
        decided: "The API does not report it: the effective `cgroup-parent` (`--cgroup-parent`, \
`\"cgroup-parent\"`). Pass when it is unset or empty (dockerd then uses `/docker` with the \
cgroupfs driver, `system.slice` with systemd). Any explicit value fails: CIS asks to confirm \
the default cgroup usage, so a deliberate parent is to be confirmed by hand and excluded.",
        remediation: "Remove `--cgroup-parent` and `\"cgroup-parent\"` unless the parent is \
deliberate and its limits reviewed, and restart dockerd.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    match live_or_config(cx, None, |c| string_set(c, keys::CGROUP_PARENT)) {
        Err(o) => o,
        Ok((None, e, w)) => Outcome::pass("containers use the default cgroup parent")
            .with_all(e)
            .with_warnings(w),
        Ok((Some(p), e, w)) => Outcome::fail(format!(
            "the cgroup parent is set to `{p}`: confirm it is intended"
        ))
        .with_all(e)
        .with_warnings(w),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::daemon_lines;
    use serde_json::json;

    #[test]
    fn unset_passes_set_fails() {
        let got = [
            daemon_lines("daemon.cgroup-parent", json!({}), &["dockerd"], None),
            daemon_lines(
                "daemon.cgroup-parent",
                json!({}),
                &["dockerd"],
                Some(r#"{"cgroup-parent": "/custom"}"#),
            ),
        ]
        .concat();
        insta::assert_snapshot!(got, @r#"
            daemon: pass: containers use the default cgroup parent [default default: cgroup-parent: dockerd default (unset)]
            daemon: fail: the cgroup parent is set to `/custom`: confirm it is intended [daemon.json /etc/docker/daemon.json:1: "cgroup-parent": "/custom"]
            "#);
    }
}
