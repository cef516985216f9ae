//! Small helpers.

use super::*;

/// A loopback TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind 127.0.0.1:0: {e}"));
    l.local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"))
        .port()
}

/// Poll `f` every 100 ms until it gives `Some`, or `None` after `timeout`.
pub fn poll<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// The last `n` lines of a file (for failure messages).
pub fn tail(path: &Path, n: usize) -> String {
    match fs::read(path) {
        Ok(b) => {
            let t = String::from_utf8_lossy(&b);
            let lines: Vec<&str> = t.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("({}: {e})", path.display()),
    }
}

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

pub fn send_signal(pid: u32, sig: libc::c_int) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    // SAFETY: kill(2) with a specific positive pid.
    if pid > 0 && unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Decode the octal escapes (`\040`) of /proc/self/mountinfo.
pub fn unescape_mount(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && let Some(v) = s
                .get(i + 1..i + 4)
                .and_then(|o| u8::from_str_radix(o, 8).ok())
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Detach-unmount everything mounted at or under `dir`, deepest first.
pub fn unmount_under(dir: &Path) {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let prefix = dir.as_os_str().as_bytes();
    let mut points: Vec<Vec<u8>> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mount)
        .filter(|p| p == prefix || (p.starts_with(prefix) && p.get(prefix.len()) == Some(&b'/')))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    points.dedup();
    for p in points {
        if let Ok(c) = std::ffi::CString::new(p.clone()) {
            // SAFETY: a valid NUL-terminated path.
            let rc = unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
            if rc != 0 {
                eprintln!(
                    "harness: umount {}: {}",
                    String::from_utf8_lossy(&p),
                    io::Error::last_os_error()
                );
            }
        }
    }
}

/// Pids of processes whose command line mentions `dir` (the daemon's
/// containerd, shims: all started by the daemon in that unique directory).
pub fn processes_under(dir: &Path) -> Vec<u32> {
    let needle = dir.as_os_str().as_bytes();
    let me = std::process::id();
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|&pid| pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| c.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
        })
        .collect()
}

/// `roots` and all their descendants (by the parent pid of /proc/PID/stat).
pub fn with_descendants(roots: &[u32]) -> Vec<u32> {
    let me = std::process::id();
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // `PID (COMM) STATE PPID ...`; COMM may hold spaces and parentheses.
        let rest = stat.get(stat.rfind(')')? + 1..)?;
        rest.split_whitespace().nth(1)?.parse().ok()
    };
    let links: Vec<(u32, u32)> = fs::read_dir("/proc")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
                .filter_map(|pid| parent_of(pid).map(|ppid| (pid, ppid)))
                .collect()
        })
        .unwrap_or_default();
    let mut all: Vec<u32> = roots.to_vec();
    let mut i = 0;
    while let Some(&p) = all.get(i) {
        for &(pid, ppid) in &links {
            if ppid == p && pid != me && pid > 1 && !all.contains(&pid) {
                all.push(pid);
            }
        }
        i += 1;
    }
    all
}
