//! Endpoints (`--host`): `unix://`, `tcp://`, `https://`, `http://`, with
//! the TLS files `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` name.

use std::path::{Path, PathBuf};

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

pub(super) fn split_host_port(s: &str, default_port: u16) -> Option<(String, u16)> {
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
