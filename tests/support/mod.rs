//! Real-daemon test harness for the live integration tests.
//!
//! - [`live`]: requirements check (root, dockerd, docker CLI, static busybox,
//!   openssl, curl, tar) plus the lock every live test holds: shared
//!   ([`live`]) for a test whose daemons are isolated, exclusive
//!   ([`live_exclusive`]) for one that must see no other dockerd. Missing
//!   requirements fail the test: every live test is `#[ignore]`d (a plain
//!   `cargo test` reports it ignored) and runs only when asked for
//!   (`--include-ignored`, as `scripts/test` does), so it never passes
//!   without running.
//! - [`Daemon`]: a private dockerd in a unique directory under /tmp and in a
//!   network namespace of its own ([`netns::Netns`]: its own `docker0` and
//!   iptables, never the host's), stopped (and its directory unmounted and
//!   removed, its namespace deleted) on drop. [`Daemon::command`] runs a
//!   program in its namespace (dockhard, curl, the docker CLI over TCP).
//! - [`AuthzPlugin`]: a real authorization plugin on /run/docker/plugins that
//!   allows everything and counts what the daemon asked.
//! - [`Certs`]: a CA, a server and a client certificate made with `openssl`.
//! - [`SyslogListener`], [`free_port`], [`http_unix`]: small helpers.
//! - [`supervisor`]: dockerd run from a unit file by a test "service
//!   manager" (the `fix --apply` tests).
//! - [`run_bounded`]: run a program with a hard deadline and measure its
//!   wall time, peak RSS and bytes read ([`Measured`]).
//! - [`FakeDockerd`]: a process whose executable is named `dockerd`, with
//!   the command line and the (inherited) listening sockets a test gives it.
//! - [`need_root`]: like [`live`] for tests that only need root (fails
//!   without it; such tests are `#[ignore]`d like the live ones).
//! - [`engines`], [`engine`]: the host's dockerd and the newer engines
//!   `scripts/engines` fetched (read from the manifest [`ENGINES_ENV`]
//!   names), started with [`DaemonOpts::engine`]. A missing one fails the
//!   test.
//!
//! - [`verdicts`]: the expected seed verdicts shared by the offline fixture
//!   tests and the live seed suite.
//!
//! One file per job: this file (requirements, the lock), `engines.rs`,
//! `daemon.rs`, `http.rs`, `authz.rs`, `certs.rs`, `syslog.rs`,
//! `bounded.rs` ([`run_bounded`] and its launcher), `fake_dockerd.rs`,
//! `attempt.rs` (one start attempt of an engine, for the oracle),
//! `helpers.rs`; everything is re-exported here (`support::Daemon`, ...).
//! Both test binaries (`tests/offline`, `tests/live`) include it once.
//!
//! Everything here panics with a message naming what failed (and, for a
//! daemon, the tail of its log): it is test support code.

#![allow(dead_code)]

pub mod netns;
pub mod supervisor;
pub mod verdicts;
pub mod watch;

mod attempt;
mod authz;
mod bounded;
mod certs;
mod daemon;
mod dockhard;
mod engines;
mod fake_dockerd;
mod helpers;
mod http;
mod syslog;

#[allow(unused_imports)]
pub use attempt::*;
#[allow(unused_imports)]
pub use authz::*;
#[allow(unused_imports)]
pub use bounded::*;
#[allow(unused_imports)]
pub use certs::*;
#[allow(unused_imports)]
pub use daemon::*;
#[allow(unused_imports)]
pub use dockhard::*;
#[allow(unused_imports)]
pub use engines::*;
#[allow(unused_imports)]
pub use fake_dockerd::*;
#[allow(unused_imports)]
pub use helpers::*;
#[allow(unused_imports)]
pub use http::*;
#[allow(unused_imports)]
pub use syslog::*;

pub use netns::Netns;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// File locked (flock) by every live test, across test binaries and
/// processes: shared by a test whose daemons run in namespaces of their own
/// ([`live`]), exclusive by one that must see no other dockerd on the host
/// ([`live_exclusive`]: it runs dockhard without `--pid`, or scans /proc).
pub const LOCK_FILE: &str = "/tmp/dockhard-live.lock";
/// The reason every live test is `#[ignore]`d with (`scripts/test` runs
/// them with `--include-ignored`).
pub const LIVE_IGNORE: &str = "live: needs root and dockerd; scripts/test runs it";
/// Image built by [`Daemon::busybox_image`].
pub const IMAGE: &str = "dh-busybox";
/// How long a daemon may take to answer `/_ping`.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a daemon may take to stop after SIGTERM before SIGKILL.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------
// Requirements and the global lock
// ---------------------------------------------------------------------------

/// The external programs the live tests use.
#[derive(Debug, Clone)]
pub struct Tools {
    pub dockerd: PathBuf,
    pub docker: PathBuf,
    pub busybox: PathBuf,
    pub openssl: PathBuf,
    pub curl: PathBuf,
    pub tar: PathBuf,
}

fn find_program(candidates: &[&str], name: &str) -> Option<PathBuf> {
    for c in candidates {
        let p = Path::new(c);
        if is_executable(p) {
            return Some(p.to_path_buf());
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// True when the ELF file at `p` has no program interpreter (statically
/// linked), so it runs in an image that has nothing else.
fn is_static_elf(p: &Path) -> Result<bool, String> {
    let data = fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let get = |off: usize, len: usize| off.checked_add(len).and_then(|end| data.get(off..end));
    if get(0, 4) != Some(b"\x7fELF".as_slice()) || data.get(4) != Some(&2) {
        return Err(format!("{}: not a 64-bit ELF file", p.display()));
    }
    let u64_at = |off| get(off, 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let u16_at = |off| get(off, 2).map(|b| u16::from_le_bytes(b.try_into().unwrap_or([0; 2])));
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return Err(format!("{}: truncated ELF header", p.display()));
    };
    for i in 0..usize::from(phnum) {
        let off = usize::try_from(phoff)
            .ok()
            .and_then(|o| o.checked_add(i * usize::from(phentsize)));
        match off.and_then(|o| get(o, 4)) {
            Some(b) if u32::from_le_bytes(b.try_into().unwrap_or([0; 4])) == 3 => return Ok(false),
            Some(_) => {}
            None => return Err(format!("{}: truncated program headers", p.display())),
        }
    }
    Ok(true)
}

fn check_requirements() -> Result<Tools, String> {
    let mut missing = Vec::new();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        missing.push("not running as root (dockerd needs root)".to_string());
    }
    let mut need = |cands: &[&str], name: &str, pkg: &str| {
        let p = find_program(cands, name);
        if p.is_none() {
            missing.push(format!("`{name}` not found (package {pkg})"));
        }
        p
    };
    let dockerd = need(
        &["/usr/bin/dockerd", "/usr/sbin/dockerd"],
        "dockerd",
        "docker.io",
    );
    // The CLI of the same package first (its API version matches the daemon).
    let docker = need(&["/usr/bin/docker"], "docker", "docker.io");
    let busybox = need(
        &["/bin/busybox", "/usr/bin/busybox"],
        "busybox",
        "busybox-static",
    );
    let openssl = need(&["/usr/bin/openssl"], "openssl", "openssl");
    let curl = need(&["/usr/bin/curl"], "curl", "curl");
    let tar = need(&["/usr/bin/tar", "/bin/tar"], "tar", "tar");
    if let Some(b) = &busybox {
        match is_static_elf(b) {
            Ok(true) => {}
            Ok(false) => missing.push(format!(
                "{} is dynamically linked (install busybox-static)",
                b.display()
            )),
            Err(e) => missing.push(e),
        }
    }
    match (dockerd, docker, busybox, openssl, curl, tar) {
        (Some(dockerd), Some(docker), Some(busybox), Some(openssl), Some(curl), Some(tar))
            if missing.is_empty() =>
        {
            Ok(Tools {
                dockerd,
                docker,
                busybox,
                openssl,
                curl,
                tar,
            })
        }
        _ => Err(missing.join("; ")),
    }
}

/// The tools, or why the live tests cannot run here (checked once).
pub fn requirements() -> Result<&'static Tools, String> {
    static REQ: OnceLock<Result<Tools, String>> = OnceLock::new();
    REQ.get_or_init(check_requirements)
        .as_ref()
        .map_err(|e| e.clone())
}

/// Held by a live test for its whole duration: the process-wide lock and
/// a flock on [`LOCK_FILE`], both shared ([`live`]) or both exclusive
/// ([`live_exclusive`]). Declare it first in a test so it is dropped last
/// (after the daemons).
pub struct Live {
    pub tools: &'static Tools,
    test: String,
    started: Instant,
    _flock: fs::File,
    _lock: Held,
}

/// The process-wide half of a [`Live`]'s lock.
enum Held {
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    Exclusive(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
}

impl Drop for Live {
    fn drop(&mut self) {
        loud(&format!(
            "[live] {} {} in {:.1} s",
            self.test,
            if thread::panicking() {
                "FAILED"
            } else {
                "done"
            },
            self.started.elapsed().as_secs_f64()
        ));
    }
}

static LOCK: RwLock<()> = RwLock::new(());

/// Write a line to the real standard error, past libtest's output capture
/// (which only intercepts the print macros), so it shows for passing tests.
pub fn loud(msg: &str) {
    let mut e = io::stderr().lock();
    let _ = writeln!(e, "{msg}");
}

/// The requirements of the live tests, or a panic naming what is missing:
/// a live test that runs (`--include-ignored`) never passes without them.
pub fn require(test: &str) -> &'static Tools {
    requirements().unwrap_or_else(|why| {
        panic!(
            "live test `{test}` cannot run: {why} (run scripts/test as root; it installs the \
             packages). Live tests are ignored by a plain `cargo test`; run explicitly, a \
             missing requirement is a failure"
        )
    })
}

/// Enter a live test whose daemons are isolated (each in its own network
/// namespace): `let live = support::live("name");`. Holds the lock shared,
/// so such tests run in parallel; panics without the requirements.
pub fn live(test: &str) -> Live {
    enter(test, false)
}

/// Enter a live test that must see no other dockerd of the host (it runs
/// dockhard without `--pid`, or lists /proc): the lock exclusively, so it
/// runs alone among the live tests of every binary.
pub fn live_exclusive(test: &str) -> Live {
    enter(test, true)
}

fn enter(test: &str, exclusive: bool) -> Live {
    let tools = require(test);
    let held = if exclusive {
        Held::Exclusive(LOCK.write().unwrap_or_else(|p| p.into_inner()))
    } else {
        Held::Shared(LOCK.read().unwrap_or_else(|p| p.into_inner()))
    };
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK_FILE)
        .unwrap_or_else(|e| panic!("{LOCK_FILE}: {e}"));
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    };
    // SAFETY: flock on a valid, owned descriptor.
    let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
    if rc != 0 {
        panic!("flock {LOCK_FILE}: {}", io::Error::last_os_error());
    }
    Live {
        tools,
        test: test.to_string(),
        started: Instant::now(),
        _flock: file,
        _lock: held,
    }
}

/// A new network namespace ([`Netns::new`]) for a daemon, shared with what
/// a test binds before starting it ([`SyslogListener::start_in`],
/// [`DaemonOpts::netns`]); panics when it cannot be made.
pub fn netns() -> Arc<Netns> {
    Arc::new(Netns::new().unwrap_or_else(|e| panic!("network namespace: {e}")))
}
