//! The policy file from the command line: `check --snapshot sample.json
//! --policy FILE --format json`, its statuses and exit codes.

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

const SAMPLE: &str = "tests/fixtures/snapshots/sample.json";

/// The daemon rules that fail on the sample (collected 2026-12-01).
const SEED_FAILURES: [&str; 8] = [
    "daemon.icc",
    "daemon.remote-api-auth",
    "daemon.userland-proxy",
    "daemon.userns-remap",
    "daemon.authorization-plugin",
    "daemon.remote-logging",
    "daemon.live-restore",
    "daemon.remote-api-tls",
];

struct Run {
    code: i32,
    report: Value,
    stderr: String,
}

fn write_policy(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let p = dir.path().join("policy.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn check(policy: &str, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(&dir, policy);
    let out = Command::cargo_bin("dockhard")
        .unwrap()
        .args([
            "check",
            "--snapshot",
            SAMPLE,
            "--format",
            "json",
            "--policy",
        ])
        .arg(&p)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    Run {
        code: out.status.code().unwrap_or(-1),
        report,
        stderr,
    }
}

/// `rule subject status severity` of every result.
fn results(r: &Value) -> Vec<String> {
    r["daemons"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            format!(
                "{} {} {} {}",
                x["rule"].as_str().unwrap(),
                x["subject"]["name"].as_str().unwrap_or("-"),
                x["status"].as_str().unwrap(),
                x["severity"].as_str().unwrap()
            )
        })
        .collect()
}

fn result<'a>(r: &'a Value, rule: &str, subject: Option<&str>) -> &'a Value {
    r["daemons"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == rule && x["subject"]["name"].as_str() == subject)
        .unwrap_or_else(|| panic!("no result {rule} {subject:?}"))
}

fn waiver(rule: &str, expires: &str) -> String {
    format!(
        "[[waiver]]\nrule = \"{rule}\"\nreason = \"accepted risk\"\nowner = \"ops\"\nexpires = {expires}\n"
    )
}

#[test]
fn every_failure_waived_exits_0() {
    let policy: String = SEED_FAILURES
        .iter()
        .map(|r| waiver(r, "2027-01-31"))
        .collect();
    let run = check(&policy, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let auth = result(&run.report, "daemon.remote-api-auth", None);
    assert_eq!(auth["status"], "waived");
    assert_eq!(
        auth["message"],
        "0.0.0.0:2375 accepts clients without a verified certificate"
    );
    assert_eq!(
        auth["waiver"],
        serde_json::json!({"reason": "accepted risk", "owner": "ops", "expires": "2027-01-31"})
    );
    let summary = &run.report["summary"];
    assert_eq!(summary["by_status"]["waived"], 8);
    assert_eq!(summary["by_status"]["fail"], 0);
    assert_eq!(summary["failed_by_severity"], serde_json::json!({}));
    // Results that pass carry no waiver field.
    assert!(
        result(&run.report, "daemon.experimental", None)
            .get("waiver")
            .is_none()
    );
}

#[test]
fn one_failure_left_exits_1_and_an_expired_waiver_fails_again() {
    let mut policy: String = SEED_FAILURES[1..]
        .iter()
        .map(|r| waiver(r, "2027-01-31"))
        .collect();
    // Expires on the day of collection: expired.
    policy.push_str(&waiver("daemon.icc", "2026-12-01"));
    let run = check(&policy, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let icc = result(&run.report, "daemon.icc", None);
    assert_eq!(icc["status"], "fail");
    // The rule's own warning is kept; the expiry is added.
    assert_eq!(
        icc["warnings"],
        serde_json::json!([
            "the daemon reports true but its configuration says false (argv[3]: --icc=false)",
            "waiver expired on 2026-12-01 (owner: ops)"
        ])
    );
    assert!(icc.get("waiver").is_none());
    // The threshold of the policy, and --fail-on over it.
    let with_threshold = format!("fail_on = \"critical\"\n{policy}");
    assert_eq!(check(&with_threshold, &[]).code, 0);
    assert_eq!(check(&with_threshold, &["--fail-on", "high"]).code, 1);
}

#[test]
fn containers_web_and_db_waived_by_pattern() {
    let policy = format!(
        "[rules]\nenable = [\"containers.privileged\", \"containers.docker-sock\"]\n\
         {}\n\
         [[waiver]]\nrule = \"containers.privileged\"\ncontainer = \"web\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-31\n\
         [[waiver]]\nrule = \"containers.docker-sock\"\nimage = \"postgres:*\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-31\n",
        SEED_FAILURES
            .iter()
            .map(|r| waiver(r, "2027-01-31"))
            .collect::<String>()
    );
    let run = check(&policy, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got: Vec<String> = results(&run.report)
        .into_iter()
        .filter(|l| l.starts_with("containers."))
        .collect();
    assert_eq!(
        got,
        [
            "containers.privileged web waived critical",
            "containers.privileged db pass critical",
            "containers.privileged job pass critical",
            "containers.docker-sock web pass critical",
            "containers.docker-sock db waived critical",
            "containers.docker-sock job pass critical",
        ]
    );
}

#[test]
fn profile_severity_and_exclusions_from_the_policy() {
    let policy = "profile = \"cis\"\n\
                  [rules]\ndisable = [\"images.\", \"files.\", \"host.\"]\n\
                  [severity]\n\"daemon.icc\" = \"critical\"\n\
                  [exclude]\ncontainers = [\"w*\"]\n";
    let run = check(policy, &["--exclude-container", "job"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let all = results(&run.report);
    assert!(all.contains(&"daemon.icc - fail critical".to_string()));
    assert!(all.contains(&"containers.docker-sock db fail critical".to_string()));
    assert!(
        !all.iter()
            .any(|l| l.starts_with("images.") || l.starts_with("files.") || l.starts_with("host."))
    );
    assert!(
        !all.iter()
            .any(|l| l.contains(" web ") || l.contains(" job "))
    );
    let notes = run.report["daemons"][0]["notes"].to_string();
    assert!(
        notes.contains("2 container(s) excluded from the audit"),
        "{notes}"
    );
    // --profile on the command line wins over the policy's.
    let run = check(policy, &["--profile", "seed"]);
    assert!(
        !results(&run.report)
            .iter()
            .any(|l| l.starts_with("containers."))
    );
}

#[test]
fn a_bad_policy_is_an_error_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(
        &dir,
        "profile = \"cis\"\n\n[rules]\nenable = [\"daemon.nope\"]\n",
    );
    let out = Command::cargo_bin("dockhard")
        .unwrap()
        .args(["check", "--snapshot", SAMPLE, "--policy"])
        .arg(&p)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(
        stderr,
        format!(
            "dockhard: error: {}:4:11: unknown rule `daemon.nope`: not a rule id, nor a prefix of one ending in `.` such as `containers.` (see `dockhard rules`)\n",
            p.display()
        )
    );
    assert!(out.get_output().stdout.is_empty());

    let run = check("[rules]\nenable = [\"daemon.icc\"]\nskip = [\"x\"]\n", &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .ends_with(":3:1: unknown field `skip`, expected `enable` or `disable`\n"),
        "{}",
        run.stderr
    );

    let out = Command::cargo_bin("dockhard")
        .unwrap()
        .args([
            "check",
            "--snapshot",
            SAMPLE,
            "--policy",
            "/nonexistent/policy.toml",
        ])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("/nonexistent/policy.toml: No such file"),
        "{stderr}"
    );
}

#[test]
fn the_example_policy_is_accepted() {
    let out = Command::cargo_bin("dockhard")
        .unwrap()
        .args([
            "check",
            "--snapshot",
            SAMPLE,
            "--format",
            "json",
            "--policy",
            "docs/policy.example.toml",
        ])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Its waiver of daemon.remote-api-auth expired on 2026-12-15, after the
    // sample's collection (2026-12-01): waived.
    assert_eq!(
        result(&report, "daemon.remote-api-auth", None)["status"],
        "waived"
    );
}

#[test]
fn no_policy_conflicts_with_policy() {
    Command::cargo_bin("dockhard")
        .unwrap()
        .args([
            "check",
            "--snapshot",
            SAMPLE,
            "--no-policy",
            "--format",
            "json",
        ])
        .assert()
        .code(1);
    Command::cargo_bin("dockhard")
        .unwrap()
        .args([
            "check",
            "--snapshot",
            SAMPLE,
            "--no-policy",
            "--policy",
            "x.toml",
        ])
        .assert()
        .code(2);
}

/// People see who waived what and until when, in text and HTML.
#[test]
fn waivers_are_shown_in_text_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(&dir, &waiver("daemon.icc", "2027-06-30"));
    for (format, want) in [
        ("text", "waived by ops until 2027-06-30: accepted risk"),
        (
            "html",
            "<strong>Waived</strong> by ops until 2027-06-30: accepted risk",
        ),
    ] {
        let out = Command::cargo_bin("dockhard")
            .unwrap()
            .args([
                "check",
                "--snapshot",
                SAMPLE,
                "--format",
                format,
                "--policy",
            ])
            .arg(&p)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(want), "{format}: {want} not in:\n{text}");
    }
}
