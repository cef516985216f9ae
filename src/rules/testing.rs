//! Test helpers for rule tests: a running daemon's snapshot with given
//! containers and images, audited with every rule, and the verdicts of one
//! rule as text lines for snapshot assertions.

use crate::audit::{AuditOptions, run_with};
use crate::model::objects::{
    CONTAINERS_LIST, IMAGES_LIST, container_path, history_path, image_path,
};
use crate::rules::Profile;
use crate::snapshot::{ApiCall, ApiEvidence, DaemonEvidence, FileEvidence, Mode, Snapshot};
use serde_json::{Value, json};

/// A container named `name` (id: the name, zero-padded to 64 characters),
/// running, with `inspect` merged over a minimal inspect answer.
pub fn container(name: &str, inspect: Value) -> Value {
    let mut base = json!({
        "Id": id_of(name),
        "Name": format!("/{name}"),
        "Config": {"Image": "busybox", "Labels": {}},
        "State": {"Status": "running", "Running": true},
        "HostConfig": {},
    });
    merge(&mut base, inspect);
    base
}

/// An image tagged `name:latest` with `inspect` merged over a minimal
/// answer and `history` (`CreatedBy`, oldest first).
pub fn image(name: &str, inspect: Value, history: &[&str]) -> (Value, Value) {
    let mut base = json!({
        "Id": format!("sha256:{}", id_of(name)),
        "RepoTags": [format!("{name}:latest")],
        "Config": {},
    });
    merge(&mut base, inspect);
    let layers: Vec<Value> = history
        .iter()
        .rev()
        .map(|c| json!({"CreatedBy": c}))
        .collect();
    (base, Value::Array(layers))
}

fn id_of(name: &str) -> String {
    format!("{name:0<64}")
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

fn ok(v: Value) -> ApiCall {
    ApiCall {
        status: Some(200),
        body: Some(v),
        error: None,
    }
}

/// A live snapshot of one daemon with `info` (merged over a default
/// answer), these containers and images.
pub fn snapshot(info: Value, containers: &[Value], images: &[(Value, Value)]) -> Snapshot {
    let mut snap = Snapshot::new(Mode::Live);
    snap.files.insert(
        "/etc/docker/daemon.json".into(),
        FileEvidence {
            missing: true,
            error: Some("not found".into()),
            ..FileEvidence::default()
        },
    );
    let mut full_info = json!({
        "ServerVersion": "20.10.24", "Driver": "overlay2", "LoggingDriver": "json-file",
        "SecurityOptions": ["name=seccomp,profile=default"], "LiveRestoreEnabled": false,
        "ExperimentalBuild": false, "Plugins": {"Authorization": null},
        "Swarm": {"LocalNodeState": "inactive"},
    });
    merge(&mut full_info, info);
    let mut api = ApiEvidence {
        endpoint: Some("unix:///var/run/docker.sock".into()),
        version: Some(ok(json!({"Version": "20.10.24", "ApiVersion": "1.41"}))),
        info: Some(ok(full_info)),
        bridge_network: Some(ok(
            json!({"Options": {"com.docker.network.bridge.enable_icc": "true"}}),
        )),
        ..ApiEvidence::default()
    };
    let list: Vec<Value> = containers.iter().map(|c| json!({"Id": c["Id"]})).collect();
    api.objects
        .insert(CONTAINERS_LIST.into(), ok(Value::Array(list)));
    for c in containers {
        let id = c["Id"].as_str().unwrap_or_default();
        api.objects.insert(container_path(id), ok(c.clone()));
    }
    let list: Vec<Value> = images.iter().map(|(i, _)| json!({"Id": i["Id"]})).collect();
    api.objects
        .insert(IMAGES_LIST.into(), ok(Value::Array(list)));
    for (i, h) in images {
        let id = i["Id"].as_str().unwrap_or_default();
        api.objects.insert(image_path(id), ok(i.clone()));
        api.objects.insert(history_path(id), ok(h.clone()));
    }
    snap.daemons.push(DaemonEvidence {
        pid: 4242,
        exe: Some("/usr/sbin/dockerd".into()),
        argv: vec!["/usr/sbin/dockerd".into()],
        uid: Some(0),
        api,
        ..DaemonEvidence::default()
    });
    snap
}

/// The verdicts of `rule` over these containers, one line each:
/// `name: status: message [evidence; ...]`.
pub fn outcomes(rule: &str, containers: &[Value]) -> String {
    lines(rule, &snapshot(json!({}), containers, &[]))
}

/// The verdicts of `rule` over these images.
pub fn image_outcomes(rule: &str, images: &[(Value, Value)]) -> String {
    lines(rule, &snapshot(json!({}), &[], images))
}

/// The verdicts of `rule` on a snapshot, audited with every rule.
pub fn lines(rule: &str, snap: &Snapshot) -> String {
    assert!(crate::rules::find(rule).is_some(), "no rule {rule}");
    let report = run_with(
        snap,
        &AuditOptions {
            profile: Profile::All,
            ..AuditOptions::default()
        },
    );
    let mut out = String::new();
    for r in report
        .daemons
        .iter()
        .flat_map(|d| &d.results)
        .filter(|r| r.rule == rule)
    {
        let who = r
            .subject
            .as_ref()
            .map(|s| s.name.as_str())
            .unwrap_or("daemon");
        let ev: Vec<String> = r
            .evidence
            .iter()
            .map(|e| format!("{} {}: {}", e.source, e.location, e.detail))
            .collect();
        out.push_str(&format!(
            "{who}: {}: {} [{}]",
            r.status,
            r.message,
            ev.join("; ")
        ));
        for w in &r.warnings {
            out.push_str(&format!(" (warning: {w})"));
        }
        out.push('\n');
    }
    out
}

/// Record `path` with this kind, mode and owner (metadata only, as
/// `collect` records keys and sockets); replaces what was there.
pub fn with_file(
    snap: &mut Snapshot,
    path: &str,
    kind: crate::snapshot::FileKind,
    mode: u32,
    uid: u32,
    gid: u32,
) {
    snap.files.insert(
        path.into(),
        FileEvidence {
            meta: Some(crate::snapshot::FileMeta {
                kind,
                target_kind: None,
                link_target: None,
                mode,
                uid,
                gid,
                size: 0,
                mtime: 0,
                dev: None,
                ino: None,
            }),
            ..FileEvidence::default()
        },
    );
}

/// A regular file with content, mode and owner.
pub fn with_text(snap: &mut Snapshot, path: &str, text: &str, mode: u32, uid: u32, gid: u32) {
    with_file(snap, path, crate::snapshot::FileKind::File, mode, uid, gid);
    if let Some(f) = snap.files.get_mut(path) {
        f.text = Some(text.into());
    }
}

/// `path` recorded as absent.
pub fn with_missing(snap: &mut Snapshot, path: &str) {
    snap.files.insert(
        path.into(),
        FileEvidence {
            missing: true,
            error: Some("not found".into()),
            ..FileEvidence::default()
        },
    );
}

/// A directory listing (`None`: recorded as absent).
pub fn with_dir(snap: &mut Snapshot, path: &str, entries: Option<&[&str]>) {
    snap.dirs.insert(
        path.into(),
        crate::snapshot::DirEvidence {
            entries: entries.map(|e| e.iter().map(|s| s.to_string()).collect()),
            missing: entries.is_none(),
            error: None,
        },
    );
}

/// The running daemon's command line.
pub fn with_argv(snap: &mut Snapshot, argv: &[&str]) {
    if let Some(d) = snap.daemons.first_mut() {
        d.argv = argv.iter().map(|s| s.to_string()).collect();
    }
}

/// A live snapshot of one daemon run as `argv` (program first) reading
/// /etc/docker/daemon.json with `daemon_json` (`None`: no such file), with
/// `info` merged over the default `/info` answer.
pub fn daemon_snapshot(info: Value, argv: &[&str], daemon_json: Option<&str>) -> Snapshot {
    let mut snap = snapshot(info, &[], &[]);
    snap.daemons[0].argv = argv.iter().map(|a| a.to_string()).collect();
    if let Some(text) = daemon_json {
        snap.files.insert(
            "/etc/docker/daemon.json".into(),
            FileEvidence {
                text: Some(text.into()),
                ..FileEvidence::default()
            },
        );
    }
    snap
}

/// The verdicts of `rule` for a daemon run as `argv` with `daemon_json`.
pub fn daemon_lines(rule: &str, info: Value, argv: &[&str], daemon_json: Option<&str>) -> String {
    lines(rule, &daemon_snapshot(info, argv, daemon_json))
}

/// `snap` with its daemon reporting engine `version` on `/version` (the
/// running view) and judged as it for the next start.
pub fn with_engine(mut snap: Snapshot, version: &str) -> Snapshot {
    for d in &mut snap.daemons {
        d.api.version = Some(ok(json!({"Version": version})));
    }
    snap.engine_version = Some(version.to_string());
    snap
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option a rule reads exists in every release the rule applies
    /// to (a rule `not_applicable` on a release may read what it lacks).
    #[test]
    fn every_key_a_rule_reads_exists_in_every_release_it_applies_to() {
        use crate::model::engine::{Engine, EngineVersion, RELEASES};
        let base = daemon_snapshot(
            json!({}),
            &["dockerd", "-H", "unix:///var/run/docker.sock"],
            Some(r#"{"log-driver": "syslog", "icc": false}"#),
        );
        let mut checked = 0;
        for line in RELEASES {
            let engine = Engine::of(EngineVersion::parse(line).expect("release"));
            let snap = with_engine(base.clone(), line);
            let model = crate::model::daemon::build(&snap);
            let m = &model[0];
            let views = [m.running.as_ref(), Some(&m.next_start), m.reload.as_ref()];
            for rule in crate::rules::RULES {
                let crate::rules::Check::Daemon(check) = rule.check else {
                    continue;
                };
                for view in views.iter().flatten() {
                    let cx = crate::rules::Ctx {
                        snap: &snap,
                        daemon: m,
                        view,
                    };
                    let (outcome, read) = crate::model::config::reads_of(|| check(&cx));
                    if outcome.status == crate::rules::Status::NotApplicable {
                        continue;
                    }
                    for k in read {
                        checked += 1;
                        assert!(
                            k.spec().exists_in(&engine),
                            "{} reads `{}`, which dockerd {line} does not have",
                            rule.meta.id,
                            k.name()
                        );
                    }
                }
            }
        }
        assert!(checked > 100, "only {checked} reads seen");
    }

    /// Thousands of containers, a huge label, an image with no config and
    /// no history, an inspect that is not an object: no panic, every
    /// container judged, the broken ones named.
    #[test]
    fn hostile_objects() {
        let huge = "x".repeat(1 << 20);
        let mut cs: Vec<Value> = (0..3000)
            .map(|n| {
                container(
                    &format!("c{n}"),
                    json!({"Config": {"Labels": {"big": if n == 7 { huge.as_str() } else { "" }}}}),
                )
            })
            .collect();
        cs.push(json!({"Id": id_of("weird")}));
        let mut snap = snapshot(json!({}), &cs, &[]);
        let api = &mut snap.daemons[0].api;
        api.objects
            .insert(container_path(&id_of("weird")), ok(json!([1, 2])));
        let bare = format!("sha256:{}", id_of("bare"));
        api.objects.insert(
            IMAGES_LIST.into(),
            ok(json!([{"Id": bare}, {"NoId": true}])),
        );
        api.objects.insert(image_path(&bare), ok(json!({})));
        let report = run_with(
            &snap,
            &AuditOptions {
                profile: Profile::All,
                ..AuditOptions::default()
            },
        );
        let d = &report.daemons[0];
        // Evaluated on two threads, reported in the rules' order.
        let mut order: Vec<&str> = d.results.iter().map(|r| r.rule.as_str()).collect();
        order.dedup();
        let want: Vec<&str> = Profile::All.rules().map(|r| r.meta.id).collect();
        assert_eq!(order, want);
        let privileged = d
            .results
            .iter()
            .filter(|r| r.rule == "containers.privileged")
            .count();
        assert_eq!(privileged, 3000);
        assert!(
            d.notes
                .iter()
                .any(|n| n.contains("inspect is not a JSON object")),
            "{:?}",
            d.notes
        );
        let user: Vec<_> = d
            .results
            .iter()
            .filter(|r| r.rule == "images.user")
            .collect();
        assert_eq!(user.len(), 1);
        assert_eq!(user[0].status, crate::rules::Status::Fail);
        let add: Vec<_> = d
            .results
            .iter()
            .filter(|r| r.rule == "images.add-instruction")
            .collect();
        assert_eq!(add[0].status, crate::rules::Status::Error, "{:?}", add[0]);
        assert!(add[0].message.contains("history"), "{}", add[0].message);
    }
}
