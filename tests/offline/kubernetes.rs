//! The Kubernetes manifests of `deploy/kubernetes/` validated offline with
//! kubernetes-validate (its bundled schemas, strict: unknown fields are
//! errors) against a fixed Kubernetes version, and the properties the
//! docs/fleets.md promises (read-only host mounts, --root /host, the DaemonSet
//! running `dockhard watch` found by a Service and a ServiceMonitor).

use crate::pytools;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Kubernetes version the manifests are validated against.
const K8S_VERSION: &str = "1.33.0";

fn manifests() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes");
    [
        "namespace.yaml",
        "job.yaml",
        "daemonset.yaml",
        "monitoring.yaml",
        "prometheusrule.yaml",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect()
}

fn validate(tool: &Path, files: &[PathBuf]) -> (bool, String) {
    let o = Command::new(tool)
        .args(["--strict", "-k", K8S_VERSION])
        .args(files)
        .env("PATH", pytools::path_env())
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

#[test]
#[ignore = "needs kubernetes-validate (scripts/test installs it); scripts/test runs it"]
fn manifests_validate_strictly() {
    let t = pytools::tools("manifests_validate_strictly", &["kubernetes-validate"]);
    let files = manifests();
    let (ok, out) = validate(&t[0], &files);
    assert!(ok, "kubernetes-validate failed:\n{out}");
    for f in [
        "daemonset/dockhard",
        "job/dockhard-audit",
        "namespace/dockhard",
        "service/dockhard",
    ] {
        assert!(out.contains(&format!("passed for resource {f}")), "{out}");
    }
    // The Prometheus Operator's kinds have no schema in kubernetes-validate:
    // named, not validated (their structure is checked below and the rules
    // by promtool in tests/offline/monitoring.rs).
    for kind in ["ServiceMonitor", "PrometheusRule"] {
        assert!(
            out.contains(&format!(
                "Couldn't find schema for kind {kind} with api version monitoring.coreos.com/v1"
            )),
            "{out}"
        );
    }

    // Strict really rejects a misspelt field.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("job.yaml");
    let text = std::fs::read_to_string(&files[1]).unwrap();
    std::fs::write(
        &bad,
        text.replace("readOnlyRootFilesystem", "readOnlyRootFs"),
    )
    .unwrap();
    let (ok, out) = validate(&t[0], &[bad]);
    assert!(!ok && out.contains("readOnlyRootFs"), "{out}");
}

#[test]
fn manifests_audit_a_read_only_host() {
    let all = manifests();
    for f in &all[1..3] {
        let text = std::fs::read_to_string(f).unwrap();
        let name = f.display();
        // The host's / read-only at /host, audited with --root /host.
        assert!(
            text.contains("mountPath: /host\n              readOnly: true"),
            "{name}"
        );
        assert!(text.contains("path: /\n"), "{name}");
        assert!(text.contains("--root") && text.contains("/host"), "{name}");
        assert!(text.contains("hostPID: true"), "{name}");
        assert!(text.contains("readOnlyRootFilesystem: true"), "{name}");
        assert!(text.contains("- ALL"), "{name}: capabilities not dropped");
        assert!(text.contains("limits:"), "{name}: no resource limits");
        assert!(text.contains("image: dockhard:latest"), "{name}");
    }
    // The Job audits once, writes every format, and is not retried.
    let job = std::fs::read_to_string(&all[1]).unwrap();
    assert!(job.contains("path: /var/lib/dockhard/reports"));
    assert!(job.contains("backoffLimit: 0") && job.contains("restartPolicy: Never"));
}

#[test]
fn daemonset_runs_watch_and_prometheus_finds_it() {
    let all = manifests();
    let ds = std::fs::read_to_string(&all[2]).unwrap();
    // `dockhard watch` is the main container: no init container, no sleep.
    assert!(!ds.contains("initContainers:"), "{ds}");
    assert!(!ds.contains("sleep"), "{ds}");
    let start = ds.find("          args:\n").expect("args");
    let end = ds[start..]
        .find("          ports:")
        .map_or(ds.len(), |e| start + e);
    let args = &ds[start..end];
    let words: Vec<&str> = args
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .collect();
    assert_eq!(
        words,
        [
            "watch",
            "--root",
            "/host",
            "--no-policy",
            "--listen",
            "0.0.0.0:9323",
            "--listen-public",
            "--interval",
            "5m"
        ],
        "{args}"
    );
    assert!(ds.contains("- name: metrics\n              containerPort: 9323"));
    assert!(ds.contains("readinessProbe:\n            httpGet:\n              path: /healthz\n              port: metrics"));
    // The Service selects the pods and names the port the ServiceMonitor
    // scrapes.
    let mon = std::fs::read_to_string(&all[3]).unwrap();
    let (svc, sm) = mon.split_once("\n---\n").expect("two documents");
    assert!(svc.contains("kind: Service\n") && sm.contains("kind: ServiceMonitor\n"));
    let selector = "app.kubernetes.io/name: dockhard";
    assert!(ds.contains(&format!("matchLabels:\n      {selector}")));
    assert!(svc.contains(&format!("selector:\n    {selector}")));
    assert!(svc.contains("- name: metrics\n      port: 9323\n      targetPort: metrics"));
    assert!(sm.contains(&format!("matchLabels:\n      {selector}")));
    assert!(sm.contains("- port: metrics\n      path: /metrics"));
    assert!(sm.contains("matchNames:\n      - dockhard"));
    let rule = std::fs::read_to_string(&all[4]).unwrap();
    assert!(rule.contains("kind: PrometheusRule\n") && rule.contains("namespace: dockhard\n"));
}
