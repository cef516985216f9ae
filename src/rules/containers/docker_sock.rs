use crate::model::config::Listener;
use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.docker-sock",
        title: "Do not mount the Docker socket into containers",
        severity: Severity::Critical,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.32"],
        rationale: "Whoever reaches the daemon's socket can start a privileged container with \
the host's / mounted: a container with the socket is root on the host.",
        decided: "`Mounts[].Source` of `GET /containers/ID/json`, for every container in any \
state. Fail when a source ends in `docker.sock`, is one of the daemon's own unix sockets (the \
API endpoint and the `-H unix://` listeners of its configuration), or is a directory holding \
one (`/run`, `/var/run`); `/var/run` is read as `/run`.",
        remediation: "Recreate the container without the socket mount. A tool that needs the API \
should go through an authorization plugin or a proxy that allows only the calls it needs.",
    },
    check: Check::Container(check),
    fix: None,
};

/// `/var/run` is a link to `/run` on every current distribution.
fn norm(p: &str) -> String {
    let p = p.trim_end_matches('/');
    match p.strip_prefix("/var/run") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("/run{rest}"),
        _ => p.to_string(),
    }
}

/// The daemon's own unix sockets, normalised.
fn sockets(cx: &Ctx<'_>) -> Vec<String> {
    let mut out = vec![norm("/var/run/docker.sock")];
    if let Some(p) = cx
        .daemon
        .endpoint
        .as_deref()
        .and_then(|e| e.strip_prefix("unix://"))
    {
        out.push(norm(p));
    }
    if let Ok(cfg) = cx.view.config.as_ref() {
        for l in cfg.listeners() {
            if let Listener::Unix { path, .. } = l {
                out.push(norm(&path));
            }
        }
    }
    out
}

fn check(cx: &Ctx<'_>, c: &Container) -> Outcome {
    let socks = sockets(cx);
    let mounts = super::mounts(c);
    let hit = |src: &str| -> Option<String> {
        let s = norm(src);
        if s.ends_with("docker.sock") || socks.contains(&s) {
            return Some(format!("mounts the daemon socket {src}"));
        }
        socks
            .iter()
            .find(|k| k.strip_prefix(&s).is_some_and(|r| r.starts_with('/')))
            .map(|k| format!("mounts {src}, which holds the daemon socket {k}"))
    };
    let bad: Vec<(String, _)> = mounts
        .iter()
        .filter_map(|m| hit(m.source).map(|why| (why, m.evidence(c))))
        .collect();
    if bad.is_empty() {
        return Outcome::pass("does not mount the daemon socket").with(super::mounts_evidence(c));
    }
    let (why, ev): (Vec<String>, Vec<_>) = bad.into_iter().unzip();
    Outcome::fail(why.join("; ")).with_all(ev)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn docker_sock() {
        let m = |src: &str| {
            json!({"Type": "bind", "Source": src, "Destination": "/x", "RW": true,
                   "Propagation": "rprivate"})
        };
        let got = outcomes(
            "containers.docker-sock",
            &[
                container("plain", json!({"Mounts": [m("/srv/run")]})),
                container("sock", json!({"Mounts": [m("/run/docker.sock")]})),
                container("dir", json!({"Mounts": [m("/var/run")]})),
                container(
                    "other",
                    json!({"Mounts": [m("/home/u/.docker/desktop/docker.sock")]}),
                ),
            ],
        );
        insta::assert_snapshot!(got, @r"
        plain: pass: does not mount the daemon socket [api GET /containers/plain0000000/json: Mounts: /srv/run -> /x]
        sock: fail: mounts the daemon socket /run/docker.sock [api GET /containers/sock00000000/json: Mounts.0: bind /run/docker.sock -> /x (rw, rprivate)]
        dir: fail: mounts /var/run, which holds the daemon socket /run/docker.sock [api GET /containers/dir000000000/json: Mounts.0: bind /var/run -> /x (rw, rprivate)]
        other: fail: mounts the daemon socket /home/u/.docker/desktop/docker.sock [api GET /containers/other0000000/json: Mounts.0: bind /home/u/.docker/desktop/docker.sock -> /x (rw, rprivate)]
        ");
    }
}
