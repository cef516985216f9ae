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
the data-root or one of its parents holds it. CIS asks that the data-root be a partition \
of its own: pass when it is a mount point (or, with userns-remap, the configured data-root above \
the remapped directory is) of another device (MAJ:MIN) than `/`; fail when it is on the root \
filesystem `/`, including a bind mount of the root device onto the data-root (dockerd binds its \
data-root onto itself: mountinfo then shows a mount there whose root within its filesystem is \
e.g. /var/lib/docker); a bind mount of a directory of another device passes with a warning; a separate partition \
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
    let Some(slash) = mountinfo::mount_of(&mounts, "/") else {
        return Outcome::error("no mount in /proc/self/mountinfo is the root filesystem `/`")
            .with(root_ev);
    };
    let mp = m.mount_point.trim_end_matches('/');
    let mev = Evidence::new(
        Source::File,
        "/proc/self/mountinfo",
        format!(
            "{}: {} on {} (device {}{}, mount id {})",
            if mp.is_empty() { "/" } else { mp },
            m.fs_type,
            m.source,
            m.dev,
            if m.root == "/" {
                String::new()
            } else {
                format!(", its directory {}", m.root)
            },
            m.id
        ),
    );
    // With userns-remap the daemon reports <data-root>/<uid>.<gid>.
    let configured = config(cx)
        .ok()
        .and_then(|c| c.string(keys::DATA_ROOT).0)
        .map(|d| d.trim_end_matches('/').to_string());
    // A bind mount (dockerd binds its data-root onto itself) is the
    // filesystem of its device: the same device as `/` is the root
    // filesystem, whatever the mount point.
    let outcome = if mp.is_empty() {
        Outcome::fail(format!("{root} is on the root filesystem `/`"))
    } else if m.dev == slash.dev {
        Outcome::fail(format!(
            "{root} is on the root filesystem `/`: the mount on {mp} is a bind mount of {} from the root device {}",
            m.root, m.dev
        ))
    } else if mp == root || configured.as_deref() == Some(mp) {
        if m.root == "/" {
            Outcome::pass(format!(
                "{root} is on a partition of its own ({} on {})",
                m.fs_type, m.source
            ))
        } else {
            Outcome::pass(format!(
                "{root} is on the separate partition {} ({}, bind-mounted from its directory {})",
                m.source, m.fs_type, m.root
            ))
            .warn(format!(
                "{mp} is a bind mount of the directory {} of {}: containers share that filesystem's space",
                m.root, m.source
            ))
        }
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

    /// Real-looking lines (Debian 12): `/` on 8:1, then what varies.
    const ROOT: &str = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n\
                        23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n\
                        25 22 0:23 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=400000k,mode=755\n";

    #[test]
    fn own_partition_passes() {
        let m = format!(
            "{ROOT}40 22 8:17 / /var/lib/docker rw,relatime shared:30 - xfs /dev/sdb1 rw,attr2,inode64\n"
        );
        insta::assert_snapshot!(at(json!({}), &["dockerd"], Some(&m)), @r#"
            daemon: pass: /var/lib/docker is on a partition of its own (xfs on /dev/sdb1) [default default: data-root: dockerd default "/var/lib/docker"; file /proc/self/mountinfo: /var/lib/docker: xfs on /dev/sdb1 (device 8:17, mount id 40)]
        "#);
    }

    /// dockerd binds its data-root onto itself: a mount AT the data-root,
    /// of the root device, whose root within the filesystem is
    /// /var/lib/docker. No partition of its own.
    #[test]
    fn bind_of_the_root_device_fails() {
        let m = format!(
            "{ROOT}41 22 8:1 /var/lib/docker /var/lib/docker rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
        );
        insta::assert_snapshot!(at(json!({}), &["dockerd"], Some(&m)), @r#"
            daemon: fail: /var/lib/docker is on the root filesystem `/`: the mount on /var/lib/docker is a bind mount of /var/lib/docker from the root device 8:1 [default default: data-root: dockerd default "/var/lib/docker"; file /proc/self/mountinfo: /var/lib/docker: ext4 on /dev/sda1 (device 8:1, its directory /var/lib/docker, mount id 41)]
        "#);
    }

    /// A bind of a directory of another device: off `/`, with a warning.
    #[test]
    fn bind_of_another_device_passes_with_a_warning() {
        let m = format!(
            "{ROOT}30 22 8:2 / /var rw,relatime shared:20 - ext4 /dev/sda2 rw\n\
             41 30 8:2 /lib/docker /var/lib/docker rw,relatime shared:20 - ext4 /dev/sda2 rw\n"
        );
        insta::assert_snapshot!(at(json!({}), &["dockerd"], Some(&m)), @r#"
            daemon: pass: /var/lib/docker is on the separate partition /dev/sda2 (ext4, bind-mounted from its directory /lib/docker) [default default: data-root: dockerd default "/var/lib/docker"; file /proc/self/mountinfo: /var/lib/docker: ext4 on /dev/sda2 (device 8:2, its directory /lib/docker, mount id 41)] (warning: /var/lib/docker is a bind mount of the directory /lib/docker of /dev/sda2: containers share that filesystem's space)
        "#);
    }

    #[test]
    fn no_mount_at_the_data_root_fails() {
        insta::assert_snapshot!(at(json!({}), &["dockerd"], Some(ROOT)), @r#"
            daemon: fail: /var/lib/docker is on the root filesystem `/` [default default: data-root: dockerd default "/var/lib/docker"; file /proc/self/mountinfo: /: ext4 on /dev/sda1 (device 8:1, mount id 22)]
        "#);
    }

    #[test]
    fn mountinfo_missing_is_an_error() {
        insta::assert_snapshot!(at(json!({}), &["dockerd"], None), @r"
            daemon: error: /proc/self/mountinfo could not be read (not collected) []
        ");
        insta::assert_snapshot!(at(json!({}), &["dockerd"], Some("")), @r#"
            daemon: error: no mount in /proc/self/mountinfo holds /var/lib/docker [default default: data-root: dockerd default "/var/lib/docker"]
        "#);
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
            daemon: pass: /srv/docker is on a partition of its own (xfs on /dev/sdb1) [api GET /info: DockerRootDir: /srv/docker; file /proc/self/mountinfo: /srv/docker: xfs on /dev/sdb1 (device 8:17, mount id 31)]
            daemon: pass: /srv/docker is on a partition of its own (xfs on /dev/sdb1) [argv argv[1]: --data-root /srv/docker/; file /proc/self/mountinfo: /srv/docker: xfs on /dev/sdb1 (device 8:17, mount id 31)]
            daemon: pass: /var/lib/docker is on the separate partition mounted on /var [default default: data-root: dockerd default "/var/lib/docker"; file /proc/self/mountinfo: /var: ext4 on /dev/sda2 (device 8:2, mount id 30)] (warning: /var/lib/docker is not a mount point itself: containers share the space of /var)
            daemon: fail: /var/lib/docker is on the root filesystem `/` [default default: data-root: dockerd default "/var/lib/docker"; file /proc/self/mountinfo: /: ext4 on /dev/sda1 (device 8:1, mount id 22)]
            daemon: error: /proc/self/mountinfo could not be read (not collected) []
        "#);
    }
}
