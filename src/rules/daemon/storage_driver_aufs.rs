use super::helpers::avoided_storage_driver;
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.storage-driver-aufs",
        title: "Do not use the aufs storage driver",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["2.6"],
        rationale: "aufs was never merged in the mainline kernel, is known to cause kernel crashes, \
is deprecated since 20.10 and removed in 24.0.",
        decided: "`not_applicable` on engines that removed the driver (aufs: 24.0, devicemapper: 25.0; they refuse to start with it, see `daemon.config-valid`). Live: `Driver` of `GET /info`. Otherwise the driver the start would choose: \
`$DOCKER_DRIVER` in the daemon's environment (it wins over the configuration), else the \
effective `storage-driver` (`-s`, `--storage-driver`, `\"storage-driver\"`). With none, dockerd \
chooses at start: a prior driver whose state directory exists in the data-root is reused, \
otherwise the first supported one in its priority order (btrfs, zfs, overlay2, \
fuse-overlayfs, aufs, ...), so aufs is only chosen over overlay2 when overlay2 is unusable. \
Then: fail when the data-root holds an `aufs` directory, pass when it does not (or does not \
exist yet), error when it could not be listed. Pass when the driver is not aufs.",
        remediation: "Set `\"storage-driver\": \"overlay2\"` (images and containers stored with aufs \
are not visible afterwards: save or push them first) and restart dockerd.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    avoided_storage_driver(cx, "aufs")
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{daemon_snapshot, lines};
    use crate::snapshot::DirEvidence;
    use serde_json::json;

    #[test]
    fn live_driver_decides_then_configuration_then_prior_state() {
        let rule = "daemon.storage-driver-aufs";
        let live_aufs = daemon_snapshot(json!({"Driver": "aufs"}), &["dockerd"], None);
        let mut no_live = daemon_snapshot(json!({"Driver": null}), &["dockerd", "-s", "vfs"], None);
        let mut prior = daemon_snapshot(json!({"Driver": null}), &["dockerd"], None);
        prior.dirs.insert(
            "/var/lib/docker".into(),
            DirEvidence {
                entries: Some(vec!["aufs".into(), "containers".into()]),
                ..DirEvidence::default()
            },
        );
        no_live.daemons[0]
            .environ
            .insert("DOCKER_DRIVER".into(), "aufs".into());
        let got = [
            lines(rule, &daemon_snapshot(json!({}), &["dockerd"], None)),
            lines(rule, &live_aufs),
            lines(rule, &no_live),
            lines(rule, &prior),
        ]
        .concat();
        insta::assert_snapshot!(got, @r#"
            daemon: pass: the storage driver is `overlay2` [api GET /info: Driver: overlay2]
            daemon: fail: the storage driver is aufs [api GET /info: Driver: aufs]
            daemon: fail: the storage driver is aufs [process environment: DOCKER_DRIVER=aufs (wins over storage-driver)]
            daemon: fail: no storage driver is set: dockerd chooses at start, and it reuses the prior driver aufs (/var/lib/docker/aufs exists) [default default: data-root: dockerd default "/var/lib/docker"; file /var/lib/docker/aufs: exists]
            "#);
    }
}
