use crate::model::config::keys;
use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.no-new-privileges",
        title: "Keep container processes from gaining privileges (no-new-privileges)",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.26"],
        rationale: "With no-new-privileges set, setuid and setgid binaries and file capabilities \
cannot raise the privileges of a process in the container.",
        decided: "`HostConfig.SecurityOpt` of `GET /containers/ID/json`, for every container in \
any state: the last `no-new-privileges` entry (bare, `=BOOL` or `:BOOL`, Go booleans) decides, \
as in dockerd. Without one, the daemon's effective `no-new-privileges` (command line and \
daemon.json) decides; dockerd applies it when a container is created, so a container created \
before it was turned on is not covered, which the API does not show.",
        remediation: "Recreate the container with `--security-opt no-new-privileges`, or set \
`\"no-new-privileges\": true` in daemon.json for containers created from then on.",
    },
    check: Check::Container(check),
    fix: None,
};

/// Go's `strconv.ParseBool`.
fn go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn check(cx: &Ctx<'_>, c: &Container) -> Outcome {
    let opts = super::security_opt_evidence(c);
    if let Some(v) = super::security_opts(c, "no-new-privileges").last() {
        return match go_bool(v) {
            Some(true) => Outcome::pass("no-new-privileges is set"),
            Some(false) => Outcome::fail("no-new-privileges is turned off for it"),
            None => Outcome::error(format!("no-new-privileges={v} is not a boolean")),
        }
        .with(opts);
    }
    let cfg = match crate::rules::config(cx) {
        Ok(c) => c,
        Err(o) => return o.with(opts),
    };
    let (on, e) = cfg.bool(keys::NO_NEW_PRIVILEGES);
    if on {
        Outcome::pass("the daemon sets no-new-privileges")
            .with(opts)
            .with(e)
    } else {
        Outcome::fail("no-new-privileges is not set (neither on it nor on the daemon)")
            .with(opts)
            .with(e)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, lines, outcomes, snapshot};
    use serde_json::json;

    #[test]
    fn no_new_privileges() {
        let cs = [
            container(
                "set",
                json!({"HostConfig": {"SecurityOpt": ["no-new-privileges"]}}),
            ),
            container("plain", json!({"HostConfig": {"SecurityOpt": null}})),
            container(
                "off",
                json!({"HostConfig": {"SecurityOpt": ["no-new-privileges:true", "no-new-privileges=0"]}}),
            ),
        ];
        let got = outcomes("containers.no-new-privileges", &cs);
        insta::assert_snapshot!(got, @r#"
        set: pass: no-new-privileges is set [api GET /containers/set000000000/json: HostConfig.SecurityOpt: ["no-new-privileges"]]
        plain: fail: no-new-privileges is not set (neither on it nor on the daemon) [api GET /containers/plain0000000/json: HostConfig.SecurityOpt: unset; default default: no-new-privileges: dockerd default false]
        off: fail: no-new-privileges is turned off for it [api GET /containers/off000000000/json: HostConfig.SecurityOpt: ["no-new-privileges:true","no-new-privileges=0"]]
        "#);
        let mut snap = snapshot(json!({}), &cs[1..], &[]);
        snap.daemons[0].argv.push("--no-new-privileges".into());
        let got = lines("containers.no-new-privileges", &snap);
        insta::assert_snapshot!(got, @r#"
        plain: pass: the daemon sets no-new-privileges [api GET /containers/plain0000000/json: HostConfig.SecurityOpt: unset; argv argv[1]: --no-new-privileges]
        off: fail: no-new-privileges is turned off for it [api GET /containers/off000000000/json: HostConfig.SecurityOpt: ["no-new-privileges:true","no-new-privileges=0"]]
        "#);
    }
}
