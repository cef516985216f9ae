//! dockerd's configuration semantics, for the engine release in front of
//! us ([`Engine`]: 20.10 to 29.x): command-line flags, daemon.json, and how the two combine into
//! the effective configuration, with provenance for every value and the
//! problems that make dockerd refuse to start.
//!
//! Entry points: [`config_file_path`] (which daemon.json the daemon reads) and
//! [`compute`] (argv + that file -> [`Effective`]).
//!
//! Layout: [`options`] (the table of every option, 20.10 to 29.x), [`argv`] (pflag),
//! [`file`] (daemon.json), [`hosts`] (-H parsing); `effective` (the typed
//! accessors of [`Effective`]), `merge` (flags beside the file, conflicts),
//! `validate` (start-up checks), `reload` ([`reload`], SIGHUP). Facts and how they were
//! verified: `docs/dockerd-semantics-verified.md`.
//!
//! Value representation in [`Setting`]: bool -> `Bool`, string/IP/size ->
//! `Str`, int -> `Int`, list -> `List`, map -> `Map`; default-ulimits,
//! runtimes, default-address-pools, features and builder -> `Json` (flags
//! are converted to the same JSON shape as the file); `null` -> `Null`.

pub mod argv;
mod effective;
pub mod file;
pub mod hosts;
mod merge;
pub mod options;
mod reload;
mod validate;

use super::engine::Engine;
use super::{ArgWord, Evidence, Problem, ProblemLevel, Source};
use crate::snapshot::{FileEvidence, FileKind};
use merge::{conflicts, flag_settings};
pub use options::{Key, keys};
pub use reload::{is_reloadable, reload};
use serde::Serialize;
use std::collections::BTreeMap;
use validate::{lifecycle, validate};

/// What [`compute`] needs.
#[derive(Debug, Clone)]
pub struct ConfigInput<'a> {
    /// The full command line including argv[0] (the program).
    pub argv: &'a [ArgWord],
    /// Evidence for the daemon.json named by [`config_file_path`]; `None`
    /// when it was not collected at all (then it is an evidence error).
    pub config_file: Option<&'a FileEvidence>,
    /// The daemon's environment (HOME, DOCKER_CERT_PATH, XDG_*, ...).
    pub env: &'a BTreeMap<String, String>,
    /// The daemon runs rootless (changes default paths).
    pub rootless: bool,
    /// The engine release whose semantics apply.
    pub engine: Engine,
}

/// Which daemon.json the daemon reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigPath {
    pub path: String,
    /// Given by `--config-file` (a missing file is then a start failure).
    pub explicit: bool,
    pub evidence: Evidence,
}

/// A typed configuration value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    List(Vec<String>),
    Map(BTreeMap<String, String>),
    /// Structured values kept as JSON (default-ulimits, runtimes, ...).
    Json(serde_json::Value),
    /// `null` in daemon.json: unset, but the key still counts for conflicts.
    Null,
}

/// One explicitly set option.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    pub value: Value,
    /// Where it was set. For scalars the winning occurrence comes first, then
    /// the overridden ones; for lists and maps one entry per contribution.
    pub evidence: Vec<Evidence>,
}

/// A listener dockerd would open for one `-H`/`hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Listener {
    /// `addr` is the bind address as dockerd resolves it (`127.0.0.1` for
    /// `:2375`, `0.0.0.0` for `0.0.0.0:2375`).
    Tcp {
        addr: String,
        port: u16,
        spec: String,
        evidence: Evidence,
    },
    Unix {
        path: String,
        spec: String,
        evidence: Evidence,
    },
    /// `fd://` or `fd://NAME`: sockets passed by systemd socket activation.
    Fd {
        name: Option<String>,
        spec: String,
        evidence: Evidence,
    },
}

/// TLS as dockerd decides it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsSettings {
    /// TLS is on (`--tls`, any `--tlsverify`, `"tls": true`, a `"tlsverify"` key).
    pub enabled: bool,
    /// Clients must present a certificate signed by the CA (true unless
    /// tlsverify is explicitly false).
    pub verify_clients: bool,
    /// Effective CA, certificate and key paths with where each came from
    /// (flag, file, or the default directory).
    pub ca: Option<(String, Evidence)>,
    pub cert: Option<(String, Evidence)>,
    pub key: Option<(String, Evidence)>,
    /// The settings that decided `enabled` and `verify_clients`.
    pub evidence: Vec<Evidence>,
}

/// State of the daemon.json that was (or was not) read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Read and parsed (possibly with problems).
    Loaded,
    /// Absent at the default path: fine, dockerd ignores it.
    AbsentDefault,
    /// Absent but given by --config-file: start failure (also in `problems`).
    AbsentExplicit,
    /// Could not be read: evidence is missing (the reason).
    Unreadable(String),
    /// Not collected at all.
    NotCollected,
}

/// The effective configuration of one daemon (or of its next start).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effective {
    pub config_path: ConfigPath,
    pub file_state: FileState,
    /// Explicitly set options, by daemon.json key (`icc`, `hosts`,
    /// `authorization-plugins`, `log-opts`, `tlsverify`, ...).
    pub settings: BTreeMap<String, Setting>,
    /// Start failures and warnings, each naming the flag or key and location.
    pub problems: Vec<Problem>,
    /// What the defaults depend on (rootless, the daemon's environment).
    #[serde(skip)]
    pub context: Context,
}

/// The inputs dockerd's defaults depend on, kept for the accessors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub rootless: bool,
    /// The daemon environment variables that matter (HOME, DOCKER_CERT_PATH,
    /// DOCKER_CONFIG, DOCKER_TLS_VERIFY, XDG_RUNTIME_DIR, XDG_DATA_HOME,
    /// XDG_CONFIG_HOME).
    pub env: BTreeMap<String, String>,
    /// The engine whose semantics and defaults apply.
    pub engine: Engine,
}

/// Environment variables dockerd's defaults depend on.
const ENV_KEYS: &[&str] = &[
    "HOME",
    "DOCKER_CERT_PATH",
    "DOCKER_CONFIG",
    "DOCKER_TLS_VERIFY",
    "XDG_RUNTIME_DIR",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    // graphdriver: $DOCKER_DRIVER wins over --storage-driver.
    "DOCKER_DRIVER",
];

fn default_evidence(key: &str, text: &str) -> Evidence {
    Evidence::new(
        Source::Default,
        "default",
        format!("{key}: dockerd default {text}"),
    )
}

fn is_file(ev: &Evidence) -> bool {
    ev.source == Source::DaemonJson
}

impl Context {
    fn env(&self, k: &str) -> Option<&str> {
        self.env
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn home(&self) -> String {
        self.env("HOME").unwrap_or("$HOME").to_string()
    }

    /// A default that depends on rootless mode / the environment.
    fn default_of(&self, key: Key) -> Option<String> {
        let spec = key.spec();
        let key = key.name();
        if self.rootless {
            let runtime = self.env("XDG_RUNTIME_DIR").unwrap_or("$XDG_RUNTIME_DIR");
            match key {
                "data-root" => {
                    return Some(match self.env("XDG_DATA_HOME") {
                        Some(d) => format!("{d}/docker"),
                        None => format!("{}/.local/share/docker", self.home()),
                    });
                }
                "exec-root" => return Some(format!("{runtime}/docker")),
                "pidfile" => return Some(format!("{runtime}/docker.pid")),
                "rootless" => return Some("true".into()),
                _ => {}
            }
        }
        spec.default_in(&self.engine).map(str::to_string)
    }
}

#[cfg(test)]
thread_local! {
    static READS: std::cell::RefCell<Option<Vec<Key>>> = const { std::cell::RefCell::new(None) };
}

/// Test support: records which options are read (the rules' key check).
#[cfg(test)]
fn read(key: Key) {
    READS.with(|r| {
        if let Some(v) = r.borrow_mut().as_mut() {
            v.push(key)
        }
    })
}

#[cfg(not(test))]
#[inline(always)]
fn read(_: Key) {}

/// Test support: run `f` and return the options it read.
#[cfg(test)]
pub fn reads_of<T>(f: impl FnOnce() -> T) -> (T, Vec<Key>) {
    READS.with(|r| *r.borrow_mut() = Some(Vec::new()));
    let out = f();
    let keys = READS.with(|r| r.borrow_mut().take()).unwrap_or_default();
    (out, keys)
}

/// Which daemon.json the daemon reads: `--config-file` (either form, last
/// wins), else `/etc/docker/daemon.json`, or for a rootless daemon
/// `$XDG_CONFIG_HOME/docker/daemon.json` (`~/.config/docker/daemon.json`).
pub fn config_file_path(
    argv: &[ArgWord],
    env: &BTreeMap<String, String>,
    rootless: bool,
    engine: &Engine,
) -> ConfigPath {
    let args = argv::parse_args(argv, engine);
    if let Some(u) = args.last("config-file") {
        return ConfigPath {
            path: u.value.clone(),
            explicit: true,
            evidence: u.evidence.clone(),
        };
    }
    let get = |k: &str| env.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let (path, how) = if rootless {
        match (get("XDG_CONFIG_HOME"), get("HOME")) {
            (Some(x), _) => (
                format!("{x}/docker/daemon.json"),
                "$XDG_CONFIG_HOME/docker/daemon.json (rootless)",
            ),
            (None, Some(h)) => (
                format!("{h}/.config/docker/daemon.json"),
                "$HOME/.config/docker/daemon.json (rootless)",
            ),
            (None, None) => (
                "$HOME/.config/docker/daemon.json".to_string(),
                "$HOME/.config/docker/daemon.json (rootless; HOME unknown)",
            ),
        }
    } else {
        (
            "/etc/docker/daemon.json".to_string(),
            "/etc/docker/daemon.json",
        )
    };
    ConfigPath {
        path,
        explicit: false,
        evidence: Evidence::new(
            Source::Default,
            "default",
            format!("config-file: dockerd default {how}"),
        ),
    }
}

fn make_context(input: &ConfigInput<'_>) -> Context {
    Context {
        rootless: input.rootless,
        env: input
            .env
            .iter()
            .filter(|(k, _)| ENV_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        engine: input.engine,
    }
}

/// Read the file evidence: the state, the parsed file (if any), problems.
fn read_file(
    path: &ConfigPath,
    fe: Option<&FileEvidence>,
    engine: &Engine,
) -> (FileState, Option<file::ParsedFile>, Vec<Problem>) {
    let p = &path.path;
    let prefix = format!("unable to configure the Docker daemon with file {p}");
    let at = Evidence::new(Source::DaemonJson, p.clone(), String::new());
    let Some(fe) = fe else {
        return (
            FileState::NotCollected,
            None,
            vec![Problem {
                level: ProblemLevel::Warning,
                message: format!("{p} was not collected: the configuration from it is unknown"),
                evidence: at,
            }],
        );
    };
    if fe.missing {
        if path.explicit {
            return (
                FileState::AbsentExplicit,
                None,
                vec![Problem {
                    level: ProblemLevel::Fatal,
                    message: format!("{prefix}: open {p}: no such file or directory"),
                    evidence: path.evidence.clone(),
                }],
            );
        }
        return (FileState::AbsentDefault, None, Vec::new());
    }
    let kind = fe.meta.as_ref().map(|m| m.target_kind.unwrap_or(m.kind));
    if kind == Some(FileKind::Dir) {
        return (
            FileState::Loaded,
            None,
            vec![Problem {
                level: ProblemLevel::Fatal,
                message: format!("{prefix}: read {p}: is a directory"),
                evidence: at,
            }],
        );
    }
    match &fe.text {
        Some(text) => {
            let parsed = file::parse_file(p, text, fe.invalid_utf8, engine);
            let problems = parsed.problems.clone();
            (FileState::Loaded, Some(parsed), problems)
        }
        None => {
            let why = fe
                .error
                .clone()
                .unwrap_or_else(|| "content not collected".into());
            (
                FileState::Unreadable(why.clone()),
                None,
                vec![Problem {
                    level: ProblemLevel::Warning,
                    message: format!(
                        "{p} could not be read ({why}): the configuration from it is unknown"
                    ),
                    evidence: at,
                }],
            )
        }
    }
}

/// argv + daemon.json -> effective configuration, as dockerd computes it.
pub fn compute(input: &ConfigInput<'_>) -> Effective {
    let context = make_context(input);
    let config_path = config_file_path(input.argv, input.env, input.rootless, &input.engine);
    let args = argv::parse_args(input.argv, &input.engine);
    let mut problems = args.problems.clone();
    let flags = flag_settings(&args);
    let (file_state, parsed, file_problems) =
        read_file(&config_path, input.config_file, &input.engine);
    problems.extend(file_problems);
    let mut settings = BTreeMap::new();
    if let Some(pf) = &parsed {
        problems.extend(conflicts(&args, &flags, pf, &config_path.path));
        settings = pf.settings.clone();
    }
    for (k, s) in flags {
        match (settings.get_mut(&k), &s.value) {
            (Some(existing), Value::Json(serde_json::Value::Object(fo))) if k == "runtimes" => {
                if let Value::Json(serde_json::Value::Object(eo)) = &mut existing.value {
                    for (rk, rv) in fo {
                        eo.entry(rk.clone()).or_insert_with(|| rv.clone());
                    }
                    existing.evidence.extend(s.evidence.iter().cloned());
                } else {
                    *existing = s;
                }
            }
            _ => {
                settings.insert(k, s);
            }
        }
    }
    let mut eff = Effective {
        config_path,
        file_state,
        settings,
        problems: Vec::new(),
        context,
    };
    problems.extend(lifecycle(&mut eff));
    problems.extend(validate(&eff, false));
    let tls = eff.tls();
    if tls.enabled && (tls.cert.is_none() || tls.key.is_none()) {
        let path =
            |p: &Option<(String, Evidence)>| p.as_ref().map(|x| x.0.clone()).unwrap_or_default();
        problems.push(Problem {
            level: ProblemLevel::Fatal,
            message: format!(
                "failed to create API server: Could not load X509 key pair (cert: \"{}\", key: \"{}\"): TLS is on but no certificate/key path is set (TLS turned on by daemon.json alone gets no default paths)",
                path(&tls.cert),
                path(&tls.key)
            ),
            evidence: tls.evidence.first().cloned().unwrap_or_else(|| default_evidence("tls", "")),
        });
    }
    let (_, listener_problems) = eff.resolve_listeners();
    problems.extend(listener_problems);
    eff.problems = problems;
    eff
}

#[cfg(test)]
mod tests;
