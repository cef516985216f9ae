//! The TCP listeners of a daemon: configured (`-H`, the socket unit's
//! `ListenStream=`) and running (its sockets).

use super::TcpListener;
use crate::model::config::{Effective, Listener};
use crate::model::{Evidence, Source};
use crate::snapshot::DaemonEvidence;

/// TCP listeners the configuration asks for; `fd://` takes the TCP
/// `ListenStream=` of the socket unit.
pub fn configured_tcp(
    eff: &Effective,
    service: Option<&crate::model::systemd::ServiceResolution>,
) -> Vec<TcpListener> {
    let mut out = Vec::new();
    for l in eff.listeners() {
        match l {
            Listener::Tcp {
                addr,
                port,
                evidence,
                ..
            } => out.push(TcpListener {
                addr,
                port,
                evidence,
                probe: None,
            }),
            Listener::Fd { .. } => {
                let Some(sock) = service.and_then(|s| s.socket.as_ref()) else {
                    continue;
                };
                for (spec, ev) in &sock.listen_streams {
                    if let Some((addr, port)) = parse_listen_stream(spec) {
                        out.push(TcpListener {
                            addr,
                            port,
                            evidence: ev.clone(),
                            probe: None,
                        });
                    }
                }
            }
            Listener::Unix { .. } => {}
        }
    }
    out
}

/// A TCP `ListenStream=` value: `2375`, `0.0.0.0:2375`, `[::]:2375`,
/// `127.0.0.1:2375`. Paths (unix sockets) and others give `None`.
pub fn parse_listen_stream(spec: &str) -> Option<(String, u16)> {
    let s = spec.trim();
    if s.starts_with('/') || s.starts_with('@') || s.is_empty() {
        return None;
    }
    if let Ok(port) = s.parse::<u16>() {
        // A bare port listens on all addresses (IPv6 dual-stack).
        return Some(("::".to_string(), port));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (host, port) = rest.split_once("]:")?;
        return Some((host.to_string(), port.parse().ok()?));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some((host.to_string(), port.parse().ok()?))
}

/// The sockets the running daemon holds, each with its probe; falls back to
/// the configured listeners when /proc could not be read.
pub(super) fn running_tcp(d: &DaemonEvidence, eff: &Effective) -> Vec<TcpListener> {
    if d.tcp_listeners.is_empty() && !d.errors.is_empty() {
        return configured_tcp(eff, None);
    }
    d.tcp_listeners
        .iter()
        .map(|l| TcpListener {
            addr: l.addr.clone(),
            port: l.port,
            evidence: Evidence::new(
                Source::Socket,
                format!("/proc/{}/net/tcp", d.pid),
                format!("dockerd listens on {}", fmt_addr(&l.addr, l.port)),
            ),
            probe: d.probes.iter().find(|p| &p.listen == l).cloned(),
        })
        .collect()
}

/// `addr:port`, with brackets for IPv6.
pub fn fmt_addr(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}
