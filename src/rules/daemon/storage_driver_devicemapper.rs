//! CIS Docker Benchmark v1.8.0 2.7: the devicemapper storage driver is not
//! used. The item is new in v1.8.0: it has no v1.6.0 id (metadata
//! `"1.8:2.7"`, see [`crate::rules::cis`]).

use super::helpers::avoided_storage_driver;
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

const DRIVER: &str = "devicemapper";

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.storage-driver-devicemapper",
        title: "Do not use the devicemapper storage driver",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["1.8:2.7"],
        rationale: "devicemapper in its default loop-lvm mode is slow and unsafe for production, \
its direct-lvm mode needs a dedicated block device managed by hand, and it has known \
problems with disk space and stability; it is deprecated since 18.09 and removed in 25.0. \
overlay2 is the supported driver.",
        decided: "`not_applicable` on engines that removed the driver (aufs: 24.0, devicemapper: 25.0; they refuse to start with it, see `daemon.config-valid`). Live: `Driver` of `GET /info`. Otherwise the driver the start would choose: \
`$DOCKER_DRIVER` in the daemon's environment (it wins over the configuration), else the \
effective `storage-driver` (`-s`, `--storage-driver`, `\"storage-driver\"`). With none, dockerd \
chooses at start: a prior driver whose state directory exists in the data-root is reused, \
otherwise the first supported one in its priority order (btrfs, zfs, overlay2, \
fuse-overlayfs, aufs, overlay, devicemapper, ...), so devicemapper is only chosen when \
overlay2 is unusable. Then: fail when the data-root holds a `devicemapper` directory, pass \
when it does not (or does not exist yet), error when it could not be listed. Pass when the \
driver is not devicemapper.",
        remediation: "Set `\"storage-driver\": \"overlay2\"` and remove `dm.*` entries from \
`storage-opts` (images and containers stored with devicemapper are not visible afterwards: \
save or push them first; the thin pool can be removed once they are) and restart dockerd.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    avoided_storage_driver(cx, DRIVER)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{daemon_snapshot, lines};
    use crate::snapshot::DirEvidence;
    use serde_json::json;

    const RULE: &str = "daemon.storage-driver-devicemapper";

    fn prior(entries: Option<&[&str]>) -> crate::snapshot::Snapshot {
        let mut s = daemon_snapshot(json!({"Driver": null}), &["dockerd"], None);
        s.dirs.insert(
            "/var/lib/docker".into(),
            DirEvidence {
                entries: entries.map(|e| e.iter().map(|s| s.to_string()).collect()),
                error: entries.is_none().then(|| "Permission denied".into()),
                ..DirEvidence::default()
            },
        );
        s
    }

    #[test]
    fn live_driver_decides_then_configuration_then_prior_state() {
        let mut env = daemon_snapshot(json!({"Driver": null}), &["dockerd", "-s", "vfs"], None);
        env.daemons[0]
            .environ
            .insert("DOCKER_DRIVER".into(), "devicemapper".into());
        let got = [
            lines(RULE, &daemon_snapshot(json!({}), &["dockerd"], None)),
            lines(
                RULE,
                &daemon_snapshot(json!({"Driver": "devicemapper"}), &["dockerd"], None),
            ),
            lines(
                RULE,
                &daemon_snapshot(
                    json!({"Driver": null}),
                    &["dockerd", "--storage-driver=devicemapper"],
                    None,
                ),
            ),
            lines(
                RULE,
                &daemon_snapshot(json!({"Driver": null}), &["dockerd", "-s", "vfs"], None),
            ),
            lines(RULE, &env),
            lines(RULE, &prior(Some(&["devicemapper", "containers"]))),
            lines(RULE, &prior(Some(&["overlay2", "containers"]))),
        ]
        .concat();
        insta::assert_snapshot!(got, @r#"
            daemon: pass: the storage driver is `overlay2` [api GET /info: Driver: overlay2]
            daemon: fail: the storage driver is devicemapper [api GET /info: Driver: devicemapper]
            daemon: fail: the storage driver is devicemapper [argv argv[1]: --storage-driver=devicemapper]
            daemon: pass: the storage driver is `vfs` [argv argv[1]: -s vfs]
            daemon: fail: the storage driver is devicemapper [process environment: DOCKER_DRIVER=devicemapper (wins over storage-driver)]
            daemon: fail: no storage driver is set: dockerd chooses at start, and it reuses the prior driver devicemapper (/var/lib/docker/devicemapper exists) [default default: data-root: dockerd default "/var/lib/docker"; file /var/lib/docker/devicemapper: exists]
            daemon: pass: no storage driver is set: dockerd chooses at start; /var/lib/docker holds no devicemapper state and overlay2 comes before devicemapper [default default: data-root: dockerd default "/var/lib/docker"; file /var/lib/docker: no devicemapper directory]
        "#);
    }

    #[test]
    fn unlisted_data_root_is_an_error_not_a_pass() {
        insta::assert_snapshot!(lines(RULE, &prior(None)), @r#"
            daemon: error: no storage driver is set: dockerd chooses at start; /var/lib/docker could not be listed (Permission denied) [default default: data-root: dockerd default "/var/lib/docker"]
        "#);
    }
}
