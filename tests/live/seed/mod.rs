//! Live integration tests: real dockerd instances (private data/exec roots,
//! sockets and config files under /tmp), audited by `dockhard check --pid`.
//!
//! They need root, dockerd, the docker CLI, busybox-static, openssl and curl
//! (`scripts/test` installs them). They are `#[ignore]`d, so a plain `cargo
//! test` reports them ignored; run (`--include-ignored`, as `scripts/test`
//! does) without their requirements they fail. Each daemon runs in a
//! network namespace of its own, and dockhard, curl and the test's
//! listeners with it (`Daemon::command`, `SyslogListener::start_in`), so
//! they run in parallel (see `support::live`).
//!
//! Every case that audits a daemon runs on the host's 20.10 and on the
//! fetched 28.5 (`support::on_engines!`: `CASE::engine_20_10`,
//! `CASE::engine_28_5`), against the same expected verdicts (`DEFAULTS`,
//! `HARDENED`), changed only where an engine really differs, with the
//! reason. A missing engine fails, never a pass.
//!
//! `harness_*` tests prove the harness itself and do not run dockhard; they
//! run on the host's engine only (tests/live/engines.rs starts, uses and
//! stops every engine).

use crate::support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use support::verdicts::{DEFAULTS, HARDENED, SEED_RULES, with};
use support::{
    AuthzPlugin, Certs, Daemon, DaemonOpts, Engine, Live, SyslogListener, free_port, live,
    live_exclusive,
};
use support::{dockhard, dockhard_in};

mod harness;

// ---------------------------------------------------------------------------
// Running dockhard and reading its report
// ---------------------------------------------------------------------------

/// `dockhard check --pid PID --format json` of `d`: the parsed report, after
/// checking the schema, that the daemon is judged as the engine it runs
/// (its version, from `GET /version`), and that the exit code agrees with
/// the verdicts.
fn check_pid(d: &Daemon) -> Value {
    let pid = d.pid();
    let pid_s = pid.to_string();
    let run = dockhard_in(d, &["check", "--pid", &pid_s, "--format", "json"]);
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "dockhard check --pid {pid} did not print a JSON report ({e}); exit {}\nstdout: {}\nstderr: {}",
            run.code, run.stdout, run.stderr
        )
    });
    assert_eq!(
        report["schema"], "dockhard/report/v1.1",
        "report schema; report: {report:#}"
    );
    let daemons = report["daemons"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        daemons.len(),
        1,
        "`--pid {pid}` must audit exactly that daemon; report: {report:#}"
    );
    assert_eq!(daemons[0]["pid"], pid, "audited pid; report: {report:#}");
    assert_eq!(
        daemons[0]["audited"], "running",
        "a running daemon is audited as running; report: {report:#}"
    );
    let e = d
        .engine
        .as_ref()
        .unwrap_or_else(|| panic!("test bug: start the daemon with DaemonOpts::engine"));
    let judged = &daemons[0]["engine"];
    assert!(
        judged["version"] == e.version.as_str() && judged["source"] == "api",
        "dockerd {} is judged as the engine it runs ({}, from the API): {judged}",
        pid,
        e.version
    );
    let statuses: Vec<&str> = daemons
        .iter()
        .flat_map(|d| d["results"].as_array().into_iter().flatten())
        .filter_map(|r| r["status"].as_str())
        .collect();
    let expected_code = if statuses.contains(&"fail") {
        1
    } else if statuses.contains(&"error") {
        2
    } else {
        0
    };
    assert_eq!(
        run.code, expected_code,
        "exit code must be 1 with a fail, else 2 with an error, else 0; stderr: {}",
        run.stderr
    );
    report
}

fn results(report: &Value) -> Vec<Value> {
    report["daemons"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn result(report: &Value, rule: &str) -> Value {
    results(report)
        .into_iter()
        .find(|r| r["rule"] == rule)
        .unwrap_or_else(|| panic!("rule {rule} missing from the report: {report:#}"))
}

/// Assert the status of EVERY rule; fails listing all mismatches at once.
fn assert_statuses(report: &Value, expected: &[(&str, &str)]) {
    let got: BTreeMap<String, Value> = results(report)
        .into_iter()
        .filter_map(|r| r["rule"].as_str().map(|id| (id.to_string(), r.clone())))
        .collect();
    let mut problems = Vec::new();
    for (rule, want) in expected {
        match got.get(*rule) {
            None => problems.push(format!("{rule}: missing from the report (expected {want})")),
            Some(r) if r["status"] != *want => problems.push(format!(
                "{rule}: expected {want}, got {}\n      message: {}\n      evidence: {}\n      drift: {}",
                r["status"], r["message"], r["evidence"], r["drift"]
            )),
            Some(_) => {}
        }
    }
    for rule in got.keys() {
        if !expected.iter().any(|(r, _)| r == rule) {
            problems.push(format!(
                "{rule}: in the report but not asserted by the test"
            ));
        }
    }
    for &rule in SEED_RULES {
        if !expected.iter().any(|(r, _)| *r == rule) {
            problems.push(format!("{rule}: test bug, not asserted"));
        }
    }
    if !problems.is_empty() {
        panic!(
            "{} rule status mismatch(es) for dockerd {}:\n  - {}",
            problems.len(),
            report["daemons"][0]["pid"],
            problems.join("\n  - ")
        );
    }
}

/// (source, location, detail) of a rule's evidence.
fn evidence(report: &Value, rule: &str) -> Vec<(String, String, String)> {
    result(report, rule)["evidence"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
            (s("source"), s("location"), s("detail"))
        })
        .collect()
}

/// Assert that some evidence of `rule` satisfies `pred`.
fn assert_evidence(
    report: &Value,
    rule: &str,
    what: &str,
    pred: impl Fn(&str, &str, &str) -> bool,
) {
    let ev = evidence(report, rule);
    assert!(
        ev.iter().any(|(s, l, d)| pred(s, l, d)),
        "{rule}: no evidence {what}; evidence: {ev:#?}\nresult: {:#}",
        result(report, rule)
    );
}

fn assert_source(report: &Value, rule: &str, source: &str) {
    assert_evidence(
        report,
        rule,
        &format!("with source `{source}`"),
        |s, _, _| s == source,
    );
}

fn drift(report: &Value, rule: &str) -> Option<String> {
    let r = result(report, rule);
    match &r["drift"] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => panic!("{rule}: drift must be null or a string, got {other}"),
    }
}

/// The seed rules a hardening sets explicitly (the others pass by default).
const HARDENED_RULES: [&str; 6] = [
    "daemon.icc",
    "daemon.userland-proxy",
    "daemon.userns-remap",
    "daemon.authorization-plugin",
    "daemon.remote-logging",
    "daemon.live-restore",
];

// ---------------------------------------------------------------------------
// dockhard against real daemons
// ---------------------------------------------------------------------------

// Every case runs on each engine of `support::SUITE_LINES` (20.10, 28.5):
// `live_defaults::engine_20_10`, `live_defaults::engine_28_5`, ...
crate::on_engines!(
    live_defaults,
    live_hardened_by_flags,
    live_hardened_by_daemon_json,
    live_icc_zero,
    live_plain_tcp_listener,
    live_tls_verify,
    live_tls_without_client_verification,
    live_authorization_plugin_is_called,
    live_userns_remap,
    live_drift_reload_and_restart,
    live_config_conflict_with_flag,
    live_collect_then_check_snapshot_agrees,
    live_api_that_hangs_or_answers_garbage,
    live_userland_proxy_path_edited,
);

/// Case 1: No flags, no config file: dockerd's defaults.
fn live_defaults(live: &Live, e: &Engine) {
    assert!(
        !Path::new("/etc/docker/daemon.json").exists(),
        "/etc/docker/daemon.json exists on this host: a daemon without --config-file reads it, \
         so this test's premise (dockerd defaults) does not hold"
    );
    let d = Daemon::start(live, DaemonOpts::new().engine(e));
    let report = check_pid(&d);
    assert_statuses(&report, DEFAULTS);
    // icc is read live from the bridge network.
    assert_evidence(&report, "daemon.icc", "from the API", |s, l, d| {
        s == "api" && (l.contains("/networks/bridge") || d.contains("enable_icc"))
    });
    assert!(
        drift(&report, "daemon.icc").is_none(),
        "no config change: no drift"
    );
}

/// Case 2: The seed hardening, all by flags (real plugin, real syslog receiver).
fn live_hardened_by_flags(live: &Live, e: &Engine) {
    let plugin = AuthzPlugin::start();
    let ns = support::netns();
    let syslog = SyslogListener::start_in(&ns);
    let mut d = Daemon::start(
        live,
        DaemonOpts::new().engine(e).netns(&ns).args([
            "--icc=false".to_string(),
            "--userland-proxy=false".to_string(),
            "--live-restore".to_string(),
            format!("--authorization-plugin={}", plugin.name),
            "--log-driver=syslog".to_string(),
            "--log-opt".to_string(),
            format!("syslog-address={}", syslog.address()),
            "--userns-remap=default".to_string(),
        ]),
    );
    let report = check_pid(&d);
    assert_statuses(&report, HARDENED);
    for rule in HARDENED_RULES {
        assert_source(&report, rule, "argv");
    }
    // The hardened daemon still runs containers and ships their logs.
    let out = d.run_container(&["sh", "-c", "echo dockhard-hardened-marker"]);
    assert_eq!(out.trim(), "dockhard-hardened-marker");
    assert!(
        syslog.wait_for("dockhard-hardened-marker").is_some(),
        "syslog lines: {:?}",
        syslog.lines()
    );
}

/// Case 3: The same hardening in daemon.json: evidence `daemon.json` at `path:line`.
fn live_hardened_by_daemon_json(live: &Live, e: &Engine) {
    let plugin = AuthzPlugin::start();
    let ns = support::netns();
    let syslog = SyslogListener::start_in(&ns);
    let config = format!(
        "{{\n  \"icc\": false,\n  \"userland-proxy\": false,\n  \"live-restore\": true,\n  \
         \"authorization-plugins\": [\"{}\"],\n  \"log-driver\": \"syslog\",\n  \
         \"log-opts\": {{\"syslog-address\": \"{}\"}},\n  \"userns-remap\": \"default\"\n}}\n",
        plugin.name,
        syslog.address()
    );
    let d = Daemon::start(live, DaemonOpts::new().engine(e).netns(&ns).config(config));
    let path = d
        .config_path
        .clone()
        .unwrap_or_else(|| panic!("config path"))
        .display()
        .to_string();
    let report = check_pid(&d);
    assert_statuses(&report, HARDENED);
    assert_eq!(
        report["daemons"][0]["config_file"],
        path.as_str(),
        "config_file of the report"
    );
    for (rule, line) in [
        ("daemon.icc", 2),
        ("daemon.userland-proxy", 3),
        ("daemon.live-restore", 4),
        ("daemon.authorization-plugin", 5),
        ("daemon.remote-logging", 6),
        ("daemon.userns-remap", 8),
    ] {
        let loc = format!("{path}:{line}");
        assert_evidence(
            &report,
            rule,
            &format!("daemon.json at {loc}"),
            |s, l, _| s == "daemon.json" && l == loc,
        );
    }
}

/// Case 4: `--icc=0` is false for dockerd (ParseBool); docker-bench-security
/// looks for the literal `--icc=false` and gets it wrong.
fn live_icc_zero(live: &Live, e: &Engine) {
    let d = Daemon::start(live, DaemonOpts::new().engine(e).arg("--icc=0"));
    // Premise: dockerd really disabled icc.
    let bridge = d.get_json("/networks/bridge");
    assert_eq!(
        bridge["Options"]["com.docker.network.bridge.enable_icc"], "false",
        "/networks/bridge: {bridge}"
    );
    let report = check_pid(&d);
    assert_statuses(&report, &with(DEFAULTS, &[("daemon.icc", "pass")]));
    assert_source(&report, "daemon.icc", "argv");
}

/// Case 5: A plain TCP listener: anyone on it controls the host.
fn live_plain_tcp_listener(live: &Live, e: &Engine) {
    let port = free_port();
    let d = Daemon::start(
        live,
        DaemonOpts::new()
            .engine(e)
            .args(["-H".to_string(), format!("tcp://127.0.0.1:{port}")]),
    );
    // Premise: the engine itself warns in /info, `WARNING` up to 25.x,
    // `[DEPRECATION NOTICE]` from 26.0 (moby v26.0.0 daemon/info.go); the
    // verdicts are the same on both.
    let prefix = if e.release() >= (26, 0) {
        "[DEPRECATION NOTICE]"
    } else {
        "WARNING"
    };
    let warnings = d.info()["Warnings"].clone();
    let plain =
        format!("{prefix}: API is accessible on http://127.0.0.1:{port} without encryption");
    assert!(
        warnings.as_array().is_some_and(|w| w
            .iter()
            .any(|x| x.as_str().is_some_and(|x| x.starts_with(&plain)))),
        "/info Warnings of {}: {warnings}",
        e.version
    );
    let report = check_pid(&d);
    assert_statuses(
        &report,
        &with(
            DEFAULTS,
            &[
                ("daemon.remote-api-auth", "fail"),
                ("daemon.remote-api-tls", "fail"),
            ],
        ),
    );
    let addr = format!("127.0.0.1:{port}");
    assert_evidence(
        &report,
        "daemon.remote-api-auth",
        &format!("from a probe of {addr}"),
        |s, l, d| s == "probe" && (l.contains(&addr) || d.contains(&addr)),
    );
}

/// Case 6a: TCP with --tlsverify: clients need a certificate signed by the CA.
fn live_tls_verify(live: &Live, e: &Engine) {
    let certdir = tempfile::Builder::new()
        .prefix("dockhard-certs-")
        .tempdir_in("/tmp")
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let certs = Certs::generate(live, certdir.path());
    let port = free_port();
    let d = Daemon::start(
        live,
        DaemonOpts::new()
            .engine(e)
            .args(["-H".to_string(), format!("tcp://127.0.0.1:{port}")])
            .args(certs.tlsverify_flags()),
    );
    let report = check_pid(&d);
    assert_statuses(
        &report,
        &with(DEFAULTS, &[("daemon.remote-api-tls", "pass")]),
    );
    assert_source(&report, "daemon.remote-api-auth", "probe");
}

/// Case 6b: TLS without client verification (`--tlsverify=false`): encrypted, but
/// anyone can connect.
fn live_tls_without_client_verification(live: &Live, e: &Engine) {
    let certdir = tempfile::Builder::new()
        .prefix("dockhard-certs-")
        .tempdir_in("/tmp")
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let certs = Certs::generate(live, certdir.path());
    let port = free_port();
    let d = Daemon::start(
        live,
        DaemonOpts::new().engine(e).args([
            "-H".to_string(),
            format!("tcp://127.0.0.1:{port}"),
            "--tlsverify=false".to_string(),
            "--tlscert".to_string(),
            certs.server_cert.display().to_string(),
            "--tlskey".to_string(),
            certs.server_key.display().to_string(),
        ]),
    );
    // Precondition: the listener really serves a client without a certificate.
    assert_eq!(
        certs.curl(live, &d.netns, port, "/_ping", false).as_deref(),
        Ok("OK")
    );
    let report = check_pid(&d);
    assert_statuses(
        &report,
        &with(
            DEFAULTS,
            &[
                ("daemon.remote-api-auth", "fail"),
                ("daemon.remote-api-tls", "fail"),
            ],
        ),
    );
    assert_source(&report, "daemon.remote-api-auth", "probe");
}

/// Case 7: A real authorization plugin: pass, and the daemon really calls it
/// (dockhard's own API requests go through it).
fn live_authorization_plugin_is_called(live: &Live, e: &Engine) {
    let plugin = AuthzPlugin::start();
    let d = Daemon::start(
        live,
        DaemonOpts::new()
            .engine(e)
            .arg(format!("--authorization-plugin={}", plugin.name)),
    );
    let before = plugin.authz_requests();
    let report = check_pid(&d);
    assert_statuses(
        &report,
        &with(DEFAULTS, &[("daemon.authorization-plugin", "pass")]),
    );
    assert!(
        plugin.authz_requests() > before,
        "the audit's API calls went through the plugin: {:?}",
        plugin.stats()
    );
}

/// Case 8: `--userns-remap=default`: pass, confirmed live by `/info`.
fn live_userns_remap(live: &Live, e: &Engine) {
    let d = Daemon::start(
        live,
        DaemonOpts::new().engine(e).arg("--userns-remap=default"),
    );
    let report = check_pid(&d);
    assert_statuses(&report, &with(DEFAULTS, &[("daemon.userns-remap", "pass")]));
    assert_evidence(
        &report,
        "daemon.userns-remap",
        "from the API naming name=userns",
        |s, l, d| s == "api" && (d.contains("name=userns") || l.contains("name=userns")),
    );
}

/// Case 9: Drift: daemon.json changed after the start. live-restore is
/// reloadable (SIGHUP applies it); icc needs a restart.
fn live_drift_reload_and_restart(live: &Live, e: &Engine) {
    let d = Daemon::start(
        live,
        DaemonOpts::new()
            .engine(e)
            .config("{\"live-restore\": false}\n"),
    );
    let report = check_pid(&d);
    assert_statuses(&report, DEFAULTS);
    assert!(drift(&report, "daemon.live-restore").is_none());

    d.write_config("{\"live-restore\": true}\n");
    let report = check_pid(&d);
    assert_statuses(&report, DEFAULTS);
    let dr = drift(&report, "daemon.live-restore").unwrap_or_else(|| {
        panic!(
            "live-restore: drift expected: {:#}",
            result(&report, "daemon.live-restore")
        )
    });
    assert!(
        dr.contains("reload") || dr.contains("SIGHUP"),
        "live-restore is reloadable, the drift says so: {dr}"
    );

    d.reload();
    d.wait_info("LiveRestoreEnabled=true", |i| {
        i["LiveRestoreEnabled"] == true
    });
    let report = check_pid(&d);
    assert_statuses(&report, &with(DEFAULTS, &[("daemon.live-restore", "pass")]));
    assert!(
        drift(&report, "daemon.live-restore").is_none(),
        "applied by the reload: {:#}",
        result(&report, "daemon.live-restore")
    );

    // icc is not reloadable: the file says false, the daemon keeps true.
    d.write_config("{\"live-restore\": true, \"icc\": false}\n");
    let after_edit = check_pid(&d);
    d.reload();
    let after_hup = check_pid(&d);
    for (when, report) in [
        ("after the edit", &after_edit),
        ("after SIGHUP", &after_hup),
    ] {
        assert_statuses(report, &with(DEFAULTS, &[("daemon.live-restore", "pass")]));
        let dr = drift(report, "daemon.icc").unwrap_or_else(|| {
            panic!(
                "icc {when}: drift expected: {:#}",
                result(report, "daemon.icc")
            )
        });
        assert!(dr.contains("restart"), "icc {when}: needs a restart: {dr}");
        assert!(
            !dr.contains("SIGHUP"),
            "icc {when}: a reload does not apply it: {dr}"
        );
    }
}

/// Case 10: daemon.json edited after the start to repeat a flag: the next start
/// fails, and config-valid names the key.
fn live_config_conflict_with_flag(live: &Live, e: &Engine) {
    let d = Daemon::start(
        live,
        DaemonOpts::new()
            .engine(e)
            .config("{}\n")
            .arg("--icc=false"),
    );
    let report = check_pid(&d);
    assert_statuses(&report, &with(DEFAULTS, &[("daemon.icc", "pass")]));

    d.write_config("{\"icc\": true}\n");
    let report = check_pid(&d);
    assert_statuses(
        &report,
        &with(
            DEFAULTS,
            &[("daemon.icc", "pass"), ("daemon.config-valid", "fail")],
        ),
    );
    let r = result(&report, "daemon.config-valid");
    let text = format!("{} {}", r["message"], r["evidence"]);
    assert!(text.contains("icc"), "config-valid names `icc`: {r:#}");
    // The refusal is said once for the daemon, not as every rule's drift.
    for r in results(&report) {
        let dr = r["drift"].as_str().unwrap_or_default();
        assert!(!dr.contains("would not start"), "{}: {dr}", r["rule"]);
    }
    let notes = report["daemons"][0]["notes"].to_string();
    assert_eq!(
        notes.matches("would not start").count(),
        1,
        "one note: {notes}"
    );
    drop(d);

    // Premise: the real dockerd refuses to start with this flag and file.
    let err = Daemon::try_start(
        live,
        DaemonOpts::new()
            .engine(e)
            .config("{\"icc\": true}\n")
            .arg("--icc=false"),
    )
    .err()
    .unwrap_or_else(|| panic!("dockerd started with --icc=false and {{\"icc\": true}}"));
    assert!(
        err.contains("specified both as a flag and in the configuration file"),
        "dockerd's own refusal: {err}"
    );
}

/// Case 10b: daemon.json edited after the start to name a userland proxy
/// that does not exist. From 25.0 dockerd checks at start that an enabled
/// proxy's path is an executable (moby v25.0.0 daemon/daemon_unix.go,
/// `verifyUserlandProxyConfig`): 28.5 would not start, 20.10 starts (and
/// fails only when a port is published). The one verdict that differs per
/// engine is config-valid.
fn live_userland_proxy_path_edited(live: &Live, e: &Engine) {
    let checks_path = e.release() >= (25, 0);
    let edited = "{\"userland-proxy-path\": \"/nonexistent/docker-proxy\"}\n";
    let d = Daemon::start(live, DaemonOpts::new().engine(e).config("{}\n"));
    d.write_config(edited);
    let report = check_pid(&d);
    let valid = if checks_path { "fail" } else { "pass" };
    assert_statuses(&report, &with(DEFAULTS, &[("daemon.config-valid", valid)]));
    if checks_path {
        let r = result(&report, "daemon.config-valid");
        let text = format!("{} {}", r["message"], r["evidence"]);
        assert!(
            text.contains("userland-proxy-path") && text.contains("/nonexistent/docker-proxy"),
            "config-valid names the key and the path: {r:#}"
        );
    }
    drop(d);

    // Premise: what the real engine does with that file.
    let started = Daemon::try_start(live, DaemonOpts::new().engine(e).config(edited));
    match (&started, checks_path) {
        (Ok(_), false) => {}
        (Err(err), true) => assert!(
            err.contains("userland-proxy-path") || err.contains("/nonexistent/docker-proxy"),
            "{}: its own refusal names the path: {err}",
            e.version
        ),
        (Ok(_), true) => panic!("{} started with a missing userland proxy", e.version),
        (Err(err), false) => panic!("{} refused a missing userland proxy: {err}", e.version),
    }
}

// ---------------------------------------------------------------------------
// No daemon / wrong target
// ---------------------------------------------------------------------------

/// `--root` on an empty directory: a clear error (exit 2) or a report, never a crash.
#[test]
fn check_root_empty_dir() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = dir.path().display().to_string();
    let run = dockhard(&["check", "--root", &root, "--format", "json"]);
    if run.code == 2 {
        assert!(
            !run.stderr.trim().is_empty() || !run.stdout.trim().is_empty(),
            "exit 2 must say why"
        );
    } else {
        let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "exit {} without a JSON report ({e}): {}\n{}",
                run.code, run.stdout, run.stderr
            )
        });
        assert_eq!(report["schema"], "dockhard/report/v1.1");
        assert_eq!(report["host"]["mode"], "root", "report: {report:#}");
    }
}

/// `--pid` of a process that is not dockerd: exit 2 with a clear message.
#[test]
fn check_pid_not_dockerd() {
    let mut child = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap_or_else(|e| panic!("spawn sleep: {e}"));
    let pid = child.id().to_string();
    let run = dockhard(&["check", "--pid", &pid, "--format", "json"]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(
        run.stderr.contains(&pid) && run.stderr.to_lowercase().contains("dockerd"),
        "the message names the pid and says it is not dockerd: {}",
        run.stderr
    );
}

/// `--pid` of no process at all: exit 2 naming the pid.
#[test]
fn check_pid_missing() {
    // Above the kernel's pid_max limit (4194304): never a live process.
    let run = dockhard(&["check", "--pid", "4194305", "--format", "json"]);
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(
        run.stderr.contains("4194305"),
        "names the pid: {}",
        run.stderr
    );
}

/// `collect -o` on the host, `check --snapshot` elsewhere: the same verdicts
/// and evidence as `check --pid`.
fn live_collect_then_check_snapshot_agrees(live: &Live, e: &Engine) {
    let port = free_port();
    let d = Daemon::start(
        live,
        DaemonOpts::new().engine(e).args([
            "-H".to_string(),
            format!("tcp://127.0.0.1:{port}"),
            "--icc=false".to_string(),
        ]),
    );
    let direct = check_pid(&d);
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let pid = d.pid().to_string();
    let run = dockhard_in(
        &d,
        &["collect", "--pid", &pid, "-o", snap.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "collect: {}", run.stderr);
    let run = dockhard(&[
        "check",
        "--snapshot",
        snap.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "check --snapshot: {}", run.stderr);
    let offline: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        offline["daemons"], direct["daemons"],
        "same verdicts and evidence"
    );
    assert_statuses(
        &offline,
        &with(
            DEFAULTS,
            &[
                ("daemon.icc", "pass"),
                ("daemon.remote-api-auth", "fail"),
                ("daemon.remote-api-tls", "fail"),
            ],
        ),
    );
}

/// A unix socket server that accepts connections and then misbehaves.
fn bad_api(dir: &Path, answer: Option<&'static [u8]>) -> String {
    let path = dir.join("bad-api.sock");
    let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            if let Some(a) = answer {
                let mut s = s;
                let mut buf = [0u8; 4096];
                let _ = std::io::Read::read(&mut s, &mut buf);
                let _ = std::io::Write::write_all(&mut s, a);
            } else {
                held.push(s); // never answers, never closes
            }
        }
    });
    format!("unix://{}", path.display())
}

/// `--host` pointing at an API that hangs, then at one that answers
/// garbage: the audit ends (within the per-call timeout), falls back to the
/// configuration with a warning, and exits 1 for the failures it still sees.
fn live_api_that_hangs_or_answers_garbage(live: &Live, e: &Engine) {
    let d = Daemon::start(live, DaemonOpts::new().engine(e));
    let dir = tempfile::tempdir().unwrap();
    let pid = d.pid().to_string();
    for (name, answer) in [
        ("hangs", None),
        (
            "garbage",
            Some(&b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{not json"[..]),
        ),
        ("not http", Some(&b"\x00\x01\x02 hello"[..])),
    ] {
        let sub = dir.path().join(name);
        std::fs::create_dir(&sub).unwrap();
        let host = bad_api(&sub, answer);
        let start = std::time::Instant::now();
        let run = dockhard_in(
            &d,
            &[
                "check",
                "--pid",
                &pid,
                "--host",
                &host,
                "--timeout-ms",
                "500",
                "--format",
                "json",
            ],
        );
        let took = start.elapsed();
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        // Bounded: a few calls of at most 500 ms each, never the 120 s guard.
        assert!(took < Duration::from_secs(30), "{name}: took {took:?}");
        let report: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_statuses(&report, DEFAULTS);
        let icc = result(&report, "daemon.icc");
        assert!(
            icc["warnings"]
                .to_string()
                .contains("judged from the configuration"),
            "{name}: icc falls back to the configuration with a warning: {icc:#}"
        );
    }
}
