use super::{Targets, optional_root_file};
use crate::model::files::ETC_DOCKER;
use crate::rules::remedy::{FixCx, FixSpec};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "files.etc-docker",
        title: "/etc/docker is owned by root:root with mode 0755 or stricter",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["3.5", "3.6"],
        rationale: "/etc/docker holds daemon.json, certificates and keys: whoever can write the \
directory can replace any of them.",
        decided: "The metadata of /etc/docker itself (the directory, or what a symlink there \
resolves to). Pass when it is owned by uid 0 and gid 0 and has no permission bit outside 0755 \
(compared as bits: 0775 or 0757 fail, as does a sticky or setgid bit). `not_applicable` when it \
does not exist.",
        remediation: super::chown_chmod!("root:root", "0755", "/etc/docker"),
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn targets(_cx: &Ctx<'_>) -> Targets {
    optional_root_file(ETC_DOCKER, "directory", 0o755)
}

fn check(cx: &Ctx<'_>) -> Outcome {
    super::judged(cx, targets(cx))
}

fn fix(cx: &FixCx<'_>) -> Result<FixSpec, String> {
    super::fix_targets(cx, targets)
}

#[cfg(test)]
mod tests {
    use super::super::support::fixed;
    use crate::snapshot::FileKind;

    fn run(file: Option<(u32, u32, u32)>) -> String {
        fixed("files.etc-docker", "/etc/docker", FileKind::Dir, file)
    }

    #[test]
    fn pass_fail_absent() {
        let got = [
            run(Some((0o755, 0, 0))),
            run(Some((0o733, 0, 0))),
            run(Some((0o600, 1000, 0))),
            run(None),
        ]
        .concat();
        insta::assert_snapshot!(got, @r"
        daemon: pass: /etc/docker: root:root, 0755 or stricter [file /etc/docker: mode 0755, owner 0:0]
        daemon: fail: /etc/docker (directory): mode 0733 has bits 0022 outside 0755 [file /etc/docker: mode 0733, owner 0:0]
        daemon: fail: /etc/docker (directory): owned by uid 1000, not root:root [file /etc/docker: mode 0600, owner 1000:0]
        daemon: not_applicable: /etc/docker does not exist [file /etc/docker: does not exist]
        ");
    }
}
