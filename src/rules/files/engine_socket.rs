use super::{Expect, Target, Targets, rootless_uid};
use crate::model::config::{Effective, Listener, keys};
use crate::model::files::{ETC_GROUP, configured_unix_sockets, group_gid};
use crate::model::{Evidence, Source};
use crate::rules::remedy::{FixCx, FixSpec};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, config, is_running};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "files.engine-socket",
        title: "The daemon's unix sockets are owned by root:docker with mode 0660 or stricter",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["3.15", "3.16"],
        rationale: "Access to the Engine API socket is root on the host: only root and the \
members of the daemon's group may connect.",
        decided: "Only the Engine API sockets are judged: the `-H unix://` / `hosts` entries \
(default /var/run/docker.sock) and, for `-H fd://`, the path `ListenStream=` of docker.socket \
(/var/run and /run are the same directory). Running daemon: those of them it listens on \
(/proc/net/unix); with `-H fd://` and no socket unit known, every socket it listens on outside \
its exec-root and data-root. dockerd's own sockets (metrics.sock, libnetwork, plugins and swarm \
sockets under the exec-root) are no API socket and are not judged. Next start: the configured \
sockets (a socket that does not exist yet is created at start). Pass when each is owned by \
uid 0, its group is the daemon's `--group` (default `docker`, gid from /etc/group) or root \
(dockerd's fallback when the group does not exist), and it has no permission bit outside 0660 \
(compared as bits). A rootless daemon's sockets may belong to its own user, any group. A \
socket of a running daemon that no longer exists fails.",
        remediation: "`chown root:docker` and `chmod 0660` the socket; for a lasting fix set \
`SocketUser=root`, `SocketGroup=docker`, `SocketMode=0660` in docker.socket, or `--group` / \
`\"group\"` for sockets dockerd creates.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn targets(cx: &Ctx<'_>) -> Targets {
    let cfg = config(cx)?;
    let (sockets, running) = if is_running(cx) {
        let Some(d) = cx
            .snap
            .daemons
            .iter()
            .find(|d| Some(d.pid) == cx.daemon.pid)
        else {
            return Err(Outcome::error("the running daemon's evidence is missing"));
        };
        if d.unix_listeners.is_empty() && !d.errors.is_empty() {
            return Err(Outcome::error(format!(
                "the sockets of pid {} could not be read: {}",
                d.pid,
                d.errors.join("; ")
            )));
        }
        let api = configured_unix_sockets(cfg, cx.daemon.service.as_ref());
        // `-H fd://` with no known socket unit: the sockets passed by
        // activation are whatever dockerd holds outside its own directories.
        let activation_unknown = cfg
            .listeners()
            .iter()
            .any(|l| matches!(l, Listener::Fd { .. }))
            && cx
                .daemon
                .service
                .as_ref()
                .and_then(|s| s.socket.as_ref())
                .is_none_or(|s| s.listen_streams.is_empty());
        let internal = internal_dirs(cfg);
        let mut s: Vec<(String, Evidence)> = Vec::new();
        for p in d.unix_listeners.iter().filter(|p| p.starts_with('/')) {
            let ev = Evidence::new(
                Source::Socket,
                format!("/proc/{}/net/unix", d.pid),
                format!("dockerd listens on {p}"),
            );
            let api_socket = api.iter().any(|(a, _)| same_socket(a, p))
                || (activation_unknown && !internal.iter().any(|dir| under(p, dir)));
            if api_socket {
                s.push((p.clone(), ev));
            }
        }
        (s, true)
    } else {
        (
            configured_unix_sockets(cfg, cx.daemon.service.as_ref()),
            false,
        )
    };
    if sockets.is_empty() {
        return Err(Outcome::not_applicable(
            "the daemon serves the Engine API on no unix socket",
        ));
    }
    let expect = match rootless_uid(cx) {
        Some(_) => Expect::daemon_owned(cx, 0o660),
        None => socket_group(cx, cfg, &sockets)?,
    };
    let targets: Vec<Target> = sockets
        .into_iter()
        .map(|(p, ev)| {
            let t = Target::new(p, "socket", expect.clone()).from(ev);
            if running { t.required() } else { t }
        })
        .collect();
    Ok((
        targets,
        "no socket exists yet: dockerd creates it at start".into(),
    ))
}

fn check(cx: &Ctx<'_>) -> Outcome {
    super::judged(cx, targets(cx))
}

fn fix(cx: &FixCx<'_>) -> Result<FixSpec, String> {
    super::fix_targets(cx, targets)
}

/// `/var/run` is `/run` on every systemd host: one spelling.
fn run_dir(p: &str) -> String {
    let p = p.trim_end_matches('/');
    match p.strip_prefix("/var/run") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("/run{rest}"),
        _ => p.to_string(),
    }
}

/// The same socket path, after the `/var/run` = `/run` equivalence.
fn same_socket(a: &str, b: &str) -> bool {
    run_dir(a) == run_dir(b)
}

/// Is `path` inside `dir` (after the `/var/run` = `/run` equivalence)?
fn under(path: &str, dir: &str) -> bool {
    let (path, dir) = (run_dir(path), run_dir(dir));
    !dir.is_empty()
        && path
            .strip_prefix(&dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Where dockerd keeps its own sockets (metrics.sock, libnetwork, plugins,
/// swarm control): the exec-root and the data-root. None serves the API.
fn internal_dirs(cfg: &Effective) -> Vec<String> {
    [keys::EXEC_ROOT, keys::DATA_ROOT]
        .iter()
        .filter_map(|k| cfg.string(*k).0)
        .filter(|d| d.starts_with('/') && !d.trim_end_matches('/').is_empty())
        .collect()
}

/// root:GROUP (the daemon's `--group`, default docker) or root:root. When
/// /etc/group cannot be read, a socket whose group is not root cannot be
/// judged.
fn socket_group(
    cx: &Ctx<'_>,
    cfg: &crate::model::config::Effective,
    sockets: &[(String, Evidence)],
) -> Result<Expect, Outcome> {
    let (group, gev) = cfg.string(keys::GROUP);
    let group = group.unwrap_or_else(|| "docker".into());
    let gid = match cx.snap.text(ETC_GROUP) {
        Some(text) => group_gid(text, &group),
        None => {
            let non_root = sockets.iter().find(|(p, _)| {
                cx.snap
                    .file(p)
                    .and_then(|f| f.meta.as_ref())
                    .is_some_and(|m| m.gid != 0)
            });
            if let Some((p, _)) = non_root {
                return Err(Outcome::error(format!(
                    "{ETC_GROUP} could not be read: whether the group of {p} is {group} is unknown"
                ))
                .with(gev));
            }
            None
        }
    };
    Ok(match gid {
        Some(gid) => Expect {
            mode: 0o660,
            uids: vec![0],
            gids: Some(vec![gid, 0]),
            owner: format!("root:{group} (gid {gid}) or root:root"),
        },
        None => Expect {
            owner: format!("root:root (no group {group} known in {ETC_GROUP})"),
            ..Expect::root(0o660)
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{lines, snapshot, with_argv, with_file, with_text};
    use crate::snapshot::FileKind;
    use serde_json::json;

    fn run(mode: u32, gid: u32) -> String {
        let mut s = snapshot(json!({}), &[], &[]);
        s.daemons[0].unix_listeners = vec!["/var/run/docker.sock".into()];
        with_text(
            &mut s,
            "/etc/group",
            "root:x:0:\ndocker:x:998:alice\n",
            0o644,
            0,
            0,
        );
        with_file(
            &mut s,
            "/var/run/docker.sock",
            FileKind::Socket,
            mode,
            0,
            gid,
        );
        lines("files.engine-socket", &s)
    }

    /// dockerd's own sockets (metrics.sock is 0755 by umask) are no API
    /// socket: only docker.sock is judged.
    #[test]
    fn internal_sockets_are_not_judged() {
        let mut s = snapshot(json!({}), &[], &[]);
        s.daemons[0].unix_listeners = vec![
            "/var/run/docker.sock".into(),
            "/var/run/docker/metrics.sock".into(),
            "/var/run/docker/libnetwork/1b2c3d.sock".into(),
        ];
        with_text(
            &mut s,
            "/etc/group",
            "root:x:0:\ndocker:x:998:\n",
            0o644,
            0,
            0,
        );
        with_file(
            &mut s,
            "/var/run/docker.sock",
            FileKind::Socket,
            0o660,
            0,
            998,
        );
        with_file(
            &mut s,
            "/var/run/docker/metrics.sock",
            FileKind::Socket,
            0o755,
            0,
            0,
        );
        with_file(
            &mut s,
            "/var/run/docker/libnetwork/1b2c3d.sock",
            FileKind::Socket,
            0o755,
            0,
            0,
        );
        insta::assert_snapshot!(lines("files.engine-socket", &s), @r"
            daemon: pass: /var/run/docker.sock: root:docker (gid 998) or root:root, 0660 or stricter [socket /proc/4242/net/unix: dockerd listens on /var/run/docker.sock; file /var/run/docker.sock: mode 0660, owner 0:998]
        ");
    }

    /// Socket activation: the ListenStream= path (/run/docker.sock) is the
    /// API socket; with no socket unit known, every listener outside the
    /// exec-root and data-root is.
    #[test]
    fn socket_activation() {
        let build = |unit: bool| {
            let mut s = snapshot(json!({}), &[], &[]);
            with_argv(&mut s, &["/usr/bin/dockerd", "-H", "fd://"]);
            s.daemons[0].unix_listeners = vec![
                "/run/docker.sock".into(),
                "/run/docker/metrics.sock".into(),
                "/run/other.sock".into(),
            ];
            with_file(&mut s, "/run/other.sock", FileKind::Socket, 0o777, 0, 0);
            with_text(
                &mut s,
                "/etc/group",
                "root:x:0:\ndocker:x:998:\n",
                0o644,
                0,
                0,
            );
            with_file(&mut s, "/run/docker.sock", FileKind::Socket, 0o660, 0, 998);
            with_file(
                &mut s,
                "/run/docker/metrics.sock",
                FileKind::Socket,
                0o755,
                0,
                0,
            );
            if unit {
                s.unit_file = Some("/lib/systemd/system/docker.service".into());
                with_text(
                    &mut s,
                    "/lib/systemd/system/docker.service",
                    "[Unit]\nRequires=docker.socket\n[Service]\nExecStart=/usr/bin/dockerd -H fd://\n",
                    0o644,
                    0,
                    0,
                );
                with_text(
                    &mut s,
                    "/lib/systemd/system/docker.socket",
                    "[Socket]\nListenStream=/run/docker.sock\nSocketMode=0660\n",
                    0o644,
                    0,
                    0,
                );
            }
            lines("files.engine-socket", &s)
        };
        insta::assert_snapshot!(build(true), @r"
            daemon: pass: /run/docker.sock: root:docker (gid 998) or root:root, 0660 or stricter [socket /proc/4242/net/unix: dockerd listens on /run/docker.sock; file /run/docker.sock: mode 0660, owner 0:998]
        ");
        insta::assert_snapshot!(build(false), @r"
            daemon: fail: /run/other.sock (socket): mode 0777 has bits 0117 outside 0660 [socket /proc/4242/net/unix: dockerd listens on /run/docker.sock; file /run/docker.sock: mode 0660, owner 0:998; socket /proc/4242/net/unix: dockerd listens on /run/other.sock; file /run/other.sock: mode 0777, owner 0:0]
        ");
    }

    #[test]
    fn group_unknown() {
        let mut s = snapshot(json!({}), &[], &[]);
        s.daemons[0].unix_listeners = vec!["/var/run/docker.sock".into()];
        with_file(
            &mut s,
            "/var/run/docker.sock",
            FileKind::Socket,
            0o660,
            0,
            998,
        );
        insta::assert_snapshot!(lines("files.engine-socket", &s), @r#"
        daemon: error: /etc/group could not be read: whether the group of /var/run/docker.sock is docker is unknown [default default: group: dockerd default "docker"]
        "#);
    }

    #[test]
    fn socket() {
        insta::assert_snapshot!(run(0o660, 998), @r"
        daemon: pass: /var/run/docker.sock: root:docker (gid 998) or root:root, 0660 or stricter [socket /proc/4242/net/unix: dockerd listens on /var/run/docker.sock; file /var/run/docker.sock: mode 0660, owner 0:998]
        ");
        insta::assert_snapshot!(run(0o606, 998), @r"
        daemon: fail: /var/run/docker.sock (socket): mode 0606 has bits 0006 outside 0660 [socket /proc/4242/net/unix: dockerd listens on /var/run/docker.sock; file /var/run/docker.sock: mode 0606, owner 0:998]
        ");
        insta::assert_snapshot!(run(0o660, 50), @r"
        daemon: fail: /var/run/docker.sock (socket): group gid 50, not root:docker (gid 998) or root:root [socket /proc/4242/net/unix: dockerd listens on /var/run/docker.sock; file /var/run/docker.sock: mode 0660, owner 0:50]
        ");
    }
}
