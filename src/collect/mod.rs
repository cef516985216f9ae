//! Collection: all of dockhard's I/O on the audited host, producing a
//! [`Snapshot`]. Read-only: it reads files and /proc, calls the Engine API
//! with GET requests, and probes the TCP listeners dockerd itself holds.
//!
//! - [`procfs`]: finding dockerd processes (by executable, never by command
//!   line), their argv, environment (whitelisted), sockets; host listeners.
//! - [`files`]: bounded file reads, metadata, directory listings, confined
//!   to `--root`.
//! - [`http`]: the blocking HTTP/1.1 client; [`api`]: the Engine API calls;
//!   [`probe`]: unauthenticated `GET /_ping` probes of TCP listeners.

use crate::model::Want;
use crate::snapshot::{DaemonEvidence, HostEvidence, Mode, ProbeEvidence, ProbeOutcome, Snapshot};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub mod api;
pub mod engine;
pub mod files;
pub mod http;
pub mod probe;
pub mod procfs;
pub mod refresh;

use files::Fs;
use procfs::{Identity, Proc};

/// What to audit.
#[derive(Debug, Clone)]
pub enum Target {
    /// Every running dockerd; the configuration on disk when none runs.
    Auto,
    /// This daemon only.
    Pid(u32),
    /// The configuration files under this directory as a host's `/`.
    Root(PathBuf),
}

#[derive(Debug, Clone)]
pub struct CollectOptions {
    pub target: Target,
    /// Engine API endpoint override (`unix:///path`, `tcp://h:p`, `https://h:p`).
    pub host: Option<String>,
    /// Timeout of each API call and probe step (at most 2 s for probes).
    pub timeout: Duration,
    /// `--unit FILE`: the service unit (host path) that starts dockerd, when
    /// it is not a systemd service of this host.
    pub unit: Option<String>,
    /// Also list and inspect containers and images (and swarm objects), for
    /// profiles with such rules.
    pub objects: bool,
    /// Show a progress bar on standard error while inspecting many objects
    /// (the CLI sets it on a terminal, never on CI).
    pub progress: bool,
}

/// Why nothing could be audited.
#[derive(Debug)]
pub struct CollectError(pub String);

impl std::fmt::Display for CollectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CollectError {}

/// Rounds of asking the model what else to read.
pub const MAX_WANT_ROUNDS: usize = 8;
/// Most files/dirs read on behalf of the model in one collection.
pub const MAX_WANTED_ITEMS: usize = 4096;

/// Variables of the collecting process recorded in `host.env`.
pub const HOST_ENV: &[&str] = &[
    "HOME",
    "DOCKER_CERT_PATH",
    "DOCKER_CONFIG",
    "DOCKER_TLS_VERIFY",
    "XDG_CONFIG_HOME",
    "XDG_RUNTIME_DIR",
];

/// The running dockerd processes (pids, sorted): what `watch` compares to
/// notice a daemon that appeared, vanished or restarted.
pub fn dockerd_pids() -> Vec<u32> {
    let mut v = Proc::default()
        .find_dockerds()
        .map(|(p, _)| p)
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// [`dockerd_pids`] for a caller that asks every few seconds (`watch`):
/// a process is identified by its executable link while it is young (a
/// wrapper such as `sh -c 'exec dockerd …'` or dockerd-rootless.sh becomes
/// dockerd by exec, within moments), then its verdict is kept, so that a
/// check costs one listing of /proc and the links of the processes started
/// lately, not a link per process (hundreds on a host with many
/// containers). The clock is the caller's: `now` (monotonic).
#[derive(Debug, Default)]
pub struct DockerdPids {
    /// pid -> (is dockerd, when first seen).
    known: BTreeMap<u32, (bool, std::time::Instant)>,
}

/// How long a process is identified again at every scan.
const YOUNG: Duration = Duration::from_secs(30);

impl DockerdPids {
    pub fn scan(&mut self, now: std::time::Instant) -> Vec<u32> {
        let proc = Proc::default();
        let Ok(pids) = proc.pids() else {
            return dockerd_pids();
        };
        let me = std::process::id();
        let live: std::collections::BTreeSet<u32> = pids.iter().copied().collect();
        self.known.retain(|p, _| live.contains(p));
        for pid in pids.into_iter().filter(|p| *p != me) {
            let is = |proc: &Proc| {
                matches!(
                    proc.identify(pid),
                    Identity::Dockerd | Identity::DockerdByComm(_)
                )
            };
            match self.known.get_mut(&pid) {
                Some((d, seen)) => {
                    if !*d && now.saturating_duration_since(*seen) < YOUNG {
                        *d = is(&proc);
                    }
                }
                None => {
                    self.known.insert(pid, (is(&proc), now));
                }
            }
        }
        self.known
            .iter()
            .filter(|(_, (d, _))| *d)
            .map(|(p, _)| *p)
            .collect()
    }
}

/// The process id a dockerd pidfile names: a regular file of at most 64
/// bytes (opened without blocking: a FIFO in its place is refused, not
/// waited on), a decimal number and optional whitespace.
pub fn read_pidfile(path: &Path) -> Option<u32> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    f.take(64).read_to_string(&mut text).ok()?;
    text.trim().parse().ok().filter(|p| *p > 0)
}

pub fn collect(opts: &CollectOptions) -> Result<Snapshot, CollectError> {
    let (unix, text) = now();
    let mut snap = match &opts.target {
        Target::Root(dir) => collect_root(dir, opts.unit.as_deref())?,
        Target::Auto => collect_live(opts, None)?,
        Target::Pid(p) => collect_live(opts, Some(*p))?,
    };
    snap.collected_unix = Some(unix);
    snap.collected_at = Some(text);
    Ok(snap)
}

fn collect_root(dir: &Path, unit: Option<&str>) -> Result<Snapshot, CollectError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(CollectError(format!(
                "--root {}: not a directory",
                dir.display()
            )));
        }
        Err(e) => {
            return Err(CollectError(format!(
                "--root {}: {}",
                dir.display(),
                files::io_error_text(&e)
            )));
        }
    }
    let mut snap = Snapshot::new(Mode::Root);
    snap.root = Some(dir.display().to_string());
    snap.unit_file = unit.map(str::to_string);
    let fs = Fs::under(dir);
    snap.host = HostEvidence {
        hostname: fs
            .read_bounded("/etc/hostname", 4096)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .filter(|h| !h.is_empty()),
        ..HostEvidence::default()
    };
    read_wanted(&mut snap, &fs);
    snap.engine = engine::evidence(&snap, &fs);
    Ok(snap)
}

fn collect_live(opts: &CollectOptions, only: Option<u32>) -> Result<Snapshot, CollectError> {
    let proc = Proc::default();
    let mut notes = Vec::new();
    let pids = match only {
        Some(p) => {
            if !proc.exists(p) {
                return Err(CollectError(format!("pid {p}: no such process")));
            }
            match proc.identify(p) {
                Identity::Dockerd => {}
                Identity::DockerdByComm(note) => notes.push(note),
                Identity::NotDockerd(why) => {
                    return Err(CollectError(format!("pid {p} is not a dockerd ({why})")));
                }
            }
            vec![p]
        }
        None => match proc.find_dockerds() {
            Ok((pids, n)) => {
                notes.extend(n);
                pids
            }
            Err(e) => {
                notes.push(format!(
                    "cannot scan /proc for dockerd: {}",
                    files::io_error_text(&e)
                ));
                Vec::new()
            }
        },
    };
    let mode = if pids.is_empty() {
        Mode::OnDisk
    } else {
        Mode::Live
    };
    let mut snap = Snapshot::new(mode);
    snap.notes = notes;
    snap.unit_file = opts.unit.clone();
    let env = |k: &str| std::env::var(k).ok();
    let own_netns = std::fs::read_link("/proc/self/ns/net").ok();
    // The host-wide /proc scans (listener owners, container processes) run
    // beside the daemons' API calls: each waits on something else.
    let scan_containers = opts.objects && !pids.is_empty();
    let boot = proc.boot_time();
    let ((host, host_errors), container_procs, daemons, mut versions) = std::thread::scope(|s| {
        // The version in each daemon's executable (a scan of its read-only
        // data, CPU work) while the API answers.
        let versions = s.spawn(|| {
            pids.iter()
                .map(|&p| (p, engine::process_version(p)))
                .collect::<BTreeMap<_, _>>()
        });
        let scan = s.spawn(|| {
            let host = host_evidence(&proc);
            let procs = if scan_containers {
                proc.container_processes()
            } else {
                BTreeMap::new()
            };
            (host, procs)
        });
        let daemons: Vec<(DaemonEvidence, Vec<String>)> = pids
            .iter()
            .map(|&pid| {
                let mut d = proc.daemon(pid, boot);
                let (api, notes) = daemon_api(opts, &d, &env);
                d.api = api;
                (d, notes)
            })
            .collect();
        let (host, procs) = scan.join().unwrap_or_else(|_| {
            (
                (
                    HostEvidence::default(),
                    vec!["the /proc scan failed".to_string()],
                ),
                BTreeMap::new(),
            )
        });
        let versions = versions.join().unwrap_or_default();
        (host, procs, daemons, versions)
    });
    snap.host = host;
    snap.notes.extend(host_errors);
    for (mut d, notes) in daemons {
        let pid = d.pid;
        if opts.objects {
            daemon_objects(opts, &mut d.api, &container_procs);
        }
        snap.notes
            .extend(notes.into_iter().map(|n| format!("pid {pid}: {n}")));
        let same_netns = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok() == own_netns;
        d.probes = d
            .tcp_listeners
            .iter()
            .map(|l| {
                if same_netns {
                    probe::probe(l, opts.timeout)
                } else {
                    not_probed(l)
                }
            })
            .collect();
        snap.daemons.push(d);
    }
    let fs = Fs::host();
    let sockets: Vec<String> = snap
        .daemons
        .iter()
        .flat_map(|d| d.unix_listeners.iter())
        .filter(|p| p.starts_with('/'))
        .cloned()
        .collect();
    for s in sockets {
        if let std::collections::btree_map::Entry::Vacant(v) = snap.files.entry(s) {
            let ev = fs.read_meta(v.key());
            v.insert(ev);
        }
    }
    read_wanted(&mut snap, &fs);
    for d in &mut snap.daemons {
        d.exe_version = Some(
            versions
                .remove(&d.pid)
                .unwrap_or_else(|| engine::process_version(d.pid)),
        );
    }
    snap.engine = engine::evidence(&snap, &fs);
    Ok(snap)
}

fn not_probed(l: &crate::snapshot::SocketAddrText) -> ProbeEvidence {
    let detail = "not probed: dockerd runs in another network namespace".to_string();
    ProbeEvidence {
        listen: l.clone(),
        target: probe::probe_target(l),
        plain_http: ProbeOutcome::Failed {
            detail: detail.clone(),
        },
        tls_no_client_cert: ProbeOutcome::Failed { detail },
    }
}

/// The Engine API evidence of one daemon. A unix socket that is not
/// visible in our mount namespace (rootless) is retried through
/// `/proc/PID/root`.
fn daemon_api(
    opts: &CollectOptions,
    d: &DaemonEvidence,
    env: &dyn Fn(&str) -> Option<String>,
) -> (crate::snapshot::ApiEvidence, Vec<String>) {
    let ep = match api::choose_endpoint(opts.host.as_deref(), Some(d), env) {
        Ok(ep) => ep,
        Err(e) => {
            let ev = crate::snapshot::ApiEvidence {
                endpoint: opts.host.clone(),
                error: Some(e),
                ..Default::default()
            };
            return (ev, Vec::new());
        }
    };
    let (ev, notes) = api::gather(&ep, opts.timeout, opts.objects, opts.progress);
    if opts.host.is_none()
        && let http::Endpoint::Unix(p) = &ep
        && ev
            .error
            .as_deref()
            .is_some_and(|e| e.ends_with("socket not found"))
    {
        let alt = Path::new("/proc")
            .join(d.pid.to_string())
            .join("root")
            .join(p.strip_prefix("/").unwrap_or(p));
        let (alt_ev, alt_notes) = api::gather(
            &http::Endpoint::Unix(alt),
            opts.timeout,
            opts.objects,
            opts.progress,
        );
        if alt_ev.error.is_none() {
            return (alt_ev, alt_notes);
        }
    }
    (ev, notes)
}

/// The rest of a daemon's container evidence, once /proc has been
/// scanned: the processes of its running containers that /proc shows, and
/// `top` (on the endpoint its other calls answered on) for those it does
/// not.
fn daemon_objects(
    opts: &CollectOptions,
    api: &mut crate::snapshot::ApiEvidence,
    procs: &BTreeMap<String, Vec<crate::snapshot::ContainerProcess>>,
) {
    let Some(url) = api.endpoint.clone().filter(|_| api.error.is_none()) else {
        return;
    };
    let env = |k: &str| std::env::var(k).ok();
    let ep = match opts.host.as_deref() {
        Some(h) => http::parse_endpoint(h, &env),
        None => http::parse_endpoint(&url, &env),
    };
    if let Ok(ep) = ep {
        api::gather_tops(&ep, opts.timeout, api, &|id| procs.contains_key(id));
    }
    // Keep the processes of this daemon's containers only.
    let ids: Vec<String> = api
        .objects
        .keys()
        .filter_map(|k| k.strip_prefix("/containers/")?.strip_suffix("/json"))
        .map(str::to_string)
        .collect();
    for id in ids {
        if let Some(p) = procs.get(&id) {
            api.container_processes.insert(id, p.clone());
        }
    }
}

fn host_evidence(proc: &Proc) -> (HostEvidence, Vec<String>) {
    let read_line = |p: &str| {
        proc.read(Path::new(p))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let (listeners, errors) = proc.host_listeners();
    let env: BTreeMap<String, String> = HOST_ENV
        .iter()
        .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
        .collect();
    let (mountinfo, mountinfo_error) = match proc.read(Path::new("/proc/self/mountinfo")) {
        Ok(b) => (Some(String::from_utf8_lossy(&b).into_owned()), None),
        Err(e) => (None, Some(files::io_error_text(&e))),
    };
    let (audit_loaded, audit_loaded_error) = match AUDITCTL.iter().find(|p| Path::new(p).exists()) {
        Some(bin) => match run_bounded(bin, &["-l"], Duration::from_secs(2)) {
            Ok(out) => (Some(out), None),
            Err(e) => (None, Some(format!("{bin} -l: {e}"))),
        },
        None => (None, None),
    };
    let auditd_running = proc.pids().ok().map(|pids| {
        pids.into_iter()
            .any(|p| proc.comm(p).as_deref() == Some("auditd"))
    });
    let host = HostEvidence {
        auditd_running,
        mountinfo,
        mountinfo_error,
        audit_loaded,
        audit_loaded_error,
        hostname: read_line("/proc/sys/kernel/hostname"),
        kernel: read_line("/proc/sys/kernel/osrelease"),
        boot_time: proc.boot_time(),
        systemd_running: Some(Path::new("/run/systemd/system").is_dir()),
        listeners,
        env,
    };
    (host, errors)
}

/// Where `auditctl` is installed.
const AUDITCTL: [&str; 2] = ["/sbin/auditctl", "/usr/sbin/auditctl"];

/// Run a fixed program (no shell, no input-derived arguments) and return
/// its standard output (at most 1 MiB), or why not: a non-zero exit, a
/// timeout (the process is killed).
pub fn run_bounded(program: &str, args: &[&str], timeout: Duration) -> Result<String, String> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .spawn()
        .map_err(|e| files::io_error_text(&e))?;
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(o) = stdout.as_mut() {
            let _ = o.take(1 << 20).read_to_end(&mut buf);
        }
        buf
    });
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {} ms", timeout.as_millis()));
            }
            Err(e) => return Err(files::io_error_text(&e)),
        }
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.by_ref().take(4096).read_to_string(&mut err);
        }
        return Err(format!("{status}: {}", err.trim()));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Read what the model wants and the snapshot lacks, up to
/// [`MAX_WANT_ROUNDS`] rounds and [`MAX_WANTED_ITEMS`] items.
pub fn read_wanted(snap: &mut Snapshot, fs: &Fs) {
    let mut done = 0usize;
    for _ in 0..MAX_WANT_ROUNDS {
        let mut progressed = false;
        for want in crate::model::wanted_paths(snap) {
            if done >= MAX_WANTED_ITEMS {
                snap.notes.push(format!(
                    "stopped reading files after {MAX_WANTED_ITEMS} paths"
                ));
                return;
            }
            match want {
                Want::File(p) => {
                    let have = snap
                        .files
                        .get(&p)
                        .is_some_and(|f| f.text.is_some() || f.error.is_some() || f.missing);
                    if !have {
                        let ev = fs.read_file(&p);
                        snap.files.insert(p, ev);
                        progressed = true;
                        done += 1;
                    }
                }
                Want::Meta(p) => {
                    if let std::collections::btree_map::Entry::Vacant(v) = snap.files.entry(p) {
                        let ev = fs.read_meta(v.key());
                        v.insert(ev);
                        progressed = true;
                        done += 1;
                    }
                }
                Want::Dir(p) => {
                    if let std::collections::btree_map::Entry::Vacant(v) = snap.dirs.entry(p) {
                        let ev = fs.read_dir(v.key());
                        v.insert(ev);
                        progressed = true;
                        done += 1;
                    }
                }
            }
        }
        if !progressed {
            return;
        }
    }
}

/// Read more evidence into a collected snapshot (what `fix` needs beyond
/// the audit: /dev/log, /etc/subuid, plugin sockets, certificate files
/// given on the command line). Paths already in the snapshot are kept.
pub fn read_extra(snap: &mut Snapshot, wants: &[Want]) {
    let fs = match &snap.root {
        Some(r) => Fs::under(PathBuf::from(r)),
        None => Fs::host(),
    };
    for want in wants {
        match want {
            Want::File(p) => {
                let have = snap
                    .files
                    .get(p)
                    .is_some_and(|f| f.text.is_some() || f.error.is_some() || f.missing);
                if !have {
                    snap.files.insert(p.clone(), fs.read_file(p));
                }
            }
            Want::Meta(p) => {
                if !snap.files.contains_key(p) {
                    snap.files.insert(p.clone(), fs.read_meta(p));
                }
            }
            Want::Dir(p) => {
                if !snap.dirs.contains_key(p) {
                    snap.dirs.insert(p.clone(), fs.read_dir(p));
                }
            }
        }
    }
}

/// The time now: unix seconds and RFC 3339 UTC text.
pub fn now() -> (i64, String) {
    let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    (secs, rfc3339(secs))
}

pub use crate::timefmt::rfc3339;

#[cfg(test)]
mod systemd_trees;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_709_211_909), "2024-02-29T13:05:09Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn pidfiles() {
        let d = tempfile::tempdir().unwrap();
        let put = |name: &str, text: &str| {
            let p = d.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        assert_eq!(read_pidfile(&put("ok", "4242\n")), Some(4242));
        assert_eq!(read_pidfile(&put("spaces", "  17 ")), Some(17));
        assert_eq!(read_pidfile(&put("zero", "0\n")), None);
        assert_eq!(read_pidfile(&put("text", "pid=12\n")), None);
        assert_eq!(read_pidfile(&put("long", &"1".repeat(100))), None);
        assert_eq!(read_pidfile(&d.path().join("missing")), None);
        assert_eq!(read_pidfile(d.path()), None);
        // A FIFO with no writer: refused at once, not waited on.
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo(3) on a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(read_pidfile(&fifo), None);
    }

    proptest::proptest! {
        #[test]
        fn rfc3339_never_panics(s in proptest::prelude::any::<i64>()) {
            let _ = rfc3339(s);
        }

        #[test]
        fn rfc3339_day_roundtrip(days in -1_000_000i64..1_000_000, secs in 0i64..86_400) {
            let t = rfc3339(days * 86_400 + secs);
            let (date, time) = t.trim_end_matches('Z').split_once('T').unwrap();
            let neg = date.starts_with('-');
            let parts: Vec<i64> = date.trim_start_matches('-').split('-').map(|p| p.parse().unwrap()).collect();
            let y = if neg { -parts[0] } else { parts[0] };
            proptest::prop_assert_eq!(days_from_civil(y, parts[1], parts[2]), days);
            let hms: Vec<i64> = time.split(':').map(|p| p.parse().unwrap()).collect();
            proptest::prop_assert_eq!(hms[0] * 3600 + hms[1] * 60 + hms[2], secs);
        }
    }

    /// Inverse of civil_from_days (Hinnant), for the round-trip test.
    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    #[test]
    fn bounded_commands() {
        assert_eq!(
            run_bounded("/bin/echo", &["-n", "hi"], Duration::from_secs(5)).unwrap(),
            "hi"
        );
        let e = run_bounded("/bin/sleep", &["5"], Duration::from_millis(200)).unwrap_err();
        assert_eq!(e, "no answer within 200 ms");
        let e = run_bounded("/bin/false", &[], Duration::from_secs(5)).unwrap_err();
        assert!(e.starts_with("exit status: 1"), "{e}");
        assert!(run_bounded("/nonexistent", &[], Duration::from_secs(1)).is_err());
    }

    #[test]
    fn pid_that_is_not_dockerd_is_an_error() {
        let opts = CollectOptions {
            target: Target::Pid(std::process::id()),
            host: None,
            timeout: Duration::from_millis(200),
            unit: None,
            objects: false,
            progress: false,
        };
        let e = collect(&opts).unwrap_err().0;
        assert!(
            e.starts_with(&format!(
                "pid {} is not a dockerd (executable: ",
                std::process::id()
            )),
            "{e}"
        );
        let opts = CollectOptions {
            target: Target::Pid(u32::MAX - 1),
            ..opts
        };
        assert_eq!(
            collect(&opts).unwrap_err().0,
            format!("pid {}: no such process", u32::MAX - 1)
        );
    }

    #[test]
    fn root_mode_has_no_daemons_and_reads_inside() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/hostname"), "box1\n").unwrap();
        let opts = CollectOptions {
            target: Target::Root(root.path().to_path_buf()),
            host: None,
            timeout: Duration::from_millis(200),
            unit: None,
            objects: false,
            progress: false,
        };
        let snap = collect(&opts).unwrap();
        assert_eq!(snap.mode, Mode::Root);
        assert_eq!(snap.root.as_deref(), root.path().to_str());
        assert_eq!(snap.host.hostname.as_deref(), Some("box1"));
        assert!(snap.daemons.is_empty());
        assert!(snap.host.listeners.is_empty());
        assert!(
            snap.collected_at
                .as_deref()
                .is_some_and(|t| t.ends_with('Z'))
        );
        let missing = CollectOptions {
            target: Target::Root(root.path().join("nope")),
            ..opts
        };
        assert_eq!(
            collect(&missing).unwrap_err().0,
            format!("--root {}: not found", root.path().join("nope").display())
        );
    }

    #[test]
    fn live_with_fake_dockerd_pid() {
        // A copy of `sleep` named dockerd, listening on nothing.
        let d = tempfile::tempdir().unwrap();
        let exe = d.path().join("dockerd");
        std::fs::copy("/bin/sleep", &exe).unwrap();
        let mut child = std::process::Command::new(&exe).arg("30").spawn().unwrap();
        let pid = child.id();
        procfs::tests::wait_exec(pid, "dockerd");
        let dir = tempfile::tempdir().unwrap();
        let opts = CollectOptions {
            target: Target::Pid(pid),
            host: Some(format!("unix://{}/none.sock", dir.path().display())),
            timeout: Duration::from_millis(300),
            unit: None,
            objects: false,
            progress: false,
        };
        let snap = collect(&opts);
        let _ = child.kill();
        let _ = child.wait();
        let snap = snap.unwrap();
        assert_eq!(snap.mode, Mode::Live);
        assert_eq!(snap.daemons.len(), 1);
        let dm = &snap.daemons[0];
        assert_eq!(dm.pid, pid);
        assert_eq!(dm.argv[1], "30");
        assert!(
            dm.api
                .error
                .as_deref()
                .unwrap()
                .ends_with("socket not found")
        );
        assert!(dm.probes.is_empty());
        assert!(snap.host.kernel.is_some());
        assert!(snap.host.boot_time.is_some());
        assert!(
            snap.host
                .mountinfo
                .as_deref()
                .is_some_and(|m| m.contains(" / "))
        );
    }
}
