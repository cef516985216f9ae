//! How one daemon is launched, before any file is parsed ([`Launch`]):
//! its command lines (running and next start), their environments, the
//! engines that run them, rootless or not.

use crate::model::engine::{self, EngineChoice, VersionEvidence, VersionSource};
use crate::model::{ArgWord, Evidence, Source};
use crate::snapshot::{DaemonEvidence, Mode, Snapshot};
use std::collections::BTreeMap;

/// How one daemon's command lines are obtained, before any file is parsed.
pub(super) struct Launch {
    pub(super) rootless: bool,
    pub(super) rootless_evidence: Vec<Evidence>,
    pub(super) version: Option<String>,
    /// The engine of the running process (running daemons).
    pub(super) engine: Option<EngineChoice>,
    /// The engine the next start runs.
    pub(super) next_engine: EngineChoice,
    /// argv of the running process.
    pub(super) running: Option<Vec<ArgWord>>,
    /// argv of the next start, or why it is unknown.
    pub(super) next: Result<Vec<ArgWord>, String>,
    pub(super) env: BTreeMap<String, String>,
    pub(super) next_env: BTreeMap<String, String>,
    pub(super) service: Option<crate::model::systemd::ServiceResolution>,
    pub(super) notes: Vec<String>,
}

impl Launch {
    pub(super) fn command_lines(&self) -> Vec<(Vec<ArgWord>, BTreeMap<String, String>)> {
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

pub(super) fn launches(snap: &Snapshot) -> Vec<Launch> {
    match snap.mode {
        Mode::Live if !snap.daemons.is_empty() => snap
            .daemons
            .iter()
            .map(|d| running_launch(snap, d))
            .collect(),
        _ => vec![disk_launch(snap)],
    }
}

/// The environment dockerd's defaults depend on; HOME defaults to root's.
pub(super) fn base_env(
    env: &BTreeMap<String, String>,
    uid: Option<u32>,
) -> BTreeMap<String, String> {
    let mut env = env.clone();
    if !env.contains_key("HOME") && uid.unwrap_or(0) == 0 {
        env.insert("HOME".into(), "/root".into());
    }
    env
}

pub(super) fn detect_rootless(snap: &Snapshot, d: &DaemonEvidence) -> (bool, Vec<Evidence>) {
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

pub(super) fn info(d: &DaemonEvidence) -> Option<&serde_json::Value> {
    d.api.info.as_ref().and_then(|c| c.body.as_ref())
}

pub(super) fn running_launch(snap: &Snapshot, d: &DaemonEvidence) -> Launch {
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
                (Some(file), _) => crate::model::systemd::resolve_file(snap, file),
                (None, Some(home)) => crate::model::systemd::resolve_user(snap, unit, home),
                (None, None) => crate::model::systemd::resolve(snap, unit),
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
    Launch {
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

pub(super) fn disk_launch(snap: &Snapshot) -> Launch {
    let env = base_env(
        &if snap.mode == Mode::Root {
            BTreeMap::new()
        } else {
            snap.host.env.clone()
        },
        Some(0),
    );
    let res = match &snap.unit_file {
        Some(file) => crate::model::systemd::resolve_file(snap, file),
        None => crate::model::systemd::resolve(snap, "docker.service"),
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
    Launch {
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
pub(super) fn running_executable(d: &DaemonEvidence) -> Option<String> {
    d.exe_version.as_ref().and_then(|x| x.version.clone())
}

/// Where a command line's program is looked for when it is not a path
/// (root's PATH on Debian and RHEL).
pub(super) const PROGRAM_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// The version linked into the executable the next start runs (the first
/// word of its command line), when it was read.
pub(super) fn next_executable(snap: &Snapshot, words: &[ArgWord]) -> Option<(String, String)> {
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
pub(super) fn package_version(snap: &Snapshot) -> Option<(String, String)> {
    let p = snap.engine.packages.first()?;
    Some((p.version.clone(), format!("{} in {}", p.name, p.database)))
}

/// "next start: `dockerd -H fd:// ...` (ExecStart of UNIT, after N drop-ins)".
pub(super) fn next_start_note(res: &crate::model::systemd::ServiceResolution) -> Option<String> {
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
