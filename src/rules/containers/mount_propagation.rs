use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.mount-propagation",
        title: "Do not share mount propagation with the host",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.20"],
        rationale: "With shared propagation, mounts made inside the container appear on the host \
(and the other way round): a container can mount over host paths.",
        decided: "`Mounts[].Propagation` of `GET /containers/ID/json`, for every container in any \
state. Fail when a mount is `shared` or `rshared`; `private`, `rprivate`, `slave` and `rslave` \
pass.",
        remediation: "Recreate the container with its bind mounts `private` or `rslave` (the \
default is `rprivate`): drop `:shared`/`:rshared` from `-v`, `bind-propagation=` from `--mount`.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let mounts = super::mounts(c);
    let shared: Vec<_> = mounts
        .iter()
        .filter(|m| matches!(m.propagation, "shared" | "rshared"))
        .collect();
    if shared.is_empty() {
        return Outcome::pass("no mount propagates to the host").with(super::mounts_evidence(c));
    }
    let what: Vec<String> = shared
        .iter()
        .map(|m| format!("{} ({})", m.destination, m.propagation))
        .collect();
    Outcome::fail(format!("shares mount propagation: {}", what.join(", ")))
        .with_all(shared.iter().map(|m| m.evidence(c)))
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn mount_propagation() {
        let m = |p: &str| {
            json!({"Type": "bind", "Source": "/srv", "Destination": "/srv", "RW": true,
                   "Propagation": p})
        };
        let got = outcomes(
            "containers.mount-propagation",
            &[
                container("private", json!({"Mounts": [m("rprivate"), m("rslave")]})),
                container("shared", json!({"Mounts": [m("rshared")]})),
            ],
        );
        insta::assert_snapshot!(got, @r"
        private: pass: no mount propagates to the host [api GET /containers/private00000/json: Mounts: /srv -> /srv, /srv -> /srv]
        shared: fail: shares mount propagation: /srv (rshared) [api GET /containers/shared000000/json: Mounts.0: bind /srv -> /srv (rw, rshared)]
        ");
    }
}
