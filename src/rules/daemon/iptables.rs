use super::helpers::bool_rule;
use crate::model::config::keys;
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.iptables",
        title: "Allow dockerd to manage iptables rules",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["2.4"],
        rationale: "dockerd keeps the host's firewall consistent with the containers' networking \
(isolation between networks, icc=false, published ports); with iptables off those rules are \
left to hand-made firewall rules that drift.",
        decided: "The API does not report it: the effective `iptables` from the command line and \
daemon.json (default true; Go booleans: `--iptables=false` and `--iptables=0` turn it off). \
Pass when it is true.",
        remediation: "Remove `--iptables=false` and `\"iptables\": false` and restart dockerd.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    bool_rule(
        cx,
        keys::IPTABLES,
        true,
        "dockerd manages iptables",
        "dockerd does not manage iptables",
    )
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::daemon_lines;
    use serde_json::json;

    #[test]
    fn default_passes_false_fails() {
        let got = [
            daemon_lines("daemon.iptables", json!({}), &["dockerd"], None),
            daemon_lines(
                "daemon.iptables",
                json!({}),
                &["dockerd", "--iptables=0"],
                None,
            ),
            daemon_lines(
                "daemon.iptables",
                json!({}),
                &["dockerd"],
                Some(r#"{"iptables": false}"#),
            ),
        ]
        .concat();
        insta::assert_snapshot!(got, @r#"
            daemon: pass: dockerd manages iptables (iptables=true) [default default: iptables: dockerd default true]
            daemon: fail: dockerd does not manage iptables (iptables=false) [argv argv[1]: --iptables=0]
            daemon: fail: dockerd does not manage iptables (iptables=false) [daemon.json /etc/docker/daemon.json:1: "iptables": false]
            "#);
    }
}
