//! A small supervisor (a thread of the test) that plays the service manager
//! for the `fix --apply` live tests (tests/live/fix.rs, tests/live/faults.rs).
//!
//! It starts dockerd from the `ExecStart=` of a unit file under the test
//! directory (after its `FILE.d/*.conf` drop-ins, as systemd would) and
//! restarts it when asked: by the `--restart cmd:...` command dockhard runs
//! (it creates a request file and waits until it is gone), or by the test
//! itself ([`Supervised::restart`]). dockhard is told which unit starts the
//! daemon with `--unit FILE`.
//!
//! dockerd runs in a network namespace of its own ([`super::Netns`]), the
//! same one across restarts (a named namespace outlives the process);
//! [`Supervised::dockhard`] runs dockhard there, so its probes and waits
//! reach the daemon's TCP listeners.
//!
//! The layout mirrors a host's: `D/etc/docker/daemon.json` and
//! `D/etc/systemd/system/docker.service` (so the files sort as on a host:
//! daemon.json before the drop-in directory).

use super::{Netns, http_unix, poll, send_signal, tail};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The ExecStart= argv of `unit` after the drop-ins in `unit.d/` (the
/// simple unit files of these tests: continuation lines, `$$`, double quotes).
pub fn exec_start(unit: &Path) -> Vec<String> {
    let mut files = vec![unit.to_path_buf()];
    let dd = PathBuf::from(format!("{}.d", unit.display()));
    if let Ok(rd) = fs::read_dir(&dd) {
        let mut v: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        v.sort();
        files.extend(v);
    }
    let mut argv = Vec::new();
    for f in files {
        let text = fs::read_to_string(&f)
            .unwrap_or_default()
            .replace("\\\n", " ");
        for line in text.lines() {
            if let Some(v) = line.trim().strip_prefix("ExecStart=") {
                argv = split(v);
            }
        }
    }
    argv
}

fn split(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '$' if chars.peek() == Some(&'$') => {
                chars.next();
                cur.push('$');
            }
            c if c.is_whitespace() && !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn stop_child(c: &mut Child) {
    if let Ok(None) = c.try_wait() {
        let _ = send_signal(c.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// After dockerd stopped: stop the containerd it started (left running
/// when dockerd was stopped mid-start or with live-restore) and remove its
/// pidfile. Otherwise the next dockerd trusts the pidfile: with a reused
/// pid (pid_max is 32768 here) or a containerd still shutting down it
/// waits for a socket that never answers and fails to start
/// ("containerd is still running ... timeout waiting for containerd").
/// Only a process whose command line names this daemon's exec-root is
/// signalled.
fn reap_containerd(dir: &Path) {
    let state = dir.join("exec/containerd");
    let pidfile = state.join("containerd.pid");
    let pid = fs::read_to_string(&pidfile)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok());
    if let Some(pid) = pid {
        let ours = fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains(&*state.to_string_lossy()))
            .unwrap_or(false);
        // Gone, or a zombie no one has reaped yet.
        let alive = || {
            fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|st| {
                st.rsplit_once(')')
                    .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
            })
        };
        if ours {
            let _ = send_signal(pid, libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while alive() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(50));
            }
            if alive() {
                let _ = send_signal(pid, libc::SIGKILL);
            }
        }
    }
    let _ = fs::remove_file(&pidfile);
}

/// What the supervisor thread shares with the test.
#[derive(Debug, Default)]
struct Shared {
    /// dockerd processes started so far.
    starts: usize,
    /// The pid of the dockerd it runs, and how it ended if it exited on
    /// its own.
    pid: Option<u32>,
    exited: Option<String>,
}

/// dockerd run by a test "service manager" from a unit file.
pub struct Supervised {
    pub dir: PathBuf,
    /// D/etc/systemd/system/docker.service
    pub unit: PathBuf,
    pub sock: PathBuf,
    /// D/etc/docker/daemon.json
    pub config: PathBuf,
    pub log: PathBuf,
    /// D/backups (given to dockhard with --backup-dir by [`Supervised::fix`]).
    pub backups: PathBuf,
    /// The network namespace every dockerd it starts runs in.
    pub netns: Arc<Netns>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Mutex<Shared>>,
}

impl Supervised {
    /// Write the unit (ExecStart with `extra` flags) and daemon.json
    /// (`config`), start the supervisor, wait for /_ping. In a new network
    /// namespace.
    pub fn start(live: &super::Live, extra: &str, config: &str) -> Supervised {
        Supervised::start_in(live, &super::netns(), extra, config)
    }

    /// [`Supervised::start`] in the network namespace `ns` (made first for
    /// what the test binds there, e.g. a [`super::SyslogListener`]).
    pub fn start_in(live: &super::Live, ns: &Arc<Netns>, extra: &str, config: &str) -> Supervised {
        let dockerd = live.tools.dockerd.display().to_string();
        let dir = tempfile::Builder::new()
            .prefix("dockhard-fix-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let d = dir.display();
        let unit = dir.join("etc/systemd/system/docker.service");
        let config_path = dir.join("etc/docker/daemon.json");
        fs::create_dir_all(config_path.parent().unwrap()).unwrap();
        fs::create_dir_all(unit.parent().unwrap()).unwrap();
        fs::write(&config_path, config).unwrap();
        fs::write(
            &unit,
            format!(
                "[Unit]\nDescription=test dockerd\n\n[Service]\nExecStart={dockerd} --data-root {d}/data --exec-root {d}/exec \\\n  --pidfile {d}/pid -H unix://{d}/docker.sock --storage-driver vfs \\\n  --config-file {} {extra}\n",
                config_path.display()
            ),
        )
        .unwrap();
        fs::create_dir_all(dir.join("ctl")).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let log = dir.join("dockerd.log");
        let (s, u, dd, lg, sh, nsc) = (
            stop.clone(),
            unit.clone(),
            dir.clone(),
            log.clone(),
            shared.clone(),
            ns.clone(),
        );
        let thread = thread::spawn(move || {
            let spawn = |u: &Path| -> Option<Child> {
                let argv = exec_start(u);
                let logf = fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&lg)
                    .ok()?;
                let logf2 = logf.try_clone().ok()?;
                let mut cmd = Command::new(argv.first()?);
                nsc.enter(&mut cmd);
                let child = cmd
                    .args(&argv[1..])
                    .env_remove("DOCKER_HOST")
                    .stdin(Stdio::null())
                    .stdout(logf)
                    .stderr(logf2)
                    .spawn()
                    .ok();
                let mut g = sh.lock().unwrap();
                g.starts += 1;
                g.pid = child.as_ref().map(Child::id);
                g.exited = None;
                child
            };
            let mut child = spawn(&u);
            let req = dd.join("ctl/restart");
            while !s.load(Ordering::SeqCst) {
                if req.exists() {
                    if let Some(c) = child.as_mut() {
                        stop_child(c);
                    }
                    reap_containerd(&dd);
                    child = spawn(&u);
                    let _ = fs::remove_file(&req);
                } else if let Some(c) = child.as_mut()
                    && let Ok(Some(st)) = c.try_wait()
                {
                    sh.lock().unwrap().exited = Some(st.to_string());
                    child = None;
                }
                thread::sleep(Duration::from_millis(50));
            }
            if let Some(c) = child.as_mut() {
                stop_child(c);
            }
        });
        let sv = Supervised {
            sock: dir.join("docker.sock"),
            backups: dir.join("backups"),
            dir,
            unit,
            config: config_path,
            log,
            netns: ns.clone(),
            stop,
            thread: Some(thread),
            shared,
        };
        assert!(
            sv.wait_ping(),
            "dockerd did not start:\n{}",
            tail(&sv.log, 30)
        );
        sv
    }

    /// The drop-in dockhard writes: `docker.service.d/zz-dockhard.conf`.
    pub fn dropin(&self) -> PathBuf {
        PathBuf::from(format!("{}.d/zz-dockhard.conf", self.unit.display()))
    }

    pub fn wait_ping(&self) -> bool {
        poll(Duration::from_secs(30), || {
            http_unix(&self.sock, "GET", "/_ping", None, Duration::from_secs(2))
                .ok()
                .filter(|r| r.status == 200)
        })
        .is_some()
    }

    /// Ask the supervisor for a restart (as `systemctl restart` would) and
    /// wait until the new dockerd answers `/_ping`; `Err` (with the log
    /// tail) when it exits or does not answer within 30 s.
    pub fn restart(&self) -> Result<u32, String> {
        let req = self.dir.join("ctl/restart");
        let log_len = fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
        fs::write(&req, b"").map_err(|e| format!("{}: {e}", req.display()))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut requested = true;
        loop {
            if requested && !req.exists() {
                requested = false;
            }
            if !requested {
                let g = self.shared.lock().unwrap();
                if let Some(st) = &g.exited {
                    let log = fs::read(&self.log).unwrap_or_default();
                    let from = usize::try_from(log_len).unwrap_or(0).min(log.len());
                    let text = String::from_utf8_lossy(&log[from..]);
                    let lines: Vec<&str> = text.lines().collect();
                    return Err(format!(
                        "dockerd exited ({st}):\n{}",
                        lines[lines.len().saturating_sub(15)..].join("\n")
                    ));
                }
                let pid = g.pid;
                drop(g);
                if let Ok(r) = http_unix(&self.sock, "GET", "/_ping", None, Duration::from_secs(2))
                    && r.status == 200
                    && let Some(pid) = pid
                {
                    return Ok(pid);
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "dockerd did not answer within 30 s:\n{}",
                    tail(&self.log, 15)
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether a restart request is pending (a `--restart cmd:` command of
    /// a killed dockhard may have left one: the supervisor serves it).
    pub fn restart_pending(&self) -> bool {
        self.dir.join("ctl/restart").exists()
    }

    /// The pid in the pidfile.
    pub fn pid(&self) -> u32 {
        fs::read_to_string(self.dir.join("pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    pub fn get(&self, path: &str) -> Value {
        let r = http_unix(&self.sock, "GET", path, None, Duration::from_secs(10)).unwrap();
        serde_json::from_slice(&r.body).unwrap()
    }

    /// `cmd:` restart command: ask the supervisor, wait until it has restarted.
    pub fn restart_cmd(&self) -> String {
        let req = self.dir.join("ctl/restart");
        format!(
            "cmd:touch {r}; i=0; while [ -e {r} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done",
            r = req.display()
        )
    }

    pub fn starts(&self) -> usize {
        self.shared.lock().unwrap().starts
    }

    /// The arguments of `dockhard fix --pid PID --unit UNIT --backup-dir
    /// D/backups --wait-secs 40` followed by `args`.
    pub fn fix_args(&self, args: &[&str]) -> Vec<String> {
        let mut all: Vec<String> = [
            "fix",
            "--pid",
            &self.pid().to_string(),
            "--unit",
            &self.unit.display().to_string(),
            "--backup-dir",
            &self.backups.display().to_string(),
            "--wait-secs",
            "40",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        all.extend(args.iter().map(|s| s.to_string()));
        all
    }

    /// Run `dockhard` with [`Supervised::fix_args`] (in the namespace).
    pub fn fix(&self, args: &[&str]) -> (i32, String) {
        let all = self.fix_args(args);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        self.dockhard(&refs)
    }

    /// `program` as a command in the daemon's network namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        self.netns.enter(&mut cmd);
        cmd
    }

    /// Run the dockhard binary in the daemon's network namespace; (exit
    /// code, stdout and stderr).
    pub fn dockhard(&self, args: &[&str]) -> (i32, String) {
        run_output(self.command(super::dockhard_bin()).args(args))
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "--- {} (tail) ---\n{}",
                self.log.display(),
                tail(&self.log, 40)
            );
        }
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for pid in super::processes_under(&self.dir) {
            let _ = send_signal(pid, libc::SIGKILL);
        }
        super::unmount_under(&self.dir);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Run the dockhard binary in the test's own namespace (for what needs no
/// daemon: `tls init`); (exit code, stdout and stderr).
pub fn run_dockhard(args: &[&str]) -> (i32, String) {
    run_output(Command::new(super::dockhard_bin()).args(args))
}

/// Run `cmd` (standard input closed); (exit code, stdout and stderr).
pub fn run_output(cmd: &mut Command) -> (i32, String) {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
