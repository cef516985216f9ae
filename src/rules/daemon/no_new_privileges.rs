use super::helpers::verdict;
use crate::model::Evidence;
use crate::model::config::keys;
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, live_or_config};

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
from Docker 24.0 only, so there its absence is a live `false`; 20.10 does not report it). Otherwise the effective `no-new-privileges` \
(Go booleans: `--no-new-privileges=false` is false; default false). Pass when it is true.",
        remediation: "Set `\"no-new-privileges\": true` in /etc/docker/daemon.json (or \
`--no-new-privileges`, never both) and restart dockerd. It applies to containers created \
afterwards; a container can still opt out with `--security-opt no-new-privileges=false`.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    // From 24.0 `/info` lists `name=no-new-privileges` whenever it is on, so
    // its absence is a live `false`; before, only a `true` can be read (its
    // absence proves nothing).
    let absence_is_false = cx.view.engine.engine().info.reports_no_new_privileges;
    let live: Option<(bool, Evidence)> = cx
        .view
        .live
        .as_ref()
        .and_then(|l| l.security_options.as_ref())
        .map(|(o, e)| (o.iter().any(|x| x == "name=no-new-privileges"), e))
        .filter(|(on, _)| *on || absence_is_false)
        .map(|(on, e)| (on, e.clone()));
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
    use crate::rules::testing::{daemon_lines, daemon_snapshot};
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

    /// A daemon started without no-new-privileges whose daemon.json now
    /// says true: 24.0+ reports it in `/info` (moby v24.0.0 daemon/info.go),
    /// so 28.5 is judged live (fail, the file's value a warning); 20.10's
    /// `/info` never lists it, so only the configuration tells.
    #[test]
    fn absence_from_info_is_false_from_24() {
        use crate::rules::testing::{lines, with_engine};
        let snap = |nnp_live: bool| {
            let mut opts = vec!["name=seccomp,profile=builtin"];
            if nnp_live {
                opts.push("name=no-new-privileges");
            }
            daemon_snapshot(
                json!({"SecurityOptions": opts}),
                &["dockerd"],
                Some("{\"no-new-privileges\": true}"),
            )
        };
        let got = [
            lines(
                "daemon.no-new-privileges",
                &with_engine(snap(false), "28.5.2"),
            ),
            lines(
                "daemon.no-new-privileges",
                &with_engine(snap(true), "28.5.2"),
            ),
            lines(
                "daemon.no-new-privileges",
                &with_engine(snap(false), "20.10.24"),
            ),
        ]
        .concat();
        insta::assert_snapshot!(got, @r#"
        daemon: fail: containers may acquire new privileges (no-new-privileges=false) [api GET /info: SecurityOptions: name=seccomp,profile=builtin; daemon.json /etc/docker/daemon.json:1: "no-new-privileges": true] (warning: the daemon reports false but its configuration says true (/etc/docker/daemon.json:1: "no-new-privileges": true))
        daemon: pass: containers cannot acquire new privileges (no-new-privileges=true) [api GET /info: SecurityOptions: name=seccomp,profile=builtin, name=no-new-privileges; daemon.json /etc/docker/daemon.json:1: "no-new-privileges": true]
        daemon: pass: containers cannot acquire new privileges (no-new-privileges=true) [daemon.json /etc/docker/daemon.json:1: "no-new-privileges": true]
        "#);
    }
}
