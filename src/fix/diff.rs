//! Unified diffs of the files `dockhard fix` would write, for the dry run.
//!
//! Headers are `--- a/<path>` / `+++ b/<path>` (the leading `/` of an
//! absolute path dropped, as `git diff` writes them); a file that does not
//! exist on one side is `/dev/null`. Three lines of context; a last line
//! without a newline gets git's `\ No newline at end of file` marker.
//!
//! Pure.

use similar::TextDiff;

/// The unified diff turning `old` into `new` for the file at `path`; `None`
/// means the file does not exist on that side. Empty when nothing changes.
pub fn unified_diff(path: &str, old: Option<&str>, new: Option<&str>) -> String {
    if old == new {
        return String::new();
    }
    let rel = path.trim_start_matches('/');
    let a = if old.is_some() {
        format!("a/{rel}")
    } else {
        "/dev/null".to_string()
    };
    let b = if new.is_some() {
        format!("b/{rel}")
    } else {
        "/dev/null".to_string()
    };
    let (old, new) = (old.unwrap_or(""), new.unwrap_or(""));
    let diff = TextDiff::from_lines(old, new);
    let mut out = diff
        .unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .header(&a, &b)
        .to_string();
    if out.is_empty() {
        // Only the existence changed (an empty file created or removed).
        out = format!("--- {a}\n+++ {b}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Apply a unified diff (as written by [`unified_diff`]) to `old`.
    fn apply_patch(old: &str, patch: &str) -> Option<String> {
        let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut next_old = 0usize; // index of the next old line to copy
        let mut last_pushed_from_new = false;
        for line in patch.split_inclusive('\n') {
            if line.starts_with("--- ") || line.starts_with("+++ ") {
                continue;
            }
            if let Some(h) = line.strip_prefix("@@ -") {
                let start: usize = h.split([',', ' ']).next()?.parse().ok()?;
                // `-0,0` for an empty old side; else 1-based.
                let upto = start.saturating_sub(1).max(next_old);
                let len = h
                    .split(' ')
                    .next()?
                    .split(',')
                    .nth(1)
                    .map_or(Some(1), |n| n.parse().ok())?;
                let upto = if len == 0 { start } else { upto };
                for l in old_lines.get(next_old..upto)? {
                    out.push_str(l);
                }
                next_old = upto;
                continue;
            }
            if line.starts_with("\\ No newline at end of file") {
                if last_pushed_from_new && out.ends_with('\n') {
                    out.pop();
                }
                continue;
            }
            let (sign, body) = line.split_at(1.min(line.len()));
            match sign {
                " " => {
                    out.push_str(old_lines.get(next_old)?);
                    next_old += 1;
                    last_pushed_from_new = true;
                }
                "-" => {
                    next_old += 1;
                    last_pushed_from_new = false;
                }
                "+" => {
                    out.push_str(body);
                    if !body.ends_with('\n') {
                        out.push('\n');
                    }
                    last_pushed_from_new = true;
                }
                _ => return None,
            }
        }
        for l in old_lines.get(next_old..)? {
            out.push_str(l);
        }
        Some(out)
    }

    #[test]
    fn headers_and_hunks() {
        let old = "{\n  \"debug\": true\n}\n";
        let new = "{\n  \"debug\": true,\n  \"icc\": false\n}\n";
        assert_eq!(
            unified_diff("/etc/docker/daemon.json", Some(old), Some(new)),
            "--- a/etc/docker/daemon.json\n+++ b/etc/docker/daemon.json\n@@ -1,3 +1,4 @@\n {\n-  \"debug\": true\n+  \"debug\": true,\n+  \"icc\": false\n }\n"
        );
        assert_eq!(unified_diff("/x", Some(old), Some(old)), "");
        let created = unified_diff("/etc/docker/daemon.json", None, Some("{}\n"));
        assert_eq!(
            created,
            "--- /dev/null\n+++ b/etc/docker/daemon.json\n@@ -0,0 +1 @@\n+{}\n"
        );
        assert_eq!(apply_patch("", &created), Some("{}\n".to_string()));
        let removed = unified_diff("/d.conf", Some("a\n"), None);
        assert!(removed.starts_with("--- a/d.conf\n+++ /dev/null\n"));
        assert_eq!(
            unified_diff("/e", None, Some("")),
            "--- /dev/null\n+++ b/e\n"
        );
    }

    #[test]
    fn missing_newline_marker() {
        let d = unified_diff("f", Some("{}"), Some("{\"a\":1}"));
        assert_eq!(
            d,
            "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-{}\n\\ No newline at end of file\n+{\"a\":1}\n\\ No newline at end of file\n"
        );
        assert_eq!(apply_patch("{}", &d), Some("{\"a\":1}".to_string()));
    }

    #[test]
    fn applying_the_diff_gives_what_is_written() {
        let old = crate::fix::json_edit::set_key("", "debug", &serde_json::json!(true))
            .unwrap_or_default();
        let new = crate::fix::json_edit::set_key(&old, "icc", &serde_json::json!(false))
            .unwrap_or_default();
        let d = unified_diff("/etc/docker/daemon.json", Some(&old), Some(&new));
        assert_eq!(apply_patch(&old, &d), Some(new));
    }

    proptest! {
        #[test]
        fn patch_round_trips(
            old in prop::collection::vec("[abc]{0,2}", 0..30),
            new in prop::collection::vec("[abc]{0,2}", 0..30),
            old_nl in any::<bool>(),
            new_nl in any::<bool>(),
        ) {
            let join = |v: &[String], nl: bool| {
                let mut s = v.join("\n");
                if nl && !s.is_empty() { s.push('\n'); }
                s
            };
            let (o, n) = (join(&old, old_nl), join(&new, new_nl));
            let d = unified_diff("/etc/x", Some(&o), Some(&n));
            prop_assert_eq!(apply_patch(&o, &d), Some(n.clone()), "{}", d);
        }
    }
}
