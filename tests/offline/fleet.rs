//! `dockhard merge` on reports written by `dockhard check --root` for three
//! fixture host trees: the fleet report, its exit codes, and the refusal of
//! files that are not reports.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dockhard() -> Command {
    let mut c = Command::cargo_bin("dockhard").unwrap();
    c.timeout(std::time::Duration::from_secs(60));
    c
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hosts")
        .join(name)
}

/// `dockhard check --root tests/fixtures/hosts/TREE --format json -o DIR/TREE.json`.
fn report(dir: &Path, tree: &str) -> PathBuf {
    let out = dir.join(format!("{tree}.json"));
    let o = dockhard()
        .args(["check", "--format", "json", "-o"])
        .arg(&out)
        .arg("--root")
        .arg(fixture(tree))
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0..=2)),
        "check {tree}: {o:?}"
    );
    assert!(out.exists(), "check {tree} wrote no report: {o:?}");
    out
}

fn merge(args: &[&Path], extra: &[&str]) -> (i32, String, String) {
    let o = dockhard()
        .arg("merge")
        .args(args)
        .args(extra)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn three_hosts_merge_into_one_fleet_report() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = ["debian", "rhel", "config-hardened"]
        .iter()
        .map(|t| report(dir.path(), t))
        .collect();
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let out = dir.path().join("fleet.json");
    let (code, stdout, stderr) = merge(&paths, &["--format", "json", "-o", out.to_str().unwrap()]);
    assert_eq!(code, 1, "debian fails rules: {stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let fleet: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(fleet["schema"], "dockhard/fleet/v1");
    // With --root there is no hostname: hosts are named by their report file.
    let names: Vec<&str> = fleet["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["debian", "rhel", "config-hardened"]);
    let host = |n: &str| {
        fleet["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(host("debian")["mode"], "root");
    let debian = host("debian");
    let debian_failed: Vec<&str> = debian["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(debian_failed.contains(&"daemon.icc"), "{debian_failed:?}");
    assert_eq!(host("config-hardened")["failures"], serde_json::json!([]));
    assert_eq!(host("config-hardened")["by_status"]["fail"], 0);

    let rule = |id: &str| {
        fleet["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == id)
            .unwrap_or_else(|| panic!("no rule {id}"))
            .clone()
    };
    // icc: debian fails, config-hardened passes, rhel (its unit does not
    // give a valid start) has no verdict.
    let icc = rule("daemon.icc");
    assert_eq!(icc["failing_hosts"], serde_json::json!(["debian"]));
    assert_eq!(icc["error_hosts"], serde_json::json!(["rhel"]));
    assert_eq!(
        (icc["hosts_passed"].as_u64(), icc["hosts_applied"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(icc["pass_rate"], 0.5);
    let cv = rule("daemon.config-valid");
    assert_eq!(cv["failing_hosts"], serde_json::json!(["rhel"]));
    assert_eq!(fleet["summary"]["hosts"], 3);
    assert_eq!(fleet["summary"]["hosts_failing"], 2);

    // The text form names every host and lines the rules up.
    let (code, text, _) = merge(&paths, &[]);
    assert_eq!(code, 1);
    assert!(text.starts_with("dockhard "), "{text}");
    assert!(
        text.contains("3 host(s), 2 with failures, 1 with errors"),
        "{text}"
    );
    for n in ["debian", "rhel", "config-hardened"] {
        assert!(
            text.lines().any(|l| l.starts_with(n)),
            "no row for {n}:\n{text}"
        );
    }
    let icc_line = text.lines().find(|l| l.starts_with("daemon.icc ")).unwrap();
    assert!(
        icc_line.contains("1/2") && icc_line.contains("50%"),
        "{icc_line}"
    );
    assert!(icc_line.contains("debian, rhel (error)"), "{icc_line}");
    let cols: Vec<usize> = text
        .lines()
        .filter(|l| l.starts_with("daemon."))
        .map(|l| {
            l.find("  high")
                .or_else(|| l.find("  medium"))
                .or_else(|| l.find("  critical"))
                .unwrap_or(0)
        })
        .collect();
    assert!(
        cols.windows(2).all(|w| w[0] == w[1]),
        "severity column not aligned:\n{text}"
    );
}

#[test]
fn a_clean_fleet_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let a = report(dir.path(), "config-hardened");
    let (code, text, stderr) = merge(&[&a], &[]);
    assert_eq!(code, 0, "{text}{stderr}");
    assert!(
        text.contains("1 host(s), 0 with failures, 0 with errors"),
        "{text}"
    );
}

#[test]
fn files_that_are_not_reports_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = report(dir.path(), "debian");

    // A snapshot is JSON with another schema.
    let snap = dir.path().join("snapshot.json");
    let o = dockhard()
        .args(["collect", "-o"])
        .arg(&snap)
        .arg("--root")
        .arg(fixture("debian"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let (code, stdout, stderr) = merge(&[&good, &snap], &[]);
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("snapshot.json"), "{stderr}");
    assert!(stderr.contains("dockhard/snapshot/v1"), "{stderr}");
    assert!(
        stderr.contains("expected `dockhard/report/v1.1`"),
        "{stderr}"
    );

    // Not JSON at all, JSON without a schema, a missing file.
    let junk = dir.path().join("notes.txt");
    std::fs::write(&junk, "hello\n").unwrap();
    let (code, _, stderr) = merge(&[&junk], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("notes.txt: not a dockhard JSON report"),
        "{stderr}"
    );
    let noschema = dir.path().join("other.json");
    std::fs::write(&noschema, "{\"hosts\": []}").unwrap();
    let (code, _, stderr) = merge(&[&noschema], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("other.json: not a dockhard report (no `schema`"),
        "{stderr}"
    );
    let (code, _, stderr) = merge(&[&dir.path().join("missing.json")], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing.json"), "{stderr}");
    // No report at all is a usage error.
    let (code, _, _) = merge(&[], &[]);
    assert_eq!(code, 2);
}

/// The fleet as one HTML page: every host and its failures, no script.
#[test]
fn the_fleet_as_html() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = ["debian", "rhel", "config-hardened"]
        .iter()
        .map(|t| report(dir.path(), t))
        .collect();
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let (code, html, stderr) = merge(&paths, &["--format", "html"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    for host in ["debian", "rhel", "config-hardened"] {
        assert!(html.contains(&format!("id=\"host-{host}\"")), "{host}");
    }
    assert!(html.contains("<code class=\"rule\">daemon.icc</code>"));
    assert!(!html.contains("<script"));
}
