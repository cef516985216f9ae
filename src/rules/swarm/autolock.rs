use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};
use serde_json::Value;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "swarm.autolock",
        title: "Swarm managers are auto-locked",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["7.5"],
        rationale: "Without auto-lock the keys that decrypt the Raft log (secrets, configs, \
certificates) lie on the manager's disk: a stolen disk or backup gives them away.",
        decided: "On a swarm manager: `Spec.EncryptionConfig.AutoLockManagers` of `GET /swarm`. \
Pass when true. `not_applicable` outside swarm mode and on workers.",
        remediation: "`docker swarm update --autolock=true`, and keep the unlock key somewhere safe \
(it is needed after every manager restart).",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let swarm = match super::manager_call(cx, "/swarm") {
        Ok(v) => v,
        Err(o) => return o,
    };
    let on = swarm
        .pointer("/Spec/EncryptionConfig/AutoLockManagers")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let e = crate::model::Evidence::new(
        crate::model::Source::Api,
        "GET /swarm",
        format!("Spec.EncryptionConfig.AutoLockManagers: {on}"),
    );
    if on {
        Outcome::pass("managers are auto-locked").with(e)
    } else {
        Outcome::fail("managers are not auto-locked").with(e)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::swarm::tests::{manager_info, swarm_snapshot};
    use crate::rules::testing::lines;
    use serde_json::json;

    #[test]
    fn autolock() {
        let on = json!({"Spec": {"EncryptionConfig": {"AutoLockManagers": true}}});
        let off = json!({"Spec": {"EncryptionConfig": {"AutoLockManagers": false}}});
        let worker = json!({"Swarm": {"LocalNodeState": "active", "ControlAvailable": false}});
        let got = lines(
            "swarm.autolock",
            &swarm_snapshot(manager_info(), &[("/swarm", on)]),
        ) + &lines(
            "swarm.autolock",
            &swarm_snapshot(manager_info(), &[("/swarm", off)]),
        ) + &lines("swarm.autolock", &swarm_snapshot(worker, &[]))
            + &lines("swarm.autolock", &swarm_snapshot(manager_info(), &[]));
        insta::assert_snapshot!(got, @r"
            daemon: pass: managers are auto-locked [api GET /swarm: Spec.EncryptionConfig.AutoLockManagers: true]
            daemon: fail: managers are not auto-locked [api GET /swarm: Spec.EncryptionConfig.AutoLockManagers: false]
            daemon: not_applicable: this node is a swarm worker: the cluster settings are on the managers [api GET /info: Swarm.LocalNodeState: active]
            daemon: error: swarm evidence missing: GET /swarm was not collected []
            ");
    }
}
