//! The daemon.

use super::*;

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
pub fn userns_start_lock(argv: &[String], config: Option<&str>) -> Option<fs::File> {
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
        let mut cmd = match dockerd_command(&argv, opts.engine.as_ref(), logf, &log) {
            Ok(c) => c,
            Err(why) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(why);
            }
        };
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
        self.command(dockhard_bin())
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

    /// Restart the daemon as a service manager would: SIGTERM, wait for it
    /// to exit (its containers stay), then the same command line again in
    /// the same directory and namespace (without [`DaemonOpts::env`]),
    /// until `/_ping` answers. The new
    /// pid is [`Daemon::pid`]; it writes the same pidfile.
    pub fn restart(&mut self) {
        let mut child = self
            .child
            .take()
            .unwrap_or_else(|| panic!("restart: dockerd {} is not running", self.pid));
        let _ = send_signal(self.pid, libc::SIGTERM);
        let exited = poll(STOP_TIMEOUT, || child.try_wait().ok().flatten());
        if exited.is_none() {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "restart: dockerd {} did not stop within {STOP_TIMEOUT:?}\n{}",
                self.pid,
                self.log_tail(40)
            );
        }
        let logf = fs::OpenOptions::new()
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("{}: {e}", self.log.display()));
        let mut cmd = dockerd_command(&self.argv, self.engine.as_ref(), logf, &self.log)
            .unwrap_or_else(|e| panic!("restart: {e}"));
        self.netns.enter(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} again: {e}", self.argv[0]));
        self.pid = child.id();
        self.child = Some(child);
        if let Err(e) = self.wait_ready() {
            panic!("restart: {e}");
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

/// dockerd's command: `argv`, output to `log` (named `log_path`), no
/// DOCKER_* variable of the test's environment, and `engine`'s directories
/// first on PATH.
fn dockerd_command(
    argv: &[String],
    engine: Option<&Engine>,
    log: fs::File,
    log_path: &Path,
) -> Result<Command, String> {
    let log2 = log
        .try_clone()
        .map_err(|e| format!("{}: {e}", log_path.display()))?;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    for k in [
        "DOCKER_HOST",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
        "DOCKER_CONFIG",
        "DOCKER_CONTEXT",
    ] {
        cmd.env_remove(k);
    }
    if let Some(e) = engine.filter(|e| !e.path_prefix.is_empty()) {
        cmd.env("PATH", e.path_with(std::env::var_os("PATH").as_deref())?);
    }
    Ok(cmd)
}
