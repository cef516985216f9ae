//! Section 4 of the CIS Docker Benchmark: one verdict per image, from the
//! image's config and history (no container is run, nothing is exported).

use crate::rules::{Image, Outcome};

pub mod add_instruction;
pub mod healthcheck;
pub mod manual_review;
pub mod sprawl;
pub mod update_alone;
pub mod user;

/// The layers of an image's history (oldest first, numbered from 1) whose
/// `CreatedBy` satisfies `hit`; an `error` outcome when the history is
/// unknown.
pub(crate) fn history_hits(
    i: &Image,
    hit: impl Fn(usize, &str) -> bool,
) -> Result<Vec<(usize, &str)>, Outcome> {
    let layers = i
        .history
        .as_ref()
        .map_err(|e| Outcome::error(format!("the image history is unknown: {e}")))?;
    Ok(layers
        .iter()
        .enumerate()
        .filter(|(n, c)| hit(*n, c))
        .map(|(n, c)| (n + 1, c.as_str()))
        .collect())
}

/// Pass or fail on the layers found, each cited as evidence.
pub(crate) fn judge_history(
    i: &Image,
    hits: Vec<(usize, &str)>,
    fail: &str,
    pass: &str,
) -> Outcome {
    if hits.is_empty() {
        let n = i.history.as_ref().map(Vec::len).unwrap_or(0);
        return Outcome::pass(pass).with(i.history_evidence(format!("{n} layer(s) read")));
    }
    let mut o = Outcome::fail(format!("{fail} ({} layer(s))", hits.len()));
    for (n, c) in hits {
        o = o.with(i.history_evidence(format!(
            "layer {n}: {}",
            crate::model::objects::field_text(Some(&serde_json::Value::String(c.to_string())))
        )));
    }
    o
}

/// The Dockerfile instruction of a history entry: `/bin/sh -c #(nop)  ADD
/// ...` -> `ADD ...`; a `RUN` is `/bin/sh -c CMD` (or `|N ... /bin/sh -c`
/// with build arguments).
pub(crate) fn instruction(created_by: &str) -> (&str, &str) {
    let s = created_by.trim();
    if let Some(i) = s.find("#(nop)") {
        let rest = s[i + 6..].trim_start();
        let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        return (word, args.trim_start());
    }
    // BuildKit writes the instruction itself: `RUN /bin/sh -c ...`, `ADD ...`.
    let (word, args) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
    if word.chars().all(|c| c.is_ascii_uppercase()) && !word.is_empty() {
        return (word, args.trim_start());
    }
    let run = s.find("/bin/sh -c").map(|i| &s[i + 10..]).unwrap_or(s);
    ("RUN", run.trim_start())
}

#[cfg(test)]
mod tests {
    use super::instruction;

    #[test]
    fn instructions_from_history() {
        assert_eq!(
            instruction("/bin/sh -c #(nop) ADD file:abc in / "),
            ("ADD", "file:abc in /")
        );
        assert_eq!(
            instruction("/bin/sh -c #(nop)  CMD [\"sh\"]"),
            ("CMD", "[\"sh\"]")
        );
        assert_eq!(
            instruction("/bin/sh -c apt-get update"),
            ("RUN", "apt-get update")
        );
        assert_eq!(instruction("|1 V=2 /bin/sh -c make"), ("RUN", "make"));
        assert_eq!(
            instruction("COPY app /app # buildkit"),
            ("COPY", "app /app # buildkit")
        );
        assert_eq!(instruction(""), ("RUN", ""));
    }
}
