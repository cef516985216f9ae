//! The endpoint of `dockhard watch`: `GET /metrics`, `GET /healthz`,
//! `GET /report.json`, anything else 404. A request can only read the last
//! results: nothing it sends makes dockhard audit. Bounded: a request head
//! of at most 8 KiB read within 2 s (a body is never read), a few worker
//! threads, at most [`MAX_PENDING`] connections waiting (more are closed at
//! once).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Largest request head read.
pub const MAX_REQUEST_HEAD: usize = 8 << 10;
/// Time a client has to send its request head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections accepted but not yet served, beyond which new ones are closed.
pub const MAX_PENDING: usize = 64;
/// Threads answering requests.
const WORKERS: usize = 4;

/// What the endpoint serves (replaced after each audit).
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// Shared, so that a request copies a pointer, not the text.
    pub metrics: Arc<str>,
    pub report_json: Option<Arc<str>>,
    /// The first audit finished and the last one could run.
    pub healthy: bool,
    /// Why not healthy.
    pub health_note: String,
}

/// The response to a request head: status, content type, body.
pub fn respond(head: &[u8], p: &Published) -> (u16, &'static str, Arc<str>) {
    let line = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end().split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    if method != "GET" && method != "HEAD" {
        return (405, "text/plain; charset=utf-8", Arc::from("only GET\n"));
    }
    match path {
        "/metrics" => (
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            p.metrics.clone(),
        ),
        "/healthz" if p.healthy => (200, "text/plain; charset=utf-8", Arc::from("ok\n")),
        "/healthz" => (
            503,
            "text/plain; charset=utf-8",
            Arc::from(format!("{}\n", p.health_note)),
        ),
        "/report.json" => match &p.report_json {
            Some(j) => (200, "application/json", j.clone()),
            None => (
                503,
                "text/plain; charset=utf-8",
                Arc::from(if p.health_note.is_empty() {
                    "no audit has finished yet\n".to_string()
                } else {
                    format!("{}\n", p.health_note)
                }),
            ),
        },
        _ => (404, "text/plain; charset=utf-8", Arc::from("not found\n")),
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

fn serve_one(mut s: TcpStream, published: &Mutex<Published>) {
    let _ = s.set_read_timeout(Some(Duration::from_millis(250)));
    let _ = s.set_write_timeout(Some(REQUEST_TIMEOUT));
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let complete = loop {
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            break true;
        }
        if head.len() > MAX_REQUEST_HEAD || Instant::now() >= deadline {
            break false;
        }
        match s.read(&mut buf) {
            Ok(0) => break false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break false,
        }
    };
    let (code, ctype, body) = if complete {
        let p = published.lock().map(|p| p.clone()).unwrap_or_default();
        respond(&head, &p)
    } else if head.len() > MAX_REQUEST_HEAD {
        (
            431,
            "text/plain; charset=utf-8",
            "request head too large\n".into(),
        )
    } else {
        return;
    };
    let head_only = head.starts_with(b"HEAD ");
    let mut out = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reason(code),
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    let _ = s.write_all(&out);
}

/// The bound listener and its threads; stops when `stop` is set.
pub struct Server {
    pub addr: SocketAddr,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(
        listener: TcpListener,
        published: Arc<Mutex<Published>>,
        stop: Arc<AtomicBool>,
    ) -> Result<Server, String> {
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("{addr}: {e}"))?;
        let (tx, rx) = sync_channel::<TcpStream>(MAX_PENDING);
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = Vec::new();
        for _ in 0..WORKERS {
            let rx = rx.clone();
            let published = published.clone();
            let stop = stop.clone();
            threads.push(std::thread::spawn(move || {
                loop {
                    let next = rx
                        .lock()
                        .ok()
                        .and_then(|r| r.recv_timeout(Duration::from_millis(200)).ok());
                    match next {
                        Some(s) => serve_one(s, &published),
                        None if stop.load(Ordering::Relaxed) => break,
                        None => {}
                    }
                }
            }));
        }
        let accept_stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            accept_loop(listener, tx, &accept_stop)
        }));
        Ok(Server { addr, threads })
    }

    /// Wait for the threads (after `stop` was set).
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, tx: SyncSender<TcpStream>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((s, _)) => {
                let _ = s.set_nonblocking(false);
                match tx.try_send(s) {
                    Ok(()) => {}
                    // Too many waiting: closed (dropped) at once.
                    Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let p = Published {
            metrics: Arc::from("m 1\n"),
            report_json: None,
            healthy: false,
            health_note: "the first audit has not finished".into(),
        };
        assert_eq!(respond(b"GET /metrics HTTP/1.1\r\n\r\n", &p).0, 200);
        assert_eq!(respond(b"GET /healthz HTTP/1.1\r\n\r\n", &p).0, 503);
        assert_eq!(respond(b"GET /report.json HTTP/1.1\r\n\r\n", &p).0, 503);
        assert_eq!(respond(b"GET /other HTTP/1.1\r\n\r\n", &p).0, 404);
        assert_eq!(respond(b"POST /metrics HTTP/1.1\r\n\r\n", &p).0, 405);
        assert_eq!(respond(b"\xff\xfe", &p).0, 405);
        let p = Published {
            healthy: true,
            report_json: Some(Arc::from("{}")),
            ..p
        };
        assert_eq!(respond(b"GET /healthz HTTP/1.1\r\n\r\n", &p).0, 200);
        assert_eq!(
            &*respond(b"GET /report.json?x=1 HTTP/1.1\r\n\r\n", &p).2,
            "{}"
        );
    }
}
