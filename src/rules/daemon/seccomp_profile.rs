use super::helpers::{string_set, verdict};
use crate::model::Evidence;
use crate::model::config::keys;
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, live_or_config};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.seccomp-profile",
        title: "Keep a daemon-wide seccomp profile",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["2.17"],
        rationale: "The seccomp profile blocks the system calls containers do not need (about 44 \
of them by default); `unconfined` gives every container the whole kernel interface.",
        decided: "Live: the `name=seccomp,profile=...` entry of `SecurityOptions` in `GET /info` \
(no such entry: seccomp is not supported or compiled in, and containers run without it). \
Otherwise the effective `seccomp-profile` (`--seccomp-profile`, `\"seccomp-profile\"`; unset or \
empty is the default profile). Pass for the default profile or a custom profile file; fail \
for `unconfined`.",
        remediation: "Remove `--seccomp-profile unconfined` / `\"seccomp-profile\": \"unconfined\"` \
(or point it to a reviewed profile file) and restart dockerd.",
    },
    check: Check::Daemon(check),
    fix: None,
};

/// The profile as `/info` names it: `default` when none is configured.
/// The built-in profile by the engine's name for it (`default` in 20.10,
/// `builtin` from 23.0; an empty or unset value means it).
fn normalise(p: Option<String>, builtin: &str) -> String {
    match p {
        Some(p) if p != "builtin" && p != "default" => p,
        _ => builtin.to_string(),
    }
}

fn check(cx: &Ctx<'_>) -> Outcome {
    let builtin = cx.view.engine.engine().info.seccomp_default_name;
    let live: Option<(String, Evidence)> = cx
        .view
        .live
        .as_ref()
        .and_then(|l| l.security_options.as_ref())
        .map(|(opts, e)| {
            let p = opts.iter().find_map(|o| {
                let mut it = o.split(',');
                (it.next() == Some("name=seccomp")).then(|| {
                    it.find_map(|kv| kv.strip_prefix("profile="))
                        .map(str::to_string)
                })
            });
            match p {
                Some(p) => (normalise(p, builtin), e.clone()),
                None => ("(seccomp not enabled)".to_string(), e.clone()),
            }
        });
    match live_or_config(cx, live.as_ref(), |c| {
        let (p, e) = string_set(c, keys::SECCOMP_PROFILE);
        (normalise(p, builtin), e)
    }) {
        Err(o) => o,
        Ok((p, e, w)) if p.starts_with('(') => {
            Outcome::fail("seccomp is not enabled: containers run without a seccomp profile")
                .with_all(e)
                .with_warnings(w)
        }
        Ok((p, e, w)) => verdict(
            p != "unconfined",
            format!("the daemon-wide seccomp profile is `{p}`"),
            "the daemon-wide seccomp profile is `unconfined`: no system call is filtered",
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
    fn unconfined_fails_default_and_custom_pass() {
        let rule = "daemon.seccomp-profile";
        let got = [
            daemon_lines(rule, json!({}), &["dockerd"], None),
            daemon_lines(
                rule,
                json!({"SecurityOptions": ["name=seccomp,profile=unconfined"]}),
                &["dockerd", "--seccomp-profile", "unconfined"],
                None,
            ),
            daemon_lines(
                rule,
                json!({"SecurityOptions": null}),
                &["dockerd"],
                Some(r#"{"seccomp-profile": "/etc/docker/seccomp.json"}"#),
            ),
        ]
        .concat();
        insta::assert_snapshot!(got, @r#"
            daemon: pass: the daemon-wide seccomp profile is `default` [api GET /info: SecurityOptions: name=seccomp,profile=default; default default: seccomp-profile: dockerd default (unset)]
            daemon: fail: the daemon-wide seccomp profile is `unconfined`: no system call is filtered [api GET /info: SecurityOptions: name=seccomp,profile=unconfined; argv argv[1]: --seccomp-profile unconfined]
            daemon: pass: the daemon-wide seccomp profile is `/etc/docker/seccomp.json` [daemon.json /etc/docker/daemon.json:1: "seccomp-profile": "/etc/docker/seccomp.json"]
            "#);
    }
}
