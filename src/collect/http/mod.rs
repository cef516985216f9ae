//! A small blocking HTTP/1.1 client for the Engine API and the probes.
//!
//! GET only, `Host: docker`, `Connection: close`. Over a unix socket or TCP,
//! optionally TLS (rustls, ring provider). Every call has a total deadline
//! (each read and write gets the time that remains), a cap on the header
//! size and on the body size, and reports garbage as an error string.
//!
//! Endpoints (`--host`), like the docker CLI:
//! - `unix:///path`: the unix socket.
//! - `tcp://h:p`: plain HTTP, unless `DOCKER_TLS_VERIFY` is set (non-empty):
//!   then TLS, verifying the server against `ca.pem` and presenting
//!   `cert.pem`/`key.pem` from `DOCKER_CERT_PATH` (default `~/.docker`).
//!   Port defaults: 2375 plain, 2376 TLS.
//! - `https://h:p`: TLS; the server is verified only when
//!   `DOCKER_TLS_VERIFY` is set (otherwise any certificate is accepted, as
//!   `docker --tls`); the client certificate is presented when the files exist.
//! - `http://h:p`: plain HTTP.
//!
//! Here: the client (deadlines, `get`, `exchange`); `endpoint` (`--host`
//! URLs), `tls` (client configurations), `wire` (the request and the
//! response parser, the fuzzed part).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

mod endpoint;
mod tls;
mod wire;
pub use endpoint::{Endpoint, TlsSettings, parse_endpoint};
pub use tls::{client_config, probe_config, tls_error_text, tls_stream};
pub use wire::{read_response, request};

/// Largest response body accepted (32 MiB).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Largest response header accepted (64 KiB).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Size limits of one response.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_header: usize,
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header: MAX_HEADER_BYTES,
            max_body: MAX_BODY_BYTES,
        }
    }
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A byte stream whose socket timeouts can be set.
pub trait Socket: Read + Write {
    fn set_timeouts(&self, t: Duration) -> io::Result<()>;
}

impl Socket for TcpStream {
    fn set_timeouts(&self, t: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(t))?;
        self.set_write_timeout(Some(t))
    }
}

impl Socket for UnixStream {
    fn set_timeouts(&self, t: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(t))?;
        self.set_write_timeout(Some(t))
    }
}

/// A stream on which every read and write gets only the time left before
/// the deadline, so a peer trickling bytes cannot extend a call.
pub struct Deadlined<S> {
    inner: S,
    deadline: Instant,
}

impl<S: Socket> Deadlined<S> {
    pub fn new(inner: S, deadline: Instant) -> Self {
        Deadlined { inner, deadline }
    }

    fn arm(&self) -> io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline reached"));
        }
        self.inner.set_timeouts(left)
    }
}

impl<S: Socket> Read for Deadlined<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm()?;
        self.inner.read(buf)
    }
}

impl<S: Socket> Write for Deadlined<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm()?;
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The text of an I/O error in an HTTP exchange.
pub fn io_text(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timed out".to_string(),
        io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        io::ErrorKind::ConnectionReset => "connection reset by peer".to_string(),
        io::ErrorKind::NotFound => "socket not found".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(t) => tls_error_text(t),
            None => e.to_string(),
        },
    }
}

/// Open a connection to `host:port` before `deadline`.
pub fn connect_tcp(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, String> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let mut last = format!("cannot resolve {host}: no address");
    for a in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("timed out".to_string());
        }
        match TcpStream::connect_timeout(&a, left) {
            Ok(s) => return Ok(s),
            Err(e) => last = io_text(&e),
        }
    }
    Err(last)
}

/// `GET path` on an endpoint, within `timeout` in total.
pub fn get(ep: &Endpoint, path: &str, timeout: Duration) -> Result<Response, String> {
    get_with_limits(ep, path, timeout, Limits::default())
}

pub fn get_with_limits(
    ep: &Endpoint,
    path: &str,
    timeout: Duration,
    limits: Limits,
) -> Result<Response, String> {
    let deadline = Instant::now() + timeout;
    match ep {
        Endpoint::Unix(p) => {
            // The caller names the endpoint (as for TCP).
            let s = UnixStream::connect(p).map_err(|e| io_text(&e))?;
            exchange(&mut Deadlined::new(s, deadline), path, limits)
        }
        Endpoint::Tcp { host, port, tls } => {
            let s = connect_tcp(host, *port, deadline)?;
            let s = Deadlined::new(s, deadline);
            match tls {
                None => exchange(&mut { s }, path, limits),
                Some(t) => {
                    let config = client_config(t)?;
                    let mut tls = tls_stream(s, host, config)?;
                    exchange(&mut tls, path, limits)
                }
            }
        }
    }
}

/// Send `GET path` on an open stream and read the response.
pub fn exchange<S: Read + Write>(
    s: &mut S,
    path: &str,
    limits: Limits,
) -> Result<Response, String> {
    let req = request(path)?;
    s.write_all(&req)
        .and_then(|_| s.flush())
        .map_err(|e| format!("sending request: {}", io_text(&e)))?;
    read_response(s, limits)
}

#[cfg(test)]
mod tests;
