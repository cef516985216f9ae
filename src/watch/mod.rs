//! `dockhard watch`: the audit as a long-running exporter. It audits at
//! start, then again when something changed: an Engine API event (streamed
//! from `GET /events` of each running daemon), a file in use (inotify on
//! the directories of every file the audit read), a dockerd process that
//! appeared or vanished, SIGHUP (the policy file is read again), and every
//! `--interval` as a backstop. Between audits it does nothing but serve the
//! last results ([`server`]) and wait.
//!
//! An audit is full (collect everything, evaluate, render) at start, on a
//! file, process, signal or interval trigger, after an event stream
//! reconnected, and on daemon events; container and image events are
//! incremental: the objects they name are read again into the last
//! snapshot ([`collect::refresh`]: one inspect per container) and the pure
//! audit runs over it. Events arriving during an audit are merged into the
//! next one, in bounded memory (a flood becomes one full audit).

pub mod events;
pub mod metrics;
pub mod server;

use crate::audit::AuditOptions;
use crate::collect::{self, CollectOptions};
use crate::report;
use metrics::{Stats, Trigger};
use notify::Watcher;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the set of dockerd processes is compared (a scan of /proc's
/// directory names and exe links: cheap, and no busy polling).
const PROCESS_CHECK: Duration = Duration::from_secs(2);
/// Changes within this time of the first are taken by one audit.
const DEBOUNCE: Duration = Duration::from_millis(10);
/// Longest wait between attempts to reconnect to an event stream.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Builds the audit options again (at start and on SIGHUP: the policy file).
pub type AuditOptionsFn = Box<dyn Fn() -> Result<AuditOptions, String> + Send>;

pub struct WatchOptions {
    pub collect: CollectOptions,
    pub audit: AuditOptionsFn,
    pub listen: SocketAddr,
    pub interval: Duration,
    pub textfile: Option<PathBuf>,
}

/// Parse `--interval`: `90s`, `5m`, `1h`, `500ms`, or seconds (`300`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {text:?} (e.g. 30s, 5m, 1h)"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("invalid duration {text:?} (units: ms, s, m, h)")),
    };
    if d < Duration::from_secs(1) {
        return Err(format!("--interval {text}: at least 1s"));
    }
    Ok(d)
}

/// A listen address is loopback, or `--listen-public` must say so.
pub fn check_listen(addr: &SocketAddr, public: bool) -> Result<(), String> {
    if addr.ip().is_loopback() || public {
        Ok(())
    } else {
        Err(format!(
            "--listen {addr}: not a loopback address. The endpoint serves every finding of this host to whoever can connect; give --listen-public to listen there anyway (and restrict access by firewall)"
        ))
    }
}

enum Msg {
    Stop,
    Reload,
    /// Work is waiting in the [`Inbox`].
    Wake,
}

/// More containers than this waiting for an incremental audit: a full one.
const MAX_PENDING_CONTAINERS: usize = 256;

/// Work that arrived since the last audit, merged.
#[derive(Debug, Default)]
struct Pending {
    /// A full audit is due (the first trigger that asked for one).
    full: Option<Trigger>,
    /// Incremental changes, by the daemon's API endpoint.
    changes: BTreeMap<String, collect::refresh::Change>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.full.is_none() && self.changes.is_empty()
    }

    fn full(&mut self, t: Trigger) {
        self.full.get_or_insert(t);
        self.changes.clear();
    }

    fn event(&mut self, endpoint: &str, effect: events::Effect) {
        if self.full.is_some() {
            return;
        }
        let change = self.changes.entry(endpoint.to_string()).or_default();
        match effect {
            events::Effect::Container(id) => {
                change.containers.insert(id);
            }
            events::Effect::Images => change.images = true,
            events::Effect::Daemon => self.full(Trigger::Event),
            events::Effect::None => {}
        }
        if self
            .changes
            .values()
            .map(|c| c.containers.len())
            .sum::<usize>()
            > MAX_PENDING_CONTAINERS
        {
            self.full(Trigger::Event);
        }
        self.changes.retain(|_, c| !c.is_empty());
    }
}

/// Where the event, file and process threads leave work for the loop: one
/// [`Pending`] (bounded whatever arrives) and a wake-up on the channel
/// only when it stops being empty.
struct Inbox {
    pending: Mutex<Pending>,
    tx: Sender<Msg>,
}

impl Inbox {
    fn add(&self, f: impl FnOnce(&mut Pending)) {
        if let Ok(mut p) = self.pending.lock() {
            let was_empty = p.is_empty();
            f(&mut p);
            if was_empty && !p.is_empty() {
                let _ = self.tx.send(Msg::Wake);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.pending.lock().map(|p| p.is_empty()).unwrap_or(true)
    }

    fn take(&self) -> Pending {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }
}

/// Block SIGTERM, SIGINT and SIGHUP in this thread (and the threads it
/// starts), and turn them into messages on a thread of their own.
fn signals(tx: Sender<Msg>) -> Result<(), String> {
    // SAFETY: plain sigset operations on a zeroed set owned here.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err("cannot block SIGTERM/SIGINT/SIGHUP".into());
        }
        let set_copy = set;
        std::thread::spawn(move || {
            loop {
                let mut sig: libc::c_int = 0;
                if libc::sigwait(&set_copy, &mut sig) != 0 {
                    continue;
                }
                let msg = if sig == libc::SIGHUP {
                    Msg::Reload
                } else {
                    Msg::Stop
                };
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}

/// Files of the snapshot whose change can change a verdict (host paths:
/// under the root of `--root`).
fn watched_files(snap: &crate::snapshot::Snapshot) -> BTreeSet<PathBuf> {
    let root = snap.root.as_deref().map(Path::new);
    snap.files
        .keys()
        .filter(|p| {
            p.starts_with('/')
                && !p.starts_with("/proc/")
                && !p.starts_with("/sys/")
                && !p.starts_with("/dev/")
        })
        .map(|p| match root {
            Some(r) => r.join(p.trim_start_matches('/')),
            None => PathBuf::from(p),
        })
        .collect()
}

/// Unix sockets of the running daemons' APIs, with the endpoint as the
/// snapshot names it.
fn event_sockets(snap: &crate::snapshot::Snapshot) -> BTreeMap<PathBuf, String> {
    snap.daemons
        .iter()
        .filter_map(|d| d.api.endpoint.as_deref())
        .filter_map(|e| Some((PathBuf::from(e.strip_prefix("unix://")?), e.to_string())))
        .collect()
}

/// The pidfile of the daemon `pid` as the engine computes it (`--pidfile`,
/// `pidfile` in daemon.json, else the default: /var/run/docker.pid, or
/// $XDG_RUNTIME_DIR/docker.pid rootless).
fn pidfile_of(snap: &crate::snapshot::Snapshot, pid: u32) -> Option<PathBuf> {
    let models = crate::model::daemon::build_configs(snap);
    let m = models.iter().find(|m| m.pid == Some(pid))?;
    let cfg = m.running.as_ref()?.config.as_ref().ok()?;
    let (path, _) = cfg.string(crate::model::config::keys::PIDFILE);
    path.filter(|p| p.starts_with('/')).map(PathBuf::from)
}

/// With `--pid`: when that process is gone and the daemon's pidfile names
/// another running dockerd (the same daemon restarted, by a service
/// manager or by hand), audit that one from now on.
fn follow_restart(target: &mut collect::Target, pidfile: Option<&Path>, log: &mut dyn Write) {
    let collect::Target::Pid(pid) = *target else {
        return;
    };
    let running = collect::dockerd_pids();
    if running.contains(&pid) {
        return;
    }
    let Some(pidfile) = pidfile else {
        return;
    };
    if let Some(new) = collect::read_pidfile(pidfile).filter(|p| *p != pid && running.contains(p)) {
        let _ = writeln!(
            log,
            "dockhard watch: dockerd {pid} is gone; its pidfile {} names dockerd {new}: watching that one",
            pidfile.display()
        );
        *target = collect::Target::Pid(new);
    }
}

fn write_textfile(path: &Path, text: &str) -> Result<(), String> {
    // A regular file (or a link, replaced) only: a FIFO would block the
    // loop, and a device is no textfile.
    if let Ok(md) = std::fs::symlink_metadata(path)
        && !md.file_type().is_file()
        && !md.file_type().is_symlink()
    {
        return Err(format!(
            "--textfile {}: not a regular file: not replaced",
            path.display()
        ));
    }
    crate::outfile::write(path, text, 0o644).map_err(|e| format!("--textfile {e}"))
}

/// One thread per event stream: reconnects with backoff while its socket is
/// one of `wanted`; each event that matters goes to the inbox, and a stream
/// open again after a break asks for a full audit (what happened meanwhile
/// is unknown).
fn spawn_stream(
    sock: PathBuf,
    endpoint: String,
    wanted: Arc<Mutex<BTreeSet<PathBuf>>>,
    stop: Arc<AtomicBool>,
    events: Arc<AtomicU64>,
    inbox: Arc<Inbox>,
) {
    std::thread::spawn(move || {
        let mut backoff = Duration::from_millis(250);
        let mut first = true;
        loop {
            if stop.load(Ordering::Relaxed)
                || !wanted.lock().map(|w| w.contains(&sock)).unwrap_or(false)
            {
                break;
            }
            let reconnection = !first;
            first = false;
            let started = Instant::now();
            // Only a stream that opened again asks for the full audit (not
            // every attempt while the daemon is gone).
            let mut on_open = || {
                if reconnection {
                    inbox.add(|p| p.full(Trigger::Event));
                }
            };
            let r = events::stream(&sock, &stop, &mut on_open, &mut |e| {
                events.fetch_add(1, Ordering::Relaxed);
                let effect = events::effect(e);
                if effect != events::Effect::None {
                    inbox.add(|p| p.event(&endpoint, effect));
                }
            });
            if r.is_ok() {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                backoff = Duration::from_millis(250);
            }
            let until = Instant::now() + backoff;
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        if let Ok(mut w) = wanted.lock() {
            w.remove(&sock);
        }
    });
}

/// What one audit gave, before it is published.
struct Outcome {
    snap: crate::snapshot::Snapshot,
    report: crate::report::Report,
    kind: &'static str,
    /// API calls of an incremental audit.
    calls: usize,
}

/// Audit: incrementally when only objects changed and the last snapshot
/// is there, else (or when reading the changes fails) in full.
fn audit_once(
    work: &Pending,
    last: Option<crate::snapshot::Snapshot>,
    collect_opts: &CollectOptions,
    audit_opts: &AuditOptions,
    log: &mut dyn Write,
) -> Result<Outcome, String> {
    if work.full.is_none()
        && let Some(mut snap) = last
    {
        let mut calls = 0;
        let mut failed = None;
        for (endpoint, change) in &work.changes {
            match collect::refresh::refresh(&mut snap, endpoint, change, collect_opts) {
                Ok(n) => calls += n,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        match failed {
            None => {
                let report = crate::audit::run_with(&snap, audit_opts);
                return Ok(Outcome {
                    snap,
                    report,
                    kind: "incremental",
                    calls,
                });
            }
            Some(e) => {
                let _ = writeln!(log, "dockhard watch: {e}: auditing in full");
            }
        }
    }
    let snap = collect::collect(collect_opts).map_err(|e| e.0)?;
    let report = crate::audit::run_with(&snap, audit_opts);
    Ok(Outcome {
        snap,
        report,
        kind: "full",
        calls: 0,
    })
}

/// Run until SIGTERM or SIGINT (exit code 0). `log` gets one line per audit.
pub fn run(opts: WatchOptions, log: &mut dyn Write) -> Result<i32, String> {
    let (tx, rx) = channel::<Msg>();
    signals(tx.clone())?;
    let listener =
        TcpListener::bind(opts.listen).map_err(|e| format!("--listen {}: {e}", opts.listen))?;
    let stop = Arc::new(AtomicBool::new(false));
    let published = Arc::new(Mutex::new(server::Published {
        health_note: "the first audit has not finished".into(),
        ..Default::default()
    }));
    let srv = server::Server::start(listener, published.clone(), stop.clone())?;
    let _ = writeln!(
        log,
        "dockhard watch: serving http://{}/metrics, /healthz, /report.json",
        srv.addr
    );
    let mut audit_opts = (opts.audit)()?;
    let mut stats = Stats::default();
    let events = Arc::new(AtomicU64::new(0));
    let inbox = Arc::new(Inbox {
        pending: Mutex::default(),
        tx: tx.clone(),
    });
    let files: Arc<Mutex<BTreeSet<PathBuf>>> = Arc::default();
    let streams: Arc<Mutex<BTreeSet<PathBuf>>> = Arc::default();
    let mut watched_dirs: BTreeSet<PathBuf> = BTreeSet::new();
    let mut watcher = {
        let files = files.clone();
        let inbox = inbox.clone();
        notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Ok(ev) = res
                && !matches!(ev.kind, notify::EventKind::Access(_))
                && files
                    .lock()
                    .map(|f| ev.paths.iter().any(|p| f.contains(p)))
                    .unwrap_or(false)
            {
                inbox.add(|p| p.full(Trigger::File));
            }
        })
        .map_err(|e| format!("inotify: {e}"))?
    };
    let mut work = Pending {
        full: Some(Trigger::Start),
        ..Pending::default()
    };
    let mut last: Option<crate::snapshot::Snapshot> = None;
    let mut dockerds = collect::DockerdPids::default();
    let mut pids = dockerds.scan(Instant::now());
    let mut next_full = Instant::now() + opts.interval;
    let mut collect_opts = opts.collect.clone();
    // The pidfile of the daemon `--pid` names, modelled once per pid (a
    // running daemon's pidfile does not change).
    let mut pidfile: Option<(u32, PathBuf)> = None;
    loop {
        let trigger = work.full.unwrap_or(Trigger::Event);
        if work.full.is_some() {
            follow_restart(
                &mut collect_opts.target,
                pidfile.as_ref().map(|(_, p)| p.as_path()),
                log,
            );
        }
        let t0 = Instant::now();
        let now_unix = collect::now().0 as f64;
        match audit_once(&work, last.take(), &collect_opts, &audit_opts, log) {
            Ok(Outcome {
                snap,
                report,
                kind,
                calls,
            }) => {
                let secs = t0.elapsed().as_secs_f64();
                *stats.audits.entry(trigger).or_insert(0) += 1;
                stats.observe_duration(kind, secs);
                if kind == "full" {
                    stats.last_full_audit = Some(now_unix);
                    if let collect::Target::Pid(pid) = collect_opts.target
                        && pidfile.as_ref().is_none_or(|(p, _)| *p != pid)
                        && let Some(path) = pidfile_of(&snap, pid)
                    {
                        pidfile = Some((pid, path));
                    }
                    // Files: watch the directories (a file replaced by
                    // rename is a new inode), filter by path.
                    let fs = watched_files(&snap);
                    for d in fs.iter().filter_map(|p| p.parent()) {
                        if d.is_dir() && watched_dirs.insert(d.to_path_buf()) {
                            let _ = watcher.watch(d, notify::RecursiveMode::NonRecursive);
                        }
                    }
                    if let Ok(mut f) = files.lock() {
                        *f = fs;
                    }
                    for (sock, endpoint) in event_sockets(&snap) {
                        let new = streams
                            .lock()
                            .map(|mut s| s.insert(sock.clone()))
                            .unwrap_or(false);
                        if new {
                            spawn_stream(
                                sock,
                                endpoint,
                                streams.clone(),
                                stop.clone(),
                                events.clone(),
                                inbox.clone(),
                            );
                        }
                    }
                }
                let fails = report
                    .daemons
                    .iter()
                    .flat_map(|d| &d.results)
                    .filter(|r| r.status == crate::rules::Status::Fail)
                    .count();
                let what = if kind == "full" {
                    format!("audit ({})", trigger.as_str())
                } else {
                    format!("incremental audit ({calls} API call(s))")
                };
                let _ = writeln!(
                    log,
                    "dockhard watch: {what} in {:.0} ms: {} daemon(s), {fails} failing result(s)",
                    secs * 1000.0,
                    report.daemons.len()
                );
                let json = report::render(&report, report::Format::Json, false);
                stats.events = events.load(Ordering::Relaxed);
                let text = metrics::render(Some(&report), &stats);
                if let Some(p) = &opts.textfile
                    && let Err(e) = write_textfile(p, &text)
                {
                    let _ = writeln!(log, "dockhard watch: {e}");
                }
                if let Ok(mut p) = published.lock() {
                    *p = server::Published {
                        metrics: text.into(),
                        report_json: Some(json.into()),
                        healthy: true,
                        health_note: String::new(),
                    };
                }
                last = Some(snap);
            }
            Err(e) => {
                // Nothing stale: the results of an audit that can no longer
                // run (the daemon stopped) are not served as current. The
                // counters stay; /healthz says why.
                stats.audit_errors += 1;
                stats.events = events.load(Ordering::Relaxed);
                let _ = writeln!(log, "dockhard watch: audit failed: {e}");
                let text = metrics::render(None, &stats);
                if let Some(p) = &opts.textfile
                    && let Err(e) = write_textfile(p, &text)
                {
                    let _ = writeln!(log, "dockhard watch: {e}");
                }
                if let Ok(mut p) = published.lock() {
                    p.metrics = text.into();
                    p.report_json = None;
                    p.healthy = false;
                    p.health_note = format!("the last audit could not run: {e}");
                }
            }
        }
        if work.full.is_some() {
            // The backstop counts from the last full audit (incremental
            // ones do not put it off).
            next_full = Instant::now() + opts.interval;
            pids = dockerds.scan(Instant::now());
        }
        let mut next_check = Instant::now() + PROCESS_CHECK;
        work = loop {
            let wait = next_full
                .min(next_check)
                .saturating_duration_since(Instant::now());
            let msg = match rx.recv_timeout(wait) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Msg::Stop),
            };
            let mut handle = |msg: Msg, audit_opts: &mut AuditOptions| -> bool {
                match msg {
                    Msg::Stop => return true,
                    Msg::Reload => {
                        match (opts.audit)() {
                            Ok(a) => *audit_opts = a,
                            Err(e) => {
                                let _ = writeln!(log, "dockhard watch: SIGHUP: policy kept: {e}");
                            }
                        }
                        inbox.add(|p| p.full(Trigger::Signal));
                    }
                    Msg::Wake => {}
                }
                false
            };
            match msg {
                Some(m) => {
                    if handle(m, &mut audit_opts) {
                        return Ok(stopped(&stop, srv, log));
                    }
                }
                None => {
                    if Instant::now() >= next_full {
                        inbox.add(|p| p.full(Trigger::Interval));
                    } else {
                        next_check = Instant::now() + PROCESS_CHECK;
                        if dockerds.scan(Instant::now()) != pids {
                            inbox.add(|p| p.full(Trigger::Process));
                        }
                    }
                }
            }
            if inbox.is_empty() {
                continue;
            }
            // Take what else arrives meanwhile with the same audit (a stop
            // still stops).
            std::thread::sleep(DEBOUNCE);
            while let Ok(m) = rx.try_recv() {
                if handle(m, &mut audit_opts) {
                    return Ok(stopped(&stop, srv, log));
                }
            }
            let w = inbox.take();
            if !w.is_empty() {
                break w;
            }
        };
    }
}

fn stopped(stop: &AtomicBool, srv: server::Server, log: &mut dyn Write) -> i32 {
    stop.store(true, Ordering::Relaxed);
    srv.join();
    let _ = writeln!(log, "dockhard watch: stopped");
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("300").unwrap(), Duration::from_secs(300));
        assert_eq!(
            parse_duration("1500ms").unwrap(),
            Duration::from_millis(1500)
        );
        for bad in ["", "5x", "m", "-1s", "100ms", "1.5m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pending_work_merges_and_stays_bounded() {
        use events::Effect;
        let ep = "unix:///run/docker.sock";
        let mut p = Pending::default();
        assert!(p.is_empty());
        p.event(ep, Effect::None);
        assert!(p.is_empty(), "{p:?}");
        for _ in 0..3 {
            p.event(ep, Effect::Container("a".into()));
        }
        p.event(ep, Effect::Container("b".into()));
        p.event(ep, Effect::Images);
        p.event("unix:///other.sock", Effect::Container("c".into()));
        assert_eq!(p.full, None);
        assert_eq!(p.changes[ep].containers.len(), 2);
        assert!(p.changes[ep].images);
        assert_eq!(p.changes.len(), 2);
        // A daemon event: one full audit, nothing incremental left.
        p.event(ep, Effect::Daemon);
        assert_eq!(p.full, Some(Trigger::Event));
        assert!(p.changes.is_empty());
        p.event(ep, Effect::Container("d".into()));
        assert!(p.changes.is_empty());
        // The first trigger that asked for a full audit is the one counted.
        p.full(Trigger::File);
        assert_eq!(p.full, Some(Trigger::Event));
        // A flood of distinct containers: a full audit, not a long list.
        let mut p = Pending::default();
        for i in 0..100_000 {
            p.event(ep, Effect::Container(format!("{i:064x}")));
        }
        assert_eq!(p.full, Some(Trigger::Event));
        assert!(p.changes.is_empty());
    }

    #[test]
    fn the_inbox_wakes_once_per_batch() {
        let (tx, rx) = channel();
        let inbox = Inbox {
            pending: Mutex::default(),
            tx,
        };
        for i in 0..1000 {
            inbox.add(|p| p.event("e", events::Effect::Container(i.to_string())));
        }
        assert_eq!(rx.try_iter().count(), 1);
        let work = inbox.take();
        assert_eq!(work.full, Some(Trigger::Event));
        assert!(inbox.is_empty());
        inbox.add(|p| p.full(Trigger::File));
        assert_eq!(rx.try_iter().count(), 1);
    }

    #[test]
    fn the_textfile_never_replaces_a_device_or_fifo() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo(3) on a NUL-terminated path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = write_textfile(&fifo, "x 1\n").unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
        let file = dir.path().join("dh.prom");
        write_textfile(&file, "x 1\n").unwrap();
        write_textfile(&file, "x 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "x 2\n");
    }

    #[test]
    fn listen_addresses() {
        assert!(check_listen(&"127.0.0.1:9323".parse().unwrap(), false).is_ok());
        assert!(check_listen(&"[::1]:9323".parse().unwrap(), false).is_ok());
        let e = check_listen(&"0.0.0.0:9323".parse().unwrap(), false).unwrap_err();
        assert!(e.contains("--listen-public"), "{e}");
        assert!(check_listen(&"0.0.0.0:9323".parse().unwrap(), true).is_ok());
    }
}
