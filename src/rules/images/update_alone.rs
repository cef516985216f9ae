use super::{history_hits, instruction, judge_history};
use crate::rules::{Check, Ctx, Image, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "images.update-alone",
        title: "Package index updates are not a layer of their own",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["4.7"],
        rationale: "A `RUN apt-get update` on its own line is cached as its own layer: later \
builds reuse the stale index and install outdated (vulnerable) packages.",
        decided: "Every `RUN` layer in `GET /images/ID/history`: fail when it updates a package \
index (`apt-get update`, `apt update`, `apk update`, `yum/dnf makecache`, `zypper refresh`) \
without installing or upgrading anything in the same instruction.",
        remediation: "Combine the update with the install in one `RUN` (`apt-get update && \
apt-get install -y ...`) and rebuild.",
    },
    check: Check::Image(check),
    fix: None,
};

const UPDATES: &[&str] = &[
    "apt-get update",
    "apt update",
    "apk update",
    "yum makecache",
    "dnf makecache",
    "zypper refresh",
    "zypper ref",
];
const INSTALLS: &[&str] = &[
    " install",
    " upgrade",
    " add ",
    " dist-upgrade",
    " update -y",
];

fn alone(created_by: &str) -> bool {
    let (word, cmd) = instruction(created_by);
    let cmd = format!(" {} ", cmd.split_whitespace().collect::<Vec<_>>().join(" "));
    word == "RUN"
        && UPDATES
            .iter()
            .any(|u| cmd.contains(&format!(" {u} ")) || cmd.contains(&format!(" {u};")))
        && !INSTALLS.iter().any(|i| cmd.contains(i))
}

fn check(_cx: &Ctx<'_>, i: &Image) -> Outcome {
    match history_hits(i, |_, c| alone(c)) {
        Err(o) => o,
        Ok(hits) => judge_history(
            i,
            hits,
            "a package index update is a layer of its own",
            "no package index update without an install",
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{image, image_outcomes};
    use serde_json::json;

    #[test]
    fn update_alone() {
        let got = image_outcomes(
            "images.update-alone",
            &[
                image(
                    "good",
                    json!({}),
                    &[
                        "/bin/sh -c #(nop) ADD file:1 in / ",
                        "/bin/sh -c apt-get update && apt-get install -y curl",
                    ],
                ),
                image(
                    "stale",
                    json!({}),
                    &[
                        "/bin/sh -c apt-get update",
                        "/bin/sh -c apt-get install -y curl",
                    ],
                ),
            ],
        );
        insta::assert_snapshot!(got, @r"
            good:latest: pass: no package index update without an install [api GET /images/good00000000/history: 2 layer(s) read]
            stale:latest: fail: a package index update is a layer of its own (1 layer(s)) [api GET /images/stale0000000/history: layer 1: /bin/sh -c apt-get update]
            ");
    }
}
