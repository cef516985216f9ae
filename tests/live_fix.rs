//! Live tests of `dockhard fix --apply` on real dockerd instances.
//!
//! A small supervisor (a thread of the test) plays the service manager: it
//! starts dockerd from the `ExecStart=` of a unit file under the test
//! directory (after its `FILE.d/*.conf` drop-ins) and restarts it when the
//! `--restart cmd:...` command asks (by creating a request file). dockhard
//! is told which unit starts the daemon with `--unit FILE`.
//!
//! Needs root and dockerd (see tests/live.rs); serialised with the other
//! live tests by `support::live`.

mod support;

use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use support::{Daemon, DaemonOpts, SyslogListener, http_unix, live, poll};

// ---------------------------------------------------------------------------
// The supervisor

/// The ExecStart= argv of `unit` after the drop-ins in `unit.d/` (the
/// simple unit files of these tests: continuation lines, `$$`, double quotes).
fn exec_start(unit: &Path) -> Vec<String> {
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

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on a specific positive pid we started.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

fn stop_child(c: &mut Child) {
    if let Ok(None) = c.try_wait() {
        signal(c.id(), libc::SIGTERM);
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

/// dockerd run by a test "service manager" from a unit file.
struct Supervised {
    dir: PathBuf,
    unit: PathBuf,
    sock: PathBuf,
    config: PathBuf,
    log: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    starts: Arc<Mutex<usize>>,
}

impl Supervised {
    /// Write D/docker.service (ExecStart with `extra` flags) and
    /// D/daemon.json (`config`), start the supervisor, wait for /_ping.
    fn start(live: &support::Live, extra: &str, config: &str) -> Supervised {
        let dockerd = live.tools.dockerd.display().to_string();
        let dir = tempfile::Builder::new()
            .prefix("dockhard-fix-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let d = dir.display();
        let unit = dir.join("docker.service");
        let config_path = dir.join("daemon.json");
        fs::write(&config_path, config).unwrap();
        fs::write(
            &unit,
            format!(
                "[Unit]\nDescription=test dockerd\n\n[Service]\nExecStart={dockerd} --data-root {d}/data --exec-root {d}/exec \\\n  --pidfile {d}/pid -H unix://{d}/docker.sock --storage-driver vfs \\\n  --config-file {d}/daemon.json {extra}\n"
            ),
        )
        .unwrap();
        fs::create_dir_all(dir.join("ctl")).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let starts = Arc::new(Mutex::new(0));
        let log = dir.join("dockerd.log");
        let (s, u, dd, lg, st) = (
            stop.clone(),
            unit.clone(),
            dir.clone(),
            log.clone(),
            starts.clone(),
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
                *st.lock().unwrap() += 1;
                Command::new(argv.first()?)
                    .args(&argv[1..])
                    .env_remove("DOCKER_HOST")
                    .stdin(Stdio::null())
                    .stdout(logf)
                    .stderr(logf2)
                    .spawn()
                    .ok()
            };
            let mut child = spawn(&u);
            let req = dd.join("ctl/restart");
            while !s.load(Ordering::SeqCst) {
                if req.exists() {
                    if let Some(c) = child.as_mut() {
                        stop_child(c);
                    }
                    child = spawn(&u);
                    let _ = fs::remove_file(&req);
                }
                thread::sleep(Duration::from_millis(50));
            }
            if let Some(c) = child.as_mut() {
                stop_child(c);
            }
        });
        let sv = Supervised {
            sock: dir.join("docker.sock"),
            dir,
            unit,
            config: config_path,
            log,
            stop,
            thread: Some(thread),
            starts,
        };
        assert!(
            sv.wait_ping(),
            "dockerd did not start:\n{}",
            support::tail(&sv.log, 30)
        );
        sv
    }

    fn wait_ping(&self) -> bool {
        poll(Duration::from_secs(30), || {
            http_unix(&self.sock, "GET", "/_ping", None, Duration::from_secs(2))
                .ok()
                .filter(|r| r.status == 200)
        })
        .is_some()
    }

    fn pid(&self) -> u32 {
        fs::read_to_string(self.dir.join("pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    fn get(&self, path: &str) -> Value {
        let r = http_unix(&self.sock, "GET", path, None, Duration::from_secs(10)).unwrap();
        serde_json::from_slice(&r.body).unwrap()
    }

    /// `cmd:` restart command: ask the supervisor, wait until it has restarted.
    fn restart_cmd(&self) -> String {
        let req = self.dir.join("ctl/restart");
        format!(
            "cmd:touch {r}; i=0; while [ -e {r} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done",
            r = req.display()
        )
    }

    fn starts(&self) -> usize {
        *self.starts.lock().unwrap()
    }

    /// `dockhard fix --pid PID --unit D/docker.service ... --apply --yes`
    fn fix(&self, args: &[&str]) -> (i32, String) {
        let pid = self.pid().to_string();
        let unit = self.unit.display().to_string();
        let backups = self.dir.join("backups").display().to_string();
        let mut all = vec![
            "fix",
            "--pid",
            &pid,
            "--unit",
            &unit,
            "--backup-dir",
            &backups,
            "--wait-secs",
            "40",
        ];
        all.extend_from_slice(args);
        run_dockhard(&all)
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "--- {} (tail) ---\n{}",
                self.log.display(),
                support::tail(&self.log, 40)
            );
        }
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for pid in support::processes_under(&self.dir) {
            signal(pid, libc::SIGKILL);
        }
        support::unmount_under(&self.dir);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn run_dockhard(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dockhard"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn icc(v: &Value) -> String {
    v["Options"]["com.docker.network.bridge.enable_icc"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

// ---------------------------------------------------------------------------

#[test]
fn live_fix_seed_by_daemon_json_with_restart() {
    let Some(live) = live("live_fix_seed_by_daemon_json_with_restart") else {
        return;
    };
    let syslog = SyslogListener::start();
    let sv = Supervised::start(
        &live,
        "",
        "{\n  \"log-driver\": \"json-file\",\n  \"log-opts\": {\n    \"max-size\": \"10m\"\n  }\n}\n",
    );
    let old_pid = sv.pid();
    assert_eq!(icc(&sv.get("/networks/bridge")), "true");
    let restart = sv.restart_cmd();
    let addr = syslog.address();
    let (code, out) = sv.fix(&[
        "--rule",
        "daemon.icc",
        "--rule",
        "daemon.userland-proxy",
        "--rule",
        "daemon.live-restore",
        "--rule",
        "daemon.remote-logging",
        "--syslog-address",
        &addr,
        "--restart",
        &restart,
        "--apply",
        "--yes",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("daemon.icc                    fail -> pass"),
        "{out}"
    );
    assert!(
        out.contains("daemon.remote-logging         fail -> pass"),
        "{out}"
    );
    // The daemon's own API.
    assert_ne!(sv.pid(), old_pid);
    let info = sv.get("/info");
    assert_eq!(info["LoggingDriver"], "syslog");
    assert_eq!(info["LiveRestoreEnabled"], true);
    assert_eq!(icc(&sv.get("/networks/bridge")), "false");
    let json: Value = serde_json::from_str(&fs::read_to_string(&sv.config).unwrap()).unwrap();
    assert_eq!(json["userland-proxy"], false);
    assert!(json["log-opts"].get("max-size").is_none(), "{json}");
    // Idempotent.
    let (code, out) = sv.fix(&[
        "--rule",
        "daemon.icc",
        "--rule",
        "daemon.userland-proxy",
        "--rule",
        "daemon.live-restore",
        "--rule",
        "daemon.remote-logging",
        "--syslog-address",
        &addr,
        "--restart",
        &restart,
        "--apply",
        "--yes",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing to do"), "{out}");
}

#[test]
fn live_fix_sighup_only_for_live_restore() {
    let Some(live) = live("live_fix_sighup_only_for_live_restore") else {
        return;
    };
    let d = Daemon::start(
        &live,
        DaemonOpts::new().config("{\n  \"debug\": false\n}\n"),
    );
    let pid = d.pid().to_string();
    let backups = d.dir.join("backups").display().to_string();
    let (code, out) = run_dockhard(&[
        "fix",
        "--pid",
        &pid,
        "--rule",
        "daemon.live-restore",
        "--backup-dir",
        &backups,
        "--wait-secs",
        "30",
        "--apply",
        "--yes",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("dockerd action: reload (SIGHUP)"), "{out}");
    assert!(
        out.contains("daemon.live-restore           fail -> pass"),
        "{out}"
    );
    assert_eq!(d.info()["LiveRestoreEnabled"], true);
    assert_eq!(
        d.pid().to_string(),
        pid,
        "same process: reloaded, not restarted"
    );
    assert!(support::processes_under(&d.dir).contains(&d.pid()));
}

#[test]
fn live_fix_flag_in_unit_goes_to_a_dropin() {
    let Some(live) = live("live_fix_flag_in_unit_goes_to_a_dropin") else {
        return;
    };
    let syslog = SyslogListener::start();
    let sv = Supervised::start(
        &live,
        "--log-driver json-file --log-opt max-size=10m",
        "{\n  \"debug\": false\n}\n",
    );
    let old_json = fs::read_to_string(&sv.config).unwrap();
    let restart = sv.restart_cmd();
    let addr = syslog.address();
    let (code, out) = sv.fix(&[
        "--rule",
        "daemon.remote-logging",
        "--syslog-address",
        &addr,
        "--restart",
        &restart,
        "--apply",
        "--yes",
    ]);
    assert_eq!(code, 0, "{out}");
    let dropin = fs::read_to_string(sv.dir.join("docker.service.d/zz-dockhard.conf")).unwrap();
    assert!(dropin.contains("--log-driver=syslog"), "{dropin}");
    assert!(
        !fs::read_to_string(&sv.config)
            .unwrap()
            .contains("log-driver")
    );
    assert_ne!(fs::read_to_string(&sv.config).unwrap(), "", "{old_json}");
    assert_eq!(sv.get("/info")["LoggingDriver"], "syslog");
    let cmdline = fs::read(format!("/proc/{}/cmdline", sv.pid())).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(cmdline.contains("--log-driver=syslog"), "{cmdline}");
    assert!(!cmdline.contains("max-size"), "{cmdline}");
}

#[test]
fn live_fix_rollback_when_dockerd_does_not_start() {
    let Some(live) = live("live_fix_rollback_when_dockerd_does_not_start") else {
        return;
    };
    let sv = Supervised::start(&live, "", "{\n  \"debug\": false\n}\n");
    let old_json = fs::read_to_string(&sv.config).unwrap();
    let restart = sv.restart_cmd();
    let starts = sv.starts();
    // An authorization plugin that does not exist (forced): dockerd does
    // not start with it.
    let (code, out) = sv.fix(&[
        "--rule",
        "daemon.authorization-plugin",
        "--rule",
        "daemon.icc",
        "--authz-plugin",
        "dockhard-nosuch-plugin",
        "--force",
        "--restart",
        &restart,
        "--apply",
        "--yes",
        "--wait-secs",
        "15",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILED"), "{out}");
    assert!(out.contains("rolled back: dockerd pid"), "{out}");
    assert_eq!(fs::read_to_string(&sv.config).unwrap(), old_json);
    assert!(
        sv.starts() >= starts + 2,
        "restarted with the change, then again"
    );
    let info = sv.get("/info");
    assert_eq!(
        info["Plugins"]["Authorization"],
        Value::Null,
        "{}",
        info["Plugins"]
    );
    assert_eq!(icc(&sv.get("/networks/bridge")), "true");
    // --rollback now has nothing left to restore.
    let (code, out) = sv.fix(&["--rollback", "--restart", &restart]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("already rolled back"), "{out}");
}

/// The remote-API rules fixed end to end: a plain TCP listener, certificates
/// from `dockhard tls init`, `fix --apply` with a restart, and the new daemon
/// refuses a client without a certificate (the probe says so).
#[test]
fn live_fix_tls_for_a_plain_tcp_listener() {
    let Some(live) = live("live_fix_tls_for_a_plain_tcp_listener") else {
        return;
    };
    let port = support::free_port();
    let sv = Supervised::start(&live, &format!("-H tcp://127.0.0.1:{port}"), "{}\n");
    let certs = sv.dir.join("certs");
    let certs_s = certs.display().to_string();
    let (code, out) = run_dockhard(&[
        "tls",
        "init",
        &certs_s,
        "--san",
        "127.0.0.1",
        "--san",
        "localhost",
    ]);
    assert_eq!(code, 0, "{out}");
    let (ca, cert, key) = (
        format!("{certs_s}/ca.pem"),
        format!("{certs_s}/server-cert.pem"),
        format!("{certs_s}/server-key.pem"),
    );
    let old_pid = sv.pid();
    let restart = sv.restart_cmd();
    let (code, out) = sv.fix(&[
        "--rule",
        "daemon.remote-api-auth",
        "--rule",
        "daemon.remote-api-tls",
        "--tls-ca",
        &ca,
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--restart",
        &restart,
        "--apply",
        "--yes",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("daemon.remote-api-auth        fail -> pass"),
        "{out}"
    );
    assert!(
        out.contains("daemon.remote-api-tls         fail -> pass"),
        "{out}"
    );
    assert_ne!(sv.pid(), old_pid, "restarted");
    let json: Value = serde_json::from_str(&fs::read_to_string(&sv.config).unwrap()).unwrap();
    assert_eq!(json["tlsverify"], true, "{json}");
    // An unauthenticated client is now refused by the real daemon.
    let pid = sv.pid().to_string();
    let unit = sv.unit.display().to_string();
    let (code, report) =
        run_dockhard(&["check", "--pid", &pid, "--unit", &unit, "--format", "json"]);
    assert_eq!(code, 1, "{report}");
    let v: Value = serde_json::from_str(&report).unwrap_or_else(|e| panic!("{e}: {report}"));
    let auth = v["daemons"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "daemon.remote-api-auth")
        .unwrap()
        .clone();
    assert_eq!(auth["status"], "pass", "{auth:#}");
    assert!(auth["evidence"].to_string().contains("refused"), "{auth:#}");
}

/// Turning on client verification for the listener dockhard itself talks
/// to (without a client certificate) would lock the tool out: refused
/// unless --force, and nothing is written.
#[test]
fn live_fix_refuses_to_lock_itself_out_of_its_own_endpoint() {
    let Some(live) = live("live_fix_refuses_to_lock_itself_out_of_its_own_endpoint") else {
        return;
    };
    let port = support::free_port();
    let sv = Supervised::start(&live, &format!("-H tcp://127.0.0.1:{port}"), "{}\n");
    let certs = sv.dir.join("certs");
    let certs_s = certs.display().to_string();
    let (code, out) = run_dockhard(&["tls", "init", &certs_s, "--san", "127.0.0.1"]);
    assert_eq!(code, 0, "{out}");
    let host = format!("tcp://127.0.0.1:{port}");
    let (ca, cert, key) = (
        format!("{certs_s}/ca.pem"),
        format!("{certs_s}/server-cert.pem"),
        format!("{certs_s}/server-key.pem"),
    );
    let restart = sv.restart_cmd();
    let (code, out) = sv.fix(&[
        "--host",
        &host,
        "--rule",
        "daemon.remote-api-auth",
        "--tls-ca",
        &ca,
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--restart",
        &restart,
        "--apply",
        "--yes",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("dockhard itself uses"), "{out}");
    assert_eq!(
        fs::read_to_string(&sv.config).unwrap(),
        "{}\n",
        "nothing written"
    );
    assert_eq!(sv.starts(), 1, "not restarted");
}

/// Live restore is incompatible with swarm mode: on a swarm node the rule is
/// not applicable and `fix` does not turn it on.
#[test]
fn live_fix_leaves_live_restore_alone_in_swarm_mode() {
    let Some(live) = live("live_fix_leaves_live_restore_alone_in_swarm_mode") else {
        return;
    };
    let d = Daemon::start(&live, DaemonOpts::new().config("{}\n"));
    d.docker_ok(&[
        "swarm",
        "init",
        "--advertise-addr",
        "127.0.0.1",
        "--listen-addr",
        "127.0.0.1:0",
    ]);
    assert_eq!(d.info()["Swarm"]["LocalNodeState"], "active");
    let pid = d.pid().to_string();
    let backups = d.dir.join("backups").display().to_string();
    let (code, out) = run_dockhard(&[
        "fix",
        "--pid",
        &pid,
        "--rule",
        "daemon.live-restore",
        "--backup-dir",
        &backups,
        "--apply",
        "--yes",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not_applicable"), "{out}");
    assert!(out.contains("nothing to do"), "{out}");
    assert_eq!(d.info()["LiveRestoreEnabled"], false);
    let _ = d.docker(&["swarm", "leave", "--force"]);
}
