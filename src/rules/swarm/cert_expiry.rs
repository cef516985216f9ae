use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};
use serde_json::Value;

/// Docker's default node certificate lifetime: 90 days (2160 h), in ns.
const DEFAULT_NS: i64 = 90 * 24 * 3600 * 1_000_000_000;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "swarm.cert-expiry",
        title: "Swarm node certificates are rotated at least every 90 days",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["7.7"],
        rationale: "Node certificates authenticate every node to the managers: a long lifetime \
leaves a stolen certificate valid for longer.",
        decided: "On a swarm manager: `Spec.CAConfig.NodeCertExpiry` of `GET /swarm` (nanoseconds; \
default 90 days). Pass when it is at most 90 days. `not_applicable` outside swarm mode and on \
workers.",
        remediation: "`docker swarm update --cert-expiry 2160h0m0s` (or shorter).",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let swarm = match super::manager_call(cx, "/swarm") {
        Ok(v) => v,
        Err(o) => return o,
    };
    let ns = swarm
        .pointer("/Spec/CAConfig/NodeCertExpiry")
        .and_then(Value::as_i64);
    let e = crate::model::Evidence::new(
        crate::model::Source::Api,
        "GET /swarm",
        format!(
            "Spec.CAConfig.NodeCertExpiry: {}",
            ns.map(|n| n.to_string())
                .unwrap_or_else(|| "unset (90 days)".into())
        ),
    );
    let ns = ns.filter(|n| *n > 0).unwrap_or(DEFAULT_NS);
    let days = ns / (24 * 3600 * 1_000_000_000);
    if ns <= DEFAULT_NS {
        Outcome::pass(format!("node certificates expire after {days} day(s)")).with(e)
    } else {
        Outcome::fail(format!(
            "node certificates expire after {days} days (more than 90)"
        ))
        .with(e)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::swarm::tests::{manager_info, swarm_snapshot};
    use crate::rules::testing::lines;
    use serde_json::json;

    #[test]
    fn cert_expiry() {
        let default = json!({"Spec": {"CAConfig": {"NodeCertExpiry": 7_776_000_000_000_000i64}}});
        let long = json!({"Spec": {"CAConfig": {"NodeCertExpiry": 31_536_000_000_000_000i64}}});
        let got = lines(
            "swarm.cert-expiry",
            &swarm_snapshot(manager_info(), &[("/swarm", default)]),
        ) + &lines(
            "swarm.cert-expiry",
            &swarm_snapshot(manager_info(), &[("/swarm", long)]),
        );
        insta::assert_snapshot!(got, @r"
            daemon: pass: node certificates expire after 90 day(s) [api GET /swarm: Spec.CAConfig.NodeCertExpiry: 7776000000000000]
            daemon: fail: node certificates expire after 365 days (more than 90) [api GET /swarm: Spec.CAConfig.NodeCertExpiry: 31536000000000000]
            ");
    }
}
