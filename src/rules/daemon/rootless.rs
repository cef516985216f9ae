use crate::model::{Evidence, Source};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, is_running};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.rootless",
        title: "Run the daemon as a non-root user if possible",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["2.1"],
        rationale: "A rootless daemon and its containers run as an unprivileged user: a daemon or \
container escape does not give root on the host.",
        decided: "Running daemon: rootless when it runs as a non-zero uid, its parent is \
rootlesskit, `ROOTLESSKIT_STATE_DIR` is in its environment, or `/info` reports \
`name=rootless`. Without a running daemon, the next start of the system docker.service runs \
as root. Pass when rootless. CIS asks for it only where possible: low severity.",
        remediation: "Install the rootless mode (`dockerd-rootless-setuptool.sh install` as the \
user that runs containers) and stop the rootful daemon where the workload allows it (no \
privileged containers, no ports below 1024 without `net.ipv4.ip_unprivileged_port_start`).",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    if cx.daemon.rootless {
        return Outcome::pass("the daemon runs rootless")
            .with_all(cx.daemon.rootless_evidence.iter().cloned());
    }
    let ev = match (cx.daemon.pid, is_running(cx)) {
        (Some(pid), true) => Evidence::new(
            Source::Process,
            format!("/proc/{pid}/status"),
            "runs as root, no rootlesskit parent, no ROOTLESSKIT_STATE_DIR",
        ),
        _ => Evidence::new(
            Source::Unit,
            cx.daemon
                .service
                .as_ref()
                .and_then(|s| s.unit_path.clone())
                .unwrap_or_else(|| "docker.service".into()),
            "the system service starts dockerd as root",
        ),
    };
    Outcome::fail("the daemon runs as root").with(ev)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{daemon_snapshot, lines};
    use serde_json::json;

    #[test]
    fn root_fails_rootless_passes() {
        let mut rootless = daemon_snapshot(json!({}), &["dockerd"], None);
        rootless.daemons[0].uid = Some(1000);
        rootless.daemons[0].environ.insert(
            "ROOTLESSKIT_STATE_DIR".into(),
            "/run/user/1000/dockerd-rootless".into(),
        );
        let got = [
            lines(
                "daemon.rootless",
                &daemon_snapshot(json!({}), &["dockerd"], None),
            ),
            lines("daemon.rootless", &rootless),
        ]
        .concat();
        insta::assert_snapshot!(got, @r"
            daemon: fail: the daemon runs as root [process /proc/4242/status: runs as root, no rootlesskit parent, no ROOTLESSKIT_STATE_DIR]
            daemon: pass: the daemon runs rootless [process /proc/4242/status: runs as uid 1000; process /proc/4242/environ: ROOTLESSKIT_STATE_DIR=/run/user/1000/dockerd-rootless]
            ");
    }
}
