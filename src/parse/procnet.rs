//! Pure parsers for the /proc files `collect` reads: `/proc/net/tcp`,
//! `/proc/net/tcp6`, `/proc/net/unix`, `/proc/PID/stat`, `/proc/PID/status`,
//! `/proc/PID/cgroup`, `/proc/stat`, `/proc/PID/cmdline` and
//! `/proc/PID/environ`.
//!
//! Every function is total: malformed lines are skipped, never a panic.
//! Addresses in `/proc/net/tcp*` are printed as 32-bit words in the host's
//! byte order, so these parsers decode them with the byte order of the
//! machine running them (which is the machine the file came from).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// TCP state code of a listening socket in `/proc/net/tcp` (`0A`).
pub const TCP_LISTEN: u8 = 0x0A;

/// `__SO_ACCEPTCON` in the Flags column of `/proc/net/unix`: a listening socket.
pub const UNIX_ACCEPTCON: u32 = 0x0001_0000;

/// One socket line of `/proc/net/tcp` or `/proc/net/tcp6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpEntry {
    /// Local address; IPv4-mapped IPv6 addresses are given as IPv4.
    pub local: IpAddr,
    pub local_port: u16,
    /// State code (`0x0A` = LISTEN).
    pub state: u8,
    pub inode: u64,
}

impl TcpEntry {
    pub fn is_listen(&self) -> bool {
        self.state == TCP_LISTEN
    }
}

/// Parse `/proc/net/tcp` (IPv4) or `/proc/net/tcp6` (IPv6). The header line
/// and malformed lines are skipped.
pub fn parse_tcp(text: &str) -> Vec<TcpEntry> {
    text.lines().filter_map(parse_tcp_line).collect()
}

fn parse_tcp_line(line: &str) -> Option<TcpEntry> {
    let mut cols = line.split_whitespace();
    let sl = cols.next()?;
    if !sl.ends_with(':') {
        return None;
    }
    let local = cols.next()?;
    let _remote = cols.next()?;
    let state = u8::from_str_radix(cols.next()?, 16).ok()?;
    // tx_queue:rx_queue, tr:tm->when, retrnsmt, uid, timeout, inode
    let inode = cols.nth(5)?.parse::<u64>().ok()?;
    let (addr, port) = local.split_once(':')?;
    let local_port = u16::from_str_radix(port, 16).ok()?;
    let local = parse_hex_addr(addr)?;
    Some(TcpEntry {
        local,
        local_port,
        state,
        inode,
    })
}

/// Decode the hex address of `/proc/net/tcp{,6}` (host byte order words).
pub fn parse_hex_addr(hex: &str) -> Option<IpAddr> {
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match hex.len() {
        8 => {
            let w = u32::from_str_radix(hex, 16).ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(w.to_ne_bytes())))
        }
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                let word = hex.get(i * 8..i * 8 + 8)?;
                let w = u32::from_str_radix(word, 16).ok()?;
                chunk.copy_from_slice(&w.to_ne_bytes());
            }
            let v6 = Ipv6Addr::from(bytes);
            Some(match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            })
        }
        _ => None,
    }
}

/// One line of `/proc/net/unix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixEntry {
    pub flags: u32,
    /// Socket type (1 = stream, 2 = dgram, 5 = seqpacket).
    pub kind: u16,
    /// Socket state (`St` column).
    pub state: u8,
    pub inode: u64,
    /// Bound path; abstract names start with `@`.
    pub path: Option<String>,
}

impl UnixEntry {
    /// A listening socket (`__SO_ACCEPTCON` set).
    pub fn is_listen(&self) -> bool {
        self.flags & UNIX_ACCEPTCON != 0
    }
}

/// Parse `/proc/net/unix`. The header line and malformed lines are skipped.
pub fn parse_unix(text: &str) -> Vec<UnixEntry> {
    text.lines().filter_map(parse_unix_line).collect()
}

fn parse_unix_line(line: &str) -> Option<UnixEntry> {
    // Num RefCount Protocol Flags Type St Inode [Path]
    let mut rest = line.trim_start();
    let mut cols: [&str; 7] = [""; 7];
    for col in cols.iter_mut() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (c, r) = rest.split_at(end);
        if c.is_empty() {
            return None;
        }
        *col = c;
        rest = r.trim_start();
    }
    let [num, _refcount, _proto, flags, kind, state, inode] = cols;
    if !num.ends_with(':') {
        return None;
    }
    let flags = u32::from_str_radix(flags, 16).ok()?;
    let kind = u16::from_str_radix(kind, 16).ok()?;
    let state = u8::from_str_radix(state, 16).ok()?;
    let inode = inode.parse::<u64>().ok()?;
    // The path is the remainder of the line (it may contain spaces).
    let path = rest.trim_end_matches(['\n', '\r']);
    let path = if path.is_empty() {
        None
    } else {
        Some(path.to_string())
    };
    Some(UnixEntry {
        flags,
        kind,
        state,
        inode,
        path,
    })
}

/// The fields of `/proc/PID/stat` that dockhard uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatFields {
    pub comm: String,
    pub state: char,
    pub ppid: u32,
    /// Field 22: start time in clock ticks after boot.
    pub starttime: u64,
}

/// Parse `/proc/PID/stat`. The command name is between the first `(` and the
/// LAST `)` (it may itself contain parentheses and spaces).
pub fn parse_stat(text: &str) -> Option<StatFields> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let rest = text.get(close + 1..)?;
    // Fields after comm: 3 state, 4 ppid, ..., 22 starttime.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let ppid = fields.get(1)?.parse::<u32>().ok()?;
    let starttime = fields.get(22 - 3)?.parse::<u64>().ok()?;
    Some(StatFields {
        comm,
        state,
        ppid,
        starttime,
    })
}

/// A `Key:\tvalue` field of `/proc/PID/status`.
pub fn status_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then(|| v.trim())
    })
}

/// The real uid from `/proc/PID/status` (`Uid:` first column).
pub fn parse_status_uid(text: &str) -> Option<u32> {
    status_field(text, "Uid")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The parent pid from `/proc/PID/status` (`PPid:`).
pub fn parse_status_ppid(text: &str) -> Option<u32> {
    status_field(text, "PPid")?.parse().ok()
}

/// The systemd unit of a process from `/proc/PID/cgroup`: the last path
/// component ending in `.service`, preferring the unified (`0::`) and
/// `name=systemd` hierarchies.
pub fn parse_cgroup_unit(text: &str) -> Option<String> {
    let mut best: Option<(u8, String)> = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_id), Some(ctrl), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let unit = path
            .split('/')
            .rev()
            .find(|c| c.len() > ".service".len() && c.ends_with(".service"));
        let Some(unit) = unit else { continue };
        let rank = match ctrl {
            "" => 3,
            "name=systemd" => 2,
            _ => 1,
        };
        if best.as_ref().is_none_or(|(r, _)| rank > *r) {
            best = Some((rank, unit.to_string()));
        }
    }
    best.map(|(_, u)| u)
}

/// `btime` (boot time, unix seconds) from `/proc/stat`.
pub fn parse_btime(text: &str) -> Option<i64> {
    text.lines().find_map(|l| {
        let v = l.strip_prefix("btime")?;
        if !v.starts_with(char::is_whitespace) {
            return None;
        }
        v.trim().parse().ok()
    })
}

/// The inode of a `/proc/PID/fd/N` link target `socket:[12345]`.
pub fn parse_socket_link(target: &str) -> Option<u64> {
    target
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Split a NUL-separated `/proc/PID/cmdline` (a trailing NUL ends the last
/// argument, it does not start an empty one).
pub fn split_nul(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Whether dockhard may store this environment variable of a daemon. Only
/// the variables dockerd's configuration depends on, by exact name (a
/// `DOCKER_` prefix would also let in `DOCKER_AUTH_CONFIG` and other
/// credentials); every other variable may hold a secret and is never
/// stored. `ROOTLESSKIT_*` and `_DOCKERD_ROOTLESS_*` are paths and ids set
/// by rootlesskit.
pub fn env_whitelisted(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "HOME",
        "USER",
        "XDG_CONFIG_HOME",
        "XDG_RUNTIME_DIR",
        "XDG_DATA_HOME",
        "DOCKER_CERT_PATH",
        "DOCKER_CONFIG",
        "DOCKER_TLS_VERIFY",
        "DOCKER_DRIVER",
        "DOCKER_TMPDIR",
        "DOCKER_RAMDISK",
    ];
    const PREFIX: &[&str] = &["ROOTLESSKIT_", "_DOCKERD_ROOTLESS_"];
    EXACT.contains(&name)
        || PREFIX
            .iter()
            .any(|p| name.starts_with(p) && name.len() > p.len())
}

/// Parse `/proc/PID/environ` keeping only [`env_whitelisted`] variables.
pub fn parse_environ(bytes: &[u8]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in bytes.split(|b| *b == 0) {
        let Some(eq) = entry.iter().position(|b| *b == b'=') else {
            continue;
        };
        let (name, value) = entry.split_at(eq);
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if !env_whitelisted(name) {
            continue;
        }
        let value = value.get(1..).unwrap_or_default();
        out.insert(
            name.to_string(),
            String::from_utf8_lossy(value).into_owned(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn le_or_be(v4: [u8; 4]) -> String {
        format!("{:08X}", u32::from_ne_bytes(v4))
    }

    #[test]
    fn tcp_v4_listen() {
        let addr = le_or_be([127, 0, 0, 1]);
        let text = format!(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: {addr}:0947 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n   1: 00000000:0016 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 77 1\n"
        );
        let e = parse_tcp(&text);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].local, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(e[0].local_port, 2375);
        assert!(e[0].is_listen());
        assert_eq!(e[0].inode, 4242);
        assert_eq!(e[1].local, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(e[1].local_port, 22);
        assert!(!e[1].is_listen());
    }

    fn v6_hex(a: Ipv6Addr) -> String {
        a.octets()
            .chunks(4)
            .map(|c| format!("{:08X}", u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
            .collect()
    }

    #[test]
    fn tcp_v6_and_mapped() {
        let any = v6_hex(Ipv6Addr::UNSPECIFIED);
        let lo = v6_hex(Ipv6Addr::LOCALHOST);
        let mapped = v6_hex(Ipv4Addr::new(10, 1, 2, 3).to_ipv6_mapped());
        let text = format!(
            "  sl  local_address remote_address st ...\n   0: {any}:0948 {any}:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11 1\n   1: {lo}:0001 {any}:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12 1\n   2: {mapped}:0002 {any}:0000 0A 00000000:00000000 00:00000000 00000000     0        0 13 1\n"
        );
        let e = parse_tcp(&text);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].local, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        assert_eq!(e[0].local_port, 2376);
        assert_eq!(e[1].local, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(e[2].local, IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(e[2].inode, 13);
    }

    #[test]
    fn hex_addr_rejects_bad() {
        assert_eq!(parse_hex_addr("0100007"), None);
        assert_eq!(parse_hex_addr("+100007F"), None);
        assert_eq!(parse_hex_addr("0100007G"), None);
        assert_eq!(parse_hex_addr(""), None);
    }

    #[test]
    fn unix_lines() {
        let text = "Num       RefCount Protocol Flags    Type St Inode Path\n\
0000000012ef36e7: 00000002 00000000 00010000 0001 01 23456 /var/run/docker.sock\n\
00000000795601eb: 00000003 00000000 00000000 0001 03 1219\n\
00000000795601ec: 00000002 00000000 00010000 0001 01 777 @/containerd-shim/x.sock\n\
00000000795601ed: 00000002 00000000 00010000 0001 01 778 /tmp/with space.sock\n";
        let e = parse_unix(text);
        assert_eq!(e.len(), 4);
        assert!(e[0].is_listen());
        assert_eq!(e[0].inode, 23456);
        assert_eq!(e[0].path.as_deref(), Some("/var/run/docker.sock"));
        assert!(!e[1].is_listen());
        assert_eq!(e[1].path, None);
        assert_eq!(e[2].path.as_deref(), Some("@/containerd-shim/x.sock"));
        assert_eq!(e[3].path.as_deref(), Some("/tmp/with space.sock"));
    }

    #[test]
    fn stat_with_parens_in_comm() {
        let mut s = String::from("1234 (my) (proc)) S 77");
        for i in 5..=21 {
            s.push_str(&format!(" {i}"));
        }
        s.push_str(" 987654 0 0\n");
        let f = parse_stat(&s).unwrap();
        assert_eq!(f.comm, "my) (proc)");
        assert_eq!(f.state, 'S');
        assert_eq!(f.ppid, 77);
        assert_eq!(f.starttime, 987654);
        assert_eq!(parse_stat("1 (x) S"), None);
        assert_eq!(parse_stat(""), None);
    }

    #[test]
    fn stat_of_this_process() {
        let text = std::fs::read_to_string("/proc/self/stat").unwrap();
        let f = parse_stat(&text).unwrap();
        assert!(f.starttime > 0);
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        assert_eq!(parse_status_ppid(&status), Some(f.ppid));
        assert_eq!(
            parse_status_uid(&status),
            Some(unsafe { libc::getuid() } as u32)
        );
    }

    #[test]
    fn status_fields() {
        let t = "Name:\tdockerd\nUid:\t1000\t0\t0\t0\nPPid:\t42\n";
        assert_eq!(parse_status_uid(t), Some(1000));
        assert_eq!(parse_status_ppid(t), Some(42));
        assert_eq!(parse_status_uid("Uid:\n"), None);
    }

    #[test]
    fn cgroup_units() {
        assert_eq!(
            parse_cgroup_unit("0::/system.slice/docker.service\n").as_deref(),
            Some("docker.service")
        );
        assert_eq!(
            parse_cgroup_unit(
                "12:pids:/system.slice/other.service\n1:name=systemd:/system.slice/docker.service\n"
            )
            .as_deref(),
            Some("docker.service")
        );
        assert_eq!(
            parse_cgroup_unit(
                "0::/user.slice/user-1000.slice/user@1000.service/app.slice/docker.service\n"
            )
            .as_deref(),
            Some("docker.service")
        );
        assert_eq!(
            parse_cgroup_unit("0::/user.slice/user-1000.slice/session-3.scope\n"),
            None
        );
        assert_eq!(parse_cgroup_unit("0::/.service\n"), None);
        assert_eq!(parse_cgroup_unit("0::/\n"), None);
    }

    #[test]
    fn btime_and_links() {
        assert_eq!(
            parse_btime("cpu 1 2 3\nbtime 1700000000\nprocesses 5\n"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_btime("btimex 5\n"), None);
        assert_eq!(parse_socket_link("socket:[123]"), Some(123));
        assert_eq!(parse_socket_link("pipe:[123]"), None);
        assert_eq!(parse_socket_link("socket:[]"), None);
    }

    #[test]
    fn nul_split_and_env() {
        assert_eq!(
            split_nul(b"dockerd\0-H\0fd://\0"),
            ["dockerd", "-H", "fd://"]
        );
        assert_eq!(split_nul(b"a\0\0b"), ["a", "", "b"]);
        assert!(split_nul(b"").is_empty());
        let env = parse_environ(
            b"PATH=/bin\0HOME=/root\0DOCKER_CERT_PATH=/c\0AWS_SECRET=x\0NOTIFY_SOCKET=/run/n\0ROOTLESSKIT_STATE_DIR=/s\0DOCKER_=no\0XDG_RUNTIME_DIR=/run/user/1\0junk\0",
        );
        let keys: Vec<&str> = env.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "DOCKER_CERT_PATH",
                "HOME",
                "ROOTLESSKIT_STATE_DIR",
                "XDG_RUNTIME_DIR"
            ]
        );
        assert_eq!(env["HOME"], "/root");
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC*") {
            let _ = parse_tcp(&s);
            let _ = parse_unix(&s);
            let _ = parse_stat(&s);
            let _ = parse_status_uid(&s);
            let _ = parse_status_ppid(&s);
            let _ = parse_cgroup_unit(&s);
            let _ = parse_btime(&s);
            let _ = parse_socket_link(&s);
            let _ = parse_hex_addr(&s);
            let _ = split_nul(s.as_bytes());
            let _ = parse_environ(s.as_bytes());
        }

        #[test]
        fn structured_lines_never_panic(
            cols in proptest::collection::vec("[0-9A-Fa-f:()\\[\\] ]{0,40}", 0..14)
        ) {
            let line = cols.join(" ");
            let _ = parse_tcp(&line);
            let _ = parse_unix(&line);
            let _ = parse_stat(&line);
            let _ = parse_cgroup_unit(&line);
        }

        #[test]
        fn tcp_roundtrip(a in any::<[u8; 4]>(), port in any::<u16>(), inode in any::<u64>(), st in any::<u8>()) {
            let line = format!(
                "   0: {}:{port:04X} 00000000:0000 {st:02X} 00000000:00000000 00:00000000 00000000     0        0 {inode} 1",
                le_or_be(a)
            );
            let e = parse_tcp(&line);
            prop_assert_eq!(e.len(), 1);
            prop_assert_eq!(e[0].local, IpAddr::V4(Ipv4Addr::from(a)));
            prop_assert_eq!(e[0].local_port, port);
            prop_assert_eq!(e[0].inode, inode);
            prop_assert_eq!(e[0].state, st);
        }

        #[test]
        fn tcp6_roundtrip(a in any::<[u8; 16]>(), port in any::<u16>()) {
            let v6 = Ipv6Addr::from(a);
            let line = format!(
                "   0: {}:{port:04X} {}:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9 1",
                v6_hex(v6), v6_hex(Ipv6Addr::UNSPECIFIED)
            );
            let e = parse_tcp(&line);
            prop_assert_eq!(e.len(), 1);
            let want = match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            };
            prop_assert_eq!(e[0].local, want);
            prop_assert_eq!(e[0].local_port, port);
        }

        #[test]
        fn unix_roundtrip(flags in any::<u32>(), inode in any::<u64>(), path in "(/[a-z ._-]{1,20}){0,3}") {
            let line = format!("00000000deadbeef: 00000002 00000000 {flags:08X} 0001 01 {inode} {path}");
            let e = parse_unix(&line);
            prop_assert_eq!(e.len(), 1);
            prop_assert_eq!(e[0].flags, flags);
            prop_assert_eq!(e[0].inode, inode);
            let want = if path.trim().is_empty() { None } else { Some(path.trim_start().to_string()) };
            prop_assert_eq!(e[0].path.clone(), want);
        }

        #[test]
        fn credentials_in_the_environment_are_never_kept(secret in "[a-z0-9]{8}") {
            let bytes = format!(
                "DOCKER_AUTH_CONFIG={secret}\0AWS_SECRET_ACCESS_KEY={secret}\0DOCKER_CERT_PATH=/etc/docker\0HTTPS_PROXY=http://u:{secret}@p\0"
            );
            let env = parse_environ(bytes.as_bytes());
            prop_assert_eq!(env.keys().collect::<Vec<_>>(), ["DOCKER_CERT_PATH"]);
        }

        #[test]
        fn environ_keeps_only_whitelist(vars in proptest::collection::vec(("[A-Z_]{1,12}", "[ -~]{0,10}"), 0..10)) {
            let mut bytes = Vec::new();
            for (k, v) in &vars {
                bytes.extend_from_slice(format!("{k}={v}\0").as_bytes());
            }
            let env = parse_environ(&bytes);
            for k in env.keys() {
                prop_assert!(env_whitelisted(k));
            }
        }
    }
}
