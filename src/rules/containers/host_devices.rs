use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.host-devices",
        title: "Expose host devices to containers only when needed",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::All,
        cis: &["5.18"],
        rationale: "A host device in a container (a disk, /dev/mem, a GPU) gives it direct \
access to the hardware, past the kernel's file permissions on the host.",
        decided: "Always `manual`: which devices a container needs is for a person to say. The \
evidence lists `HostConfig.Devices` of `GET /containers/ID/json` (host path, container path, \
cgroup permissions).",
        remediation: "Recreate the container without the `--device` options it does not need, \
and with the least permissions (`:r` instead of `:rwm`) for those it does.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let devices: Vec<String> = c
        .at("/HostConfig/Devices")
        .and_then(|d| d.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|d| {
            let s = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or_default();
            format!(
                "{} -> {} ({})",
                s("PathOnHost"),
                s("PathInContainer"),
                s("CgroupPermissions")
            )
        })
        .collect();
    let text = if devices.is_empty() {
        "none".to_string()
    } else {
        devices.join(", ")
    };
    let msg = match devices.len() {
        0 => "has no host devices".to_string(),
        n => format!("review its {n} host device(s)"),
    };
    Outcome::manual(msg).with(c.evidence_with("/HostConfig/Devices", &text))
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn host_devices() {
        let got = outcomes(
            "containers.host-devices",
            &[
                container("none", json!({"HostConfig": {"Devices": []}})),
                container(
                    "disk",
                    json!({"HostConfig": {"Devices": [{"PathOnHost": "/dev/sda",
                        "PathInContainer": "/dev/xvda", "CgroupPermissions": "rwm"}]}}),
                ),
            ],
        );
        insta::assert_snapshot!(got, @r"
        none: manual: has no host devices [api GET /containers/none00000000/json: HostConfig.Devices: none]
        disk: manual: review its 1 host device(s) [api GET /containers/disk00000000/json: HostConfig.Devices: /dev/sda -> /dev/xvda (rwm)]
        ");
    }
}
