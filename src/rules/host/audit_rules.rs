use super::super::remedy::{FixCx, FixSpec, Hazard, RulesFile};
use super::super::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};
use crate::model::host::AUDIT_OWN_RULES as OWN_RULES;
use crate::model::host::{AUDIT_RULES, AUDIT_RULES_D, audit_rule_files, audit_targets};
use crate::model::{Evidence, Source};
use crate::parse::audit::{self, Watch};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "host.audit-rules",
        title: "Audit the Docker daemon, its files and its binaries",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &[
            "1.1.3", "1.1.4", "1.1.5", "1.1.6", "1.1.7", "1.1.8", "1.1.9", "1.1.10", "1.1.11",
            "1.1.12", "1.1.13", "1.1.14", "1.1.15", "1.1.16", "1.1.17", "1.1.18",
        ],
        rationale: "The daemon runs as root and its configuration decides what containers may do: \
every change to it, and every run of its binaries, should leave an audit record.",
        decided: "The audit rules loaded in the kernel (`auditctl -l`, run by `collect` when \
auditctl is installed and auditd runs), else those on disk: /etc/audit/audit.rules and \
/etc/audit/rules.d/*.rules. A path is covered by `-w PATH` or \
`-a ... -F dir=DIR` on it or a parent directory (recursive), or `-a ... -F path=PATH` on \
exactly it (`-W` and `-D` undo rules above them). The paths are those this daemon really \
uses: its executable (/proc/PID/exe, else ExecStart), /run/containerd, the data-root, \
/etc/docker, the docker.service and docker.socket units with their drop-ins, containerd's \
socket, /etc/default/docker, the daemon.json it reads, /etc/containerd/config.toml, \
/etc/sysconfig/docker, and containerd, containerd-shim, containerd-shim-runc-v1/v2 and runc \
as found along root's PATH. A path that does not exist on the host needs no watch. Fail when \
no rules file exists (auditd is not configured) or a path has no watch.",
        remediation: "Add a watch per path to /etc/audit/rules.d/docker.rules, for example \
`-w /usr/bin/dockerd -k docker` and `-w /etc/docker -k docker`, then load them with \
`augenrules --load` (or restart auditd). `dockhard fix --rule host.audit-rules` writes \
/etc/audit/rules.d/dockhard-docker.rules with a watch for each path no other rules file \
watches (other files are left alone) and loads it when auditd runs.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

/// Where the loaded rules come from, as evidence location.
const LOADED: &str = "auditctl -l";

fn check(cx: &Ctx<'_>) -> Outcome {
    let mut watches: Vec<(String, Watch)> = Vec::new();
    let mut read = 0;
    let mut unreadable = Vec::new();
    // The kernel's rules are the final word; the files are what the next
    // auditd start loads.
    // Without auditd (known not running) the kernel's rules are not what
    // its next start loads: the files are.
    let use_loaded = cx.snap.host.auditd_running != Some(false);
    let loaded = cx.snap.host.audit_loaded.as_deref().filter(|_| use_loaded);
    if let Some(text) = loaded {
        read += 1;
        watches.extend(
            audit::parse(text)
                .into_iter()
                .map(|w| (LOADED.to_string(), w)),
        );
    }
    if let Some(e) = cx
        .snap
        .host
        .audit_loaded_error
        .as_ref()
        .filter(|_| use_loaded)
    {
        unreadable.push(e.clone());
    }
    for f in audit_rule_files(cx.snap)
        .into_iter()
        .filter(|_| loaded.is_none())
    {
        match cx.snap.file(&f) {
            Some(fe) if fe.text.is_some() => {
                read += 1;
                let text = fe.text.as_deref().unwrap_or_default();
                watches.extend(audit::parse(text).into_iter().map(|w| (f.clone(), w)));
            }
            Some(fe) if fe.missing => {}
            Some(fe) => unreadable.push(format!(
                "{f}: {}",
                fe.error.as_deref().unwrap_or("no content")
            )),
            None => unreadable.push(format!("{f}: not collected")),
        }
    }
    let rules_d_listed = cx
        .snap
        .dir(AUDIT_RULES_D)
        .is_some_and(|d| d.entries.is_some() || d.missing);
    if !rules_d_listed && loaded.is_none() {
        unreadable.push(format!("{AUDIT_RULES_D}: could not be listed"));
    }
    if read == 0 {
        if !unreadable.is_empty() {
            return Outcome::error(format!(
                "the audit rules could not be read: {}",
                unreadable.join("; ")
            ));
        }
        return Outcome::fail(format!(
            "auditd is not configured: there is no {AUDIT_RULES} and no {AUDIT_RULES_D}/*.rules"
        ));
    }
    let cfg = cx.view.config.as_ref().ok();
    let mut ev = Vec::new();
    let mut uncovered = Vec::new();
    for t in audit_targets(cx.snap, cx.daemon, cfg) {
        if cx.snap.file(&t.path).is_some_and(|f| f.missing) {
            ev.push(Evidence::new(
                Source::File,
                t.path.clone(),
                format!("{}: does not exist on this host, no watch needed", t.why),
            ));
            continue;
        }
        match watches.iter().rev().find(|(_, w)| w.covers(&t.path)) {
            Some((file, w)) if file == LOADED => ev.push(Evidence::new(
                Source::Process,
                LOADED,
                format!(
                    "{}: {} is watched by {} (rule {})",
                    t.why, t.path, w.path, w.line
                ),
            )),
            Some((file, w)) => ev.push(Evidence::at_line(
                Source::File,
                file,
                w.line,
                format!("{}: {} is watched by {}", t.why, t.path, w.path),
            )),
            None => {
                ev.push(Evidence::new(
                    Source::File,
                    t.path.clone(),
                    format!("{}: no audit watch", t.why),
                ));
                uncovered.push(t.path);
            }
        }
    }
    let outcome = if uncovered.is_empty() {
        Outcome::pass("every Docker path in use has an audit watch")
    } else {
        Outcome::fail(format!("no audit watch for: {}", uncovered.join(", ")))
    };
    outcome
        .with_all(ev)
        .with_warnings(unreadable.into_iter().map(|u| format!("not read: {u}")))
}

/// A path that can be written in a `-w PATH` line (no blanks, no control
/// characters, no comment sign: a path from the host cannot add a rule).
fn writable_path(p: &str) -> bool {
    p.starts_with('/')
        && !p
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '#')
}

/// `dockhard fix --rule host.audit-rules`: one file, [`OWN_RULES`], with a
/// `-w PATH -k docker` line for each path in use that no other rules file
/// watches. The other files are read and counted, never edited.
fn fix(cx: &FixCx<'_>) -> Result<FixSpec, String> {
    let snap = cx.snap;
    let load = snap.root.is_none() && snap.host.auditd_running == Some(true);
    let mut others = 0;
    let mut watches: Vec<Watch> = Vec::new();
    for f in audit_rule_files(snap)
        .into_iter()
        .filter(|f| f != OWN_RULES)
        // augenrules --load writes audit.rules again from rules.d.
        .filter(|f| !(load && f == AUDIT_RULES))
    {
        match snap.file(&f) {
            Some(fe) if fe.text.is_some() => {
                others += 1;
                watches.extend(audit::parse(fe.text.as_deref().unwrap_or_default()));
            }
            Some(fe) if fe.missing => {}
            Some(fe) => {
                return Err(format!(
                    "{f} could not be read ({}): the paths it watches are unknown",
                    fe.error.as_deref().unwrap_or("no content")
                ));
            }
            None => return Err(format!("{f} was not collected")),
        }
    }
    let cfg = cx.view.config.as_ref().ok();
    let mut hazards = Vec::new();
    let mut lines = Vec::new();
    let mut covered = 0;
    for t in audit_targets(snap, cx.daemon, cfg) {
        if snap.file(&t.path).is_some_and(|f| f.missing) {
            continue;
        }
        if watches.iter().any(|w| w.covers(&t.path)) {
            covered += 1;
        } else if writable_path(&t.path) {
            lines.push(format!("-w {} -k docker", t.path));
        } else {
            hazards.push(Hazard::warning(format!(
                "{}: {:?} cannot be written as a -w rule (blanks or control characters): watch it by hand",
                t.why, t.path
            )));
        }
    }
    let old = match snap.file(OWN_RULES) {
        None => None,
        Some(f) if f.missing => None,
        Some(f) => Some(f.text.clone().ok_or_else(|| {
            format!(
                "{OWN_RULES} exists but could not be read ({}): not replaced",
                f.error.as_deref().unwrap_or("no content")
            )
        })?),
    };
    let new = own_rules_text(&lines);
    if old.as_deref() == Some(new.as_str()) && !load {
        return Err(format!(
            "{OWN_RULES} already has these rules; they load when auditd starts (`augenrules --load`)"
        ));
    }
    if lines.is_empty() && old.is_none() && !load {
        return Err("every path in use is watched by the rules files; they load when auditd starts (`augenrules --load`)".into());
    }
    if snap.dir(AUDIT_RULES_D).is_none_or(|d| d.entries.is_none()) {
        hazards.push(Hazard::warning(format!(
            "{AUDIT_RULES_D} does not exist: is auditd installed? (the rules are written for when it is)"
        )));
    }
    let note = match (load, snap.root.is_some()) {
        (true, _) => None,
        (false, true) => Some(
            "an offline root (--root): the rules are written and load when its auditd starts"
                .to_string(),
        ),
        (false, false) => {
            Some("auditd is not running: the rules are written and load when it starts".into())
        }
    };
    Ok(FixSpec {
        hazards,
        rules_file: Some(RulesFile {
            path: OWN_RULES.to_string(),
            old,
            new,
            lines,
            others: format!(
                "{others} other rules file(s) left alone; {covered} of the paths are already covered there"
            ),
            load,
            note,
        }),
        ..FixSpec::default()
    })
}

/// The text of [`OWN_RULES`] with `lines`.
fn own_rules_text(lines: &[String]) -> String {
    let mut s = String::from(
        "# Written by dockhard (dockhard fix --rule host.audit-rules): an audit watch\n\
         # for each path this Docker daemon uses that no other rules file watches.\n\
         # The other files in /etc/audit/rules.d were left alone. dockhard rewrites\n\
         # this file; remove it with `dockhard fix --rollback` or by hand.\n",
    );
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{daemon_snapshot, lines};
    use crate::snapshot::{DirEvidence, FileEvidence, Snapshot};
    use serde_json::json;

    fn with_rules(rules: Option<&str>, missing: &[&str]) -> Snapshot {
        let mut snap = daemon_snapshot(json!({}), &["dockerd"], None);
        let gone = FileEvidence {
            missing: true,
            error: Some("not found".into()),
            ..FileEvidence::default()
        };
        snap.files.insert(
            "/etc/audit/audit.rules".into(),
            match rules {
                Some(t) => FileEvidence {
                    text: Some(t.into()),
                    ..FileEvidence::default()
                },
                None => gone.clone(),
            },
        );
        snap.dirs.insert(
            "/etc/audit/rules.d".into(),
            DirEvidence {
                missing: true,
                ..DirEvidence::default()
            },
        );
        for m in missing {
            snap.files.insert(m.to_string(), gone.clone());
        }
        snap
    }

    const ABSENT: &[&str] = &[
        "/etc/default/docker",
        "/etc/sysconfig/docker",
        "/etc/containerd/config.toml",
        "/usr/bin/containerd-shim",
        "/usr/bin/containerd-shim-runc-v1",
    ];

    #[test]
    fn no_rules_fails_missing_watches_fail_full_watches_pass() {
        let full = "-w /usr/sbin/dockerd -k docker\n-w /run/containerd -k docker\n\
                    -w /var/lib/docker -k docker\n-w /etc/docker -k docker\n\
                    -a always,exit -F path=/usr/bin/containerd -k docker\n\
                    -w /usr/bin/containerd-shim-runc-v2 -k docker\n-w /usr/bin/runc -k docker\n";
        let partial = "-w /usr/sbin/dockerd -k docker\n-w /etc/docker -k docker\n";
        let got = [
            lines("host.audit-rules", &with_rules(None, &[])),
            lines("host.audit-rules", &with_rules(Some(partial), ABSENT)),
            lines("host.audit-rules", &with_rules(Some(full), ABSENT)),
        ]
        .concat();
        insta::assert_snapshot!(got, @r"
            daemon: fail: auditd is not configured: there is no /etc/audit/audit.rules and no /etc/audit/rules.d/*.rules []
            daemon: fail: no audit watch for: /run/containerd, /var/lib/docker, /run/containerd/containerd.sock, /usr/bin/containerd, /usr/bin/containerd-shim-runc-v2, /usr/bin/runc [file /etc/audit/audit.rules:1: 1.1.3 the dockerd binary: /usr/sbin/dockerd is watched by /usr/sbin/dockerd; file /run/containerd: 1.1.4 /run/containerd: no audit watch; file /var/lib/docker: 1.1.5 the data-root: no audit watch; file /etc/audit/audit.rules:2: 1.1.6 /etc/docker: /etc/docker is watched by /etc/docker; file /run/containerd/containerd.sock: 1.1.8 containerd.sock: no audit watch; file /etc/default/docker: 1.1.10 /etc/default/docker: does not exist on this host, no watch needed; file /etc/docker/daemon.json: 1.1.11 the daemon.json in use: does not exist on this host, no watch needed; file /etc/containerd/config.toml: 1.1.12 /etc/containerd/config.toml: does not exist on this host, no watch needed; file /etc/sysconfig/docker: 1.1.13 /etc/sysconfig/docker: does not exist on this host, no watch needed; file /usr/bin/containerd: 1.1.14 containerd: no audit watch; file /usr/bin/containerd-shim: 1.1.15 containerd-shim: does not exist on this host, no watch needed; file /usr/bin/containerd-shim-runc-v1: 1.1.16 containerd-shim-runc-v1: does not exist on this host, no watch needed; file /usr/bin/containerd-shim-runc-v2: 1.1.17 containerd-shim-runc-v2: no audit watch; file /usr/bin/runc: 1.1.18 runc: no audit watch]
            daemon: pass: every Docker path in use has an audit watch [file /etc/audit/audit.rules:1: 1.1.3 the dockerd binary: /usr/sbin/dockerd is watched by /usr/sbin/dockerd; file /etc/audit/audit.rules:2: 1.1.4 /run/containerd: /run/containerd is watched by /run/containerd; file /etc/audit/audit.rules:3: 1.1.5 the data-root: /var/lib/docker is watched by /var/lib/docker; file /etc/audit/audit.rules:4: 1.1.6 /etc/docker: /etc/docker is watched by /etc/docker; file /etc/audit/audit.rules:2: 1.1.8 containerd.sock: /run/containerd/containerd.sock is watched by /run/containerd; file /etc/default/docker: 1.1.10 /etc/default/docker: does not exist on this host, no watch needed; file /etc/docker/daemon.json: 1.1.11 the daemon.json in use: does not exist on this host, no watch needed; file /etc/containerd/config.toml: 1.1.12 /etc/containerd/config.toml: does not exist on this host, no watch needed; file /etc/sysconfig/docker: 1.1.13 /etc/sysconfig/docker: does not exist on this host, no watch needed; file /etc/audit/audit.rules:5: 1.1.14 containerd: /usr/bin/containerd is watched by /usr/bin/containerd; file /usr/bin/containerd-shim: 1.1.15 containerd-shim: does not exist on this host, no watch needed; file /usr/bin/containerd-shim-runc-v1: 1.1.16 containerd-shim-runc-v1: does not exist on this host, no watch needed; file /etc/audit/audit.rules:6: 1.1.17 containerd-shim-runc-v2: /usr/bin/containerd-shim-runc-v2 is watched by /usr/bin/containerd-shim-runc-v2; file /etc/audit/audit.rules:7: 1.1.18 runc: /usr/bin/runc is watched by /usr/bin/runc]
            ");
    }

    /// The kernel's rules (`auditctl -l`) win over the files: here the
    /// files watch everything but nothing is loaded.
    #[test]
    fn loaded_rules_are_the_final_word() {
        let full = "-w /usr/sbin/dockerd -k docker\n";
        let mut snap = with_rules(Some(full), ABSENT);
        snap.host.audit_loaded = Some("No rules\n".into());
        let got = lines("host.audit-rules", &snap);
        assert!(
            got.starts_with("daemon: fail: no audit watch for: /usr/sbin/dockerd"),
            "{got}"
        );
        snap.host.audit_loaded = Some("-w /usr/sbin/dockerd -p rwxa -k docker\n".into());
        let got = lines("host.audit-rules", &snap);
        assert!(got.contains("process auditctl -l: 1.1.3 the dockerd binary: /usr/sbin/dockerd is watched by /usr/sbin/dockerd (rule 1)"), "{got}");
        assert!(!got.contains("/usr/sbin/dockerd: no audit watch"), "{got}");
    }

    /// Without auditd (no such process) the kernel's rules are not what
    /// its start loads: the files are judged.
    #[test]
    fn without_auditd_the_files_are_judged() {
        let mut snap = with_rules(Some("-w /usr/sbin/dockerd -k docker\n"), ABSENT);
        snap.host.audit_loaded = Some("No rules\n".into());
        snap.host.auditd_running = Some(false);
        let got = lines("host.audit-rules", &snap);
        assert!(
            got.contains("file /etc/audit/audit.rules:1: 1.1.3"),
            "{got}"
        );
        assert!(!got.contains("auditctl -l"), "{got}");
    }
}
