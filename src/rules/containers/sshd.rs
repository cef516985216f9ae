use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.sshd",
        title: "Do not run sshd within containers",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.7"],
        rationale: "An SSH server in a container is one more service to secure, patch and audit, \
and a way in that bypasses the daemon's access control; `docker exec` does the job.",
        decided: "The processes of each running container: from /proc (the cgroups of each \
process), else `GET /containers/ID/top`. Fail when one is named `sshd` (by its command's base \
name). `not_applicable` for containers that are not running; `error` when the process list is \
unknown.",
        remediation: "Remove the SSH server from the image and use `docker exec` to get a shell \
in the container.",
    },
    check: Check::Container(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    if !c.running {
        return Outcome::not_applicable("not running").with(c.evidence("/State/Running"));
    }
    let procs = match &c.processes {
        Ok(p) => p,
        Err(why) => {
            return Outcome::error(format!("the processes are unknown: {why}"))
                .with(c.processes_evidence.clone());
        }
    };
    let e = c.processes_evidence.clone();
    // `sshd: user@pts/0` is how sshd renames its session processes.
    let is_sshd = |p: &&String| {
        let cmd = p.split_whitespace().next().unwrap_or_default();
        cmd.rsplit('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(':')
            == "sshd"
    };
    if procs.iter().any(|p| is_sshd(&p)) {
        Outcome::fail("runs sshd").with(e)
    } else {
        Outcome::pass("does not run sshd").with(e)
    }
}

#[cfg(test)]
mod tests {
    use crate::model::objects::top_path;
    use crate::rules::testing::{container, lines, snapshot};
    use crate::snapshot::{ApiCall, ContainerProcess};
    use serde_json::json;

    #[test]
    fn sshd() {
        let cs = [
            container("web", json!({})),
            container("ssh", json!({})),
            container("unknown", json!({})),
            container(
                "stopped",
                json!({"State": {"Status": "exited", "Running": false}}),
            ),
        ];
        let mut snap = snapshot(json!({}), &cs, &[]);
        let api = &mut snap.daemons[0].api;
        let p = |pid, comm: &str, argv0: &str| ContainerProcess {
            pid,
            comm: comm.into(),
            argv0: Some(argv0.into()),
        };
        api.container_processes.insert(
            cs[0]["Id"].as_str().unwrap().into(),
            vec![p(10, "nginx", "nginx: master process")],
        );
        api.container_processes.insert(
            cs[1]["Id"].as_str().unwrap().into(),
            vec![p(20, "sh", "/bin/sh"), p(21, "sshd", "sshd: root@pts/0")],
        );
        api.objects.insert(
            top_path(cs[2]["Id"].as_str().unwrap()),
            ApiCall {
                error: Some("connection reset".into()),
                ..ApiCall::default()
            },
        );
        let got = lines("containers.sshd", &snap);
        insta::assert_snapshot!(got, @r"
        web: pass: does not run sshd [process /proc/*/cgroup: processes: 10 nginx]
        ssh: fail: runs sshd [process /proc/*/cgroup: processes: 20 sh, 21 sshd]
        unknown: error: the processes are unknown: GET /containers/unknown00000/top: connection reset [api GET /containers/unknown00000/top: no answer]
        stopped: not_applicable: not running [api GET /containers/stopped00000/json: State.Running: false]
        ");
    }
}
