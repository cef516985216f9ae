//! Harness self-tests (no dockhard).

use super::*;

// ---------------------------------------------------------------------------
// Harness self-tests (no dockhard)
// ---------------------------------------------------------------------------

/// Daemon start, busybox import, containers, a real authorization plugin
/// that the daemon calls, syslog delivery, and a clean stop.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn harness_daemon_image_container_plugin_syslog() {
    let live = live("harness_daemon_image_container_plugin_syslog");
    let plugin = AuthzPlugin::start();
    let ns = support::netns();
    let syslog = SyslogListener::start_in(&ns);
    let mut d = Daemon::start(
        &live,
        DaemonOpts::new().netns(&ns).args([
            format!("--authorization-plugin={}", plugin.name),
            "--log-driver=syslog".to_string(),
            "--log-opt".to_string(),
            format!("syslog-address={}", syslog.address()),
        ]),
    );
    assert!(d.pid() > 0);
    let pidfile = std::fs::read_to_string(d.dir.join("pid")).unwrap_or_default();
    assert_eq!(
        pidfile.trim(),
        d.pid().to_string(),
        "--pidfile names our child"
    );
    let info = d.info();
    assert_eq!(info["LoggingDriver"], "syslog", "/info: {info}");
    assert!(
        info["Plugins"]["Authorization"]
            .as_array()
            .is_some_and(|a| a.iter().any(|p| p == plugin.name.as_str())),
        "/info lists the plugin: {}",
        info["Plugins"]
    );
    assert!(
        plugin.count("/Plugin.Activate") >= 1,
        "plugin activated: {:?}",
        plugin.stats()
    );

    let before = plugin.authz_requests();
    let out = d.run_container(&["sh", "-c", "echo dockhard-harness-marker"]);
    assert_eq!(out.trim(), "dockhard-harness-marker");
    d.run_container(&["sleep", "1"]);
    let stats = plugin.stats();
    assert!(
        plugin.authz_requests() > before,
        "the daemon asked the plugin: {stats:?}"
    );
    assert!(
        stats
            .authz_requests
            .iter()
            .any(|r| r.starts_with("POST ") && r.contains("/containers/create")),
        "AuthZReq for container creation: {stats:?}"
    );
    assert!(
        plugin.count("/AuthZPlugin.AuthZRes") > 0,
        "AuthZRes calls: {stats:?}"
    );
    let line = syslog.wait_for("dockhard-harness-marker");
    assert!(
        line.is_some(),
        "syslog got the container's output; lines: {:?}",
        syslog.lines()
    );

    // A clean stop: no process, no mount, no directory left.
    let (dir, pid) = (d.dir.clone(), d.pid());
    drop(d);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "dockerd {pid} still runs"
    );
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

/// A TLS listener with client verification answers curl with the client
/// certificate and refuses it without.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn harness_tls_listener_and_curl() {
    let live = live("harness_tls_listener_and_curl");
    let certdir = tempfile::Builder::new()
        .prefix("dockhard-certs-")
        .tempdir_in("/tmp")
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let certs = Certs::generate(&live, certdir.path());
    let port = free_port();
    let d = Daemon::start(
        &live,
        DaemonOpts::new()
            .args(["-H".to_string(), format!("tcp://127.0.0.1:{port}")])
            .args(certs.tlsverify_flags()),
    );
    assert_eq!(
        certs.curl(&live, &d.netns, port, "/_ping", true).as_deref(),
        Ok("OK"),
        "with the client certificate"
    );
    let refused = certs.curl(&live, &d.netns, port, "/_ping", false);
    assert!(
        refused.is_err(),
        "without a client certificate: {refused:?}"
    );
    // The unix socket still answers.
    assert_eq!(d.request("GET", "/_ping", None).text(), "OK");
    for k in [&certs.server_key, &certs.client_key, &certs.ca_key] {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(k)
                .unwrap_or_else(|e| panic!("{}: {e}", k.display()))
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o400, "{} mode", k.display());
    }
}

/// The daemon runs in a network namespace of its own: not the test's, with
/// its own `docker0` there (and its iptables rules: the host's are not
/// its); a command of [`Daemon::command`] joins it.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn harness_daemon_has_a_network_namespace_of_its_own() {
    let live = live("harness_daemon_has_a_network_namespace_of_its_own");
    let d = Daemon::start(&live, DaemonOpts::new());
    let ns_of = |pid: &str| {
        std::fs::read_link(format!("/proc/{pid}/ns/net"))
            .unwrap_or_else(|e| panic!("/proc/{pid}/ns/net: {e}"))
    };
    let daemon_ns = ns_of(&d.pid().to_string());
    assert_ne!(
        daemon_ns,
        ns_of("self"),
        "dockerd shares the test's namespace"
    );
    let out = d
        .command("readlink")
        .arg("/proc/self/ns/net")
        .output()
        .unwrap_or_else(|e| panic!("readlink: {e}"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        daemon_ns.display().to_string(),
        "Daemon::command runs in the daemon's namespace"
    );
    let link = d
        .command("ip")
        .args(["-o", "link", "show", "docker0"])
        .output()
        .unwrap_or_else(|e| panic!("ip link: {e}"));
    assert!(
        link.status.success(),
        "the daemon's namespace has its own docker0: {}",
        String::from_utf8_lossy(&link.stderr)
    );
    let rules = d
        .command("iptables")
        .args(["-t", "nat", "-S", "DOCKER"])
        .output()
        .unwrap_or_else(|e| panic!("iptables: {e}"));
    assert!(
        rules.status.success(),
        "the daemon's namespace has its own DOCKER chain: {}",
        String::from_utf8_lossy(&rules.stderr)
    );
}

/// SIGHUP reloads daemon.json and `reload`/`wait_info` see it.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn harness_reload() {
    let live = live("harness_reload");
    let d = Daemon::start(
        &live,
        DaemonOpts::new().config("{\"live-restore\": false}\n"),
    );
    assert_eq!(d.info()["LiveRestoreEnabled"], false);
    d.write_config("{\"live-restore\": true}\n");
    assert_eq!(
        d.info()["LiveRestoreEnabled"],
        false,
        "no reload without SIGHUP"
    );
    d.reload();
    d.wait_info("LiveRestoreEnabled=true", |i| {
        i["LiveRestoreEnabled"] == true
    });
}

/// `--userns-remap=default` works here (creates `dockremap` and its
/// subordinate ranges) and containers run remapped.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn harness_userns_remap() {
    let live = live("harness_userns_remap");
    let mut d = Daemon::start(&live, DaemonOpts::new().arg("--userns-remap=default"));
    let info = d.info();
    assert!(
        info["SecurityOptions"]
            .as_array()
            .is_some_and(|a| a.iter().any(|o| o == "name=userns")),
        "/info SecurityOptions: {}",
        info["SecurityOptions"]
    );
    let map = d.run_container(&["cat", "/proc/self/uid_map"]);
    let first: Vec<&str> = map.split_whitespace().collect();
    assert!(
        first.len() >= 3 && first[0] == "0" && first[1] != "0",
        "container root is remapped: {map:?}"
    );
}

/// A daemon that refuses to start: `try_start` returns its complaint (with
/// the log tail) and leaves nothing behind.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn harness_start_failure_is_reported() {
    // Exclusive: it lists every daemon directory under /tmp.
    let live = live_exclusive("harness_start_failure_is_reported");
    let before: Vec<_> = list_live_dirs();
    let err = Daemon::try_start(
        &live,
        DaemonOpts::new()
            .config("{\"icc\": true}\n")
            .arg("--icc=false"),
    )
    .err()
    .unwrap_or_else(|| panic!("dockerd started with --icc=false and {{\"icc\": true}}"));
    assert!(
        err.contains("specified both as a flag and in the configuration file")
            && err.contains("exited during start"),
        "{err}"
    );
    assert_eq!(
        list_live_dirs(),
        before,
        "the failed daemon's directory is removed"
    );
}

fn list_live_dirs() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/tmp")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("dockhard-live-"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
