use crate::model::config::keys;
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, live_or_config};

/// Drivers that keep logs only on the host (or nowhere).
const LOCAL_DRIVERS: &[&str] = &["json-file", "local", "none"];

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.remote-logging",
        title: "Send container logs to a central, remote log service",
        severity: Severity::Medium,
        seed_item: Some(6),
        profile: Profile::Seed,
        cis: &["2.13"],
        rationale: "Logs kept only on the host are lost with it; a remote log service keeps them \
safe after a compromise or a catastrophic failure.",
        decided: "Live: `LoggingDriver` of `GET /info`. Otherwise the effective `log-driver` \
(default json-file). Pass when it is not `json-file`, `local` or `none`.",
        remediation: "Set `\"log-driver\": \"syslog\"` (or journald, fluentd, gelf, ...) with a reachable \
`syslog-address` in `log-opts`, remove json-file-only options (`max-size`, `max-file`, `compress`: \
dockerd refuses to start with them), and restart dockerd. Without /dev/log or a reachable \
syslog-address every new container fails to start.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let live = cx
        .view
        .live
        .as_ref()
        .and_then(|l| l.logging_driver.as_ref());
    let res = live_or_config(cx, live, |c| {
        let (v, e) = c.string(keys::LOG_DRIVER);
        (v.unwrap_or_else(|| "json-file".into()), e)
    });
    match res {
        Err(o) => o,
        Ok((d, e, w)) if LOCAL_DRIVERS.contains(&d.as_str()) => {
            Outcome::fail(format!("the log driver `{d}` keeps logs on this host only"))
                .with_all(e)
                .with_warnings(w)
        }
        Ok((d, e, w)) => Outcome::pass(format!("the log driver `{d}` sends logs off the host"))
            .with_all(e)
            .with_warnings(w),
    }
}

/// Log options only the json-file (and local) drivers accept: dockerd
/// refuses to start with them and another driver.
pub const JSON_FILE_ONLY_OPTS: &[&str] = &["max-size", "max-file", "compress"];

fn fix(cx: &crate::rules::remedy::FixCx<'_>) -> Result<crate::rules::remedy::FixSpec, String> {
    use crate::rules::remedy::{Change, FixSpec, Hazard, exists};
    let mut spec = FixSpec::set("log-driver", serde_json::Value::String("syslog".into()));
    let opts = cx.next.map(keys::LOG_OPTS);
    for k in JSON_FILE_ONLY_OPTS {
        if opts.contains_key(*k) {
            spec.changes.push(Change::RemoveMapKey {
                key: "log-opts".into(),
                inner: (*k).to_string(),
            });
            spec.hazards.push(Hazard::warning(format!(
                "log-opts {k} only applies to json-file/local: removed (dockerd refuses it with syslog)"
            )));
        }
    }
    match &cx.inputs.syslog_address {
        Some(a) => spec.changes.push(Change::SetMapKey {
            key: "log-opts".into(),
            inner: "syslog-address".into(),
            value: a.clone(),
        }),
        None => {
            let configured = opts.get("syslog-address").map(|(v, _)| v.clone());
            if configured.is_none() && !exists(cx.snap, "/dev/log") {
                spec.hazards.push(Hazard::blocking(
                    "syslog is not reachable: there is no /dev/log and no syslog-address (give --syslog-address URL): every new container would fail to start",
                ));
            }
        }
    }
    spec.hazards.push(Hazard::warning(
        "existing containers keep their log driver until they are recreated; `docker logs` does not work with syslog",
    ));
    Ok(spec)
}
