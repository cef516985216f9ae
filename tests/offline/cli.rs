//! Command-line contract: usage errors, snapshot files, exit codes.

use assert_cmd::Command;

use crate::generated_docs;

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

/// `dockhard [COMMAND...] --help` as the binary prints it, trailing blanks
/// of each line trimmed (editors strip them from the doc).
fn help_of(path: &[String]) -> String {
    let out = dockhard().args(path).arg("--help").assert().code(0);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    text.lines()
        .map(|l| l.trim_end().to_string() + "\n")
        .collect()
}

/// The subcommands a help text lists under `Commands:`, `help` left out.
fn commands_of(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.strip_prefix("  ")?.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// Every command's `--help`, depth first in the order `Commands:` lists them.
fn usage_doc(path: Vec<String>, out: &mut String) {
    let help = help_of(&path);
    let name = std::iter::once("dockhard".to_string())
        .chain(path.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    out.push_str(&format!("\n## `{name}`\n\n```text\n{help}```\n"));
    for c in commands_of(&help) {
        let mut sub = path.clone();
        sub.push(c);
        usage_doc(sub, out);
    }
}

/// docs/usage.md shows the help of every command as the binary prints it:
/// generated, never copied by hand (`DOCKHARD_BLESS=1` rewrites it).
#[test]
fn usage_doc_is_generated_from_the_help() {
    let mut doc = String::new();
    usage_doc(Vec::new(), &mut doc);
    doc.push('\n');
    for c in [
        "check", "collect", "fix", "rules", "explain", "merge", "tls init",
    ] {
        assert!(doc.contains(&format!("## `dockhard {c}`")), "{c} missing");
    }
    generated_docs::check(
        "docs/usage.md",
        "<!-- usage:begin (generated from `dockhard COMMAND --help`; DOCKHARD_BLESS=1 cargo test --test offline cli::usage_doc) -->",
        "<!-- usage:end -->",
        &doc,
        "cargo test --test offline cli::usage_doc",
    );
}

/// GitHub's anchor of a Markdown heading: lower case, punctuation dropped,
/// spaces as `-`.
fn anchor_of(heading: &str) -> String {
    heading
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| {
            if c == ' ' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// The anchors of a Markdown file's headings (outside code blocks).
fn anchors_in(text: &str) -> Vec<String> {
    let mut fence = false;
    let mut v = Vec::new();
    for l in text.lines() {
        if l.starts_with("```") {
            fence = !fence;
        } else if !fence && l.starts_with('#') {
            v.push(anchor_of(l.trim_start_matches('#').trim()));
        }
    }
    v
}

/// Every relative link of the README and the docs names a file that exists
/// and, with `#anchor`, a heading of that file: the docs moved out of the
/// README, and a link must not point at where a section used to be.
#[test]
fn doc_links_resolve() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![
        root.join("README.md"),
        root.join("SECURITY.md"),
        root.join("fuzz/README.md"),
    ];
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            files.push(p);
        }
    }
    let mut checked = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let target = &rest[..rest.find(')').unwrap()];
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
            let dest = if path.is_empty() {
                f.clone()
            } else {
                f.parent().unwrap().join(path)
            };
            assert!(
                dest.exists(),
                "{}: link {target}: no such file",
                f.display()
            );
            if !anchor.is_empty() {
                let text = std::fs::read_to_string(&dest).unwrap();
                assert!(
                    anchors_in(&text).iter().any(|a| a == anchor),
                    "{}: link {target}: no such heading in {}",
                    f.display(),
                    dest.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links checked");
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
    v["daemons"][0]["errors"] = serde_json::json!([
        format!("/proc/{pid}/cmdline: not found (process exited?)"),
        format!("/proc/{pid}/fd: not found (process exited?)")
    ]);
    v["daemons"][0]["sockets_error"] =
        serde_json::json!(format!("/proc/{pid}/fd: not found (process exited?)"));
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
            // The sockets it held are unknown: missing evidence, not a pass.
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

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/hosts/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn output_file_gets_the_report_and_stdout_stays_empty() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("report.json");
    let out = dockhard()
        .args([
            "check",
            "--root",
            &fixture("debian"),
            "--format",
            "json",
            "--output",
        ])
        .arg(&out_path)
        .assert()
        .code(1);
    assert!(out.get_output().stdout.is_empty());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(report["schema"], "dockhard/report/v1.1");
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn fail_on_sets_the_threshold() {
    // debian: high and medium failures, the critical rule passes.
    dockhard()
        .args(["check", "--root", &fixture("debian")])
        .assert()
        .code(1);
    dockhard()
        .args(["check", "--root", &fixture("debian"), "--fail-on", "high"])
        .assert()
        .code(1);
    dockhard()
        .args([
            "check",
            "--root",
            &fixture("debian"),
            "--fail-on",
            "critical",
        ])
        .assert()
        .code(0);
    // socket-tcp: an unauthenticated TCP listener is critical.
    dockhard()
        .args([
            "check",
            "--root",
            &fixture("socket-tcp"),
            "--fail-on",
            "critical",
        ])
        .assert()
        .code(1);
}

#[test]
fn text_report_has_no_colour_when_not_a_terminal() {
    let out = dockhard()
        .args(["check", "--root", &fixture("debian")])
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(!text.contains('\x1b'), "{text}");
    assert!(
        text.contains("FAIL") && text.contains("daemon.icc"),
        "{text}"
    );
}

/// The certificate checks judge validity at the snapshot's collection time.
#[test]
fn certificate_expiry_is_judged_at_collection_time() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let src = std::path::PathBuf::from(fixture("config-tls"));
    std::fs::create_dir_all(root.join("etc/docker/tls")).unwrap();
    for f in [
        "etc/docker/daemon.json",
        "etc/docker/tls/ca.pem",
        "etc/docker/tls/cert.pem",
        "etc/docker/tls/key.pem",
    ] {
        std::fs::copy(src.join(f), root.join(f)).unwrap();
    }
    std::fs::set_permissions(
        root.join("etc/docker/tls/key.pem"),
        std::fs::Permissions::from_mode(0o400),
    )
    .unwrap();
    let snap = dir.path().join("snap.json");
    dockhard()
        .args(["collect", "--root"])
        .arg(&root)
        .arg("-o")
        .arg(&snap)
        .assert()
        .code(0);
    let base: serde_json::Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    let tls_at = |unix: i64| {
        let mut v = base.clone();
        v["collected_unix"] = unix.into();
        std::fs::write(&snap, v.to_string()).unwrap();
        let out = dockhard()
            .args(["check", "--format", "json", "--snapshot"])
            .arg(&snap)
            .output()
            .unwrap();
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        r["daemons"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["rule"] == "daemon.remote-api-tls")
            .unwrap()
            .clone()
    };
    // The server certificate is valid 2025-01-01 .. 2125-01-01.
    let ok = tls_at(1_800_000_000);
    assert_eq!(ok["status"], "pass", "{ok:#}");
    assert!(ok["warnings"].as_array().unwrap().is_empty(), "{ok:#}");
    let soon = tls_at(4_891_363_200 - 10 * 86_400);
    assert_eq!(soon["status"], "pass", "{soon:#}");
    assert!(
        soon["warnings"].to_string().contains("expires in 10 days"),
        "{soon:#}"
    );
    let expired = tls_at(4_891_363_200 + 1);
    assert_eq!(expired["status"], "fail", "{expired:#}");
    assert!(
        expired["message"].to_string().contains("expired"),
        "{expired:#}"
    );
    let early = tls_at(1_700_000_000);
    assert_eq!(early["status"], "fail", "{early:#}");
    assert!(
        early["message"].to_string().contains("not yet valid"),
        "{early:#}"
    );
}

/// An output path that is a symbolic link (planted in a shared directory)
/// is replaced, never written through; a snapshot is 0600, a report 0644.
/// `-o FIFO` (and so `-o /dev/null`, a character device, which a test must
/// not risk) is written to, never replaced by a regular file; a directory
/// is refused. (Before: the temporary file was renamed over it: `collect
/// -o /dev/null` replaced the host's /dev/null with the snapshot.)
#[test]
fn outputs_to_a_fifo_are_written_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo(3) on a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    dockhard()
        .args(["collect", "--root", &fixture("debian"), "-o"])
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(0);
    let text = reader.join().unwrap();
    assert!(text.contains("\"schema\""), "{text}");
    let md = std::fs::symlink_metadata(&fifo).unwrap();
    assert!(md.file_type().is_fifo(), "the FIFO was replaced");
    let err = stderr_of(
        &[
            "collect",
            "--root",
            &fixture("debian"),
            "-o",
            &dir.path().display().to_string(),
        ],
        2,
    );
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn outputs_never_write_through_a_planted_link() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let snap = dir.path().join("snap.json");
    std::os::unix::fs::symlink(&victim, &snap).unwrap();
    dockhard()
        .args(["collect", "--root", &fixture("debian"), "-o"])
        .arg(&snap)
        .assert()
        .code(0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let md = std::fs::symlink_metadata(&snap).unwrap();
    assert!(md.file_type().is_file(), "the link was not replaced");
    assert_eq!(md.permissions().mode() & 0o777, 0o600);
    let report = dir.path().join("r.json");
    std::os::unix::fs::symlink(&victim, &report).unwrap();
    dockhard()
        .args([
            "check",
            "--root",
            &fixture("debian"),
            "--format",
            "json",
            "--output",
        ])
        .arg(&report)
        .assert()
        .code(1);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let md = std::fs::symlink_metadata(&report).unwrap();
    assert!(md.file_type().is_file());
    assert_eq!(
        md.permissions().mode() & 0o022,
        0,
        "not group/world writable"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        3,
        "a temporary file was left"
    );
}

/// `check --root debian --profile cis` in `format`, with these arguments.
fn cis_report(format: &str, extra: &[&str]) -> String {
    let out = dockhard()
        .args(["check", "--root", &fixture("debian"), "--profile", "cis"])
        .args(["--format", format])
        .args(extra)
        .assert()
        .code(1);
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

#[test]
fn cis_version_chooses_the_ids_of_every_format() {
    let no_policy = ["--no-policy"];
    let v16 = ["--no-policy", "--cis-version", "1.6"];
    // JSON: the ids and the version they are from.
    for (args, version, auth, dm) in [
        (&no_policy[..], "1.8", "2.8", serde_json::json!(["2.7"])),
        (&v16[..], "1.6", "2.7", serde_json::json!([])),
    ] {
        let r: serde_json::Value = serde_json::from_str(&cis_report("json", args)).unwrap();
        assert_eq!(r["schema"], "dockhard/report/v1.1");
        assert_eq!(r["cis_version"], version);
        let results = r["daemons"][0]["results"].as_array().unwrap();
        let cis = |rule: &str| {
            results
                .iter()
                .find(|x| x["rule"] == rule)
                .map(|x| x["cis"].clone())
                .unwrap_or_else(|| panic!("no {rule}"))
        };
        assert_eq!(cis("daemon.remote-api-auth"), serde_json::json!([auth]));
        assert_eq!(cis("daemon.storage-driver-devicemapper"), dm);
        assert_eq!(
            cis("daemon.storage-driver-aufs"),
            serde_json::json!(["2.6"])
        );
        assert_eq!(
            cis("files.daemon-json"),
            serde_json::json!(["3.17", "3.18"])
        );
    }
    // SARIF: the rules' tags and help, and the run's cisVersion.
    for (args, version, tag, help) in [
        (
            &no_policy[..],
            "1.8",
            "CIS-2.8",
            "CIS Docker Benchmark v1.8.0: 2.8",
        ),
        (
            &v16[..],
            "1.6",
            "CIS-2.7",
            "CIS Docker Benchmark v1.6.0: 2.7",
        ),
    ] {
        let s: serde_json::Value = serde_json::from_str(&cis_report("sarif", args)).unwrap();
        let run = &s["runs"][0];
        assert_eq!(run["properties"]["cisVersion"], version);
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        let rule = |id: &str| rules.iter().find(|r| r["id"] == id).unwrap();
        let auth = rule("daemon.remote-api-auth");
        let tags = auth["properties"]["tags"].as_array().unwrap();
        assert!(tags.iter().any(|t| t == tag), "{tags:?}");
        assert!(auth["help"]["text"].as_str().unwrap().starts_with(help));
        let dm = rule("daemon.storage-driver-devicemapper")["properties"]["tags"].to_string();
        assert_eq!(dm.contains("CIS-2.7"), version == "1.8", "{dm}");
    }
    // JUnit: each case's ids as a property, the suite's cis_version.
    let junit = cis_report("junit", &no_policy);
    assert!(junit.contains("<property name=\"cis_version\" value=\"1.8\"/>"));
    assert!(junit.contains(
        "<testcase name=\"daemon.remote-api-auth\" classname=\"daemon\" time=\"0\">\n      <properties><property name=\"cis\" value=\"2.8\"/></properties>"
    ), "{junit}");
    assert!(junit.contains(
        "<testcase name=\"daemon.storage-driver-devicemapper\" classname=\"daemon\" time=\"0\">\n      <properties><property name=\"cis\" value=\"2.7\"/></properties>"
    ), "{junit}");
    let junit = cis_report("junit", &v16);
    assert!(junit.contains("<property name=\"cis_version\" value=\"1.6\"/>"));
    assert!(junit.contains(
        "<testcase name=\"daemon.remote-api-auth\" classname=\"daemon\" time=\"0\">\n      <properties><property name=\"cis\" value=\"2.7\"/></properties>"
    ), "{junit}");
    assert!(
        !junit.contains("name=\"daemon.storage-driver-devicemapper\" classname=\"daemon\" time=\"0\">\n      <properties>"),
        "{junit}"
    );
    // HTML names the version beside the ids.
    let html = cis_report("html", &v16);
    assert!(html.contains("CIS v1.6.0 2.7"), "no v1.6.0 ids in the HTML");
}

#[test]
fn cis_version_of_the_policy_and_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "cis_version = \"1.6\"\n").unwrap();
    let policy = policy.to_str().unwrap();
    let version = |extra: &[&str]| {
        let mut args = vec!["--policy", policy];
        args.extend(extra);
        let r: serde_json::Value = serde_json::from_str(&cis_report("json", &args)).unwrap();
        r["cis_version"].clone()
    };
    assert_eq!(version(&[]), "1.6");
    // The command line wins over the policy.
    assert_eq!(version(&["--cis-version", "1.8"]), "1.8");
    std::fs::write(dir.path().join("bad.toml"), "cis_version = \"1.7\"\n").unwrap();
    let bad = dir.path().join("bad.toml");
    let err = stderr_of(
        &[
            "check",
            "--root",
            &fixture("debian"),
            "--policy",
            bad.to_str().unwrap(),
        ],
        2,
    );
    assert!(
        err.contains("bad.toml:1:15: unknown `cis_version` \"1.7\": expected \"1.6\" or \"1.8\""),
        "{err}"
    );
}

#[test]
fn unknown_cis_version_is_a_usage_error() {
    for cmd in [
        &["check", "--root", "/nonexistent"][..],
        &["rules"],
        &["explain", "daemon.icc"],
        &["merge", "a.json"],
    ] {
        let mut args = cmd.to_vec();
        args.extend(["--cis-version", "2.0"]);
        let err = stderr_of(&args, 2);
        assert!(
            err.contains("invalid value '2.0' for '--cis-version <VERSION>'")
                && err.contains("[possible values: 1.6, 1.8]"),
            "{cmd:?}: {err}"
        );
    }
}
