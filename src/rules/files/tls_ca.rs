use super::{Targets, Tls, tls_file};
use crate::rules::remedy::{FixCx, FixSpec};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "files.tls-ca",
        title: "The TLS CA in effect is owned by root:root with mode 0444 or stricter",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["3.9", "3.10"],
        rationale: "Whoever can replace the CA can issue client certificates the daemon accepts, i.e. gain root on the host through the API.",
        decided: "The file of the effective configuration: the CA certificate that signs the clients allowed to connect (`tlscacert`), from the command line, daemon.json or dockerd's default ($DOCKER_CERT_PATH, $DOCKER_CONFIG, ~/.docker). Pass when it is owned by uid 0 and gid 0 (a rootless daemon's own user may own it) and has no permission bit outside 0444 (compared as bits). A configured file that does not exist fails. `not_applicable` when TLS is off or the file is not configured.",
        remediation: "`chown root:root` and `chmod 0444` the file named in the verdict.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn targets(cx: &Ctx<'_>) -> Targets {
    tls_file(cx, Tls::Ca, 0o444)
}

fn check(cx: &Ctx<'_>) -> Outcome {
    super::judged(cx, targets(cx))
}

fn fix(cx: &FixCx<'_>) -> Result<FixSpec, String> {
    super::fix_targets(cx, targets)
}

#[cfg(test)]
mod tests {
    use super::super::support::{CA, no_tls, tls};

    #[test]
    fn tls_ca() {
        let r = "files.tls-ca";
        let got = [
            tls(r, CA, Some((0o444, 0))),
            tls(r, CA, Some((0o644, 0))),
            tls(r, CA, Some((0o444, 1000))),
            tls(r, CA, None),
            no_tls(r),
        ]
        .concat();
        insta::assert_snapshot!(got, @r#"
        daemon: pass: /etc/docker/tls/ca.pem: root:root, 0444 or stricter [argv argv[4]: --tlscacert /etc/docker/tls/ca.pem; file /etc/docker/tls/ca.pem: mode 0444, owner 0:0]
        daemon: fail: /etc/docker/tls/ca.pem (TLS CA): mode 0644 has bits 0200 outside 0444 [argv argv[4]: --tlscacert /etc/docker/tls/ca.pem; file /etc/docker/tls/ca.pem: mode 0644, owner 0:0]
        daemon: fail: /etc/docker/tls/ca.pem (TLS CA): owned by uid 1000, not root:root [argv argv[4]: --tlscacert /etc/docker/tls/ca.pem; file /etc/docker/tls/ca.pem: mode 0444, owner 1000:0]
        daemon: fail: /etc/docker/tls/ca.pem (TLS CA) does not exist [argv argv[4]: --tlscacert /etc/docker/tls/ca.pem; file /etc/docker/tls/ca.pem: does not exist]
        daemon: not_applicable: TLS is not configured [default default: tls: dockerd default false (no --tls, --tlsverify, "tls" or "tlsverify")]
        "#);
    }
}
