use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.cpu-limit",
        title: "Set container CPU priority or limits",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.12"],
        rationale: "Without CPU shares or a CPU limit every container competes equally for the \
host's CPUs, and one busy container slows all the others and the host.",
        decided: "`HostConfig.CpuShares`, `HostConfig.NanoCpus` (`--cpus`) and \
`HostConfig.CpuQuota` of `GET /containers/ID/json`, for every container in any state. Fail \
when all three are 0 (unset).",
        remediation: "Recreate the container with `--cpus N` or `--cpu-shares N`, or change it \
in place with `docker update --cpus N`.",
    },
    check: Check::Container(check),
    fix: None,
};

const FIELDS: [&str; 3] = [
    "/HostConfig/CpuShares",
    "/HostConfig/NanoCpus",
    "/HostConfig/CpuQuota",
];

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let set: Vec<&str> = FIELDS.into_iter().filter(|f| c.i64_at(f) != 0).collect();
    if set.is_empty() {
        Outcome::fail("no CPU shares or limit").with_all(FIELDS.map(|f| c.evidence(f)))
    } else {
        Outcome::pass("CPU shares or limit set").with_all(set.into_iter().map(|f| c.evidence(f)))
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn cpu_limit() {
        let got = outcomes(
            "containers.cpu-limit",
            &[
                container(
                    "cpus",
                    json!({"HostConfig": {"NanoCpus": 1500000000, "CpuShares": 0}}),
                ),
                container(
                    "free",
                    json!({"HostConfig": {"CpuShares": 0, "NanoCpus": 0, "CpuQuota": 0}}),
                ),
            ],
        );
        insta::assert_snapshot!(got, @r"
        cpus: pass: CPU shares or limit set [api GET /containers/cpus00000000/json: HostConfig.NanoCpus: 1500000000]
        free: fail: no CPU shares or limit [api GET /containers/free00000000/json: HostConfig.CpuShares: 0; api GET /containers/free00000000/json: HostConfig.NanoCpus: 0; api GET /containers/free00000000/json: HostConfig.CpuQuota: 0]
        ");
    }
}
