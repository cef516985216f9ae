//! Engine API calls: `GET /version`, `/info`, `/networks/bridge`.

use super::http::{self, Endpoint};
use crate::snapshot::{ApiCall, ApiEvidence, DaemonEvidence};
use std::path::PathBuf;
use std::time::Duration;

/// The default socket when nothing better is known.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// The unix socket path of a daemon that most likely serves the API: a
/// `docker.sock`, else a listener outside dockerd's own runtime directories
/// (libnetwork, metrics and plugin sockets), else the first.
pub fn api_socket(d: &DaemonEvidence) -> Option<&str> {
    let paths: Vec<&str> = d
        .unix_listeners
        .iter()
        .map(String::as_str)
        .filter(|p| p.starts_with('/'))
        .collect();
    paths
        .iter()
        .find(|p| p.ends_with("/docker.sock"))
        .or_else(|| {
            paths.iter().find(|p| {
                !p.contains("/libnetwork/") && !p.contains("/plugins/") && !p.contains("metrics")
            })
        })
        .or_else(|| paths.first())
        .copied()
}

/// Choose the endpoint: `--host`, else the daemon's API socket, else the
/// default socket.
pub fn choose_endpoint(
    host: Option<&str>,
    daemon: Option<&DaemonEvidence>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Endpoint, String> {
    if let Some(h) = host {
        return http::parse_endpoint(h, env);
    }
    let path = daemon
        .and_then(api_socket)
        .unwrap_or(DEFAULT_SOCKET)
        .to_string();
    Ok(Endpoint::Unix(PathBuf::from(path)))
}

/// One call: status and JSON body, or why there is none.
pub fn call(ep: &Endpoint, path: &str, timeout: Duration) -> ApiCall {
    match http::get(ep, path, timeout) {
        Ok(r) => {
            let mut c = ApiCall {
                status: Some(r.status),
                ..ApiCall::default()
            };
            match serde_json::from_slice::<serde_json::Value>(&r.body) {
                Ok(v) if (200..300).contains(&r.status) => c.body = Some(v),
                Ok(v) => {
                    let msg = v
                        .get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    c.error = Some(format!("HTTP {}: {msg}", r.status));
                    c.body = Some(v);
                }
                Err(e) => {
                    c.error = Some(if (200..300).contains(&r.status) {
                        format!("invalid JSON in the response: {e}")
                    } else {
                        let text: String =
                            String::from_utf8_lossy(&r.body).chars().take(200).collect();
                        format!("HTTP {}: {}", r.status, text.trim())
                    })
                }
            }
            c
        }
        Err(e) => ApiCall {
            error: Some(e),
            ..ApiCall::default()
        },
    }
}

/// The three calls on one endpoint. If `/version` cannot even connect, the
/// other calls are not tried and `error` says why.
pub fn gather(ep: &Endpoint, timeout: Duration) -> ApiEvidence {
    let mut ev = ApiEvidence {
        endpoint: Some(ep.url()),
        ..ApiEvidence::default()
    };
    let version = call(ep, "/version", timeout);
    if version.status.is_none() {
        ev.error = version.error.clone();
        ev.version = Some(version);
        return ev;
    }
    ev.version = Some(version);
    ev.info = Some(call(ep, "/info", timeout));
    ev.bridge_network = Some(call(ep, "/networks/bridge", timeout));
    ev
}

/// The daemon version from a `/version` answer.
pub fn version_string(api: &ApiEvidence) -> Option<&str> {
    api.version
        .as_ref()?
        .body
        .as_ref()?
        .get("Version")?
        .as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;
    use std::thread;

    #[test]
    fn socket_choice() {
        let d = DaemonEvidence {
            unix_listeners: vec![
                "/run/docker/libnetwork/abc.sock".into(),
                "/run/user/1000/docker.sock".into(),
            ],
            ..DaemonEvidence::default()
        };
        assert_eq!(api_socket(&d), Some("/run/user/1000/docker.sock"));
        let d = DaemonEvidence {
            unix_listeners: vec![
                "/run/docker/libnetwork/abc.sock".into(),
                "/srv/api.sock".into(),
            ],
            ..DaemonEvidence::default()
        };
        assert_eq!(api_socket(&d), Some("/srv/api.sock"));
        assert_eq!(api_socket(&DaemonEvidence::default()), None);
        let none = |_: &str| None;
        assert_eq!(
            choose_endpoint(None, None, &none),
            Ok(Endpoint::Unix(DEFAULT_SOCKET.into()))
        );
        assert_eq!(
            choose_endpoint(Some("tcp://127.0.0.1:1"), Some(&d), &none)
                .unwrap()
                .url(),
            "tcp://127.0.0.1:1"
        );
    }

    #[test]
    fn gather_from_fake_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("docker.sock");
        let l = UnixListener::bind(&p).unwrap();
        let h = thread::spawn(move || {
            for _ in 0..3 {
                let (mut s, _) = l.accept().unwrap();
                let mut buf = [0u8; 4096];
                let n = s.read(&mut buf).unwrap();
                let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                let (status, body) = if req.starts_with("GET /version ") {
                    ("200 OK", r#"{"Version":"20.10.24","ApiVersion":"1.41"}"#)
                } else if req.starts_with("GET /info ") {
                    ("200 OK", r#"{"LiveRestoreEnabled":false}"#)
                } else {
                    ("404 Not Found", r#"{"message":"network bridge not found"}"#)
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                s.write_all(resp.as_bytes()).unwrap();
            }
        });
        let ep = Endpoint::Unix(p.clone());
        let ev = gather(&ep, Duration::from_secs(5));
        h.join().unwrap();
        assert_eq!(
            ev.endpoint.as_deref(),
            Some(format!("unix://{}", p.display()).as_str())
        );
        assert_eq!(version_string(&ev), Some("20.10.24"));
        assert_eq!(ev.info.as_ref().unwrap().status, Some(200));
        let b = ev.bridge_network.as_ref().unwrap();
        assert_eq!(b.status, Some(404));
        assert_eq!(
            b.error.as_deref(),
            Some("HTTP 404: network bridge not found")
        );
        assert!(ev.error.is_none());
    }

    #[test]
    fn unreachable_socket() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("none.sock");
        let ev = gather(&Endpoint::Unix(p.clone()), Duration::from_secs(1));
        assert_eq!(ev.error, Some(format!("{}: socket not found", p.display())));
        assert!(ev.info.is_none());
    }
}
