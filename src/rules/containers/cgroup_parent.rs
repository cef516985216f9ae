use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.cgroup-parent",
        title: "Use the default cgroup parent for containers",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.25"],
        rationale: "A container placed in another cgroup escapes the limits and accounting of \
the daemon's own cgroup tree, and may share limits with host services.",
        decided: "`HostConfig.CgroupParent` of `GET /containers/ID/json`, for every container in \
any state. Pass when it is empty (the daemon's `cgroup-parent`, by default `docker` or \
`system.slice`).",
        remediation: "Recreate the container without `--cgroup-parent`, unless that cgroup is \
deliberate and its limits are reviewed.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let e = c.evidence("/HostConfig/CgroupParent");
    match c.str_at("/HostConfig/CgroupParent").unwrap_or_default() {
        "" => Outcome::pass("default cgroup parent").with(e),
        p => Outcome::fail(format!("cgroup parent set to {p}")).with(e),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn cgroup_parent() {
        let got = outcomes(
            "containers.cgroup-parent",
            &[
                container("default", json!({"HostConfig": {"CgroupParent": ""}})),
                container(
                    "moved",
                    json!({"HostConfig": {"CgroupParent": "/system.slice"}}),
                ),
            ],
        );
        insta::assert_snapshot!(got, @r"
        default: pass: default cgroup parent [api GET /containers/default00000/json: HostConfig.CgroupParent: ]
        moved: fail: cgroup parent set to /system.slice [api GET /containers/moved0000000/json: HostConfig.CgroupParent: /system.slice]
        ");
    }
}
