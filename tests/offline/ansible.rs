//! `deploy/ansible/` run for real with ansible-core against the three hosts
//! of `deploy/ansible/tests/inventory.yml` (local connection, each auditing
//! its own copy of a fixture host tree with --root): site.yml audits and
//! merges, fix.yml fixes in a rolling change and audits again, a refused fix
//! stops the rollout; watch.yml (`dockhard_install: package`: the .deb and
//! dockhard-watch.service) in check mode; and ansible-lint is clean.

use crate::pytools;
use crate::trees;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use trees::copy_tree;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The three hosts: DIR/hostN/root copies of these fixture trees.
const TREES: [(&str, &str); 3] = [
    ("host1", "debian"),
    ("host2", "etc-replaces"),
    ("host3", "config-hardened"),
];

fn hosts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (host, tree) in TREES {
        copy_tree(
            &repo().join("tests/fixtures/hosts").join(tree),
            &dir.path().join(host).join("root"),
        );
    }
    dir
}

fn playbook(tool: &Path, dir: &Path, play: &str, extra: &[&str]) -> (bool, String) {
    let ansible = repo().join("deploy/ansible");
    let o = Command::new(tool)
        .current_dir(&ansible)
        .arg("-i")
        .arg(ansible.join("tests/inventory.yml"))
        .arg(ansible.join(play))
        .arg("-e")
        .arg(format!("dockhard_test_dir={}", dir.display()))
        .arg("-e")
        .arg(format!(
            "dockhard_binary={}",
            env!("CARGO_BIN_EXE_dockhard")
        ))
        .arg("-e")
        .arg(format!(
            "dockhard_fleet_dir={}",
            dir.join("fleet").display()
        ))
        .args(extra)
        .env("PATH", pytools::path_env())
        .env("ANSIBLE_HOME", dir.join(".ansible"))
        .env("ANSIBLE_LOCAL_TEMP", dir.join(".ansible/tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .env_remove("ANSIBLE_CONFIG")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tool.display()));
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn fleet(dir: &Path) -> Value {
    let p = dir.join("fleet/fleet.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn rule<'a>(fleet: &'a Value, id: &str) -> &'a Value {
    fleet["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == id)
        .unwrap_or_else(|| panic!("no rule {id} in the fleet report"))
}

const FIXED: [&str; 3] = ["daemon.icc", "daemon.userland-proxy", "daemon.live-restore"];

/// `dockhard check --root DIR --format json`: status of each rule.
fn check(root: &Path) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_dockhard"))
        .args(["check", "--format", "json", "--root"])
        .arg(root)
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout).unwrap()
}

fn status(report: &Value, id: &str) -> String {
    report["daemons"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == id)
        .map(|r| r["status"].as_str().unwrap_or("?").to_string())
        .unwrap_or_default()
}

#[test]
#[ignore = "needs ansible-core and ansible-lint (scripts/test installs them); scripts/test runs it"]
fn site_audits_and_merges_then_fix_rolls_out() {
    let t = pytools::tools(
        "site_audits_and_merges_then_fix_rolls_out",
        &["ansible-playbook"],
    );
    let dir = hosts();
    let d = dir.path();

    let (ok, out) = playbook(&t[0], d, "site.yml", &[]);
    assert!(ok, "site.yml failed:\n{out}");
    for (host, _) in TREES {
        assert!(
            d.join(host).join("bin/dockhard").is_file(),
            "binary not copied to {host}"
        );
        assert!(
            d.join("fleet").join(format!("{host}.json")).is_file(),
            "{host} not fetched"
        );
    }
    let f = fleet(d);
    assert_eq!(f["schema"], "dockhard/fleet/v1");
    let names: Vec<&str> = f["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["host1", "host2", "host3"], "{f}");
    for id in FIXED {
        assert_eq!(
            rule(&f, id)["failing_hosts"],
            serde_json::json!(["host1", "host2"]),
            "{id}"
        );
    }
    let text = std::fs::read_to_string(d.join("fleet/fleet.txt")).unwrap();
    assert!(text.contains("3 host(s), 2 with failures"), "{text}");
    // The fleet report is shown in the play's output too.
    assert!(out.contains("daemon.icc"), "{out}");

    let (ok, out) = playbook(&t[0], d, "fix.yml", &[]);
    assert!(ok, "fix.yml failed:\n{out}");
    // One host per batch (serial 1 by default).
    assert_eq!(
        out.matches("PLAY [Fix the Docker daemons, a batch at a time]")
            .count(),
        3,
        "{out}"
    );
    for (host, _) in TREES {
        let r = check(&d.join(host).join("root"));
        for id in FIXED {
            assert_eq!(status(&r, id), "pass", "{host} {id} after fix.yml");
        }
    }
    // fix.yml audited the fleet again: the fixed rules pass everywhere.
    let f = fleet(d);
    for id in FIXED {
        let r = rule(&f, id);
        assert_eq!(r["failing_hosts"], serde_json::json!([]), "{id}");
        assert_eq!(
            (r["hosts_passed"].as_u64(), r["pass_rate"].as_f64()),
            (Some(3), Some(1.0)),
            "{id}"
        );
    }
}

#[test]
#[ignore = "needs ansible-core and ansible-lint (scripts/test installs them); scripts/test runs it"]
fn a_refused_fix_stops_the_rollout() {
    let t = pytools::tools("a_refused_fix_stops_the_rollout", &["ansible-playbook"]);
    let dir = hosts();
    let d = dir.path();
    let before = std::fs::read_to_string(d.join("host2/root/etc/docker/daemon.json")).ok();
    // remote-logging with syslog and no /dev/log: dockhard fix refuses (exit 1).
    let (ok, out) = playbook(
        &t[0],
        d,
        "fix.yml",
        &["-e", "dockhard_fix_args='--rule daemon.remote-logging'"],
    );
    assert!(!ok, "fix.yml should fail:\n{out}");
    assert!(out.contains("The rollout stops here"), "{out}");
    assert!(out.contains("REFUSED"), "{out}");
    // host1 was refused; host2 and host3 were never touched.
    assert!(
        !d.join("host2/bin/dockhard").exists(),
        "host2 was reached:\n{out}"
    );
    assert!(
        !d.join("host3/bin/dockhard").exists(),
        "host3 was reached:\n{out}"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("host2/root/etc/docker/daemon.json")).ok(),
        before
    );
    assert!(
        !d.join("fleet/fleet.json").exists(),
        "the audit play ran:\n{out}"
    );
}

#[test]
#[ignore = "needs ansible-core and ansible-lint (scripts/test installs them); scripts/test runs it"]
fn ansible_lint_is_clean() {
    let t = pytools::tools("ansible_lint_is_clean", &["ansible-lint"]);
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(&t[0])
        .current_dir(repo().join("deploy/ansible"))
        .args([
            "--offline",
            "--nocolor",
            "site.yml",
            "fix.yml",
            "watch.yml",
            "roles/dockhard",
            "tests/inventory.yml",
        ])
        .env("PATH", pytools::path_env())
        .env("ANSIBLE_HOME", dir.path().join(".ansible"))
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "ansible-lint:\n{out}");
    assert!(out.contains("0 failure(s), 0 warning(s)"), "{out}");
}

/// A stand-in for the .deb of scripts/package (built with dpkg-deb: the
/// package name and version the role's default names).
fn stub_deb(dir: &Path) -> std::path::PathBuf {
    let version = env!("CARGO_PKG_VERSION");
    let tree = dir.join("stub");
    std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(tree.join("usr/bin")).unwrap();
    std::fs::write(
        tree.join("DEBIAN/control"),
        format!(
            "Package: dockhard\nVersion: {version}-1\nArchitecture: amd64\n\
             Maintainer: test <test@localhost>\nDescription: stand-in\n"
        ),
    )
    .unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_dockhard"),
        tree.join("usr/bin/dockhard"),
    )
    .unwrap();
    let deb = dir.join(format!("dockhard_{version}-1_amd64.deb"));
    let o = Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&tree)
        .arg(&deb)
        .output()
        .expect("dpkg-deb");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    deb
}

/// watch.yml in check mode: the package is staged and apt would install it
/// (dpkg --simulate: nothing is installed), the options file and the
/// --textfile drop-in would be written; dockhard-watch.service is enabled
/// and started by the last task (left out here: no systemd in the test,
/// `dockhard_watch_enabled: false`; --list-tasks shows it).
#[test]
#[ignore = "needs ansible-core and root for apt's dpkg --simulate (scripts/test); scripts/test runs it"]
fn watch_installs_the_package_in_check_mode() {
    let t = pytools::tools(
        "watch_installs_the_package_in_check_mode",
        &["ansible-playbook"],
    );
    let dir = hosts();
    let d = dir.path();
    let defaults =
        std::fs::read_to_string(repo().join("deploy/ansible/roles/dockhard/defaults/main.yml"))
            .unwrap();
    let name = stub_deb(d)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        defaults.contains(&format!("target/pkg/{name}\"")),
        "dockhard_deb's default is not {name} (scripts/package's):\n{defaults}"
    );
    let vars = serde_json::json!({
        "dockhard_deb": d.join(&name),
        "dockhard_deb_remote_dir": d.join("cache"),
        "dockhard_watch_env_file": d.join("default"),
        "dockhard_watch_enabled": false,
        "dockhard_watch_opts": "--profile cis",
        "dockhard_watch_textfile": "/var/lib/prometheus/node-exporter/dockhard.prom",
    });
    let (ok, out) = playbook(
        &t[0],
        d,
        "watch.yml",
        &["--check", "--diff", "-e", &vars.to_string()],
    );
    assert!(ok, "watch.yml --check failed:\n{out}");
    let task = |name: &str| -> String {
        let start = out
            .find(&format!("TASK [dockhard : {name}]"))
            .unwrap_or_else(|| panic!("no task {name}:\n{out}"));
        let rest = &out[start + 1..];
        rest[..rest
            .find("TASK [")
            .or(rest.find("PLAY RECAP"))
            .unwrap_or(rest.len())]
            .to_string()
    };
    let install = task("Install the package");
    for (host, _) in TREES {
        assert!(
            install.contains(&format!("changed: [{host}]")),
            "{host}: {install}"
        );
    }
    assert!(task("Copy the binary").contains("skipping"), "{out}");
    assert!(
        task("Set the options of dockhard watch").contains(
            "DOCKHARD_WATCH_OPTS='--profile cis --textfile /var/lib/prometheus/node-exporter/dockhard.prom'"
        ),
        "{out}"
    );
    assert!(
        task("Write the drop-in").contains("ReadWritePaths=/var/lib/prometheus/node-exporter"),
        "{out}"
    );
    assert!(
        task("Enable and start dockhard-watch.service").contains("skipping: [host1]"),
        "{out}"
    );
    // Staged for apt, nothing else written.
    assert!(d.join("cache").join(&name).is_file());
    assert!(!d.join("default").exists());

    let (ok, out) = playbook(&t[0], d, "watch.yml", &["--list-tasks"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("dockhard : Enable and start dockhard-watch.service"),
        "{out}"
    );
}
