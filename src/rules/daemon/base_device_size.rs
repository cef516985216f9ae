use crate::model::config::keys;
use crate::model::{Evidence, Source};
use crate::rules::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity, live_or_config};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.base-device-size",
        title: "Do not change the devicemapper base device size",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["2.11"],
        rationale: "A larger base device lets every container grow its filesystem further, which \
can fill the host's storage (denial of service).",
        decided: "The API does not report it: the effective `storage-opts` (`--storage-opt`, \
repeatable, `\"storage-opts\"`). Fail when an entry sets `dm.basesize` (the key is matched \
without case, as the devicemapper driver reads it); pass otherwise.",
        remediation: "Remove `--storage-opt dm.basesize=...` and the `dm.basesize` entry of \
`\"storage-opts\"`, and restart dockerd.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    let res = live_or_config(cx, None, |c| {
        let all = c.list(keys::STORAGE_OPTS);
        let set: Vec<(String, Evidence)> = all
            .into_iter()
            .filter(|(o, _)| {
                let key = o.split_once('=').map_or(o.as_str(), |(k, _)| k);
                key.trim().eq_ignore_ascii_case("dm.basesize")
            })
            .collect();
        let ev = set.first().map(|(_, e)| e.clone()).unwrap_or_else(|| {
            Evidence::new(
                Source::Default,
                "default",
                "storage-opts: no dm.basesize (devicemapper default 10G)",
            )
        });
        (set.into_iter().map(|(o, _)| o).collect::<Vec<_>>(), ev)
    });
    match res {
        Err(o) => o,
        Ok((set, e, w)) if set.is_empty() => {
            Outcome::pass("the base device size is not changed (no dm.basesize)")
                .with_all(e)
                .with_warnings(w)
        }
        Ok((set, e, w)) => Outcome::fail(format!(
            "the base device size is changed: {}",
            set.join(", ")
        ))
        .with_all(e)
        .with_warnings(w),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::daemon_lines;
    use serde_json::json;

    #[test]
    fn basesize_fails_other_options_pass() {
        let got = [
            daemon_lines(
                "daemon.base-device-size",
                json!({}),
                &["dockerd", "--storage-opt", "overlay2.size=1G"],
                None,
            ),
            daemon_lines(
                "daemon.base-device-size",
                json!({}),
                &["dockerd"],
                Some(r#"{"storage-opts": ["DM.BaseSize=50G"]}"#),
            ),
        ]
        .concat();
        insta::assert_snapshot!(got, @r#"
            daemon: pass: the base device size is not changed (no dm.basesize) [default default: storage-opts: no dm.basesize (devicemapper default 10G)]
            daemon: fail: the base device size is changed: DM.BaseSize=50G [daemon.json /etc/docker/daemon.json:1: "storage-opts": ["DM.BaseSize=50G"]]
            "#);
    }
}
