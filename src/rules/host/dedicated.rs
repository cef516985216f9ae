use crate::model::daemon::fmt_addr;
use crate::model::{Evidence, Source};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

/// Processes that belong to the container engine itself.
const ENGINE: &[&str] = &["dockerd", "docker-proxy", "containerd", "rootlesskit"];

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "host.dedicated",
        title: "Run containers on a host dedicated to them",
        severity: Severity::Low,
        seed_item: Some(0),
        profile: Profile::Seed,
        cis: &[],
        rationale: "All containers share the host's kernel; a host that also runs other services or \
sensitive work gives a container escape more to take.",
        decided: "Always `manual`: whether a host is dedicated is an organisational fact. The \
evidence lists what dockhard could see: the TCP services listening on the host that are not \
part of the container engine.",
        remediation: "Move other services off the host or into containers managed by Docker.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let others: Vec<Evidence> = cx
        .snap
        .host
        .listeners
        .iter()
        .filter(|l| !l.process.as_deref().is_some_and(|p| ENGINE.contains(&p)))
        .map(|l| {
            Evidence::new(
                Source::Socket,
                fmt_addr(&l.addr, l.port),
                match (&l.process, l.pid) {
                    (Some(p), Some(pid)) => format!("listening: {p} (pid {pid})"),
                    _ => "listening: owner unknown".to_string(),
                },
            )
        })
        .collect();
    let msg = if cx.snap.mode == crate::snapshot::Mode::Root {
        "decide by hand; an offline root filesystem shows no running services".to_string()
    } else if others.is_empty() {
        "decide by hand; no other TCP service was seen listening on this host".to_string()
    } else {
        format!(
            "decide by hand; {} other TCP service(s) listen on this host",
            others.len()
        )
    };
    Outcome::manual(msg).with_all(others)
}
