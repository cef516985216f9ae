//! The Kubernetes manifests of `deploy/kubernetes/` validated offline with
//! kubernetes-validate (its bundled schemas, strict: unknown fields are
//! errors) against a fixed Kubernetes version, and the properties the
//! docs/fleets.md promises (read-only host mounts, --root /host, no re-run loop).

use crate::pytools;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Kubernetes version the manifests are validated against.
const K8S_VERSION: &str = "1.33.0";

fn manifests() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes");
    ["namespace.yaml", "job.yaml", "daemonset.yaml"]
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
fn manifests_validate_strictly() {
    let Some(t) = pytools::tools("manifests_validate_strictly", &["kubernetes-validate"]) else {
        return;
    };
    let files = manifests();
    let (ok, out) = validate(&t[0], &files);
    assert!(ok, "kubernetes-validate failed:\n{out}");
    for f in [
        "daemonset/dockhard",
        "job/dockhard-audit",
        "namespace/dockhard",
    ] {
        assert!(out.contains(&format!("passed for resource {f}")), "{out}");
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
fn manifests_audit_a_read_only_host_once() {
    for f in &manifests()[1..] {
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
        assert!(text.contains("path: /var/lib/dockhard/reports"), "{name}");
    }
    // The DaemonSet audits in an init container and then only sleeps.
    let ds = std::fs::read_to_string(&manifests()[2]).unwrap();
    let init = ds.find("initContainers:").unwrap();
    let main = ds.find("\n      containers:").unwrap();
    assert!(init < main);
    assert!(ds[init..main].contains("dockhard check --root /host"));
    assert!(ds[main..].contains("- sleep\n            - infinity"));
    assert!(!ds[main..].contains("dockhard check"));
    // The Job is not retried.
    let job = std::fs::read_to_string(&manifests()[1]).unwrap();
    assert!(job.contains("backoffLimit: 0") && job.contains("restartPolicy: Never"));
}
