use super::helpers::verdict;
use crate::model::config::keys;
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, live_or_config};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.log-level",
        title: "Set the daemon's logging level to info",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["2.3"],
        rationale: "At `info` dockerd logs the events worth auditing; lower levels (warn, error, \
fatal) lose them, `debug` logs far more than needed, including request details.",
        decided: "Debug mode first: live `Debug` of `GET /info`, else the effective `debug` \
(`-D`, `--debug`, `\"debug\": true`; Go booleans, `--debug=false` is off); debug mode logs at \
debug and fails. Then the effective `log-level` (`-l`, `--log-level`, `\"log-level\"`; the API \
does not report it), default `info`. Pass when it is `info` (any case, as logrus parses it).",
        remediation: "Remove `--log-level`/`-D` and `\"log-level\"`/`\"debug\"` (or set \
`\"log-level\": \"info\"`) and restart dockerd.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let live = cx.view.live.as_ref().and_then(|l| l.debug.as_ref());
    let (debug, mut ev, mut warn) = match live_or_config(cx, live, |c| c.bool(keys::DEBUG)) {
        Err(o) => return o,
        Ok(x) => x,
    };
    if debug {
        return Outcome::fail("debug mode is on: the daemon logs at level debug")
            .with_all(ev)
            .with_warnings(warn);
    }
    let level = live_or_config(cx, None, |c| {
        let (v, e) = c.string(keys::LOG_LEVEL);
        (v.unwrap_or_else(|| "info".into()), e)
    });
    match level {
        Err(o) => o,
        Ok((l, e, w)) => {
            ev.extend(e);
            warn.extend(w);
            verdict(
                l.eq_ignore_ascii_case("info"),
                "the log level is info",
                format!("the log level is `{l}`, not info"),
                ev,
                warn,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::daemon_lines;
    use serde_json::json;

    #[test]
    fn default_passes_debug_and_other_levels_fail() {
        let got = [
            daemon_lines(
                "daemon.log-level",
                json!({"Debug": false}),
                &["dockerd"],
                None,
            ),
            daemon_lines(
                "daemon.log-level",
                json!({"Debug": true}),
                &["dockerd", "-D"],
                None,
            ),
            daemon_lines(
                "daemon.log-level",
                json!({"Debug": false}),
                &["dockerd", "--log-level=warn"],
                None,
            ),
            daemon_lines(
                "daemon.log-level",
                json!({"Debug": false}),
                &["dockerd", "--debug=false"],
                Some(r#"{"log-level": "INFO"}"#),
            ),
        ]
        .concat();
        insta::assert_snapshot!(got, @r#"
            daemon: pass: the log level is info [api GET /info: Debug: false; default default: debug: dockerd default false; default default: log-level: dockerd default "info"]
            daemon: fail: debug mode is on: the daemon logs at level debug [api GET /info: Debug: true; argv argv[1]: -D]
            daemon: fail: the log level is `warn`, not info [api GET /info: Debug: false; default default: debug: dockerd default false; argv argv[1]: --log-level=warn]
            daemon: pass: the log level is info [api GET /info: Debug: false; argv argv[1]: --debug=false; daemon.json /etc/docker/daemon.json:1: "log-level": "INFO"]
            "#);
    }
}
