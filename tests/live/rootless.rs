//! Rootless Docker, live: `dockerd-rootless.sh` (docker.io's contrib) run
//! as the unprivileged user `dockhard-rl` (created with subuid/subgid ranges
//! by scripts/test) under rootlesskit with host networking (in a network
//! namespace the test made, not the host's), then
//! `dockhard check` finds that dockerd among the host's processes, sees that
//! it is rootless, reads the user's own daemon.json and talks to its socket
//! under XDG_RUNTIME_DIR.

use crate::support;

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{live_exclusive, poll};

const USER: &str = "dockhard-rl";
const SCRIPT: &str = "/usr/share/docker.io/contrib/dockerd-rootless.sh";

fn id(flag: &str) -> Option<u32> {
    let out = Command::new("id").arg(flag).arg(USER).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// The dockerd whose real uid is `uid`.
fn dockerd_of(uid: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let ruid: u32 = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        (exe.file_name()? == "dockerd" && ruid == uid).then_some(pid)
    })
}

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_rootless_daemon_is_found_and_audited_with_its_own_config() {
    // Exclusive: `check` with no target audits every dockerd of the host.
    let _live = live_exclusive("live_rootless_daemon_is_found_and_audited_with_its_own_config");
    let (Some(uid), Some(gid)) = (id("-u"), id("-g")) else {
        panic!("user {USER} does not exist: scripts/test creates it (with /etc/subuid ranges)");
    };
    assert!(
        std::path::Path::new(SCRIPT).exists(),
        "{SCRIPT} (docker.io) is missing"
    );
    let home = format!("/home/{USER}");
    let run = tempfile::Builder::new()
        .prefix("dockhard-rl-")
        .tempdir()
        .unwrap();
    let run_dir = run.path().to_path_buf();
    std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&run_dir, Some(uid), Some(gid)).unwrap();
    // The user's own daemon.json: rootless dockerd reads ~/.config/docker.
    let cfg_dir = format!("{home}/.config/docker");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    std::fs::write(
        format!("{cfg_dir}/daemon.json"),
        "{\"live-restore\": true}\n",
    )
    .unwrap();
    for p in [
        format!("{home}/.config"),
        cfg_dir.clone(),
        format!("{cfg_dir}/daemon.json"),
    ] {
        std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
    }
    let log = std::fs::File::create(run_dir.join("log")).unwrap();
    // rootlesskit's "host" network is a namespace of this test's own, never
    // the host's. dockerd (20.10 and later, even with --bridge=none) enables
    // IP forwarding unless it is on already, and a rootless process cannot
    // write a sysctl of a namespace root owns: turn it on there first (as
    // slirp4netns users have it in the namespace their user owns).
    let ns = support::Netns::new().unwrap_or_else(|e| panic!("{e}"));
    let mut sysctl = Command::new("sysctl");
    ns.enter(&mut sysctl).args(["-qw", "net.ipv4.ip_forward=1"]);
    let st = sysctl.status().expect("sysctl");
    assert!(
        st.success(),
        "sysctl -w net.ipv4.ip_forward=1 in the test's namespace: {st}"
    );
    let mut setpriv = Command::new("setpriv");
    ns.enter(&mut setpriv);
    let mut child = setpriv
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={gid}"),
            "--init-groups",
            SCRIPT,
            "--storage-driver",
            "vfs",
            "--iptables=false",
            "--bridge=none",
        ])
        .env_clear()
        .env("HOME", &home)
        .env("USER", USER)
        .env("XDG_RUNTIME_DIR", &run_dir)
        .env(
            "PATH",
            "/usr/share/docker.io/contrib:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("DOCKERD_ROOTLESS_ROOTLESSKIT_NET", "host")
        .env("DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER", "none")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("setpriv dockerd-rootless.sh");
    let sock = run_dir.join("docker.sock");
    let pid = poll(Duration::from_secs(60), || {
        if !sock.exists() {
            return None;
        }
        dockerd_of(uid)
    });
    let log_text = || std::fs::read_to_string(run_dir.join("log")).unwrap_or_default();
    let Some(pid) = pid else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("rootless dockerd did not come up:\n{}", log_text());
    };
    // Wait for the API itself.
    let up = poll(Duration::from_secs(30), || {
        let out = Command::new("curl")
            .args(["-sf", "--unix-socket"])
            .arg(&sock)
            .arg("http://docker/_ping")
            .output()
            .ok()?;
        out.status.success().then_some(())
    });

    let out = assert_cmd::Command::cargo_bin("dockhard")
        .unwrap()
        .args(["check", "--profile", "all", "--format", "json"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    // Stop exactly what this test started: rootlesskit (the child), which
    // takes its dockerd down with it.
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = poll(Duration::from_secs(30), || child.try_wait().ok().flatten());
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(format!("{cfg_dir}/daemon.json"));
    assert!(up.is_some(), "rootless API did not answer:\n{}", log_text());

    let text = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let daemons = report["daemons"].as_array().cloned().unwrap_or_default();
    let d = daemons.iter().find(|d| d["pid"] == pid).unwrap_or_else(|| {
        panic!("the rootless dockerd {pid} was not found by the /proc scan: {report:#}")
    });
    assert_eq!(d["rootless"], true, "{d:#}");
    assert_eq!(
        d["config_file"],
        format!("{home}/.config/docker/daemon.json"),
        "{d:#}"
    );
    assert_eq!(d["endpoint"], format!("unix://{}", sock.display()), "{d:#}");
    let status = |rule: &str| {
        d["results"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["rule"] == rule))
            .map(|r| r["status"].as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("{rule} missing: {d:#}"))
    };
    // Live values from the rootless API: rootless counts as a user namespace,
    // and the user's daemon.json turned live restore on.
    assert_eq!(status("daemon.userns-remap"), "pass", "{d:#}");
    assert_eq!(status("daemon.live-restore"), "pass", "{d:#}");
    assert_eq!(status("containers.sprawl"), "manual", "{d:#}");
}
