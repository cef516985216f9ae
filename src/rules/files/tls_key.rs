use super::{Targets, Tls, tls_file};
use crate::rules::remedy::{FixCx, FixSpec};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "files.tls-key",
        title: "The TLS key in effect is owned by root:root with mode 0400 or stricter",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["3.13", "3.14"],
        rationale: "Whoever can read the server key can impersonate the daemon to its clients; whoever can write it can break TLS.",
        decided: "The file of the effective configuration: the server private key (`tlskey`; only its metadata is read, never its content), from the command line, daemon.json or dockerd's default ($DOCKER_CERT_PATH, $DOCKER_CONFIG, ~/.docker). Pass when it is owned by uid 0 and gid 0 (a rootless daemon's own user may own it) and has no permission bit outside 0400 (compared as bits). A configured file that does not exist fails. `not_applicable` when TLS is off or the file is not configured.",
        remediation: "`chown root:root` and `chmod 0400` the file named in the verdict.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn targets(cx: &Ctx<'_>) -> Targets {
    tls_file(cx, Tls::Key, 0o400)
}

fn check(cx: &Ctx<'_>) -> Outcome {
    super::judged(cx, targets(cx))
}

fn fix(cx: &FixCx<'_>) -> Result<FixSpec, String> {
    super::fix_targets(cx, targets)
}

#[cfg(test)]
mod tests {
    use super::super::support::{KEY, no_tls, tls};

    #[test]
    fn tls_key() {
        let r = "files.tls-key";
        let got = [
            tls(r, KEY, Some((0o400, 0))),
            tls(r, KEY, Some((0o440, 0))),
            tls(r, KEY, Some((0o400, 1000))),
            tls(r, KEY, None),
            no_tls(r),
        ]
        .concat();
        insta::assert_snapshot!(got, @r#"
        daemon: pass: /etc/docker/tls/server-key.pem: root:root, 0400 or stricter [argv argv[8]: --tlskey /etc/docker/tls/server-key.pem; file /etc/docker/tls/server-key.pem: mode 0400, owner 0:0]
        daemon: fail: /etc/docker/tls/server-key.pem (TLS key): mode 0440 has bits 0040 outside 0400 [argv argv[8]: --tlskey /etc/docker/tls/server-key.pem; file /etc/docker/tls/server-key.pem: mode 0440, owner 0:0]
        daemon: fail: /etc/docker/tls/server-key.pem (TLS key): owned by uid 1000, not root:root [argv argv[8]: --tlskey /etc/docker/tls/server-key.pem; file /etc/docker/tls/server-key.pem: mode 0400, owner 1000:0]
        daemon: fail: /etc/docker/tls/server-key.pem (TLS key) does not exist [argv argv[8]: --tlskey /etc/docker/tls/server-key.pem; file /etc/docker/tls/server-key.pem: does not exist]
        daemon: not_applicable: TLS is not configured [default default: tls: dockerd default false (no --tls, --tlsverify, "tls" or "tlsverify")]
        "#);
    }
}
