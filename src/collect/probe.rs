//! Probing dockerd's TCP listeners as an unauthenticated client would.
//!
//! Only `GET /_ping` is ever sent, only to addresses dockerd itself listens
//! on (wildcard binds are probed on loopback).

use super::http::{self, Deadlined, Limits, Response};
use crate::snapshot::{ProbeEvidence, ProbeOutcome, SocketAddrText};
use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Upper bound of each probe step.
pub const MAX_PROBE_STEP: Duration = Duration::from_secs(2);

/// What Go's TLS server answers to plain HTTP.
const HTTPS_ONLY: &str = "Client sent an HTTP request to an HTTPS server";

fn limits() -> Limits {
    Limits {
        max_header: 16 * 1024,
        max_body: 64 * 1024,
    }
}

/// Where to connect for a listen address: loopback for a wildcard bind.
pub fn probe_target(listen: &SocketAddrText) -> SocketAddrText {
    let addr = match listen.addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) if a.is_unspecified() => "127.0.0.1".to_string(),
        Ok(IpAddr::V6(a)) if a.is_unspecified() => "::1".to_string(),
        _ => listen.addr.clone(),
    };
    SocketAddrText {
        addr,
        port: listen.port,
    }
}

/// Probe one listener: plain HTTP, then (unless plain HTTP answered) TLS
/// without a client certificate.
pub fn probe(listen: &SocketAddrText, timeout: Duration) -> ProbeEvidence {
    let step = timeout.min(MAX_PROBE_STEP);
    let target = probe_target(listen);
    let plain_http = probe_plain(&target, step);
    let tls_no_client_cert = match plain_http {
        ProbeOutcome::Answered { .. } => ProbeOutcome::Skipped,
        _ => probe_tls(&target, step),
    };
    ProbeEvidence {
        listen: listen.clone(),
        target,
        plain_http,
        tls_no_client_cert,
    }
}

fn answered(r: &Response, how: &str) -> ProbeOutcome {
    let body: String = String::from_utf8_lossy(&r.body)
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    ProbeOutcome::Answered {
        status: r.status,
        detail: format!("{how} GET /_ping: HTTP {} {body:?}", r.status),
    }
}

/// Plain HTTP `GET /_ping`.
pub fn probe_plain(target: &SocketAddrText, step: Duration) -> ProbeOutcome {
    let deadline = Instant::now() + step;
    let s = match http::connect_tcp(&target.addr, target.port, deadline) {
        Ok(s) => s,
        Err(e) => return ProbeOutcome::Failed { detail: e },
    };
    let mut s = Deadlined::new(s, deadline);
    match http::exchange(&mut s, "/_ping", limits()) {
        Ok(r) if r.status == 400 && String::from_utf8_lossy(&r.body).contains(HTTPS_ONLY) => {
            ProbeOutcome::Refused {
                detail: format!("TLS required (HTTP 400: {HTTPS_ONLY})"),
            }
        }
        Ok(r) => answered(&r, "plain HTTP"),
        Err(e) => ProbeOutcome::Failed { detail: e },
    }
}

/// TLS handshake without a client certificate (any server certificate
/// accepted), then `GET /_ping`.
pub fn probe_tls(target: &SocketAddrText, step: Duration) -> ProbeOutcome {
    let deadline = Instant::now() + step;
    let s = match http::connect_tcp(&target.addr, target.port, deadline) {
        Ok(s) => s,
        Err(e) => return ProbeOutcome::Failed { detail: e },
    };
    let config = match http::probe_config() {
        Ok(c) => c,
        Err(e) => return ProbeOutcome::Failed { detail: e },
    };
    let mut tls = match http::tls_stream(Deadlined::new(s, deadline), &target.addr, config) {
        Ok(t) => t,
        Err(e) => return ProbeOutcome::Failed { detail: e },
    };
    // Handshake first, to tell a refused handshake from a refused request.
    while tls.conn.is_handshaking() {
        if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
            return classify(&e, "during the TLS handshake");
        }
    }
    match http::exchange(&mut tls, "/_ping", limits()) {
        Ok(r) => answered(&r, "TLS without client certificate"),
        Err(e) => {
            // exchange() flattens errors to text: a TLS alert or a close
            // right after the handshake is the server refusing us (TLS 1.3
            // servers check the client certificate after the handshake).
            if let Some(i) = e.find("TLS alert") {
                ProbeOutcome::Refused {
                    detail: e.get(i..).unwrap_or(&e).to_string(),
                }
            } else if e.contains("connection reset") {
                ProbeOutcome::Refused {
                    detail: "connection reset after the TLS handshake".to_string(),
                }
            } else if e == "connection closed without a response" {
                ProbeOutcome::Refused {
                    detail: "connection closed after the TLS handshake without an answer"
                        .to_string(),
                }
            } else {
                ProbeOutcome::Failed { detail: e }
            }
        }
    }
}

fn classify(e: &io::Error, when: &str) -> ProbeOutcome {
    let text = http::io_text(e);
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return match tls {
            rustls::Error::AlertReceived(_) => ProbeOutcome::Refused { detail: text },
            // Not a TLS server (plain HTTP answered garbage to us, ...).
            _ => ProbeOutcome::Failed {
                detail: format!("{text} {when}"),
            },
        };
    }
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionAborted => ProbeOutcome::Refused {
            detail: format!("connection closed {when}"),
        },
        _ => ProbeOutcome::Failed {
            detail: format!("{text} {when}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::thread;

    fn listen(port: u16) -> SocketAddrText {
        SocketAddrText {
            addr: "127.0.0.1".into(),
            port,
        }
    }

    #[test]
    fn wildcard_targets_loopback() {
        let t = probe_target(&SocketAddrText {
            addr: "0.0.0.0".into(),
            port: 2375,
        });
        assert_eq!(t.addr, "127.0.0.1");
        let t = probe_target(&SocketAddrText {
            addr: "::".into(),
            port: 2375,
        });
        assert_eq!(t.addr, "::1");
        let t = probe_target(&SocketAddrText {
            addr: "10.0.0.5".into(),
            port: 2376,
        });
        assert_eq!(t.addr, "10.0.0.5");
    }

    /// A server that answers every connection with `answer`, `n` times.
    fn server(answer: &'static [u8], n: usize) -> (u16, thread::JoinHandle<Vec<String>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = thread::spawn(move || {
            let mut reqs = Vec::new();
            for _ in 0..n {
                let Ok((mut s, _)) = l.accept() else { break };
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut buf = [0u8; 4096];
                let k = s.read(&mut buf).unwrap_or(0);
                reqs.push(String::from_utf8_lossy(&buf[..k]).into_owned());
                let _ = s.write_all(answer);
            }
            reqs
        });
        (port, h)
    }

    #[test]
    fn plain_http_answer_skips_tls() {
        let (port, h) = server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK", 1);
        let p = probe(&listen(port), Duration::from_secs(5));
        assert!(
            matches!(p.plain_http, ProbeOutcome::Answered { status: 200, .. }),
            "{p:?}"
        );
        assert_eq!(p.tls_no_client_cert, ProbeOutcome::Skipped);
        let reqs = h.join().unwrap();
        assert!(reqs[0].starts_with("GET /_ping HTTP/1.1\r\n"));
    }

    #[test]
    fn https_only_answer_is_refused_then_tls_tried() {
        // First connection: Go's answer to plain HTTP on a TLS port. Second
        // connection (the TLS ClientHello): the same plain bytes, which is
        // not TLS, so the TLS probe fails.
        let (port, h) = server(
            b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
            2,
        );
        let p = probe(&listen(port), Duration::from_secs(5));
        assert_eq!(
            p.plain_http,
            ProbeOutcome::Refused {
                detail: "TLS required (HTTP 400: Client sent an HTTP request to an HTTPS server)"
                    .into()
            }
        );
        assert!(
            matches!(p.tls_no_client_cert, ProbeOutcome::Failed { .. }),
            "{p:?}"
        );
        h.join().unwrap();
    }

    #[test]
    fn nothing_listening_fails() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let p = probe(&listen(port), Duration::from_secs(1));
        assert_eq!(
            p.plain_http,
            ProbeOutcome::Failed {
                detail: "connection refused".into()
            }
        );
        assert_eq!(
            p.tls_no_client_cert,
            ProbeOutcome::Failed {
                detail: "connection refused".into()
            }
        );
    }

    #[test]
    fn tls_handshake_closed_is_refused() {
        // Accepts, reads the ClientHello, closes.
        let (port, h) = server(b"", 1);
        let p = probe_tls(&listen(port), Duration::from_secs(2));
        assert_eq!(
            p,
            ProbeOutcome::Refused {
                detail: "connection closed during the TLS handshake".into()
            }
        );
        h.join().unwrap();
    }

    /// A TLS server on loopback (test certificate), optionally requiring a
    /// client certificate, answering `GET /_ping` with `OK`.
    fn tls_server(require_client_cert: bool) -> (u16, thread::JoinHandle<Option<String>>) {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        use std::sync::Arc;
        let cert =
            CertificateDer::from_pem_slice(include_bytes!("testdata/probe-cert.pem")).unwrap();
        let key = PrivateKeyDer::from_pem_slice(include_bytes!("testdata/probe-key.pem")).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(cert.clone()).unwrap();
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(v)
        } else {
            builder.with_no_client_auth()
        };
        let config = Arc::new(builder.with_single_cert(vec![cert], key).unwrap());
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = thread::spawn(move || {
            let (s, _) = l.accept().ok()?;
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let conn = rustls::ServerConnection::new(config).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, s);
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.ends_with(b"\r\n\r\n") {
                match tls.read(&mut buf) {
                    Ok(0) | Err(_) => return None,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
                .ok()?;
            tls.conn.send_close_notify();
            let _ = tls.flush();
            Some(String::from_utf8_lossy(&req).into_owned())
        });
        (port, h)
    }

    #[test]
    fn tls_without_client_verification_answers() {
        let (port, h) = tls_server(false);
        let p = probe_tls(&listen(port), Duration::from_secs(5));
        assert_eq!(
            p,
            ProbeOutcome::Answered {
                status: 200,
                detail: "TLS without client certificate GET /_ping: HTTP 200 \"OK\"".into()
            }
        );
        let req = h.join().unwrap().unwrap();
        assert!(req.starts_with("GET /_ping HTTP/1.1\r\n"), "{req}");
    }

    #[test]
    fn tls_requiring_client_cert_refuses() {
        let (port, h) = tls_server(true);
        let p = probe_tls(&listen(port), Duration::from_secs(5));
        assert_eq!(
            p,
            ProbeOutcome::Refused {
                detail: "TLS alert: certificate required".into()
            }
        );
        assert_eq!(h.join().unwrap(), None);
    }
}
