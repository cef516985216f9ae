use crate::model::config::keys;
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, config};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.userns-remap",
        title: "Remap container users to unprivileged host ids (user namespaces)",
        severity: Severity::High,
        seed_item: Some(4),
        profile: Profile::Seed,
        cis: &["2.9"],
        rationale: "Without user namespaces, root in a container is root on the host: a container \
escape gives full control of the host.",
        decided: "Live: `name=userns` or `name=rootless` in `SecurityOptions` of `GET /info`. \
Otherwise the effective `userns-remap` (set and not empty), or a rootless daemon (uid, \
rootlesskit parent, ROOTLESSKIT_STATE_DIR). Pass when containers run in a user namespace.",
        remediation: "Set `\"userns-remap\": \"default\"` in /etc/docker/daemon.json (dockerd creates the \
`dockremap` user and its /etc/subuid and /etc/subgid ranges) and restart dockerd. Images and \
containers created before are not visible afterwards, and `--privileged`, `--net=host` and \
`--pid=host` containers are refused. Or run Docker rootless.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn check(cx: &Ctx<'_>) -> Outcome {
    if let Some((opts, e)) = cx
        .view
        .live
        .as_ref()
        .and_then(|l| l.security_options.as_ref())
    {
        let has = |n: &str| {
            opts.iter()
                .any(|o| o == n || o.starts_with(&format!("{n},")))
        };
        // Where remapping was configured, as provenance.
        let configured = cx
            .view
            .config
            .as_ref()
            .ok()
            .map(|c| c.string(keys::USERNS_REMAP).1);
        let out = if has("name=userns") {
            Outcome::pass("user namespace remapping is active")
        } else if has("name=rootless") {
            Outcome::pass("the daemon runs rootless")
        } else {
            Outcome::fail("containers run without user namespace remapping")
        };
        return out.with(e.clone()).with_all(configured);
    }
    if cx.daemon.rootless {
        return Outcome::pass("the daemon runs rootless")
            .with_all(cx.daemon.rootless_evidence.iter().cloned());
    }
    let cfg = match config(cx) {
        Ok(c) => c,
        Err(o) => return o,
    };
    let (v, e) = cfg.string(keys::USERNS_REMAP);
    match v.filter(|s| !s.is_empty()) {
        Some(u) => Outcome::pass(format!("user namespace remapping to `{u}`")).with(e),
        None => Outcome::fail("userns-remap is not set").with(e),
    }
}

fn fix(cx: &crate::rules::remedy::FixCx<'_>) -> Result<crate::rules::remedy::FixSpec, String> {
    use crate::rules::remedy::{FixSpec, Hazard};
    let v = cx
        .inputs
        .userns_remap
        .clone()
        .ok_or("needs --userns-remap default|USER[:GROUP] (`default` makes dockerd create the dockremap user and its ranges)")?;
    let mut spec = FixSpec::set("userns-remap", serde_json::Value::String(v.clone()));
    if v != "default" {
        let (user, group) = v.split_once(':').unwrap_or((&v, &v));
        for (file, name) in [("/etc/subuid", user), ("/etc/subgid", group)] {
            let has = cx.snap.text(file).is_some_and(|t| {
                t.lines()
                    .any(|l| l.split(':').next().is_some_and(|n| n.trim() == name))
            });
            if !has {
                spec.hazards.push(Hazard::blocking(format!(
                    "{file} has no range for `{name}`: dockerd would not start (use `--userns-remap default`, or add a range)"
                )));
            }
        }
    }
    spec.hazards.push(Hazard::warning(
        "with user namespaces dockerd uses a new storage directory: existing containers and images are not visible afterwards (they are not deleted)",
    ));
    Ok(spec)
}
