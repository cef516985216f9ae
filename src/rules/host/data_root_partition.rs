use super::super::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, config};
use crate::model::config::keys;
use crate::model::{Evidence, Source};
use crate::parse::mountinfo;
use crate::snapshot::Mode;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "host.data-root-partition",
        title: "Keep the data-root on a separate partition",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["1.1.1"],
        rationale: "Images, containers' writable layers, volumes and logs live under the \
data-root; on the root filesystem, a container filling it makes the whole host unusable.",
        decided: "The data-root in use (`DockerRootDir` of `GET /info`, else the effective \
`data-root`: `--data-root`, `\"data-root\"`, default /var/lib/docker, rootless \
~/.local/share/docker) is looked up in /proc/self/mountinfo: the deepest mount point that is \
the data-root or one of its parents holds it. CIS asks that the data-root be a mount point \
of its own: pass when it is (or, with userns-remap, the configured data-root above the \
remapped directory is); fail when it is on the root filesystem `/`; a separate partition \
mounted on a parent (such as /var) keeps containers off `/` and passes with a warning that \
the space is shared. With `--root` there are no mounts to inspect: `not_applicable`.",
        remediation: "Create a partition (or logical volume) for the data-root, stop dockerd, move \
the data there, mount it on the data-root (an /etc/fstab entry) and start dockerd.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    if cx.snap.mode == Mode::Root {
        return Outcome::not_applicable(
            "an offline root filesystem has no mounts to inspect: check its /etc/fstab by hand",
        );
    }
    let Some(text) = cx.snap.host.mountinfo.as_deref() else {
        return Outcome::error(format!(
            "/proc/self/mountinfo could not be read ({})",
            cx.snap
                .host
                .mountinfo_error
                .as_deref()
                .unwrap_or("not collected")
        ));
    };
    let (root, root_ev) = match super::data_root(cx) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let root = root.trim_end_matches('/').to_string();
    let mounts = mountinfo::parse(text);
    let Some(m) = mountinfo::mount_of(&mounts, &root) else {
        return Outcome::error(format!("no mount in /proc/self/mountinfo holds {root}"))
            .with(root_ev);
    };
    let mp = m.mount_point.trim_end_matches('/');
    let mev = Evidence::new(
        Source::File,
        "/proc/self/mountinfo",
        format!(
            "{}: {} on {} (mount id {})",
            if mp.is_empty() { "/" } else { mp },
            m.fs_type,
            m.source,
            m.id
        ),
    );
    // With userns-remap the daemon reports <data-root>/<uid>.<gid>.
    let configured = config(cx)
        .ok()
        .and_then(|c| c.string(keys::DATA_ROOT).0)
        .map(|d| d.trim_end_matches('/').to_string());
    let outcome = if mp == root || configured.as_deref() == Some(mp) {
        Outcome::pass(format!(
            "{root} is on a partition of its own ({} on {})",
            m.fs_type, m.source
        ))
    } else if mp.is_empty() {
        Outcome::fail(format!("{root} is on the root filesystem `/`"))
    } else {
        Outcome::pass(format!(
            "{root} is on the separate partition mounted on {mp}"
        ))
        .warn(format!(
            "{root} is not a mount point itself: containers share the space of {mp}"
        ))
    };
    outcome.with(root_ev).with(mev)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{daemon_snapshot, lines};
    use serde_json::json;

    const MOUNTS: &str = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
                          30 22 8:2 / /var rw - ext4 /dev/sda2 rw\n\
                          31 22 8:17 / /srv/docker rw - xfs /dev/sdb1 rw\n";

    fn at(info: serde_json::Value, argv: &[&str], mounts: Option<&str>) -> String {
        let mut snap = daemon_snapshot(info, argv, None);
        snap.host.mountinfo = mounts.map(str::to_string);
        lines("host.data-root-partition", &snap)
    }

    #[test]
    fn mount_point_passes_root_filesystem_fails() {
        let only_root = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n";
        let got = [
            at(
                json!({"DockerRootDir": "/srv/docker"}),
                &["dockerd"],
                Some(MOUNTS),
            ),
            at(
                json!({}),
                &["dockerd", "--data-root", "/srv/docker/"],
                Some(MOUNTS),
            ),
            at(json!({}), &["dockerd"], Some(MOUNTS)),
            at(json!({}), &["dockerd"], Some(only_root)),
            at(json!({}), &["dockerd"], None),
        ]
        .concat();
        insta::assert_snapshot!(got, @r#"
            daemon: pass: /srv/docker is on a partition of its own (xfs on /dev/sdb1) [api GET /info: DockerRootDir: /srv/docker; file /proc/self/mountinfo: /srv/docker: xfs on /dev/sdb1 (mount id 31)]
            daemon: pass: /srv/docker is on a partition of its own (xfs on /dev/sdb1) [argv argv[1]: --data-root /srv/docker/; file /proc/self/mountinfo: /srv/docker: xfs on /dev/sdb1 (mount id 31)]
            daemon: pass: /var/lib/docker is on the separate partition mounted on /var [default default: data-root: dockerd default "/var/lib/docker"; file /proc/self/mountinfo: /var: ext4 on /dev/sda2 (mount id 30)] (warning: /var/lib/docker is not a mount point itself: containers share the space of /var)
            daemon: fail: /var/lib/docker is on the root filesystem `/` [default default: data-root: dockerd default "/var/lib/docker"; file /proc/self/mountinfo: /: ext4 on /dev/sda1 (mount id 22)]
            daemon: error: /proc/self/mountinfo could not be read (not collected) []
            "#);
    }
}
