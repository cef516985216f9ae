//! The endpoint of `dockhard watch`: `GET /metrics`, `GET /healthz`,
//! `GET /report.json`, anything else 404. A request can only read the last
//! results: nothing it sends makes dockhard audit. Bounded: one thread
//! serves every connection with poll(2), none of them can hold it; at most
//! [`MAX_PENDING`] connections are open at once (a new one closes the one
//! that has waited longest for its request head, see [`victim`]); a request head of at most
//! [`MAX_REQUEST_HEAD`] bytes, whole within [`REQUEST_TIMEOUT`] of the
//! connection (however slowly it trickles); a body is never read; an
//! answer written within [`WRITE_TIMEOUT`].

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Largest request head read.
pub const MAX_REQUEST_HEAD: usize = 8 << 10;
/// Time a client has to send its request head, from its connection.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections open at once; a new one beyond that closes another (see
/// [`victim`]: first the one waiting longest for its head).
pub const MAX_PENDING: usize = 64;
/// Time an answer may take to be written (a client that does not read).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// After an answer, what the client still sends (a body, pipelined
/// requests) is read and dropped, at most this long and this much, before
/// the connection is closed: closing with unread data would reset the
/// connection, and the client could lose the answer.
const LINGER: Duration = Duration::from_millis(500);
const LINGER_BYTES: usize = 64 << 10;
/// The longest poll(2) (the stop flag is looked at between two).
const POLL: Duration = Duration::from_millis(100);
/// After an accept error (out of descriptors), the listener rests this long.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

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

/// Where a connection is.
enum Phase {
    /// Reading its request head.
    Head(Vec<u8>),
    /// Writing the answer: its head, then `body` (unless `head_only`).
    Answer {
        head: Vec<u8>,
        body: Arc<str>,
        head_only: bool,
        written: usize,
    },
    /// Answered; dropping what the client still sends.
    Linger(usize),
}

struct Conn {
    s: TcpStream,
    accepted: Instant,
    deadline: Instant,
    phase: Phase,
}

/// The head is complete: an empty line (CRLF or LF) ends it.
fn head_complete(head: &[u8]) -> bool {
    head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n")
}

/// The answer to a complete head, or to one over [`MAX_REQUEST_HEAD`].
fn answer(head: &[u8], published: &Mutex<Published>) -> Phase {
    let (code, ctype, body) = if head.len() > MAX_REQUEST_HEAD {
        (
            431,
            "text/plain; charset=utf-8",
            Arc::from("request head too large\n"),
        )
    } else {
        let p = published.lock().map(|p| p.clone()).unwrap_or_default();
        respond(head, &p)
    };
    let out = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reason(code),
        body.len()
    )
    .into_bytes();
    Phase::Answer {
        head: out,
        body,
        head_only: head.starts_with(b"HEAD "),
        written: 0,
    }
}

/// Go as far as the connection lets without blocking; false: close it.
fn step(c: &mut Conn, published: &Mutex<Published>, now: Instant) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match &mut c.phase {
            Phase::Head(head) => {
                // Never more than the bound and one byte.
                let room = (MAX_REQUEST_HEAD + 1).saturating_sub(head.len()).max(1);
                let want = room.min(buf.len());
                match c.s.read(&mut buf[..want]) {
                    Ok(0) => return false,
                    Ok(n) => {
                        head.extend_from_slice(&buf[..n]);
                        if head_complete(head) || head.len() > MAX_REQUEST_HEAD {
                            c.phase = answer(head, published);
                            c.deadline = now + WRITE_TIMEOUT;
                        }
                    }
                    Err(e) => return would_block(&e),
                }
            }
            Phase::Answer {
                head,
                body,
                head_only,
                written,
            } => {
                let total = head.len() + if *head_only { 0 } else { body.len() };
                if *written >= total {
                    let _ = c.s.shutdown(Shutdown::Write);
                    c.phase = Phase::Linger(0);
                    c.deadline = now + LINGER;
                    continue;
                }
                let rest: &[u8] = match head.get(*written..) {
                    Some(h) if !h.is_empty() => h,
                    _ => body
                        .as_bytes()
                        .get(*written - head.len()..)
                        .unwrap_or_default(),
                };
                match c.s.write(rest) {
                    Ok(0) => return false,
                    Ok(n) => *written += n,
                    Err(e) => return would_block(&e),
                }
            }
            Phase::Linger(dropped) => match c.s.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => {
                    *dropped += n;
                    if *dropped > LINGER_BYTES {
                        return false;
                    }
                }
                Err(e) => return would_block(&e),
            },
        }
    }
}

/// The connection closed to make room for a new one: the oldest of those
/// still sending their head, else of those answered (lingering), else of
/// those being answered (clients that do not read). A new connection is
/// never refused: to keep scrapers out, a client must open connections
/// faster than a scraper sends its request.
fn victim(conns: &[Conn]) -> Option<usize> {
    conns
        .iter()
        .enumerate()
        .min_by_key(|(_, c)| {
            let rank = match c.phase {
                Phase::Head(_) => 0,
                Phase::Linger(_) => 1,
                Phase::Answer { .. } => 2,
            };
            (rank, c.accepted)
        })
        .map(|(i, _)| i)
}

/// Keep the connection: the error only says "not now".
fn would_block(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
    )
}

/// The bound listener and its thread; stops when `stop` is set.
pub struct Server {
    pub addr: SocketAddr,
    thread: std::thread::JoinHandle<()>,
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
        let thread = std::thread::spawn(move || serve(&listener, &published, &stop));
        Ok(Server { addr, thread })
    }

    /// Wait for the thread (after `stop` was set).
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

fn serve(listener: &TcpListener, published: &Mutex<Published>, stop: &AtomicBool) {
    let mut conns: Vec<Conn> = Vec::new();
    let mut accept_after = Instant::now();
    let mut fds: Vec<libc::pollfd> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let listening = now >= accept_after;
        fds.clear();
        fds.push(libc::pollfd {
            fd: if listening { listener.as_raw_fd() } else { -1 },
            events: libc::POLLIN,
            revents: 0,
        });
        for c in &conns {
            let events = match c.phase {
                Phase::Answer { .. } => libc::POLLOUT,
                _ => libc::POLLIN,
            };
            fds.push(libc::pollfd {
                fd: c.s.as_raw_fd(),
                events,
                revents: 0,
            });
        }
        let next = conns
            .iter()
            .map(|c| c.deadline)
            .chain((!listening).then_some(accept_after))
            .min()
            .map_or(POLL, |d| d.saturating_duration_since(now))
            .min(POLL);
        // Round up: a deadline a few microseconds away is not a busy loop.
        let ms = i32::try_from(next.as_millis()).unwrap_or(0) + 1;
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd entries.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            // EINTR; anything else (ENOMEM) must not spin either.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        let now = Instant::now();
        // The open connections first: a request that arrived is answered
        // before new connections can push it out.
        let mut i = 0;
        conns.retain_mut(|c| {
            let revents = fds.get(i + 1).map_or(0, |f| f.revents);
            i += 1;
            if revents != 0 && !step(c, published, now) {
                return false;
            }
            now < c.deadline
        });
        if listening && fds[0].revents != 0 {
            for _ in 0..MAX_PENDING {
                match listener.accept() {
                    Ok((s, _)) => {
                        if s.set_nonblocking(true).is_err() {
                            continue;
                        }
                        if conns.len() >= MAX_PENDING
                            && let Some(i) = victim(&conns)
                        {
                            conns.swap_remove(i);
                        }
                        let mut c = Conn {
                            s,
                            accepted: now,
                            deadline: now + REQUEST_TIMEOUT,
                            phase: Phase::Head(Vec::new()),
                        };
                        if step(&mut c, published, now) {
                            conns.push(c);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        accept_after = now + ACCEPT_PAUSE;
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_victim_is_the_oldest_head_then_linger_then_answer() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t0 = Instant::now();
        let mut clients = Vec::new();
        let mut conn = |phase: Phase, age_ms: u64| {
            clients.push(TcpStream::connect(addr).unwrap());
            Conn {
                s: l.accept().unwrap().0,
                accepted: t0 - Duration::from_millis(age_ms),
                deadline: t0,
                phase,
            }
        };
        let answer = || Phase::Answer {
            head: Vec::new(),
            body: Arc::from(""),
            head_only: false,
            written: 0,
        };
        let mut conns = vec![
            conn(answer(), 900),
            conn(Phase::Linger(0), 800),
            conn(Phase::Head(Vec::new()), 100),
            conn(Phase::Head(Vec::new()), 300),
            conn(Phase::Linger(0), 50),
        ];
        let mut order = Vec::new();
        while let Some(i) = victim(&conns) {
            order.push(conns.swap_remove(i).accepted);
        }
        let ms = |d: u64| t0 - Duration::from_millis(d);
        assert_eq!(order, vec![ms(300), ms(100), ms(800), ms(50), ms(900)]);
    }

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
