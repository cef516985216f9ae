//! `dockhard fix --root` on copies of fixture host trees: where each change
//! goes, the diff (insta), that `--apply` writes exactly the dry run's diff,
//! idempotence, validation and preflight refusals.

use crate::trees;

use assert_cmd::Command;
use dockhard::fix::diff::unified_diff;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trees::copy_tree;

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hosts")
        .join(name)
}

/// A copy of a fixture, or a tree built from `files` (host path, text).
fn root(fixture: Option<&str>, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(f) = fixture {
        copy_tree(&fixture_dir(f), dir.path());
    }
    for (p, t) in files {
        let path = dir.path().join(p.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, t).unwrap();
    }
    dir
}

fn fix(root: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("dockhard")
        .unwrap()
        .arg("fix")
        .arg("--root")
        .arg(root)
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{stdout}{}",
            if stderr.is_empty() {
                String::new()
            } else {
                format!("stderr: {stderr}")
            }
        ),
    )
}

fn statuses(root: &Path) -> BTreeMap<String, String> {
    statuses_of(root, "seed")
}

/// `check --profile PROFILE --root ROOT`: rule -> status.
fn statuses_of(root: &Path, profile: &str) -> BTreeMap<String, String> {
    let out = Command::cargo_bin("dockhard")
        .unwrap()
        .args(["check", "--format", "json", "--profile", profile, "--root"])
        .arg(root)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["daemons"][0]["results"]
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

/// The diff part of a dry run's output.
fn diff_of(out: &str) -> String {
    let mut s = String::new();
    let mut on = false;
    for l in out.lines() {
        if l.starts_with("--- ") {
            on = true;
        }
        if l.starts_with("dry run:") || l.starts_with("nothing was changed") {
            on = false;
        }
        if on {
            s.push_str(l);
            s.push('\n');
        }
    }
    s
}

/// Host paths named by the `+++ b/...` (or `--- a/...`) headers of a diff.
fn diff_paths(diff: &str) -> Vec<String> {
    let mut v: Vec<String> = diff
        .lines()
        .filter_map(|l| {
            l.strip_prefix("+++ b/")
                .or_else(|| l.strip_prefix("--- a/"))
        })
        .map(|p| format!("/{p}"))
        .collect();
    v.sort();
    v.dedup();
    v
}

fn read(root: &Path, host: &str) -> Option<String> {
    std::fs::read_to_string(root.join(host.trim_start_matches('/'))).ok()
}

/// Dry run, apply, compare the written files with the dry run's diff, then
/// apply again: nothing to do.
fn dry_apply_again(root: &Path, args: &[&str]) -> String {
    let (code, dry) = fix(root, args);
    assert_eq!(code, 0, "{dry}");
    assert!(dry.contains("dry run: nothing written"), "{dry}");
    let diff = diff_of(&dry);
    assert!(!diff.is_empty(), "{dry}");
    let paths = diff_paths(&diff);
    let before: Vec<Option<String>> = paths.iter().map(|p| read(root, p)).collect();
    let mut apply_args = args.to_vec();
    apply_args.extend(["--apply", "--yes"]);
    let (code, applied) = fix(root, &apply_args);
    assert_eq!(code, 0, "{applied}");
    assert!(
        applied.contains("done: files written, nothing restarted"),
        "{applied}"
    );
    let written: String = paths
        .iter()
        .zip(&before)
        .map(|(p, old)| unified_diff(p, old.as_deref(), read(root, p).as_deref()))
        .collect();
    assert_eq!(
        written, diff,
        "--apply must write exactly the dry run's diff"
    );
    let (code, again) = fix(root, &apply_args);
    assert_eq!(code, 0, "{again}");
    assert!(again.contains("nothing to do"), "{again}");
    assert!(!again.contains("backup:"), "{again}");
    let after: Vec<Option<String>> = paths.iter().map(|p| read(root, p)).collect();
    let (_, third) = fix(root, args);
    assert!(diff_of(&third).is_empty(), "{third}");
    assert_eq!(
        after,
        paths.iter().map(|p| read(root, p)).collect::<Vec<_>>()
    );
    dry
}

const SEED: &[&str] = &[
    "--syslog-address",
    "udp://192.0.2.1:514",
    "--userns-remap",
    "default",
];

#[test]
fn debian_seed_goes_to_daemon_json_and_drops_json_file_options() {
    let r = root(Some("debian"), &[]);
    let dry = dry_apply_again(r.path(), SEED);
    insta::assert_snapshot!("debian_seed_dry_run", dry);
    let json = read(r.path(), "/etc/docker/daemon.json").unwrap();
    assert!(!json.contains("max-size"), "{json}");
    let st = statuses(r.path());
    for rule in [
        "daemon.icc",
        "daemon.userland-proxy",
        "daemon.userns-remap",
        "daemon.remote-logging",
        "daemon.live-restore",
        "daemon.config-valid",
    ] {
        assert_eq!(st[rule], "pass", "{rule}: {st:?}");
    }
    // No authz plugin given: skipped, still failing.
    assert_eq!(st["daemon.authorization-plugin"], "fail");
    // The unit was not touched.
    assert_eq!(
        read(r.path(), "/lib/systemd/system/docker.service"),
        std::fs::read_to_string(fixture_dir("debian").join("lib/systemd/system/docker.service"))
            .ok()
    );
}

#[test]
fn a_flag_in_the_unit_is_changed_in_a_dropin_not_in_daemon_json() {
    // The conflict case: --log-driver is a flag; a naive fix adding
    // "log-driver" to daemon.json would stop dockerd from starting.
    let r = root(
        None,
        &[
            (
                "/lib/systemd/system/docker.service",
                "[Service]\nExecStart=/usr/bin/dockerd -H fd:// --log-driver json-file --log-opt max-size=10m \\\n  $DOCKER_OPTS\nEnvironmentFile=-/etc/default/docker\n",
            ),
            ("/etc/docker/daemon.json", "{\n  \"icc\": true\n}\n"),
        ],
    );
    let dry = dry_apply_again(
        r.path(),
        &[
            "--rule",
            "daemon.remote-logging",
            "--syslog-address",
            "udp://192.0.2.1:514",
        ],
    );
    insta::assert_snapshot!("flag_in_unit_dropin", dry);
    let dropin = read(
        r.path(),
        "/etc/systemd/system/docker.service.d/zz-dockhard.conf",
    )
    .unwrap();
    assert!(
        dropin.contains("$DOCKER_OPTS"),
        "the variable reference is kept: {dropin}"
    );
    assert!(dropin.contains("--log-driver=syslog"), "{dropin}");
    assert!(!dropin.contains("max-size"), "{dropin}");
    assert!(
        !read(r.path(), "/etc/docker/daemon.json")
            .unwrap()
            .contains("log-driver")
    );
    let st = statuses(r.path());
    assert_eq!(st["daemon.config-valid"], "pass", "{st:?}");
    assert_eq!(st["daemon.remote-logging"], "pass", "{st:?}");
}

#[test]
fn method_unit_edits_execstart_like_the_guide() {
    let r = root(Some("debian"), &[]);
    let dry = dry_apply_again(r.path(), &["--rule", "daemon.icc", "--method", "unit"]);
    insta::assert_snapshot!("debian_method_unit", dry);
    let unit = read(r.path(), "/lib/systemd/system/docker.service").unwrap();
    assert!(unit.contains("$DOCKER_OPTS --icc=false"), "{unit}");
    assert_eq!(statuses(r.path())["daemon.icc"], "pass");
}

#[test]
fn a_flag_from_an_environment_file_is_edited_there() {
    let r = root(
        None,
        &[
            (
                "/lib/systemd/system/docker.service",
                "[Service]\nEnvironmentFile=/etc/default/docker\nExecStart=/usr/bin/dockerd $DOCKER_OPTS\n",
            ),
            (
                "/etc/default/docker",
                "# options\nDOCKER_OPTS=\"--icc=true --live-restore=false\"\n",
            ),
        ],
    );
    let dry = dry_apply_again(
        r.path(),
        &["--rule", "daemon.icc", "--rule", "daemon.live-restore"],
    );
    insta::assert_snapshot!("env_file", dry);
    assert_eq!(
        read(r.path(), "/etc/default/docker").unwrap(),
        "# options\nDOCKER_OPTS=\"--icc=false --live-restore=true\"\n"
    );
    assert!(read(r.path(), "/etc/docker/daemon.json").is_none());
}

#[test]
fn method_daemon_json_moves_the_flag_into_the_file() {
    let r = root(
        None,
        &[(
            "/lib/systemd/system/docker.service",
            "[Service]\nExecStart=/usr/bin/dockerd -H fd:// --icc=true --log-opt mode=non-blocking\n",
        )],
    );
    let dry = dry_apply_again(
        r.path(),
        &[
            "--method",
            "daemon-json",
            "--rule",
            "daemon.icc",
            "--rule",
            "daemon.remote-logging",
            "--syslog-address",
            "udp://192.0.2.1:514",
        ],
    );
    insta::assert_snapshot!("method_daemon_json", dry);
    let json: Value =
        serde_json::from_str(&read(r.path(), "/etc/docker/daemon.json").unwrap()).unwrap();
    assert_eq!(json["icc"], Value::Bool(false));
    assert_eq!(json["log-opts"]["mode"], "non-blocking", "{json}");
    let st = statuses(r.path());
    assert_eq!(st["daemon.config-valid"], "pass", "{st:?}");
}

#[test]
fn a_start_failure_is_refused_and_nothing_is_written() {
    // hosts is both a flag and a key: dockerd would still not start.
    let r = root(Some("config-conflict"), &[]);
    let (code, out) = fix(r.path(), &["--rule", "daemon.icc", "--apply", "--yes"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("REFUSED: validation: dockerd would still not start"),
        "{out}"
    );
    assert!(out.contains("hosts"), "{out}");
    assert!(out.contains("nothing was changed"), "{out}");
    assert!(
        read(
            r.path(),
            "/etc/systemd/system/docker.service.d/zz-dockhard.conf"
        )
        .is_none()
    );
    assert_eq!(
        read(r.path(), "/etc/docker/daemon.json"),
        std::fs::read_to_string(fixture_dir("config-conflict").join("etc/docker/daemon.json")).ok()
    );
}

#[test]
fn syslog_without_dev_log_or_address_is_refused_unless_forced() {
    let r = root(Some("debian"), &[]);
    let (code, out) = fix(
        r.path(),
        &["--rule", "daemon.remote-logging", "--apply", "--yes"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("REFUSED: daemon.remote-logging: syslog is not reachable"),
        "{out}"
    );
    assert!(
        read(r.path(), "/etc/docker/daemon.json")
            .unwrap()
            .contains("json-file")
    );
    let (code, out) = fix(
        r.path(),
        &[
            "--rule",
            "daemon.remote-logging",
            "--apply",
            "--yes",
            "--force",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        read(r.path(), "/etc/docker/daemon.json")
            .unwrap()
            .contains("syslog")
    );
    // A TCP syslog address that does not answer is refused.
    let r = root(Some("debian"), &[]);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("tcp://127.0.0.1:{port}");
    let (code, out) = fix(
        r.path(),
        &["--rule", "daemon.remote-logging", "--syslog-address", &addr],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not answer"), "{out}");
}

#[test]
fn missing_plugin_subuid_and_certificates_are_refused() {
    let r = root(Some("debian"), &[]);
    let (code, out) = fix(
        r.path(),
        &[
            "--rule",
            "daemon.authorization-plugin",
            "--authz-plugin",
            "nosuch",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("authorization plugin `nosuch` was not found"),
        "{out}"
    );
    let (code, out) = fix(r.path(), &["--rule", "daemon.authorization-plugin"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("skipped: needs --authz-plugin NAME"), "{out}");
    // A plugin spec in the root is found.
    let r2 = root(
        Some("debian"),
        &[("/etc/docker/plugins/authz.spec", "unix:///run/authz.sock\n")],
    );
    let (code, out) = fix(
        r2.path(),
        &[
            "--rule",
            "daemon.authorization-plugin",
            "--authz-plugin",
            "authz",
        ],
    );
    assert_eq!(code, 0, "{out}");
    // userns-remap USER without ranges.
    let (code, out) = fix(
        r.path(),
        &["--rule", "daemon.userns-remap", "--userns-remap", "alice"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("/etc/subuid has no range for `alice`"),
        "{out}"
    );
    assert!(
        out.contains("existing containers and images are not visible"),
        "{out}"
    );
    let r3 = root(
        Some("debian"),
        &[
            ("/etc/subuid", "alice:100000:65536\n"),
            ("/etc/subgid", "alice:100000:65536\n"),
        ],
    );
    let (code, out) = fix(
        r3.path(),
        &["--rule", "daemon.userns-remap", "--userns-remap", "alice"],
    );
    assert_eq!(code, 0, "{out}");
    // tlsverify without readable certificates.
    let r4 = root(Some("socket-tcp"), &[]);
    let (code, out) = fix(
        r4.path(),
        &[
            "--rule",
            "daemon.remote-api-tls",
            "--tls-ca",
            "/etc/docker/ca.pem",
            "--tls-cert",
            "/etc/docker/cert.pem",
            "--tls-key",
            "/etc/docker/key.pem",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("tlscacert: /etc/docker/ca.pem is not a readable file"),
        "{out}"
    );
}

#[test]
fn rollback_restores_the_last_change_set() {
    let r = root(Some("debian"), &[]);
    let orig = read(r.path(), "/etc/docker/daemon.json");
    let (code, out) = fix(r.path(), &["--rule", "daemon.icc", "--apply", "--yes"]);
    assert_eq!(code, 0, "{out}");
    assert_ne!(read(r.path(), "/etc/docker/daemon.json"), orig);
    let (code, out) = fix(r.path(), &["--rollback"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("restored"), "{out}");
    assert_eq!(read(r.path(), "/etc/docker/daemon.json"), orig);
    let (code, out) = fix(r.path(), &["--rollback"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("already rolled back"), "{out}");
}

/// A tree for [`a_plan_applied_twice_changes_nothing_the_second_time`]: the
/// debian fixture with an ExecStart= drop-in holding `flags` and a
/// daemon.json holding `members`.
fn random_tree(flags: &[&str], members: &[(&str, &str)]) -> tempfile::TempDir {
    let dropin = format!(
        "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// {}\n",
        flags.join(" ")
    );
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("  {k:?}: {v}"))
        .collect();
    let json = format!("{{\n{}\n}}\n", body.join(",\n"));
    root(
        Some("debian"),
        &[
            (
                "/etc/systemd/system/docker.service.d/override.conf",
                &dropin,
            ),
            ("/etc/docker/daemon.json", &json),
        ],
    )
}

/// Every file under `root`, with its bytes (backups are kept elsewhere).
fn tree_state(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, &mut out);
    out
}

const FLAG_POOL: &[&str] = &[
    "--icc=true",
    "--icc=false",
    "--userland-proxy",
    "--userland-proxy=false",
    "--live-restore=false",
    "--experimental",
    "--log-driver=json-file",
    "--log-opt max-size=10m",
    "--debug",
];
const MEMBER_POOL: &[(&str, &str)] = &[
    ("icc", "true"),
    ("icc", "false"),
    ("live-restore", "false"),
    ("userland-proxy", "true"),
    ("experimental", "true"),
    ("log-driver", "\"local\""),
    ("log-opts", "{\"max-size\": \"10m\", \"max-file\": \"3\"}"),
    ("debug", "false"),
    ("log-level", "\"info\""),
];

/// On random flag/file combinations and every method: `fix --apply`
/// writes exactly the files of its dry run, and a second `fix --apply`
/// changes nothing (no write, no backup, the same bytes everywhere). A
/// refused plan writes nothing at all. Most cases must really apply.
#[test]
fn a_plan_applied_twice_changes_nothing_the_second_time() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let applied = std::cell::Cell::new(0u32);
    let strategy = (
        proptest::sample::subsequence(FLAG_POOL, 0..=4),
        proptest::sample::subsequence(MEMBER_POOL, 0..=4),
        proptest::sample::select(&["auto", "daemon-json", "dropin", "unit"][..]),
    );
    let mut runner = TestRunner::new(Config::with_cases(16));
    let result = runner.run(&strategy, |(flags, members, method)| {
        let r = random_tree(&flags, &members);
        let backups = tempfile::tempdir().unwrap();
        let bdir = backups.path().to_str().unwrap().to_string();
        let mut args = SEED.to_vec();
        args.extend(["--method", method, "--backup-dir", &bdir]);
        let before = tree_state(r.path());
        let (code, dry) = fix(r.path(), &args);
        let mut apply = args.clone();
        apply.extend(["--apply", "--yes"]);
        if code != 0 {
            let (acode, applied) = fix(r.path(), &apply);
            prop_assert_ne!(acode, 0, "dry run refused but --apply did not: {}", applied);
            prop_assert_eq!(
                &tree_state(r.path()),
                &before,
                "a refused plan wrote: {}",
                applied
            );
            return Ok(());
        }
        let (code, out) = fix(r.path(), &apply);
        prop_assert_eq!(code, 0, "{}\n{}", dry, out);
        let once = tree_state(r.path());
        let changed = once
            .keys()
            .filter(|p| before.get(*p) != once.get(*p))
            .count();
        prop_assert_eq!(changed, diff_paths(&diff_of(&dry)).len(), "{}", dry);
        let (code, again) = fix(r.path(), &apply);
        prop_assert_eq!(code, 0, "{}", again);
        prop_assert!(again.contains("nothing to do"), "second apply: {}", again);
        prop_assert!(!again.contains("backup:"), "{}", again);
        prop_assert_eq!(
            &tree_state(r.path()),
            &once,
            "the second apply changed a file"
        );
        applied.set(applied.get() + 1);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(
        applied.get() >= 8,
        "only {} of 16 cases applied a plan",
        applied.get()
    );
}

/// The upgrade fix: keys a 28.5 engine refuses (`oom-score-adjust` and
/// `graph` are gone, `api-cors-header` is refused by name) are removed from
/// daemon.json, the others stay, and the tree then starts on 28.5 (and
/// still on 20.10).
#[test]
fn upgrade_fix_removes_keys_the_new_engine_refuses() {
    let json = r#"{
  "oom-score-adjust": -500,
  "graph": "/srv/docker",
  "api-cors-header": "*",
  "icc": false,
  "allow-nondistributable-artifacts": ["registry.test:5000"]
}
"#;
    let r = root(Some("debian"), &[("/etc/docker/daemon.json", json)]);
    let check = |v: &str| {
        let out = Command::cargo_bin("dockhard")
            .unwrap()
            .args(["check", "--format", "json", "--engine-version", v, "--root"])
            .arg(r.path())
            .output()
            .unwrap();
        let rep: Value = serde_json::from_slice(&out.stdout).unwrap();
        let res = rep["daemons"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["rule"] == "daemon.config-valid")
            .cloned()
            .unwrap();
        (
            res["status"].as_str().unwrap().to_string(),
            res["message"].as_str().unwrap().to_string(),
        )
    };
    let (st, msg) = check("28.5.2");
    assert_eq!(st, "fail", "{msg}");
    assert!(
        msg.contains("oom-score-adjust") && msg.contains("graph"),
        "{msg}"
    );
    assert_eq!(check("20.10.24").0, "pass");
    let args = [
        "--engine-version",
        "28.5.2",
        "--rule",
        "daemon.config-valid",
    ];
    let dry = dry_apply_again(r.path(), &args);
    assert!(
        dry.contains("moves `graph` (\"/srv/docker\") to `data-root`"),
        "{dry}"
    );
    for key in [
        "oom-score-adjust",
        "api-cors-header",
        "allow-nondistributable-artifacts",
    ] {
        assert!(
            dry.contains(&format!("removes `{key}`")),
            "{key} named in the plan:\n{dry}"
        );
    }
    let after = read(r.path(), "/etc/docker/daemon.json").unwrap();
    let v: Value = serde_json::from_str(&after).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"icc": false, "data-root": "/srv/docker"}),
        "{after}"
    );
    assert_eq!(check("28.5.2"), ("pass".to_string(), check("28.5.2").1));
    assert_eq!(check("20.10.24").0, "pass");
}

fn mode_owner(root: &Path, host: &str) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(root.join(host.trim_start_matches('/')))
        .unwrap_or_else(|e| panic!("{host}: {e}"));
    (m.mode() & 0o7777, m.uid(), m.gid())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The debian fixture (in a temp dir) with daemon.json 0666 root:docker and
/// the unit 0664 root:root.
fn loose_modes_tree() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let r = root(
        Some("debian"),
        &[
            ("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
            ("/etc/group", "root:x:0:\ndocker:x:998:\n"),
        ],
    );
    let at = |p: &str| r.path().join(p.trim_start_matches('/'));
    for (p, mode) in [
        ("/etc/docker/daemon.json", 0o666),
        ("/lib/systemd/system/docker.service", 0o664),
    ] {
        std::fs::set_permissions(at(p), std::fs::Permissions::from_mode(mode)).unwrap();
        std::os::unix::fs::chown(at(p), Some(0), Some(0)).unwrap();
    }
    std::os::unix::fs::chown(at("/etc/docker/daemon.json"), Some(0), Some(998)).unwrap();
    r
}

#[test]
fn file_modes_are_fixed_in_place_and_rolled_back() {
    if !is_root() {
        eprintln!("skipped: chown in the tree needs root");
        return;
    }
    let r = loose_modes_tree();
    const JSON: &str = "/etc/docker/daemon.json";
    const UNIT: &str = "/lib/systemd/system/docker.service";
    let rules = [
        "--rule",
        "files.daemon-json",
        "--rule",
        "files.docker-service",
    ];
    let (code, dry) = fix(r.path(), &rules);
    assert_eq!(code, 0, "{dry}");
    insta::assert_snapshot!(dry, @r"
    dockhard fix: the configuration on disk (next start), daemon.json /etc/docker/daemon.json
      files.daemon-json     fail            in place: owner and mode, no restart
          0666 root:docker -> 0644 root:root  /etc/docker/daemon.json (daemon.json)
      files.docker-service  fail            in place: owner and mode, no restart
          0664 root:root -> 0644 root:root  /lib/systemd/system/docker.service (unit)
    files to write: 0; owners and modes to change: 2; dockerd action: none

    dry run: nothing written (--apply to write)
    ");
    assert_eq!(mode_owner(r.path(), JSON), (0o666, 0, 998), "a dry run");
    let before = statuses_of(r.path(), "cis");
    assert_eq!(before["files.daemon-json"], "fail");
    assert_eq!(before["files.docker-service"], "fail");
    let mut apply = rules.to_vec();
    apply.extend(["--apply", "--yes"]);
    let (code, out) = fix(r.path(), &apply);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("done: owners and modes changed, nothing restarted"),
        "{out}"
    );
    assert_eq!(mode_owner(r.path(), JSON), (0o644, 0, 0));
    assert_eq!(mode_owner(r.path(), UNIT), (0o644, 0, 0));
    let after = statuses_of(r.path(), "cis");
    assert_eq!(after["files.daemon-json"], "pass");
    assert_eq!(after["files.docker-service"], "pass");
    // The change set records the old values.
    let backups = r.path().join("var/lib/dockhard/backups");
    let set = dockhard::fix::apply::latest_backup(&backups)
        .unwrap()
        .unwrap();
    let recorded: Vec<(String, u32, u32, u32)> = set
        .manifest
        .perms
        .iter()
        .map(|p| {
            let host = p.path.strip_prefix(r.path()).unwrap().display().to_string();
            (host, p.old_mode, p.old_uid, p.old_gid)
        })
        .collect();
    assert_eq!(
        recorded,
        [
            ("etc/docker/daemon.json".to_string(), 0o666, 0, 998),
            ("lib/systemd/system/docker.service".to_string(), 0o664, 0, 0),
        ]
    );
    let (code, again) = fix(r.path(), &apply);
    assert_eq!(code, 0, "{again}");
    assert!(again.contains("nothing to do"), "{again}");
    assert!(!again.contains("backup:"), "{again}");
    let (code, out) = fix(r.path(), &["--rollback"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("owners and modes restored (no restart needed)"),
        "{out}"
    );
    assert_eq!(mode_owner(r.path(), JSON), (0o666, 0, 998));
    assert_eq!(mode_owner(r.path(), UNIT), (0o664, 0, 0));
}

#[test]
fn a_symbolic_link_is_not_followed_by_the_mode_fix() {
    use std::os::unix::fs::PermissionsExt;
    let r = root(Some("debian"), &[]);
    let json = r.path().join("etc/docker/daemon.json");
    let real = r.path().join("etc/docker/real.json");
    std::fs::rename(&json, &real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::os::unix::fs::symlink("real.json", &json).unwrap();
    let (code, out) = fix(
        r.path(),
        &["--rule", "files.daemon-json", "--apply", "--yes"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("skipped: /etc/docker/daemon.json (daemon.json) is a symbolic link to real.json: dockhard never follows links"),
        "{out}"
    );
    assert!(!out.contains("backup:"), "{out}");
    assert_eq!(mode_owner(r.path(), "/etc/docker/real.json").0, 0o666);
}

#[test]
fn a_daemon_json_edit_and_its_mode_fix_roll_back_together() {
    if !is_root() {
        eprintln!("skipped: chown in the tree needs root");
        return;
    }
    let r = loose_modes_tree();
    const JSON: &str = "/etc/docker/daemon.json";
    let orig = read(r.path(), JSON);
    let (code, out) = fix(
        r.path(),
        &[
            "--rule",
            "daemon.icc",
            "--rule",
            "files.daemon-json",
            "--apply",
            "--yes",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0666 root:docker -> 0644 root:root"), "{out}");
    assert!(read(r.path(), JSON).is_some_and(|t| t.contains("\"icc\": false")));
    assert_eq!(
        mode_owner(r.path(), JSON),
        (0o644, 0, 0),
        "the write keeps the new mode"
    );
    let (code, out) = fix(r.path(), &["--rollback"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(read(r.path(), JSON), orig);
    assert_eq!(mode_owner(r.path(), JSON), (0o666, 0, 998));
}

#[test]
fn audit_rules_are_written_to_a_file_of_their_own_and_rolled_back() {
    const OTHER: &str = "/etc/audit/rules.d/other.rules";
    const OWN: &str = "/etc/audit/rules.d/dockhard-docker.rules";
    let r = root(Some("debian"), &[(OTHER, "-w /etc/docker -k docker\n")]);
    let rule = ["--profile", "cis", "--rule", "host.audit-rules"];
    assert_eq!(statuses_of(r.path(), "cis")["host.audit-rules"], "fail");
    let (code, dry) = fix(r.path(), &rule);
    assert_eq!(code, 0, "{dry}");
    insta::assert_snapshot!(dry, @r"
    dockhard fix: the configuration on disk (next start), daemon.json /etc/docker/daemon.json
      host.audit-rules  fail            a rules file of its own, no restart
          -w /lib/systemd/system/docker.service -k docker -> /etc/audit/rules.d/dockhard-docker.rules
          -w /lib/systemd/system/docker.socket -k docker -> /etc/audit/rules.d/dockhard-docker.rules
          -w /etc/default/docker -k docker -> /etc/audit/rules.d/dockhard-docker.rules
          1 other rules file(s) left alone; 2 of the paths are already covered there
    note: an offline root (--root): the rules are written and load when its auditd starts
    files to write: 1; dockerd action: none

    --- /dev/null
    +++ b/etc/audit/rules.d/dockhard-docker.rules
    @@ -0,0 +1,7 @@
    +# Written by dockhard (dockhard fix --rule host.audit-rules): an audit watch
    +# for each path this Docker daemon uses that no other rules file watches.
    +# The other files in /etc/audit/rules.d were left alone. dockhard rewrites
    +# this file; remove it with `dockhard fix --rollback` or by hand.
    +-w /lib/systemd/system/docker.service -k docker
    +-w /lib/systemd/system/docker.socket -k docker
    +-w /etc/default/docker -k docker
    dry run: nothing written (--apply to write)
    ");
    assert_eq!(read(r.path(), OWN), None, "a dry run writes nothing");
    let mut apply = rule.to_vec();
    apply.extend(["--apply", "--yes"]);
    let (code, out) = fix(r.path(), &apply);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("done: files written, nothing restarted"),
        "{out}"
    );
    assert!(
        !out.contains("augenrules"),
        "never loaded under --root: {out}"
    );
    let own = read(r.path(), OWN).unwrap_or_default();
    let rules: Vec<&str> = own.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        rules,
        [
            "-w /lib/systemd/system/docker.service -k docker",
            "-w /lib/systemd/system/docker.socket -k docker",
            "-w /etc/default/docker -k docker",
        ]
    );
    assert_eq!(
        read(r.path(), OTHER).as_deref(),
        Some("-w /etc/docker -k docker\n"),
        "the other file is left alone"
    );
    assert_eq!(statuses_of(r.path(), "cis")["host.audit-rules"], "pass");
    let (code, again) = fix(r.path(), &apply);
    assert_eq!(code, 0, "{again}");
    assert!(again.contains("nothing to do"), "{again}");
    assert!(!again.contains("backup:"), "{again}");
    let (code, out) = fix(r.path(), &["--rollback"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("done: audit rules restored (no restart needed)"),
        "{out}"
    );
    assert_eq!(read(r.path(), OWN), None, "the new file is removed");
    assert_eq!(
        read(r.path(), OTHER).as_deref(),
        Some("-w /etc/docker -k docker\n")
    );
    assert_eq!(statuses_of(r.path(), "cis")["host.audit-rules"], "fail");
}

#[test]
fn an_audit_rules_file_of_an_earlier_run_is_updated_and_restored() {
    const OWN: &str = "/etc/audit/rules.d/dockhard-docker.rules";
    let earlier = "# Written by dockhard\n-w /lib/systemd/system/docker.service -k docker\n";
    let r = root(Some("debian"), &[(OWN, earlier)]);
    let (code, out) = fix(
        r.path(),
        &[
            "--profile",
            "cis",
            "--rule",
            "host.audit-rules",
            "--apply",
            "--yes",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 other rules file(s) left alone"), "{out}");
    assert!(
        out.contains("--- a/etc/audit/rules.d/dockhard-docker.rules"),
        "the diff shows the update: {out}"
    );
    assert!(out.contains("+-w /etc/docker -k docker"), "{out}");
    assert_eq!(statuses_of(r.path(), "cis")["host.audit-rules"], "pass");
    let (code, out) = fix(r.path(), &["--rollback"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(read(r.path(), OWN).as_deref(), Some(earlier));
}
