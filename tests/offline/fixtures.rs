//! `dockhard check --root` on fixture host trees (tests/fixtures/hosts/):
//! every rule's status is asserted, and the whole verdict with its evidence
//! is kept as an insta snapshot. Trees are copied to a temporary directory
//! first, so that modes, FIFOs, devices and huge files can be laid out at
//! test time (git keeps none of them).

use crate::trees;

use crate::support::verdicts::{DEFAULTS, REFUSED};
use assert_cmd::Command;
use serde_json::Value;
use std::fmt::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use trees::copy_tree;

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hosts")
        .join(name)
}

/// A copy of fixture `name` (or an empty root for `None`), then `setup`.
fn root_from(name: Option<&str>, setup: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(name) = name {
        copy_tree(&fixture_dir(name), dir.path());
    }
    setup(dir.path());
    dir
}

fn check_root(root: &Path) -> (i32, Value) {
    let out = Command::cargo_bin("dockhard")
        .unwrap()
        .args([
            "check",
            "--engine-version",
            "20.10.24",
            "--format",
            "json",
            "--root",
        ])
        .arg(root)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a JSON report ({e}); exit {code}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, report)
}

/// The verdicts as stable text: root path replaced by `<root>`.
fn condensed(report: &Value, root: &Path) -> String {
    let root = root.to_string_lossy();
    let mut s = String::new();
    for d in report["daemons"].as_array().unwrap() {
        writeln!(s, "audited: {}  config: {}", d["audited"], d["config_file"]).unwrap();
        for n in d["notes"].as_array().unwrap() {
            writeln!(s, "note: {}", n.as_str().unwrap()).unwrap();
        }
        for r in d["results"].as_array().unwrap() {
            writeln!(
                s,
                "{} {}: {}",
                r["rule"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
                r["message"].as_str().unwrap()
            )
            .unwrap();
            for e in r["evidence"].as_array().unwrap() {
                writeln!(
                    s,
                    "    [{}] {}: {}",
                    e["source"].as_str().unwrap(),
                    e["location"].as_str().unwrap(),
                    e["detail"].as_str().unwrap()
                )
                .unwrap();
            }
            for w in r["warnings"].as_array().unwrap() {
                writeln!(s, "    warning: {}", w.as_str().unwrap()).unwrap();
            }
        }
    }
    s.replace(root.as_ref(), "<root>")
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["daemons"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every rule's status: `base` with `changes` applied.
fn assert_statuses(report: &Value, base: &[(&str, &str)], changes: &[(&str, &str)]) {
    let mut want: Vec<(String, String)> = base
        .iter()
        .map(|(r, s)| (r.to_string(), s.to_string()))
        .collect();
    for (rule, status) in changes {
        let slot = want
            .iter_mut()
            .find(|(r, _)| r == rule)
            .expect("known rule");
        slot.1 = status.to_string();
    }
    let got = statuses(report);
    let wrong: Vec<String> = want
        .iter()
        .filter(|w| !got.contains(w))
        .map(|(r, s)| {
            let g = got
                .iter()
                .find(|(gr, _)| gr == r)
                .map(|(_, s)| s.as_str())
                .unwrap_or("missing");
            format!("{r}: want {s}, got {g}")
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "wrong statuses:\n{}\nreport: {report:#}",
        wrong.join("\n")
    );
    assert_eq!(got.len(), want.len(), "rule count");
}

fn run(name: &str, base: &[(&str, &str)], changes: &[(&str, &str)], exit: i32) -> String {
    run_with(name, Some(name), |_| {}, base, changes, exit)
}

fn run_with(
    snap_name: &str,
    fixture: Option<&str>,
    setup: impl FnOnce(&Path),
    base: &[(&str, &str)],
    changes: &[(&str, &str)],
    exit: i32,
) -> String {
    let root = root_from(fixture, setup);
    let (code, report) = check_root(root.path());
    assert_statuses(&report, base, changes);
    assert_eq!(code, exit, "exit code; report: {report:#}");
    assert_eq!(report["schema"], "dockhard/report/v1.1");
    assert_eq!(report["host"]["mode"], "root");
    let text = condensed(&report, root.path());
    insta::assert_snapshot!(snap_name, text);
    text
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn empty_root_gives_the_defaults() {
    let text = run("empty-root", DEFAULTS, &[], 1);
    assert!(text.contains("no docker.service unit found"), "{text}");
}

#[test]
fn hardened_by_daemon_json() {
    let text = run(
        "config-hardened",
        DEFAULTS,
        &[
            ("daemon.icc", "pass"),
            ("daemon.userland-proxy", "pass"),
            ("daemon.userns-remap", "pass"),
            ("daemon.authorization-plugin", "pass"),
            ("daemon.remote-logging", "pass"),
            ("daemon.live-restore", "pass"),
        ],
        0,
    );
    assert!(
        text.contains("[daemon.json] /etc/docker/daemon.json:2"),
        "{text}"
    );
}

/// /run is empty in an image: a socket-served authorization plugin cannot
/// be checked offline. A warning, never "dockerd would not start".
#[test]
fn offline_plugin_socket_is_a_warning() {
    let text = run_with(
        "config-hardened-no-run",
        Some("config-hardened"),
        |r| std::fs::remove_dir_all(r.join("run")).unwrap(),
        DEFAULTS,
        &[
            ("daemon.icc", "pass"),
            ("daemon.userland-proxy", "pass"),
            ("daemon.userns-remap", "pass"),
            ("daemon.authorization-plugin", "pass"),
            ("daemon.remote-logging", "pass"),
            ("daemon.live-restore", "pass"),
        ],
        0,
    );
    assert!(
        text.contains("cannot be checked in an offline tree"),
        "{text}"
    );
    assert!(!text.contains("would not start"), "{text}");
}

#[test]
fn trailing_comma_is_a_start_failure() {
    let text = run("config-trailing-comma", REFUSED, &[], 1);
    assert!(text.contains("/etc/docker/daemon.json:"), "{text}");
}

#[test]
fn comment_is_a_start_failure() {
    run("config-comment", REFUSED, &[], 1);
}

#[test]
fn wrong_type_is_a_start_failure() {
    let text = run("config-wrong-type", REFUSED, &[], 1);
    assert!(text.contains("icc"), "{text}");
}

#[test]
fn unknown_key_is_a_start_failure() {
    let text = run("config-unknown-key", REFUSED, &[], 1);
    assert!(text.contains("live-restor"), "{text}");
}

#[test]
fn duplicate_key_last_wins_with_a_warning() {
    let text = run(
        "config-duplicate-key",
        DEFAULTS,
        &[("daemon.live-restore", "pass")],
        1,
    );
    assert!(text.contains("warning") && text.contains("icc"), "{text}");
}

#[test]
fn keys_inside_unknown_objects_are_lifted() {
    run(
        "config-lifted-key",
        DEFAULTS,
        &[("daemon.live-restore", "pass")],
        1,
    );
}

#[test]
fn empty_file_is_a_start_failure_in_20_10() {
    run("config-empty", REFUSED, &[], 1);
}

#[test]
fn bom_is_a_start_failure_in_20_10() {
    run("config-bom", REFUSED, &[], 1);
}

#[test]
fn non_utf8_inside_strings_is_accepted() {
    run("config-non-utf8", DEFAULTS, &[("daemon.icc", "pass")], 1);
}

#[test]
fn trailing_data_is_ignored_by_20_10() {
    run(
        "config-trailing-data",
        DEFAULTS,
        &[("daemon.icc", "pass")],
        1,
    );
}

#[test]
fn flag_and_file_conflict_is_a_start_failure() {
    let text = run("config-conflict", REFUSED, &[], 1);
    assert!(
        text.contains("both as a flag and in the configuration file"),
        "{text}"
    );
}

#[test]
fn null_in_the_file_still_conflicts_with_the_flag() {
    run("config-null-conflict", REFUSED, &[], 1);
}

#[test]
fn unparsable_flag_value_is_a_start_failure() {
    let text = run("config-bad-flag", REFUSED, &[], 1);
    assert!(text.contains("--icc"), "{text}");
}

#[test]
fn plain_tcp_listener_fails_auth_and_tls() {
    run(
        "config-tcp-plain",
        DEFAULTS,
        &[
            ("daemon.remote-api-auth", "fail"),
            ("daemon.remote-api-tls", "fail"),
        ],
        1,
    );
}

fn protect_key(root: &Path) {
    chmod(&root.join("etc/docker/tls/key.pem"), 0o400);
}

#[test]
fn tls_with_client_verification_passes() {
    run_with(
        "config-tls",
        Some("config-tls"),
        protect_key,
        DEFAULTS,
        &[("daemon.remote-api-tls", "pass")],
        1,
    );
}

#[test]
fn tls_key_readable_by_others_fails() {
    let text = run_with(
        "config-tls-key-readable",
        Some("config-tls"),
        |r| chmod(&r.join("etc/docker/tls/key.pem"), 0o644),
        DEFAULTS,
        &[("daemon.remote-api-tls", "fail")],
        1,
    );
    assert!(text.contains("readable by group or others"), "{text}");
}

#[test]
fn expired_certificate_fails() {
    let text = run_with(
        "config-tls-expired",
        Some("config-tls-expired"),
        protect_key,
        DEFAULTS,
        &[("daemon.remote-api-tls", "fail")],
        1,
    );
    assert!(text.contains("expired"), "{text}");
}

#[test]
fn tls_without_client_verification_fails() {
    run_with(
        "config-tls-noverify",
        Some("config-tls-noverify"),
        protect_key,
        DEFAULTS,
        &[
            ("daemon.remote-api-auth", "fail"),
            ("daemon.remote-api-tls", "fail"),
        ],
        1,
    );
}

/// daemon.json replaced by something that is not a readable regular file.
fn unreadable_config(name: &str, make: impl FnOnce(&Path)) -> String {
    let unreadable: Vec<(&str, &str)> = REFUSED
        .iter()
        .map(|(r, s)| {
            (
                *r,
                if *r == "daemon.config-valid" {
                    "error"
                } else {
                    *s
                },
            )
        })
        .collect();
    run_with(
        name,
        None,
        |root| {
            std::fs::create_dir_all(root.join("etc/docker")).unwrap();
            make(&root.join("etc/docker/daemon.json"));
        },
        &unreadable,
        &[],
        2,
    )
}

#[test]
fn config_that_is_a_fifo_is_an_error_not_a_hang() {
    let text = unreadable_config("config-fifo", |p| {
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    });
    assert!(text.contains("fifo"), "{text}");
}

#[test]
fn config_that_is_a_directory_is_a_start_failure() {
    // dockerd reads it and fails: "read /etc/docker/daemon.json: is a directory".
    let root = root_from(None, |r| {
        std::fs::create_dir_all(r.join("etc/docker/daemon.json")).unwrap()
    });
    let (code, report) = check_root(root.path());
    assert_statuses(&report, REFUSED, &[]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("config-directory", condensed(&report, root.path()));
}

#[test]
fn huge_config_is_an_error() {
    let text = unreadable_config("config-huge", |p| {
        let f = std::fs::File::create(p).unwrap();
        f.set_len(17 * 1024 * 1024).unwrap();
    });
    assert!(text.contains("too large"), "{text}");
}

#[test]
fn config_symlink_to_dev_zero_is_an_error_not_a_hang() {
    // The link is resolved inside the root: <root>/dev/zero, a real
    // character device made here (needs root; the live suite needs it too).
    let text = unreadable_config("config-dev-zero", |p| {
        let root = p.parent().unwrap().parent().unwrap().parent().unwrap();
        std::fs::create_dir_all(root.join("dev")).unwrap();
        let dev = std::ffi::CString::new(root.join("dev/zero").to_str().unwrap()).unwrap();
        let rc = unsafe { libc::mknod(dev.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 5)) };
        assert_eq!(rc, 0, "mknod needs root");
        std::os::unix::fs::symlink("/dev/zero", p).unwrap();
    });
    assert!(text.contains("character device"), "{text}");
}

// ---- systemd trees (tests/fixtures/hosts/README.md lists what each shows)

#[test]
fn debian_unit_with_default_docker_opts() {
    let text = run("debian", DEFAULTS, &[], 1);
    assert!(
        text.contains("next start: `/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock --dns 8.8.8.8 --dns 8.8.4.4`"),
        "{text}"
    );
}

#[test]
fn rhel_unit_of_the_guide_with_sysconfig_options() {
    // The guide's RHEL fork flag --signature-verification is unknown to
    // upstream dockerd 20.10: the next start fails, and says where it came from.
    let text = run("rhel", REFUSED, &[], 1);
    assert!(
        text.contains("unknown flag: --signature-verification"),
        "{text}"
    );
    assert!(text.contains("[env-file] /etc/sysconfig/docker:"), "{text}");
    assert!(
        text.contains("--icc=false` (ExecStart of /lib/systemd/system/docker.service"),
        "{text}"
    );
}

#[test]
fn dropins_replace_execstart() {
    let text = run(
        "dropin-override",
        DEFAULTS,
        &[
            ("daemon.icc", "pass"),
            ("daemon.userland-proxy", "pass"),
            ("daemon.live-restore", "pass"),
        ],
        1,
    );
    assert!(
        text.contains("[unit] /etc/systemd/system/docker.service.d/override.conf:"),
        "{text}"
    );
}

#[test]
fn unit_in_etc_replaces_the_packaged_one() {
    let text = run(
        "etc-replaces",
        DEFAULTS,
        &[
            ("daemon.remote-api-auth", "fail"),
            ("daemon.remote-api-tls", "fail"),
        ],
        1,
    );
    assert!(
        text.contains("[unit] /etc/systemd/system/docker.service:"),
        "{text}"
    );
}

#[test]
fn socket_activation_with_a_tcp_listen_stream() {
    let text = run(
        "socket-tcp",
        DEFAULTS,
        &[
            ("daemon.remote-api-auth", "fail"),
            ("daemon.remote-api-tls", "fail"),
        ],
        1,
    );
    assert!(text.contains("ListenStream=0.0.0.0:2375"), "{text}");
}

#[test]
fn environment_expansion_keeps_braced_variables_as_one_word() {
    // `${OPTS}` holding "--log-opt max-size=10m" is one word: dockerd reads
    // it as the unknown flag `--log-opt max-size`.
    let text = run("env-expansion", REFUSED, &[], 1);
    assert!(text.contains("unknown flag: --log-opt max-size"), "{text}");
}

#[test]
fn missing_non_optional_environment_file_fails_the_start() {
    let text = run("invalid-missing-envfile", REFUSED, &[], 1);
    assert!(text.contains("is not optional"), "{text}");
}

#[test]
fn two_execstart_lines_fail_the_start() {
    run("invalid-two-execstart", REFUSED, &[], 1);
}

#[test]
fn unterminated_quote_fails_the_start() {
    let text = run("invalid-unterminated-quote", REFUSED, &[], 1);
    assert!(text.contains("unbalanced quoting"), "{text}");
}

#[test]
fn masked_unit_cannot_start() {
    let text = run("masked", REFUSED, &[], 1);
    assert!(text.contains("masked"), "{text}");
}

/// Every rule that needs the configuration says `error`, and so does
/// config-valid: the evidence is missing.
const MISSING: &[(&str, &str)] = &[
    ("daemon.icc", "error"),
    ("daemon.remote-api-auth", "error"),
    ("daemon.userland-proxy", "error"),
    ("daemon.userns-remap", "error"),
    ("daemon.authorization-plugin", "error"),
    ("daemon.remote-logging", "error"),
    ("daemon.live-restore", "error"),
    ("daemon.remote-api-tls", "error"),
    ("daemon.experimental", "error"),
    ("daemon.config-valid", "error"),
    ("host.dedicated", "manual"),
];

#[test]
fn environment_file_that_is_a_fifo_is_an_error_not_a_hang() {
    let text = run_with(
        "envfile-fifo",
        Some("debian"),
        |root| {
            let p = root.join("etc/default/docker");
            std::fs::remove_file(&p).unwrap();
            let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        },
        MISSING,
        &[],
        2,
    );
    assert!(
        text.contains("/etc/default/docker") && text.contains("fifo"),
        "{text}"
    );
}

#[test]
fn environment_file_that_is_dev_zero_is_an_error_not_a_hang() {
    let text = run_with(
        "envfile-dev-zero",
        Some("debian"),
        |root| {
            let p = root.join("etc/default/docker");
            std::fs::remove_file(&p).unwrap();
            std::fs::create_dir_all(root.join("dev")).unwrap();
            let dev = std::ffi::CString::new(root.join("dev/zero").to_str().unwrap()).unwrap();
            let rc =
                unsafe { libc::mknod(dev.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 5)) };
            assert_eq!(rc, 0, "mknod needs root");
            std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
        },
        MISSING,
        &[],
        2,
    );
    assert!(text.contains("character device"), "{text}");
}

/// The `files.*` verdicts (`--profile cis`) on a copy of fixture `name`
/// after `setup`: (rule, status, message) in report order.
fn file_rules(name: &str, setup: impl FnOnce(&Path)) -> Vec<(String, String, String)> {
    let root = root_from(Some(name), setup);
    let out = Command::cargo_bin("dockhard")
        .unwrap()
        .args([
            "check",
            "--engine-version",
            "20.10.24",
            "--profile",
            "cis",
            "--format",
            "json",
            "--root",
        ])
        .arg(root.path())
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["daemons"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"].as_str().unwrap().starts_with("files."))
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (s("rule"), s("status"), s("message"))
        })
        .collect()
}

fn status_of<'a>(got: &'a [(String, String, String)], rule: &str) -> (&'a str, &'a str) {
    got.iter()
        .find(|(r, _, _)| r == rule)
        .map(|(_, s, m)| (s.as_str(), m.as_str()))
        .unwrap_or_else(|| panic!("no {rule} in {got:#?}"))
}

#[test]
fn file_permissions_of_the_tls_files_in_effect() {
    let got = file_rules("config-tls", |r| {
        let tls = r.join("etc/docker/tls");
        chmod(&tls.join("ca.pem"), 0o444);
        // Numerically below 644, so docker-bench-security passes it.
        chmod(&tls.join("cert.pem"), 0o622);
        chmod(&tls.join("key.pem"), 0o400);
        chmod(&r.join("etc/docker/daemon.json"), 0o644);
        chmod(&r.join("etc/docker"), 0o755);
        let reg = r.join("etc/docker/certs.d/registry.example");
        std::fs::create_dir_all(&reg).unwrap();
        std::fs::write(reg.join("ca.crt"), "x").unwrap();
        chmod(&reg.join("ca.crt"), 0o444);
        std::fs::write(r.join("etc/group"), "root:x:0:\ndocker:x:998:\n").unwrap();
    });
    let want = [
        ("files.docker-service", "not_applicable"),
        ("files.docker-socket-unit", "not_applicable"),
        ("files.etc-docker", "pass"),
        ("files.certs-d", "pass"),
        ("files.tls-ca", "pass"),
        ("files.tls-cert", "fail"),
        ("files.tls-key", "pass"),
        ("files.engine-socket", "not_applicable"),
        ("files.daemon-json", "pass"),
        ("files.etc-default-docker", "not_applicable"),
        ("files.etc-sysconfig-docker", "not_applicable"),
        ("files.containerd-socket", "not_applicable"),
    ];
    for (rule, status) in want {
        assert_eq!(status_of(&got, rule).0, status, "{rule}: {got:#?}");
    }
    assert_eq!(got.len(), want.len(), "{got:#?}");
    let (_, msg) = status_of(&got, "files.tls-cert");
    assert!(
        msg.contains("mode 0622 has bits 0222 outside 0444"),
        "{msg}"
    );
}

#[test]
fn file_permissions_of_the_units_in_use() {
    let got = file_rules("debian", |r| {
        chmod(&r.join("lib/systemd/system/docker.service"), 0o644);
        chmod(&r.join("lib/systemd/system/docker.socket"), 0o606);
        chmod(&r.join("etc/default/docker"), 0o640);
    });
    assert_eq!(
        status_of(&got, "files.docker-service").0,
        "pass",
        "{got:#?}"
    );
    let (status, msg) = status_of(&got, "files.docker-socket-unit");
    assert_eq!(status, "fail", "{got:#?}");
    assert!(
        msg.contains("mode 0606 has bits 0002 outside 0644"),
        "{msg}"
    );
    assert_eq!(
        status_of(&got, "files.etc-default-docker").0,
        "pass",
        "{got:#?}"
    );
}
