//! `dockhard watch` under hostile input (issue 12: "a flood of events, an
//! events stream that sends garbage or hangs, a daemon that disappears, a
//! file replaced by a FIFO or a symlink loop, a client that opens 1,000
//! connections or sends a 1 GiB request: the exporter keeps serving, memory
//! stays bounded, nothing panics").
//!
//! The real binary runs as a user runs it, with no root and no real
//! dockerd: `watch --pid FAKE` follows a [`FakeDockerd`] whose API socket
//! is served by [`FakeApi`] here (its `GET /events` does what each test
//! says), or `watch --root TREE` for the endpoint's own tests. Each test
//! measures the watch process from /proc (VmRSS, threads, open descriptors,
//! CPU time) and ends with [`Watch::finish`]: still alive, `/healthz` and
//! `/metrics` answer, no "panicked" in its log, exit 0 on SIGTERM within
//! 2 s. The bounds are generous (a debug build on 2 busy cores); the
//! figures are printed (`[hostile-watch] ...`).

use super::*;
use std::collections::VecDeque;
use std::process::{Child, Stdio};

/// How long anything may take to show before a test fails.
const PATIENCE: Duration = Duration::from_secs(30);
/// A real client's request must be answered within this, whatever else
/// the endpoint is offered.
const ANSWER_BOUND: Duration = Duration::from_secs(3);
/// Growth of the watch process's VmRSS allowed over a test (MiB).
const RSS_GROWTH_MIB: f64 = 64.0;
/// CPU time the watch process may spend in [`CPU_WINDOW`] while it only
/// waits (a busy loop would spend the whole window).
const IDLE_CPU: Duration = Duration::from_millis(300);
const CPU_WINDOW: Duration = Duration::from_secs(4);
/// Longer than an audit of a fake dockerd takes here (0.3-2.1 s measured).
const AUDIT_SETTLE: Duration = Duration::from_secs(3);

fn note(msg: &str) {
    loud(&format!("[hostile-watch] {msg}"));
}

// ---------------------------------------------------------------------------
// The watch process
// ---------------------------------------------------------------------------

/// One HTTP exchange on loopback: the status and body, `None` when the
/// connection failed or closed without an answer.
fn http(port: u16, request: &[u8], timeout: Duration) -> Option<(u16, String)> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    s.write_all(request).ok()?;
    let mut out = Vec::new();
    // A reset after a complete answer still leaves the answer.
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

fn get_req(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes()
}

/// The value of the series `series` (name and labels, as printed).
fn value(m: &str, series: &str) -> Option<f64> {
    m.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// What /proc says of a process.
#[derive(Debug, Clone, Copy)]
struct ProcStat {
    rss_kib: u64,
    threads: u64,
    fds: usize,
    /// utime + stime.
    cpu: Duration,
}

fn proc_stat(pid: u32) -> ProcStat {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |k: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    ProcStat {
        rss_kib: field("VmRSS:"),
        threads: field("Threads:"),
        fds: std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count())
            .unwrap_or(0),
        cpu: cpu_of(Path::new(&format!("/proc/{pid}/stat"))),
    }
}

/// The CPU time (utime + stime) of each thread of `pid` but the main one.
fn threads_cpu(pid: u32) -> std::collections::BTreeMap<u32, Duration> {
    let mut out = std::collections::BTreeMap::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let Some(tid) = e.file_name().to_str().and_then(|t| t.parse::<u32>().ok()) else {
            continue;
        };
        if tid != pid {
            out.insert(tid, cpu_of(&e.path().join("stat")));
        }
    }
    out
}

/// utime + stime of a stat(5) file.
fn cpu_of(stat: &Path) -> Duration {
    let stat = std::fs::read_to_string(stat).unwrap_or_default();
    // The fields after the command (which may hold spaces and parentheses).
    let after: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| -> u64 { after.get(i).and_then(|v| v.parse().ok()).unwrap_or(0) };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    // utime and stime are fields 14 and 15 of stat(5); `after` starts at 3.
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / hz)
}

/// A running `dockhard watch --listen 127.0.0.1:0 ...` (the port from its
/// log), killed on drop.
struct Watch {
    child: Option<Child>,
    pid: u32,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Watch {
    /// Start it with `args` and wait for its first audit (`/healthz` 200).
    fn start(args: &[&str]) -> Watch {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("watch.log");
        let logf = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_dockhard"))
            .args(["watch", "--no-policy", "--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("DOCKER_HOST")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .expect("cannot start dockhard watch");
        let pid = child.id();
        let t0 = Instant::now();
        let port = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(port) = text
                .split("serving http://127.0.0.1:")
                .nth(1)
                .and_then(|r| r.split('/').next())
                .and_then(|p| p.parse().ok())
            {
                break port;
            }
            if let Ok(Some(st)) = child.try_wait() {
                panic!("dockhard watch {args:?} ended ({st}) before serving:\n{text}");
            }
            if t0.elapsed() > PATIENCE {
                let _ = child.kill();
                let _ = child.wait();
                panic!("dockhard watch {args:?} does not serve:\n{text}");
            }
            thread::sleep(Duration::from_millis(20));
        };
        let w = Watch {
            child: Some(child),
            pid,
            port,
            log,
            _dir: dir,
        };
        w.until_healthz(200, "the first audit");
        w
    }

    /// `watch --root TREE`: a tree with an empty daemon.json.
    fn on_tree() -> (Watch, tempfile::TempDir) {
        let tree = tempfile::tempdir().unwrap();
        put(tree.path(), "etc/docker/daemon.json", b"{}", 0o644);
        let w = Watch::start(&[
            "--root",
            path_str(tree.path()),
            "--engine-version",
            "20.10.24",
        ]);
        (w, tree)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn get(&self, path: &str) -> Option<(u16, String)> {
        http(self.port, &get_req(path), Duration::from_secs(5))
    }

    fn metrics(&self) -> String {
        match self.get("/metrics") {
            Some((200, body)) => body,
            other => panic!("GET /metrics: {other:?}\n--- log ---\n{}", self.log()),
        }
    }

    fn stat(&self) -> ProcStat {
        proc_stat(self.pid)
    }

    /// Wait until `pred` holds for /metrics; the time it took.
    fn until(&self, what: &str, pred: impl Fn(&str) -> bool) -> Duration {
        let t0 = Instant::now();
        loop {
            let m = self.metrics();
            if pred(&m) {
                return t0.elapsed();
            }
            assert!(
                t0.elapsed() < PATIENCE,
                "{what}: not within {PATIENCE:?}\n--- metrics ---\n{m}\n--- log ---\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn until_healthz(&self, code: u16, what: &str) -> Duration {
        let t0 = Instant::now();
        loop {
            let got = self.get("/healthz");
            if got.as_ref().is_some_and(|(c, _)| *c == code) {
                return t0.elapsed();
            }
            assert!(
                t0.elapsed() < PATIENCE,
                "{what}: /healthz is not {code} within {PATIENCE:?}: {got:?}\n--- log ---\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The value of `series` in /metrics (0 when absent).
    fn counter(&self, series: &str) -> f64 {
        value(&self.metrics(), series).unwrap_or(0.0)
    }

    /// CPU time spent over [`CPU_WINDOW`] while watch only waits, asserted
    /// below [`IDLE_CPU`]: by its long-lived threads other than the main
    /// one (the server, event streams, inotify, signals) in every window,
    /// and by the whole process in a window without an audit (the fake
    /// dockerds of other tests starting and stopping make watch audit:
    /// `process`). Up to 3 windows are tried for one without an audit (an
    /// audit logs its line when it ends: one that began in the window is
    /// seen by a look at the log [`AUDIT_SETTLE`] after it).
    fn assert_idle(&self, what: &str) -> Duration {
        let audits = |log: &str| log.matches(": audit ").count();
        let mut worst = Duration::ZERO;
        for _ in 0..3 {
            let (a, ta, n) = (self.stat().cpu, threads_cpu(self.pid), audits(&self.log()));
            thread::sleep(CPU_WINDOW);
            let (b, tb) = (self.stat().cpu, threads_cpu(self.pid));
            thread::sleep(AUDIT_SETTLE);
            let m = audits(&self.log());
            let threads: Duration = tb
                .iter()
                .filter_map(|(tid, t)| Some(t.saturating_sub(*ta.get(tid)?)))
                .sum();
            let spent = b.saturating_sub(a);
            note(&format!(
                "{what}: {spent:?} CPU in {CPU_WINDOW:?} ({} audits in it or just after), \
                 {threads:?} by the threads other than main (bound {IDLE_CPU:?})",
                m - n
            ));
            assert!(
                threads < IDLE_CPU,
                "{what}: watch's threads spent {threads:?} of CPU in {CPU_WINDOW:?}: a busy loop?\n--- log ---\n{}",
                self.log()
            );
            worst = worst.max(threads);
            if m == n {
                assert!(
                    spent < IDLE_CPU,
                    "{what}: watch spent {spent:?} of CPU in {CPU_WINDOW:?} without an audit: a busy loop?\n--- log ---\n{}",
                    self.log()
                );
                return spent;
            }
        }
        worst
    }

    fn assert_rss(&self, what: &str, before: ProcStat) -> ProcStat {
        let now = self.stat();
        let growth = (now.rss_kib as f64 - before.rss_kib as f64) / 1024.0;
        note(&format!(
            "{what}: VmRSS {:.1} -> {:.1} MiB, threads {} -> {}, fds {} -> {}",
            before.rss_kib as f64 / 1024.0,
            now.rss_kib as f64 / 1024.0,
            before.threads,
            now.threads,
            before.fds,
            now.fds
        ));
        assert!(
            growth < RSS_GROWTH_MIB,
            "{what}: VmRSS grew {growth:.1} MiB ({before:?} -> {now:?})"
        );
        now
    }

    /// The end of every test: alive, answering, no panic, and SIGTERM
    /// ends it with 0 within 2 s.
    fn finish(mut self, what: &str, healthy: bool) {
        let mut child = self.child.take().unwrap();
        assert!(
            child.try_wait().unwrap().is_none(),
            "{what}: watch has exited\n--- log ---\n{}",
            self.log()
        );
        assert_eq!(
            self.get("/healthz").map(|r| r.0),
            Some(if healthy { 200 } else { 503 }),
            "{what}: /healthz\n--- log ---\n{}",
            self.log()
        );
        assert!(self.metrics().contains("dockhard_audits_total"));
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.pid as i32, libc::SIGTERM);
        }
        let t0 = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if t0.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what}: no exit 10 s after SIGTERM\n{}", self.log());
            }
            thread::sleep(Duration::from_millis(5));
        };
        let took = t0.elapsed();
        let log = self.log();
        note(&format!("{what}: SIGTERM -> {status} in {took:?}"));
        assert!(!log.contains("panicked"), "{what}: a panic:\n{log}");
        assert_eq!(status.code(), Some(0), "{what}: exit status\n{log}");
        assert!(
            took < Duration::from_secs(2),
            "{what}: SIGTERM took {took:?}"
        );
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// A fake Engine API whose event stream is hostile
// ---------------------------------------------------------------------------

/// What `GET /events` does, connection after connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Events {
    /// A proper chunked stream of `n` container events (as fast as watch
    /// reads; once `go` is set), then silence.
    Flood(usize),
    /// Random bytes instead of a response head.
    GarbageHead,
    /// A proper chunked head, then random bytes.
    GarbageBody,
    /// A chunk size that is no number.
    BadChunkSize,
    /// One line without end, in 64 KiB chunks, until watch hangs up.
    EndlessLine,
    /// Nothing at all: not even a head.
    Silent,
    /// A head that never ends, one byte every 200 ms.
    TrickleHead,
    /// A proper head, a line of 200,000 `[` (deeper than any parser's
    /// limit), an event of no effect, then nothing.
    DeepLine,
    /// A proper head, then nothing.
    HeadThenHang,
    /// Closed at once.
    Close,
}

#[derive(Default)]
struct ApiState {
    /// The acts of the next `/events` connections; the last one repeats.
    plan: Mutex<VecDeque<Events>>,
    /// Per `/events` connection: when it came, what it got, bytes sent.
    streams: Mutex<Vec<(Instant, Events, u64)>>,
    /// Every request line.
    calls: AtomicUsize,
    go: AtomicBool,
}

impl ApiState {
    fn streams(&self) -> Vec<(Instant, Events, u64)> {
        self.streams.lock().unwrap().clone()
    }
}

/// A deterministic source of garbage.
fn garbage(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

const CHUNKED_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut c = format!("{:x}\r\n", data.len()).into_bytes();
    c.extend_from_slice(data);
    c.extend_from_slice(b"\r\n");
    c
}

/// The Engine API at `DIR/docker.sock`: `/version` and empty lists and
/// objects for the audit, `/events` by its plan.
struct FakeApi {
    path: PathBuf,
    state: Arc<ApiState>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
    listener: Option<UnixListener>,
}

impl FakeApi {
    fn start(path: &Path, plan: &[Events], state: Option<Arc<ApiState>>) -> FakeApi {
        let state = state.unwrap_or_default();
        *state.plan.lock().unwrap() = plan.iter().copied().collect();
        let l = UnixListener::bind(path).unwrap();
        l.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp, al) = (state.clone(), stop.clone(), l.try_clone().unwrap());
        let thread = thread::spawn(move || {
            let mut handlers = Vec::new();
            while !sp.load(Ordering::SeqCst) {
                match al.accept() {
                    Ok((s, _)) => {
                        let (st, sp) = (st.clone(), sp.clone());
                        handlers.push(thread::spawn(move || api_conn(s, &st, &sp)));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
                handlers.retain(|h| !h.is_finished());
            }
            for h in handlers {
                let _ = h.join();
            }
        });
        FakeApi {
            path: path.to_path_buf(),
            state,
            stop,
            thread: Some(thread),
            listener: Some(l),
        }
    }

    fn url(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    fn fd(&self) -> RawFd {
        self.listener.as_ref().map_or(-1, |l| l.as_raw_fd())
    }

    /// Gone: every connection closed, the socket removed (a connection
    /// finds no socket, as after dockerd exited).
    fn vanish(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // Once: a FakeApi started again at the same path keeps its socket.
        if self.listener.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.vanish();
    }
}

fn api_conn(mut s: UnixStream, st: &ApiState, stop: &AtomicBool) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let until = Instant::now() + Duration::from_secs(2);
    while !got.windows(4).any(|w| w == b"\r\n\r\n") && got.len() < 65536 {
        if Instant::now() > until || stop.load(Ordering::SeqCst) {
            return;
        }
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    st.calls.fetch_add(1, Ordering::SeqCst);
    let line =
        String::from_utf8_lossy(got.split(|b| *b == b'\r').next().unwrap_or(&[])).into_owned();
    let path = line.split(' ').nth(1).unwrap_or("").to_string();
    if path.contains("/events") {
        return events_conn(s, st, stop);
    }
    let body = if path.ends_with("/version") {
        r#"{"Version":"20.10.24","ApiVersion":"1.41","Os":"linux"}"#
    } else if path.contains("/containers/json") || path.contains("/images/json") {
        "[]"
    } else {
        "{}"
    };
    let _ = s.write_all(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
}

fn events_conn(mut s: UnixStream, st: &ApiState, stop: &AtomicBool) {
    let act = {
        let mut plan = st.plan.lock().unwrap();
        if plan.len() > 1 {
            plan.pop_front()
        } else {
            plan.front().copied()
        }
    }
    .unwrap_or(Events::HeadThenHang);
    let index = {
        let mut streams = st.streams.lock().unwrap();
        streams.push((Instant::now(), act, 0));
        streams.len() - 1
    };
    let send = |s: &mut UnixStream, b: &[u8]| -> bool {
        let ok = s.write_all(b).is_ok();
        if ok {
            st.streams.lock().unwrap()[index].2 += b.len() as u64;
        }
        ok && !stop.load(Ordering::SeqCst)
    };
    let hold = || {
        while !stop.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(20));
        }
    };
    match act {
        Events::Flood(n) => {
            if !send(&mut s, CHUNKED_HEAD) {
                return;
            }
            while !st.go.load(Ordering::SeqCst) {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                thread::sleep(Duration::from_millis(5));
            }
            let mut i = 0;
            while i < n {
                let mut batch = Vec::new();
                for _ in 0..100.min(n - i) {
                    batch.extend_from_slice(
                        format!(
                            "{{\"status\":\"create\",\"id\":\"{i:064x}\",\"Type\":\"container\",\"Action\":\"create\",\"Actor\":{{\"ID\":\"{i:064x}\",\"Attributes\":{{\"image\":\"busybox\",\"name\":\"flood-{i}\"}}}},\"scope\":\"local\",\"time\":1700000000,\"timeNano\":1700000000000000000}}\n"
                        )
                        .as_bytes(),
                    );
                    i += 1;
                }
                if !send(&mut s, &chunk(&batch)) {
                    return;
                }
            }
            hold();
        }
        Events::GarbageHead => {
            send(&mut s, &garbage(64 << 10, 0x9e37_79b9_7f4a_7c15));
            hold();
        }
        Events::GarbageBody => {
            if send(&mut s, CHUNKED_HEAD) {
                send(&mut s, &garbage(64 << 10, 0x2545_f491_4f6c_dd1d));
            }
            hold();
        }
        Events::BadChunkSize => {
            if send(&mut s, CHUNKED_HEAD) {
                send(&mut s, b"1x\r\n{}\r\n");
            }
            hold();
        }
        Events::EndlessLine => {
            let line = chunk(&vec![b'a'; 64 << 10]);
            let mut ok = send(&mut s, CHUNKED_HEAD) && send(&mut s, &chunk(b"{\"Type\":\""));
            while ok {
                ok = send(&mut s, &line);
            }
        }
        Events::Silent => hold(),
        Events::TrickleHead => {
            for &b in b"HTTP/1.1 200 OK\r\nX-Slow: "
                .iter()
                .chain(std::iter::repeat(&b'a'))
            {
                if !send(&mut s, &[b]) {
                    break;
                }
                thread::sleep(Duration::from_millis(200));
            }
        }
        Events::DeepLine => {
            let mut line = vec![b'['; 200_000];
            line.push(b'\n');
            let ok = send(&mut s, CHUNKED_HEAD)
                && send(&mut s, &chunk(&line))
                && send(
                    &mut s,
                    &chunk(b"{\"Type\":\"container\",\"Action\":\"exec_start: sh\"}\n"),
                );
            if ok {
                hold();
            }
        }
        Events::HeadThenHang => {
            if send(&mut s, CHUNKED_HEAD) {
                hold();
            }
        }
        Events::Close => {}
    }
}

/// A fake dockerd (`dockerd -H unix://DIR/docker.sock --config-file
/// DIR/daemon.json`, an empty daemon.json) and its [`FakeApi`].
struct Fake {
    dir: tempfile::TempDir,
    api: FakeApi,
    fake: Option<FakeDockerd>,
}

impl Fake {
    fn start(plan: &[Events]) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let cfg = put(dir.path(), "daemon.json", b"{}", 0o644);
        let api = FakeApi::start(&dir.path().join("docker.sock"), plan, None);
        let args = vec![
            "-H".to_string(),
            api.url(),
            "--config-file".into(),
            path_str(&cfg).into(),
        ];
        let fake = FakeDockerd::start(&args, &[api.fd()]);
        Fake {
            dir,
            api,
            fake: Some(fake),
        }
    }

    fn pid(&self) -> String {
        self.fake.as_ref().map(|f| f.pid.to_string()).unwrap()
    }

    fn watch(&self) -> Watch {
        Watch::start(&["--pid", &self.pid(), "--timeout-ms", TIMEOUT_MS])
    }

    /// Wait until `n` `/events` connections were made.
    fn until_streams(&self, w: &Watch, n: usize) -> Vec<(Instant, Events, u64)> {
        let t0 = Instant::now();
        loop {
            let s = self.api.state.streams();
            if s.len() >= n {
                return s;
            }
            assert!(
                t0.elapsed() < PATIENCE,
                "{} /events connections, not {n}, within {PATIENCE:?}: {s:?}\n--- log ---\n{}",
                s.len(),
                w.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

const EVENT_AUDITS: &str = "dockhard_audits_total{trigger=\"event\"}";

// ---------------------------------------------------------------------------
// Event streams
// ---------------------------------------------------------------------------

/// 100,000 container events as fast as watch reads them: each counted
/// (`dockhard_events_total`), taken by few audits (coalesced, not one per
/// event), and /metrics answers all along.
#[test]
fn watch_event_flood_is_coalesced() {
    const N: usize = 100_000;
    let f = Fake::start(&[Events::Flood(N)]);
    let w = f.watch();
    f.until_streams(&w, 1);
    let before = w.stat();
    let audits0 = w.counter(EVENT_AUDITS);
    // Scrape while the flood runs: the slowest answer, and any failure.
    let done = Arc::new(AtomicBool::new(false));
    let scraper = {
        let (done, port) = (done.clone(), w.port);
        thread::spawn(move || {
            let (mut n, mut worst, mut failed) = (0u32, Duration::ZERO, 0u32);
            while !done.load(Ordering::SeqCst) {
                let t = Instant::now();
                match http(port, &get_req("/metrics"), Duration::from_secs(10)) {
                    Some((200, _)) => {}
                    _ => failed += 1,
                }
                worst = worst.max(t.elapsed());
                n += 1;
                thread::sleep(Duration::from_millis(20));
            }
            (n, worst, failed)
        })
    };
    let t0 = Instant::now();
    f.api.state.go.store(true, Ordering::SeqCst);
    let took = w.until("all events counted", |m| {
        value(m, "dockhard_events_total") == Some(N as f64)
    });
    let elapsed = t0.elapsed().max(took);
    done.store(true, Ordering::SeqCst);
    let (scrapes, worst, failed) = scraper.join().unwrap();
    let audits = w.counter(EVENT_AUDITS) - audits0;
    let sent = f.api.state.streams()[0].2;
    note(&format!(
        "flood: {N} events ({:.1} MiB) counted in {elapsed:?} ({:.0} events/s), {audits} audits; \
         {scrapes} scrapes meanwhile, slowest {worst:?}, {failed} failed",
        sent as f64 / 1048576.0,
        N as f64 / elapsed.as_secs_f64()
    ));
    assert_eq!(failed, 0, "scrapes failed during the flood");
    assert!(
        worst < ANSWER_BOUND,
        "a scrape took {worst:?} during the flood"
    );
    assert!(
        (1.0..=2000.0).contains(&audits),
        "{audits} event audits for {N} events: not coalesced\n{}",
        w.log()
    );
    w.assert_rss("flood", before);
    w.finish("flood", true);
}

/// Garbage instead of a head, garbage in the body, a bad chunk size, an
/// endless line: each stream is given up (the line at its 1 MiB bound, not
/// read to its end), watch reconnects with growing waits and audits after
/// each reconnection. A line nested 200,000 deep is counted (an event of
/// no effect) and the stream goes on; one that then only hangs costs no
/// CPU.
#[test]
fn watch_event_streams_of_garbage() {
    use Events::*;
    let f = Fake::start(&[
        GarbageHead,
        GarbageBody,
        BadChunkSize,
        EndlessLine,
        DeepLine,
    ]);
    let w = f.watch();
    let before = w.stat();
    let s = f.until_streams(&w, 5);
    let gaps: Vec<Duration> = s.windows(2).map(|p| p[1].0 - p[0].0).collect();
    note(&format!(
        "garbage: streams {:?}, reconnected after {gaps:?}",
        s.iter().map(|x| (x.1, x.2)).collect::<Vec<_>>()
    ));
    // Backoff: 250 ms doubling (some slack below for timer granularity).
    for (i, g) in gaps.iter().enumerate() {
        let want = Duration::from_millis(200 << i);
        assert!(
            *g >= want,
            "reconnection {} after {g:?}, not >= {want:?}",
            i + 2
        );
    }
    let endless = s[3].2;
    assert!(
        (1 << 20..8 << 20).contains(&endless),
        "the endless line: {endless} bytes sent before watch hung up (its bound is 1 MiB)"
    );
    // Each reconnection asks for a full audit (those coming during one
    // are taken by the next).
    w.until("an audit after the reconnections", |m| {
        value(m, EVENT_AUDITS).unwrap_or(0.0) >= 1.0
    });
    w.assert_idle("a stream that only hangs");
    // The deep line and the event after it were counted (SIGHUP: an audit
    // that publishes the count), and that stream was not given up.
    let signals = w.counter("dockhard_audits_total{trigger=\"signal\"}");
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(w.pid as i32, libc::SIGHUP);
    }
    let m = w.until("the audit after SIGHUP", |m| {
        value(m, "dockhard_audits_total{trigger=\"signal\"}").unwrap_or(0.0) > signals
    });
    let events = value(&w.metrics(), "dockhard_events_total").unwrap_or(0.0);
    assert!(
        events >= 2.0,
        "events counted: {events} ({m:?} after SIGHUP)"
    );
    assert_eq!(
        f.api.state.streams().len(),
        5,
        "the deep line broke the stream"
    );
    w.assert_rss("garbage", before);
    w.finish("garbage", true);
}

/// A stream that sends nothing at all is given up after 10 s; one closed
/// at once is retried after a wait, not in a loop.
#[test]
fn watch_event_streams_that_hang_or_close() {
    use Events::*;
    let f = Fake::start(&[Silent, Close, Close, HeadThenHang]);
    let w = f.watch();
    // While the first (silent) stream is waited for, nothing spins.
    w.assert_idle("a stream that sends nothing");
    let s = f.until_streams(&w, 4);
    let gaps: Vec<Duration> = s.windows(2).map(|p| p[1].0 - p[0].0).collect();
    note(&format!("hang/close: reconnected after {gaps:?}"));
    assert!(
        gaps[0] >= Duration::from_secs(9) && gaps[0] < Duration::from_secs(20),
        "a silent stream given up after {:?} (10 s, then 250 ms)",
        gaps[0]
    );
    assert!(gaps[1] >= Duration::from_millis(400), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(800), "{gaps:?}");
    w.until("an audit after the reconnections", |m| {
        value(m, EVENT_AUDITS).unwrap_or(0.0) >= 1.0
    });
    w.finish("hang/close", true);
}

/// A response head that trickles without end (a byte every 200 ms, so no
/// read ever times out) is given up like a silent one, after 10 s.
#[test]
fn watch_event_stream_head_that_trickles() {
    let f = Fake::start(&[Events::TrickleHead, Events::HeadThenHang]);
    let w = f.watch();
    let s = f.until_streams(&w, 2);
    let gap = s[1].0 - s[0].0;
    note(&format!("trickling head: given up after {gap:?}"));
    assert!(
        gap >= Duration::from_secs(9) && gap < Duration::from_secs(20),
        "a trickling head given up after {gap:?} (10 s, then 250 ms)"
    );
    w.finish("trickling head", true);
}

/// The daemon's API goes away (socket gone): watch keeps serving, retries
/// with backoff without spinning, and when the API is back reconnects and
/// audits. Then the dockerd process is killed: the audit cannot run,
/// `/healthz` and `/report.json` answer 503, no result series is left, and
/// still nothing spins.
#[test]
fn watch_daemon_that_disappears() {
    let mut f = Fake::start(&[Events::HeadThenHang]);
    let w = f.watch();
    let before = w.stat();
    f.until_streams(&w, 1);
    let state = f.api.state.clone();
    f.api.vanish();
    w.assert_idle("the API socket gone");
    assert_eq!(w.get("/metrics").map(|r| r.0), Some(200));
    let audits = w.counter(EVENT_AUDITS);
    // Back: the stream is reconnected (within the 10 s of the longest
    // backoff) and a full audit follows.
    let back = Instant::now();
    f.api = FakeApi::start(
        &f.dir.path().join("docker.sock"),
        &[Events::HeadThenHang],
        Some(state),
    );
    f.until_streams(&w, 2);
    let took = w.until("an audit after the reconnection", |m| {
        value(m, EVENT_AUDITS).unwrap_or(0.0) > audits
    });
    note(&format!(
        "daemon gone: API back, reconnected and audited after {:?}",
        back.elapsed().max(took)
    ));
    // The process is killed (and its API with it).
    f.fake = None;
    f.api.vanish();
    let took = w.until_healthz(503, "the dockerd killed");
    note(&format!("daemon gone: /healthz 503 after {took:?}"));
    assert_eq!(w.get("/report.json").map(|r| r.0), Some(503));
    let m = w.metrics();
    assert!(!m.contains("dockhard_result{"), "stale results:\n{m}");
    assert!(value(&m, "dockhard_audit_errors_total").unwrap_or(0.0) >= 1.0);
    w.assert_idle("the dockerd killed");
    w.assert_rss("daemon gone", before);
    w.finish("daemon gone", false);
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// daemon.json replaced (by rename, as editors do) with a FIFO that a
/// writer would feed without end, then with a symbolic link loop, then a
/// file again: each change is audited, no audit blocks on the FIFO or
/// reads from it, and watch serves all along.
#[test]
fn watch_config_replaced_by_fifo_and_symlink_loop() {
    let f = Fake::start(&[Events::HeadThenHang]);
    let w = f.watch();
    let before = w.stat();
    let cfg = f.dir.path().join("daemon.json");
    let files = |w: &Watch| value(&w.metrics(), "dockhard_audits_total{trigger=\"file\"}");
    let n0 = files(&w).unwrap_or(0.0);
    // A FIFO.
    let tmp = f.dir.path().join("daemon.json.new");
    mkfifo(&tmp);
    std::fs::rename(&tmp, &cfg).unwrap();
    // Feeds any reader of the FIFO without end (watch must never be one).
    let writer = super::files::fifo_writer(&cfg);
    let took = w.until("an audit of the FIFO", |m| {
        value(m, "dockhard_audits_total{trigger=\"file\"}").unwrap_or(0.0) > n0
    });
    note(&format!("fifo: audited after {took:?}"));
    w.until_healthz(200, "after the FIFO");
    let report = w.get("/report.json").expect("/report.json");
    assert_eq!(report.0, 200);
    assert!(w.metrics().contains("dockhard_result{"));
    // A symbolic link loop: daemon.json -> loop-a -> daemon.json.
    let n1 = files(&w).unwrap_or(0.0);
    symlink("daemon.json", f.dir.path().join("loop-a")).unwrap();
    symlink("loop-a", &tmp).unwrap();
    std::fs::rename(&tmp, &cfg).unwrap();
    let took = w.until("an audit of the symlink loop", |m| {
        value(m, "dockhard_audits_total{trigger=\"file\"}").unwrap_or(0.0) > n1
    });
    note(&format!("symlink loop: audited after {took:?}"));
    w.until_healthz(200, "after the symlink loop");
    assert!(w.metrics().contains("dockhard_result{"));
    // The writer stops before daemon.json is a file again (it would
    // write into it).
    assert_eq!(writer.count(), 0, "watch opened the FIFO to read it");
    drop(writer);
    // A file again.
    let n2 = files(&w).unwrap_or(0.0);
    put(f.dir.path(), "daemon.json.new", b"{\"icc\": false}", 0o644);
    std::fs::rename(&tmp, &cfg).unwrap();
    w.until("an audit of the file again", |m| {
        value(m, "dockhard_audits_total{trigger=\"file\"}").unwrap_or(0.0) > n2
    });
    w.assert_rss("fifo/symlink", before);
    w.finish("fifo/symlink", true);
}

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------

/// A real client's /metrics: the time until it was answered (a fresh
/// connection per try), or a failure past [`ANSWER_BOUND`].
fn answered(w: &Watch, what: &str) -> Duration {
    let t0 = Instant::now();
    let mut last = None;
    while t0.elapsed() < ANSWER_BOUND {
        last = http(w.port, &get_req("/metrics"), ANSWER_BOUND);
        if matches!(last, Some((200, _))) {
            return t0.elapsed();
        }
        thread::sleep(Duration::from_millis(10));
    }
    panic!(
        "{what}: /metrics not answered within {ANSWER_BOUND:?} (last: {:?})\n--- log ---\n{}",
        last.map(|l| l.0),
        w.log()
    );
}

/// Let this test process hold `n` descriptors (the soft limit raised up to
/// the hard one: a shell's default of 1024 is too few for 2,000 sockets);
/// the limit it has then.
fn raise_nofile(n: u64) -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid rlimit we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 0;
        }
        if r.rlim_cur < n {
            let want = libc::rlimit {
                rlim_cur: n.min(r.rlim_max),
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                r = want;
            }
        }
    }
    r.rlim_cur
}

/// 1,000 connections that send nothing, held open: a real client is still
/// answered within 3 s, every time; watch holds a bounded number of them
/// (descriptors), starts no thread per connection, and its memory stays.
#[test]
fn watch_thousand_idle_connections() {
    let nofile = raise_nofile(4096);
    assert!(
        nofile >= 1200,
        "1,000 connections need more descriptors than RLIMIT_NOFILE allows ({nofile})"
    );
    let (w, _tree) = Watch::on_tree();
    let before = w.stat();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], w.port));
    let t0 = Instant::now();
    let idle: Vec<TcpStream> = (0..1000)
        .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(3)).ok())
        .collect();
    note(&format!(
        "1000 idle: {} connected in {:?}",
        idle.len(),
        t0.elapsed()
    ));
    let during = w.stat();
    let mut worst = Duration::ZERO;
    for _ in 0..10 {
        worst = worst.max(answered(&w, "1000 idle connections"));
    }
    // Another 1000 while those are still open (when the limit allows).
    let more: Vec<TcpStream> = (0..if nofile >= 2200 { 1000 } else { 0 })
        .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(3)).ok())
        .collect();
    for _ in 0..10 {
        worst = worst.max(answered(&w, "1000 more idle connections"));
    }
    note(&format!(
        "1000 idle: /metrics answered in at most {worst:?}; watch held {} descriptors (before {})",
        during.fds, before.fds
    ));
    assert!(
        during.fds < before.fds + 200,
        "watch holds {} descriptors with 1000 idle connections",
        during.fds
    );
    // Threads: an audit (`process`: other tests' fake dockerds) runs a few
    // of its own; the count once none runs.
    let t = Instant::now();
    while w.stat().threads > before.threads + 2 && t.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(50));
    }
    let after = w.assert_rss("1000 idle", before);
    assert!(
        after.threads <= before.threads + 2,
        "threads {} -> {}",
        before.threads,
        after.threads
    );
    drop((idle, more));
    w.finish("1000 idle", true);
}

/// Write `prefix` then `filler` until the server stops reading (a write
/// fails) or `limit` bytes went; the bytes written, the time, and the
/// first bytes of the answer (read beside).
fn flood_request(port: u16, prefix: &[u8], limit: u64) -> (u64, Duration, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = s.try_clone().unwrap();
    r.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let reader = thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 || out.len() > 4096 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&out).into_owned()
    });
    let t0 = Instant::now();
    let mut sent = 0u64;
    let filler = vec![b'a'; 64 << 10];
    if s.write_all(prefix).is_ok() {
        sent += prefix.len() as u64;
        while sent < limit && s.write_all(&filler).is_ok() {
            sent += filler.len() as u64;
        }
    }
    let took = t0.elapsed();
    drop(s);
    (sent, took, reader.join().unwrap())
}

/// 1 GiB requests: an endless header, an endless request line and a body
/// of 1 GiB. Each is cut at the limits (the head at 8 KiB, a body never
/// read): the client's writes fail long before 1 GiB, quickly, and memory
/// stays.
#[test]
fn watch_gibibyte_requests() {
    let (w, _tree) = Watch::on_tree();
    let before = w.stat();
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "an endless header",
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Endless: ",
            "431",
        ),
        ("an endless request line", b"GET /", "431"),
        (
            "a 1 GiB body to POST",
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n",
            "405",
        ),
        (
            "a 1 GiB body to GET",
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n",
            "200",
        ),
    ];
    for (what, prefix, code) in cases {
        let (sent, took, answer) = flood_request(w.port, prefix, GIB);
        let status = answer.lines().next().unwrap_or("").to_string();
        note(&format!(
            "1 GiB request, {what}: cut after {:.1} MiB in {took:?}; answer {status:?}",
            sent as f64 / 1048576.0
        ));
        assert!(
            sent < 64 << 20,
            "{what}: {sent} bytes were taken: the request was read on"
        );
        assert!(took < Duration::from_secs(10), "{what}: {took:?}");
        assert!(
            answer.is_empty() || status.starts_with(&format!("HTTP/1.1 {code} ")),
            "{what}: answered {status:?}, not {code}"
        );
        answered(&w, what);
    }
    w.assert_rss("1 GiB requests", before);
    w.finish("1 GiB requests", true);
}

/// A client sending its head one byte every 100 ms.
fn slowloris(port: u16) -> thread::JoinHandle<Option<Duration>> {
    thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_millis(100))).ok()?;
        let t0 = Instant::now();
        let head = b"GET /metrics HTTP/1.1\r\nX-Slow: ";
        for &b in head.iter().chain(std::iter::repeat(&b'a')) {
            if s.write_all(&[b]).is_err() {
                break;
            }
            let mut buf = [0u8; 1024];
            match s.read(&mut buf) {
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => break,
            }
            if t0.elapsed() > Duration::from_secs(30) {
                return None;
            }
        }
        Some(t0.elapsed())
    })
}

/// Slow heads (one byte every 100 ms: cut at 2 s in all, not per read),
/// many of them while a real client asks; pipelined requests and garbage;
/// other methods; very long URLs.
#[test]
fn watch_slow_and_malformed_requests() {
    let (w, _tree) = Watch::on_tree();
    let before = w.stat();
    let alone = slowloris(w.port).join().unwrap();
    note(&format!("slowloris alone: closed after {alone:?}"));
    let alone = alone.expect("a slow head kept open for 30 s");
    assert!(
        alone >= Duration::from_millis(1500) && alone < Duration::from_secs(6),
        "a slow head closed after {alone:?} (2 s allowed)"
    );
    let many: Vec<_> = (0..200).map(|_| slowloris(w.port)).collect();
    thread::sleep(Duration::from_millis(300));
    let mut worst = Duration::ZERO;
    for _ in 0..10 {
        worst = worst.max(answered(&w, "200 slow heads"));
    }
    let closed: Vec<Option<Duration>> = many.into_iter().map(|h| h.join().unwrap()).collect();
    let longest = closed.iter().flatten().max().copied();
    note(&format!(
        "200 slow heads: /metrics answered in at most {worst:?}; the slow ones closed after at most {longest:?}"
    ));
    assert!(closed.iter().all(Option::is_some), "a slow head kept open");
    assert!(longest < Some(Duration::from_secs(8)), "{longest:?}");

    // Pipelined requests, then garbage: one answer (the first), whole.
    let mut pipelined = get_req("/healthz");
    pipelined.extend_from_slice(&get_req("/metrics"));
    pipelined.extend_from_slice(&garbage(4096, 7));
    let got = http(w.port, &pipelined, Duration::from_secs(5));
    assert_eq!(got, Some((200, "ok\n".to_string())), "pipelined");

    // Methods other than GET and HEAD, garbage request lines.
    for m in [
        "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT", "BREW", "get",
    ] {
        let got = http(
            w.port,
            format!("{m} /metrics HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
            Duration::from_secs(5),
        );
        assert_eq!(got.map(|g| g.0), Some(405), "{m}");
    }
    for junk in [
        garbage(2000, 3)
            .into_iter()
            .filter(|b| *b != b'\n')
            .chain(*b"\r\n\r\n")
            .collect::<Vec<u8>>(),
        b"\r\n\r\n".to_vec(),
        b"GET\r\n\r\n".to_vec(),
        b"\0\0\0\0 /metrics HTTP/1.1\r\n\r\n".to_vec(),
    ] {
        let got = http(w.port, &junk, Duration::from_secs(5));
        assert!(
            matches!(got, Some((400..=499, _))),
            "{:?}: {got:?}",
            String::from_utf8_lossy(&junk[..junk.len().min(40)])
        );
    }
    // HEAD: the head only.
    let mut s = TcpStream::connect(("127.0.0.1", w.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 200 "), "{out}");
    assert!(out.ends_with("\r\n\r\n"), "HEAD with a body: {out}");

    // Long URLs: under the head's bound (not found), over it (431).
    let long = format!("/metrics/{}", "a".repeat(7000));
    assert_eq!(w.get(&long).map(|g| g.0), Some(404));
    let longer = format!("/metrics?{}", "a".repeat(100_000));
    let got = http(w.port, &get_req(&longer), Duration::from_secs(5));
    assert!(
        matches!(got, None | Some((431, _))),
        "{:?}",
        got.map(|g| g.0)
    );
    answered(&w, "after the malformed requests");
    w.assert_rss("slow/malformed", before);
    w.finish("slow/malformed", true);
}
