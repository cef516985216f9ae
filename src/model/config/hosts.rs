//! `-H` / `"hosts"` as dockerd 20.10 parses them (`opts/hosts.go`:
//! `ValidateHost`, `ParseHost`, `parseDaemonHost`, `ParseTCPAddr`, and Go's
//! `net.SplitHostPort` / `url.Parse` as far as they matter).
//!
//! Facts (source, v20.10.24):
//! - `""` (or no -H at all) is the default: `tcp://localhost:2376` when TLS is
//!   on, `unix://$XDG_RUNTIME_DIR/docker.sock` for rootless (RootlessKit),
//!   else `unix:///var/run/docker.sock`.
//! - Every other TCP form defaults to `localhost:2375` even with TLS on
//!   (`DefaultTCPHost`; only the empty string uses `DefaultTLSHost`).
//! - `unix://` is always `/var/run/docker.sock` (also rootless).
//! - `localhost` binds 127.0.0.1 (the model reports it so).

/// A parsed daemon host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// `host` as written (brackets removed for IPv6), port, URL path.
    Tcp {
        host: String,
        port: u16,
        path: String,
    },
    Unix(String),
    /// `fd://` (None) or `fd://name`.
    Fd(Option<String>),
}

const DEFAULT_UNIX_SOCKET: &str = "/var/run/docker.sock";

/// `ValidateHost`: run when `-H` is set (flag parsing).
pub fn validate_host(val: &str) -> Result<(), String> {
    let host = val.trim();
    if host.is_empty() {
        return Ok(());
    }
    parse_daemon_host(host).map(|_| ())
}

/// `ParseHost(defaultToTLS, defaultToUnixXDG, val)`; `xdg_runtime_dir` is the
/// daemon's `$XDG_RUNTIME_DIR` for the rootless default.
pub fn parse_host(
    tls: bool,
    rootless: bool,
    xdg_runtime_dir: Option<&str>,
    val: &str,
) -> Result<Host, String> {
    let host = val.trim();
    if host.is_empty() {
        if tls {
            return Ok(Host::Tcp {
                host: "localhost".into(),
                port: 2376,
                path: String::new(),
            });
        }
        if rootless {
            return match xdg_runtime_dir {
                Some(d) if !d.is_empty() => Ok(Host::Unix(format!(
                    "{}/docker.sock",
                    d.trim_end_matches('/')
                ))),
                _ => Err("environment variable XDG_RUNTIME_DIR is not set".to_string()),
            };
        }
        return Ok(Host::Unix(DEFAULT_UNIX_SOCKET.into()));
    }
    parse_daemon_host(host)
}

fn parse_daemon_host(addr: &str) -> Result<Host, String> {
    let (proto, rest) = match addr.split_once("://") {
        Some((p, r)) => (p, r),
        None => ("tcp", addr),
    };
    match proto {
        "tcp" => parse_tcp_addr(rest),
        "unix" => {
            let a = rest.strip_prefix("unix://").unwrap_or(rest);
            if a.contains("://") {
                return Err(format!("Invalid proto, expected unix: {a}"));
            }
            Ok(Host::Unix(if a.is_empty() {
                DEFAULT_UNIX_SOCKET.to_string()
            } else {
                a.to_string()
            }))
        }
        "fd" => Ok(Host::Fd(if rest.is_empty() {
            None
        } else {
            Some(rest.to_string())
        })),
        // npipe is Windows-only in effect: listeners.Init fails on Linux.
        "npipe" => Err(format!("invalid protocol npipe for Linux: {addr}")),
        _ => Err(format!("Invalid bind address format: {addr}")),
    }
}

/// `ParseTCPAddr(tryAddr, "tcp://localhost:2375")`.
fn parse_tcp_addr(try_addr: &str) -> Result<Host, String> {
    if try_addr.is_empty() || try_addr == "tcp://" {
        return Ok(Host::Tcp {
            host: "localhost".into(),
            port: 2375,
            path: String::new(),
        });
    }
    let mut addr = try_addr
        .strip_prefix("tcp://")
        .unwrap_or(try_addr)
        .to_string();
    if addr.contains("://") || addr.is_empty() {
        return Err(format!("Invalid proto, expected tcp: {try_addr}"));
    }
    if addr.ends_with("]:") {
        addr.push_str("2375");
    }
    let (authority, path) = url_authority(&addr)?;
    let bad = || format!("Invalid bind address format: {try_addr}");
    let (mut host, mut port) = match split_host_port(&authority) {
        Ok(hp) => hp,
        Err(_) => split_host_port(&join_host_port(&authority, "2375")).map_err(|_| bad())?,
    };
    if host.is_empty() {
        host = "localhost".to_string();
    }
    if port.is_empty() {
        port = "2375".to_string();
    }
    // strconv.Atoi(port): err && p == 0 -> invalid; ports > 65535 fail at listen
    let p: u64 = port.parse().map_err(|_| bad())?;
    let p = u16::try_from(p).map_err(|_| format!("listen tcp: address {port}: invalid port"))?;
    Ok(Host::Tcp {
        host,
        port: p,
        path,
    })
}

/// The host part of `url.Parse("tcp://" + addr)` and its path.
fn url_authority(addr: &str) -> Result<(String, String), String> {
    let s = addr.split('#').next().unwrap_or("");
    let s = s.split('?').next().unwrap_or("");
    let (auth, path) = match s.find('/') {
        Some(i) => (s.get(..i).unwrap_or(""), s.get(i..).unwrap_or("")),
        None => (s, ""),
    };
    let host = match auth.rfind('@') {
        Some(i) => auth.get(i + 1..).unwrap_or(""),
        None => auth,
    };
    // url.parseHost: the port after the last ':' (outside brackets) must be digits
    let port_part = if let Some(rest) = host.strip_prefix('[') {
        match rest.find(']') {
            Some(i) => rest.get(i + 1..).unwrap_or(""),
            None => return Err(format!("parse \"tcp://{addr}\": missing ']' in host")),
        }
    } else {
        match host.rfind(':') {
            Some(i) => host.get(i..).unwrap_or(""),
            None => "",
        }
    };
    if !port_part.is_empty() {
        let ok = port_part
            .strip_prefix(':')
            .is_some_and(|d| d.chars().all(|c| c.is_ascii_digit()));
        if !ok {
            return Err(format!(
                "parse \"tcp://{addr}\": invalid port \"{port_part}\" after host"
            ));
        }
    }
    if host.chars().any(|c| c.is_control() || c == ' ') {
        return Err(format!(
            "parse \"tcp://{addr}\": invalid character in host name"
        ));
    }
    Ok((host.to_string(), path.to_string()))
}

/// Go `net.SplitHostPort`.
pub fn split_host_port(hp: &str) -> Result<(String, String), String> {
    let missing_port = || format!("address {hp}: missing port in address");
    let too_many = || format!("address {hp}: too many colons in address");
    let Some(i) = hp.rfind(':') else {
        return Err(missing_port());
    };
    let (host, j, k);
    if hp.starts_with('[') {
        let Some(end) = hp.find(']') else {
            return Err(format!("address {hp}: missing ']' in address"));
        };
        if end + 1 == hp.len() {
            return Err(missing_port());
        } else if end + 1 != i {
            if hp.as_bytes().get(end + 1) == Some(&b':') {
                return Err(too_many());
            }
            return Err(missing_port());
        }
        host = hp.get(1..end).unwrap_or("").to_string();
        j = 1;
        k = end + 1;
    } else {
        host = hp.get(..i).unwrap_or("").to_string();
        if host.contains(':') {
            return Err(too_many());
        }
        j = 0;
        k = 0;
    }
    if hp.get(j..).unwrap_or("").contains('[') {
        return Err(format!("address {hp}: unexpected '[' in address"));
    }
    if hp.get(k..).unwrap_or("").contains(']') {
        return Err(format!("address {hp}: unexpected ']' in address"));
    }
    Ok((host, hp.get(i + 1..).unwrap_or("").to_string()))
}

/// Go `net.JoinHostPort`.
pub fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl Host {
    /// The canonical form dockerd uses (`tcp://localhost:2375`), for dedup.
    pub fn canonical(&self) -> String {
        match self {
            Host::Tcp { host, port, path } => {
                format!("tcp://{}{path}", join_host_port(host, &port.to_string()))
            }
            Host::Unix(p) => format!("unix://{p}"),
            Host::Fd(None) => "fd://".to_string(),
            Host::Fd(Some(n)) => format!("fd://{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tcp(h: &str, p: u16) -> Result<Host, String> {
        Ok(Host::Tcp {
            host: h.into(),
            port: p,
            path: String::new(),
        })
    }

    #[test]
    fn parses_like_dockerd() {
        let cases: Vec<(&str, bool, Result<Host, String>)> = vec![
            ("", false, Ok(Host::Unix("/var/run/docker.sock".into()))),
            ("  ", true, tcp("localhost", 2376)),
            (":2375", false, tcp("localhost", 2375)),
            ("tcp://", false, tcp("localhost", 2375)),
            ("tcp://", true, tcp("localhost", 2375)),
            ("tcp://:2376", false, tcp("localhost", 2376)),
            ("0.0.0.0", false, tcp("0.0.0.0", 2375)),
            ("0.0.0.0", true, tcp("0.0.0.0", 2375)),
            ("0.0.0.0:2375", false, tcp("0.0.0.0", 2375)),
            ("tcp://0.0.0.0:2376", true, tcp("0.0.0.0", 2376)),
            ("[::]:2375", false, tcp("::", 2375)),
            ("tcp://[::1]:", false, tcp("::1", 2375)),
            ("192.168.1.5:2376", false, tcp("192.168.1.5", 2376)),
            ("tcp://host.example:1234", false, tcp("host.example", 1234)),
            (
                "unix://",
                false,
                Ok(Host::Unix("/var/run/docker.sock".into())),
            ),
            (
                "unix:///run/d.sock",
                false,
                Ok(Host::Unix("/run/d.sock".into())),
            ),
            ("fd://", false, Ok(Host::Fd(None))),
            (
                "fd://docker.socket",
                false,
                Ok(Host::Fd(Some("docker.socket".into()))),
            ),
            (
                "ssh://me@host",
                false,
                Err("Invalid bind address format: ssh://me@host".into()),
            ),
            (
                "udp://1.2.3.4:5",
                false,
                Err("Invalid bind address format: udp://1.2.3.4:5".into()),
            ),
            ("tcp://tcp://x", false, tcp("x", 2375)),
            (
                "tcp://a://b",
                false,
                Err("Invalid proto, expected tcp: a://b".into()),
            ),
            (
                "tcp://[::1]",
                false,
                Err("Invalid bind address format: [::1]".into()),
            ),
            (
                "tcp://1.2.3.4:99999",
                false,
                Err("listen tcp: address 99999: invalid port".into()),
            ),
        ];
        for (input, tls, expected) in cases {
            assert_eq!(
                parse_host(tls, false, None, input),
                expected,
                "{input:?} tls={tls}"
            );
        }
    }

    #[test]
    fn rootless_default_socket() {
        assert_eq!(
            parse_host(false, true, Some("/run/user/1000"), ""),
            Ok(Host::Unix("/run/user/1000/docker.sock".into()))
        );
        assert!(parse_host(false, true, None, "").is_err());
        // unix:// keeps the system path even rootless
        assert_eq!(
            parse_host(false, true, Some("/run/user/1000"), "unix://"),
            Ok(Host::Unix("/var/run/docker.sock".into()))
        );
    }

    #[test]
    fn invalid_port_text() {
        assert!(parse_host(false, false, None, "tcp://1.2.3.4:abc").is_err());
        assert!(parse_host(false, false, None, "1.2.3.4:-1").is_err());
    }

    #[test]
    fn go_split_host_port() {
        assert_eq!(split_host_port("a:1"), Ok(("a".into(), "1".into())));
        assert_eq!(split_host_port("[::1]:2"), Ok(("::1".into(), "2".into())));
        assert_eq!(split_host_port(":2"), Ok(("".into(), "2".into())));
        assert!(split_host_port("::1").is_err());
        assert!(split_host_port("a").is_err());
        assert!(split_host_port("[a]b:1").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,40}", tls in any::<bool>(), rl in any::<bool>()) {
            let _ = parse_host(tls, rl, Some("/run/user/1"), &s);
            let _ = validate_host(&s);
        }

        #[test]
        fn tcp_ip_port_round_trip(a in any::<[u8; 4]>(), port in 1u16..) {
            let ip = std::net::Ipv4Addr::from(a).to_string();
            let h = parse_host(false, false, None, &format!("tcp://{ip}:{port}"));
            prop_assert_eq!(h.clone(), tcp(&ip, port));
            let canon = h.map(|h| h.canonical()).unwrap_or_default();
            prop_assert_eq!(parse_host(false, false, None, &canon), tcp(&ip, port));
        }
    }
}
