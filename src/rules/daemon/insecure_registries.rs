use super::helpers::verdict;
use crate::model::config::keys;
use crate::model::daemon::IMPLICIT_INSECURE;
use crate::model::{Evidence, Source};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, live_or_config};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.insecure-registries",
        title: "Do not use insecure registries",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["2.5"],
        rationale: "An insecure registry is reached over plain HTTP or TLS without certificate \
verification: anyone on the path can read or replace the images pulled from it.",
        decided: "Live: `RegistryConfig` of `GET /info`: the `InsecureRegistryCIDRs` other than \
the implicit 127.0.0.0/8 (and ::1/128), and every `IndexConfigs` entry with `Secure: false`. \
Otherwise the effective `insecure-registries` (`--insecure-registry`, repeatable, adds up with \
the file; reloadable by SIGHUP). Pass when there is none.",
        remediation: "Remove every `--insecure-registry` and the `insecure-registries` entries, give \
the registries TLS certificates (trusted CAs in /etc/docker/certs.d/HOST:PORT/ca.crt), then \
reload (SIGHUP) or restart dockerd.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn configured(c: &crate::model::config::Effective) -> Vec<(String, Evidence)> {
    c.list(keys::INSECURE_REGISTRIES)
        .into_iter()
        .filter(|(r, _)| !IMPLICIT_INSECURE.contains(&r.as_str()))
        .collect()
}

fn check(cx: &Ctx<'_>) -> Outcome {
    let live = cx
        .view
        .live
        .as_ref()
        .and_then(|l| l.insecure_registries.as_ref())
        .map(|(v, e)| {
            let mut v = v.clone();
            v.sort();
            (v, e.clone())
        });
    let res = live_or_config(cx, live.as_ref(), |c| {
        let list = configured(c);
        let ev = list.first().map(|(_, e)| e.clone()).unwrap_or_else(|| {
            Evidence::new(
                Source::Default,
                "default",
                "insecure-registries: dockerd default (none beyond 127.0.0.0/8)",
            )
        });
        let mut names: Vec<String> = list.into_iter().map(|(r, _)| r).collect();
        names.sort();
        (names, ev)
    });
    match res {
        Err(o) => o,
        Ok((regs, mut e, w)) => {
            // Every configured entry is named where it was set.
            if let Ok(c) = cx.view.config.as_ref() {
                for (_, ev) in configured(c) {
                    if !e.contains(&ev) {
                        e.push(ev);
                    }
                }
            }
            verdict(
                regs.is_empty(),
                "no insecure registry is configured",
                format!("insecure registries: {}", regs.join(", ")),
                e,
                w,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::daemon_lines;
    use serde_json::json;

    fn info(cidrs: &[&str], insecure_index: Option<&str>) -> serde_json::Value {
        let mut idx = json!({"docker.io": {"Name": "docker.io", "Secure": true}});
        if let Some(n) = insecure_index {
            idx[n] = json!({"Name": n, "Secure": false});
        }
        json!({"RegistryConfig": {"InsecureRegistryCIDRs": cidrs, "IndexConfigs": idx}})
    }

    #[test]
    fn implicit_loopback_passes_configured_registries_fail() {
        let got = [
            daemon_lines(
                "daemon.insecure-registries",
                info(&["127.0.0.0/8"], None),
                &["dockerd"],
                None,
            ),
            daemon_lines(
                "daemon.insecure-registries",
                info(&["127.0.0.0/8", "10.0.0.0/8"], Some("reg.local:5000")),
                &["dockerd"],
                Some(r#"{"insecure-registries": ["10.0.0.0/8", "reg.local:5000", "127.0.0.0/8"]}"#),
            ),
            // No live answer: the configuration decides.
            daemon_lines(
                "daemon.insecure-registries",
                json!({"RegistryConfig": null}),
                &["dockerd", "--insecure-registry=reg.local:5000"],
                None,
            ),
        ]
        .concat();
        insta::assert_snapshot!(got, @r#"
            daemon: pass: no insecure registry is configured [api GET /info: RegistryConfig: insecure beyond 127.0.0.0/8: []; default default: insecure-registries: dockerd default (none beyond 127.0.0.0/8)]
            daemon: fail: insecure registries: 10.0.0.0/8, reg.local:5000 [api GET /info: RegistryConfig: insecure beyond 127.0.0.0/8: [10.0.0.0/8, reg.local:5000]; daemon.json /etc/docker/daemon.json:1: "insecure-registries": ["10.0.0.0/8", "reg.local:5000", "127.0.0.0/8"]]
            daemon: fail: insecure registries: reg.local:5000 [argv argv[1]: --insecure-registry=reg.local:5000]
            "#);
    }
}
