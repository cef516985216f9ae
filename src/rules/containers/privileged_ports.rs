use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.privileged-ports",
        title: "Do not publish container ports on privileged host ports",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.8"],
        rationale: "Host ports below 1024 are reserved for services started by root; a container \
publishing one takes the place of a system service.",
        decided: "The published ports of `GET /containers/ID/json`: `NetworkSettings.Ports` (what \
is bound) for a running container, `HostConfig.PortBindings` (what will be bound at start) \
otherwise. Fail when a host port is below 1024. An empty host port is a port chosen by dockerd \
from the ephemeral range.",
        remediation: "Publish the service on a host port of 1024 or more (`-p 8080:80`), or put a \
reverse proxy run by the host in front of it.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let (list, e) = super::bindings(c);
    let low: Vec<String> = list
        .iter()
        .filter(|b| b.host_port.parse::<u16>().is_ok_and(|p| p < 1024))
        .map(|b| b.text())
        .collect();
    if low.is_empty() {
        Outcome::pass("publishes no privileged host port").with(e)
    } else {
        Outcome::fail(format!(
            "publishes privileged host ports: {}",
            low.join(", ")
        ))
        .with(e)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn privileged_ports() {
        let got = outcomes(
            "containers.privileged-ports",
            &[
                container(
                    "high",
                    json!({"NetworkSettings": {"Ports": {
                        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
                        "443/tcp": null}}}),
                ),
                container(
                    "low",
                    json!({"NetworkSettings": {"Ports": {
                        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "80"},
                                   {"HostIp": "::", "HostPort": "80"}]}}}),
                ),
                container(
                    "stopped",
                    json!({"State": {"Status": "exited", "Running": false},
                           "NetworkSettings": {"Ports": {}},
                           "HostConfig": {"PortBindings": {
                               "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "53"}],
                               "22/tcp": [{"HostIp": "", "HostPort": ""}]}}}),
                ),
            ],
        );
        insta::assert_snapshot!(got, @r"
        high: pass: publishes no privileged host port [api GET /containers/high00000000/json: NetworkSettings.Ports: 80/tcp -> 0.0.0.0:8080]
        low: fail: publishes privileged host ports: 80/tcp -> 0.0.0.0:80, 80/tcp -> [::]:80 [api GET /containers/low000000000/json: NetworkSettings.Ports: 80/tcp -> 0.0.0.0:80, 80/tcp -> [::]:80]
        stopped: fail: publishes privileged host ports: 53/udp -> 127.0.0.1:53 [api GET /containers/stopped00000/json: HostConfig.PortBindings: 22/tcp -> *:(any), 53/udp -> 127.0.0.1:53]
        ");
    }
}
