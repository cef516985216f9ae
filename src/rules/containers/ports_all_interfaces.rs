use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.ports-all-interfaces",
        title: "Bind published container ports to a specific host interface",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.14"],
        rationale: "A port published without an address listens on every host interface, \
including public ones, and Docker's iptables rules bypass the host's own firewall for it.",
        decided: "The published ports of `GET /containers/ID/json`: `NetworkSettings.Ports` for a \
running container, `HostConfig.PortBindings` otherwise. Fail when a `HostIp` is empty, \
`0.0.0.0` or `::` (every interface).",
        remediation: "Publish on the address the service is meant for: `-p 127.0.0.1:8080:80` or \
`-p 192.0.2.10:443:443`; or set the daemon's default `--ip`.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let (list, e) = super::bindings(c);
    let any: Vec<String> = list
        .iter()
        .filter(|b| matches!(b.host_ip, "" | "0.0.0.0" | "::"))
        .map(|b| b.text())
        .collect();
    if !any.is_empty() {
        Outcome::fail(format!("publishes on every interface: {}", any.join(", "))).with(e)
    } else if list.is_empty() {
        Outcome::pass("publishes no ports").with(e)
    } else {
        Outcome::pass("publishes ports on specific addresses only").with(e)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn ports_all_interfaces() {
        let got = outcomes(
            "containers.ports-all-interfaces",
            &[
                container(
                    "none",
                    json!({"NetworkSettings": {"Ports": {"80/tcp": null}}}),
                ),
                container(
                    "local",
                    json!({"NetworkSettings": {"Ports": {
                        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}}}),
                ),
                container(
                    "public",
                    json!({"NetworkSettings": {"Ports": {
                        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"},
                                   {"HostIp": "::", "HostPort": "8080"}]}}}),
                ),
            ],
        );
        insta::assert_snapshot!(got, @r"
        none: pass: publishes no ports [api GET /containers/none00000000/json: NetworkSettings.Ports: no published ports]
        local: pass: publishes ports on specific addresses only [api GET /containers/local0000000/json: NetworkSettings.Ports: 80/tcp -> 127.0.0.1:8080]
        public: fail: publishes on every interface: 80/tcp -> 0.0.0.0:8080, 80/tcp -> [::]:8080 [api GET /containers/public000000/json: NetworkSettings.Ports: 80/tcp -> 0.0.0.0:8080, 80/tcp -> [::]:8080]
        ");
    }
}
