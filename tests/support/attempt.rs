//! One start attempt of an engine (each engine is its own oracle).

use super::*;

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
