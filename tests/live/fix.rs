//! Live tests of `dockhard fix --apply` on real dockerd instances.
//!
//! A small supervisor (tests/support/supervisor.rs) plays the service
//! manager: it starts dockerd from the `ExecStart=` of a unit file under the
//! test directory (after its `FILE.d/*.conf` drop-ins) and restarts it when
//! the `--restart cmd:...` command asks. dockhard is told which unit starts
//! the daemon with `--unit FILE`. Faults (kills, full disk, read-only /etc,
//! failing restarts, concurrent runs) are in tests/live/faults.rs.
//!
//! Needs root and dockerd (see tests/live/seed.rs). Each daemon runs in a
//! network namespace of its own, with dockhard and the syslog receiver
//! (`Supervised::dockhard`, `Daemon::dockhard`, `SyslogListener::start_in`),
//! so these run in parallel with the other live tests (`support::live`).

use crate::support;

use serde_json::Value;
use std::fs;
use support::supervisor::{Supervised, run_dockhard, run_output};
use support::{Daemon, DaemonOpts, SyslogListener, live};

fn icc(v: &Value) -> String {
    v["Options"]["com.docker.network.bridge.enable_icc"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

// ---------------------------------------------------------------------------

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_fix_seed_by_daemon_json_with_restart() {
    let live = live("live_fix_seed_by_daemon_json_with_restart");
    let ns = support::netns();
    let syslog = SyslogListener::start_in(&ns);
    let sv = Supervised::start_in(
        &live,
        &ns,
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
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_fix_sighup_only_for_live_restore() {
    let live = live("live_fix_sighup_only_for_live_restore");
    let d = Daemon::start(
        &live,
        DaemonOpts::new().config("{\n  \"debug\": false\n}\n"),
    );
    let pid = d.pid().to_string();
    let backups = d.dir.join("backups").display().to_string();
    let (code, out) = run_output(d.dockhard().args([
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
    ]));
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
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_fix_flag_in_unit_goes_to_a_dropin() {
    let live = live("live_fix_flag_in_unit_goes_to_a_dropin");
    let ns = support::netns();
    let syslog = SyslogListener::start_in(&ns);
    let sv = Supervised::start_in(
        &live,
        &ns,
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
    let dropin = fs::read_to_string(sv.dropin()).unwrap();
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
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_fix_rollback_when_dockerd_does_not_start() {
    let live = live("live_fix_rollback_when_dockerd_does_not_start");
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
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_fix_tls_for_a_plain_tcp_listener() {
    let live = live("live_fix_tls_for_a_plain_tcp_listener");
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
        sv.dockhard(&["check", "--pid", &pid, "--unit", &unit, "--format", "json"]);
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
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_fix_refuses_to_lock_itself_out_of_its_own_endpoint() {
    let live = live("live_fix_refuses_to_lock_itself_out_of_its_own_endpoint");
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
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_fix_leaves_live_restore_alone_in_swarm_mode() {
    let live = live("live_fix_leaves_live_restore_alone_in_swarm_mode");
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
    let (code, out) = run_output(d.dockhard().args([
        "fix",
        "--pid",
        &pid,
        "--rule",
        "daemon.live-restore",
        "--backup-dir",
        &backups,
        "--apply",
        "--yes",
    ]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not_applicable"), "{out}");
    assert!(out.contains("nothing to do"), "{out}");
    assert_eq!(d.info()["LiveRestoreEnabled"], false);
    let _ = d.docker(&["swarm", "leave", "--force"]);
}

fn mode_of(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .mode()
        & 0o7777
}

fn chmod(p: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    // Only files under the test's own directory (the supervised daemon's).
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

/// The owner and mode of the daemon's daemon.json and unit, fixed in place
/// on a running dockerd: no restart, the daemon audited again (the rules
/// pass), and `--rollback` puts the old modes back.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_fix_file_modes_in_place_and_rollback() {
    let live = live("live_fix_file_modes_in_place_and_rollback");
    let sv = Supervised::start(&live, "", "{\n  \"debug\": false\n}\n");
    assert!(sv.config.starts_with(&sv.dir) && sv.unit.starts_with(&sv.dir));
    chmod(&sv.config, 0o666);
    chmod(&sv.unit, 0o664);
    let (pid, starts) = (sv.pid(), sv.starts());
    let rules = [
        "--rule",
        "files.daemon-json",
        "--rule",
        "files.docker-service",
    ];
    let (code, dry) = sv.fix(&rules);
    assert_eq!(code, 0, "{dry}");
    let json = sv.config.display().to_string();
    assert!(
        dry.contains(&format!(
            "0666 root:root -> 0644 root:root  {json} (daemon.json)"
        )),
        "{dry}"
    );
    assert!(dry.contains("dockerd action: none"), "{dry}");
    assert_eq!(mode_of(&sv.config), 0o666, "a dry run changes nothing");
    let mut apply = rules.to_vec();
    apply.extend(["--apply", "--yes"]);
    let (code, out) = sv.fix(&apply);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no restart needed; auditing again"), "{out}");
    assert!(
        out.contains("files.daemon-json             fail -> pass"),
        "{out}"
    );
    assert!(
        out.contains("files.docker-service          fail -> pass"),
        "{out}"
    );
    assert_eq!(mode_of(&sv.config), 0o644);
    assert_eq!(mode_of(&sv.unit), 0o644);
    assert_eq!((sv.pid(), sv.starts()), (pid, starts), "not restarted");
    // An audit of its own says so too.
    let (_, report) = sv.dockhard(&[
        "check",
        "--pid",
        &pid.to_string(),
        "--unit",
        &sv.unit.display().to_string(),
        "--profile",
        "cis",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&report).unwrap_or_else(|e| panic!("{e}: {report}"));
    let status = |id: &str| {
        v["daemons"][0]["results"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["rule"] == id))
            .map(|r| r["status"].as_str().unwrap_or("?").to_string())
    };
    assert_eq!(status("files.daemon-json").as_deref(), Some("pass"));
    assert_eq!(status("files.docker-service").as_deref(), Some("pass"));
    let (code, out) = sv.fix(&apply);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing to do"), "{out}");
    let (code, out) = sv.fix(&["--rollback"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("owners and modes restored (no restart needed)"),
        "{out}"
    );
    assert_eq!(mode_of(&sv.config), 0o666);
    assert_eq!(mode_of(&sv.unit), 0o664);
    assert_eq!((sv.pid(), sv.starts()), (pid, starts), "not restarted");
    // The daemon.json mode rule is selected alone, too.
    let (code, out) = sv.fix(&["--rule", "files.daemon-json", "--apply", "--yes"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(mode_of(&sv.config), 0o644);
    assert_eq!(mode_of(&sv.unit), 0o664, "another rule's file: untouched");
    let (code, out) = sv.fix(&["--rollback"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(mode_of(&sv.config), 0o666);
}

/// Verification fails (something puts daemon.json back to 0666 as soon as
/// it is fixed): the changes are rolled back, dockerd is not restarted, the
/// exit code is 1 and the change set is marked rolled back.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_fix_file_modes_rolled_back_when_a_rule_still_fails() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let live = live("live_fix_file_modes_rolled_back_when_a_rule_still_fails");
    let sv = Supervised::start(&live, "", "{\n  \"debug\": false\n}\n");
    assert!(sv.config.starts_with(&sv.dir) && sv.unit.starts_with(&sv.dir));
    chmod(&sv.config, 0o666);
    chmod(&sv.unit, 0o664);
    let (pid, starts) = (sv.pid(), sv.starts());
    let stop = Arc::new(AtomicBool::new(false));
    let racer = {
        let (stop, path) = (stop.clone(), sv.config.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if mode_of(&path) == 0o644 {
                    chmod(&path, 0o666);
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        })
    };
    let (code, out) = sv.fix(&[
        "--rule",
        "files.daemon-json",
        "--rule",
        "files.docker-service",
        "--wait-secs",
        "3",
        "--apply",
        "--yes",
    ]);
    stop.store(true, Ordering::SeqCst);
    racer.join().unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAILED: after 3 s: files.daemon-json is still fail"),
        "{out}"
    );
    assert!(
        out.contains("rolled back: owners and modes restored (dockerd was not restarted)"),
        "{out}"
    );
    assert_eq!(mode_of(&sv.config), 0o666);
    assert_eq!(
        mode_of(&sv.unit),
        0o664,
        "the other file is rolled back too"
    );
    assert_eq!((sv.pid(), sv.starts()), (pid, starts), "not restarted");
    let (code, out) = sv.fix(&["--rollback"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("already rolled back"), "{out}");
}

/// An option and the mode of the same daemon.json in one run: the mode is
/// changed first, the edit keeps it, dockerd restarts once, both rules pass;
/// `--rollback` restores the content and the mode.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_fix_option_and_mode_of_daemon_json_together() {
    let live = live("live_fix_option_and_mode_of_daemon_json_together");
    let sv = Supervised::start(&live, "", "{\n  \"debug\": false\n}\n");
    assert!(sv.config.starts_with(&sv.dir));
    chmod(&sv.config, 0o666);
    let old_json = fs::read_to_string(&sv.config).unwrap();
    let old_pid = sv.pid();
    let restart = sv.restart_cmd();
    let (code, out) = sv.fix(&[
        "--rule",
        "daemon.icc",
        "--rule",
        "files.daemon-json",
        "--restart",
        &restart,
        "--apply",
        "--yes",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0666 root:root -> 0644 root:root"), "{out}");
    assert!(
        out.contains("daemon.icc                    fail -> pass"),
        "{out}"
    );
    assert!(
        out.contains("files.daemon-json             fail -> pass"),
        "{out}"
    );
    assert_ne!(sv.pid(), old_pid);
    assert_eq!(icc(&sv.get("/networks/bridge")), "false");
    assert_eq!(mode_of(&sv.config), 0o644);
    let (code, out) = sv.fix(&["--rollback", "--restart", &restart]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(fs::read_to_string(&sv.config).unwrap(), old_json);
    assert_eq!(mode_of(&sv.config), 0o666);
    assert_eq!(icc(&sv.get("/networks/bridge")), "true");
}

/// The API socket of a running dockerd, made world-writable, is given its
/// mode back in place (a socket: changed through its O_PATH descriptor),
/// with a warning, and the daemon keeps answering on it.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_fix_api_socket_mode_in_place() {
    let live = live("live_fix_api_socket_mode_in_place");
    let sv = Supervised::start(&live, "", "{\n  \"debug\": false\n}\n");
    assert!(sv.sock.starts_with(&sv.dir));
    let before = mode_of(&sv.sock);
    assert_eq!(before & 0o007, 0, "dockerd made it {before:04o}");
    chmod(&sv.sock, before | 0o006);
    let pid = sv.pid();
    let (code, out) = sv.fix(&["--rule", "files.engine-socket", "--apply", "--yes"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("{:04o} root:", before | 0o006))
            && out.contains(&format!("-> {before:04o} root:")),
        "{out}"
    );
    assert!(
        out.contains("users outside its owner and group lose access to it"),
        "{out}"
    );
    assert!(
        out.contains("files.engine-socket           fail -> pass"),
        "{out}"
    );
    assert_eq!(mode_of(&sv.sock), before);
    assert_eq!(sv.pid(), pid);
    assert!(sv.wait_ping(), "dockerd still answers on its socket");
    let (code, out) = sv.fix(&["--rollback"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(mode_of(&sv.sock), before | 0o006);
}
