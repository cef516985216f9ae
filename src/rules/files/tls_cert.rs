use super::{Targets, Tls, tls_file};
use crate::rules::remedy::{FixCx, FixSpec};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "files.tls-cert",
        title: "The TLS certificate in effect is owned by root:root with mode 0444 or stricter",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["3.11", "3.12"],
        rationale: "Whoever can replace the server certificate can make clients trust an impostor daemon.",
        decided: "The file of the effective configuration: the server certificate (`tlscert`), from the command line, daemon.json or dockerd's default ($DOCKER_CERT_PATH, $DOCKER_CONFIG, ~/.docker). Pass when it is owned by uid 0 and gid 0 (a rootless daemon's own user may own it) and has no permission bit outside 0444 (compared as bits). A configured file that does not exist fails. `not_applicable` when TLS is off or the file is not configured.",
        remediation: "`chown root:root` and `chmod 0444` the file named in the verdict.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn targets(cx: &Ctx<'_>) -> Targets {
    tls_file(cx, Tls::Cert, 0o444)
}

fn check(cx: &Ctx<'_>) -> Outcome {
    super::judged(cx, targets(cx))
}

fn fix(cx: &FixCx<'_>) -> Result<FixSpec, String> {
    super::fix_targets(cx, targets)
}

#[cfg(test)]
mod tests {
    use super::super::support::{CERT, no_tls, tls};

    #[test]
    fn tls_cert() {
        let r = "files.tls-cert";
        let got = [
            tls(r, CERT, Some((0o444, 0))),
            tls(r, CERT, Some((0o644, 0))),
            tls(r, CERT, Some((0o444, 1000))),
            tls(r, CERT, None),
            no_tls(r),
        ]
        .concat();
        insta::assert_snapshot!(got, @r#"
        daemon: pass: /etc/docker/tls/server-cert.pem: root:root, 0444 or stricter [argv argv[6]: --tlscert /etc/docker/tls/server-cert.pem; file /etc/docker/tls/server-cert.pem: mode 0444, owner 0:0]
        daemon: fail: /etc/docker/tls/server-cert.pem (TLS certificate): mode 0644 has bits 0200 outside 0444 [argv argv[6]: --tlscert /etc/docker/tls/server-cert.pem; file /etc/docker/tls/server-cert.pem: mode 0644, owner 0:0]
        daemon: fail: /etc/docker/tls/server-cert.pem (TLS certificate): owned by uid 1000, not root:root [argv argv[6]: --tlscert /etc/docker/tls/server-cert.pem; file /etc/docker/tls/server-cert.pem: mode 0444, owner 1000:0]
        daemon: fail: /etc/docker/tls/server-cert.pem (TLS certificate) does not exist [argv argv[6]: --tlscert /etc/docker/tls/server-cert.pem; file /etc/docker/tls/server-cert.pem: does not exist]
        daemon: not_applicable: TLS is not configured [default default: tls: dockerd default false (no --tls, --tlsverify, "tls" or "tlsverify")]
        "#);
    }
}
