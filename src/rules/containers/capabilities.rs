use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.capabilities",
        title: "Do not add dangerous Linux capabilities to containers",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.4"],
        rationale: "Capabilities such as SYS_ADMIN, SYS_MODULE or SYS_PTRACE let root in a \
container mount file systems, load kernel modules or trace other processes: most known \
container escapes need one of them.",
        decided: "`HostConfig.CapAdd` of `GET /containers/ID/json`, for every container in any \
state, names compared as dockerd does (any case, with or without `CAP_`). Fail when it adds \
ALL, SYS_ADMIN, SYS_MODULE, SYS_PTRACE, DAC_READ_SEARCH or NET_ADMIN, or when the container is \
privileged (every capability). Other added capabilities pass, listed.",
        remediation: "Recreate the container without `--cap-add` for those capabilities; better, \
`--cap-drop=ALL` and add back only what it needs.",
    },
    check: Check::Container(check),
    fix: None,
};

const DANGEROUS: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "SYS_MODULE",
    "SYS_PTRACE",
    "DAC_READ_SEARCH",
    "NET_ADMIN",
];

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let e = c.evidence("/HostConfig/CapAdd");
    if c.bool_at("/HostConfig/Privileged") {
        return Outcome::fail("privileged: has every capability")
            .with(c.evidence("/HostConfig/Privileged"));
    }
    let added: Vec<String> = c
        .strings_at("/HostConfig/CapAdd")
        .iter()
        .map(|n| {
            let n = n.to_ascii_uppercase();
            n.strip_prefix("CAP_").map(str::to_string).unwrap_or(n)
        })
        .collect();
    let bad: Vec<&str> = added
        .iter()
        .map(String::as_str)
        .filter(|n| DANGEROUS.contains(n))
        .collect();
    if !bad.is_empty() {
        Outcome::fail(format!("adds {}", bad.join(", "))).with(e)
    } else if added.is_empty() {
        Outcome::pass("adds no capabilities").with(e)
    } else {
        Outcome::pass(format!("adds only {}", added.join(", "))).with(e)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn capabilities() {
        let got = outcomes(
            "containers.capabilities",
            &[
                container("plain", json!({"HostConfig": {"CapAdd": null}})),
                container("chown", json!({"HostConfig": {"CapAdd": ["CHOWN"]}})),
                container(
                    "admin",
                    json!({"HostConfig": {"CapAdd": ["cap_sys_admin", "NET_RAW", "all"]}}),
                ),
                container("root", json!({"HostConfig": {"Privileged": true}})),
            ],
        );
        insta::assert_snapshot!(got, @r#"
        plain: pass: adds no capabilities [api GET /containers/plain0000000/json: HostConfig.CapAdd: unset]
        chown: pass: adds only CHOWN [api GET /containers/chown0000000/json: HostConfig.CapAdd: ["CHOWN"]]
        admin: fail: adds SYS_ADMIN, ALL [api GET /containers/admin0000000/json: HostConfig.CapAdd: ["cap_sys_admin","NET_RAW","all"]]
        root: fail: privileged: has every capability [api GET /containers/root00000000/json: HostConfig.Privileged: true]
        "#);
    }
}
