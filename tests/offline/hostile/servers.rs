//! Hostile Engine APIs and TLS listeners (cases 8 and 9).

use super::*;

// ---------------------------------------------------------------------------
// Hostile servers (sections 8 and 9)
// ---------------------------------------------------------------------------

/// What a hostile server does once it has read what the client sent.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Act {
    /// Never answers, never closes.
    Silent,
    /// `HTTP/1.1 200 OK\r\nX-Slow: aaaa...`, one byte every 200 ms, forever.
    Trickle,
    /// A 200 answer with a 1 GiB body (`[0,0,0,...`), streamed: without a
    /// length (to the end of the connection) or chunked.
    Flood { chunked: bool },
    /// Not HTTP: an SSH banner and a TLS record, then it closes.
    Garbage,
    /// A 200 answer whose body opens `levels` arrays (and closes them when
    /// `closed`), with its Content-Length.
    Deep { levels: usize, closed: bool },
    /// A TLS record header announcing 16 KiB that never come.
    TlsStall,
    /// That record header, then its bytes, one every 200 ms, forever.
    TlsTrickle,
    /// A 200 answer `[0,0,...,0]` of this many values, with its length.
    Zeros(usize),
}

#[derive(Default)]
struct Stats {
    conns: AtomicUsize,
    sent: AtomicU64,
    /// The first line of what each client sent (lossy).
    requests: Mutex<Vec<String>>,
}

enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn timeouts(&self, t: Duration) {
        let _ = match self {
            Stream::Unix(s) => s
                .set_read_timeout(Some(t))
                .and(s.set_write_timeout(Some(t))),
            Stream::Tcp(s) => s
                .set_read_timeout(Some(t))
                .and(s.set_write_timeout(Some(t))),
        };
    }
}

impl Read for Stream {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(b),
            Stream::Tcp(s) => s.read(b),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(b),
            Stream::Tcp(s) => s.write(b),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A listening socket (unix or loopback TCP) served by a thread per
/// connection, doing `act` (after a proper `GET /version` answer when
/// `version_ok`). Its descriptor is what a [`FakeDockerd`] holds.
struct Server {
    fd: RawFd,
    /// `unix:///path` or `tcp://127.0.0.1:PORT`
    url: String,
    port: u16,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
    _keep: Box<dyn Send>,
}

impl Server {
    fn unix(path: &Path, act: Act, version_ok: bool) -> Server {
        let l = UnixListener::bind(path).unwrap();
        l.set_nonblocking(true).unwrap();
        let fd = l.as_raw_fd();
        let url = format!("unix://{}", path.display());
        let accept = {
            let l = l.try_clone().unwrap();
            move || l.accept().map(|(s, _)| Stream::Unix(s))
        };
        Server::serve(fd, url, 0, Box::new(l), accept, act, version_ok)
    }

    fn tcp(act: Act, version_ok: bool) -> Server {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let fd = l.as_raw_fd();
        let accept = {
            let l = l.try_clone().unwrap();
            move || l.accept().map(|(s, _)| Stream::Tcp(s))
        };
        Server::serve(
            fd,
            format!("tcp://127.0.0.1:{port}"),
            port,
            Box::new(l),
            accept,
            act,
            version_ok,
        )
    }

    fn serve(
        fd: RawFd,
        url: String,
        port: u16,
        keep: Box<dyn Send>,
        accept: impl Fn() -> std::io::Result<Stream> + Send + 'static,
        act: Act,
        version_ok: bool,
    ) -> Server {
        let stats = Arc::new(Stats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (stats.clone(), stop.clone());
        let thread = thread::spawn(move || {
            while !sp.load(Ordering::SeqCst) {
                match accept() {
                    Ok(s) => {
                        let (st, sp) = (st.clone(), sp.clone());
                        thread::spawn(move || handle(s, act, version_ok, &st, &sp));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            fd,
            url,
            port,
            stats,
            stop,
            thread: Some(thread),
            _keep: keep,
        }
    }

    fn conns(&self) -> usize {
        self.stats.conns.load(Ordering::SeqCst)
    }

    fn sent(&self) -> u64 {
        self.stats.sent.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<String> {
        self.stats.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn version_answer() -> Vec<u8> {
    let body = r#"{"Version":"20.10.24","ApiVersion":"1.41","Os":"linux"}"#;
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn handle(mut s: Stream, act: Act, version_ok: bool, stats: &Stats, stop: &AtomicBool) {
    if let Stream::Unix(u) = &s {
        let _ = u.set_nonblocking(false);
    }
    if let Stream::Tcp(t) = &s {
        let _ = t.set_nonblocking(false);
    }
    stats.conns.fetch_add(1, Ordering::SeqCst);
    s.timeouts(Duration::from_millis(200));
    // What the client sends first: an HTTP request, or a TLS ClientHello.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.windows(4).any(|w| w == b"\r\n\r\n") || !got.starts_with(b"GET") {
                    break;
                }
            }
            Err(_) if got.is_empty() => {}
            Err(_) => break,
        }
    }
    let first =
        String::from_utf8_lossy(got.split(|b| *b == b'\r').next().unwrap_or(&[])).into_owned();
    stats.requests.lock().unwrap().push(first.clone());
    let send = |s: &mut Stream, b: &[u8]| -> bool {
        let ok = s.write_all(b).is_ok();
        if ok {
            stats.sent.fetch_add(b.len() as u64, Ordering::SeqCst);
        }
        ok && !stop.load(Ordering::SeqCst)
    };
    let hold = || {
        while !stop.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(20));
        }
    };
    if version_ok && first.starts_with("GET /version ") {
        send(&mut s, &version_answer());
        return;
    }
    s.timeouts(Duration::from_secs(2));
    match act {
        Act::Silent => hold(),
        Act::Trickle | Act::TlsTrickle => {
            let head: &[u8] = if act == Act::Trickle {
                b"HTTP/1.1 200 OK\r\nX-Slow: "
            } else {
                b"\x16\x03\x03\x40\x00"
            };
            for &b in head.iter().chain(std::iter::repeat(&b'a')) {
                if !send(&mut s, &[b]) {
                    break;
                }
                thread::sleep(Duration::from_millis(200));
            }
        }
        Act::Flood { chunked } => {
            let head: &[u8] = if chunked {
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
            };
            let mut chunk = b"0,".repeat(32 * 1024);
            chunk[0] = b'[';
            let chunk_head = format!("{:x}\r\n", chunk.len());
            let mut body = 0u64;
            let mut ok = send(&mut s, head);
            while ok && body < GIB {
                ok = if chunked {
                    send(&mut s, chunk_head.as_bytes())
                        && send(&mut s, &chunk)
                        && send(&mut s, b"\r\n")
                } else {
                    send(&mut s, &chunk)
                };
                body += chunk.len() as u64;
                chunk[0] = b'0';
            }
        }
        Act::Garbage => {
            send(&mut s, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00 not http \r\n\r\n");
        }
        Act::Deep { .. } | Act::Zeros(_) => {
            let body = match act {
                Act::Deep { levels, closed } => {
                    let mut b = "[".repeat(levels);
                    if closed {
                        b.push_str(&"]".repeat(levels));
                    }
                    b
                }
                Act::Zeros(n) => format!("[{}0]", "0,".repeat(n.saturating_sub(1))),
                _ => String::new(),
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            if send(&mut s, head.as_bytes()) {
                send(&mut s, body.as_bytes());
            }
        }
        Act::TlsStall => {
            if send(&mut s, b"\x16\x03\x03\x40\x00") {
                hold();
            }
        }
    }
}

/// A fake dockerd serving its API on `DIR/docker.sock` with `act`, started
/// as `dockerd -H unix://DIR/docker.sock --config-file DIR/daemon.json`
/// (an empty configuration: the verdicts are dockerd's defaults, which fail).
struct FakeWithApi {
    dir: tempfile::TempDir,
    api: Server,
    fake: FakeDockerd,
}

fn fake_with_api(act: Act, version_ok: bool) -> FakeWithApi {
    let dir = tempfile::tempdir().unwrap();
    let cfg = put(dir.path(), "daemon.json", b"{}", 0o644);
    let api = Server::unix(&dir.path().join("docker.sock"), act, version_ok);
    let args = vec![
        "-H".to_string(),
        api.url.clone(),
        "--config-file".into(),
        path_str(&cfg).into(),
    ];
    let fake = FakeDockerd::start(&args, &[api.fd]);
    FakeWithApi { dir, api, fake }
}

/// `check --pid FAKE --format json --timeout-ms 500` (plus `extra`): the
/// endpoint is the one dockhard finds itself, the socket the fake holds.
fn check_fake(name: &str, f: &FakeWithApi, extra: &[&str]) -> (Measured, Value) {
    let pid = f.fake.pid.to_string();
    let mut args = vec![
        "check",
        "--no-policy",
        "--format",
        "json",
        "--timeout-ms",
        TIMEOUT_MS,
        "--pid",
        &pid,
    ];
    args.extend_from_slice(extra);
    let m = run(name, &args);
    let r = report(name, &m, 1);
    assert_eq!(
        r["daemons"][0]["endpoint"], f.api.url,
        "{name}: the endpoint found in /proc"
    );
    // The configuration still decides (dockerd's defaults), with a warning
    // naming the endpoint and what went wrong.
    assert_eq!(status(&r, "daemon.icc"), "fail");
    (m, r)
}

fn icc_warning(r: &Value) -> String {
    result(r, "daemon.icc")["warnings"].to_string()
}

/// It waited for the timeout rather than giving up at once.
fn assert_waited(name: &str, m: &Measured) {
    assert!(
        m.wall >= Duration::from_millis(400),
        "{name}: did not wait for the timeout: {}",
        m.summary()
    );
}

// ---------------------------------------------------------------------------
// 8. An Engine API that hangs, trickles, floods, lies or nests deeply
// ---------------------------------------------------------------------------

#[test]
fn api_that_never_answers() {
    let f = fake_with_api(Act::Silent, false);
    let (m, r) = check_fake("API silent", &f, &[]);
    assert_waited("API silent", &m);
    assert_mentions(
        "API silent",
        &icc_warning(&r),
        &format!("{}: GET /version: reading response: timed out", f.api.url),
    );
    assert_eq!(f.api.requests(), ["GET /version HTTP/1.1"]);
}

#[test]
fn api_that_trickles_one_byte_every_200_ms() {
    // Already at /version, and after a good /version (/info and
    // /networks/bridge trickle at the same time).
    for version_ok in [false, true] {
        let name = format!("API trickle (version ok: {version_ok})");
        let f = fake_with_api(Act::Trickle, version_ok);
        let (m, r) = check_fake(&name, &f, &[]);
        assert_waited(&name, &m);
        let call = if version_ok { "/info" } else { "/version" };
        assert_mentions(
            &name,
            &icc_warning(&r),
            &format!("{}: GET {call}: reading response: timed out", f.api.url),
        );
        // The client kept reading while the bytes came, never to the end.
        assert!(f.api.sent() >= 2, "{name}: trickled {} bytes", f.api.sent());
    }
}

#[test]
fn api_that_sends_a_gibibyte() {
    for (version_ok, chunked, profile) in [
        (false, false, "seed"),
        (true, true, "seed"),
        (true, false, "cis"),
    ] {
        let name = format!(
            "API 1 GiB body (version ok: {version_ok}, chunked: {chunked}, --profile {profile})"
        );
        let f = fake_with_api(Act::Flood { chunked }, version_ok);
        let (_, r) = check_fake(&name, &f, &["--profile", profile]);
        let call = if version_ok { "/info" } else { "/version" };
        assert_mentions(
            &name,
            &icc_warning(&r),
            &format!(
                "{}: GET {call}: response body too large (limit 8 MiB)",
                f.api.url
            ),
        );
        if profile == "cis" {
            // The lists may be larger (32 MiB), not without end.
            assert_mentions(
                &name,
                &r.to_string(),
                "response body too large (limit 32 MiB)",
            );
        }
        // Each call read to its limit (8 or 32 MiB), never the whole GiB.
        let calls = f.api.conns() as u64;
        assert!(
            f.api.sent() >= 8 << 20,
            "{name}: only {} bytes sent",
            f.api.sent()
        );
        assert!(
            f.api.sent() < calls * (MAX_BODY + (4 << 20)),
            "{name}: {} bytes sent over {calls} calls: read past the limit",
            f.api.sent()
        );
    }
}

/// Valid answers just under the byte limits, but dense (`[0,0,0,...]`: two
/// bytes a value, some 50 bytes each once parsed): refused from a count of
/// their values before they are parsed.
#[test]
fn api_that_answers_dense_json() {
    for (values, profile) in [(3_000_000, "seed"), (10_000_000, "cis")] {
        let name = format!("API {values} JSON values (--profile {profile})");
        let f = fake_with_api(Act::Zeros(values), true);
        let (m, r) = check_fake(&name, &f, &["--profile", profile]);
        let info = if profile == "seed" {
            "HTTP 200: the response has more than 300000 JSON values".to_string()
        } else {
            // Beyond the 8 MiB of a single object's answer; the lists may be larger.
            assert_mentions(
                &name,
                &r.to_string(),
                "the response has more than 4000000 JSON values",
            );
            format!(
                "response body too large (Content-Length {}, limit 8 MiB)",
                2 * values + 1
            )
        };
        assert_mentions(
            &name,
            &icc_warning(&r),
            &format!("{}: GET /info: {info}", f.api.url),
        );
        assert!(m.rss_mib() < 80.0, "{name}: {}", m.summary());
    }
}

#[test]
fn api_that_answers_garbage() {
    let f = fake_with_api(Act::Garbage, false);
    let (_, r) = check_fake("API garbage", &f, &[]);
    assert_mentions(
        "API garbage",
        &icc_warning(&r),
        &format!("{}: GET /version: not an HTTP response", f.api.url),
    );
}

#[test]
fn api_that_nests_deeply() {
    // 100000 `[`: beyond serde_json's limit.
    let f = fake_with_api(
        Act::Deep {
            levels: 100_000,
            closed: false,
        },
        true,
    );
    let (_, r) = check_fake("API 100000 [", &f, &[]);
    assert_mentions(
        "API 100000 [",
        &icc_warning(&r),
        &format!(
            "{}: GET /info: invalid JSON in the response: recursion limit exceeded",
            f.api.url
        ),
    );
    // 100 levels: valid JSON, refused, and the snapshot reads back.
    let f = fake_with_api(
        Act::Deep {
            levels: 100,
            closed: true,
        },
        true,
    );
    let (_, r) = check_fake("API 100 levels", &f, &[]);
    assert_mentions(
        "API 100 levels",
        &icc_warning(&r),
        &format!(
            "{}: GET /info: HTTP 200: the response nests deeper than 64 levels",
            f.api.url
        ),
    );
    let snap = f.dir.path().join("snap.json");
    let pid = f.fake.pid.to_string();
    let m = run(
        "API 100 levels collect",
        &[
            "collect",
            "--no-policy",
            "--timeout-ms",
            TIMEOUT_MS,
            "--pid",
            &pid,
            "-o",
            path_str(&snap),
        ],
    );
    assert_eq!(m.code, Some(0), "{}", m.stderr);
    let m = run(
        "API 100 levels check --snapshot",
        &[
            "check",
            "--no-policy",
            "--format",
            "json",
            "--snapshot",
            path_str(&snap),
        ],
    );
    let again = report("API 100 levels check --snapshot", &m, 1);
    // host.dedicated lists the host's other TCP listeners, which the tests
    // running beside this one open and close between the two collections.
    let daemon_results = |r: &Value| -> Vec<Value> {
        r["daemons"][0]["results"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|x| x["rule"] != "host.dedicated")
            .cloned()
            .collect()
    };
    assert_eq!(daemon_results(&again), daemon_results(&r));
    assert!(daemon_results(&r).len() > 5);
}

// ---------------------------------------------------------------------------
// 9. TCP listeners that never finish a TLS handshake
// ---------------------------------------------------------------------------

/// A fake dockerd holding five loopback TCP listeners (`-H tcp://...`,
/// no TLS configured): silent, a TLS record that never completes, garbage,
/// HTTP or TLS one byte every 200 ms. dockhard probes each (plain HTTP, then TLS without
/// a client certificate), every step bounded by `--timeout-ms`: none can
/// decide, so the configuration does (no TLS: exposed, a failure), and the
/// evidence names each address and why its probe could not decide.
#[test]
fn tcp_listeners_that_never_finish_tls() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = put(dir.path(), "daemon.json", b"{}", 0o644);
    let acts = [
        Act::Silent,
        Act::TlsStall,
        Act::Garbage,
        Act::Trickle,
        Act::TlsTrickle,
    ];
    let servers: Vec<Server> = acts.iter().map(|a| Server::tcp(*a, false)).collect();
    let mut args = vec!["--config-file".to_string(), path_str(&cfg).into()];
    for s in &servers {
        args.extend(["-H".to_string(), s.url.clone()]);
    }
    let fds: Vec<RawFd> = servers.iter().map(|s| s.fd).collect();
    let fake = FakeDockerd::start(&args, &fds);
    let none = format!("unix://{}/none.sock", dir.path().display());
    let pid = fake.pid.to_string();
    let m = run(
        "probes of 5 hostile TCP listeners",
        &[
            "check",
            "--no-policy",
            "--format",
            "json",
            "--timeout-ms",
            TIMEOUT_MS,
            "--pid",
            &pid,
            "--host",
            &none,
        ],
    );
    let r = report("probes of 5 hostile TCP listeners", &m, 1);
    let auth = result(&r, "daemon.remote-api-auth");
    assert_eq!(auth["status"], "fail", "{auth:#}");
    let text = auth.to_string();
    for (s, act) in servers.iter().zip(acts) {
        let addr = format!("127.0.0.1:{}", s.port);
        assert_mentions("probes", &auth["message"].to_string(), &addr);
        let probe = auth["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["source"] == "probe" && e["location"] == addr.as_str())
            .unwrap_or_else(|| panic!("no probe evidence for {addr} ({act:?}): {text}"));
        assert_mentions(
            "probes",
            &probe["detail"].to_string(),
            "probe could not decide",
        );
        if act != Act::Garbage {
            assert_mentions("probes", &probe["detail"].to_string(), "timed out");
        }
        // Both probes connected: plain HTTP, then TLS.
        assert_eq!(s.conns(), 2, "{act:?}: connections: {:?}", s.requests());
        assert!(
            s.requests()[0].starts_with("GET /_ping HTTP/1.1"),
            "{act:?}: {:?}",
            s.requests()
        );
    }
    assert_eq!(status(&r, "daemon.remote-api-tls"), "fail");
}

/// `--host` at a loopback TCP port whose TLS never completes, or is garbage:
/// `https://` (any server certificate) and `tcp://` with DOCKER_TLS_VERIFY
/// and a CA (as the docker CLI).
#[test]
fn api_over_tls_that_never_completes() {
    let certs = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/collect/testdata/probe-cert.pem"
        ),
        certs.path().join("ca.pem"),
    )
    .unwrap();
    for (act, scheme, verify) in [
        (Act::Silent, "https", false),
        (Act::TlsStall, "tcp", true),
        (Act::Garbage, "https", false),
        (Act::TlsTrickle, "tcp", true),
    ] {
        let name = format!("--host {scheme}:// TLS {act:?}");
        let dir = tempfile::tempdir().unwrap();
        let cfg = put(dir.path(), "daemon.json", b"{}", 0o644);
        let server = Server::tcp(act, false);
        let fake = FakeDockerd::start(&["--config-file".into(), path_str(&cfg).into()], &[]);
        let host = format!("{scheme}://127.0.0.1:{}", server.port);
        let pid = fake.pid.to_string();
        let mut cmd = dockhard(&[
            "check",
            "--no-policy",
            "--format",
            "json",
            "--timeout-ms",
            TIMEOUT_MS,
            "--pid",
            &pid,
            "--host",
            &host,
        ]);
        if verify {
            cmd.env("DOCKER_TLS_VERIFY", "1")
                .env("DOCKER_CERT_PATH", certs.path());
        }
        let m = run_cmd(&name, cmd);
        let r = report(&name, &m, 1);
        let endpoint = format!("https://127.0.0.1:{}", server.port);
        assert_eq!(r["daemons"][0]["endpoint"], endpoint);
        let w = icc_warning(&r);
        assert_mentions(&name, &w, &format!("{endpoint}: GET /version: "));
        if act == Act::Garbage {
            assert_mentions(&name, &w, "TLS error");
        } else {
            assert_waited(&name, &m);
            assert_mentions(&name, &w, "timed out");
        }
        assert_eq!(server.conns(), 1, "{name}");
    }
}
