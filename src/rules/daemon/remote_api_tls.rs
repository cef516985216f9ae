use super::helpers::tcp_sockets_unknown;
use crate::model::certs::parse_pem_certs;
use crate::model::daemon::fmt_addr;
use crate::model::{Evidence, Source};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, config, is_running};

/// A certificate expiring within this many seconds passes with a warning.
const EXPIRY_WARNING_SECS: i64 = 30 * 24 * 3600;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.remote-api-tls",
        title: "Remote access to the Engine API uses TLS with client verification",
        severity: Severity::High,
        seed_item: Some(8),
        profile: Profile::Seed,
        cis: &["2.7", "3.9", "3.11", "3.13", "3.14"],
        rationale: "If the daemon must be reachable over the network, TLS with client certificates \
is the only built-in authentication; a missing, unprotected or expired key or certificate breaks \
it or lets anyone impersonate the daemon.",
        decided: "`not_applicable` without TCP listeners. Otherwise: TLS on with client \
verification (`--tlsverify`/`\"tlsverify\": true`; `--tls` alone also verifies clients, \
`--tlsverify=false` does not), no probe answered without a client certificate, the CA, \
certificate and key files in effect exist (flags, daemon.json, or $DOCKER_CERT_PATH / \
~/.docker defaults), the key is owned by root and not readable by group or others, and no \
certificate is expired or not yet valid at collection time. A certificate expiring within 30 \
days passes with a warning.",
        remediation: "Set `\"tlsverify\": true`, `\"tlscacert\"`, `\"tlscert\"`, `\"tlskey\"` in \
/etc/docker/daemon.json (`dockhard tls init DIR` makes a CA, server and client certificate), \
`chown root:root` and `chmod 0400` the key, renew certificates before they expire, and restart \
dockerd.",
    },
    check: Check::Daemon(check),
    fix: Some(tls_fix),
};

fn check(cx: &Ctx<'_>) -> Outcome {
    if let Some(o) = tcp_sockets_unknown(cx) {
        return o;
    }
    if is_running(cx) && cx.view.tcp.is_empty() {
        return Outcome::not_applicable("the daemon holds no TCP listener");
    }
    let cfg = match config(cx) {
        Ok(c) => c,
        Err(o) => return o,
    };
    if cx.view.tcp.is_empty() {
        return Outcome::not_applicable("the daemon has no TCP listener");
    }
    let tls = cfg.tls();
    let listeners: Vec<String> = cx
        .view
        .tcp
        .iter()
        .map(|l| fmt_addr(&l.addr, l.port))
        .collect();
    let mut evidence: Vec<Evidence> = cx.view.tcp.iter().map(|l| l.evidence.clone()).collect();
    evidence.extend(tls.evidence.iter().cloned());
    let mut failures = Vec::new();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    if !tls.enabled {
        failures.push("TLS is off".to_string());
    } else if !tls.verify_clients {
        failures
            .push("TLS is on but client certificates are not verified (tlsverify=false)".into());
    }
    for l in &cx.view.tcp {
        if let Some(p) = &l.probe {
            if let crate::snapshot::ProbeOutcome::Answered { status, .. } = &p.tls_no_client_cert {
                failures.push(format!(
                    "{} answered HTTP {status} over TLS without a client certificate",
                    fmt_addr(&p.target.addr, p.target.port)
                ));
            }
        }
    }
    if tls.enabled {
        let now = cx.snap.collected_unix;
        for (what, f) in [("CA", &tls.ca), ("certificate", &tls.cert)] {
            let Some((path, e)) = f else {
                failures.push(format!("no TLS {what} is configured"));
                continue;
            };
            evidence.push(e.clone());
            match cx.snap.file(path) {
                None => errors.push(format!("{path} ({what}) was not collected")),
                Some(fe) if fe.missing => failures.push(format!("{path} ({what}) does not exist")),
                Some(fe) => match fe.text.as_deref() {
                    None => errors.push(format!(
                        "{path} ({what}): {}",
                        fe.error.as_deref().unwrap_or("unreadable")
                    )),
                    Some(text) => match parse_pem_certs(text) {
                        Err(err) => failures.push(format!("{path} ({what}): {err}")),
                        Ok(certs) => {
                            for c in certs {
                                let Some(now) = now else {
                                    errors.push("the collection time is unknown".into());
                                    break;
                                };
                                evidence.push(Evidence::new(
                                    Source::File,
                                    path.clone(),
                                    format!(
                                        "{what} `{}` valid {} to {}",
                                        c.subject,
                                        crate::timefmt::rfc3339(c.not_before),
                                        crate::timefmt::rfc3339(c.not_after)
                                    ),
                                ));
                                if c.not_after < now {
                                    failures
                                        .push(format!("{path} ({what}) `{}` expired", c.subject));
                                } else if c.not_before > now {
                                    failures.push(format!(
                                        "{path} ({what}) `{}` is not yet valid",
                                        c.subject
                                    ));
                                } else if c.not_after - now < EXPIRY_WARNING_SECS {
                                    warnings.push(format!(
                                        "{path} ({what}) `{}` expires in {} days",
                                        c.subject,
                                        (c.not_after - now) / 86400
                                    ));
                                }
                            }
                        }
                    },
                },
            }
        }
        match &tls.key {
            None => failures.push("no TLS key is configured".into()),
            Some((path, e)) => {
                evidence.push(e.clone());
                match cx.snap.file(path) {
                    None => errors.push(format!("{path} (key) was not collected")),
                    Some(fe) if fe.missing => failures.push(format!("{path} (key) does not exist")),
                    Some(fe) => match &fe.meta {
                        None => errors.push(format!(
                            "{path} (key): {}",
                            fe.error.as_deref().unwrap_or("no metadata")
                        )),
                        Some(m) => {
                            evidence.push(Evidence::new(
                                Source::File,
                                path.clone(),
                                format!("key owner uid {} mode {:04o}", m.uid, m.mode),
                            ));
                            if m.uid != 0 {
                                failures.push(format!(
                                    "{path} (key) is owned by uid {}, not root",
                                    m.uid
                                ));
                            }
                            if m.mode & 0o044 != 0 {
                                failures.push(format!(
                                    "{path} (key) is readable by group or others (mode {:04o})",
                                    m.mode
                                ));
                            }
                        }
                    },
                }
            }
        }
    }
    let subject = listeners.join(", ");
    if !failures.is_empty() {
        Outcome::fail(format!("{subject}: {}", failures.join("; ")))
            .with_all(evidence)
            .with_warnings(errors)
            .with_warnings(warnings)
    } else if !errors.is_empty() {
        Outcome::error(format!("{subject}: {}", errors.join("; "))).with_all(evidence)
    } else {
        Outcome::pass(format!(
            "{subject}: TLS with client verification, key and certificates in order"
        ))
        .with_all(evidence)
        .with_warnings(warnings)
    }
}

/// The fix of the TCP listener rules: TLS with client verification, with
/// the certificate files given by --tls-ca/--tls-cert/--tls-key. Listeners
/// are never removed.
pub(crate) fn tls_fix(
    cx: &crate::rules::remedy::FixCx<'_>,
) -> Result<crate::rules::remedy::FixSpec, String> {
    use crate::rules::remedy::{Change, FixSpec, Hazard, exists};
    let i = cx.inputs;
    let (Some(ca), Some(cert), Some(key)) = (&i.tls_ca, &i.tls_cert, &i.tls_key) else {
        return Err(
            "needs --tls-ca FILE --tls-cert FILE --tls-key FILE (TCP listeners are not removed silently: remove them by hand if they are not needed)"
                .to_string(),
        );
    };
    let mut spec = FixSpec::default();
    spec.changes.push(Change::Set {
        key: "tlsverify".into(),
        value: serde_json::Value::Bool(true),
    });
    for (k, p) in [("tlscacert", ca), ("tlscert", cert), ("tlskey", key)] {
        spec.changes.push(Change::Set {
            key: k.into(),
            value: serde_json::Value::String(p.clone()),
        });
        let readable = if k == "tlskey" {
            exists(cx.snap, p)
        } else {
            cx.snap.text(p).is_some()
        };
        if !readable {
            spec.hazards.push(Hazard::blocking(format!(
                "{k}: {p} is not a readable file: dockerd would not start with tlsverify"
            )));
        }
    }
    spec.hazards.push(Hazard::warning(
        "clients of the TCP listeners then need a certificate signed by the CA (docker --tlsverify)",
    ));
    Ok(spec)
}
