use super::daemon_helpers::verdict;
use super::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, live_or_config};
use crate::model::Evidence;
use crate::model::config::keys;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.no-new-privileges",
        title: "Stop containers from acquiring new privileges by default",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["2.14"],
        rationale: "With no-new-privileges, setuid and setgid binaries and file capabilities \
inside a container cannot raise a process's privileges.",
        decided: "Live: `name=no-new-privileges` in `SecurityOptions` of `GET /info` (reported \
from Docker 24.0 only; 20.10 does not report it). Otherwise the effective `no-new-privileges` \
(Go booleans: `--no-new-privileges=false` is false; default false). Pass when it is true.",
        remediation: "Set `\"no-new-privileges\": true` in /etc/docker/daemon.json (or \
`--no-new-privileges`, never both) and restart dockerd. It applies to containers created \
afterwards; a container can still opt out with `--security-opt no-new-privileges=false`.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    // Only a `true` can be read from 20.10's /info: its absence proves nothing.
    let live: Option<(bool, Evidence)> = cx
        .view
        .live
        .as_ref()
        .and_then(|l| l.security_options.as_ref())
        .filter(|(o, _)| o.iter().any(|x| x == "name=no-new-privileges"))
        .map(|(_, e)| (true, e.clone()));
    match live_or_config(cx, live.as_ref(), |c| c.bool(keys::NO_NEW_PRIVILEGES)) {
        Err(o) => o,
        Ok((v, e, w)) => verdict(
            v,
            "containers cannot acquire new privileges (no-new-privileges=true)",
            "containers may acquire new privileges (no-new-privileges=false)",
            e,
            w,
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::daemon_lines;
    use serde_json::json;

    #[test]
    fn go_booleans_decide() {
        let got = [
            daemon_lines(
                "daemon.no-new-privileges",
                json!({}),
                &["dockerd", "--no-new-privileges"],
                None,
            ),
            daemon_lines(
                "daemon.no-new-privileges",
                json!({}),
                &["dockerd", "--no-new-privileges=false"],
                None,
            ),
            daemon_lines("daemon.no-new-privileges", json!({}), &["dockerd"], None),
        ]
        .concat();
        insta::assert_snapshot!(got, @r"
            daemon: pass: containers cannot acquire new privileges (no-new-privileges=true) [argv argv[1]: --no-new-privileges]
            daemon: fail: containers may acquire new privileges (no-new-privileges=false) [argv argv[1]: --no-new-privileges=false]
            daemon: fail: containers may acquire new privileges (no-new-privileges=false) [default default: no-new-privileges: dockerd default false]
            ");
    }
}
