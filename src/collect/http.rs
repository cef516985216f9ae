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

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp {
        host: String,
        port: u16,
        tls: Option<TlsSettings>,
    },
}

/// TLS client settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// Verify the server against this CA file (PEM); `None`: accept any.
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key files (PEM).
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

impl Endpoint {
    /// The URL form recorded in the snapshot.
    pub fn url(&self) -> String {
        match self {
            Endpoint::Unix(p) => format!("unix://{}", p.display()),
            Endpoint::Tcp { host, port, tls } => {
                let scheme = if tls.is_some() { "https" } else { "tcp" };
                if host.contains(':') {
                    format!("{scheme}://[{host}]:{port}")
                } else {
                    format!("{scheme}://{host}:{port}")
                }
            }
        }
    }
}

/// Parse an endpoint URL. `env` looks up the collecting process's
/// environment (`DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`, `HOME`).
pub fn parse_endpoint(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Endpoint, String> {
    let set = |k: &str| env(k).is_some_and(|v| !v.is_empty());
    if let Some(path) = url.strip_prefix("unix://") {
        if path.is_empty() {
            return Ok(Endpoint::Unix(PathBuf::from("/var/run/docker.sock")));
        }
        return Ok(Endpoint::Unix(PathBuf::from(path)));
    }
    let (rest, tls) = if let Some(r) = url.strip_prefix("tcp://") {
        (r, set("DOCKER_TLS_VERIFY"))
    } else if let Some(r) = url.strip_prefix("https://") {
        (r, true)
    } else if let Some(r) = url.strip_prefix("http://") {
        (r, false)
    } else if url.starts_with('/') {
        return Ok(Endpoint::Unix(PathBuf::from(url)));
    } else {
        return Err(format!(
            "unsupported endpoint {url:?} (use unix:///path, tcp://host:port or https://host:port)"
        ));
    };
    let rest = rest.trim_end_matches('/');
    let default_port = if tls { 2376 } else { 2375 };
    let (host, port) = split_host_port(rest, default_port)
        .ok_or_else(|| format!("invalid endpoint {url:?}: expected host:port"))?;
    let tls = tls.then(|| {
        let dir = env("DOCKER_CERT_PATH")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|h| Path::new(&h).join(".docker")))
            .unwrap_or_else(|| PathBuf::from(".docker"));
        TlsSettings {
            ca_file: set("DOCKER_TLS_VERIFY").then(|| dir.join("ca.pem")),
            client_cert: Some((dir.join("cert.pem"), dir.join("key.pem"))),
        }
    });
    Ok(Endpoint::Tcp { host, port, tls })
}

fn split_host_port(s: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(r) = s.strip_prefix('[') {
        let (h, after) = r.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((h.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            let h = if h.is_empty() { "127.0.0.1" } else { h };
            Some((h.to_string(), p.parse().ok()?))
        }
        Some(_) => None,
        None if s.is_empty() => None,
        None => Some((s.to_string(), default_port)),
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

/// Human text of a TLS error (`TLS alert: bad certificate`).
pub fn tls_error_text(e: &rustls::Error) -> String {
    match e {
        rustls::Error::AlertReceived(a) => format!("TLS alert: {}", alert_text(*a)),
        other => format!("TLS error: {other}"),
    }
}

fn alert_text(a: rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    match a {
        A::BadCertificate => "bad certificate".into(),
        A::CertificateRequired => "certificate required".into(),
        A::HandshakeFailure => "handshake failure".into(),
        A::UnknownCA => "unknown certificate authority".into(),
        A::CertificateUnknown => "certificate unknown".into(),
        A::ProtocolVersion => "protocol version".into(),
        A::InternalError => "internal error".into(),
        A::AccessDenied => "access denied".into(),
        other => format!("{other:?}"),
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

/// Wrap a stream in a TLS client session (handshake happens on first I/O).
pub fn tls_stream<S: Read + Write>(
    s: S,
    host: &str,
    config: Arc<ClientConfig>,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, S>, String> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| format!("invalid TLS server name {host:?}: {e}"))?;
    let conn = rustls::ClientConnection::new(config, name).map_err(|e| tls_error_text(&e))?;
    Ok(rustls::StreamOwned::new(conn, s))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS client configuration from settings.
pub fn client_config(t: &TlsSettings) -> Result<Arc<ClientConfig>, String> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error_text(&e))?;
    let builder = match &t.ca_file {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
            for c in CertificateDer::pem_slice_iter(&pem) {
                let c = c.map_err(|e| format!("{}: {e}", ca.display()))?;
                roots
                    .add(c)
                    .map_err(|e| format!("{}: {}", ca.display(), tls_error_text(&e)))?;
            }
            builder.with_root_certificates(roots)
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider()))),
    };
    let config = match &t.client_cert {
        Some((cert, key)) if cert.exists() && key.exists() => {
            let cpem = std::fs::read(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
            let certs = CertificateDer::pem_slice_iter(&cpem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{}: {e}", cert.display()))?;
            let kpem = std::fs::read(key).map_err(|e| format!("{}: {e}", key.display()))?;
            let key_der = PrivateKeyDer::from_pem_slice(&kpem)
                .map_err(|e| format!("{}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(certs, key_der)
                .map_err(|e| tls_error_text(&e))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// A TLS configuration that sends no client certificate and accepts any
/// server certificate: for probing what a stranger can do, not for trust.
pub fn probe_config() -> Result<Arc<ClientConfig>, String> {
    client_config(&TlsSettings {
        ca_file: None,
        client_cert: None,
    })
}

/// Accepts every server certificate (the handshake signature is still
/// checked against the presented certificate).
#[derive(Debug)]
struct AcceptAnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The request bytes of `GET path`.
pub fn request(path: &str) -> Result<Vec<u8>, String> {
    if !path.starts_with('/') || !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("invalid request path {path:?}"));
    }
    Ok(format!(
        "GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: dockhard/{}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes())
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

/// A reader with a buffer we can inspect, for header and chunk parsing.
struct Buffered<'a, R> {
    inner: &'a mut R,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl<R: Read> Buffered<'_, R> {
    fn avail(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Read more bytes; false at end of stream.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = loop {
            match self.inner.read(&mut chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A peer closing a TLS session without close_notify: treat as EOF.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break 0,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        self.buf
            .extend_from_slice(chunk.get(..n).unwrap_or_default());
        Ok(true)
    }

    fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.buf.len());
    }

    /// A line (without CRLF / LF) of at most `max` bytes.
    fn line(&mut self, max: usize, what: &str) -> Result<Vec<u8>, String> {
        loop {
            if let Some(i) = self.avail().iter().position(|b| *b == b'\n') {
                let mut line = self.avail().get(..i).unwrap_or_default().to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.consume(i + 1);
                return Ok(line);
            }
            if self.avail().len() > max {
                return Err(format!("{what} too long (limit {max} bytes)"));
            }
            if !self
                .fill()
                .map_err(|e| format!("reading {what}: {}", io_text(&e)))?
            {
                return Err(format!("connection closed in {what}"));
            }
        }
    }

    /// Append exactly `n` bytes to `out`.
    fn take_into(&mut self, mut n: usize, out: &mut Vec<u8>, what: &str) -> Result<(), String> {
        while n > 0 {
            if self.avail().is_empty()
                && !self
                    .fill()
                    .map_err(|e| format!("reading {what}: {}", io_text(&e)))?
            {
                return Err(format!("connection closed in {what} ({n} bytes missing)"));
            }
            let k = n.min(self.avail().len());
            out.extend_from_slice(self.avail().get(..k).unwrap_or_default());
            self.consume(k);
            n -= k;
        }
        Ok(())
    }
}

fn mib(n: usize) -> String {
    if n % (1024 * 1024) == 0 {
        format!("{} MiB", n / (1024 * 1024))
    } else {
        format!("{n} bytes")
    }
}

/// Read one HTTP/1.x response (skipping 1xx interim responses).
pub fn read_response<R: Read>(r: &mut R, limits: Limits) -> Result<Response, String> {
    let mut b = Buffered {
        inner: r,
        buf: Vec::new(),
        pos: 0,
        eof: false,
    };
    for _ in 0..8 {
        let (status, reason, headers) = read_head(&mut b, limits)?;
        if (100..200).contains(&status) {
            continue;
        }
        let body = read_body(&mut b, &headers, status, limits)?;
        return Ok(Response {
            status,
            reason,
            headers,
            body,
        });
    }
    Err("too many interim (1xx) responses".to_string())
}

type Head = (u16, String, Vec<(String, String)>);

fn read_head<R: Read>(b: &mut Buffered<'_, R>, limits: Limits) -> Result<Head, String> {
    loop {
        let mut hdrs = [httparse::EMPTY_HEADER; 100];
        let mut resp = httparse::Response::new(&mut hdrs);
        let avail = b.avail();
        match resp.parse(avail) {
            Ok(httparse::Status::Complete(n)) => {
                let status = resp.code.unwrap_or(0);
                let reason = resp.reason.unwrap_or("").to_string();
                let headers = resp
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                b.consume(n);
                return Ok((status, reason, headers));
            }
            Ok(httparse::Status::Partial) => {
                if avail.len() > limits.max_header {
                    return Err(format!(
                        "response header too large (limit {})",
                        mib_or_kib(limits.max_header)
                    ));
                }
                let empty = avail.is_empty();
                if !b
                    .fill()
                    .map_err(|e| format!("reading response: {}", io_text(&e)))?
                {
                    return Err(if empty {
                        "connection closed without a response".to_string()
                    } else {
                        "connection closed in the response header".to_string()
                    });
                }
            }
            Err(e) => return Err(format!("not an HTTP response ({e})")),
        }
    }
}

fn mib_or_kib(n: usize) -> String {
    if n % 1024 == 0 && n % (1024 * 1024) != 0 {
        format!("{} KiB", n / 1024)
    } else {
        mib(n)
    }
}

fn read_body<R: Read>(
    b: &mut Buffered<'_, R>,
    headers: &[(String, String)],
    status: u16,
    limits: Limits,
) -> Result<Vec<u8>, String> {
    if status == 204 || status == 304 {
        return Ok(Vec::new());
    }
    let too_large = || format!("response body too large (limit {})", mib(limits.max_body));
    let chunked = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"))
        .any(|(_, v)| v.to_ascii_lowercase().contains("chunked"));
    let mut body = Vec::new();
    if chunked {
        loop {
            let line = b.line(4096, "chunk size line")?;
            let line = String::from_utf8_lossy(&line);
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| format!("invalid chunk size {size_text:?}"))?;
            if size == 0 {
                // Trailers, up to an empty line (or the end of the stream).
                for _ in 0..100 {
                    match b.line(limits.max_header, "chunk trailer") {
                        Ok(l) if l.is_empty() => return Ok(body),
                        Ok(_) => {}
                        Err(_) => return Ok(body),
                    }
                }
                return Ok(body);
            }
            if body.len().saturating_add(size) > limits.max_body {
                return Err(too_large());
            }
            b.take_into(size, &mut body, "chunked body")?;
            let end = b.line(2, "chunk end")?;
            if !end.is_empty() {
                return Err("malformed chunk (no CRLF after the data)".to_string());
            }
        }
    }
    let lengths: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.trim())
        .collect();
    if let Some(first) = lengths.first() {
        if lengths.iter().any(|l| l != first) {
            return Err("conflicting Content-Length headers".to_string());
        }
        let n: u64 = first
            .parse()
            .map_err(|_| format!("invalid Content-Length {first:?}"))?;
        let n = usize::try_from(n).map_err(|_| too_large())?;
        if n > limits.max_body {
            return Err(format!(
                "response body too large (Content-Length {n}, limit {})",
                mib(limits.max_body)
            ));
        }
        b.take_into(n, &mut body, "response body")?;
        return Ok(body);
    }
    // No length: the body runs to the end of the connection.
    loop {
        body.extend_from_slice(b.avail());
        let n = b.avail().len();
        b.consume(n);
        if body.len() > limits.max_body {
            return Err(too_large());
        }
        if !b
            .fill()
            .map_err(|e| format!("reading response body: {}", io_text(&e)))?
        {
            return Ok(body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::os::unix::net::UnixListener;
    use std::thread;

    /// A fake server on loopback answering one connection with `f`.
    fn serve<F>(f: F) -> (u16, thread::JoinHandle<()>)
    where
        F: FnOnce(TcpStream) + Send + 'static,
    {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = thread::spawn(move || {
            if let Ok((s, _)) = l.accept() {
                f(s)
            }
        });
        (port, h)
    }

    fn read_request(s: &mut TcpStream) -> String {
        let mut buf = Vec::new();
        let mut b = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            match s.read(&mut b) {
                Ok(1) => buf.push(b[0]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    fn tcp(port: u16) -> Endpoint {
        Endpoint::Tcp {
            host: "127.0.0.1".into(),
            port,
            tls: None,
        }
    }

    #[test]
    fn content_length_body_and_request_format() {
        let (port, h) = serve(|mut s| {
            let req = read_request(&mut s);
            assert!(req.starts_with("GET /version HTTP/1.1\r\n"), "{req}");
            assert!(req.contains("\r\nHost: docker\r\n"));
            assert!(req.contains("\r\nConnection: close\r\n"));
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"Version\":\"1.0\"}trailing-garbage").unwrap();
        });
        let r = get(&tcp(port), "/version", Duration::from_secs(5)).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"{\"Version\":\"1.0\"}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        h.join().unwrap();
    }

    #[test]
    fn chunked_body() {
        let (port, h) = serve(|mut s| {
            read_request(&mut s);
            s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-T: 1\r\n\r\n").unwrap();
        });
        let r = get(&tcp(port), "/info", Duration::from_secs(5)).unwrap();
        assert_eq!(r.body, b"hello, world");
        h.join().unwrap();
    }

    #[test]
    fn body_until_close_and_interim() {
        let (port, h) = serve(|mut s| {
            read_request(&mut s);
            s.write_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n").unwrap();
        });
        let r = get(&tcp(port), "/_ping", Duration::from_secs(5)).unwrap();
        assert_eq!(r.status, 400);
        assert_eq!(r.body, b"Client sent an HTTP request to an HTTPS server.\n");
        h.join().unwrap();
    }

    #[test]
    fn garbage_is_an_error() {
        let (port, h) = serve(|mut s| {
            read_request(&mut s);
            s.write_all(b"\x16\x03\x01\x00\x02\x02\x28garbage garbage\r\n\r\n")
                .unwrap();
        });
        let e = get(&tcp(port), "/_ping", Duration::from_secs(5)).unwrap_err();
        assert!(e.starts_with("not an HTTP response"), "{e}");
        h.join().unwrap();
    }

    #[test]
    fn bad_chunk_size_is_an_error() {
        let (port, h) = serve(|mut s| {
            read_request(&mut s);
            s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
                .unwrap();
        });
        let e = get(&tcp(port), "/", Duration::from_secs(5)).unwrap_err();
        assert_eq!(e, "invalid chunk size \"zz\"");
        h.join().unwrap();
    }

    #[test]
    fn closed_without_answer() {
        let (port, h) = serve(|mut s| {
            read_request(&mut s);
        });
        let e = get(&tcp(port), "/", Duration::from_secs(5)).unwrap_err();
        assert_eq!(e, "connection closed without a response");
        h.join().unwrap();
    }

    #[test]
    fn silent_server_times_out() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (port, h) = serve(move |mut s| {
            read_request(&mut s);
            let _ = rx.recv(); // hold the connection open, say nothing
        });
        let e = get(&tcp(port), "/", Duration::from_millis(300)).unwrap_err();
        assert_eq!(e, "reading response: timed out");
        drop(tx);
        h.join().unwrap();
    }

    #[test]
    fn slow_trickle_is_bounded_by_the_total_deadline() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (port, h) = serve(move |mut s| {
            read_request(&mut s);
            // One byte every 50 ms, forever (until the client gives up).
            let msg = b"HTTP/1.1 200 OK\r\nX-Slow: ";
            let _ = s.write_all(msg);
            loop {
                if s.write_all(b"a").is_err() || rx.try_recv().is_ok() {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
        });
        let start = Instant::now();
        let e = get(&tcp(port), "/", Duration::from_millis(500)).unwrap_err();
        // Each read gets only the time left: the whole call ends near the
        // deadline, even though every single byte came quickly.
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert!(e.ends_with("timed out"), "{e}");
        let _ = tx.send(());
        h.join().unwrap();
    }

    #[test]
    fn huge_body_is_cut_at_the_cap() {
        let limits = Limits {
            max_header: 1024,
            max_body: 64 * 1024,
        };
        // Without a length: streamed until the cap.
        let (port, h) = serve(|mut s| {
            read_request(&mut s);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
            let chunk = [b'x'; 8192];
            for _ in 0..1000 {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        let e = get_with_limits(&tcp(port), "/", Duration::from_secs(5), limits).unwrap_err();
        assert_eq!(e, "response body too large (limit 65536 bytes)");
        h.join().unwrap();
        // With a lying huge Content-Length: refused up front.
        let (port, h) = serve(|mut s| {
            read_request(&mut s);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\nabc");
        });
        let e = get(&tcp(port), "/", Duration::from_secs(5)).unwrap_err();
        assert_eq!(
            e,
            "response body too large (Content-Length 99999999999, limit 32 MiB)"
        );
        h.join().unwrap();
        // Chunked beyond the cap.
        let (port, h) = serve(|mut s| {
            read_request(&mut s);
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFF\r\n");
        });
        let e = get(&tcp(port), "/", Duration::from_secs(5)).unwrap_err();
        assert_eq!(e, "response body too large (limit 32 MiB)");
        h.join().unwrap();
    }

    #[test]
    fn huge_header_is_refused() {
        let (port, h) = serve(|mut s| {
            read_request(&mut s);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Big: ");
            let chunk = [b'y'; 8192];
            for _ in 0..100 {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        let e = get(&tcp(port), "/", Duration::from_secs(5)).unwrap_err();
        assert_eq!(e, "response header too large (limit 64 KiB)");
        h.join().unwrap();
    }

    #[test]
    fn unix_socket_and_connection_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("docker.sock");
        let l = UnixListener::bind(&p).unwrap();
        let h = thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
                .unwrap();
        });
        let r = get(&Endpoint::Unix(p.clone()), "/_ping", Duration::from_secs(5)).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"OK"[..]));
        h.join().unwrap();
        let e = get(&Endpoint::Unix(p.clone()), "/_ping", Duration::from_secs(5)).unwrap_err();
        assert!(e.ends_with("connection refused"), "{e}");
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = get(&tcp(port), "/", Duration::from_secs(2)).unwrap_err();
        assert_eq!(e, "connection refused");
    }

    #[test]
    fn request_path_is_checked() {
        assert!(request("/x\r\nEvil: 1").is_err());
        assert!(request("x").is_err());
        assert!(request("/networks/bridge").is_ok());
    }

    #[test]
    fn endpoints() {
        let none = |_: &str| None;
        assert_eq!(
            parse_endpoint("unix:///run/docker.sock", &none),
            Ok(Endpoint::Unix("/run/docker.sock".into()))
        );
        assert_eq!(parse_endpoint("tcp://127.0.0.1:2375", &none), Ok(tcp(2375)));
        assert_eq!(
            parse_endpoint("tcp://[::1]:2375", &none).unwrap().url(),
            "tcp://[::1]:2375"
        );
        assert_eq!(parse_endpoint("tcp://:2375", &none).unwrap(), tcp(2375));
        assert!(parse_endpoint("ssh://me@host", &none).is_err());
        assert!(parse_endpoint("tcp://h:notaport", &none).is_err());
        let env = |k: &str| match k {
            "DOCKER_TLS_VERIFY" => Some("1".to_string()),
            "DOCKER_CERT_PATH" => Some("/certs".to_string()),
            _ => None,
        };
        let ep = parse_endpoint("tcp://docker.example:2376", &env).unwrap();
        assert_eq!(
            ep,
            Endpoint::Tcp {
                host: "docker.example".into(),
                port: 2376,
                tls: Some(TlsSettings {
                    ca_file: Some("/certs/ca.pem".into()),
                    client_cert: Some(("/certs/cert.pem".into(), "/certs/key.pem".into())),
                })
            }
        );
        let home = |k: &str| (k == "HOME").then(|| "/root".to_string());
        let ep = parse_endpoint("https://h", &home).unwrap();
        assert_eq!(
            ep,
            Endpoint::Tcp {
                host: "h".into(),
                port: 2376,
                tls: Some(TlsSettings {
                    ca_file: None,
                    client_cert: Some((
                        "/root/.docker/cert.pem".into(),
                        "/root/.docker/key.pem".into()
                    )),
                })
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn read_response_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let mut r = io::Cursor::new(bytes);
            let _ = read_response(&mut r, Limits { max_header: 512, max_body: 1024 });
        }

        #[test]
        fn chunked_roundtrip(chunks in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 1..100), 0..10)) {
            let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            let mut want = Vec::new();
            for c in &chunks {
                wire.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                wire.extend_from_slice(c);
                wire.extend_from_slice(b"\r\n");
                want.extend_from_slice(c);
            }
            wire.extend_from_slice(b"0\r\n\r\n");
            let r = read_response(&mut io::Cursor::new(wire), Limits::default()).unwrap();
            proptest::prop_assert_eq!(r.body, want);
        }

        #[test]
        fn endpoint_parse_never_panics(s in "\\PC*") {
            let _ = parse_endpoint(&s, &|_| None);
        }
    }
}
