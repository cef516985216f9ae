use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.memory-limit",
        title: "Limit container memory",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.11"],
        rationale: "A container without a memory limit can take all of the host's memory and \
make the kernel kill host processes or other containers.",
        decided: "`HostConfig.Memory` of `GET /containers/ID/json`, for every container in any \
state. Fail when it is 0 (unlimited).",
        remediation: "Recreate the container with `--memory SIZE` (for example `--memory 512m`), \
or change it in place with `docker update --memory SIZE --memory-swap SIZE`.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let e = c.evidence("/HostConfig/Memory");
    match c.i64_at("/HostConfig/Memory") {
        m if m > 0 => Outcome::pass(format!("memory limited to {m} bytes")).with(e),
        _ => Outcome::fail("no memory limit").with(e),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn memory_limit() {
        let got = outcomes(
            "containers.memory-limit",
            &[
                container("limited", json!({"HostConfig": {"Memory": 536870912}})),
                container("free", json!({"HostConfig": {"Memory": 0}})),
            ],
        );
        insta::assert_snapshot!(got, @r"
        limited: pass: memory limited to 536870912 bytes [api GET /containers/limited00000/json: HostConfig.Memory: 536870912]
        free: fail: no memory limit [api GET /containers/free00000000/json: HostConfig.Memory: 0]
        ");
    }
}
