//! Generated parts of the documentation: a block between two marker lines
//! that a test renders from the code and compares. `DOCKHARD_BLESS=1` writes
//! the rendered block into the file instead (then review the diff and
//! commit it).

use std::path::Path;

/// Fails, with a line diff, unless the text of `file` (relative to the
/// repository) between the lines `begin` and `end` is `generated`. With
/// `DOCKHARD_BLESS=1` set, writes `generated` there instead. `test` is the
/// command that runs the check, for the message.
pub fn check(file: &str, begin: &str, end: &str, generated: &str, test: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let begin_line = format!("{begin}\n");
    let start = text
        .find(&begin_line)
        .unwrap_or_else(|| panic!("{file} lacks the line {begin}"))
        + begin_line.len();
    let stop = text[start..]
        .find(end)
        .unwrap_or_else(|| panic!("{file} lacks {end} after {begin}"))
        + start;
    let current = &text[start..stop];
    if current == generated {
        return;
    }
    if std::env::var_os("DOCKHARD_BLESS").is_some_and(|v| v == "1") {
        let fresh = format!("{}{generated}{}", &text[..start], &text[stop..]);
        std::fs::write(&path, fresh).unwrap_or_else(|e| panic!("{file}: {e}"));
        return;
    }
    let diff = similar::TextDiff::from_lines(current, generated);
    panic!(
        "{file} is stale between {begin} and {end} (- in the file, + generated); \
         regenerate it with `DOCKHARD_BLESS=1 {test}`:\n{}",
        diff.unified_diff()
            .context_radius(2)
            .header(file, "generated")
    );
}
