use crate::model::ProblemLevel;
use crate::model::config::keys;
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.config-valid",
        title: "dockerd would start with the configuration on disk",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Seed,
        cis: &[],
        rationale: "A configuration dockerd refuses takes the whole engine down at the next restart \
or reboot: a flag also set in daemon.json, a wrong type, an unknown key, an unparsable flag \
value, a missing EnvironmentFile or authorization plugin.",
        decided: "The next start's command line (ExecStart of docker.service after drop-ins and \
EnvironmentFile expansion, or the running command line when dockerd is not run by systemd) \
and the daemon.json it would read are checked with dockerd's own rules: strict JSON, known \
keys and their types, no option set both as a flag and in the file, flag values that parse. \
Fail on any start failure; warnings (duplicate keys) pass with a warning. An authorization \
plugin found nowhere is a start failure, except in an offline tree (`--root`): there /run is \
empty, its socket cannot be checked, and that is a warning.",
        remediation: "Fix each problem at the file and line named. Keep every option in one place: \
either daemon.json or the command line, never both. `dockhard fix --rule daemon.config-valid` \
removes the daemon.json keys the engine of the next start refuses, does not know any more or \
ignores (before an upgrade: with `--engine-version` of the new engine); anything else is left \
to a person.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

/// Remove the daemon.json keys the next start's engine refuses because of
/// the release (removed, refused by name, or ignored): the upgrade fix.
/// Other start failures (typos, conflicts, bad values) are not guessed at.
fn fix(cx: &crate::rules::remedy::FixCx<'_>) -> Result<crate::rules::remedy::FixSpec, String> {
    use crate::model::config::options::{self, Life};
    use crate::rules::remedy::{Change, FixSpec, Hazard};
    let engine = cx.next.context.engine;
    let path = &cx.next.config_path.path;
    let Some(text) = cx.snap.text(path) else {
        return Err(format!("{path} was not read: nothing dockhard can remove"));
    };
    let top: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => {
            return Err(format!(
                "{path} is not one JSON object: fix it by hand at the line named"
            ));
        }
    };
    let line = engine.version.line();
    let mut spec = FixSpec::default();
    for (key, value) in &top {
        let Some(row) = options::by_key(key) else {
            continue;
        };
        let zero = match value {
            serde_json::Value::Null => true,
            serde_json::Value::Bool(b) => !b,
            serde_json::Value::Number(n) => n.as_f64() == Some(0.0),
            serde_json::Value::String(t) => t.is_empty(),
            serde_json::Value::Array(a) => a.is_empty(),
            serde_json::Value::Object(o) => o.is_empty(),
        };
        let why = match row.life_in(&engine) {
            Life::Refused(msg) if !zero => format!("dockerd {line} refuses it: {msg}"),
            Life::Ignored(msg) => format!("dockerd {line} ignores it: {msg}"),
            Life::Unknown if engine.at_least(row.since) => {
                format!("dockerd {line} no longer has this option")
            }
            Life::Unknown => format!("dockerd {line} does not have this option yet"),
            _ => continue,
        };
        // A removed key whose value lives on under another name moves there.
        if let Some(to) = row.successor
            && !top.contains_key(to)
        {
            spec.changes.push(Change::Set {
                key: to.to_string(),
                value: value.clone(),
            });
            spec.hazards.push(Hazard::warning(format!(
                "moves `{key}` ({value}) to `{to}` in {path}: {why}"
            )));
        } else {
            spec.hazards.push(Hazard::warning(format!(
                "removes `{key}` ({value}) from {path}: {why}; should dockerd restart before the \
                 upgrade, the release running now loses the setting too"
            )));
        }
        spec.changes.push(Change::Unset { key: key.clone() });
    }
    if spec.changes.is_empty() {
        return Err(
            "no key of daemon.json is refused for the engine's release: fix each problem at the file and line named"
                .into(),
        );
    }
    Ok(spec)
}

fn check(cx: &Ctx<'_>) -> Outcome {
    let next = &cx.daemon.next_start;
    let service_fatal: Vec<_> = cx
        .daemon
        .service
        .iter()
        .flat_map(|s| &s.problems)
        .filter(|p| p.level == ProblemLevel::Fatal)
        .collect();
    let cfg = match &next.config {
        Ok(c) => c,
        // No command line, but systemd's own refusal is known: a failure.
        Err(_) if !service_fatal.is_empty() => {
            let msg = service_fatal
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            return Outcome::fail(format!("docker.service would not start: {msg}"))
                .with_all(service_fatal.iter().map(|p| p.evidence.clone()));
        }
        Err(e) => return Outcome::error(format!("the next start cannot be modelled: {e}")),
    };
    let mut problems = cfg.problems.clone();
    for (name, e) in cfg.list(keys::AUTHORIZATION_PLUGINS) {
        let paths = crate::model::daemon::plugin_paths(&name);
        let all_seen = paths
            .iter()
            .all(|p| cx.snap.file(p).is_some_and(|f| f.missing));
        if !paths.is_empty() && all_seen {
            // /run is empty in an offline tree: no evidence either way.
            let (level, message) = if cx.snap.mode == crate::snapshot::Mode::Root {
                (
                    ProblemLevel::Warning,
                    crate::model::daemon::plugin_offline_note(&name),
                )
            } else {
                (
                    ProblemLevel::Fatal,
                    format!(
                        "authorization plugin `{name}` not found (no socket or spec in /run/docker/plugins, /etc/docker/plugins, /usr/lib/docker/plugins)"
                    ),
                )
            };
            problems.push(crate::model::Problem {
                level,
                message,
                evidence: e,
            });
        }
    }
    let fatal: Vec<_> = problems
        .iter()
        .filter(|p| p.level == ProblemLevel::Fatal)
        .collect();
    let warnings: Vec<String> = problems
        .iter()
        .filter(|p| p.level == ProblemLevel::Warning)
        .map(|p| {
            let path = p.evidence.location.split(':').next().unwrap_or_default();
            if !path.is_empty() && p.message.contains(path) {
                p.message.clone()
            } else {
                format!("{}: {}", p.evidence.location, p.message)
            }
        })
        .collect();
    if let crate::model::config::FileState::Unreadable(why) = &cfg.file_state {
        return Outcome::error(format!("{}: {why}", cfg.config_path.path))
            .with(cfg.config_path.evidence.clone());
    }
    if fatal.is_empty() {
        return Outcome::pass(format!(
            "the configuration on disk is valid ({})",
            cfg.config_path.path
        ))
        .with(cfg.config_path.evidence.clone())
        .with_warnings(warnings);
    }
    let msg = fatal
        .iter()
        .map(|p| p.message.clone())
        .collect::<Vec<_>>()
        .join("; ");
    Outcome::fail(format!("dockerd would not start: {msg}"))
        .with_all(fatal.iter().map(|p| p.evidence.clone()))
        .with_warnings(warnings)
}
