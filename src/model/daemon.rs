//! One audited daemon: its running configuration, what the next start (or a
//! SIGHUP) would use, and the live facts from its API and sockets.

use super::config::{self, ConfigInput, Effective, Listener};
use super::engine::{self, EngineChoice, VersionEvidence, VersionSource};
use super::systemd::ServiceResolution;
use super::{ArgWord, Evidence, Source, Want};
use crate::model::config::keys;
use crate::snapshot::{DaemonEvidence, FileEvidence, Mode, ProbeEvidence, Snapshot};
use serde::Serialize;
use std::collections::BTreeMap;

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
    for plan in plans(snap) {
        for (words, env) in plan.command_lines() {
            let engine = plan.next_engine.engine();
            let path = config::config_file_path(&words, &env, plan.rootless, &engine);
            out.push(Want::File(path.path.clone()));
            // The TLS material and plugins only matter once the file is read.
            let Some(file) = snap.file(&path.path) else {
                continue;
            };
            let eff = config::compute(&ConfigInput {
                argv: &words,
                config_file: Some(file),
                env: &env,
                rootless: plan.rootless,
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
            super::files::config_wants(&eff, plan.service.as_ref(), &mut out);
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

/// How one daemon's command lines are obtained, before any file is parsed.
struct Plan {
    rootless: bool,
    rootless_evidence: Vec<Evidence>,
    version: Option<String>,
    /// The engine of the running process (running daemons).
    engine: Option<EngineChoice>,
    /// The engine the next start runs.
    next_engine: EngineChoice,
    /// argv of the running process.
    running: Option<Vec<ArgWord>>,
    /// argv of the next start, or why it is unknown.
    next: Result<Vec<ArgWord>, String>,
    env: BTreeMap<String, String>,
    next_env: BTreeMap<String, String>,
    service: Option<super::systemd::ServiceResolution>,
    notes: Vec<String>,
}

impl Plan {
    fn command_lines(&self) -> Vec<(Vec<ArgWord>, BTreeMap<String, String>)> {
        let mut v = Vec::new();
        if let Some(r) = &self.running {
            v.push((r.clone(), self.env.clone()));
        }
        if let Ok(n) = &self.next {
            v.push((n.clone(), self.next_env.clone()));
        }
        v
    }
}

fn plans(snap: &Snapshot) -> Vec<Plan> {
    match snap.mode {
        Mode::Live if !snap.daemons.is_empty() => {
            snap.daemons.iter().map(|d| running_plan(snap, d)).collect()
        }
        _ => vec![disk_plan(snap)],
    }
}

/// The environment dockerd's defaults depend on; HOME defaults to root's.
fn base_env(env: &BTreeMap<String, String>, uid: Option<u32>) -> BTreeMap<String, String> {
    let mut env = env.clone();
    if !env.contains_key("HOME") && uid.unwrap_or(0) == 0 {
        env.insert("HOME".into(), "/root".into());
    }
    env
}

fn detect_rootless(snap: &Snapshot, d: &DaemonEvidence) -> (bool, Vec<Evidence>) {
    let mut ev = Vec::new();
    let loc = format!("/proc/{}", d.pid);
    if let Some(uid) = d.uid.filter(|u| *u != 0) {
        ev.push(Evidence::new(
            Source::Process,
            format!("{loc}/status"),
            format!("runs as uid {uid}"),
        ));
    }
    if let Some(p) = &d.parent {
        let is_kit = |s: &str| s.rsplit('/').next() == Some("rootlesskit");
        if p.comm.as_deref().is_some_and(is_kit) || p.exe.as_deref().is_some_and(is_kit) {
            ev.push(Evidence::new(
                Source::Process,
                format!("/proc/{}", p.pid),
                "parent process is rootlesskit",
            ));
        }
    }
    if let Some(dir) = d.environ.get("ROOTLESSKIT_STATE_DIR") {
        ev.push(Evidence::new(
            Source::Process,
            format!("{loc}/environ"),
            format!("ROOTLESSKIT_STATE_DIR={dir}"),
        ));
    }
    let live = info(d)
        .and_then(|i| i.get("SecurityOptions"))
        .and_then(|v| v.as_array())
        .is_some_and(|a| a.iter().any(|o| o.as_str() == Some("name=rootless")));
    if live {
        ev.push(Evidence::new(
            Source::Api,
            "GET /info",
            "SecurityOptions has name=rootless",
        ));
    }
    let _ = snap;
    (!ev.is_empty(), ev)
}

fn info(d: &DaemonEvidence) -> Option<&serde_json::Value> {
    d.api.info.as_ref().and_then(|c| c.body.as_ref())
}

fn running_plan(snap: &Snapshot, d: &DaemonEvidence) -> Plan {
    let (rootless, rootless_evidence) = detect_rootless(snap, d);
    let env = base_env(&d.environ, d.uid);
    let version = d
        .api
        .version
        .as_ref()
        .and_then(|c| c.body.as_ref())
        .and_then(|b| b.get("Version"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let running = ArgWord::from_argv(&d.argv);
    let mut notes = Vec::new();
    let mut next_env = env.clone();
    let unit_name = snap.unit_file.as_ref().or(d.systemd_unit.as_ref());
    let (next, service) = match unit_name {
        Some(unit) => {
            // A rootless daemon's service is a user unit of its owner.
            let res = match (&snap.unit_file, env.get("HOME").filter(|_| rootless)) {
                (Some(file), _) => super::systemd::resolve_file(snap, file),
                (None, Some(home)) => super::systemd::resolve_user(snap, unit, home),
                (None, None) => super::systemd::resolve(snap, unit),
            };
            for (k, (v, _)) in &res.environment {
                next_env.insert(k.clone(), v.clone());
            }
            notes.extend(next_start_note(&res));
            let next = if !res.evidence_errors.is_empty() {
                Err(format!(
                    "cannot resolve {unit}: {}",
                    res.evidence_errors.join("; ")
                ))
            } else {
                match &res.exec_start {
                    Some(w) => Ok(w.clone()),
                    None => Err(format!("{unit} has no ExecStart that can be resolved")),
                }
            };
            (next, Some(res))
        }
        None => {
            notes.push(format!(
                "dockerd (pid {}) is not run by a systemd service: the next start is assumed to use the same command line",
                d.pid
            ));
            let next = if d.argv.is_empty() {
                Err(format!(
                    "the command line of pid {} could not be read",
                    d.pid
                ))
            } else {
                Ok(running.clone())
            };
            (next, None)
        }
    };
    let exe_path = d
        .exe
        .clone()
        .unwrap_or_else(|| format!("/proc/{}/exe", d.pid));
    let running_ev = VersionEvidence {
        option: None,
        api: version.clone(),
        executable: running_executable(d).map(|v| (v, exe_path)),
        package: package_version(snap),
    };
    let engine = engine::choose(
        &running_ev,
        &[
            VersionSource::Api,
            VersionSource::Executable,
            VersionSource::Package,
        ],
    );
    let next_ev = VersionEvidence {
        option: snap.engine_version.clone(),
        executable: next.as_ref().ok().and_then(|w| next_executable(snap, w)),
        ..running_ev
    };
    let next_engine = engine::choose(
        &next_ev,
        &[
            VersionSource::Option,
            VersionSource::Executable,
            VersionSource::Package,
            VersionSource::Api,
        ],
    );
    Plan {
        rootless,
        rootless_evidence,
        version,
        engine: Some(engine),
        next_engine,
        running: Some(running),
        next,
        env,
        next_env,
        service,
        notes,
    }
}

fn disk_plan(snap: &Snapshot) -> Plan {
    let env = base_env(
        &if snap.mode == Mode::Root {
            BTreeMap::new()
        } else {
            snap.host.env.clone()
        },
        Some(0),
    );
    let res = match &snap.unit_file {
        Some(file) => super::systemd::resolve_file(snap, file),
        None => super::systemd::resolve(snap, "docker.service"),
    };
    let mut notes = Vec::new();
    let mut next_env = env.clone();
    for (k, (v, _)) in &res.environment {
        next_env.insert(k.clone(), v.clone());
    }
    notes.extend(next_start_note(&res));
    let next = if !res.evidence_errors.is_empty() {
        Err(format!(
            "cannot resolve docker.service: {}",
            res.evidence_errors.join("; ")
        ))
    } else if let (None, Some(file)) = (&res.unit_path, &snap.unit_file) {
        Err(format!("the unit file {file} (--unit) was not found"))
    } else if res.unit_path.is_none() {
        notes.push(
            "no docker.service unit found: the next start is assumed to be `dockerd` with no flags"
                .to_string(),
        );
        Ok(vec![ArgWord {
            text: "dockerd".into(),
            source: Source::Default,
            location: "default".into(),
        }])
    } else {
        match &res.exec_start {
            Some(w) => Ok(w.clone()),
            None => Err("docker.service has no ExecStart that can be resolved".to_string()),
        }
    };
    let ev = VersionEvidence {
        option: snap.engine_version.clone(),
        api: None,
        executable: next.as_ref().ok().and_then(|w| next_executable(snap, w)),
        package: package_version(snap),
    };
    let next_engine = engine::choose(
        &ev,
        &[
            VersionSource::Option,
            VersionSource::Executable,
            VersionSource::Package,
        ],
    );
    Plan {
        rootless: false,
        rootless_evidence: Vec::new(),
        version: None,
        engine: None,
        next_engine,
        running: None,
        next,
        env,
        next_env,
        service: Some(res),
        notes,
    }
}

/// The version linked into the running daemon's executable (read through
/// /proc/PID/exe: the binary that runs, even after an upgrade replaced it).
fn running_executable(d: &DaemonEvidence) -> Option<String> {
    d.exe_version.as_ref().and_then(|x| x.version.clone())
}

/// Where a command line's program is looked for when it is not a path
/// (root's PATH on Debian and RHEL).
const PROGRAM_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// The version linked into the executable the next start runs (the first
/// word of its command line), when it was read.
fn next_executable(snap: &Snapshot, words: &[ArgWord]) -> Option<(String, String)> {
    let program = words.first()?.text.as_str();
    let found = |path: &str| {
        snap.engine
            .executables
            .get(path)
            .and_then(|x| x.version.clone())
            .map(|v| (v, path.to_string()))
    };
    if program.starts_with('/') {
        return found(program);
    }
    PROGRAM_DIRS
        .iter()
        .find_map(|d| found(&format!("{d}/{program}")))
}

/// The installed dockerd package's version, when the package database was read.
fn package_version(snap: &Snapshot) -> Option<(String, String)> {
    let p = snap.engine.packages.first()?;
    Some((p.version.clone(), format!("{} in {}", p.name, p.database)))
}

/// "next start: `dockerd -H fd:// ...` (ExecStart of UNIT, after N drop-ins)".
fn next_start_note(res: &super::systemd::ServiceResolution) -> Option<String> {
    let words = res.exec_start.as_ref()?;
    let line = words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let unit = res.unit_path.as_deref().unwrap_or(&res.name);
    let dropins = match res.dropins.len() {
        0 => String::new(),
        n => format!(", after {n} drop-in(s): {}", res.dropins.join(", ")),
    };
    Some(format!(
        "next start: `{line}` (ExecStart of {unit}{dropins})"
    ))
}

fn compute_with(
    snap: &Snapshot,
    words: &[ArgWord],
    env: &BTreeMap<String, String>,
    plan: &Plan,
    choice: &EngineChoice,
) -> (Effective, Option<FileEvidence>) {
    let engine = choice.engine();
    let path = config::config_file_path(words, env, plan.rootless, &engine);
    let file = snap.file(&path.path).cloned();
    let eff = config::compute(&ConfigInput {
        argv: words,
        config_file: file.as_ref(),
        env,
        rootless: plan.rootless,
        engine,
    });
    (eff, file)
}

/// Seconds of uncertainty in a process start time from /proc (boot time and
/// start are whole seconds, mtimes too): edits within this many seconds of the
/// start are not reported as made after it.
const START_TIME_SLACK: i64 = 2;

fn build_running(snap: &Snapshot, d: &DaemonEvidence, objects: bool) -> DaemonModel {
    let plan = running_plan(snap, d);
    let words = plan.running.clone().unwrap_or_default();
    let running_engine = plan
        .engine
        .clone()
        .unwrap_or_else(|| plan.next_engine.clone());
    let (running_cfg, file) = compute_with(snap, &words, &plan.env, &plan, &running_engine);
    let live = live_facts(d);
    let mut notes = plan.notes.clone();
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
            env: &plan.env,
            rootless: plan.rootless,
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
    let next_start = next_view(snap, &plan);
    DaemonModel {
        pid: Some(d.pid),
        version: plan.version.clone(),
        engine: plan.engine.clone(),
        next_engine: plan.next_engine.clone(),
        endpoint: d.api.endpoint.clone(),
        rootless: plan.rootless,
        rootless_evidence: plan.rootless_evidence.clone(),
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
        service: plan.service.clone(),
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
    let plan = disk_plan(snap);
    let mut notes = plan.notes.clone();
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
        next_engine: plan.next_engine.clone(),
        endpoint: None,
        rootless: false,
        rootless_evidence: Vec::new(),
        running: None,
        next_start: next_view(snap, &plan),
        reload: None,
        service: plan.service.clone(),
        config_modified_after_start: None,
        objects: super::objects::Objects::missing(match snap.mode {
            Mode::Root => "an offline root has no running containers",
            _ => "no dockerd runs",
        }),
        notes,
    }
}

fn next_view(snap: &Snapshot, plan: &Plan) -> View {
    match &plan.next {
        Ok(words) => {
            let (mut eff, _) = compute_with(snap, words, &plan.next_env, plan, &plan.next_engine);
            // A unit systemd refuses is a start failure like a bad daemon.json.
            if let Some(s) = &plan.service {
                eff.problems.extend(s.problems.iter().cloned());
            }
            let proxy = userland_proxy_problems(snap, &eff);
            eff.problems.extend(proxy);
            let tcp = configured_tcp(&eff, plan.service.as_ref());
            View {
                kind: ViewKind::NextStart,
                engine: plan.next_engine.clone(),
                config: Ok(eff),
                live: None,
                tcp,
                tcp_unknown: None,
            }
        }
        Err(e) => View {
            kind: ViewKind::NextStart,
            engine: plan.next_engine.clone(),
            config: Err(e.clone()),
            live: None,
            tcp: Vec::new(),
            tcp_unknown: None,
        },
    }
}

/// The absolute `userland-proxy-path` an engine that needs the binary
/// checks at start (25.0+, `verifyUserlandProxyConfig`), when the proxy is on.
fn userland_proxy_path(eff: &Effective) -> Option<String> {
    if !eff.context.engine.checks.userland_proxy_binary_required
        || !eff.bool(keys::USERLAND_PROXY).0
    {
        return None;
    }
    eff.string(keys::USERLAND_PROXY_PATH)
        .0
        .filter(|p| p.starts_with('/'))
}

/// 25.0+: an enabled userland proxy's configured path must be absolute and
/// name an executable file. (An empty path is looked up in PATH and the
/// libexec directories; that lookup is not modelled.)
fn userland_proxy_problems(snap: &Snapshot, eff: &Effective) -> Vec<super::Problem> {
    let checks = eff.context.engine.checks;
    if !checks.userland_proxy_binary_required || !eff.bool(keys::USERLAND_PROXY).0 {
        return Vec::new();
    }
    let (Some(path), evidence) = eff.string(keys::USERLAND_PROXY_PATH) else {
        return Vec::new();
    };
    let fatal = |message: String| {
        vec![super::Problem {
            level: super::ProblemLevel::Fatal,
            message,
            evidence: evidence.clone(),
        }]
    };
    if path.is_empty() {
        return Vec::new();
    }
    if !path.starts_with('/') {
        return fatal(format!(
            "invalid userland-proxy-path: must be an absolute path: {path}"
        ));
    }
    match snap.file(&path) {
        Some(f) if f.missing => fatal(format!(
            "invalid userland-proxy-path: exec: \"{path}\": stat {path}: no such file or directory"
        )),
        Some(f) => match &f.meta {
            Some(m) => {
                let kind = m.target_kind.unwrap_or(m.kind);
                if kind != crate::snapshot::FileKind::File || m.mode & 0o111 == 0 {
                    fatal(format!(
                        "invalid userland-proxy-path: exec: \"{path}\": permission denied (not an executable file)"
                    ))
                } else {
                    Vec::new()
                }
            }
            None => Vec::new(),
        },
        None => Vec::new(),
    }
}

/// TCP listeners the configuration asks for; `fd://` takes the TCP
/// `ListenStream=` of the socket unit.
pub fn configured_tcp(
    eff: &Effective,
    service: Option<&super::systemd::ServiceResolution>,
) -> Vec<TcpListener> {
    let mut out = Vec::new();
    for l in eff.listeners() {
        match l {
            Listener::Tcp {
                addr,
                port,
                evidence,
                ..
            } => out.push(TcpListener {
                addr,
                port,
                evidence,
                probe: None,
            }),
            Listener::Fd { .. } => {
                let Some(sock) = service.and_then(|s| s.socket.as_ref()) else {
                    continue;
                };
                for (spec, ev) in &sock.listen_streams {
                    if let Some((addr, port)) = parse_listen_stream(spec) {
                        out.push(TcpListener {
                            addr,
                            port,
                            evidence: ev.clone(),
                            probe: None,
                        });
                    }
                }
            }
            Listener::Unix { .. } => {}
        }
    }
    out
}

/// A TCP `ListenStream=` value: `2375`, `0.0.0.0:2375`, `[::]:2375`,
/// `127.0.0.1:2375`. Paths (unix sockets) and others give `None`.
pub fn parse_listen_stream(spec: &str) -> Option<(String, u16)> {
    let s = spec.trim();
    if s.starts_with('/') || s.starts_with('@') || s.is_empty() {
        return None;
    }
    if let Ok(port) = s.parse::<u16>() {
        // A bare port listens on all addresses (IPv6 dual-stack).
        return Some(("::".to_string(), port));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (host, port) = rest.split_once("]:")?;
        return Some((host.to_string(), port.parse().ok()?));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some((host.to_string(), port.parse().ok()?))
}

/// The sockets the running daemon holds, each with its probe; falls back to
/// the configured listeners when /proc could not be read.
fn running_tcp(d: &DaemonEvidence, eff: &Effective) -> Vec<TcpListener> {
    if d.tcp_listeners.is_empty() && !d.errors.is_empty() {
        return configured_tcp(eff, None);
    }
    d.tcp_listeners
        .iter()
        .map(|l| TcpListener {
            addr: l.addr.clone(),
            port: l.port,
            evidence: Evidence::new(
                Source::Socket,
                format!("/proc/{}/net/tcp", d.pid),
                format!("dockerd listens on {}", fmt_addr(&l.addr, l.port)),
            ),
            probe: d.probes.iter().find(|p| &p.listen == l).cloned(),
        })
        .collect()
}

/// `addr:port`, with brackets for IPv6.
pub fn fmt_addr(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

fn live_facts(d: &DaemonEvidence) -> LiveFacts {
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
fn section2_facts(f: &mut LiveFacts, i: &serde_json::Value) {
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
