use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.selinux",
        title: "Confine containers with SELinux labels",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.3"],
        rationale: "On an SELinux host, the container's process label keeps it from the host's \
files and from other containers, even as root.",
        decided: "`not_applicable` when the daemon does not run with SELinux (`name=selinux` \
missing from `SecurityOptions` of `GET /info`: `--selinux-enabled` off or SELinux disabled). \
Otherwise fail when `HostConfig.SecurityOpt` has `label=disable` (or `label:disable`, `disable`), \
or the container has no `ProcessLabel`; pass with the label it runs with.",
        remediation: "Recreate the container without `--security-opt label=disable` (and without \
`--privileged`, which also disables labelling); set a type with `--security-opt label=type:TYPE` \
if the default does not fit.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(cx: &Ctx<'_>, c: &Container) -> Outcome {
    let (host, he) = match super::host_security(cx, "selinux") {
        Ok(h) => h,
        Err(o) => return o,
    };
    if host.is_none() {
        return Outcome::not_applicable("the daemon does not use SELinux").with(he);
    }
    let opts = super::security_opt_evidence(c);
    let pl = c.evidence("/ProcessLabel");
    if super::security_opts(c, "label").contains(&"disable") {
        return Outcome::fail("SELinux labelling is disabled (label=disable)").with(opts);
    }
    match c.str_at("/ProcessLabel").unwrap_or_default() {
        "" => Outcome::fail("runs without an SELinux process label")
            .with(pl)
            .with(opts),
        l => Outcome::pass(format!("SELinux process label {l}")).with(pl),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, lines, outcomes, snapshot};
    use serde_json::json;

    #[test]
    fn selinux() {
        let cs = [
            container(
                "labelled",
                json!({"ProcessLabel": "system_u:system_r:container_t:s0:c1,c2"}),
            ),
            container(
                "off",
                json!({"ProcessLabel": "", "HostConfig": {"SecurityOpt": ["label:disable"]}}),
            ),
            container("none", json!({"ProcessLabel": ""})),
        ];
        let info = json!({"SecurityOptions": ["name=seccomp,profile=default", "name=selinux"]});
        let got = lines("containers.selinux", &snapshot(info, &cs, &[]));
        insta::assert_snapshot!(got, @r#"
        labelled: pass: SELinux process label system_u:system_r:container_t:s0:c1,c2 [api GET /containers/labelled0000/json: ProcessLabel: system_u:system_r:container_t:s0:c1,c2]
        off: fail: SELinux labelling is disabled (label=disable) [api GET /containers/off000000000/json: HostConfig.SecurityOpt: ["label:disable"]]
        none: fail: runs without an SELinux process label [api GET /containers/none00000000/json: ProcessLabel: ; api GET /containers/none00000000/json: HostConfig.SecurityOpt: unset]
        "#);
        let got = outcomes("containers.selinux", &cs[..1]);
        insta::assert_snapshot!(got, @r"
        labelled: not_applicable: the daemon does not use SELinux [api GET /info: SecurityOptions: name=seccomp,profile=default]
        ");
    }
}
