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
//! Everything here panics with a message naming what failed (and, for a
//! daemon, the tail of its log): it is test support code.

#![allow(dead_code)]

pub mod netns;
pub mod supervisor;

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

/// True when `CI` is set (to anything but empty, `0` or `false`).
pub fn on_ci() -> bool {
    match std::env::var("CI") {
        Ok(v) => !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")),
        Err(_) => false,
    }
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

// ---------------------------------------------------------------------------
// Engines: the host's dockerd and the newer ones scripts/engines fetched
// ---------------------------------------------------------------------------

/// Names the manifest `scripts/engines` writes (set by `scripts/test`).
pub const ENGINES_ENV: &str = "DOCKHARD_ENGINES";
/// The cache directory of `scripts/engines` (its manifest is
/// `CACHE/engines.tsv`), used when [`ENGINES_ENV`] is not set.
pub const ENGINE_CACHE_ENV: &str = "DOCKHARD_ENGINE_CACHE";
/// The default of [`ENGINE_CACHE_ENV`].
pub const DEFAULT_ENGINE_CACHE: &str = "/var/cache/dockhard-engines";
/// The release lines `scripts/engines` fetches (Debian 13 and unstable);
/// the host's own (Debian 12: 20.10) comes from [`Tools`].
pub const FETCHED_LINES: [&str; 2] = ["26.1", "28.5"];

/// One Docker Engine a test can start ([`DaemonOpts::engine`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    /// The upstream version of its dockerd, e.g. `28.5.2`.
    pub version: String,
    /// Its dockerd, run by path.
    pub dockerd: PathBuf,
    /// Directories put first on dockerd's PATH (its docker-proxy and
    /// docker-init, the containerd and shim it starts); empty for the host's.
    pub path_prefix: Vec<PathBuf>,
}

impl Engine {
    /// True when this is release `line` (`"28.5"`, `"28"` or `"28.5.2"`).
    pub fn is_line(&self, line: &str) -> bool {
        self.version == line
            || self
                .version
                .strip_prefix(line)
                .is_some_and(|rest| rest.starts_with('.'))
    }

    /// Its release line as numbers (`28.5.2` gives `(28, 5)`), for the
    /// tests' expectations of what a release does differently.
    pub fn release(&self) -> (u32, u32) {
        let mut parts = self
            .version
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    /// The PATH dockerd runs with: the prefix, then `path` (the current PATH).
    pub fn path_with(&self, path: Option<&std::ffi::OsStr>) -> Result<std::ffi::OsString, String> {
        let rest: Vec<PathBuf> = path
            .map(|p| std::env::split_paths(p).collect())
            .unwrap_or_default();
        std::env::join_paths(self.path_prefix.iter().chain(rest.iter()))
            .map_err(|e| format!("PATH for {}: {e}", self.dockerd.display()))
    }
}

/// The upstream version in `dockerd --version` output (`Docker version
/// 20.10.24+dfsg1, build 297e128` gives `20.10.24`).
pub fn dockerd_version(output: &str) -> Option<String> {
    let rest = output.trim().strip_prefix("Docker version ")?;
    let v: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (v.contains('.') && !v.starts_with('.') && !v.ends_with('.')).then_some(v)
}

/// `dockerd --version` of `dockerd` (run with `path_prefix` first on PATH).
pub fn run_dockerd_version(dockerd: &Path, path_prefix: &[PathBuf]) -> Result<String, String> {
    let e = Engine {
        version: String::new(),
        dockerd: dockerd.to_path_buf(),
        path_prefix: path_prefix.to_vec(),
    };
    let out = Command::new(dockerd)
        .arg("--version")
        .env("PATH", e.path_with(std::env::var_os("PATH").as_deref())?)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {} --version: {e}", dockerd.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "{} --version failed ({}): {}{}",
            dockerd.display(),
            out.status,
            text,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(text)
}

/// The manifest the fetched engines are read from.
pub fn engines_manifest() -> PathBuf {
    match std::env::var_os(ENGINES_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => std::env::var_os(ENGINE_CACHE_ENV)
            .filter(|c| !c.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ENGINE_CACHE))
            .join("engines.tsv"),
    }
}

/// Parse a manifest of `scripts/engines` (`#` comments; else VERSION, DOCKERD,
/// PATH_PREFIX (`:`-separated), then fields this ignores, TAB-separated).
/// Checks only the text; `source` names the file in errors.
pub fn parse_engines_manifest(text: &str, source: &Path) -> Result<Vec<Engine>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let at = || format!("{}:{}", source.display(), i + 1);
        let f: Vec<&str> = line.split('\t').collect();
        let [version, dockerd, prefix, ..] = f[..] else {
            return Err(format!(
                "{}: expected VERSION<TAB>DOCKERD<TAB>PATH_PREFIX, got {line:?}",
                at()
            ));
        };
        if dockerd_version(&format!("Docker version {version}")).as_deref() != Some(version) {
            return Err(format!("{}: {version:?} is not a version", at()));
        }
        let dockerd = PathBuf::from(dockerd);
        let path_prefix: Vec<PathBuf> = prefix
            .split(':')
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .collect();
        if let Some(p) = std::iter::once(&dockerd)
            .chain(path_prefix.iter())
            .find(|p| !p.is_absolute())
        {
            return Err(format!("{}: {} is not an absolute path", at(), p.display()));
        }
        out.push(Engine {
            version: version.to_string(),
            dockerd,
            path_prefix,
        });
    }
    Ok(out)
}

/// What [`engines`] found, once per test binary.
struct EngineSet {
    engines: Vec<&'static Engine>,
    /// Why an engine the tests expect is missing.
    missing: Vec<String>,
}

fn host_engine() -> Result<Engine, String> {
    let tools = requirements()?;
    let out = run_dockerd_version(&tools.dockerd, &[])?;
    let version = dockerd_version(&out).ok_or_else(|| {
        format!(
            "{} --version: no version in {out:?}",
            tools.dockerd.display()
        )
    })?;
    Ok(Engine {
        version,
        dockerd: tools.dockerd.clone(),
        path_prefix: Vec::new(),
    })
}

/// The fetched engines of the manifest, each checked on disk: its dockerd
/// runs and reports the manifest's version, its PATH directories exist.
fn fetched_engines(manifest: &Path) -> Result<Vec<Engine>, String> {
    let text = fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let engines = parse_engines_manifest(&text, manifest)?;
    for e in &engines {
        if !is_executable(&e.dockerd) {
            return Err(format!(
                "{}: {} (named by {}) is missing or not executable",
                e.version,
                e.dockerd.display(),
                manifest.display()
            ));
        }
        if let Some(d) = e.path_prefix.iter().find(|d| !d.is_dir()) {
            return Err(format!(
                "{}: {} (named by {}) is not a directory",
                e.version,
                d.display(),
                manifest.display()
            ));
        }
        let out = run_dockerd_version(&e.dockerd, &e.path_prefix)?;
        if dockerd_version(&out).as_deref() != Some(e.version.as_str()) {
            return Err(format!(
                "{} --version says {:?}, {} says {}",
                e.dockerd.display(),
                out.trim(),
                manifest.display(),
                e.version
            ));
        }
    }
    Ok(engines)
}

fn load_engines() -> EngineSet {
    let mut engines: Vec<&'static Engine> = Vec::new();
    let mut missing = Vec::new();
    match host_engine() {
        Ok(e) => engines.push(Box::leak(Box::new(e))),
        Err(why) => missing.push(format!("the host's engine: {why}")),
    }
    let manifest = engines_manifest();
    match fetched_engines(&manifest) {
        Ok(fetched) => {
            for e in fetched {
                if !engines.iter().any(|h| h.version == e.version) {
                    engines.push(Box::leak(Box::new(e)));
                }
            }
            for line in FETCHED_LINES {
                if !engines.iter().any(|e| e.is_line(line)) {
                    missing.push(format!("engine {line}: not in {}", manifest.display()));
                }
            }
        }
        Err(why) => {
            for line in FETCHED_LINES {
                missing.push(format!("engine {line}: {why}"));
            }
        }
    }
    EngineSet { engines, missing }
}

fn engine_set() -> &'static EngineSet {
    static SET: OnceLock<EngineSet> = OnceLock::new();
    SET.get_or_init(load_engines)
}

fn engines_missing(what: &str, why: &[String]) -> ! {
    let why = why.join("; ");
    panic!(
        "{what}: {why}. A missing engine is a failure (scripts/test runs scripts/engines, \
         which fetches them; {ENGINES_ENV} names its manifest)"
    );
}

/// Every engine: the host's (20.10 on Debian 12) first, then the fetched
/// ones of [`engines_manifest`] ([`FETCHED_LINES`]). A missing one panics.
pub fn engines() -> Vec<&'static Engine> {
    let set = engine_set();
    if !set.missing.is_empty() {
        engines_missing("engines missing", &set.missing);
    }
    set.engines.clone()
}

/// The engine of release `line` (`"20.10"`, `"26.1"`, `"28.5"`); panics
/// when it is missing.
pub fn engine(line: &str) -> &'static Engine {
    let set = engine_set();
    if let Some(e) = set.engines.iter().find(|e| e.is_line(line)) {
        return e;
    }
    let mut why: Vec<String> = set
        .missing
        .iter()
        .filter_map(|m| m.strip_prefix(&format!("engine {line}: ")))
        .map(str::to_string)
        .collect();
    if why.is_empty() {
        why.push(format!(
            "no engine {line} here (have: {})",
            set.engines
                .iter()
                .map(|e| e.version.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        why.extend(set.missing.iter().cloned());
    }
    engines_missing(&format!("engine {line}"), &why)
}

/// The engines the seed and CIS live suites (tests/live.rs,
/// tests/live_cis.rs) run every case on: the host's and the newest fetched.
pub const SUITE_LINES: [&str; 2] = ["20.10", "28.5"];

/// One engine's run of a live case: the requirements and the (shared)
/// lock of [`live`], then [`engine`] (a missing engine panics: never a
/// silent pass), then `case`.
pub fn run_on(test: &str, line: &str, case: impl FnOnce(&Live, &'static Engine)) {
    let live = live(&format!("{test} on {line}"));
    let e = engine(line);
    case(&live, e);
}

/// `on_engines!(case, ...)`: for each `fn case(live: &Live, e: &Engine)`,
/// a module `case` with one test per engine of [`SUITE_LINES`]
/// (`case::engine_20_10`, `case::engine_28_5`), each through [`run_on`]
/// and `#[ignore]`d like every live test ([`LIVE_IGNORE`]).
#[macro_export]
macro_rules! on_engines {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[test]
            #[ignore = "live: needs root and dockerd; scripts/test runs it"]
            fn engine_20_10() {
                $crate::support::run_on(stringify!($case), $crate::support::SUITE_LINES[0], super::$case);
            }
            #[test]
            #[ignore = "live: needs root and dockerd; scripts/test runs it"]
            fn engine_28_5() {
                $crate::support::run_on(stringify!($case), $crate::support::SUITE_LINES[1], super::$case);
            }
        }
    )*};
}

// ---------------------------------------------------------------------------
// HTTP over unix sockets
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", self.text()))
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Read an HTTP head (start line and headers) up to the empty line. `None`
/// at a clean end of stream before any byte.
fn read_head<R: BufRead>(r: &mut R) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line)? == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "end of stream inside an HTTP head",
                ))
            };
        }
        let blank = line == b"\r\n" || line == b"\n";
        if blank && head.is_empty() {
            continue;
        }
        head.extend_from_slice(&line);
        if blank {
            return Ok(Some(head));
        }
        if head.len() > 64 * 1024 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "HTTP head too long",
            ));
        }
    }
}

fn owned_headers(hs: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    hs.iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).trim().to_string(),
            )
        })
        .collect()
}

/// Read a body framed by Content-Length or chunked encoding; without either,
/// to the end of the stream when `until_eof`, else empty.
fn read_body<R: BufRead>(
    r: &mut R,
    headers: &[(String, String)],
    until_eof: bool,
) -> io::Result<Vec<u8>> {
    let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    if header(headers, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        let mut body = Vec::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line)?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|e| invalid(format!("bad chunk size {size_text:?}: {e}")))?;
            if size == 0 {
                // Trailers up to the empty line.
                loop {
                    let mut t = String::new();
                    if r.read_line(&mut t)? == 0 || t.trim().is_empty() {
                        return Ok(body);
                    }
                }
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            let mut crlf = String::new();
            r.read_line(&mut crlf)?;
        }
    }
    if let Some(cl) = header(headers, "content-length") {
        let n: usize = cl
            .parse()
            .map_err(|e| invalid(format!("bad Content-Length {cl:?}: {e}")))?;
        let mut body = vec![0; n];
        r.read_exact(&mut body)?;
        return Ok(body);
    }
    let mut body = Vec::new();
    if until_eof {
        r.read_to_end(&mut body)?;
    }
    Ok(body)
}

/// One HTTP/1.1 request over a unix socket (`Connection: close`).
pub fn http_unix(
    sock: &Path,
    method: &str,
    path: &str,
    body: Option<(&str, &[u8])>,
    timeout: Duration,
) -> io::Result<HttpResponse> {
    let mut s = UnixStream::connect(sock)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n");
    if let Some((ctype, b)) = body {
        req.push_str(&format!(
            "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    if let Some((_, b)) = body {
        s.write_all(b)?;
    }
    s.flush()?;
    let mut r = BufReader::new(s);
    let head = read_head(&mut r)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed without an answer",
        )
    })?;
    let mut hs = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut hs);
    resp.parse(&head)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("bad HTTP answer: {e}")))?;
    let status = resp.code.unwrap_or(0);
    let headers = owned_headers(resp.headers);
    let body = if method == "HEAD" || status == 204 || status == 304 {
        Vec::new()
    } else {
        read_body(&mut r, &headers, true)?
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

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

fn run_ok(cmd: &mut Command) -> Output {
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

fn send_signal(pid: u32, sig: libc::c_int) -> io::Result<()> {
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
fn unescape_mount(s: &str) -> Vec<u8> {
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

// ---------------------------------------------------------------------------
// The daemon
// ---------------------------------------------------------------------------

/// How to start a [`Daemon`].
#[derive(Debug, Clone, Default)]
pub struct DaemonOpts {
    /// daemon.json text, written to D/daemon.json and passed with `--config-file`.
    pub config: Option<String>,
    /// Extra dockerd flags, after the harness's own.
    pub args: Vec<String>,
    /// Extra environment for dockerd.
    pub env: Vec<(String, String)>,
    /// The engine to run; `None`: the host's dockerd ([`Tools::dockerd`]).
    pub engine: Option<Engine>,
    /// The network namespace to run it in; `None`: a new one.
    pub netns: Option<Arc<Netns>>,
}

impl DaemonOpts {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn config(mut self, text: impl Into<String>) -> Self {
        self.config = Some(text.into());
        self
    }

    pub fn env(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Run `engine`'s dockerd (by path, with its PATH prefix before the
    /// current PATH) instead of the host's.
    pub fn engine(mut self, engine: &Engine) -> Self {
        self.engine = Some(engine.clone());
        self
    }

    /// Run it in `ns` (made by [`netns`] before the daemon, for what the
    /// test must bind in it first, e.g. a [`SyslogListener::start_in`]).
    pub fn netns(mut self, ns: &Arc<Netns>) -> Self {
        self.netns = Some(ns.clone());
        self
    }
}

/// Held while a daemon that remaps user namespaces starts: dockerd creates
/// the `dockremap` user and its subordinate ranges on its first start
/// (useradd, usermod), which fail when two daemons do it at once.
fn userns_start_lock(argv: &[String], config: Option<&str>) -> Option<fs::File> {
    let remaps = argv.iter().any(|a| a.contains("userns-remap"))
        || config.is_some_and(|c| c.contains("userns-remap"));
    if !remaps {
        return None;
    }
    let path = "/tmp/dockhard-userns.lock";
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    // SAFETY: flock on a valid, owned descriptor.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        panic!("flock {path}: {}", io::Error::last_os_error());
    }
    Some(f)
}

/// A private dockerd in a network namespace of its own. Stopped, unmounted
/// and removed on drop (then its namespace is deleted, unless a test still
/// holds it).
pub struct Daemon {
    /// The unique directory D (0755, under /tmp).
    pub dir: PathBuf,
    /// D/docker.sock
    pub sock: PathBuf,
    /// D/daemon.json when a config was given.
    pub config_path: Option<PathBuf>,
    /// D/dockerd.log
    pub log: PathBuf,
    /// The full dockerd command line (argv[0] included).
    pub argv: Vec<String>,
    /// The engine it runs (`None`: the host's dockerd).
    pub engine: Option<Engine>,
    /// From the start of dockerd to its first `/_ping` answer.
    pub ready_after: Duration,
    /// Its network namespace: its `docker0`, iptables and TCP listeners.
    pub netns: Arc<Netns>,
    pid: u32,
    child: Option<Child>,
    tools: &'static Tools,
    image: Option<String>,
}

impl Daemon {
    /// Start a daemon and wait for `/_ping`; panics with the log tail when it
    /// does not come up.
    pub fn start(live: &Live, opts: DaemonOpts) -> Daemon {
        match Daemon::try_start(live, opts) {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        }
    }

    /// Start a daemon; `Err` (with the log tail) when it exits or does not
    /// answer within [`START_TIMEOUT`]. The directory is cleaned up either way.
    pub fn try_start(live: &Live, opts: DaemonOpts) -> Result<Daemon, String> {
        let tools = live.tools;
        let dir = tempfile::Builder::new()
            .prefix("dockhard-live-")
            .tempdir_in("/tmp")
            .map_err(|e| format!("cannot create a temp dir under /tmp: {e}"))?
            .keep();
        // userns-remap needs o+x on every parent of the data root.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod {}: {e}", dir.display()))?;
        let sock = dir.join("docker.sock");
        let log = dir.join("dockerd.log");
        let dockerd = opts.engine.as_ref().map_or(&tools.dockerd, |e| &e.dockerd);
        let mut argv: Vec<String> = vec![
            dockerd.display().to_string(),
            "--data-root".to_string(),
            dir.join("data").display().to_string(),
            "--exec-root".to_string(),
            dir.join("exec").display().to_string(),
            "--pidfile".to_string(),
            dir.join("pid").display().to_string(),
            "-H".to_string(),
            format!("unix://{}", sock.display()),
            "--storage-driver".to_string(),
            "vfs".to_string(),
        ];
        let mut config_path = None;
        if let Some(text) = &opts.config {
            let p = dir.join("daemon.json");
            fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
            argv.push("--config-file".to_string());
            argv.push(p.display().to_string());
            config_path = Some(p);
        }
        argv.extend(opts.args.iter().cloned());
        let netns = match &opts.netns {
            Some(ns) => ns.clone(),
            None => match Netns::new() {
                Ok(ns) => Arc::new(ns),
                Err(why) => {
                    let _ = fs::remove_dir_all(&dir);
                    return Err(why);
                }
            },
        };
        let logf = fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let logf2 = logf
            .try_clone()
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(logf)
            .stderr(logf2);
        for k in [
            "DOCKER_HOST",
            "DOCKER_TLS_VERIFY",
            "DOCKER_CERT_PATH",
            "DOCKER_CONFIG",
            "DOCKER_CONTEXT",
        ] {
            cmd.env_remove(k);
        }
        if let Some(e) = opts.engine.as_ref().filter(|e| !e.path_prefix.is_empty()) {
            match e.path_with(std::env::var_os("PATH").as_deref()) {
                Ok(path) => cmd.env("PATH", path),
                Err(why) => {
                    let _ = fs::remove_dir_all(&dir);
                    return Err(why);
                }
            };
        }
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        netns.enter(&mut cmd);
        let _userns = userns_start_lock(&argv, opts.config.as_deref());
        let spawned = Instant::now();
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(format!("cannot start {}: {e}", argv[0]));
            }
        };
        let mut d = Daemon {
            pid: child.id(),
            child: Some(child),
            dir,
            sock,
            config_path,
            log,
            argv,
            engine: opts.engine,
            ready_after: Duration::ZERO,
            netns,
            tools,
            image: None,
        };
        d.wait_ready()?;
        d.ready_after = spawned.elapsed();
        Ok(d)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                self.child = None;
                return Err(format!(
                    "dockerd exited during start ({status}); argv: {:?}\n--- {} (tail) ---\n{}",
                    self.argv,
                    self.log.display(),
                    tail(&self.log, 40)
                ));
            }
            if let Ok(r) = http_unix(&self.sock, "GET", "/_ping", None, Duration::from_secs(2))
                && r.status == 200
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "dockerd did not answer /_ping on {} within {:?}; argv: {:?}\n--- {} (tail) ---\n{}",
                    self.sock.display(),
                    START_TIMEOUT,
                    self.argv,
                    self.log.display(),
                    tail(&self.log, 40)
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The dockerd process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `program` as a command that runs in this daemon's network namespace
    /// (where its TCP listeners are, as on a host where dockhard, curl and
    /// the daemon share one).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        self.netns.enter(&mut cmd);
        cmd
    }

    /// The dockhard binary under test, in this daemon's namespace.
    pub fn dockhard(&self) -> Command {
        self.command(env!("CARGO_BIN_EXE_dockhard"))
    }

    /// `unix://D/docker.sock`
    pub fn host(&self) -> String {
        format!("unix://{}", self.sock.display())
    }

    /// The tail of the daemon's log.
    pub fn log_tail(&self, n: usize) -> String {
        tail(&self.log, n)
    }

    /// One API request; panics when the socket does not answer.
    pub fn request(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> HttpResponse {
        http_unix(&self.sock, method, path, body, Duration::from_secs(30)).unwrap_or_else(|e| {
            panic!(
                "{method} {path} on {}: {e}\n--- dockerd log (tail) ---\n{}",
                self.sock.display(),
                self.log_tail(30)
            )
        })
    }

    /// `GET path` as JSON; panics unless the status is 200.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let r = self.request("GET", path, None);
        if r.status != 200 {
            panic!("GET {path}: HTTP {}: {}", r.status, r.text());
        }
        r.json()
    }

    /// `GET /info`
    pub fn info(&self) -> serde_json::Value {
        self.get_json("/info")
    }

    /// Send SIGHUP (reload the configuration file).
    pub fn sighup(&self) {
        send_signal(self.pid, libc::SIGHUP)
            .unwrap_or_else(|e| panic!("SIGHUP to dockerd {}: {e}", self.pid));
    }

    /// How many reloads the daemon has logged so far.
    pub fn reload_count(&self) -> usize {
        fs::read_to_string(&self.log)
            .map(|t| t.matches("Reloaded configuration").count())
            .unwrap_or(0)
    }

    /// SIGHUP, then wait until the daemon logs that the reload was applied.
    /// Panics (with the log tail) when it does not within 20 s.
    pub fn reload(&self) {
        let before = self.reload_count();
        self.sighup();
        if poll(Duration::from_secs(20), || {
            (self.reload_count() > before).then_some(())
        })
        .is_none()
        {
            panic!(
                "dockerd {} did not log `Reloaded configuration` after SIGHUP\n--- log (tail) ---\n{}",
                self.pid,
                self.log_tail(30)
            );
        }
    }

    /// Poll `/info` until `pred` holds (20 s); returns that `/info`.
    pub fn wait_info(
        &self,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        let got = poll(Duration::from_secs(20), || {
            let i = self.info();
            if pred(&i) {
                Some(i)
            } else {
                last = i;
                None
            }
        });
        got.unwrap_or_else(|| {
            panic!(
                "dockerd {}: /info never showed {what}; last /info: {last}\n--- log (tail) ---\n{}",
                self.pid,
                self.log_tail(30)
            )
        })
    }

    /// Rewrite D/daemon.json (the daemon keeps running with the old one).
    pub fn write_config(&self, text: &str) {
        let p = self
            .config_path
            .as_ref()
            .unwrap_or_else(|| panic!("this daemon was started without --config-file"));
        fs::write(p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }

    /// Run the docker CLI against this daemon (in its namespace).
    pub fn docker(&self, args: &[&str]) -> Output {
        self.command(&self.tools.docker)
            .arg("-H")
            .arg(self.host())
            .args(args)
            .env("DOCKER_CONFIG", self.dir.join("cli"))
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.tools.docker.display()))
    }

    /// Run the docker CLI; panics (with the daemon log tail) unless it succeeds.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        if !out.status.success() {
            panic!(
                "docker {args:?} failed ({}):\nstdout: {}\nstderr: {}\n--- dockerd log (tail) ---\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.log_tail(30)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Import the busybox image into this daemon (once); returns its name.
    pub fn busybox_image(&mut self) -> String {
        if let Some(i) = &self.image {
            return i.clone();
        }
        let rootfs = self.dir.join("rootfs");
        let bin = rootfs.join("bin");
        fs::create_dir_all(&bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        fs::copy(&self.tools.busybox, bin.join("busybox"))
            .unwrap_or_else(|e| panic!("copy {}: {e}", self.tools.busybox.display()));
        for link in ["sh", "sleep", "echo", "cat", "id", "true"] {
            std::os::unix::fs::symlink("busybox", bin.join(link))
                .unwrap_or_else(|e| panic!("symlink {link}: {e}"));
        }
        let tarball = self.dir.join("rootfs.tar");
        run_ok(
            Command::new(&self.tools.tar)
                .arg("-C")
                .arg(&rootfs)
                .arg("--numeric-owner")
                .arg("-cf")
                .arg(&tarball)
                .arg("."),
        );
        let t = tarball.display().to_string();
        self.docker_ok(&["import", &t, IMAGE]);
        self.image = Some(IMAGE.to_string());
        IMAGE.to_string()
    }

    /// `docker run --rm IMAGE cmd...`; returns its standard output.
    pub fn run_container(&mut self, cmd: &[&str]) -> String {
        let image = self.busybox_image();
        let mut args = vec!["run", "--rm", image.as_str()];
        args.extend_from_slice(cmd);
        self.docker_ok(&args)
    }

    /// Stop the daemon now (drop does the same).
    pub fn stop(&mut self) {
        if self.stop_dockerd() {
            self.kill_leftovers();
        }
    }

    /// Stop the daemon like [`Daemon::stop`], and list (`PID: command line`)
    /// the processes it started (containerd, shims) that still run `grace`
    /// after dockerd exited: what a clean stop leaves behind. They are
    /// killed before this returns.
    pub fn stop_listing_leftovers(&mut self, grace: Duration) -> Vec<String> {
        if !self.stop_dockerd() {
            return Vec::new();
        }
        let clean = poll(grace, || {
            processes_under(&self.dir).is_empty().then_some(())
        });
        let left = if clean.is_some() {
            Vec::new()
        } else {
            processes_under(&self.dir)
                .into_iter()
                .map(|pid| {
                    let argv = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    let argv: Vec<String> = argv
                        .split(|b| *b == 0)
                        .filter(|a| !a.is_empty())
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect();
                    format!("{pid}: {}", argv.join(" "))
                })
                .collect()
        };
        self.kill_leftovers();
        left
    }

    /// Remove the containers, SIGTERM dockerd and wait for it (SIGKILL after
    /// [`STOP_TIMEOUT`]). False when it was already stopped by the harness.
    fn stop_dockerd(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        if let Ok(None) = child.try_wait() {
            // Containers first (live-restore would leave them running).
            if let Ok(r) = http_unix(
                &self.sock,
                "GET",
                "/containers/json?all=1",
                None,
                Duration::from_secs(5),
            ) && r.status == 200
                && let Ok(serde_json::Value::Array(cs)) = serde_json::from_slice(&r.body)
            {
                for c in cs {
                    if let Some(id) = c.get("Id").and_then(|v| v.as_str()) {
                        let _ = http_unix(
                            &self.sock,
                            "DELETE",
                            &format!("/containers/{id}?force=1"),
                            None,
                            Duration::from_secs(15),
                        );
                    }
                }
            }
            let _ = send_signal(self.pid, libc::SIGTERM);
            let deadline = Instant::now() + STOP_TIMEOUT;
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        thread::sleep(Duration::from_millis(50))
                    }
                    _ => {
                        eprintln!(
                            "harness: dockerd {} did not stop within {STOP_TIMEOUT:?}; SIGKILL",
                            self.pid
                        );
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
        true
    }

    fn kill_leftovers(&self) {
        // Whatever the daemon started in D and left behind (containerd after
        // a SIGKILL, shims): their command lines name our unique directory.
        // With them their children (the processes of containers a shim ran,
        // whose command lines do not), listed before any is killed: a
        // killed shim's children are reparented.
        for _ in 0..3 {
            let left = processes_under(&self.dir);
            if left.is_empty() {
                break;
            }
            for pid in with_descendants(&left) {
                eprintln!(
                    "harness: killing leftover pid {pid} under {}",
                    self.dir.display()
                );
                let _ = send_signal(pid, libc::SIGKILL);
            }
            thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "--- dockerd {} log {} (tail) ---\n{}\n---",
                self.pid,
                self.log.display(),
                self.log_tail(40)
            );
        }
        self.stop();
        unmount_under(&self.dir);
        if std::env::var_os("DOCKHARD_LIVE_KEEP").is_some() {
            eprintln!("harness: keeping {}", self.dir.display());
            return;
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("harness: cannot remove {}: {e}", self.dir.display());
        }
    }
}

// ---------------------------------------------------------------------------
// Authorization plugin
// ---------------------------------------------------------------------------

/// What a plugin was asked.
#[derive(Debug, Clone, Default)]
pub struct PluginStats {
    /// Requests by path (`/Plugin.Activate`, `/AuthZPlugin.AuthZReq`, ...).
    pub by_path: BTreeMap<String, usize>,
    /// `METHOD URI` of each AuthZReq.
    pub authz_requests: Vec<String>,
}

/// A real authorization plugin on `/run/docker/plugins/NAME.sock` that
/// allows every request and counts them.
pub struct AuthzPlugin {
    pub name: String,
    pub sock: PathBuf,
    stats: Arc<Mutex<PluginStats>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

pub const PLUGIN_DIR: &str = "/run/docker/plugins";

impl AuthzPlugin {
    /// Listen on a unique `/run/docker/plugins/dh-authz-PID-N.sock`.
    pub fn start() -> AuthzPlugin {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "dh-authz-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        fs::create_dir_all(PLUGIN_DIR).unwrap_or_else(|e| panic!("{PLUGIN_DIR}: {e}"));
        let sock = Path::new(PLUGIN_DIR).join(format!("{name}.sock"));
        let _ = fs::remove_file(&sock);
        let listener =
            UnixListener::bind(&sock).unwrap_or_else(|e| panic!("bind {}: {e}", sock.display()));
        let stats = Arc::new(Mutex::new(PluginStats::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (stats.clone(), stop.clone());
        let thread = thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                let sp = sp.clone();
                thread::spawn(move || serve_plugin_conn(conn, &st, &sp));
            }
        });
        AuthzPlugin {
            name,
            sock,
            stats,
            stop,
            thread: Some(thread),
        }
    }

    pub fn stats(&self) -> PluginStats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Requests seen on `path`.
    pub fn count(&self, path: &str) -> usize {
        self.stats().by_path.get(path).copied().unwrap_or(0)
    }

    /// AuthZReq calls seen so far.
    pub fn authz_requests(&self) -> usize {
        self.count("/AuthZPlugin.AuthZReq")
    }
}

impl Drop for AuthzPlugin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = UnixStream::connect(&self.sock);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = fs::remove_file(&self.sock);
    }
}

fn serve_plugin_conn(conn: UnixStream, stats: &Mutex<PluginStats>, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(mut w) = conn.try_clone() else { return };
    let mut r = BufReader::new(conn);
    while !stop.load(Ordering::SeqCst) {
        let Ok(Some(head)) = read_head(&mut r) else {
            return;
        };
        let mut hs = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut hs);
        if req.parse(&head).is_err() {
            return;
        }
        let path = req.path.unwrap_or("").to_string();
        let headers = owned_headers(req.headers);
        let Ok(body) = read_body(&mut r, &headers, false) else {
            return;
        };
        {
            let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
            *s.by_path.entry(path.clone()).or_default() += 1;
            if path == "/AuthZPlugin.AuthZReq" {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let m = v
                    .get("RequestMethod")
                    .and_then(|x| x.as_str())
                    .unwrap_or("?");
                // moby's authorization.Request tags it `RequestUri`.
                let u = ["RequestUri", "RequestURI"]
                    .iter()
                    .find_map(|k| v.get(*k).and_then(|x| x.as_str()))
                    .unwrap_or("?");
                s.authz_requests.push(format!("{m} {u}"));
            }
        }
        let (status, answer) = match path.as_str() {
            "/Plugin.Activate" => ("200 OK", r#"{"Implements":["authz"]}"#),
            "/AuthZPlugin.AuthZReq" | "/AuthZPlugin.AuthZRes" => ("200 OK", r#"{"Allow":true}"#),
            _ => (
                "404 Not Found",
                r#"{"Err":"not implemented by the dockhard test plugin"}"#,
            ),
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/vnd.docker.plugins.v1.2+json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if w.write_all(resp.as_bytes())
            .and_then(|_| w.flush())
            .is_err()
        {
            return;
        }
        if header(&headers, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
            return;
        }
    }
}

// ---------------------------------------------------------------------------
// TLS material
// ---------------------------------------------------------------------------

/// A CA, a server certificate (SAN 127.0.0.1, localhost) and a client
/// certificate, ECDSA P-256, in `dir`. Keys are mode 0400, owned by root.
#[derive(Debug, Clone)]
pub struct Certs {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = dockhard-test
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
";

impl Certs {
    /// Generate into `dir` (created) with the `openssl` CLI.
    pub fn generate(live: &Live, dir: &Path) -> Certs {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let cnf = dir.join("openssl.cnf");
        fs::write(&cnf, OPENSSL_CNF).unwrap_or_else(|e| panic!("{}: {e}", cnf.display()));
        let c = Certs {
            dir: dir.to_path_buf(),
            ca: dir.join("ca.pem"),
            ca_key: dir.join("ca-key.pem"),
            server_cert: dir.join("server-cert.pem"),
            server_key: dir.join("server-key.pem"),
            client_cert: dir.join("client-cert.pem"),
            client_key: dir.join("client-key.pem"),
        };
        let ossl = || {
            let mut cmd = Command::new(&live.tools.openssl);
            cmd.current_dir(dir).env("OPENSSL_CONF", &cnf);
            cmd
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        run_ok(
            ossl()
                .args(["req", "-x509", "-config"])
                .arg(&cnf)
                .args([
                    "-extensions",
                    "v3_ca",
                    "-days",
                    "7",
                    "-subj",
                    "/CN=dockhard-test-ca",
                ])
                .args(ec)
                .arg("-keyout")
                .arg(&c.ca_key)
                .arg("-out")
                .arg(&c.ca),
        );
        for (cert, key, ext, cn) in [
            (&c.server_cert, &c.server_key, "server", "/CN=localhost"),
            (
                &c.client_cert,
                &c.client_key,
                "client",
                "/CN=dockhard-test-client",
            ),
        ] {
            let csr = dir.join(format!("{ext}.csr"));
            run_ok(
                ossl()
                    .args(["req", "-new", "-config"])
                    .arg(&cnf)
                    .args(["-subj", cn])
                    .args(ec)
                    .arg("-keyout")
                    .arg(key)
                    .arg("-out")
                    .arg(&csr),
            );
            run_ok(
                ossl()
                    .args(["x509", "-req", "-days", "7", "-set_serial"])
                    .arg(format!("{}", 1000 + cert.as_os_str().len()))
                    .arg("-in")
                    .arg(&csr)
                    .arg("-CA")
                    .arg(&c.ca)
                    .arg("-CAkey")
                    .arg(&c.ca_key)
                    .arg("-extfile")
                    .arg(&cnf)
                    .args(["-extensions", ext])
                    .arg("-out")
                    .arg(cert),
            );
        }
        for k in [&c.ca_key, &c.server_key, &c.client_key] {
            fs::set_permissions(k, fs::Permissions::from_mode(0o400))
                .unwrap_or_else(|e| panic!("chmod {}: {e}", k.display()));
        }
        c
    }

    /// dockerd flags for a verifying TLS listener with these certificates.
    pub fn tlsverify_flags(&self) -> Vec<String> {
        vec![
            "--tlsverify".to_string(),
            format!("--tlscacert={}", self.ca.display()),
            format!("--tlscert={}", self.server_cert.display()),
            format!("--tlskey={}", self.server_key.display()),
        ]
    }

    /// `curl` over HTTPS to `https://127.0.0.1:port{path}` in the network
    /// namespace `ns` (the daemon's), with or without the client
    /// certificate; `Ok(body)` or `Err(curl's complaint)`.
    pub fn curl(
        &self,
        live: &Live,
        ns: &Netns,
        port: u16,
        path: &str,
        with_client_cert: bool,
    ) -> Result<String, String> {
        let mut cmd = Command::new(&live.tools.curl);
        ns.enter(&mut cmd);
        cmd.args(["-sS", "--max-time", "10", "--cacert"])
            .arg(&self.ca);
        if with_client_cert {
            cmd.arg("--cert")
                .arg(&self.client_cert)
                .arg("--key")
                .arg(&self.client_key);
        }
        cmd.arg(format!("https://127.0.0.1:{port}{path}"));
        let out = cmd.output().map_err(|e| format!("cannot run curl: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "curl {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

// ---------------------------------------------------------------------------
// Syslog listener
// ---------------------------------------------------------------------------

/// A UDP syslog receiver on 127.0.0.1 of a daemon's network namespace,
/// collecting datagrams as lines.
pub struct SyslogListener {
    pub port: u16,
    lines: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SyslogListener {
    /// Bound in `ns` (the namespace the daemon will run in:
    /// [`DaemonOpts::netns`]); a socket stays in the namespace it was made in.
    pub fn start_in(ns: &Netns) -> SyslogListener {
        let sock = ns
            .run(|| UdpSocket::bind("127.0.0.1:0"))
            .unwrap_or_else(|e| panic!("bind udp in {}: {e}", ns.name));
        let port = sock
            .local_addr()
            .unwrap_or_else(|e| panic!("local_addr: {e}"))
            .port();
        let _ = sock.set_read_timeout(Some(Duration::from_millis(200)));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (l, s) = (lines.clone(), stop.clone());
        let thread = thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !s.load(Ordering::SeqCst) {
                if let Ok((n, _)) = sock.recv_from(&mut buf) {
                    let text = String::from_utf8_lossy(buf.get(..n).unwrap_or(&[])).into_owned();
                    l.lock().unwrap_or_else(|p| p.into_inner()).push(text);
                }
            }
        });
        SyslogListener {
            port,
            lines,
            stop,
            thread: Some(thread),
        }
    }

    /// `udp://127.0.0.1:PORT`
    pub fn address(&self) -> String {
        format!("udp://127.0.0.1:{}", self.port)
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Wait (10 s) for a line containing `needle`.
    pub fn wait_for(&self, needle: &str) -> Option<String> {
        poll(Duration::from_secs(10), || {
            self.lines().into_iter().find(|l| l.contains(needle))
        })
    }
}

impl Drop for SyslogListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------
// Bounded runs
// ---------------------------------------------------------------------------

/// What one run of a program did, measured by [`run_bounded`].
#[derive(Debug)]
pub struct Measured {
    /// Exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub wall: Duration,
    /// Peak resident set size of the process (its own `ru_maxrss`, see
    /// [`run_bounded`]), KiB.
    pub max_rss_kib: u64,
    /// Bytes it read through read(2) and the like (`rchar` of
    /// /proc/PID/io, taken once it had exited); `None` when /proc did not say.
    pub read_bytes: Option<u64>,
}

impl Measured {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn rss_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }

    /// One line for the log: `0.52 s, 14.1 MiB peak RSS, 0.3 MiB read, exit 1`.
    pub fn summary(&self) -> String {
        format!(
            "{:.2} s, {:.1} MiB peak RSS, {} read, exit {}",
            self.wall.as_secs_f64(),
            self.rss_mib(),
            self.read_bytes
                .map(|b| format!("{:.1} MiB", b as f64 / 1048576.0))
                .unwrap_or_else(|| "? MiB".into()),
            self.code.map_or("by signal".to_string(), |c| c.to_string())
        )
    }
}

/// With this variable set (to the number of a descriptor open for
/// writing), a test binary including this module is a launcher (see
/// [`run_bounded`]): `BINARY -- PROGRAM ARGS...` runs PROGRAM and writes
/// `CODE SIGNAL MAXRSS_KIB RCHAR` to that descriptor.
pub const LAUNCHER_ENV: &str = "DOCKHARD_TEST_LAUNCHER";

/// The launcher, before `main` (no test runs in it). It forks (a fork
/// starts with `ru_maxrss` at zero, and with the launcher's small memory),
/// the child execs the program, and the launcher waits with WNOWAIT to read
/// the child's /proc/PID/io before reaping it with wait4.
///
/// # Safety
/// Called by glibc's ELF constructors with the process's argc and argv.
unsafe fn launcher(argc: libc::c_int, argv: *const *const libc::c_char) -> ! {
    // SAFETY: getenv of a NUL-terminated name; atoi of its C string.
    let out = unsafe { libc::atoi(libc::getenv(c"DOCKHARD_TEST_LAUNCHER".as_ptr())) };
    let argc = usize::try_from(argc).unwrap_or(0);
    // SAFETY: argv has argc entries and a NULL after them (execv wants it).
    let prog = (argc > 2).then(|| unsafe { argv.add(2) });
    let Some(prog) = prog else {
        // SAFETY: _exit has no preconditions.
        unsafe { libc::_exit(127) }
    };
    // SAFETY: fork, then only async-signal-safe calls in the child.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: as above; execv with a NULL-terminated argv.
        unsafe {
            // Killed with the launcher (itself killed at the hard deadline).
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            libc::close(out);
            libc::execv(*prog, prog);
            libc::_exit(127);
        }
    }
    let mut line = String::from("127 0 0 0\n");
    if pid > 0 {
        // SAFETY: waitid/wait4 on our own child with valid out-parameters.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            while libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            ) != 0
            {}
            let rchar = fs::read_to_string(format!("/proc/{pid}/io"))
                .ok()
                .and_then(|t| {
                    t.lines()
                        .find_map(|l| l.strip_prefix("rchar:"))
                        .map(|v| v.trim().to_string())
                })
                .unwrap_or_else(|| "-1".into());
            let mut status = 0;
            let mut ru: libc::rusage = std::mem::zeroed();
            libc::wait4(pid, &mut status, 0, &mut ru);
            let (code, sig) = if libc::WIFEXITED(status) {
                (libc::WEXITSTATUS(status), 0)
            } else {
                (-1, libc::WTERMSIG(status))
            };
            line = format!("{code} {sig} {} {rchar}\n", ru.ru_maxrss);
        }
    }
    // SAFETY: writing a buffer we own to our descriptor, then exiting.
    unsafe {
        libc::write(out, line.as_ptr().cast(), line.len());
        libc::_exit(0)
    }
}

/// Run `cmd` (standard input empty, output captured) until it ends, at most
/// `hard`: past that it is killed and the test fails, so a hang never blocks
/// CI.
///
/// Measured through a launcher (this test binary run again, see
/// [`LAUNCHER_ENV`]), not as a child of the test process: Linux keeps
/// `ru_maxrss` across exec, so a program spawned from this large,
/// multi-threaded process would start with the test process's own peak,
/// and RUSAGE_CHILDREN mixes every child. The launcher forks (a fork's
/// `ru_maxrss` starts at zero) and reports the program's own wait4 rusage
/// and /proc/PID/io. Environment, arguments and working directory of `cmd`
/// are kept.
pub fn run_bounded(cmd: &mut Command, hard: Duration) -> Measured {
    use std::io::{Read, Seek};
    use std::os::unix::process::CommandExt;
    let mut out = tempfile::tempfile().unwrap_or_else(|e| panic!("tempfile: {e}"));
    let mut err = tempfile::tempfile().unwrap_or_else(|e| panic!("tempfile: {e}"));
    let clone = |f: &fs::File| f.try_clone().unwrap_or_else(|e| panic!("dup: {e}"));
    let mut fds = [0; 2];
    // SAFETY: pipe2 into a valid two-element array.
    assert_eq!(
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) },
        0,
        "pipe2"
    );
    // SAFETY: both descriptors are fresh and ours.
    let (mut result, result_w) = unsafe {
        use std::os::fd::FromRawFd;
        (
            fs::File::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    let wfd = result_w.as_raw_fd();
    let me = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let mut launch = Command::new(me);
    launch.arg("--").arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => launch.env(k, v),
            None => launch.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        launch.current_dir(d);
    }
    launch
        .env(LAUNCHER_ENV, wfd.to_string())
        .env_remove(FAKE_DOCKERD_ENV)
        .stdin(Stdio::null())
        .stdout(clone(&out))
        .stderr(clone(&err));
    // SAFETY: only fcntl between fork and exec, on the child's copy.
    unsafe {
        launch.pre_exec(move || {
            if libc::fcntl(wfd, libc::F_SETFD, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = launch
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    drop(result_w);
    let read_back = |f: &mut fs::File| {
        let mut b = Vec::new();
        let _ = f.rewind().and_then(|_| f.read_to_end(&mut b));
        b
    };
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() <= hard => thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                // The program dies with the launcher (PR_SET_PDEATHSIG).
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{cmd:?} did not end within {hard:?} and was killed (a hang)\nstderr: {}\nstdout (start): {}",
                    String::from_utf8_lossy(&read_back(&mut err)),
                    String::from_utf8_lossy(&read_back(&mut out))
                        .chars()
                        .take(2000)
                        .collect::<String>()
                );
            }
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    }
    let wall = start.elapsed();
    let mut line = String::new();
    let _ = result.read_to_string(&mut line);
    let f: Vec<i64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let [code, sig, maxrss, rchar] = f[..] else {
        panic!("no result from the launcher of {cmd:?}: {line:?}");
    };
    if code == 127 && sig == 0 && maxrss == 0 {
        panic!("cannot run {cmd:?} (exec failed)");
    }
    Measured {
        code: (sig == 0).then(|| i32::try_from(code).unwrap_or(-1)),
        stdout: read_back(&mut out),
        stderr: String::from_utf8_lossy(&read_back(&mut err)).into_owned(),
        wall,
        max_rss_kib: u64::try_from(maxrss).unwrap_or(0),
        read_bytes: u64::try_from(rchar).ok(),
    }
}

/// The reason a test that needs root (and no daemon) is `#[ignore]`d with.
pub const ROOT_IGNORE: &str = "needs root; scripts/test runs it";

/// Enter a test that needs root (device nodes, files of other owners):
/// like [`live`], it panics when not root (such tests are `#[ignore]`d).
pub fn need_root(test: &str) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        panic!("test `{test}` needs root (run scripts/test as root)");
    }
}

// ---------------------------------------------------------------------------
// A fake dockerd
// ---------------------------------------------------------------------------

/// With this variable set, a test binary including this module is a
/// [`FakeDockerd`]: it waits to be killed and never runs a test.
pub const FAKE_DOCKERD_ENV: &str = "DOCKHARD_TEST_FAKE_DOCKERD";

/// Runs before `main` (an ELF constructor): a [`FakeDockerd`] or a
/// launcher ([`run_bounded`]) never reaches libtest, whatever its command
/// line. glibc passes argc, argv and envp to constructors.
#[used]
#[unsafe(link_section = ".init_array")]
static BEFORE_MAIN_HOOK: extern "C" fn(libc::c_int, *const *const libc::c_char) = before_main;

extern "C" fn before_main(argc: libc::c_int, argv: *const *const libc::c_char) {
    // SAFETY: getenv of NUL-terminated names, before main (one thread).
    let (fake, launch) = unsafe {
        (
            !libc::getenv(c"DOCKHARD_TEST_FAKE_DOCKERD".as_ptr()).is_null(),
            !libc::getenv(c"DOCKHARD_TEST_LAUNCHER".as_ptr()).is_null(),
        )
    };
    if launch {
        // SAFETY: argc and argv are glibc's.
        unsafe { launcher(argc, argv) }
    }
    if !fake {
        return;
    }
    // SAFETY: prctl(PR_SET_PDEATHSIG) and pause have no memory preconditions.
    unsafe {
        // Die with the test thread that started us.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        loop {
            libc::pause();
        }
    }
}

/// Held (shared) by every [`FakeDockerd`]; a test that audits every dockerd
/// of the host takes it exclusively ([`no_fake_dockerds`]), so that it
/// neither sees nor probes the fakes of tests running beside it.
static FAKE_DOCKERDS: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Wait until no [`FakeDockerd`] of this test binary runs, and keep others
/// from starting while the guard lives.
pub fn no_fake_dockerds() -> std::sync::RwLockWriteGuard<'static, ()> {
    FAKE_DOCKERDS.write().unwrap_or_else(|p| p.into_inner())
}

/// A process that dockhard recognises as a dockerd (its executable is a
/// hard link named `dockerd` to the test binary itself), with the command
/// line given and holding the listening sockets given (inherited file
/// descriptors: dockhard finds them in /proc/PID/fd and /proc/PID/net, as
/// for a real daemon). Killed on drop.
pub struct FakeDockerd {
    pub pid: u32,
    /// The executable: DIR/dockerd.
    pub exe: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
    _shared: std::sync::RwLockReadGuard<'static, ()>,
}

impl FakeDockerd {
    /// Start it with `args` after argv[0], holding the descriptors `fds`.
    pub fn start(args: &[String], fds: &[std::os::fd::RawFd]) -> FakeDockerd {
        use std::os::unix::process::CommandExt;
        let shared = FAKE_DOCKERDS.read().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::Builder::new()
            .prefix("fake-dockerd-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap_or_else(|e| panic!("tempdir: {e}"));
        let exe = dir.path().join("dockerd");
        let me = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
        if fs::hard_link(&me, &exe).is_err() {
            fs::copy(&me, &exe).unwrap_or_else(|e| panic!("copy {}: {e}", me.display()));
        }
        let fds = fds.to_vec();
        let mut cmd = Command::new(&exe);
        cmd.args(args)
            .env(FAKE_DOCKERD_ENV, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only fcntl (async-signal-safe) between fork and exec, on
        // the child's copies of the descriptors.
        unsafe {
            cmd.pre_exec(move || {
                for &fd in &fds {
                    if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let pid = child.id();
        let want: Vec<String> = std::iter::once(exe.display().to_string())
            .chain(args.iter().cloned())
            .collect();
        let ready = poll(Duration::from_secs(10), || {
            let exe_ok = fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|e| e.file_name().is_some_and(|n| n == "dockerd"));
            let argv: Vec<String> = fs::read(format!("/proc/{pid}/cmdline"))
                .unwrap_or_default()
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            (exe_ok && argv == want).then_some(())
        });
        let mut fake = FakeDockerd {
            pid,
            exe,
            child,
            _dir: dir,
            _shared: shared,
        };
        if ready.is_none() {
            let _ = fake.child.kill();
            panic!("fake dockerd {pid} did not start as {want:?}");
        }
        fake
    }
}

impl Drop for FakeDockerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// One start attempt of an engine (each engine is its own oracle)
// ---------------------------------------------------------------------------

/// In the daemon.json text and the flags of [`try_start`]: replaced by the
/// attempt's private directory.
pub const DIR_PLACEHOLDER: &str = "@DIR@";
/// How long [`try_start`] waits for `/_ping` or an exit.
pub const TRY_START_TIMEOUT: Duration = Duration::from_secs(30);

/// Enter a test that starts engines with [`try_start`]: the requirements of
/// [`live`] (a panic without them), without its lock: every attempt runs
/// in a network namespace of its own (no `docker0`, no iptables rules of
/// the host), so attempts run in parallel with each other and with the
/// other live tests.
pub fn live_netns(test: &str) -> &'static Tools {
    require(test)
}

/// What an engine did with a configuration ([`try_start`]).
#[derive(Debug, Clone)]
pub enum Outcome {
    /// It answered `/_ping` on its private socket (then it was stopped).
    Started { pid: u32, after: Duration },
    /// It exited before answering: its exit code (`None`: a signal) and
    /// its output (stdout and stderr, the log).
    Refused {
        code: Option<i32>,
        log: String,
        after: Duration,
    },
    /// Neither within [`TRY_START_TIMEOUT`] (then it was killed).
    TimedOut { log: String },
}

impl Outcome {
    pub fn started(&self) -> bool {
        matches!(self, Outcome::Started { .. })
    }

    /// Its output; empty for a start.
    pub fn log(&self) -> &str {
        match self {
            Outcome::Started { .. } => "",
            Outcome::Refused { log, .. } | Outcome::TimedOut { log } => log,
        }
    }

    /// The line of the output that says why it did not start (`Status: `
    /// and the usage text of a flag error left out); empty for a start.
    pub fn reason(&self) -> String {
        refusal_line(self.log())
    }

    /// `started`, `refused (exit N)`, `exited 0`, `timed out`.
    pub fn kind(&self) -> String {
        match self {
            Outcome::Started { .. } => "started".to_string(),
            Outcome::Refused { code: Some(0), .. } => "exited 0".to_string(),
            Outcome::Refused { code: Some(c), .. } => format!("refused (exit {c})"),
            Outcome::Refused { code: None, .. } => "killed by a signal".to_string(),
            Outcome::TimedOut { .. } => "timed out".to_string(),
        }
    }
}

/// The line of a dockerd output that says why it stopped: the last line
/// that is neither a log line (`time=… level=info…`), nor the usage text
/// cobra prints after a flag error; `Status: ` removed.
pub fn refusal_line(log: &str) -> String {
    let noise = |l: &str| {
        let t = l.trim();
        t.is_empty()
            || l.starts_with(' ')
            || l.starts_with('\t')
            || t.starts_with("time=")
            || t.starts_with("{\"level\"")
            || t.starts_with("See 'dockerd --help'")
            || t.starts_with("Usage:")
            || t.starts_with("Options:")
            || t.starts_with("Commands:")
            || t.starts_with("Run 'dockerd")
            || t.starts_with("A self-sufficient runtime")
            || t.starts_with(", Code:")
            || t.starts_with("Flag --") && t.contains("has been deprecated")
    };
    let pick = log
        .lines()
        .rfind(|l| !noise(l))
        .or_else(|| log.lines().rev().find(|l| l.contains("level=fatal")))
        .or_else(|| log.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("");
    pick.trim()
        .trim_start_matches("Status: ")
        .trim_end_matches(", Code: 125")
        .to_string()
}

/// A daemon started by [`try_start_then`], while it runs.
#[derive(Debug)]
pub struct Running {
    pub pid: u32,
    /// D/docker.sock
    pub sock: PathBuf,
    /// The private directory D.
    pub dir: PathBuf,
    /// The full dockerd command line.
    pub argv: Vec<String>,
}

/// [`try_start_then`] without anything to do while it runs.
pub fn try_start(e: &Engine, daemon_json: Option<&str>, extra_args: &[&str]) -> Outcome {
    try_start_then(e, daemon_json, extra_args, |_| ()).0
}

/// Start engine `e`'s dockerd with private paths (as [`Daemon`] does: a
/// unique directory D under /tmp, `--data-root D/data` (left out when the
/// flags or the file set `-g`/`--graph`/`--data-root`/`graph`/`data-root`),
/// `--exec-root`, `--pidfile`, `-H unix://D/docker.sock`, `--storage-driver
/// vfs` (left out when they choose a storage driver), `--config-file
/// D/daemon.json` with `daemon_json` (`{}` when `None`)), then `extra_args`; `@DIR@`
/// in both is replaced by D. It runs in a new network namespace.
///
/// Waits up to [`TRY_START_TIMEOUT`] for `/_ping` (then runs `f`, stops the
/// daemon and returns what `f` gave) or an exit. Everything it started is
/// stopped, unmounted and removed before it returns. Panics only when it
/// cannot even spawn dockerd.
pub fn try_start_then<T>(
    e: &Engine,
    daemon_json: Option<&str>,
    extra_args: &[&str],
    f: impl FnOnce(&Running) -> T,
) -> (Outcome, Option<T>) {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::Builder::new()
        .prefix("dockhard-try-")
        .tempdir_in("/tmp")
        .unwrap_or_else(|err| panic!("cannot create a temp dir under /tmp: {err}"))
        .keep();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|err| panic!("chmod {}: {err}", dir.display()));
    let d = dir.display().to_string();
    let json = daemon_json.map(|j| j.replace(DIR_PLACEHOLDER, &d));
    let args: Vec<String> = extra_args
        .iter()
        .map(|a| a.replace(DIR_PLACEHOLDER, &d))
        .collect();
    let file_has = |key: &str| {
        json.as_deref()
            .is_some_and(|j| j.contains(&format!("\"{key}\"")))
    };
    let flag_has = |names: &[&str]| {
        args.iter().any(|a| {
            names
                .iter()
                .any(|n| a == n || a.starts_with(&format!("{n}=")))
        })
    };
    let sock = dir.join("docker.sock");
    let log = dir.join("dockerd.log");
    let mut argv: Vec<String> = vec![e.dockerd.display().to_string()];
    if !flag_has(&["-g", "--graph", "--data-root"]) && !file_has("graph") && !file_has("data-root")
    {
        argv.extend(["--data-root".to_string(), format!("{d}/data")]);
    }
    argv.extend([
        "--exec-root".to_string(),
        format!("{d}/exec"),
        "--pidfile".to_string(),
        format!("{d}/pid"),
        "-H".to_string(),
        format!("unix://{}", sock.display()),
    ]);
    if !flag_has(&["-s", "--storage-driver"]) && !file_has("storage-driver") {
        argv.extend(["--storage-driver".to_string(), "vfs".to_string()]);
    }
    // Always a file of its own: without one dockerd reads the host's
    // /etc/docker/daemon.json.
    let p = dir.join("daemon.json");
    let text = json.as_deref().unwrap_or("{}\n");
    fs::write(&p, text).unwrap_or_else(|err| panic!("{}: {err}", p.display()));
    argv.extend(["--config-file".to_string(), p.display().to_string()]);
    argv.extend(args);
    let logf = fs::File::create(&log).unwrap_or_else(|err| panic!("{}: {err}", log.display()));
    let logf2 = logf
        .try_clone()
        .unwrap_or_else(|err| panic!("{}: {err}", log.display()));
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(logf)
        .stderr(logf2);
    for k in [
        "DOCKER_HOST",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
        "DOCKER_CONFIG",
        "DOCKER_CONTEXT",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    ] {
        cmd.env_remove(k);
    }
    if !e.path_prefix.is_empty() {
        let path = e
            .path_with(std::env::var_os("PATH").as_deref())
            .unwrap_or_else(|why| panic!("{why}"));
        cmd.env("PATH", path);
    }
    // SAFETY: unshare(2) only, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::unshare(libc::CLONE_NEWNET) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let spawned = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {}: {err}", argv[0]));
    let pid = child.id();
    let read_log = || String::from_utf8_lossy(&fs::read(&log).unwrap_or_default()).into_owned();
    let deadline = spawned + TRY_START_TIMEOUT;
    let (outcome, value) = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break (
                Outcome::Refused {
                    code: status.code(),
                    log: read_log(),
                    after: spawned.elapsed(),
                },
                None,
            );
        }
        if let Ok(r) = http_unix(&sock, "GET", "/_ping", None, Duration::from_secs(2))
            && r.status == 200
        {
            let after = spawned.elapsed();
            let running = Running {
                pid,
                sock: sock.clone(),
                dir: dir.clone(),
                argv: argv.clone(),
            };
            let v = f(&running);
            break (Outcome::Started { pid, after }, Some(v));
        }
        if Instant::now() >= deadline {
            break (Outcome::TimedOut { log: String::new() }, None);
        }
        thread::sleep(Duration::from_millis(50));
    };
    // Stop it (SIGKILL after STOP_TIMEOUT), then whatever it started.
    if let Ok(None) = child.try_wait() {
        let _ = send_signal(pid, libc::SIGTERM);
        let stop = Instant::now() + STOP_TIMEOUT;
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < stop {
            thread::sleep(Duration::from_millis(50));
        }
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    for _ in 0..3 {
        let left = processes_under(&dir);
        if left.is_empty() {
            break;
        }
        for p in with_descendants(&left) {
            let _ = send_signal(p, libc::SIGKILL);
        }
        thread::sleep(Duration::from_millis(200));
    }
    let outcome = match outcome {
        Outcome::TimedOut { .. } => Outcome::TimedOut { log: read_log() },
        o => o,
    };
    unmount_under(&dir);
    if std::env::var_os("DOCKHARD_LIVE_KEEP").is_some() {
        eprintln!("harness: keeping {}", dir.display());
    } else if let Err(err) = fs::remove_dir_all(&dir) {
        eprintln!("harness: cannot remove {}: {err}", dir.display());
    }
    (outcome, value)
}
