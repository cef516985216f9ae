use super::{Expect, Target, Targets};
use crate::model::files::{CERTS_D, certs_d_tree};
use crate::rules::remedy::{FixCx, FixSpec};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, Status};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "files.certs-d",
        title: "Registry certificates under /etc/docker/certs.d are owned by root:root with mode 0444 or stricter",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["3.7", "3.8"],
        rationale: "certs.d holds the CA certificates (and client keys) dockerd trusts for each \
registry: whoever can change them can have the daemon pull from an impostor registry.",
        decided: "Every file in /etc/docker/certs.d and in its registry directories must be \
owned by uid 0 and gid 0 with no permission bit outside 0444 (CIS targets the files). The \
directories themselves (certs.d and each registry directory) must be root:root with no bit \
outside 0755, since a writable directory lets anyone replace the files. Modes are compared as \
bits. `not_applicable` when certs.d does not exist or holds no file.",
        remediation: "`chown -R root:root /etc/docker/certs.d`, `chmod 0444` each file and \
`chmod 0755` each directory (or stricter).",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn targets(cx: &Ctx<'_>) -> Targets {
    let tree = certs_d_tree(cx.snap);
    if let Some((dir, why)) = tree.unlisted.first() {
        return Err(Outcome::error(format!("{dir} {why}")));
    }
    let mut targets = vec![Target::new(CERTS_D, "directory", Expect::root(0o755))];
    for (path, dir) in &tree.entries {
        targets.push(if *dir {
            Target::new(path, "directory", Expect::root(0o755))
        } else {
            Target::new(path, "file", Expect::root(0o444))
        });
    }
    Ok((targets, format!("{CERTS_D} does not exist")))
}

fn fix(cx: &FixCx<'_>) -> Result<FixSpec, String> {
    super::fix_targets(cx, targets)
}

fn check(cx: &Ctx<'_>) -> Outcome {
    let out = super::judged(cx, targets(cx));
    let tree = certs_d_tree(cx.snap);
    if out.status == Status::Pass && tree.entries.iter().all(|(_, dir)| *dir) {
        // The directories are in order and there is no file to judge.
        return Outcome::not_applicable(format!("{CERTS_D} holds no file")).with_all(out.evidence);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{lines, snapshot, with_dir, with_file, with_missing};
    use crate::snapshot::FileKind;
    use serde_json::json;

    fn run(ca_mode: u32, dir_mode: u32) -> String {
        let mut s = snapshot(json!({}), &[], &[]);
        let d = "/etc/docker/certs.d";
        let reg = "/etc/docker/certs.d/registry.example:5000";
        with_file(&mut s, d, FileKind::Dir, 0o755, 0, 0);
        with_dir(&mut s, d, Some(&["registry.example:5000"]));
        with_file(&mut s, reg, FileKind::Dir, dir_mode, 0, 0);
        with_dir(&mut s, reg, Some(&["ca.crt", "client.key"]));
        with_file(
            &mut s,
            &format!("{reg}/ca.crt"),
            FileKind::File,
            ca_mode,
            0,
            0,
        );
        with_file(
            &mut s,
            &format!("{reg}/client.key"),
            FileKind::File,
            0o400,
            0,
            0,
        );
        lines("files.certs-d", &s)
    }

    #[test]
    fn certs_d() {
        insta::assert_snapshot!(run(0o444, 0o755), @r"
        daemon: pass: /etc/docker/certs.d, /etc/docker/certs.d/registry.example:5000: root:root, 0755 or stricter; /etc/docker/certs.d/registry.example:5000/ca.crt, /etc/docker/certs.d/registry.example:5000/client.key: root:root, 0444 or stricter [file /etc/docker/certs.d: mode 0755, owner 0:0; file /etc/docker/certs.d/registry.example:5000: mode 0755, owner 0:0; file /etc/docker/certs.d/registry.example:5000/ca.crt: mode 0444, owner 0:0; file /etc/docker/certs.d/registry.example:5000/client.key: mode 0400, owner 0:0]
        ");
        insta::assert_snapshot!(run(0o644, 0o777), @r"
        daemon: fail: /etc/docker/certs.d/registry.example:5000 (directory): mode 0777 has bits 0022 outside 0755; /etc/docker/certs.d/registry.example:5000/ca.crt (file): mode 0644 has bits 0200 outside 0444 [file /etc/docker/certs.d: mode 0755, owner 0:0; file /etc/docker/certs.d/registry.example:5000: mode 0777, owner 0:0; file /etc/docker/certs.d/registry.example:5000/ca.crt: mode 0644, owner 0:0; file /etc/docker/certs.d/registry.example:5000/client.key: mode 0400, owner 0:0]
        ");
    }

    #[test]
    fn absent() {
        let mut s = snapshot(json!({}), &[], &[]);
        with_missing(&mut s, "/etc/docker/certs.d");
        with_dir(&mut s, "/etc/docker/certs.d", None);
        insta::assert_snapshot!(lines("files.certs-d", &s), @r"
        daemon: not_applicable: /etc/docker/certs.d does not exist [file /etc/docker/certs.d: does not exist]
        ");
    }
}
