//! Command-line contract: usage errors, snapshot files, exit codes.

use assert_cmd::Command;

fn dockhard() -> Command {
    Command::cargo_bin("dockhard").unwrap()
}

fn stderr_of(args: &[&str], code: i32) -> String {
    let out = dockhard().args(args).assert().code(code);
    String::from_utf8_lossy(&out.get_output().stderr).to_string()
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let err = stderr_of(&["check", "--bogus"], 2);
    assert!(err.contains("--bogus"), "{err}");
}

#[test]
fn pid_and_root_conflict() {
    let err = stderr_of(&["check", "--pid", "1", "--root", "/"], 2);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn bad_fail_on_value_is_a_usage_error() {
    let err = stderr_of(&["check", "--fail-on", "severe"], 2);
    assert!(err.contains("severe"), "{err}");
}

#[test]
fn missing_snapshot_names_the_file() {
    let err = stderr_of(&["check", "--snapshot", "/nonexistent/snap.json"], 2);
    assert!(err.contains("/nonexistent/snap.json"), "{err}");
}

#[test]
fn snapshot_that_is_not_json_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("snap.json");
    std::fs::write(&p, b"\xff\xfe not json").unwrap();
    let err = stderr_of(&["check", "--snapshot", p.to_str().unwrap()], 2);
    assert!(err.contains("not a dockhard snapshot"), "{err}");
}

#[test]
fn snapshot_of_another_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("snap.json");
    let mut v: serde_json::Value = serde_json::to_value(dockhard::snapshot::Snapshot::new(
        dockhard::snapshot::Mode::Root,
    ))
    .unwrap();
    v["schema"] = "dockhard/snapshot/v999".into();
    std::fs::write(&p, v.to_string()).unwrap();
    let err = stderr_of(&["check", "--snapshot", p.to_str().unwrap()], 2);
    assert!(
        err.contains("v999") && err.contains("not supported"),
        "{err}"
    );
}

#[test]
fn help_exits_zero() {
    dockhard().arg("--help").assert().code(0);
    dockhard().args(["check", "--help"]).assert().code(0);
}

/// A recorded live snapshot (benches/data) turned into a daemon that exited
/// while it was being audited: no command line, /proc errors, no API.
#[test]
fn daemon_that_exited_mid_audit_gives_errors_not_a_panic() {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/data/live-defaults.json"
    );
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    let pid = v["daemons"][0]["pid"].clone();
    v["daemons"][0]["argv"] = serde_json::json!([]);
    v["daemons"][0]["tcp_listeners"] = serde_json::json!([]);
    v["daemons"][0]["errors"] =
        serde_json::json!([format!("/proc/{pid}/cmdline: not found (process exited?)")]);
    v["daemons"][0]["api"] =
        serde_json::json!({"endpoint": "unix:///x.sock", "error": "x.sock: connection refused"});
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    std::fs::write(&snap, v.to_string()).unwrap();
    let out = dockhard()
        .args([
            "check",
            "--format",
            "json",
            "--snapshot",
            snap.to_str().unwrap(),
        ])
        .assert()
        .code(2);
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let results = report["daemons"][0]["results"].as_array().unwrap();
    for r in results {
        let (rule, status) = (r["rule"].as_str().unwrap(), r["status"].as_str().unwrap());
        let want = match rule {
            "host.dedicated" => "manual",
            // No TCP listener was seen, and none is configured by the next start.
            "daemon.remote-api-auth" => "pass",
            "daemon.remote-api-tls" => "not_applicable",
            // The next start is modelled from the same (unknown) command line.
            "daemon.config-valid" => "error",
            _ => "error",
        };
        assert_eq!(status, want, "{rule}: {r:#}");
    }
    assert!(
        report["daemons"][0]["notes"]
            .to_string()
            .contains("process exited")
    );
}
