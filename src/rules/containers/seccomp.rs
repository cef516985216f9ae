use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.seccomp",
        title: "Do not disable the seccomp profile of containers",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.22"],
        rationale: "Docker's default seccomp profile blocks some 50 system calls (keyring, \
kernel modules, `unshare`, ...) used by many kernel exploits; without it a container reaches \
the whole kernel interface.",
        decided: "`HostConfig.SecurityOpt` of `GET /containers/ID/json`, for every container in \
any state: fail when the last `seccomp=` (or `seccomp:`) is `unconfined`, or the container is \
privileged (dockerd applies no seccomp filter to it). A container without a profile of its own \
gets the daemon's: fail when `SecurityOptions` of `GET /info` has no `name=seccomp` (no seccomp \
support) or its profile is `unconfined`.",
        remediation: "Recreate the container without `--security-opt seccomp=unconfined` and \
without `--privileged`; if the default profile blocks a call it needs, give it a profile of its \
own (`--security-opt seccomp=profile.json`) that allows only that.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(cx: &Ctx<'_>, c: &Container) -> Outcome {
    if c.bool_at("/HostConfig/Privileged") {
        return Outcome::fail("privileged: runs without a seccomp filter")
            .with(c.evidence("/HostConfig/Privileged"));
    }
    let opts = super::security_opt_evidence(c);
    match super::security_opts(c, "seccomp").last() {
        Some(&"unconfined") => {
            return Outcome::fail("runs without a seccomp filter (seccomp=unconfined)").with(opts);
        }
        Some(_) => return Outcome::pass("runs with its own seccomp profile").with(opts),
        None => {}
    }
    let (host, he) = match super::host_security(cx, "seccomp") {
        Ok(h) => h,
        Err(o) => return o.with(opts),
    };
    match host {
        None => Outcome::fail("the daemon applies no seccomp filter (no seccomp support)"),
        Some(o) if o.split(',').any(|p| p == "profile=unconfined") => {
            Outcome::fail("the daemon's seccomp profile is unconfined")
        }
        Some(_) => Outcome::pass("runs with the daemon's seccomp profile"),
    }
    .with(opts)
    .with(he)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, lines, outcomes, snapshot};
    use serde_json::json;

    #[test]
    fn seccomp() {
        let got = outcomes(
            "containers.seccomp",
            &[
                container("default", json!({"HostConfig": {"SecurityOpt": null}})),
                container(
                    "own",
                    json!({"HostConfig": {"SecurityOpt": ["seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\"}"]}}),
                ),
                container(
                    "free",
                    json!({"HostConfig": {"SecurityOpt": ["label=disable", "seccomp:unconfined"]}}),
                ),
                container("root", json!({"HostConfig": {"Privileged": true}})),
            ],
        );
        insta::assert_snapshot!(got, @r#"
        default: pass: runs with the daemon's seccomp profile [api GET /containers/default00000/json: HostConfig.SecurityOpt: unset; api GET /info: SecurityOptions: name=seccomp,profile=default]
        own: pass: runs with its own seccomp profile [api GET /containers/own000000000/json: HostConfig.SecurityOpt: ["seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\"}"]]
        free: fail: runs without a seccomp filter (seccomp=unconfined) [api GET /containers/free00000000/json: HostConfig.SecurityOpt: ["label=disable","seccomp:unconfined"]]
        root: fail: privileged: runs without a seccomp filter [api GET /containers/root00000000/json: HostConfig.Privileged: true]
        "#);
        let cs = [container("default", json!({}))];
        let got = lines(
            "containers.seccomp",
            &snapshot(json!({"SecurityOptions": []}), &cs, &[]),
        );
        insta::assert_snapshot!(got, @r"
        default: fail: the daemon applies no seccomp filter (no seccomp support) [api GET /containers/default00000/json: HostConfig.SecurityOpt: unset; api GET /info: SecurityOptions: ]
        ");
    }
}
