//! Reading /proc: finding dockerd processes, their argv, environment,
//! identity, sockets, and the host's TCP listeners.

use crate::parse::procnet::{self, TcpEntry};
use crate::snapshot::{DaemonEvidence, HostListener, ProcessInfo, SocketAddrText};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::files::io_error_text;

/// Largest /proc file read (net tables on busy hosts are large).
const MAX_PROC_BYTES: u64 = 32 * 1024 * 1024;

/// A /proc tree (normally `/proc`).
#[derive(Debug, Clone)]
pub struct Proc {
    base: PathBuf,
}

impl Default for Proc {
    fn default() -> Self {
        Proc {
            base: PathBuf::from("/proc"),
        }
    }
}

/// How a process was recognised as dockerd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// `/proc/PID/exe` names an executable called `dockerd`.
    Dockerd,
    /// The exe link could not be read (permission) but `comm` is `dockerd`.
    DockerdByComm(String),
    /// Something else: the reason, for error messages.
    NotDockerd(String),
}

impl Proc {
    pub fn new(base: impl Into<PathBuf>) -> Self {
        Proc { base: base.into() }
    }

    fn path(&self, pid: u32, name: &str) -> PathBuf {
        self.base.join(pid.to_string()).join(name)
    }

    /// Read a /proc file, bounded.
    pub fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let f = std::fs::File::open(path)?;
        let mut buf = Vec::new();
        f.take(MAX_PROC_BYTES).read_to_end(&mut buf)?;
        Ok(buf)
    }

    fn read_text(&self, path: &Path) -> io::Result<String> {
        self.read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// Every numeric entry of /proc.
    pub fn pids(&self) -> io::Result<Vec<u32>> {
        let mut pids: Vec<u32> = std::fs::read_dir(&self.base)?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }

    pub fn exists(&self, pid: u32) -> bool {
        self.base.join(pid.to_string()).is_dir()
    }

    /// Target of `/proc/PID/exe`.
    pub fn exe(&self, pid: u32) -> io::Result<String> {
        std::fs::read_link(self.path(pid, "exe")).map(|p| p.to_string_lossy().into_owned())
    }

    pub fn comm(&self, pid: u32) -> Option<String> {
        self.read_text(&self.path(pid, "comm"))
            .ok()
            .map(|s| s.trim_end_matches('\n').to_string())
    }

    /// Is this process a dockerd? Decided by the executable (never by the
    /// command line, which any process can set).
    pub fn identify(&self, pid: u32) -> Identity {
        match self.exe(pid) {
            Ok(exe) => {
                if exe_is_dockerd(&exe) {
                    Identity::Dockerd
                } else {
                    Identity::NotDockerd(format!("executable: {exe}"))
                }
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => match self.comm(pid) {
                Some(c) if c == "dockerd" => Identity::DockerdByComm(format!(
                    "pid {pid}: /proc/{pid}/exe: permission denied; recognised as dockerd by its process name"
                )),
                _ => Identity::NotDockerd(format!("/proc/{pid}/exe: permission denied")),
            },
            Err(e) => Identity::NotDockerd(format!("/proc/{pid}/exe: {}", io_error_text(&e))),
        }
    }

    /// Every running dockerd, and notes on how some were recognised.
    pub fn find_dockerds(&self) -> io::Result<(Vec<u32>, Vec<String>)> {
        let mut found = Vec::new();
        let mut notes = Vec::new();
        let me = std::process::id();
        for pid in self.pids()? {
            if pid == me {
                continue;
            }
            match self.identify(pid) {
                Identity::Dockerd => found.push(pid),
                Identity::DockerdByComm(note) => {
                    found.push(pid);
                    notes.push(note);
                }
                Identity::NotDockerd(_) => {}
            }
        }
        Ok((found, notes))
    }

    /// The processes of every container, by the 64-hex container id their
    /// cgroup path names (`/docker/ID`, `docker-ID.scope`), from one scan.
    pub fn container_processes(&self) -> BTreeMap<String, Vec<crate::snapshot::ContainerProcess>> {
        let mut out: BTreeMap<String, Vec<crate::snapshot::ContainerProcess>> = BTreeMap::new();
        let Ok(pids) = self.pids() else {
            return out;
        };
        for pid in pids {
            let Ok(cg) = self.read_text(&self.path(pid, "cgroup")) else {
                continue;
            };
            let Some(id) = cg.lines().find_map(container_id_in_cgroup) else {
                continue;
            };
            let Some(comm) = self.comm(pid) else { continue };
            let argv0 = self.argv(pid).ok().and_then(|a| a.into_iter().next());
            out.entry(id.to_string())
                .or_default()
                .push(crate::snapshot::ContainerProcess { pid, comm, argv0 });
        }
        out
    }

    /// argv from `/proc/PID/cmdline`.
    pub fn argv(&self, pid: u32) -> io::Result<Vec<String>> {
        self.read(&self.path(pid, "cmdline"))
            .map(|b| procnet::split_nul(&b))
    }

    /// Socket inodes among the open file descriptors of a process.
    pub fn socket_inodes(&self, pid: u32) -> io::Result<BTreeSet<u64>> {
        let mut out = BTreeSet::new();
        for entry in std::fs::read_dir(self.path(pid, "fd"))? {
            let Ok(entry) = entry else { continue };
            if let Ok(target) = std::fs::read_link(entry.path())
                && let Some(inode) = target.to_str().and_then(procnet::parse_socket_link)
            {
                out.insert(inode);
            }
        }
        Ok(out)
    }

    /// TCP sockets (v4 and v6) of the network namespace of `pid` (or of
    /// this process with `None`).
    pub fn tcp_table(&self, pid: Option<u32>) -> (Vec<TcpEntry>, Vec<String>) {
        let dir = match pid {
            Some(p) => self.base.join(p.to_string()).join("net"),
            None => self.base.join("net"),
        };
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for name in ["tcp", "tcp6"] {
            let p = dir.join(name);
            match self.read_text(&p) {
                Ok(t) => entries.extend(procnet::parse_tcp(&t)),
                // No IPv6 in the kernel: no tcp6 table, nothing to report.
                Err(e) if e.kind() == io::ErrorKind::NotFound && name == "tcp6" => {}
                Err(e) => errors.push(format!("{}: {}", p.display(), io_error_text(&e))),
            }
        }
        (entries, errors)
    }

    /// Evidence about one dockerd.
    pub fn daemon(&self, pid: u32, btime: Option<i64>) -> DaemonEvidence {
        let mut d = DaemonEvidence {
            pid,
            ..DaemonEvidence::default()
        };
        match self.exe(pid) {
            Ok(exe) => d.exe = Some(exe),
            Err(e) => d_errors_push(&mut d.errors, pid, "exe", &e),
        }
        match self.argv(pid) {
            Ok(a) if a.is_empty() => d.errors.push(format!(
                "/proc/{pid}/cmdline: empty (process exiting or still starting)"
            )),
            Ok(a) => d.argv = a,
            Err(e) => d_errors_push(&mut d.errors, pid, "cmdline", &e),
        }
        match self.read(&self.path(pid, "environ")) {
            Ok(b) => d.environ = procnet::parse_environ(&b),
            Err(e) => d_errors_push(&mut d.errors, pid, "environ", &e),
        }
        let mut ppid = None;
        match self.read_text(&self.path(pid, "status")) {
            Ok(t) => {
                d.uid = procnet::parse_status_uid(&t);
                ppid = procnet::parse_status_ppid(&t);
            }
            Err(e) => d_errors_push(&mut d.errors, pid, "status", &e),
        }
        match self.read_text(&self.path(pid, "stat")) {
            Ok(t) => match procnet::parse_stat(&t) {
                Some(st) => {
                    ppid = ppid.or(Some(st.ppid));
                    let tck = clock_ticks();
                    if let (Some(bt), Some(tck)) = (btime, tck) {
                        let secs = i64::try_from(st.starttime / tck).unwrap_or(i64::MAX);
                        d.start_time = Some(bt.saturating_add(secs));
                    }
                }
                None => d
                    .errors
                    .push(format!("/proc/{pid}/stat: unrecognised format")),
            },
            Err(e) => d_errors_push(&mut d.errors, pid, "stat", &e),
        }
        match self.read_text(&self.path(pid, "cgroup")) {
            Ok(t) => d.systemd_unit = procnet::parse_cgroup_unit(&t),
            Err(e) => d_errors_push(&mut d.errors, pid, "cgroup", &e),
        }
        if let Some(pp) = ppid.filter(|p| *p != 0) {
            d.parent = Some(ProcessInfo {
                pid: pp,
                comm: self.comm(pp),
                exe: self.exe(pp).ok(),
                argv: self.argv(pp).unwrap_or_default(),
            });
        }
        let inodes = match self.socket_inodes(pid) {
            Ok(i) => i,
            Err(e) => {
                d_errors_push(&mut d.errors, pid, "fd", &e);
                d.sockets_error = d.errors.last().cloned();
                BTreeSet::new()
            }
        };
        let (tcp, errs) = self.tcp_table(Some(pid));
        if d.sockets_error.is_none() {
            d.sockets_error = errs.first().cloned();
        }
        d.errors.extend(errs);
        let mut tcp_listeners: Vec<SocketAddrText> = tcp
            .iter()
            .filter(|e| e.is_listen() && inodes.contains(&e.inode))
            .map(|e| SocketAddrText {
                addr: e.local.to_string(),
                port: e.local_port,
            })
            .collect();
        tcp_listeners.sort();
        tcp_listeners.dedup();
        d.tcp_listeners = tcp_listeners;
        match self.read_text(&self.path(pid, "net/unix")) {
            Ok(t) => {
                let mut paths: Vec<String> = procnet::parse_unix(&t)
                    .into_iter()
                    .filter(|e| e.is_listen() && inodes.contains(&e.inode))
                    .filter_map(|e| e.path)
                    .collect();
                paths.sort();
                paths.dedup();
                d.unix_listeners = paths;
            }
            Err(e) => d_errors_push(&mut d.errors, pid, "net/unix", &e),
        }
        d
    }

    /// Map socket inode -> owning pid, over every process (first pid wins).
    /// The lowest pid holding each of the socket inodes `wanted` (sockets
    /// of this network namespace), scanning the processes in pid order and
    /// stopping once every one has an owner. Not read: processes of another
    /// network namespace (a container's: its sockets are in its own table)
    /// and the engine's container shims (`containerd-shim*`, which hold no
    /// TCP listeners), so that the cost does not grow with the containers:
    /// two links read for each of theirs, not every descriptor.
    pub fn owners_of(&self, wanted: &BTreeSet<u64>) -> BTreeMap<u64, u32> {
        let mut out = BTreeMap::new();
        if wanted.is_empty() {
            return out;
        }
        let own_netns = std::fs::read_link(self.base.join("self/ns/net")).ok();
        let skip = |pid: u32| {
            let netns = std::fs::read_link(self.path(pid, "ns/net")).ok();
            if own_netns.is_some() && netns.is_some() && netns != own_netns {
                return true;
            }
            self.exe(pid).is_ok_and(|e| {
                Path::new(e.strip_suffix(" (deleted)").unwrap_or(&e))
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("containerd-shim"))
            })
        };
        for pid in self.pids().unwrap_or_default() {
            if skip(pid) {
                continue;
            }
            if let Ok(inodes) = self.socket_inodes(pid) {
                for i in inodes {
                    if wanted.contains(&i) {
                        out.entry(i).or_insert(pid);
                    }
                }
            }
            if out.len() == wanted.len() {
                break;
            }
        }
        out
    }

    /// The processes of the one container `id` whose first process is
    /// `pid` (its `State.Pid`): that process's parent (the container's
    /// shim, which also adopts the processes of `docker exec`) and its
    /// descendants, by `/proc/PID/task/TID/children`, those whose cgroup
    /// names the container. `None` when that cannot be read here (another
    /// pid namespace, no children files): the caller asks the daemon.
    pub fn processes_of_container(
        &self,
        id: &str,
        pid: u32,
    ) -> Option<Vec<crate::snapshot::ContainerProcess>> {
        const MAX_PROCESSES: usize = 10_000;
        let in_container = |p: u32| {
            self.read_text(&self.path(p, "cgroup"))
                .ok()
                .is_some_and(|cg| {
                    cg.lines()
                        .filter_map(container_id_in_cgroup)
                        .any(|c| c == id)
                })
        };
        if !in_container(pid) {
            return None;
        }
        let stat = self.read_text(&self.path(pid, "stat")).ok()?;
        let parent = procnet::parse_stat(&stat)?.ppid;
        let mut todo = vec![if parent > 1 { parent } else { pid }];
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        while let Some(p) = todo.pop() {
            if !seen.insert(p) || seen.len() > MAX_PROCESSES {
                continue;
            }
            let tasks = std::fs::read_dir(self.base.join(p.to_string()).join("task")).ok();
            for t in tasks.into_iter().flatten().flatten() {
                if let Ok(kids) = self.read_text(&t.path().join("children")) {
                    todo.extend(
                        kids.split_whitespace()
                            .filter_map(|k| k.parse::<u32>().ok()),
                    );
                } else if p == pid || p == parent {
                    return None;
                }
            }
            if in_container(p)
                && let Some(comm) = self.comm(p)
            {
                let argv0 = self.argv(p).ok().and_then(|a| a.into_iter().next());
                out.push(crate::snapshot::ContainerProcess {
                    pid: p,
                    comm,
                    argv0,
                });
            }
        }
        out.sort_by_key(|c| c.pid);
        Some(out)
    }

    /// Every listening TCP socket of this network namespace, with its owner.
    pub fn host_listeners(&self) -> (Vec<HostListener>, Vec<String>) {
        let (tcp, errors) = self.tcp_table(None);
        let listening: BTreeSet<u64> = tcp
            .iter()
            .filter(|e| e.is_listen())
            .map(|e| e.inode)
            .collect();
        let owners = self.owners_of(&listening);
        let mut out: Vec<HostListener> = tcp
            .iter()
            .filter(|e| e.is_listen())
            .map(|e| {
                let pid = owners.get(&e.inode).copied();
                HostListener {
                    addr: e.local.to_string(),
                    port: e.local_port,
                    pid,
                    process: pid.and_then(|p| self.comm(p)),
                }
            })
            .collect();
        out.sort_by(|a, b| (a.port, &a.addr, a.pid).cmp(&(b.port, &b.addr, b.pid)));
        out.dedup();
        (out, errors)
    }

    /// `btime` from `/proc/stat`.
    pub fn boot_time(&self) -> Option<i64> {
        procnet::parse_btime(&self.read_text(&self.base.join("stat")).ok()?)
    }
}

fn d_errors_push(errors: &mut Vec<String>, pid: u32, what: &str, e: &io::Error) {
    let text = if e.kind() == io::ErrorKind::NotFound {
        "not found (process exited?)".to_string()
    } else {
        io_error_text(e)
    };
    errors.push(format!("/proc/{pid}/{what}: {text}"));
}

/// Whether an exe link target names dockerd (`/usr/bin/dockerd`, also after
/// the binary was replaced on disk: `/usr/bin/dockerd (deleted)`).
/// The container id in one line of /proc/PID/cgroup: the last path segment
/// that is 64 hex digits, bare or as `docker-ID.scope`.
pub fn container_id_in_cgroup(line: &str) -> Option<&str> {
    let path = line.splitn(3, ':').nth(2)?;
    path.rsplit('/').find_map(|seg| {
        let seg = seg.strip_prefix("docker-").unwrap_or(seg);
        let seg = seg.strip_suffix(".scope").unwrap_or(seg);
        (seg.len() == 64 && seg.bytes().all(|b| b.is_ascii_hexdigit())).then_some(seg)
    })
}

pub fn exe_is_dockerd(exe: &str) -> bool {
    let exe = exe.strip_suffix(" (deleted)").unwrap_or(exe);
    exe.rsplit('/').next() == Some("dockerd")
}

fn clock_ticks() -> Option<u64> {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).ok().filter(|t| *t > 0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::process::{Child, Command};

    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    pub(crate) fn wait_exec(pid: u32, want_exe_suffix: &str) {
        // The child becomes the target program once exec completes.
        for _ in 0..500 {
            // The exe link changes before the new argv is in place.
            if let Ok(e) = Proc::default().exe(pid)
                && e.ends_with(want_exe_suffix)
                && Proc::default()
                    .argv(pid)
                    .is_ok_and(|a| a.last().is_some_and(|l| l == "30"))
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("child {pid} never exec'd {want_exe_suffix}");
    }

    #[test]
    fn exe_names() {
        assert!(exe_is_dockerd("/usr/bin/dockerd"));
        assert!(exe_is_dockerd("/usr/sbin/dockerd (deleted)"));
        assert!(!exe_is_dockerd("/usr/bin/dockerd-rootless.sh"));
        assert!(!exe_is_dockerd("/usr/bin/sleep"));
        assert!(!exe_is_dockerd("/opt/dockerd/bin/x"));
    }

    #[test]
    fn decoy_with_dockerd_argv_is_not_matched() {
        // `exec -a dockerd sleep 30`: argv[0] says dockerd, the exe is sleep.
        use std::os::unix::process::CommandExt;
        let child = Command::new("sleep")
            .arg0("dockerd")
            .arg("30")
            .spawn()
            .unwrap();
        let child = Kill(child);
        let pid = child.0.id();
        wait_exec(pid, "sleep");
        assert_eq!(Proc::default().argv(pid).unwrap()[0], "dockerd");
        let (found, _) = Proc::default().find_dockerds().unwrap();
        assert!(!found.contains(&pid));
        assert!(matches!(
            Proc::default().identify(pid),
            Identity::NotDockerd(_)
        ));
        // `bash -c "echo dockerd"` style: a command line mentioning dockerd.
        let child2 = Kill(
            Command::new("sh")
                .args(["-c", "sleep 30; echo dockerd"])
                .spawn()
                .unwrap(),
        );
        let (found, _) = Proc::default().find_dockerds().unwrap();
        assert!(!found.contains(&child2.0.id()));
    }

    #[test]
    fn executable_named_dockerd_is_matched_with_its_sockets() {
        let d = tempfile::tempdir().unwrap();
        let exe = d.path().join("dockerd");
        // A python/perl-free fake daemon: a copy of `sleep` named dockerd
        // cannot listen, so use it only for identity and argv.
        std::fs::copy("/bin/sleep", &exe).unwrap();
        let child = Kill(
            Command::new(&exe)
                .args(["30"])
                .env("DOCKER_CERT_PATH", "/certs")
                .env("SECRET_TOKEN", "hunter2")
                .spawn()
                .unwrap(),
        );
        let pid = child.0.id();
        wait_exec(pid, "dockerd");
        let p = Proc::default();
        let (found, _) = p.find_dockerds().unwrap();
        assert!(found.contains(&pid), "{found:?}");
        let btime = p.boot_time();
        assert!(btime.is_some());
        let ev = p.daemon(pid, btime);
        assert_eq!(
            ev.argv,
            vec![exe.to_str().unwrap().to_string(), "30".into()]
        );
        assert_eq!(
            ev.environ.get("DOCKER_CERT_PATH").map(String::as_str),
            Some("/certs")
        );
        assert!(!ev.environ.contains_key("SECRET_TOKEN"));
        assert!(!ev.environ.contains_key("PATH"));
        assert_eq!(ev.uid, Some(unsafe { libc::getuid() }));
        assert_eq!(ev.parent.as_ref().map(|p| p.pid), Some(std::process::id()));
        let st = ev.start_time.unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!((now - st).abs() < 120, "start {st} now {now}");
        assert!(ev.errors.is_empty(), "{:?}", ev.errors);
    }

    #[test]
    fn own_listeners_are_found() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let d = tempfile::tempdir().unwrap();
        let sock = d.path().join("api.sock");
        let _u = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let p = Proc::default();
        let me = std::process::id();
        let ev = p.daemon(me, p.boot_time());
        assert!(
            ev.tcp_listeners.contains(&SocketAddrText {
                addr: "127.0.0.1".into(),
                port
            }),
            "{:?}",
            ev.tcp_listeners
        );
        assert!(
            ev.unix_listeners
                .contains(&sock.to_str().unwrap().to_string())
        );
        let (host, errs) = p.host_listeners();
        assert!(errs.is_empty(), "{errs:?}");
        let mine = host
            .iter()
            .find(|h| h.port == port && h.addr == "127.0.0.1")
            .unwrap();
        assert_eq!(mine.pid, Some(me));
        assert!(mine.process.is_some());
    }

    #[test]
    fn vanished_process_gives_errors_not_panics() {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let ev = Proc::default().daemon(pid, None);
        assert!(!ev.errors.is_empty());
        assert!(
            ev.errors
                .iter()
                .any(|e| e == &format!("/proc/{pid}/cmdline: not found (process exited?)")),
            "{:?}",
            ev.errors
        );
    }
}
