use super::{history_hits, instruction, judge_history};
use crate::rules::{Check, Ctx, Image, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "images.add-instruction",
        title: "COPY is used instead of ADD",
        severity: Severity::Low,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["4.9"],
        rationale: "`ADD` fetches URLs and unpacks archives as it copies: content from the \
network or a tarball lands in the image without review.",
        decided: "Every layer of `GET /images/ID/history`: fail on an `ADD` instruction. The first \
layer `ADD file:... in /` of a base image (its root filesystem, from `FROM scratch`) is not \
counted.",
        remediation: "Use `COPY` for local files; fetch remote content with a verified download \
(`curl` and a checksum) in a `RUN`.",
    },
    check: Check::Image(check),
    fix: None,
};

fn check(_cx: &Ctx<'_>, i: &Image) -> Outcome {
    let hits = history_hits(i, |n, c| {
        let (word, args) = instruction(c);
        word == "ADD"
            && !(n == 0 && args.starts_with("file:") && args.trim_end().ends_with(" in /"))
    });
    match hits {
        Err(o) => o,
        Ok(hits) => judge_history(i, hits, "ADD is used", "no ADD instruction"),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{image, image_outcomes};
    use serde_json::json;

    #[test]
    fn add_instruction() {
        let got = image_outcomes(
            "images.add-instruction",
            &[
                image(
                    "base",
                    json!({}),
                    &[
                        "/bin/sh -c #(nop) ADD file:1 in / ",
                        "/bin/sh -c #(nop) COPY dir:2 in /app ",
                    ],
                ),
                image(
                    "remote",
                    json!({}),
                    &[
                        "/bin/sh -c #(nop) ADD file:1 in / ",
                        "/bin/sh -c #(nop) ADD https://example.invalid/x.tgz /opt ",
                    ],
                ),
            ],
        );
        insta::assert_snapshot!(got, @r"
            base:latest: pass: no ADD instruction [api GET /images/base00000000/history: 2 layer(s) read]
            remote:latest: fail: ADD is used (1 layer(s)) [api GET /images/remote000000/history: layer 2: /bin/sh -c #(nop) ADD https://example.invalid/x.tgz /opt ]
            ");
    }
}
