//! A `dockhard watch` process for the live tests (tests/live/watch.rs,
//! tests/live/watch_hostile.rs): started on an ephemeral loopback port
//! (read from its log), its endpoints fetched, waited on, stopped by pid.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `GET path` on 127.0.0.1:`port` (one connection, closed after): the
/// status and the body.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// The value of the series `series` (name and labels as written) in a
/// metrics text.
pub fn metric_value(m: &str, series: &str) -> Option<f64> {
    m.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

pub struct Watch {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
    /// How long a wait may take before the test fails.
    pub patience: Duration,
}

impl Watch {
    /// `dockhard watch --no-policy --listen 127.0.0.1:0 ARGS`, its standard
    /// error to `log`; returns once it serves.
    pub fn start(args: &[&str], log: PathBuf, patience: Duration) -> Watch {
        let logf = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(super::dockhard_bin())
            .args(["watch", "--no-policy", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .expect("cannot start dockhard watch");
        let t0 = Instant::now();
        let port = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(p) = text
                .split("serving http://127.0.0.1:")
                .nth(1)
                .and_then(|r| r.split('/').next())
                .and_then(|p| p.parse().ok())
            {
                break p;
            }
            if let Ok(Some(st)) = child.try_wait() {
                panic!("watch ended ({st}):\n{text}");
            }
            if t0.elapsed() > patience {
                let _ = child.kill();
                let _ = child.wait();
                panic!("watch does not serve:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Watch {
            child,
            port,
            log,
            patience,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.port, path)
    }

    pub fn metrics(&self) -> String {
        match self.get("/metrics") {
            Some((200, body)) => body,
            other => panic!("GET /metrics: {other:?}\n{}", self.log()),
        }
    }

    /// Wait until `pred` holds for /metrics (polled every `poll`); the
    /// time it took.
    pub fn until_every(&self, what: &str, poll: Duration, pred: impl Fn(&str) -> bool) -> Duration {
        let t0 = Instant::now();
        loop {
            let m = self.metrics();
            if pred(&m) {
                return t0.elapsed();
            }
            assert!(
                t0.elapsed() < self.patience,
                "{what}: not in /metrics within {:?}\n--- metrics ---\n{m}\n--- log ---\n{}",
                self.patience,
                self.log()
            );
            std::thread::sleep(poll);
        }
    }

    /// Wait until /healthz answers `code`; the time it took.
    pub fn until_healthz(&self, code: u16) -> Duration {
        let t0 = Instant::now();
        loop {
            if self.get("/healthz").is_some_and(|r| r.0 == code) {
                return t0.elapsed();
            }
            assert!(
                t0.elapsed() < self.patience,
                "/healthz not {code}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the pid of our own child.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
