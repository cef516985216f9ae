//! dockerd's configuration semantics, for the engine release in front of
//! us ([`Engine`]: 20.10 to 29.x): command-line flags, daemon.json, and how the two combine into
//! the effective configuration, with provenance for every value and the
//! problems that make dockerd refuse to start.
//!
//! Entry points: [`config_file_path`] (which daemon.json the daemon reads) and
//! [`compute`] (argv + that file -> [`Effective`]).
//!
//! Layout: [`options`] (the table of every option, 20.10 to 29.x), [`argv`] (pflag),
//! [`file`] (daemon.json), [`hosts`] (-H parsing). Facts and how they were
//! verified: `docs/dockerd-semantics-verified.md`.
//!
//! Value representation in [`Setting`]: bool -> `Bool`, string/IP/size ->
//! `Str`, int -> `Int`, list -> `List`, map -> `Map`; default-ulimits,
//! runtimes, default-address-pools, features and builder -> `Json` (flags
//! are converted to the same JSON shape as the file); `null` -> `Null`.

pub mod argv;
pub mod file;
pub mod hosts;
pub mod options;

use super::engine::Engine;
use super::{ArgWord, Evidence, Problem, ProblemLevel, Source};
use crate::snapshot::{FileEvidence, FileKind};
pub use options::{Key, keys};
use serde::Serialize;
use std::collections::BTreeMap;

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

impl Effective {
    /// The option as set, by daemon.json key; `None` when it is not set.
    pub fn get(&self, key: Key) -> Option<&Setting> {
        read(key);
        self.settings.get(key.name())
    }

    /// The setting when it has a value (not unset, not `null`).
    fn set_value(&self, key: Key) -> Option<&Setting> {
        read(key);
        self.settings
            .get(key.name())
            .filter(|s| !matches!(s.value, Value::Null))
    }

    fn unset_evidence(&self, key: Key, text: &str) -> Evidence {
        let key = key.name();
        match self.settings.get(key) {
            Some(s) if matches!(s.value, Value::Null) => {
                let loc = s
                    .evidence
                    .first()
                    .map(|e| e.location.clone())
                    .unwrap_or_default();
                Evidence::new(
                    Source::Default,
                    "default",
                    format!("{key}: dockerd default {text} (null at {loc} leaves it unset)"),
                )
            }
            _ => default_evidence(key, text),
        }
    }

    /// Effective boolean (dockerd's default when unset, with a `default`
    /// evidence entry). `tls`/`tlsverify` are the raw settings: use
    /// [`Effective::tls`] for what dockerd decides.
    pub fn bool(&self, key: Key) -> (bool, Evidence) {
        if let Some(s) = self.set_value(key) {
            let b = match &s.value {
                Value::Bool(b) => Some(*b),
                Value::Str(t) => argv::parse_bool(t),
                _ => None,
            };
            if let (Some(b), Some(ev)) = (b, s.evidence.first()) {
                return (b, ev.clone());
            }
        }
        let d = self
            .context
            .default_of(key)
            .and_then(|d| argv::parse_bool(&d))
            .unwrap_or(false);
        (d, self.unset_evidence(key, &d.to_string()))
    }

    /// Effective string (default when unset; `None` when there is no default
    /// or the default is empty, like userns-remap).
    pub fn string(&self, key: Key) -> (Option<String>, Evidence) {
        if let Some(s) = self.set_value(key) {
            let v = match &s.value {
                Value::Str(t) => Some(t.clone()),
                Value::Int(i) => Some(i.to_string()),
                Value::Num(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            };
            if let (Some(v), Some(ev)) = (v, s.evidence.first()) {
                return (Some(v), ev.clone());
            }
        }
        if key == keys::DATA_ROOT && keys::GRAPH.spec().exists_in(&self.context.engine) {
            if let Some(g) = self.set_value(keys::GRAPH) {
                if let (Value::Str(t), Some(ev)) = (&g.value, g.evidence.first()) {
                    return (Some(t.clone()), ev.clone());
                }
            }
        }
        match self.context.default_of(key) {
            Some(d) => {
                let ev = self.unset_evidence(key, &format!("{d:?}"));
                (Some(d), ev)
            }
            None => (None, self.unset_evidence(key, "(unset)")),
        }
    }

    /// Effective list entries with their evidence (empty when unset).
    pub fn list(&self, key: Key) -> Vec<(String, Evidence)> {
        let Some(s) = self.set_value(key) else {
            return Vec::new();
        };
        let items: Vec<String> = match &s.value {
            Value::List(v) => v.clone(),
            Value::Json(serde_json::Value::Array(a)) => a.iter().map(|x| x.to_string()).collect(),
            Value::Json(serde_json::Value::Object(o)) => {
                o.iter().map(|(k, v)| format!("{k}={v}")).collect()
            }
            Value::Str(t) => vec![t.clone()],
            _ => Vec::new(),
        };
        let fallback = s
            .evidence
            .first()
            .cloned()
            .unwrap_or_else(|| default_evidence(key.name(), ""));
        let one_each = s.evidence.len() == items.len() && !s.evidence.iter().any(is_file);
        items
            .into_iter()
            .enumerate()
            .map(|(i, it)| {
                let ev = if one_each {
                    s.evidence
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| fallback.clone())
                } else {
                    fallback.clone()
                };
                (it, ev)
            })
            .collect()
    }

    /// Effective map entries with their evidence (empty when unset).
    pub fn map(&self, key: Key) -> BTreeMap<String, (String, Evidence)> {
        let mut out = BTreeMap::new();
        let Some(s) = self.set_value(key) else {
            return out;
        };
        let entries: Vec<(String, String)> = match &s.value {
            Value::Map(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Value::Json(serde_json::Value::Object(o)) => o
                .iter()
                .map(|(k, v)| {
                    let t = match v {
                        serde_json::Value::String(x) => x.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), t)
                })
                .collect(),
            _ => Vec::new(),
        };
        for (k, v) in entries {
            let needle_flag = format!("{k}=");
            let needle_file = format!("\"{k}\"");
            let ev = s
                .evidence
                .iter()
                .rev()
                .find(|e| {
                    if is_file(e) {
                        e.detail.contains(&needle_file)
                    } else {
                        e.detail
                            .split_once(['=', ' '])
                            .is_some_and(|(_, val)| val.starts_with(&needle_flag))
                    }
                })
                .or(s.evidence.first())
                .cloned()
                .unwrap_or_else(|| default_evidence(key.name(), ""));
            out.insert(k, (v, ev));
        }
        out
    }

    /// The listeners dockerd opens, after its defaults (no -H: the default
    /// unix socket; TLS on and no -H: tcp://localhost:2376, reported as
    /// 127.0.0.1). Entries that fail to parse are left out (they are start
    /// failures in `problems`); duplicates are opened once.
    pub fn listeners(&self) -> Vec<Listener> {
        self.resolve_listeners().0
    }

    fn resolve_listeners(&self) -> (Vec<Listener>, Vec<Problem>) {
        let tls = self.tls().enabled;
        let mut specs = self.list(keys::HOSTS);
        if specs.is_empty() {
            let d = if tls {
                "tcp://localhost:2376 (TLS on)".to_string()
            } else if self.context.rootless {
                "unix://$XDG_RUNTIME_DIR/docker.sock (rootless)".to_string()
            } else {
                "unix:///var/run/docker.sock".to_string()
            };
            specs.push((
                String::new(),
                default_evidence("hosts", &format!("(no -H): {d}")),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        let mut problems = Vec::new();
        let xdg = self.context.env("XDG_RUNTIME_DIR");
        for (spec, evidence) in specs {
            match hosts::parse_host(tls, self.context.rootless, xdg, &spec) {
                Ok(h) => {
                    if !seen.insert(h.canonical()) {
                        continue;
                    }
                    let shown = if spec.trim().is_empty() {
                        h.canonical()
                    } else {
                        spec.clone()
                    };
                    out.push(match h {
                        hosts::Host::Tcp { host, port, .. } => Listener::Tcp {
                            addr: if host == "localhost" {
                                "127.0.0.1".into()
                            } else {
                                host
                            },
                            port,
                            spec: shown,
                            evidence,
                        },
                        hosts::Host::Unix(path) => Listener::Unix {
                            path,
                            spec: shown,
                            evidence,
                        },
                        hosts::Host::Fd(name) => Listener::Fd {
                            name,
                            spec: shown,
                            evidence,
                        },
                    });
                }
                Err(e) => problems.push(Problem {
                    level: ProblemLevel::Fatal,
                    message: if e.starts_with("listen tcp") {
                        format!("failed to load listeners: {e}")
                    } else {
                        format!("failed to load listeners: error parsing -H {spec}: {e}")
                    },
                    evidence,
                }),
            }
        }
        (out, problems)
    }

    /// TLS as dockerd decides it, with default certificate paths resolved
    /// from the daemon's environment.
    ///
    /// 20.10 (`cmd/dockerd/daemon.go` loadDaemonCliConfig, options.go):
    /// `tls` = `--tls` if given, else `"tls"` in the file; any `--tlsverify`
    /// or a `"tlsverify"` key (even null) forces it on; `tlsverify` unset
    /// takes the value of `tls`; clients are verified unless tlsverify is
    /// false. The default files `$DOCKER_CERT_PATH|$DOCKER_CONFIG|~/.docker`
    /// `/{ca,cert,key}.pem` apply only when TLS is on on the command line
    /// (`--tls`, any `--tlsverify`) or DOCKER_TLS_VERIFY is set in the
    /// daemon's environment; with TLS turned on only by daemon.json, paths
    /// come from its `tlscacert`/`tlscert`/`tlskey` keys alone. (dockerd
    /// also drops a default cert/key path whose file does not exist: the
    /// model cannot see that; rules check the files.)
    pub fn tls(&self) -> TlsSettings {
        let mut evidence = Vec::new();
        let tls_set = self.set_value(keys::TLS);
        let verify_setting = self.settings.get("tlsverify");
        let mut tls: Option<bool> = None;
        if let Some(s) = tls_set {
            if let Value::Bool(b) = s.value {
                tls = Some(b);
                evidence.extend(s.evidence.first().cloned());
            }
        }
        let mut verify: Option<bool> = None;
        if let Some(s) = verify_setting {
            tls = Some(true);
            if let Value::Bool(b) = s.value {
                verify = Some(b);
            }
            evidence.extend(s.evidence.first().cloned());
        }
        let enabled = tls == Some(true);
        let verify_clients = enabled && verify.or(tls).unwrap_or(true);
        if evidence.is_empty() {
            evidence.push(default_evidence(
                "tls",
                "false (no --tls, --tlsverify, \"tls\" or \"tlsverify\")",
            ));
        }
        let flag_tls_on = tls_set.is_some_and(|s| {
            matches!(s.value, Value::Bool(true)) && s.evidence.first().is_some_and(|e| !is_file(e))
        }) || verify_setting
            .is_some_and(|s| s.evidence.first().is_some_and(|e| !is_file(e)));
        let env_verify = self.context.env("DOCKER_TLS_VERIFY").is_some();
        let opts_on = flag_tls_on || env_verify;
        let cert_dir = match (
            self.context.env("DOCKER_CERT_PATH"),
            self.context.env("DOCKER_CONFIG"),
        ) {
            (Some(p), _) => (p.to_string(), "$DOCKER_CERT_PATH"),
            (None, Some(p)) => (p.to_string(), "$DOCKER_CONFIG"),
            (None, None) => (format!("{}/.docker", self.context.home()), "$HOME/.docker"),
        };
        let path_of = |key: Key, file: &str| -> Option<(String, Evidence)> {
            if !enabled {
                return None;
            }
            if let Some(s) = self.set_value(key) {
                if let (Value::Str(p), Some(ev)) = (&s.value, s.evidence.first()) {
                    if !p.is_empty() {
                        return Some((p.clone(), ev.clone()));
                    }
                }
            }
            if opts_on {
                let p = format!("{}/{file}", cert_dir.0.trim_end_matches('/'));
                let ev = Evidence::new(
                    Source::Default,
                    "default",
                    format!(
                        "{}: dockerd default {p} ({}/{file})",
                        key.name(),
                        cert_dir.1
                    ),
                );
                return Some((p, ev));
            }
            None
        };
        TlsSettings {
            enabled,
            verify_clients,
            ca: path_of(keys::TLSCACERT, "ca.pem"),
            cert: path_of(keys::TLSCERT, "cert.pem"),
            key: path_of(keys::TLSKEY, "key.pem"),
            evidence,
        }
    }

    /// True when at least one problem would stop dockerd from starting.
    pub fn has_fatal(&self) -> bool {
        self.problems
            .iter()
            .any(|p| p.level == super::ProblemLevel::Fatal)
    }
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

/// Settings given on the command line, by key.
fn flag_settings(args: &argv::ParsedArgs) -> BTreeMap<String, Setting> {
    let mut out: BTreeMap<String, Setting> = BTreeMap::new();
    let mut specs: Vec<&'static options::OptionSpec> = Vec::new();
    for u in &args.uses {
        if !specs.iter().any(|s| s.key == u.spec.key) {
            specs.push(u.spec);
        }
    }
    for spec in specs {
        let uses: Vec<&argv::FlagUse> = args.of(spec.flag).collect();
        let Some(last) = uses.last() else { continue };
        let in_order: Vec<Evidence> = uses.iter().map(|u| u.evidence.clone()).collect();
        let winner_first: Vec<Evidence> = in_order.iter().rev().cloned().collect();
        let (value, evidence) = match spec.kind {
            options::Kind::Bool => (
                Value::Bool(argv::parse_bool(&last.value).unwrap_or(false)),
                winner_first,
            ),
            options::Kind::Int | options::Kind::Uint32 => (
                argv::parse_go_int(&last.value)
                    .map(Value::Int)
                    .unwrap_or(Value::Str(last.value.clone())),
                winner_first,
            ),
            options::Kind::List => (
                Value::List(uses.iter().map(|u| u.value.clone()).collect()),
                in_order,
            ),
            options::Kind::Map => {
                let mut m = BTreeMap::new();
                for u in &uses {
                    let (k, v) = u.value.split_once('=').unwrap_or((u.value.as_str(), ""));
                    m.insert(k.to_string(), v.to_string());
                }
                (Value::Map(m), in_order)
            }
            options::Kind::Ulimits => {
                let mut m = serde_json::Map::new();
                for u in &uses {
                    if let Ok((name, soft, hard)) = argv::parse_ulimit(&u.value) {
                        m.insert(
                            name.clone(),
                            serde_json::json!({"Name": name, "Soft": soft, "Hard": hard}),
                        );
                    }
                }
                (Value::Json(serde_json::Value::Object(m)), in_order)
            }
            options::Kind::Runtimes => {
                let mut m = serde_json::Map::new();
                for u in &uses {
                    if let Ok((name, path)) = argv::parse_runtime(&u.value) {
                        m.insert(name, serde_json::json!({"path": path}));
                    }
                }
                (Value::Json(serde_json::Value::Object(m)), in_order)
            }
            options::Kind::Pools => {
                let mut a = Vec::new();
                for u in &uses {
                    let mut o = serde_json::Map::new();
                    for field in u.value.split(',') {
                        if let Some((k, v)) = field.split_once('=') {
                            let jv = v
                                .parse::<i64>()
                                .map(serde_json::Value::from)
                                .unwrap_or_else(|_| serde_json::Value::from(v));
                            o.insert(k.to_lowercase(), jv);
                        }
                    }
                    a.push(serde_json::Value::Object(o));
                }
                (Value::Json(serde_json::Value::Array(a)), in_order)
            }
            _ => (Value::Str(last.value.clone()), winner_first),
        };
        out.insert(spec.key.to_string(), Setting { value, evidence });
    }
    out
}

/// pflag's `Value.String()` of a flag as dockerd prints it in conflicts.
fn flag_value_string(s: &Setting) -> String {
    match &s.value {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Num(n) => n.to_string(),
        Value::Str(t) => t.clone(),
        Value::List(v) => format!("[{}]", v.join(" ")),
        Value::Map(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Json(j) => j.to_string(),
        Value::Null => "<nil>".into(),
    }
}

/// `findConfigurationConflicts` step 3: every flag given explicitly whose
/// key (NamedOption name, or flag name / shorthand) is in the file.
fn conflicts(
    args: &argv::ParsedArgs,
    flags: &BTreeMap<String, Setting>,
    file: &file::ParsedFile,
    path: &str,
) -> Vec<Problem> {
    let mut names: Vec<&'static options::OptionSpec> = Vec::new();
    for u in &args.uses {
        if !names.iter().any(|s| s.flag == u.spec.flag) {
            names.push(u.spec);
        }
    }
    names.sort_by_key(|s| s.flag);
    let mut out = Vec::new();
    for spec in names {
        let candidates: Vec<String> = if spec.named {
            vec![spec.key.to_string()]
        } else {
            let mut v = vec![spec.flag.to_string()];
            v.extend(spec.short.map(|c| c.to_string()));
            v
        };
        for name in candidates {
            if options::SKIP_DUPLICATES.contains(&name.as_str()) {
                continue;
            }
            let Some(entry) = file.value_set(&name) else {
                continue;
            };
            let flag_val = flags
                .get(spec.key)
                .map(flag_value_string)
                .unwrap_or_default();
            let flag_ev = flags
                .get(spec.key)
                .and_then(|s| s.evidence.first())
                .map(|e| format!("{} at {}", e.detail, e.location))
                .unwrap_or_default();
            out.push(Problem {
                level: ProblemLevel::Fatal,
                message: format!(
                    "unable to configure the Docker daemon with file {path}: the following directives are specified both as a flag and in the configuration file: {name}: (from flag: {flag_val}, from file: {}) [flag {flag_ev}]",
                    entry.node.value.go_format()
                ),
                evidence: entry.evidence.clone(),
            });
            break;
        }
    }
    out
}

/// Checks dockerd makes on the (merged) configuration: `config.Validate`,
/// label conflicts and `verifyDaemonSettings`. `file_only`: the reload
/// subset (`config.Validate` on the file alone).
fn validate(eff: &Effective, file_only: bool) -> Vec<Problem> {
    let mut out = Vec::new();
    let ev = |key: &str| -> Evidence {
        eff.settings
            .get(key)
            .and_then(|s| s.evidence.first().cloned())
            .unwrap_or_else(|| default_evidence(key, ""))
    };
    let mut fatal = |message: String, evidence: Evidence| {
        out.push(Problem {
            level: ProblemLevel::Fatal,
            message,
            evidence,
        })
    };
    for (d, e) in eff.list(keys::DNS) {
        if argv::parse_ip(d.trim()).is_err() {
            fatal(format!("{d} is not an ip address"), e);
        }
    }
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for (l, e) in eff.list(keys::LABELS) {
        match l.split_once('=') {
            None => fatal(format!("bad attribute format: {l}"), e),
            Some((k, v)) => {
                if let Some(prev) = labels.get(k) {
                    if prev != v {
                        fatal(format!("conflict labels for {k}={v} and {k}={prev}"), e);
                        continue;
                    }
                }
                labels.insert(k.to_string(), v.to_string());
            }
        }
    }
    let int = |key: Key| match eff.set_value(key).map(|s| &s.value) {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    };
    if let Some(n) = int(keys::MAX_CONCURRENT_DOWNLOADS).filter(|n| *n < 0) {
        fatal(
            format!("invalid max concurrent downloads: {n}"),
            ev("max-concurrent-downloads"),
        );
    }
    if let Some(n) = int(keys::MAX_CONCURRENT_UPLOADS).filter(|n| *n < 0) {
        fatal(
            format!("invalid max concurrent uploads: {n}"),
            ev("max-concurrent-uploads"),
        );
    }
    if let Some(n) = int(keys::MAX_DOWNLOAD_ATTEMPTS).filter(|n| *n <= 0) {
        fatal(
            format!("invalid max download attempts: {n}"),
            ev("max-download-attempts"),
        );
    }
    let runtimes = eff.map(keys::RUNTIMES);
    if runtimes.contains_key("runc") {
        fatal("runtime name 'runc' is reserved".into(), ev("runtimes"));
    }
    if let Some(Value::Str(rt)) = eff.set_value(keys::DEFAULT_RUNTIME).map(|s| &s.value) {
        let builtin = [
            "runc",
            "io.containerd.runtime.v1.linux",
            "io.containerd.runc.v2",
        ];
        if !rt.is_empty() && !builtin.contains(&rt.as_str()) && !runtimes.contains_key(rt) {
            fatal(
                format!("specified default runtime '{rt}' does not exist"),
                ev("default-runtime"),
            );
        }
    }
    if let Some(Value::Str(m)) = eff.set_value(keys::DEFAULT_IPC_MODE).map(|s| &s.value) {
        let hint = "use \"shareable\" or \"private\"";
        let valid = matches!(m.as_str(), "" | "host" | "private" | "shareable" | "none")
            || m.strip_prefix("container:").is_some_and(|c| !c.is_empty());
        if !valid {
            fatal(
                format!("default IPC mode setting ({m}) is invalid; {hint}"),
                ev("default-ipc-mode"),
            );
        } else if !matches!(m.as_str(), "" | "private" | "shareable") {
            fatal(
                format!("IPC mode \"{m}\" is not supported as default value; {hint}"),
                ev("default-ipc-mode"),
            );
        }
    }
    if let Some(Value::Str(m)) = eff.set_value(keys::DEFAULT_CGROUPNS_MODE).map(|s| &s.value) {
        if !matches!(m.as_str(), "" | "host" | "private") {
            fatal(
                format!(
                    "default cgroup namespace mode ({m}) is invalid; use \"host\" or \"private\""
                ),
                ev("default-cgroupns-mode"),
            );
        }
    }
    if file_only {
        return out;
    }
    // verifyDaemonSettings (daemon/daemon_unix.go)
    let (icc, icc_ev) = eff.bool(keys::ICC);
    let (ipt, ipt_ev) = eff.bool(keys::IPTABLES);
    if !icc && !ipt {
        let e = if icc_ev.source == Source::Default {
            ipt_ev
        } else {
            icc_ev
        };
        fatal(
            "You specified --iptables=false with --icc=false. ICC=false uses iptables to function. Please set --icc or --iptables to true".into(),
            e,
        );
    }
    let checks = eff.context.engine.checks;
    let (ip6, ip6_ev) = eff.bool(keys::IP6TABLES);
    let (ipv6, ipv6_ev) = eff.bool(keys::IPV6);
    if checks.ip6tables_needs_experimental && ip6 && !eff.bool(keys::EXPERIMENTAL).0 {
        fatal(
            "ip6tables rules are only available if experimental features are enabled".into(),
            ip6_ev.clone(),
        );
    }
    if checks.icc_needs_ip6tables_with_ipv6 && !icc && ipv6 && !ip6 {
        fatal(
            "You specified --ip6tables=false with --icc=false. ICC=false uses ip6tables to function. Please set --icc or --ip6tables to true".into(),
            if ip6_ev.source == Source::Default { ipv6_ev.clone() } else { ip6_ev.clone() },
        );
    }
    let nonempty =
        |k: Key| eff.string(k).0.is_some_and(|s| !s.is_empty()) && eff.set_value(k).is_some();
    if checks.ipv6_needs_fixed_cidr_v6
        && ipv6
        && !nonempty(keys::FIXED_CIDR_V6)
        && eff.string(keys::BRIDGE).0.as_deref() != Some("none")
    {
        fatal(
            "IPv6 is enabled for the default bridge, but no subnet is configured. Specify an IPv6 subnet using --fixed-cidr-v6".into(),
            ipv6_ev,
        );
    }
    if checks.bridge_excludes_bip6 && nonempty(keys::BRIDGE) && nonempty(keys::BIP6) {
        fatal(
            "You specified -b & --bip6, mutually exclusive options. Please specify only one".into(),
            ev("bip6"),
        );
    }
    if checks.host_gateway_ip_exclusive
        && nonempty(keys::HOST_GATEWAY_IP)
        && !eff.list(keys::HOST_GATEWAY_IPS).is_empty()
    {
        fatal(
            "host-gateway-ip and host-gateway-ips must not both be specified in the config file"
                .into(),
            ev("host-gateway-ip"),
        );
    }
    if checks.host_gateway_one_per_family {
        let mut seen = [false, false];
        for (ip, e) in eff.list(keys::HOST_GATEWAY_IPS) {
            let Ok(addr) = argv::parse_ip(ip.trim()) else {
                continue;
            };
            let (family, name) = match addr {
                std::net::IpAddr::V4(_) => (0, "IPv4"),
                std::net::IpAddr::V6(a) if a.to_ipv4_mapped().is_some() => (0, "IPv4"),
                std::net::IpAddr::V6(_) => (1, "IPv6"),
            };
            if seen[family] {
                fatal(
                    format!("only one {name} host gateway IP address can be specified"),
                    e,
                );
                break;
            }
            seen[family] = true;
        }
    }
    // daemon/discovery (≤20.10): an advertise address without a store.
    if matches!(
        keys::CLUSTER_ADVERTISE.spec().life_in(&eff.context.engine),
        options::Life::Active
    ) && nonempty(keys::CLUSTER_ADVERTISE)
        && !nonempty(keys::CLUSTER_STORE)
    {
        fatal(
            "invalid cluster configuration. --cluster-advertise must be accompanied by --cluster-store configuration".into(),
            ev("cluster-advertise"),
        );
    }
    // ≤20.10 reads the profile at start; a bare keyword is a relative file
    // name (resolved against dockerd's working directory, `/` under systemd).
    if checks.seccomp_profile_always_a_file {
        if let (Some(p), p_ev) = eff.string(keys::SECCOMP_PROFILE) {
            if matches!(p.as_str(), "builtin" | "unconfined") {
                fatal(
                    format!(
                        "opening seccomp profile ({p}) failed: open {p}: no such file or directory (this engine has no `{p}` keyword: the name is a file, relative to dockerd's working directory)"
                    ),
                    p_ev,
                );
            }
        }
    }
    // docker-v29.0.0 daemon/command/daemon_linux.go: userns-remap turns the
    // default containerd image store off, and refuses an explicit one.
    if checks.userns_remap_excludes_containerd_store && nonempty(keys::USERNS_REMAP) {
        if let Some((v, e)) = eff.map(keys::FEATURES).get("containerd-snapshotter") {
            if v == "true" {
                fatal(
                    "containerd-snapshotter is explicitly enabled, but is not compatible with userns remapping. Please disable userns remapping or containerd-snapshotter".into(),
                    e.clone(),
                );
            }
        }
    }
    if nonempty(keys::BRIDGE) && nonempty(keys::BIP) {
        fatal(
            "You specified -b & --bip, mutually exclusive options. Please specify only one".into(),
            ev("bip"),
        );
    }
    if eff.string(keys::CONTAINERD_NAMESPACE).0 == eff.string(keys::CONTAINERD_PLUGINS_NAMESPACE).0
    {
        fatal(
            "containers namespace and plugins namespace cannot be the same".into(),
            ev("containerd-namespace"),
        );
    }
    let systemd = eff
        .list(keys::EXEC_OPTS)
        .iter()
        .any(|(o, _)| o.replace(' ', "") == "native.cgroupdriver=systemd");
    if let (Some(cp), true) = (eff.string(keys::CGROUP_PARENT).0, systemd) {
        if !cp.is_empty() && (cp.len() <= 6 || !cp.ends_with(".slice")) {
            fatal(
                "cgroup-parent for systemd cgroup should be a valid slice named as \"xxx.slice\""
                    .into(),
                ev("cgroup-parent"),
            );
        }
    }
    let engine = &eff.context.engine;
    if let (Some(d), d_ev) = eff.string(keys::STORAGE_DRIVER) {
        if engine.removed_storage_driver(&d).is_some() {
            fatal(
                format!(
                    "[graphdriver] ERROR: the {d} storage-driver has been deprecated and removed; visit https://docs.docker.com/go/storage-driver/ for more information"
                ),
                d_ev,
            );
        }
    }
    // daemon/logs.go: the daemon's log options are checked against the
    // driver only when there are some; without, containers fail to start.
    if let (Some(d), d_ev) = eff.string(keys::LOG_DRIVER) {
        if let Some(at) = engine.removed_log_driver(&d) {
            let msg = format!("logger: no log driver named '{d}' is registered");
            if eff.map(keys::LOG_OPTS).is_empty() {
                out.push(Problem {
                    level: ProblemLevel::Warning,
                    message: format!(
                        "dockerd starts, but every container fails to start: {msg} (removed in {})",
                        at.line()
                    ),
                    evidence: d_ev,
                });
            } else {
                fatal(format!("failed to set log opts: {msg}"), d_ev);
            }
        }
    }
    out
}

/// What each set option is in this engine (the table's `life`): refused
/// (a start failure when set to a non-zero value), deprecated or ignored
/// (warnings; an ignored value is dropped).
fn lifecycle(eff: &mut Effective) -> Vec<Problem> {
    let engine = eff.context.engine;
    let mut out = Vec::new();
    let mut drop = Vec::new();
    for (key, s) in &eff.settings {
        let Some(spec) = options::by_key(key) else {
            continue;
        };
        let Some(ev) = s.evidence.first().cloned() else {
            continue;
        };
        match spec.life_in(&engine) {
            options::Life::Refused(msg) if !is_zero(&s.value) => out.push(Problem {
                level: ProblemLevel::Fatal,
                message: msg.to_string(),
                evidence: ev,
            }),
            options::Life::Deprecated(msg) => out.push(Problem {
                level: ProblemLevel::Warning,
                message: format!("{}: {msg}", spec.key),
                evidence: ev,
            }),
            options::Life::Ignored(msg) => {
                out.push(Problem {
                    level: ProblemLevel::Warning,
                    message: format!(
                        "{}: {msg}; dockerd {} ignores it",
                        spec.key,
                        engine.version.line()
                    ),
                    evidence: ev,
                });
                drop.push(key.clone());
            }
            _ => {}
        }
    }
    for k in drop {
        eff.settings.remove(&k);
    }
    out
}

/// The Go zero value (what an unset field decodes to).
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        Value::Num(n) => *n == 0.0,
        Value::Str(t) => t.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Json(j) => {
            j.is_null()
                || j.as_object().is_some_and(|o| o.is_empty())
                || j.as_array().is_some_and(|a| a.is_empty())
        }
        Value::Null => true,
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

#[cfg(test)]
mod tests;
