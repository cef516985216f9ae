//! The live facts of a running daemon, from its API (`/info`, section 2
//! facts) and its sockets.

use super::LiveFacts;
use crate::model::{Evidence, Source};
use crate::snapshot::DaemonEvidence;

pub(super) fn live_facts(d: &DaemonEvidence) -> LiveFacts {
    let api = &d.api;
    let mut f = LiveFacts {
        api_error: api.error.clone(),
        ..LiveFacts::default()
    };
    let ev = |path: &str, detail: String| Evidence::new(Source::Api, path, detail);
    if let Some(v) = api.version.as_ref().and_then(|c| c.body.as_ref()) {
        f.version = v
            .get("Version")
            .and_then(|x| x.as_str())
            .map(str::to_string);
    }
    match api.info.as_ref() {
        Some(call) => match call.body.as_ref() {
            Some(i) => {
                let s = |k: &str| i.get(k).and_then(|x| x.as_str()).map(str::to_string);
                let b = |k: &str| i.get(k).and_then(|x| x.as_bool());
                if let Some(d) = s("LoggingDriver") {
                    f.logging_driver =
                        Some((d.clone(), ev("GET /info", format!("LoggingDriver: {d}"))));
                }
                if let Some(x) = b("LiveRestoreEnabled") {
                    f.live_restore = Some((x, ev("GET /info", format!("LiveRestoreEnabled: {x}"))));
                }
                if let Some(x) = b("ExperimentalBuild") {
                    f.experimental = Some((x, ev("GET /info", format!("ExperimentalBuild: {x}"))));
                }
                if let Some(a) = i.get("SecurityOptions").and_then(|x| x.as_array()) {
                    let opts: Vec<String> = a
                        .iter()
                        .filter_map(|o| o.as_str().map(str::to_string))
                        .collect();
                    let detail = format!("SecurityOptions: {}", opts.join(", "));
                    f.security_options = Some((opts, ev("GET /info", detail)));
                }
                if let Some(a) = i.get("Plugins").and_then(|p| p.get("Authorization")) {
                    let names: Vec<String> = a
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|o| o.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    let detail = format!("Plugins.Authorization: [{}]", names.join(", "));
                    f.authorization_plugins = Some((names, ev("GET /info", detail)));
                }
                if let Some(st) = i
                    .get("Swarm")
                    .and_then(|sw| sw.get("LocalNodeState"))
                    .and_then(|x| x.as_str())
                {
                    f.swarm_state = Some((
                        st.to_string(),
                        ev("GET /info", format!("Swarm.LocalNodeState: {st}")),
                    ));
                }
                section2_facts(&mut f, i);
                if let Some(w) = i.get("Warnings").and_then(|x| x.as_array()) {
                    f.warnings = w
                        .iter()
                        .filter_map(|o| o.as_str().map(str::to_string))
                        .collect();
                }
            }
            None => {
                if f.api_error.is_none() {
                    f.api_error = Some(format!(
                        "{}GET /info: {}",
                        api.endpoint
                            .as_deref()
                            .map(|e| format!("{e}: "))
                            .unwrap_or_default(),
                        call.error.as_deref().unwrap_or("no answer")
                    ));
                }
            }
        },
        None => {
            if f.api_error.is_none() {
                f.api_error = Some("GET /info was not called".into());
            }
        }
    }
    if let Some(net) = api.bridge_network.as_ref().and_then(|c| c.body.as_ref()) {
        if let Some(v) = net
            .get("Options")
            .and_then(|o| o.get("com.docker.network.bridge.enable_icc"))
            .and_then(|x| x.as_str())
        {
            if let Ok(b) = v.parse::<bool>() {
                f.icc = Some((
                    b,
                    ev(
                        "GET /networks/bridge",
                        format!("Options com.docker.network.bridge.enable_icc: {v}"),
                    ),
                ));
            }
        }
    }
    f
}

/// CIDRs dockerd always treats as insecure (registry.LoadInsecureRegistries).
pub const IMPLICIT_INSECURE: &[&str] = &["127.0.0.0/8", "::1/128"];

/// `/info` values for the CIS section 2 rules.
pub(super) fn section2_facts(f: &mut LiveFacts, i: &serde_json::Value) {
    let ev = |detail: String| Evidence::new(Source::Api, "GET /info", detail);
    if let Some(x) = i.get("Debug").and_then(|x| x.as_bool()) {
        f.debug = Some((x, ev(format!("Debug: {x}"))));
    }
    if let Some(d) = i.get("Driver").and_then(|x| x.as_str()) {
        f.storage_driver = Some((d.to_string(), ev(format!("Driver: {d}"))));
    }
    if let Some(d) = i.get("DockerRootDir").and_then(|x| x.as_str()) {
        f.docker_root_dir = Some((d.to_string(), ev(format!("DockerRootDir: {d}"))));
    }
    if let Some(rc) = i.get("RegistryConfig").filter(|r| r.is_object()) {
        let mut insecure: Vec<String> = rc
            .get("InsecureRegistryCIDRs")
            .and_then(|x| x.as_array())
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str())
            .filter(|c| !IMPLICIT_INSECURE.contains(c))
            .map(str::to_string)
            .collect();
        if let Some(idx) = rc.get("IndexConfigs").and_then(|x| x.as_object()) {
            for (name, cfg) in idx {
                if cfg.get("Secure").and_then(|x| x.as_bool()) == Some(false) {
                    insecure.push(name.clone());
                }
            }
        }
        let detail = format!(
            "RegistryConfig: insecure beyond 127.0.0.0/8: [{}]",
            insecure.join(", ")
        );
        f.insecure_registries = Some((insecure, ev(detail)));
    }
}
