use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.apparmor",
        title: "Confine containers with an AppArmor profile",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.2"],
        rationale: "An AppArmor profile (Docker's `docker-default` or your own) denies a container \
writes to /proc and /sys, mounts and other host-level operations even when it runs as root.",
        decided: "`not_applicable` when the host has no AppArmor (`name=apparmor` missing from \
`SecurityOptions` of `GET /info`). Otherwise `AppArmorProfile` of `GET /containers/ID/json`: \
fail when it is `unconfined` (`--security-opt apparmor=unconfined`), or empty on a privileged \
container (dockerd then starts it unconfined). Empty on other containers passes: dockerd applies \
`docker-default` at start.",
        remediation: "Recreate the container without `--security-opt apparmor=unconfined` and \
without `--privileged`, or with `--security-opt apparmor=PROFILE` for a profile of your own.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(cx: &Ctx<'_>, c: &Container) -> Outcome {
    let (host, he) = match super::host_security(cx, "apparmor") {
        Ok(h) => h,
        Err(o) => return o,
    };
    if host.is_none() {
        return Outcome::not_applicable("the host has no AppArmor").with(he);
    }
    let e = c.evidence("/AppArmorProfile");
    match c.str_at("/AppArmorProfile").unwrap_or_default() {
        "unconfined" => Outcome::fail("runs without AppArmor (profile unconfined)").with(e),
        "" if c.bool_at("/HostConfig/Privileged") => {
            Outcome::fail("privileged: dockerd starts it without AppArmor")
                .with(e)
                .with(c.evidence("/HostConfig/Privileged"))
        }
        "" => Outcome::pass("AppArmor profile docker-default (applied at start)").with(e),
        p => Outcome::pass(format!("AppArmor profile {p}")).with(e),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, lines, outcomes, snapshot};
    use serde_json::json;

    #[test]
    fn apparmor() {
        let cs = [
            container("default", json!({"AppArmorProfile": "docker-default"})),
            container("unset", json!({"AppArmorProfile": ""})),
            container("free", json!({"AppArmorProfile": "unconfined"})),
            container(
                "root",
                json!({"AppArmorProfile": "", "HostConfig": {"Privileged": true}}),
            ),
        ];
        let info = json!({"SecurityOptions": ["name=apparmor", "name=seccomp,profile=default"]});
        let got = lines("containers.apparmor", &snapshot(info, &cs, &[]));
        insta::assert_snapshot!(got, @r"
        default: pass: AppArmor profile docker-default [api GET /containers/default00000/json: AppArmorProfile: docker-default]
        unset: pass: AppArmor profile docker-default (applied at start) [api GET /containers/unset0000000/json: AppArmorProfile: ]
        free: fail: runs without AppArmor (profile unconfined) [api GET /containers/free00000000/json: AppArmorProfile: unconfined]
        root: fail: privileged: dockerd starts it without AppArmor [api GET /containers/root00000000/json: AppArmorProfile: ; api GET /containers/root00000000/json: HostConfig.Privileged: true]
        ");
        let got = outcomes("containers.apparmor", &cs[..1]);
        insta::assert_snapshot!(got, @r"
        default: not_applicable: the host has no AppArmor [api GET /info: SecurityOptions: name=seccomp,profile=default]
        ");
    }
}
