use super::{Targets, optional_root_file};
use crate::model::files::ETC_SYSCONFIG_DOCKER;
use crate::rules::remedy::{FixCx, FixSpec};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "files.etc-sysconfig-docker",
        title: "/etc/sysconfig/docker is owned by root:root with mode 0644 or stricter",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["3.21", "3.22"],
        rationale: "/etc/sysconfig/docker (RHEL-style packages) sets environment variables such as options for dockerd: whoever can write it changes the daemon's command line at the next start.",
        decided: "The metadata of /etc/sysconfig/docker, whether or not a unit reads it (a packaged unit may start to). Pass when it is owned by uid 0 and gid 0 and has no permission bit outside 0644 (compared as bits: 0622 fails). `not_applicable` when it does not exist.",
        remediation: super::chown_chmod!("root:root", "0644", "/etc/sysconfig/docker"),
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn targets(_cx: &Ctx<'_>) -> Targets {
    optional_root_file(ETC_SYSCONFIG_DOCKER, "environment file", 0o644)
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
        fixed(
            "files.etc-sysconfig-docker",
            "/etc/sysconfig/docker",
            FileKind::File,
            file,
        )
    }

    #[test]
    fn pass_fail_absent() {
        let got = [
            run(Some((0o644, 0, 0))),
            run(Some((0o622, 0, 0))),
            run(Some((0o600, 1000, 0))),
            run(None),
        ]
        .concat();
        insta::assert_snapshot!(got, @r"
        daemon: pass: /etc/sysconfig/docker: root:root, 0644 or stricter [file /etc/sysconfig/docker: mode 0644, owner 0:0]
        daemon: fail: /etc/sysconfig/docker (environment file): mode 0622 has bits 0022 outside 0644 [file /etc/sysconfig/docker: mode 0622, owner 0:0]
        daemon: fail: /etc/sysconfig/docker (environment file): owned by uid 1000, not root:root [file /etc/sysconfig/docker: mode 0600, owner 1000:0]
        daemon: not_applicable: /etc/sysconfig/docker does not exist [file /etc/sysconfig/docker: does not exist]
        ");
    }
}
