use super::{Expect, Target, Targets};
use crate::rules::remedy::{FixCx, FixSpec};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "files.docker-service",
        title: "docker.service and its drop-ins are owned by root:root with mode 0644 or stricter",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["3.1", "3.2"],
        rationale: "The service unit decides the command line dockerd runs with, as root: whoever \
can write it or one of its drop-ins can change every daemon setting at the next start.",
        decided: "The unit systemd really uses (the highest-priority docker.service in the unit \
search path, the daemon's own unit from its cgroup, a rootless daemon's user unit, or `--unit \
FILE`) and every drop-in applied to it. Pass when each is owned by uid 0 and gid 0 (a rootless \
daemon's user unit may belong to its user) and has no permission bit outside 0644: modes are \
compared as bits, so 0622 fails. `not_applicable` when dockerd is not started by a unit or the \
unit is masked.",
        remediation: "`chown root:root` and `chmod 0644` (or stricter: remove bits, never add \
them) the unit file and each drop-in named in the verdict, then `systemctl daemon-reload`.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn targets(cx: &Ctx<'_>) -> Targets {
    let Some(svc) = &cx.daemon.service else {
        return Err(Outcome::not_applicable(
            "dockerd is not started by a systemd service",
        ));
    };
    let Some(unit) = &svc.unit_path else {
        return Err(Outcome::not_applicable(format!(
            "no {} unit file found",
            svc.name
        )));
    };
    if let Some(p) = svc.problems.iter().find(|p| p.evidence.detail == "masked") {
        return Err(Outcome::not_applicable(p.message.clone()).with(p.evidence.clone()));
    }
    let expect = Expect::daemon_owned(cx, 0o644);
    let mut targets = vec![Target::new(unit, "unit", expect.clone()).required()];
    targets.extend(
        svc.dropins
            .iter()
            .map(|d| Target::new(d, "drop-in", expect.clone()).required()),
    );
    Ok((targets, "no unit file".into()))
}

fn check(cx: &Ctx<'_>) -> Outcome {
    super::judged(cx, targets(cx))
}

fn fix(cx: &FixCx<'_>) -> Result<FixSpec, String> {
    super::fix_targets(cx, targets)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{lines, snapshot, with_dir, with_text};
    use serde_json::json;

    const UNIT: &str = "/etc/systemd/system/docker.service";
    const DROPIN: &str = "/etc/systemd/system/docker.service.d/override.conf";

    fn snap(dropin_mode: u32) -> String {
        let mut s = snapshot(json!({}), &[], &[]);
        s.unit_file = Some(UNIT.into());
        with_text(
            &mut s,
            UNIT,
            "[Service]\nExecStart=/usr/bin/dockerd\n",
            0o644,
            0,
            0,
        );
        with_dir(
            &mut s,
            "/etc/systemd/system/docker.service.d",
            Some(&["override.conf"]),
        );
        with_text(&mut s, DROPIN, "[Service]\n", dropin_mode, 0, 0);
        lines("files.docker-service", &s)
    }

    #[test]
    fn unit_and_dropins() {
        insta::assert_snapshot!(snap(0o600), @r"
        daemon: pass: /etc/systemd/system/docker.service, /etc/systemd/system/docker.service.d/override.conf: root:root, 0644 or stricter [file /etc/systemd/system/docker.service: mode 0644, owner 0:0; file /etc/systemd/system/docker.service.d/override.conf: mode 0600, owner 0:0]
        ");
        // 622 is below 644 as a number (docker-bench-security passes it).
        insta::assert_snapshot!(snap(0o622), @r"
        daemon: fail: /etc/systemd/system/docker.service.d/override.conf (drop-in): mode 0622 has bits 0022 outside 0644 [file /etc/systemd/system/docker.service: mode 0644, owner 0:0; file /etc/systemd/system/docker.service.d/override.conf: mode 0622, owner 0:0]
        ");
    }

    #[test]
    fn no_unit() {
        let s = snapshot(json!({}), &[], &[]);
        insta::assert_snapshot!(lines("files.docker-service", &s), @r"
        daemon: not_applicable: dockerd is not started by a systemd service []
        ");
    }
}
