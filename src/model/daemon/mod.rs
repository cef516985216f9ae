//! One audited daemon: its running configuration, what the next start (or a
//! SIGHUP) would use, and the live facts from its API and sockets.
//!
//! Here: building the model and its views; `launch` (how each daemon is
//! launched: command lines, environments, engines; was `Plan`), `listen`
//! (TCP listeners), `live` (facts from the API).

use super::config::{self, ConfigInput, Effective};
use super::engine::EngineChoice;
use super::systemd::ServiceResolution;
use super::{ArgWord, Evidence, Source, Want};
use crate::model::config::keys;
use crate::snapshot::{DaemonEvidence, FileEvidence, Mode, ProbeEvidence, Snapshot};
use serde::Serialize;
use std::collections::BTreeMap;

mod launch;
mod listen;
mod live;
use launch::{Launch, disk_launch, launches, running_launch};
use listen::running_tcp;
pub use listen::{configured_tcp, fmt_addr, parse_listen_stream};
pub use live::IMPLICIT_INSECURE;
use live::live_facts;

/// Which configuration a [`View`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewKind {
    /// The running daemon (argv from /proc, live values from the API).
    Running,
    /// What the next start would run with (units and files on disk).
    NextStart,
    /// What a SIGHUP would change (reloadable keys from the file on disk).
    Reload,
}

/// One configuration of a daemon, as the rules judge it.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub kind: ViewKind,
    /// The engine whose semantics judge this view, and where its version
    /// came from.
    pub engine: EngineChoice,
    /// The effective configuration, or why it could not be computed
    /// (evidence missing).
    pub config: Result<Effective, String>,
    /// Live facts: only in the running view.
    pub live: Option<LiveFacts>,
    /// TCP listeners: the sockets the daemon holds (running), or those the
    /// configuration asks for (next start), after socket activation.
    pub tcp: Vec<TcpListener>,
    /// Why the sockets a running daemon holds are unknown (its /proc/PID/fd
    /// or net/tcp could not be read, say because it exited mid-audit): then
    /// an empty `tcp` proves nothing.
    pub tcp_unknown: Option<String>,
}

/// A TCP listener with how it is known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TcpListener {
    pub addr: String,
    pub port: u16,
    pub evidence: Evidence,
    /// The probe of this listener, in the running view.
    pub probe: Option<ProbeEvidence>,
}

/// Values the daemon itself reports (the final word where present).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveFacts {
    /// Why the API could not be used, if it could not.
    pub api_error: Option<String>,
    pub version: Option<String>,
    /// `/networks/bridge` option `com.docker.network.bridge.enable_icc`.
    pub icc: Option<(bool, Evidence)>,
    pub logging_driver: Option<(String, Evidence)>,
    pub live_restore: Option<(bool, Evidence)>,
    pub experimental: Option<(bool, Evidence)>,
    /// `/info` SecurityOptions entries (`name=userns`, `name=rootless`, ...).
    pub security_options: Option<(Vec<String>, Evidence)>,
    pub authorization_plugins: Option<(Vec<String>, Evidence)>,
    /// `/info` Swarm.LocalNodeState (`inactive`, `active`, ...).
    pub swarm_state: Option<(String, Evidence)>,
    /// `/info` Warnings.
    pub warnings: Vec<String>,
    /// `/info` Debug (debug mode, `-D` or `debug: true`).
    pub debug: Option<(bool, Evidence)>,
    /// `/info` Driver (the storage driver in use).
    pub storage_driver: Option<(String, Evidence)>,
    /// `/info` RegistryConfig: insecure registries beyond the implicit
    /// 127.0.0.0/8 (CIDRs, and index names with `Secure: false`).
    pub insecure_registries: Option<(Vec<String>, Evidence)>,
    /// `/info` DockerRootDir (the data-root in use, after userns-remap).
    pub docker_root_dir: Option<(String, Evidence)>,
}

/// One audited daemon.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonModel {
    /// None when auditing the configuration on disk (no running daemon).
    pub pid: Option<u32>,
    /// The version the running daemon reports (`/version`).
    pub version: Option<String>,
    /// The engine judged for the running view (None when none runs).
    pub engine: Option<EngineChoice>,
    /// The engine the next start would run (another binary than the running
    /// one after a package upgrade without a restart; `--engine-version`).
    pub next_engine: EngineChoice,
    pub endpoint: Option<String>,
    pub rootless: bool,
    pub rootless_evidence: Vec<Evidence>,
    /// The running daemon's configuration (None when none runs).
    pub running: Option<View>,
    /// What the next start would use.
    pub next_start: View,
    /// What a SIGHUP would change (running daemons only).
    pub reload: Option<View>,
    /// The systemd service that starts it, when known.
    pub service: Option<ServiceResolution>,
    /// daemon.json changed after the daemon started.
    pub config_modified_after_start: Option<Evidence>,
    /// Its containers and images (running daemons, when collected).
    pub objects: super::objects::Objects,
    /// Things the user should know about how this daemon was modelled.
    pub notes: Vec<String>,
}

/// Build the model of every audited daemon: one per running dockerd, or one
/// for the configuration on disk when none runs (and for `--root`).
pub fn build(snap: &Snapshot) -> Vec<DaemonModel> {
    build_with(snap, true)
}

/// [`build`] without the containers and images (their `objects` say they
/// were not evaluated): for callers that only need the configuration
/// (what files to read, fix plans), so that thousands of inspect answers
/// are not modelled again each time.
pub fn build_configs(snap: &Snapshot) -> Vec<DaemonModel> {
    build_with(snap, false)
}

fn build_with(snap: &Snapshot, objects: bool) -> Vec<DaemonModel> {
    match snap.mode {
        Mode::Live if !snap.daemons.is_empty() => snap
            .daemons
            .iter()
            .map(|d| build_running(snap, d, objects))
            .collect(),
        _ => vec![build_on_disk(snap)],
    }
}

/// The daemon.json, TLS files and plugin sockets the model needs.
pub fn wanted(snap: &Snapshot) -> Vec<Want> {
    let mut out = Vec::new();
    for launch in launches(snap) {
        for (words, env) in launch.command_lines() {
            let engine = launch.next_engine.engine();
            let path = config::config_file_path(&words, &env, launch.rootless, &engine);
            out.push(Want::File(path.path.clone()));
            // The TLS material and plugins only matter once the file is read.
            let Some(file) = snap.file(&path.path) else {
                continue;
            };
            let eff = config::compute(&ConfigInput {
                argv: &words,
                config_file: Some(file),
                env: &env,
                rootless: launch.rootless,
                engine,
            });
            let tls = eff.tls();
            for (p, _) in tls.ca.iter().chain(tls.cert.iter()) {
                out.push(Want::File(p.clone()));
            }
            if let Some((p, _)) = &tls.key {
                out.push(Want::Meta(p.clone()));
            }
            // daemon.storage-driver-aufs: a prior driver's state is reused.
            if let (Some(root), _) = eff.string(keys::DATA_ROOT) {
                out.push(Want::Dir(root));
            }
            if let Some(p) = userland_proxy_path(&eff) {
                out.push(Want::Meta(p));
            }
            for (name, _) in eff.list(keys::AUTHORIZATION_PLUGINS) {
                out.extend(plugin_paths(&name).into_iter().map(Want::Meta));
            }
            super::files::config_wants(&eff, launch.service.as_ref(), &mut out);
        }
    }
    out
}

/// Why a legacy plugin found nowhere in an offline tree (`--root`) is no
/// start failure: its socket under /run is runtime state, absent from any
/// image, and the plugin may well serve it once the host runs.
pub fn plugin_offline_note(name: &str) -> String {
    format!(
        "authorization plugin `{name}`: no spec in /etc/docker/plugins or /usr/lib/docker/plugins, and its socket in /run/docker/plugins is runtime state that cannot be checked in an offline tree: dockerd starts only if the plugin serves that socket by then"
    )
}

/// Where dockerd looks for a legacy plugin NAME (pkg/plugins discovery).
pub fn plugin_paths(name: &str) -> Vec<String> {
    // A managed plugin is `name:tag` or `repo/name`; it lives in the data
    // root, not in these directories.
    if name.is_empty() || name.contains('/') || name.contains("..") {
        return Vec::new();
    }
    vec![
        format!("/run/docker/plugins/{name}.sock"),
        format!("/run/docker/plugins/{name}/{name}.sock"),
        format!("/etc/docker/plugins/{name}.spec"),
        format!("/etc/docker/plugins/{name}.json"),
        format!("/usr/lib/docker/plugins/{name}.spec"),
        format!("/usr/lib/docker/plugins/{name}.json"),
    ]
}

fn compute_with(
    snap: &Snapshot,
    words: &[ArgWord],
    env: &BTreeMap<String, String>,
    launch: &Launch,
    choice: &EngineChoice,
) -> (Effective, Option<FileEvidence>) {
    let engine = choice.engine();
    let path = config::config_file_path(words, env, launch.rootless, &engine);
    let file = snap.file(&path.path).cloned();
    let eff = config::compute(&ConfigInput {
        argv: words,
        config_file: file.as_ref(),
        env,
        rootless: launch.rootless,
        engine,
    });
    (eff, file)
}

/// Seconds of uncertainty in a process start time from /proc (boot time and
/// start are whole seconds, mtimes too): edits within this many seconds of the
/// start are not reported as made after it.
const START_TIME_SLACK: i64 = 2;

fn build_running(snap: &Snapshot, d: &DaemonEvidence, objects: bool) -> DaemonModel {
    let launch = running_launch(snap, d);
    let words = launch.running.clone().unwrap_or_default();
    let running_engine = launch
        .engine
        .clone()
        .unwrap_or_else(|| launch.next_engine.clone());
    let (running_cfg, file) = compute_with(snap, &words, &launch.env, &launch, &running_engine);
    let live = live_facts(d);
    let mut notes = launch.notes.clone();
    notes.extend(d.errors.iter().map(|e| format!("pid {}: {e}", d.pid)));

    // daemon.json changed after the daemon started?
    let modified = match (&file, d.start_time) {
        (Some(f), Some(start)) => f.meta.as_ref().filter(|m| m.mtime > start + START_TIME_SLACK).map(|m| {
            Evidence::new(
                Source::File,
                running_cfg.config_path.path.clone(),
                format!(
                    "modified at {}, after the daemon started at {}: settings read from it may not be the running ones",
                    crate::timefmt::rfc3339(m.mtime),
                    crate::timefmt::rfc3339(start)
                ),
            )
        }),
        _ => None,
    };
    if let Some(m) = &modified {
        notes.push(format!("{}: {}", m.location, m.detail));
    }

    let tcp = running_tcp(d, &running_cfg);
    let tcp_unknown = d.sockets_error.clone();
    let reload_view = file.as_ref().filter(|_| !d.argv.is_empty()).map(|f| {
        let input = ConfigInput {
            argv: &words,
            config_file: Some(f),
            env: &launch.env,
            rootless: launch.rootless,
            engine: running_engine.engine(),
        };
        View {
            kind: ViewKind::Reload,
            engine: running_engine.clone(),
            config: Ok(config::reload(&running_cfg, &input, f)),
            live: Some(LiveFacts {
                // What a reload re-reads is judged from the file.
                live_restore: None,
                authorization_plugins: None,
                debug: None,
                insecure_registries: None,
                ..live.clone()
            }),
            tcp: tcp.clone(),
            tcp_unknown: tcp_unknown.clone(),
        }
    });
    let next_start = next_view(snap, &launch);
    DaemonModel {
        pid: Some(d.pid),
        version: launch.version.clone(),
        engine: launch.engine.clone(),
        next_engine: launch.next_engine.clone(),
        endpoint: d.api.endpoint.clone(),
        rootless: launch.rootless,
        rootless_evidence: launch.rootless_evidence.clone(),
        running: Some(View {
            kind: ViewKind::Running,
            engine: running_engine,
            config: if d.argv.is_empty() {
                // The process exited (or hid) before its command line was read.
                Err(format!(
                    "the command line of pid {} could not be read ({})",
                    d.pid,
                    if d.errors.is_empty() {
                        "empty".to_string()
                    } else {
                        d.errors.join("; ")
                    }
                ))
            } else {
                Ok(running_cfg)
            },
            live: Some(live),
            tcp,
            tcp_unknown,
        }),
        next_start,
        reload: reload_view,
        service: launch.service.clone(),
        config_modified_after_start: modified,
        objects: if objects {
            super::objects::build(&d.api, &d.api.container_processes)
        } else {
            super::objects::Objects::missing("containers and images were not evaluated")
        },
        notes,
    }
}

fn build_on_disk(snap: &Snapshot) -> DaemonModel {
    let launch = disk_launch(snap);
    let mut notes = launch.notes.clone();
    notes.insert(
        0,
        match snap.mode {
            Mode::Root => format!(
                "offline root {}: verdicts are for the next start",
                snap.root.as_deref().unwrap_or("?")
            ),
            _ => "no running dockerd found: auditing the configuration on disk that the next start would use".to_string(),
        },
    );
    DaemonModel {
        pid: None,
        version: None,
        engine: None,
        next_engine: launch.next_engine.clone(),
        endpoint: None,
        rootless: false,
        rootless_evidence: Vec::new(),
        running: None,
        next_start: next_view(snap, &launch),
        reload: None,
        service: launch.service.clone(),
        config_modified_after_start: None,
        objects: super::objects::Objects::missing(match snap.mode {
            Mode::Root => "an offline root has no running containers",
            _ => "no dockerd runs",
        }),
        notes,
    }
}

fn next_view(snap: &Snapshot, launch: &Launch) -> View {
    match &launch.next {
        Ok(words) => {
            let (mut eff, _) =
                compute_with(snap, words, &launch.next_env, launch, &launch.next_engine);
            // A unit systemd refuses is a start failure like a bad daemon.json.
            if let Some(s) = &launch.service {
                eff.problems.extend(s.problems.iter().cloned());
            }
            let proxy = userland_proxy_problems(snap, &eff);
            eff.problems.extend(proxy);
            let tcp = configured_tcp(&eff, launch.service.as_ref());
            View {
                kind: ViewKind::NextStart,
                engine: launch.next_engine.clone(),
                config: Ok(eff),
                live: None,
                tcp,
                tcp_unknown: None,
            }
        }
        Err(e) => View {
            kind: ViewKind::NextStart,
            engine: launch.next_engine.clone(),
            config: Err(e.clone()),
            live: None,
            tcp: Vec::new(),
            tcp_unknown: None,
        },
    }
}

/// The `userland-proxy-path` an engine that needs the binary checks at
/// start (25.0+, `verifyUserlandProxyConfig`): set, non-empty, and the
/// proxy on. (An empty path is looked up in PATH and the libexec
/// directories; that lookup is not modelled.)
fn checked_proxy_path(eff: &Effective) -> Option<(String, Evidence)> {
    if !eff.context.engine.checks.userland_proxy_binary_required
        || !eff.bool(keys::USERLAND_PROXY).0
    {
        return None;
    }
    match eff.string(keys::USERLAND_PROXY_PATH) {
        (Some(p), e) if !p.is_empty() => Some((p, e)),
        _ => None,
    }
}

/// The metadata collect must read for [`userland_proxy_problems`].
fn userland_proxy_path(eff: &Effective) -> Option<String> {
    checked_proxy_path(eff)
        .map(|(p, _)| p)
        .filter(|p| p.starts_with('/'))
}

/// 25.0+: an enabled userland proxy's configured path must be absolute and
/// name an executable file.
fn userland_proxy_problems(snap: &Snapshot, eff: &Effective) -> Vec<super::Problem> {
    let Some((path, evidence)) = checked_proxy_path(eff) else {
        return Vec::new();
    };
    let fatal = |message: String| {
        vec![super::Problem {
            level: super::ProblemLevel::Fatal,
            message,
            evidence: evidence.clone(),
        }]
    };
    if !path.starts_with('/') {
        return fatal(format!(
            "invalid userland-proxy-path: must be an absolute path: {path}"
        ));
    }
    // Not collected: no evidence either way (collect reads it, see `wanted`).
    let Some(f) = snap.file(&path) else {
        return Vec::new();
    };
    if f.missing {
        return fatal(format!(
            "invalid userland-proxy-path: exec: \"{path}\": stat {path}: no such file or directory"
        ));
    }
    match &f.meta {
        Some(m)
            if m.target_kind.unwrap_or(m.kind) != crate::snapshot::FileKind::File
                || m.mode & 0o111 == 0 =>
        {
            fatal(format!(
                "invalid userland-proxy-path: exec: \"{path}\": permission denied (not an executable file)"
            ))
        }
        _ => Vec::new(),
    }
}
