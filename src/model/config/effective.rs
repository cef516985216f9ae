//! The typed accessors of the effective configuration (`Effective::bool`,
//! `string`, `list`, ...): each value with its evidence, the default when unset.

use super::options::{Key, keys};
use super::{
    Effective, Listener, Setting, TlsSettings, Value, argv, default_evidence, hosts, is_file, read,
};
use crate::model::{Evidence, Problem, ProblemLevel, Source};
use std::collections::BTreeMap;

impl Effective {
    /// The option as set, by daemon.json key; `None` when it is not set.
    pub fn get(&self, key: Key) -> Option<&Setting> {
        read(key);
        self.settings.get(key.name())
    }

    /// The setting when it has a value (not unset, not `null`).
    pub(super) fn set_value(&self, key: Key) -> Option<&Setting> {
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

    pub(super) fn resolve_listeners(&self) -> (Vec<Listener>, Vec<Problem>) {
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
