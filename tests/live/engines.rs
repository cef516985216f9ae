//! Live tests of the three real Docker Engines the facts are checked on:
//! the host's (Debian 12: 20.10) and the two `scripts/engines` fetches
//! without installing them (Debian 13: 26.1, Debian unstable: 28.5, both
//! with unstable's containerd 2.x and the host's runc).
//!
//! Each engine: a private daemon (`support::Daemon`) that reports its
//! version on `GET /version`, talks to the host's docker CLI (20.10, API
//! 1.41: `docker version`, `import`, `run`), runs a container, runs the
//! containerd and shim of its own PATH, and leaves no process behind when
//! stopped, gracefully or after a SIGKILL. `dockerd --version` and
//! `dockerd --help` of each are checked without a daemon; the help texts
//! are kept in tests/fixtures/engines/ (the option table is checked
//! against them).
//!
//! They need root and the engines (`scripts/test` runs `scripts/engines`
//! and sets `DOCKHARD_ENGINES`); they are `#[ignore]`d (scripts/test runs
//! them) and fail without them.

use crate::support;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{Daemon, DaemonOpts, Engine, FETCHED_LINES, engine, engines, live, loud};

/// The release lines the tests expect: the host's, then the fetched ones.
const LINES: [&str; 3] = ["20.10", FETCHED_LINES[0], FETCHED_LINES[1]];

/// The PATH of an installed Debian system (root's), for outputs that
/// depend on PATH (`dockerd --help` shows the docker-proxy PATH finds).
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// tests/fixtures/engines/dockerd-help-VERSION.txt
fn help_fixture(version: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/engines")
        .join(format!("dockerd-help-{version}.txt"))
}

/// `dockerd --help` (or any flag) of `e` with only `path` and HOME=/root
/// in its environment.
fn dockerd_text(e: &Engine, flag: &str, path: &OsStr) -> String {
    let out = Command::new(&e.dockerd)
        .arg(flag)
        .env_clear()
        .env("PATH", path)
        .env("HOME", "/root")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("cannot run {} {flag}: {err}", e.dockerd.display()));
    assert!(
        out.status.success(),
        "{} {flag}: {}\nstderr: {}",
        e.dockerd.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The executable of a process, if it is still there.
fn exe_of(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// Where PATH lookup finds `name` for dockerd of `e` (its prefix first).
fn found_on_path(e: &Engine, name: &str) -> Option<PathBuf> {
    let path = e
        .path_with(std::env::var_os("PATH").as_deref())
        .unwrap_or_else(|why| panic!("{why}"));
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
}

/// The processes under the daemon's directory whose executable is named
/// `name` (containerd, containerd-shim-runc-v2), with that executable.
fn started(d: &Daemon, name: &str) -> Vec<(u32, PathBuf)> {
    support::processes_under(&d.dir)
        .into_iter()
        .filter_map(|pid| exe_of(pid).map(|exe| (pid, exe)))
        .filter(|(_, exe)| exe.file_name().is_some_and(|n| n == name))
        .collect()
}

/// `dockerd --version` of every engine reports its release line, and its
/// `dockerd --help` is the one kept in tests/fixtures/engines/.
#[test]
#[ignore = "needs root; scripts/test runs it"]
fn engines_dockerd_version_and_help() {
    support::need_root("engines_dockerd_version_and_help");
    let all = engines();
    for line in LINES {
        let e = engine(line);
        assert!(all.contains(&e), "engines() lists engine({line}): {all:?}");
        let path = e
            .path_with(std::env::var_os("PATH").as_deref())
            .unwrap_or_else(|why| panic!("{why}"));
        let version = dockerd_text(e, "--version", &path);
        assert!(
            version.starts_with(&format!("Docker version {line}.")),
            "{} --version: {version:?}, expected release {line}",
            e.dockerd.display()
        );
        assert_eq!(
            support::dockerd_version(&version).as_deref(),
            Some(e.version.as_str()),
            "{} --version: {version:?}",
            e.dockerd.display()
        );

        // As on an installed system (docker-proxy found in /usr/sbin).
        let help = dockerd_text(e, "--help", OsStr::new(SYSTEM_PATH));
        let fixture = help_fixture(&e.version);
        let kept = std::fs::read_to_string(&fixture).unwrap_or_else(|err| {
            panic!(
                "{}: {err}; create it with: env -i PATH={SYSTEM_PATH} HOME=/root {} --help > {}",
                fixture.display(),
                e.dockerd.display(),
                fixture.display()
            )
        });
        assert!(
            help == kept,
            "{} --help differs from {} (regenerate it with: env -i PATH={SYSTEM_PATH} \
             HOME=/root {} --help > {}, and check the option table)\n--- now ---\n{help}",
            e.dockerd.display(),
            fixture.display(),
            e.dockerd.display(),
            fixture.display()
        );

        // With the engine's PATH, the userland proxy's default is its own
        // docker-proxy (26.1 and 28.5 take the default from PATH; 20.10
        // shows none).
        if !e.path_prefix.is_empty() {
            let own = found_on_path(e, "docker-proxy")
                .unwrap_or_else(|| panic!("no docker-proxy on the PATH of {e:?}"));
            assert!(
                e.path_prefix.iter().any(|d| own.starts_with(d)),
                "{e:?}: docker-proxy found at {}, not in its PATH prefix",
                own.display()
            );
            let help = dockerd_text(e, "--help", &path);
            let squashed = help.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                squashed.contains(&format!("proxy binary (default \"{}\")", own.display())),
                "{} --help with its PATH: the userland-proxy-path default is not {}:\n{help}",
                e.dockerd.display(),
                own.display()
            );
        }
    }
}

/// One engine end to end: start, `/version`, the host's CLI, a container,
/// its own containerd and shim, a clean stop.
fn engine_end_to_end(test: &str, line: &str) {
    let live = live(test);
    let e = engine(line);
    let mut d = Daemon::start(&live, DaemonOpts::new().engine(e));
    loud(&format!(
        "[engines] {} ({}): /_ping after {:.2} s",
        e.version,
        e.dockerd.display(),
        d.ready_after.as_secs_f64()
    ));
    assert_eq!(
        d.argv[0],
        e.dockerd.display().to_string(),
        "dockerd run by path"
    );
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", d.pid())).unwrap_or_default();
    assert!(
        cmdline.starts_with(e.dockerd.as_os_str().as_encoded_bytes()),
        "pid {} runs {}",
        d.pid(),
        String::from_utf8_lossy(&cmdline)
    );

    let v = d.get_json("/version");
    let reported = v["Version"].as_str().unwrap_or_default();
    assert!(
        reported.starts_with(&format!("{line}.")) && reported.starts_with(&e.version),
        "GET /version of {}: Version {reported:?}, expected {} (release {line}); {v}",
        e.dockerd.display(),
        e.version
    );
    let api = v["ApiVersion"].as_str().unwrap_or_default().to_string();
    assert!(!api.is_empty(), "GET /version: no ApiVersion: {v}");

    // The host's docker CLI (20.10) against this daemon.
    let server = d.docker_ok(&["version", "--format", "{{.Server.Version}}"]);
    assert_eq!(server.trim(), reported, "docker version (host CLI)");

    // A container, with the host's CLI and the image imported from busybox.
    let image = d.busybox_image();
    assert_eq!(image, support::IMAGE);
    let marker = format!("dockhard-engine-{}", e.version);
    let out = d.run_container(&["sh", "-c", &format!("echo {marker}")]);
    assert_eq!(out.trim(), marker, "container output on {}", e.version);

    // The containerd and the shim are the ones its PATH finds first.
    let containerd = found_on_path(e, "containerd")
        .unwrap_or_else(|| panic!("no containerd on the PATH of {e:?}"));
    let running = started(&d, "containerd");
    assert!(
        !running.is_empty() && running.iter().all(|(_, exe)| *exe == containerd),
        "{}: the daemon's containerd should be {}; running: {running:?}",
        e.version,
        containerd.display()
    );
    let id = d.docker_ok(&["run", "-d", image.as_str(), "sleep", "300"]);
    let shim = found_on_path(e, "containerd-shim-runc-v2")
        .unwrap_or_else(|| panic!("no containerd-shim-runc-v2 on the PATH of {e:?}"));
    let shims = started(&d, "containerd-shim-runc-v2");
    assert!(
        !shims.is_empty() && shims.iter().all(|(_, exe)| *exe == shim),
        "{}: a running container's shim should be {}; running: {shims:?}",
        e.version,
        shim.display()
    );
    let c = d.get_json(&format!("/containers/{}/json", id.trim()));
    assert_eq!(c["State"]["Running"], true, "container {}: {c}", id.trim());

    // A stop by pid (containers removed first) leaves nothing running.
    let (dir, pid) = (d.dir.clone(), d.pid());
    let left = d.stop_listing_leftovers(Duration::from_secs(5));
    assert!(
        left.is_empty(),
        "{}: still running 5 s after dockerd {pid} stopped: {left:?}",
        e.version
    );
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "dockerd {pid} still runs"
    );
    drop(d);
    assert!(
        support::processes_under(&dir).is_empty(),
        "processes left under {}",
        dir.display()
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    assert!(
        !mounts.contains(&dir.display().to_string()),
        "mounts left under {}",
        dir.display()
    );
    assert!(!dir.exists(), "{} not removed", dir.display());
}

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_engine_20_10() {
    engine_end_to_end("live_engine_20_10", "20.10");
}

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_engine_26_1() {
    engine_end_to_end("live_engine_26_1", "26.1");
}

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_engine_28_5() {
    engine_end_to_end("live_engine_28_5", "28.5");
}

/// True when `pid` has exited (no such process, or a zombie).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat.get(i + 1..))
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

/// After a SIGKILL of dockerd with a container running, its shim and the
/// container's process outlive it (the shim is its own session; containerd
/// dies with dockerd, which starts it with a parent-death signal): the
/// harness's stop kills the shim and, listed before, the container's
/// process. For every engine, containerd 2.x included.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_engines_sigkilled_dockerd_leaves_nothing() {
    let live = live("live_engines_sigkilled_dockerd_leaves_nothing");
    for line in LINES {
        let e = engine(line);
        let mut d = Daemon::start(&live, DaemonOpts::new().engine(e));
        let image = d.busybox_image();
        let id = d.docker_ok(&["run", "-d", image.as_str(), "sleep", "300"]);
        let c = d.get_json(&format!("/containers/{}/json", id.trim()));
        let cpid = c["State"]["Pid"]
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
            .filter(|&p| p > 0)
            .unwrap_or_else(|| panic!("{}: no State.Pid: {c}", e.version));
        let containerd: Vec<u32> = started(&d, "containerd").iter().map(|p| p.0).collect();
        let shims: Vec<u32> = started(&d, "containerd-shim-runc-v2")
            .iter()
            .map(|p| p.0)
            .collect();
        assert!(
            !containerd.is_empty() && !shims.is_empty(),
            "{}: containerd {containerd:?}, shims {shims:?} under {}",
            e.version,
            d.dir.display()
        );

        let pid = d.pid();
        // SAFETY: kill(2) of our own child.
        let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        assert_eq!(rc, 0, "SIGKILL dockerd {pid}");
        assert!(
            support::poll(Duration::from_secs(10), || gone(pid).then_some(())).is_some(),
            "dockerd {pid} did not die"
        );
        let containerd_died = support::poll(Duration::from_secs(2), || {
            containerd.iter().all(|&p| gone(p)).then_some(())
        })
        .is_some();
        let survivors: Vec<u32> = shims
            .iter()
            .copied()
            .chain([cpid])
            .filter(|&p| !gone(p))
            .collect();
        loud(&format!(
            "[engines] {}: after SIGKILL of dockerd: containerd {}; still running: shim and \
             container {survivors:?}",
            e.version,
            if containerd_died {
                "died with it"
            } else {
                "still runs"
            }
        ));
        assert_eq!(
            survivors.len(),
            shims.len() + 1,
            "{}: the shims {shims:?} and the container's process {cpid} outlive dockerd \
             (else this test proves nothing)",
            e.version
        );

        let dir = d.dir.clone();
        d.stop();
        let all: Vec<u32> = containerd
            .iter()
            .chain(&shims)
            .copied()
            .chain([cpid])
            .collect();
        let stopped = support::poll(Duration::from_secs(5), || {
            all.iter().all(|&p| gone(p)).then_some(())
        });
        assert!(
            stopped.is_some(),
            "{}: still running after stop: {:?}",
            e.version,
            all.iter().filter(|&&p| !gone(p)).collect::<Vec<_>>()
        );
        assert!(
            support::processes_under(&dir).is_empty(),
            "{}: processes left under {} after stop",
            e.version,
            dir.display()
        );
    }
}

/// The engine version of each real dockerd is read from its executable,
/// without running it (`collect::engine`), and is its `--version`'s.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn engines_executable_versions() {
    use dockhard::collect::{engine as exe, files::Fs};
    for line in LINES {
        let e = engine(line);
        let path = e.dockerd.display().to_string();
        let t = std::time::Instant::now();
        let v = exe::executable_version(&Fs::host(), &path);
        let took = t.elapsed();
        let size = std::fs::metadata(&e.dockerd).map(|m| m.len()).unwrap_or(0);
        loud(&format!(
            "[engines] {path}: {v:?} in {:.3} s ({:.0} MiB)",
            took.as_secs_f64(),
            size as f64 / 1048576.0
        ));
        let found = v.version.unwrap_or_else(|| panic!("{path}: {:?}", v.error));
        assert!(
            found == e.version || found.starts_with(&format!("{}+", e.version)),
            "{path}: embedded version {found:?}, expected {}",
            e.version
        );
    }
}

/// A running engine's executable version (`/proc/PID/exe`) and the API
/// version dockhard negotiates with it, through `collect`.
fn engine_collect(test: &str, line: &str) {
    use dockhard::collect::{CollectOptions, Target, collect};
    let live = live(test);
    let e = engine(line);
    let d = Daemon::start(&live, DaemonOpts::new().engine(e));
    let v = d.get_json("/version");
    loud(&format!(
        "[engines] {}: GET /version: Version {}, ApiVersion {}, MinAPIVersion {}",
        e.version, v["Version"], v["ApiVersion"], v["MinAPIVersion"]
    ));
    let snap = collect(&CollectOptions {
        target: Target::Pid(d.pid()),
        host: Some(d.host()),
        timeout: Duration::from_secs(10),
        unit: None,
        objects: false,
        progress: false,
    })
    .unwrap_or_else(|err| panic!("collect: {err}"));
    let dm = &snap.daemons[0];
    let exe_version = dm
        .exe_version
        .as_ref()
        .and_then(|x| x.version.clone())
        .unwrap_or_else(|| panic!("no exe_version: {:?}", dm.exe_version));
    assert!(
        exe_version.starts_with(&e.version),
        "{}: /proc/PID/exe version {exe_version}",
        e.version
    );
    assert_eq!(
        dm.api.negotiated.as_deref(),
        v["ApiVersion"].as_str(),
        "negotiated API version with {}",
        e.version
    );
    let info = dm.api.info.as_ref().expect("GET /info");
    assert_eq!(info.status, Some(200), "{info:?}");
    assert!(
        snap.engine
            .executables
            .contains_key(&e.dockerd.display().to_string()),
        "{:?}",
        snap.engine.executables.keys()
    );
}

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_engine_collect_20_10() {
    engine_collect("live_engine_collect_20_10", "20.10");
}

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_engine_collect_fetched_first() {
    engine_collect("live_engine_collect_fetched_first", FETCHED_LINES[0]);
}

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_engine_collect_fetched_second() {
    engine_collect("live_engine_collect_fetched_second", FETCHED_LINES[1]);
}
