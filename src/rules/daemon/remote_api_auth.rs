use super::helpers::tcp_sockets_unknown;
use crate::model::daemon::fmt_addr;
use crate::model::{Evidence, Source};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, config, is_running};
use crate::snapshot::{ProbeEvidence, ProbeOutcome};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.remote-api-auth",
        title: "No unauthenticated remote access to the Engine API",
        severity: Severity::Critical,
        seed_item: Some(2),
        profile: Profile::Seed,
        cis: &["2.7"],
        rationale: "dockerd runs as root: anyone who can reach an unauthenticated TCP listener \
controls the host (`docker -H tcp://host:2375 run --privileged -v /:/host ...`).",
        decided: "Every TCP listener the daemon holds (its sockets in /proc, including those \
passed by socket activation) is probed as an attacker would: plain HTTP `GET /_ping`, then TLS \
without a client certificate. An answer is proof of exposure. Where a probe cannot decide, \
or for the next start, the configuration decides: TLS on and client certificates required \
(`--tlsverify`, not `--tlsverify=false`). Pass when no listener accepts a client without a \
verified certificate.",
        remediation: "Remove TCP listeners (`-H tcp://...`, `hosts`, TCP `ListenStream=` of \
docker.socket), or require client certificates: `\"tlsverify\": true` with `tlscacert`, \
`tlscert`, `tlskey` (see `dockhard tls init`). Use `ssh://` from the client instead of TCP.",
    },
    check: Check::Daemon(check),
    fix: Some(super::remote_api_tls::tls_fix),
};

fn check(cx: &Ctx<'_>) -> Outcome {
    if let Some(o) = tcp_sockets_unknown(cx) {
        return o;
    }
    if is_running(cx) && cx.view.tcp.is_empty() {
        return Outcome::pass("the daemon holds no TCP listener");
    }
    let tls = match config(cx) {
        Ok(c) => Some(c.tls()),
        // Live probes still decide for a running daemon.
        Err(o) if !is_running(cx) => return o,
        Err(_) => None,
    };
    if cx.view.tcp.is_empty() {
        return Outcome::pass("the daemon has no TCP listener");
    }
    let mut exposed = Vec::new();
    let mut undecided = Vec::new();
    let mut evidence = Vec::new();
    for l in &cx.view.tcp {
        let addr = fmt_addr(&l.addr, l.port);
        evidence.push(l.evidence.clone());
        match l.probe.as_ref().map(probe_verdict) {
            Some(Verdict::Exposed(e)) => {
                evidence.push(e);
                exposed.push(addr);
                continue;
            }
            Some(Verdict::Refused(e)) => {
                evidence.push(e);
                continue;
            }
            Some(Verdict::Undecided(e)) => evidence.push(e),
            None => {}
        }
        match &tls {
            Some(t) if t.enabled && t.verify_clients => {
                evidence.extend(t.evidence.iter().cloned());
            }
            Some(t) => {
                evidence.extend(t.evidence.iter().cloned());
                exposed.push(addr);
            }
            None => undecided.push(addr),
        }
    }
    if !exposed.is_empty() {
        let how = if is_running(cx) {
            "accepts"
        } else {
            "would accept"
        };
        return Outcome::fail(format!(
            "{} {how} clients without a verified certificate",
            exposed.join(", ")
        ))
        .with_all(evidence);
    }
    if !undecided.is_empty() {
        return Outcome::error(format!(
            "cannot tell whether {} requires client certificates: the configuration is unknown",
            undecided.join(", ")
        ))
        .with_all(evidence);
    }
    Outcome::pass("every TCP listener requires a verified client certificate").with_all(evidence)
}

enum Verdict {
    Exposed(Evidence),
    Refused(Evidence),
    Undecided(Evidence),
}

fn probe_verdict(p: &ProbeEvidence) -> Verdict {
    let loc = fmt_addr(&p.target.addr, p.target.port);
    let ev = |what: &str, detail: &str| {
        Evidence::new(Source::Probe, loc.clone(), format!("{what}: {detail}"))
    };
    match (&p.plain_http, &p.tls_no_client_cert) {
        // The probe's detail names the request and the answer.
        (ProbeOutcome::Answered { detail, .. }, _) => {
            Verdict::Exposed(ev("answered without authentication", detail))
        }
        (_, ProbeOutcome::Answered { detail, .. }) => {
            Verdict::Exposed(ev("answered without a client certificate", detail))
        }
        (_, ProbeOutcome::Refused { detail }) => {
            Verdict::Refused(ev("TLS without a client certificate refused", detail))
        }
        (ProbeOutcome::Refused { detail }, ProbeOutcome::Failed { detail: d2 }) => {
            Verdict::Undecided(ev(
                "plain HTTP refused, TLS probe failed",
                &format!("{detail}; {d2}"),
            ))
        }
        (a, b) => Verdict::Undecided(ev(
            "probe could not decide",
            &format!("{}; {}", describe(a), describe(b)),
        )),
    }
}

fn describe(o: &ProbeOutcome) -> String {
    match o {
        ProbeOutcome::Answered { status, detail } => format!("answered HTTP {status} {detail}"),
        ProbeOutcome::Refused { detail } => format!("refused: {detail}"),
        ProbeOutcome::Failed { detail } => format!("failed: {detail}"),
        ProbeOutcome::Skipped => "skipped".into(),
    }
}
