use super::{Expect, Target, Targets};
use crate::model::config::keys;
use crate::model::files::containerd_candidates;
use crate::rules::remedy::{FixCx, FixSpec};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, config, is_running};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "files.containerd-socket",
        title: "The containerd socket the daemon uses is owned by root:root with mode 0660 or stricter",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["3.23", "3.24"],
        rationale: "containerd's API runs containers with any privilege, bypassing dockerd and \
its authorization plugins: only root may reach it.",
        decided: "The socket dockerd uses: `--containerd`/`\"containerd\"` when set; otherwise \
the system containerd's /run/containerd/containerd.sock when it exists, else the one of the \
containerd dockerd starts itself, `EXEC_ROOT/containerd/containerd.sock` (`--exec-root`, default \
/var/run/docker). Pass when it is owned by uid 0 and gid 0 (a rootless daemon's user may own \
its own) and has no permission bit outside 0660 (compared as bits). A running daemon whose \
socket does not exist fails; with no daemon running and no socket yet, `not_applicable`.",
        remediation: "`chown root:root` and `chmod 0660` the socket; for the system containerd \
set `[grpc] uid = 0`, `gid = 0` in /etc/containerd/config.toml.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn targets(cx: &Ctx<'_>) -> Targets {
    let cfg = config(cx)?;
    let candidates = containerd_candidates(cfg);
    let explicit = cfg.get(keys::CONTAINERD).is_some();
    let mut evidence = Vec::new();
    for (path, ev) in &candidates {
        match cx.snap.file(path) {
            Some(f) if f.missing && !explicit => evidence.push(ev.clone()),
            Some(_) => {
                let t = Target::new(path, "containerd socket", Expect::daemon_owned(cx, 0o660))
                    .required()
                    .from(ev.clone());
                return Ok((vec![t], String::new()));
            }
            None => {
                return Err(Outcome::error(format!(
                    "{path} (containerd socket) was not collected"
                ))
                .with(ev.clone()));
            }
        }
    }
    let paths: Vec<&str> = candidates.iter().map(|(p, _)| p.as_str()).collect();
    let msg = format!("no containerd socket exists ({})", paths.join(", "));
    Err(if is_running(cx) {
        Outcome::fail(format!("{msg}, yet the daemon runs")).with_all(evidence)
    } else {
        Outcome::not_applicable(format!("{msg}: it is created at start")).with_all(evidence)
    })
}

fn check(cx: &Ctx<'_>) -> Outcome {
    super::judged(cx, targets(cx))
}

fn fix(cx: &FixCx<'_>) -> Result<FixSpec, String> {
    super::fix_targets(cx, targets)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{lines, snapshot, with_argv, with_file, with_missing};
    use crate::snapshot::FileKind;
    use serde_json::json;

    const MANAGED: &str = "/srv/exec/containerd/containerd.sock";

    fn run(mode: u32, uid: u32) -> String {
        let mut s = snapshot(json!({}), &[], &[]);
        with_argv(&mut s, &["dockerd", "--exec-root", "/srv/exec"]);
        with_missing(&mut s, "/run/containerd/containerd.sock");
        with_file(&mut s, MANAGED, FileKind::Socket, mode, uid, 0);
        lines("files.containerd-socket", &s)
    }

    #[test]
    fn dockerd_managed_socket() {
        insta::assert_snapshot!(run(0o660, 0), @r"
        daemon: pass: /srv/exec/containerd/containerd.sock: root:root, 0660 or stricter [argv argv[1]: --exec-root /srv/exec (dockerd-managed containerd under it); file /srv/exec/containerd/containerd.sock: mode 0660, owner 0:0]
        ");
        insta::assert_snapshot!(run(0o666, 0), @r"
        daemon: fail: /srv/exec/containerd/containerd.sock (containerd socket): mode 0666 has bits 0006 outside 0660 [argv argv[1]: --exec-root /srv/exec (dockerd-managed containerd under it); file /srv/exec/containerd/containerd.sock: mode 0666, owner 0:0]
        ");
        insta::assert_snapshot!(run(0o600, 1000), @r"
        daemon: fail: /srv/exec/containerd/containerd.sock (containerd socket): owned by uid 1000, not root:root [argv argv[1]: --exec-root /srv/exec (dockerd-managed containerd under it); file /srv/exec/containerd/containerd.sock: mode 0600, owner 1000:0]
        ");
    }

    #[test]
    fn system_socket_wins() {
        let mut s = snapshot(json!({}), &[], &[]);
        with_file(
            &mut s,
            "/run/containerd/containerd.sock",
            FileKind::Socket,
            0o660,
            0,
            0,
        );
        insta::assert_snapshot!(lines("files.containerd-socket", &s), @r"
        daemon: pass: /run/containerd/containerd.sock: root:root, 0660 or stricter [default default: containerd: a system containerd's socket, used when it exists; file /run/containerd/containerd.sock: mode 0660, owner 0:0]
        ");
    }
}
