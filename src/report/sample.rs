//! The sample evidence behind the renderers' golden tests and
//! `tests/fixtures/snapshots/sample.json`: a running daemon with a plain
//! TCP listener, a drifting daemon.json, three containers (one privileged,
//! one with hostile strings in its mounts and labels) and two images.

use crate::rules::testing::{container, image, snapshot};
use crate::snapshot::{FileEvidence, FileKind, FileMeta, Snapshot};
use serde_json::json;

/// Where the committed copy lives (from the crate root).
pub const SAMPLE_PATH: &str = "tests/fixtures/snapshots/sample.json";

/// The sample audited with every rule.
pub fn sample_report() -> crate::report::Report {
    crate::audit::run_with(
        &sample_snapshot(),
        &crate::audit::AuditOptions {
            profile: crate::rules::Profile::All,
            ..Default::default()
        },
    )
}

pub fn sample_snapshot() -> Snapshot {
    let hostile = "<script>alert('x')</script>";
    let mut snap = snapshot(
        json!({"LiveRestoreEnabled": false}),
        &[
            container(
                "web",
                json!({"Config": {"Image": "nginx:1.27", "Labels": {"owner": hostile}},
                       "HostConfig": {"Privileged": true, "NetworkMode": "host"},
                       "Mounts": [{"Type": "bind", "Source": format!("/srv/{hostile}"), "Destination": "/data", "RW": true}]}),
            ),
            container(
                "db",
                json!({"Config": {"Image": "postgres:16"},
                       "HostConfig": {"ReadonlyRootfs": true, "Memory": 536870912, "PidsLimit": 100},
                       "Mounts": [{"Type": "bind", "Source": "/var/run/docker.sock", "Destination": "/var/run/docker.sock", "RW": true}]}),
            ),
            container(
                "job",
                json!({"State": {"Status": "exited", "Running": false}}),
            ),
        ],
        &[
            image(
                "nginx",
                json!({"Config": {"User": ""}}),
                &[
                    "/bin/sh -c #(nop) ADD file:1 in / ",
                    "/bin/sh -c apt-get update",
                ],
            ),
            image(
                "postgres",
                json!({"Config": {"User": "postgres", "Healthcheck": {"Test": ["CMD", "pg_isready"]}}}),
                &[],
            ),
        ],
    );
    snap.collected_at = Some("2026-12-01T12:00:00Z".into());
    snap.collected_unix = Some(1_796_126_400);
    snap.host.hostname = Some("node1".into());
    let d = &mut snap.daemons[0];
    d.argv = [
        "/usr/sbin/dockerd",
        "-H",
        "tcp://0.0.0.0:2375",
        "--icc=false",
    ]
    .map(String::from)
    .to_vec();
    d.start_time = Some(1_796_120_000);
    d.tcp_listeners = vec![crate::snapshot::SocketAddrText {
        addr: "0.0.0.0".into(),
        port: 2375,
    }];
    d.probes = vec![crate::snapshot::ProbeEvidence {
        listen: d.tcp_listeners[0].clone(),
        target: crate::snapshot::SocketAddrText {
            addr: "127.0.0.1".into(),
            port: 2375,
        },
        plain_http: crate::snapshot::ProbeOutcome::Answered {
            status: 200,
            detail: "plain HTTP GET /_ping: HTTP 200 \"OK\"".into(),
        },
        tls_no_client_cert: crate::snapshot::ProbeOutcome::Skipped,
    }];
    snap.files.insert(
        "/etc/docker/daemon.json".into(),
        FileEvidence {
            meta: Some(FileMeta {
                kind: FileKind::File,
                target_kind: None,
                link_target: None,
                mode: 0o644,
                uid: 0,
                gid: 0,
                size: 60,
                mtime: 1_796_120_500,
                dev: None,
                ino: None,
            }),
            text: Some(format!(
                "{{\n  \"live-restore\": true,\n  \"log-driver\": \"json-file\",\n  \"labels\": [\"owner={}\"]\n}}\n",
                hostile.replace('\'', "")
            )),
            ..FileEvidence::default()
        },
    );
    snap
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed sample snapshot is this one (`UPDATE_SAMPLE=1` writes
    /// it), and it still reads as a snapshot.
    #[test]
    fn committed_sample_is_current() {
        let want = format!(
            "{}\n",
            serde_json::to_string_pretty(&sample_snapshot()).unwrap()
        );
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE_PATH);
        if std::env::var_os("UPDATE_SAMPLE").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
        }
        let got = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            got == want,
            "{SAMPLE_PATH} is stale: run with UPDATE_SAMPLE=1"
        );
        let back: Snapshot = serde_json::from_str(&got).unwrap();
        assert_eq!(back, sample_snapshot());
    }
}
