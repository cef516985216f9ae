use crate::model::config::keys;
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, live_or_config};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.experimental",
        title: "Do not enable experimental features",
        severity: Severity::Medium,
        seed_item: Some(9),
        profile: Profile::Seed,
        cis: &["2.18"],
        rationale: "Experimental features are not fully tested and their API is not stable: not for \
production.",
        decided: "Live: `ExperimentalBuild` of `GET /info`. Otherwise the effective `experimental` \
from the command line and daemon.json (default false). Pass when it is false.",
        remediation: "Remove `--experimental` and `\"experimental\": true` (or set it to false) and \
restart dockerd.",
    },
    check: Check::Daemon(check),
    fix: Some(fix),
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let live = cx.view.live.as_ref().and_then(|l| l.experimental.as_ref());
    match live_or_config(cx, live, |c| c.bool(keys::EXPERIMENTAL)) {
        Err(o) => o,
        Ok((false, e, w)) => Outcome::pass("experimental features are off")
            .with_all(e)
            .with_warnings(w),
        Ok((true, e, w)) => Outcome::fail("experimental features are enabled")
            .with_all(e)
            .with_warnings(w),
    }
}

fn fix(_cx: &crate::rules::remedy::FixCx<'_>) -> Result<crate::rules::remedy::FixSpec, String> {
    Ok(crate::rules::remedy::FixSpec::set(
        "experimental",
        serde_json::Value::Bool(false),
    ))
}
