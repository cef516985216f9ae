use super::{Expect, Target, Targets};
use crate::model::config::FileState;
use crate::rules::remedy::{FixCx, FixSpec};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "files.daemon-json",
        title: "The daemon.json in use is owned by root:root with mode 0644 or stricter",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["3.17", "3.18"],
        rationale: "daemon.json holds the daemon's settings, some applied by a mere SIGHUP: \
whoever can write it controls the daemon.",
        decided: "The file the daemon really reads: `--config-file` (either form), else \
/etc/docker/daemon.json, or a rootless daemon's $XDG_CONFIG_HOME/docker/daemon.json (which its \
user may own). Pass when it is owned by uid 0 and gid 0 and has no permission bit outside 0644 \
(compared as bits: 0622 fails). `not_applicable` when the default file does not exist (dockerd \
then uses its defaults); a `--config-file` that does not exist fails (dockerd does not start).",
        remediation: "`chown root:root` and `chmod 0644` (or stricter) the file named in the \
verdict.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn targets(cx: &Ctx<'_>) -> Targets {
    // A daemon.json dockerd would refuse still has an owner and a mode.
    let cfg =
        cx.view.config.as_ref().map_err(|e| {
            Outcome::error(format!("the configuration could not be determined: {e}"))
        })?;
    let p = &cfg.config_path;
    let mut target = Target::new(&p.path, "daemon.json", Expect::daemon_owned(cx, 0o644))
        .from(p.evidence.clone());
    if cfg.file_state == FileState::AbsentExplicit {
        target = target.required();
    }
    Ok((
        vec![target],
        format!("{} does not exist: dockerd uses its defaults", p.path),
    ))
}

fn check(cx: &Ctx<'_>) -> Outcome {
    super::judged(cx, targets(cx))
}

fn fix(cx: &FixCx<'_>) -> Result<FixSpec, String> {
    super::fix_targets(cx, targets)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{lines, snapshot, with_argv, with_text};
    use serde_json::json;

    fn run(mode: u32, gid: u32) -> String {
        let mut s = snapshot(json!({}), &[], &[]);
        with_argv(&mut s, &["dockerd", "--config-file", "/srv/daemon.json"]);
        with_text(&mut s, "/srv/daemon.json", "{}", mode, 0, gid);
        lines("files.daemon-json", &s)
    }

    #[test]
    fn the_file_read() {
        insta::assert_snapshot!(run(0o640, 0), @r"
        daemon: pass: /srv/daemon.json: root:root, 0644 or stricter [argv argv[1]: --config-file /srv/daemon.json; file /srv/daemon.json: mode 0640, owner 0:0]
        ");
        insta::assert_snapshot!(run(0o622, 0), @r"
        daemon: fail: /srv/daemon.json (daemon.json): mode 0622 has bits 0022 outside 0644 [argv argv[1]: --config-file /srv/daemon.json; file /srv/daemon.json: mode 0622, owner 0:0]
        ");
        insta::assert_snapshot!(run(0o644, 998), @r"
        daemon: fail: /srv/daemon.json (daemon.json): group gid 998, not root:root [argv argv[1]: --config-file /srv/daemon.json; file /srv/daemon.json: mode 0644, owner 0:998]
        ");
    }

    #[test]
    fn absent_default() {
        insta::assert_snapshot!(lines("files.daemon-json", &snapshot(json!({}), &[], &[])), @r"
        daemon: not_applicable: /etc/docker/daemon.json does not exist: dockerd uses its defaults [default default: config-file: dockerd default /etc/docker/daemon.json; file /etc/docker/daemon.json: does not exist]
        ");
    }
}
