//! Live tests of the CIS profile against a real dockerd: containers that
//! trip section 5 rules (privileged, host network, docker.sock mounted,
//! writable /etc, NET_ADMIN) beside a hardened one and a stopped one,
//! audited with `dockhard check --pid PID --profile all`; every verdict
//! asserted is checked against what the daemon itself says of the container.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{Daemon, DaemonOpts, live};

fn dockhard(args: &[&str]) -> (i32, String, String) {
    let out = assert_cmd::Command::cargo_bin("dockhard")
        .unwrap_or_else(|e| panic!("the dockhard binary is not built: {e}"))
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap_or_else(|e| panic!("cannot run dockhard {args:?}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "dockhard {args:?} panicked: {stderr}"
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

/// The status of `rule` for the container (or image) named `subject`.
fn status_of(report: &Value, rule: &str, subject: &str) -> String {
    let results = report["daemons"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let hits: Vec<&Value> = results
        .iter()
        .filter(|r| r["rule"] == rule && r["subject"]["name"] == subject)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "{rule} for {subject}: expected exactly one result, got {}: {:#?}",
        hits.len(),
        results
            .iter()
            .filter(|r| r["rule"] == rule)
            .collect::<Vec<_>>()
    );
    hits[0]["status"].as_str().unwrap_or_default().to_string()
}

/// (container, rule, expected status): the trips and the hardened container.
const EXPECT: &[(&str, &str, &str)] = &[
    ("priv", "containers.privileged", "fail"),
    ("priv", "containers.capabilities", "fail"),
    ("hostnet", "containers.host-network", "fail"),
    ("hostnet", "containers.privileged", "pass"),
    ("sock", "containers.docker-sock", "fail"),
    ("etc", "containers.sensitive-mounts", "fail"),
    ("etc", "containers.docker-sock", "pass"),
    ("netadmin", "containers.capabilities", "fail"),
    ("netadmin", "containers.memory-limit", "fail"),
    ("netadmin", "containers.sshd", "pass"),
    ("hardened", "containers.privileged", "pass"),
    ("hardened", "containers.capabilities", "pass"),
    ("hardened", "containers.host-network", "pass"),
    ("hardened", "containers.docker-sock", "pass"),
    ("hardened", "containers.sensitive-mounts", "pass"),
    ("hardened", "containers.memory-limit", "pass"),
    ("hardened", "containers.cpu-limit", "pass"),
    ("hardened", "containers.read-only-rootfs", "pass"),
    ("hardened", "containers.pids-limit", "pass"),
    ("hardened", "containers.no-new-privileges", "pass"),
    ("hardened", "containers.restart-policy", "pass"),
    ("hardened", "containers.health", "pass"),
    ("hardened", "containers.default-bridge", "pass"),
    ("hardened", "containers.sshd", "pass"),
    ("stopped", "containers.privileged", "pass"),
    ("stopped", "containers.health", "not_applicable"),
];

#[test]
fn live_cis_containers_images_and_sprawl() {
    let Some(live) = live("live_cis_containers_images_and_sprawl") else {
        return;
    };
    let mut d = Daemon::start(&live, DaemonOpts::new());
    let img = d.busybox_image();
    let sock = d.dir.join("docker.sock").display().to_string();
    let run = |d: &Daemon, name: &str, opts: &[&str]| {
        let mut args = vec!["run", "-d", "--name", name];
        args.extend_from_slice(opts);
        args.extend_from_slice(&[img.as_str(), "sleep", "3600"]);
        d.docker_ok(&args);
    };
    // This sandbox does not let a privileged container start (runc cannot
    // apply every capability): created, not started; the rules judge the
    // configuration of containers in any state.
    d.docker_ok(&["create", "--name", "priv", "--privileged", &img, "true"]);
    run(&d, "hostnet", &["--net", "host"]);
    let sock_mount = format!("{sock}:/var/run/docker.sock");
    run(&d, "sock", &["-v", &sock_mount]);
    run(&d, "etc", &["-v", "/etc:/host/etc"]);
    run(
        &d,
        "netadmin",
        &["--cap-add", "NET_ADMIN", "--label", "team.skip-audit=yes"],
    );
    run(
        &d,
        "hardened",
        &[
            "--read-only",
            "--memory",
            "64m",
            "--cpu-shares",
            "512",
            "--pids-limit",
            "64",
            "--security-opt",
            "no-new-privileges",
            "--restart",
            "on-failure:3",
            "--net",
            "none",
            "--cap-drop",
            "ALL",
            "--health-cmd",
            "true",
        ],
    );
    d.docker_ok(&["create", "--name", "stopped", &img, "true"]);
    // The daemon's own word for what the test set up.
    let inspect = |name: &str| -> Value {
        let out = d.docker_ok(&["inspect", name]);
        serde_json::from_str::<Value>(&out).unwrap_or_default()[0].clone()
    };
    assert_eq!(inspect("priv")["HostConfig"]["Privileged"], true);
    assert_eq!(inspect("hostnet")["HostConfig"]["NetworkMode"], "host");
    assert_eq!(inspect("stopped")["State"]["Running"], false);

    let pid = d.pid().to_string();
    let (code, out, err) = dockhard(&[
        "check",
        "--pid",
        &pid,
        "--profile",
        "all",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "findings: exit 1; stderr: {err}");
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let mut problems = Vec::new();
    for (subject, rule, want) in EXPECT {
        let got = status_of(&report, rule, subject);
        if got != *want {
            problems.push(format!("{rule} {subject}: expected {want}, got {got}"));
        }
    }
    assert!(problems.is_empty(), "{}\n{report:#}", problems.join("\n"));

    // The imported image has no USER and no HEALTHCHECK.
    assert_eq!(
        status_of(&report, "images.user", "dh-busybox:latest"),
        "fail"
    );
    assert_eq!(
        status_of(&report, "images.healthcheck", "dh-busybox:latest"),
        "fail"
    );
    // Sprawl counts what the daemon has: 7 containers, 5 running.
    let results = report["daemons"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let sprawl = results
        .iter()
        .find(|r| r["rule"] == "containers.sprawl")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        sprawl["message"], "7 container(s): 5 running, 2 not running",
        "{sprawl:#}"
    );

    // Exclusions: by name pattern and by label, named in the notes.
    let (_, out, _) = dockhard(&[
        "check",
        "--pid",
        &pid,
        "--profile",
        "all",
        "--format",
        "json",
        "--exclude-container",
        "pri*",
        "--exclude-label",
        "team.skip-audit=yes",
    ]);
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let results = report["daemons"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for gone in ["priv", "netadmin"] {
        assert!(
            !results.iter().any(|r| r["subject"]["name"] == gone),
            "{gone} is excluded"
        );
    }
    assert!(
        results.iter().any(|r| r["subject"]["name"] == "hostnet"),
        "the others are still audited"
    );
    let notes = report["daemons"][0]["notes"].to_string();
    for want in [
        "priv (name matches \\\"pri*\\\")",
        "netadmin (label team.skip-audit=yes)",
    ] {
        assert!(notes.contains(want), "{want} in {notes}");
    }
    // The seed profile neither lists containers nor reports on them.
    let (_, out, _) = dockhard(&["check", "--pid", &pid, "--format", "json"]);
    assert!(
        !out.contains("\"subject\""),
        "seed profile has no per-container results"
    );
    // Text output names the failing container once per rule.
    let (_, text, _) = dockhard(&["check", "--pid", &pid, "--profile", "cis"]);
    assert!(
        text.lines()
            .any(|l| l.contains("FAIL priv (") && l.contains("runs privileged")),
        "{text}"
    );
}
