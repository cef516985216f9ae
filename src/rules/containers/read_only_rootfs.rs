use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.read-only-rootfs",
        title: "Mount the container's root file system read-only",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.13"],
        rationale: "A read-only root file system keeps an intruder from changing the container's \
binaries and configuration, and makes the places it writes to explicit (volumes, tmpfs).",
        decided: "`HostConfig.ReadonlyRootfs` of `GET /containers/ID/json`, for every container \
in any state. Pass when it is true.",
        remediation: "Recreate the container with `--read-only`, giving it volumes or `--tmpfs` \
for the paths it must write.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let e = c.evidence("/HostConfig/ReadonlyRootfs");
    if c.bool_at("/HostConfig/ReadonlyRootfs") {
        Outcome::pass("root file system is read-only").with(e)
    } else {
        Outcome::fail("root file system is writable").with(e)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn read_only_rootfs() {
        let got = outcomes(
            "containers.read-only-rootfs",
            &[
                container("ro", json!({"HostConfig": {"ReadonlyRootfs": true}})),
                container("rw", json!({"HostConfig": {"ReadonlyRootfs": false}})),
            ],
        );
        insta::assert_snapshot!(got, @r"
        ro: pass: root file system is read-only [api GET /containers/ro0000000000/json: HostConfig.ReadonlyRootfs: true]
        rw: fail: root file system is writable [api GET /containers/rw0000000000/json: HostConfig.ReadonlyRootfs: false]
        ");
    }
}
