use super::{Expect, Target, Targets};
use crate::rules::remedy::{FixCx, FixSpec};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "files.docker-socket-unit",
        title: "docker.socket and its drop-ins are owned by root:root with mode 0644 or stricter",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["3.3", "3.4"],
        rationale: "The socket unit decides where the Engine API listens and who may connect to \
it (`ListenStream=`, `SocketGroup=`, `SocketMode=`): whoever can write it can open the API to \
everyone.",
        decided: "The socket unit of the service in use (`Sockets=` or the unit of the same \
name, found in the same search path as the service) and its drop-ins. Pass when each is owned by \
uid 0 and gid 0 and has no permission bit outside 0644 (compared as bits: 0622 fails). \
`not_applicable` when there is no socket unit.",
        remediation: "`chown root:root` and `chmod 0644` (or stricter) the socket unit and each \
drop-in named in the verdict, then `systemctl daemon-reload`.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn targets(cx: &Ctx<'_>) -> Targets {
    let Some(sock) = cx.daemon.service.as_ref().and_then(|s| s.socket.as_ref()) else {
        return Err(Outcome::not_applicable("the service has no socket unit"));
    };
    let expect = Expect::daemon_owned(cx, 0o644);
    let targets: Vec<Target> = std::iter::once((&sock.unit_path, "socket unit"))
        .chain(sock.dropins.iter().map(|d| (d, "drop-in")))
        .map(|(p, role)| Target::new(p, role, expect.clone()).required())
        .collect();
    Ok((targets, "no socket unit".into()))
}

fn check(cx: &Ctx<'_>) -> Outcome {
    super::judged(cx, targets(cx))
}

fn fix(cx: &FixCx<'_>) -> Result<FixSpec, String> {
    super::fix_targets(cx, targets)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{lines, snapshot, with_text};
    use serde_json::json;

    fn snap(mode: u32, uid: u32) -> String {
        let mut s = snapshot(json!({}), &[], &[]);
        s.unit_file = Some("/etc/systemd/system/docker.service".into());
        with_text(
            &mut s,
            "/etc/systemd/system/docker.service",
            "[Unit]\nRequires=docker.socket\n[Service]\nExecStart=/usr/bin/dockerd -H fd://\n",
            0o644,
            0,
            0,
        );
        with_text(
            &mut s,
            "/etc/systemd/system/docker.socket",
            "[Socket]\nListenStream=/run/docker.sock\nSocketGroup=docker\n",
            mode,
            uid,
            0,
        );
        lines("files.docker-socket-unit", &s)
    }

    #[test]
    fn socket_unit() {
        insta::assert_snapshot!(snap(0o644, 0), @r"
        daemon: pass: /etc/systemd/system/docker.socket: root:root, 0644 or stricter [file /etc/systemd/system/docker.socket: mode 0644, owner 0:0]
        ");
        insta::assert_snapshot!(snap(0o606, 1000), @r"
        daemon: fail: /etc/systemd/system/docker.socket (socket unit): mode 0606 has bits 0002 outside 0644, owned by uid 1000, not root:root [file /etc/systemd/system/docker.socket: mode 0606, owner 1000:0]
        ");
    }
}
