//! A SIGHUP: what the running daemon takes from a changed daemon.json,
//! and which options a reload applies.

use super::merge::{conflicts, flag_settings};
use super::validate::validate;
use super::{ConfigInput, Effective, FileState, Setting, Value, argv, is_file, options, read_file};
use crate::model::engine::Engine;
use crate::model::{Evidence, Problem, ProblemLevel, Source};
use crate::snapshot::FileEvidence;

/// What a SIGHUP would make of `running`: the reloadable keys re-read from
/// `new_file` (only the file is re-read; flags stay), everything else
/// unchanged. An invalid file on reload leaves the configuration unchanged
/// (with a problem saying so).
///
/// Per key (daemon/reload.go, reload_unix.go, cmd/dockerd/daemon.go):
/// debug, labels, live-restore, registry lists, shutdown-timeout, runtimes,
/// default-runtime, default-shm-size, default-ipc-mode,
/// default-cgroupns-mode, network-diagnostic-port change only when the key
/// is in the new file (a `null` resets to the default); max-concurrent-*,
/// max-download-attempts, features, cluster-* and authorization-plugins are
/// replaced by the file's value, or reset when absent (a plugin given only
/// by flag is dropped).
pub fn reload(running: &Effective, input: &ConfigInput<'_>, new_file: &FileEvidence) -> Effective {
    let path = running.config_path.clone();
    let engine = &input.engine;
    let reject = |why: String, evidence: Evidence| {
        let mut out = running.clone();
        out.problems.push(Problem {
            level: ProblemLevel::Fatal,
            message: format!(
                "SIGHUP: dockerd rejects the new {}: {why}; the configuration stays unchanged",
                path.path
            ),
            evidence,
        });
        out
    };
    let (state, parsed, problems) = read_file(&path, Some(new_file), engine);
    if let Some(p) = problems.iter().find(|p| p.level == ProblemLevel::Fatal) {
        return reject(p.message.clone(), p.evidence.clone());
    }
    if let FileState::Unreadable(why) = &state {
        let mut out = running.clone();
        out.problems.push(Problem {
            level: ProblemLevel::Warning,
            message: format!(
                "SIGHUP: {} could not be read ({why}): what a reload would do is unknown",
                path.path
            ),
            evidence: Evidence::new(Source::DaemonJson, path.path.clone(), String::new()),
        });
        return out;
    }
    let parsed = parsed.unwrap_or_default();
    let args = argv::parse_args(input.argv, engine);
    let flags = flag_settings(&args);
    if let Some(c) = conflicts(&args, &flags, &parsed, &path.path)
        .into_iter()
        .next()
    {
        return reject(c.message, c.evidence);
    }
    let file_view = Effective {
        config_path: path.clone(),
        file_state: state.clone(),
        settings: parsed.settings.clone(),
        problems: Vec::new(),
        context: running.context.clone(),
    };
    if let Some(p) = validate(&file_view, true).into_iter().next() {
        return reject(p.message, p.evidence);
    }
    let mut out = running.clone();
    out.file_state = state;
    out.problems.extend(
        problems
            .into_iter()
            .filter(|p| p.level == ProblemLevel::Warning),
    );
    const REPLACED: &[&str] = &[
        "max-concurrent-downloads",
        "max-concurrent-uploads",
        "max-download-attempts",
        "features",
        "cluster-store",
        "cluster-advertise",
        "cluster-store-opts",
        "authorization-plugins",
    ];
    for spec in options::OPTIONS.iter().filter(|s| s.reloads_in(engine)) {
        let key = spec.key;
        // A key lifted from a nested object counts as set, but the typed
        // decode of the reload does not see it: it takes its zero value.
        let lifted = parsed
            .value_set(key)
            .is_some_and(|e| e.lifted_from.is_some());
        let new = if lifted {
            parsed.value_set(key).map(|e| Setting {
                value: Value::Null,
                evidence: vec![e.evidence.clone()],
            })
        } else {
            parsed.settings.get(key).cloned()
        };
        let in_file = parsed.value_set(key).is_some();
        if REPLACED.contains(&key) {
            if key == "authorization-plugins" {
                if let Some(old) = running.settings.get(key) {
                    let from_flag: Vec<&Evidence> =
                        old.evidence.iter().filter(|e| !is_file(e)).collect();
                    if !from_flag.is_empty() && new.is_none() {
                        for e in from_flag {
                            out.problems.push(Problem {
                                level: ProblemLevel::Warning,
                                message: "SIGHUP drops the authorization plugins given by flag (a reload reads only daemon.json); /info keeps listing them".into(),
                                evidence: e.clone(),
                            });
                        }
                    }
                }
            }
            match new {
                Some(s) => {
                    out.settings.insert(key.to_string(), s);
                }
                None => {
                    out.settings.remove(key);
                }
            }
        } else if in_file {
            match new {
                Some(s) => {
                    out.settings.insert(key.to_string(), s);
                }
                None => {
                    // lifted or undecodable: set, with the default value
                    if let Some(e) = parsed.value_set(key) {
                        out.settings.insert(
                            key.to_string(),
                            Setting {
                                value: Value::Null,
                                evidence: vec![e.evidence.clone()],
                            },
                        );
                    }
                }
            }
        }
    }
    out
}

/// A SIGHUP of `engine` reloads the option with daemon.json key `key`.
pub fn is_reloadable(engine: &Engine, key: &str) -> bool {
    options::by_key(key).is_some_and(|s| s.reloads_in(engine))
}
