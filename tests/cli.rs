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
