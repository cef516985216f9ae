use super::order::permutations;
use super::*;
use crate::collect::{CollectOptions, Target};
use std::time::Duration;

/// The snapshot of an offline root made of `files` (host path, text).
fn root_snapshot(files: &[(&str, &str)]) -> (tempfile::TempDir, Snapshot) {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (p, t) in files {
        let path = d.path().join(p.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap_or(d.path()))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, t).unwrap_or_else(|e| panic!("{e}"));
    }
    let snap = crate::collect::collect(&CollectOptions {
        target: Target::Root(d.path().to_path_buf()),
        host: None,
        timeout: Duration::from_millis(200),
        unit: None,
        objects: false,
        progress: false,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    (d, snap)
}

fn plan_for(snap: &Snapshot, method: Method, rules: &[&str]) -> Plan {
    plan(
        snap,
        0,
        &PlanOptions {
            rules: rules.iter().map(|r| r.to_string()).collect(),
            method,
            force: false,
            inputs: FixInputs::default(),
        },
    )
}

/// dockerd starts after every prefix of the writes (a crash between two).
fn every_prefix_starts(snap: &Snapshot, p: &Plan) -> bool {
    (0..=p.writes.len()).all(|k| {
        daemon::build_configs(&with_writes(snap, &p.writes[..k]))
            .first()
            .is_some_and(|m| m.next_start.config.as_ref().is_ok_and(|e| !e.has_fatal()))
    })
}

const UNIT: &str = "/lib/systemd/system/docker.service";
const JSON: &str = "/etc/docker/daemon.json";
const DROPIN: &str = "/etc/systemd/system/docker.service.d/zz-dockhard.conf";

#[test]
fn a_flag_moved_into_daemon_json_is_removed_first() {
    let (_d, snap) = root_snapshot(&[
        (
            UNIT,
            "[Service]\nExecStart=/usr/bin/dockerd -H fd:// --icc=true\n",
        ),
        (JSON, "{\n  \"debug\": false\n}\n"),
    ]);
    let p = plan_for(&snap, Method::DaemonJson, &["daemon.icc"]);
    assert!(p.refusals.is_empty(), "{:?}", p.refusals);
    let paths: Vec<&str> = p.writes.iter().map(|w| w.path.as_str()).collect();
    // Sorted by path daemon.json would come first: icc in both places.
    assert_eq!(paths, [DROPIN, JSON]);
    assert!(every_prefix_starts(&snap, &p));
    let json_first: Vec<FileWrite> = vec![p.writes[1].clone()];
    assert!(
        daemon::build_configs(&with_writes(&snap, &json_first))
            .first()
            .is_some_and(|m| m.next_start.config.as_ref().is_ok_and(|e| e.has_fatal())),
        "the other order is the unsafe one"
    );
}

#[test]
fn a_key_moved_into_a_flag_is_removed_first() {
    let (_d, snap) = root_snapshot(&[
        (UNIT, "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n"),
        (JSON, "{\n  \"icc\": true\n}\n"),
    ]);
    // --method dropin: icc=false becomes a flag, the key leaves daemon.json
    // (here the order by path is the safe one).
    let p = plan_for(&snap, Method::Dropin, &["daemon.icc"]);
    assert!(p.refusals.is_empty(), "{:?}", p.refusals);
    let paths: Vec<&str> = p.writes.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, [JSON, DROPIN]);
    assert!(every_prefix_starts(&snap, &p));
}

#[test]
fn independent_writes_keep_their_order() {
    let (_d, snap) = root_snapshot(&[
        (
            UNIT,
            "[Service]\nExecStart=/usr/bin/dockerd -H fd:// --icc=true\n",
        ),
        (JSON, "{\n  \"debug\": false\n}\n"),
    ]);
    let p = plan_for(&snap, Method::Auto, &["daemon.icc", "daemon.live-restore"]);
    let paths: Vec<&str> = p.writes.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, [JSON, DROPIN]);
    assert!(every_prefix_starts(&snap, &p));
}

#[test]
fn permutations_start_with_the_identity() {
    assert_eq!(permutations(1), [[0]]);
    assert_eq!(
        permutations(3),
        [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0]
        ]
    );
    assert_eq!(permutations(4).len(), 24);
}
