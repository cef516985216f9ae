use super::super::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};
use crate::model::{Evidence, Source};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "host.docker-version",
        title: "Keep Docker up to date",
        severity: Severity::Medium,
        seed_item: None,
        profile: Profile::All,
        cis: &["1.2.2"],
        rationale: "Each Docker release fixes vulnerabilities; an old engine keeps them.",
        decided: "Always `manual`: whether a version is current depends on the release channel \
and the distribution's backports. The evidence is the running version (`Version` and \
`ApiVersion` of `GET /version`); without a running daemon it is unknown.",
        remediation: "Upgrade the engine from your distribution or Docker's repository after \
testing, and follow the security advisories.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let Some(v) = cx.view.live.as_ref().and_then(|l| l.version.as_ref()) else {
        return Outcome::manual(
            "decide by hand; no running daemon answered GET /version: the version is unknown",
        );
    };
    let api = cx
        .snap
        .daemons
        .iter()
        .find(|d| Some(d.pid) == cx.daemon.pid)
        .and_then(|d| d.api.version.as_ref())
        .and_then(|c| c.body.as_ref())
        .and_then(|b| b.get("ApiVersion"))
        .and_then(|x| x.as_str())
        .map(|a| format!(", ApiVersion: {a}"))
        .unwrap_or_default();
    Outcome::manual(format!("decide by hand; the running version is {v}")).with(Evidence::new(
        Source::Api,
        "GET /version",
        format!("Version: {v}{api}"),
    ))
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{daemon_snapshot, lines};
    use serde_json::json;

    #[test]
    fn shows_the_running_version() {
        let mut unknown = daemon_snapshot(json!({}), &["dockerd"], None);
        unknown.daemons[0].api.version = None;
        let got = [
            lines(
                "host.docker-version",
                &daemon_snapshot(json!({}), &["dockerd"], None),
            ),
            lines("host.docker-version", &unknown),
        ]
        .concat();
        insta::assert_snapshot!(got, @r"
            daemon: manual: decide by hand; the running version is 20.10.24 [api GET /version: Version: 20.10.24, ApiVersion: 1.41]
            daemon: manual: decide by hand; no running daemon answered GET /version: the version is unknown []
            ");
    }
}
