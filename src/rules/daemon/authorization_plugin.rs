use crate::model::config::keys;
use crate::model::daemon::plugin_paths;
use crate::model::{Evidence, Source};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, config};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.authorization-plugin",
        title: "Use an authorization plugin for the Engine API",
        severity: Severity::Medium,
        seed_item: Some(5),
        profile: Profile::Seed,
        cis: &["2.12"],
        rationale: "Docker's own access model is all or nothing: whoever reaches the daemon can run \
any command as root on the host. An authorization plugin decides request by request.",
        decided: "Live: `Plugins.Authorization` of `GET /info`. Otherwise the effective \
`authorization-plugins` (`--authorization-plugin`, repeatable). Pass when at least one is \
configured. A plugin that cannot be found (no socket or spec under /run/docker/plugins, \
/etc/docker/plugins, /usr/lib/docker/plugins) is a warning: dockerd refuses to start without it \
(in an offline tree, `--root`, the socket under /run cannot be checked: the warning says so).",
        remediation: "Install an authorization plugin (for example opa-docker-authz), then set \
`\"authorization-plugins\": [\"NAME\"]` in /etc/docker/daemon.json (reloadable with SIGHUP) or \
`--authorization-plugin=NAME`, never both.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let (names, evidence): (Vec<String>, Vec<Evidence>) = match cx
        .view
        .live
        .as_ref()
        .and_then(|l| l.authorization_plugins.as_ref())
    {
        Some((names, e)) => {
            // Where they were configured, as provenance.
            let mut ev = vec![e.clone()];
            if let Ok(cfg) = cx.view.config.as_ref() {
                ev.extend(
                    cfg.list(keys::AUTHORIZATION_PLUGINS)
                        .into_iter()
                        .map(|(_, e)| e),
                );
            }
            (names.clone(), ev)
        }
        None => match config(cx) {
            Err(o) => return o,
            Ok(cfg) => {
                let l = cfg.list(keys::AUTHORIZATION_PLUGINS);
                if l.is_empty() {
                    let e = Evidence::new(Source::Default, "default", "no authorization plugin");
                    return Outcome::fail("no authorization plugin is configured").with(e);
                }
                l.into_iter().unzip()
            }
        },
    };
    if names.is_empty() {
        return Outcome::fail("no authorization plugin is configured").with_all(evidence);
    }
    let mut out =
        Outcome::pass(format!("authorization plugin(s): {}", names.join(", "))).with_all(evidence);
    for n in &names {
        let paths = plugin_paths(n);
        if paths.is_empty() {
            continue; // a managed plugin: lives in the data root
        }
        match paths
            .iter()
            .find(|p| cx.snap.file(p).is_some_and(|f| f.meta.is_some()))
        {
            Some(p) => out.evidence.push(Evidence::new(
                Source::File,
                p.clone(),
                format!("plugin `{n}` found"),
            )),
            None if paths.iter().all(|p| cx.snap.file(p).is_some()) => {
                out.warnings.push(if cx.snap.mode == crate::snapshot::Mode::Root {
                    crate::model::daemon::plugin_offline_note(n)
                } else {
                    format!(
                        "plugin `{n}` was not found in /run/docker/plugins, /etc/docker/plugins or /usr/lib/docker/plugins: dockerd will not start with it"
                    )
                });
            }
            None => {}
        }
    }
    out
}

fn fix(cx: &crate::rules::remedy::FixCx<'_>) -> Result<crate::rules::remedy::FixSpec, String> {
    use crate::rules::remedy::{Change, FixSpec, Hazard, exists};
    let name = cx
        .inputs
        .authz_plugin
        .clone()
        .ok_or("needs --authz-plugin NAME (the plugin must be installed and running)")?;
    let mut spec = FixSpec {
        changes: vec![Change::AddToList {
            key: "authorization-plugins".into(),
            item: name.clone(),
        }],
        hazards: Vec::new(),
        perms: Vec::new(),
        rules_file: None,
    };
    let paths = plugin_paths(&name);
    if paths.is_empty() {
        spec.hazards.push(Hazard::warning(format!(
            "`{name}` is a managed plugin: it must be installed and enabled (`docker plugin ls`) or dockerd will not start"
        )));
    } else if !paths.iter().any(|p| exists(cx.snap, p)) {
        spec.hazards.push(Hazard::blocking(format!(
            "authorization plugin `{name}` was not found (no socket or spec in /run/docker/plugins, /etc/docker/plugins, /usr/lib/docker/plugins): dockerd would not start"
        )));
    }
    spec.hazards.push(Hazard::warning(
        "every API request then goes through the plugin: if it stops, the daemon refuses all requests",
    ));
    Ok(spec)
}
