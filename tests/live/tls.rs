//! Live tests of `dockhard tls init`: a real dockerd serves TLS with the
//! generated files, `curl` and the docker CLI get in with the client
//! certificate (and not without it), and `dockhard check --pid` passes
//! `daemon.remote-api-auth` and `daemon.remote-api-tls`.
//!
//! Same requirements and gate as tests/live/seed.rs (root, dockerd, docker CLI,
//! curl...): `#[ignore]`d, and a failure without them when run. The daemon
//! runs in a network namespace of its own; dockhard, curl and the docker
//! CLI reach its TCP listener there (`Daemon::command`).

use crate::support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{Certs, Daemon, DaemonOpts, Live, dockhard, free_port, live, run_dockhard};

/// `dockhard tls init DIR --san 127.0.0.1 --san localhost`: the files as a
/// [`Certs`] (so the harness's flags and curl apply) and the printed text.
fn tls_init(dir: &Path) -> (Certs, String) {
    let d = dir.display().to_string();
    let run = dockhard(&[
        "tls",
        "init",
        &d,
        "--san",
        "127.0.0.1",
        "--san",
        "localhost",
    ]);
    assert_eq!(
        run.code, 0,
        "tls init failed: {}\n{}",
        run.stderr, run.stdout
    );
    assert!(
        !run.stdout.contains("PRIVATE KEY") && !run.stderr.contains("PRIVATE KEY"),
        "key material printed: {}{}",
        run.stdout,
        run.stderr
    );
    let p = |n: &str| -> PathBuf { dir.join(n) };
    let certs = Certs {
        dir: dir.to_path_buf(),
        ca: p("ca.pem"),
        ca_key: p("ca-key.pem"),
        server_cert: p("server-cert.pem"),
        server_key: p("server-key.pem"),
        client_cert: p("cert.pem"),
        client_key: p("key.pem"),
    };
    (certs, run.stdout)
}

fn certdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("dockhard-tls-init-")
        .tempdir_in("/tmp")
        .unwrap_or_else(|e| panic!("tempdir: {e}"))
}

/// `dockhard check --pid PID --format json` in `d`'s namespace, the status
/// of `rule`.
fn statuses(d: &Daemon, rules: &[&str]) -> Vec<(String, String, String)> {
    let pid_s = d.pid().to_string();
    let run = run_dockhard(
        assert_cmd::Command::from_std(d.dockhard()),
        &["check", "--pid", &pid_s, "--format", "json"],
    );
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); exit {}\nstdout: {}\nstderr: {}",
            run.code, run.stdout, run.stderr
        )
    });
    let results = report["daemons"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    rules
        .iter()
        .map(|rule| {
            let r = results
                .iter()
                .find(|r| r["rule"] == *rule)
                .unwrap_or_else(|| panic!("{rule} missing from the report: {report:#}"));
            (
                rule.to_string(),
                r["status"].as_str().unwrap_or("?").to_string(),
                format!("{}; evidence: {}", r["message"], r["evidence"]),
            )
        })
        .collect()
}

fn assert_pass(d: &Daemon) {
    for (rule, status, detail) in statuses(d, &["daemon.remote-api-auth", "daemon.remote-api-tls"])
    {
        assert_eq!(status, "pass", "{rule}: {detail}");
    }
}

/// The docker CLI with the printed client environment (DOCKER_CERT_PATH etc.).
fn docker_version(live: &Live, d: &Daemon, certs: &Certs, port: u16) -> Result<String, String> {
    let out = d
        .command(&live.tools.docker)
        .args(["version", "--format", "{{.Server.Version}}"])
        .env("DOCKER_HOST", format!("tcp://127.0.0.1:{port}"))
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", &certs.dir)
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_CONFIG")
        .output()
        .map_err(|e| format!("cannot run docker: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn assert_clients(live: &Live, d: &Daemon, certs: &Certs, port: u16) {
    assert_eq!(
        certs.curl(live, &d.netns, port, "/_ping", true).as_deref(),
        Ok("OK"),
        "curl with the client certificate"
    );
    assert!(
        certs.curl(live, &d.netns, port, "/_ping", false).is_err(),
        "curl WITHOUT a client certificate must be refused"
    );
    let v = docker_version(live, d, certs, port)
        .unwrap_or_else(|e| panic!("docker CLI with DOCKER_CERT_PATH: {e}"));
    assert!(!v.is_empty());
}

/// The generated files work with `--tlsverify` flags.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_tls_init_with_flags() {
    let live = live("live_tls_init_with_flags");
    let tmp = certdir();
    let (certs, _) = tls_init(&tmp.path().join("certs"));
    let port = free_port();
    let d = Daemon::start(
        &live,
        DaemonOpts::new()
            .args(["-H".to_string(), format!("tcp://127.0.0.1:{port}")])
            .args(certs.tlsverify_flags()),
    );
    assert_clients(&live, &d, &certs, port);
    assert_pass(&d);
}

/// The daemon.json snippet `tls init` prints works as printed (without its
/// `hosts`: the harness gives the unix socket with -H, and dockerd refuses
/// hosts in both places; the TCP listener is given with -H too).
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_tls_init_printed_daemon_json() {
    let live = live("live_tls_init_printed_daemon_json");
    let tmp = certdir();
    let (certs, out) = tls_init(&tmp.path().join("certs"));
    let start = out
        .find("\n{\n")
        .unwrap_or_else(|| panic!("no daemon.json snippet in: {out}"));
    let end = out[start..]
        .find("\n}\n")
        .map(|e| start + e + 3)
        .unwrap_or_else(|| panic!("unterminated snippet in: {out}"));
    let mut cfg: Value = serde_json::from_str(&out[start..end])
        .unwrap_or_else(|e| panic!("the snippet is not JSON ({e}): {}", &out[start..end]));
    assert!(cfg["hosts"].is_array(), "{cfg}");
    let port = free_port();
    if let Some(o) = cfg.as_object_mut() {
        o.remove("hosts");
    }
    let d = Daemon::start(
        &live,
        DaemonOpts::new()
            .config(cfg.to_string())
            .args(["-H".to_string(), format!("tcp://127.0.0.1:{port}")]),
    );
    assert_clients(&live, &d, &certs, port);
    assert_pass(&d);
}
