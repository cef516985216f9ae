//! Edits of systemd units and EnvironmentFiles for `dockhard fix`.
//!
//! - [`render_exec_dropin`]: a drop-in that replaces `ExecStart=` of the
//!   service (`ExecStart=` to reset, then the new command line), every word
//!   written so that systemd gives dockerd exactly that word: `$` and `%`
//!   doubled (no variable or specifier expansion), quotes and C escapes
//!   where needed ([`exec_word`]).
//! - [`edit_exec_start`] / [`edit_env_file`]: remove or replace one flag
//!   (one word like `--icc=true`, or two like `--log-opt max-size=1g`) in the
//!   `ExecStart=` that covers a given line of a unit file, or in the
//!   `KEY=VALUE` assignment on a given line of an EnvironmentFile
//!   (`OPTIONS='--selinux-enabled --log-driver=journald'`). Every other byte
//!   of the file is kept; a word alone on a continuation line takes its line
//!   with it. Each edit is checked by parsing the result again: the edited
//!   setting must hold exactly the expected words and every other setting
//!   must be unchanged, otherwise the edit is refused with an error.
//!
//! Pure and total: never panics, whatever the input.

use super::splice;
use crate::parse::unit::ends_with_escape;
use std::fmt;

use crate::parse::envfile::parse_env_file;
use crate::parse::unit::{
    ExtractFlags, UnitEntry, Words, extract_first_word, parse_exec, parse_unit, split_words,
};

/// File name for dockhard's drop-in: it sorts after `override.conf`
/// (`systemctl edit`) and numbered drop-ins, so its `ExecStart=` wins.
pub const DROPIN_NAME: &str = "zz-dockhard.conf";

/// Why an edit could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitEditError {
    /// 1-based line the edit was asked for (0 when not about a line).
    pub line: usize,
    pub kind: UnitEditErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitEditErrorKind {
    /// No `ExecStart=` / assignment at that line.
    NoSetting,
    /// The setting does not hold the words to edit.
    NotFound,
    /// A word that cannot be written in that place, or a layout this module
    /// does not edit (the result would not parse back as expected).
    Unsupported,
}

impl fmt::Display for UnitEditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for UnitEditError {}

fn error(line: usize, kind: UnitEditErrorKind, message: String) -> UnitEditError {
    UnitEditError {
        line,
        kind,
        message,
    }
}

/// What to do with the words found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WordEdit {
    /// Remove every occurrence.
    Remove,
    /// Replace the last occurrence by these words and remove the earlier
    /// ones (the last one is the one dockerd keeps for a single-value flag).
    Replace(Vec<String>),
}

// ---------------------------------------------------------------------------
// Rendering a drop-in

fn is_bare_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_.,:=+@-$%".contains(c)
}

/// One word of an `ExecStart=` line written so that systemd passes exactly
/// `word` to the program: `$` and `%` doubled, then bare if only safe
/// characters remain, else double-quoted with `\"`, `\\` and `\xHH` for
/// control characters. A NUL cannot be written (an error).
pub fn exec_word(word: &str) -> Result<String, UnitEditError> {
    if word.contains('\0') {
        return Err(error(
            0,
            UnitEditErrorKind::Unsupported,
            format!("a command-line word cannot hold a NUL byte: {word:?}"),
        ));
    }
    let escaped = word.replace('$', "$$").replace('%', "%%");
    if !escaped.is_empty() && escaped.chars().all(is_bare_safe) {
        return Ok(escaped);
    }
    let mut out = String::from("\"");
    for c in escaped.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// A drop-in replacing the service's `ExecStart=` by `words` (the program,
/// an absolute path, then its arguments), with a header saying dockhard
/// wrote it. Long command lines are split one flag (with its value) per
/// continuation line.
pub fn render_exec_dropin(words: &[String]) -> Result<String, UnitEditError> {
    let Some(path) = words.first() else {
        return Err(error(
            0,
            UnitEditErrorKind::Unsupported,
            "ExecStart= needs at least the program".to_string(),
        ));
    };
    if !path.starts_with('/') {
        return Err(error(
            0,
            UnitEditErrorKind::Unsupported,
            format!("the program of ExecStart= must be an absolute path: {path:?}"),
        ));
    }
    let quoted = words
        .iter()
        .map(|w| exec_word(w))
        .collect::<Result<Vec<_>, _>>()?;
    let one_line = quoted.join(" ");
    let command = if one_line.len() <= 80 {
        one_line
    } else {
        // Group each flag with the words that follow it up to the next flag.
        let mut lines: Vec<String> = Vec::new();
        for (i, q) in quoted.iter().enumerate() {
            let starts_group = i <= 1 || words.get(i).is_some_and(|w| w.starts_with('-'));
            match lines.last_mut() {
                Some(last) if !starts_group => {
                    last.push(' ');
                    last.push_str(q);
                }
                _ => lines.push(q.clone()),
            }
        }
        lines.join(" \\\n    ")
    };
    Ok(format!(
        "# Written by dockhard (dockhard fix): replaces ExecStart= of the service.\n\
         # Undo with `dockhard fix --rollback`, or delete this file and run\n\
         # `systemctl daemon-reload`.\n\
         [Service]\n\
         ExecStart=\n\
         ExecStart={command}\n"
    ))
}

// ---------------------------------------------------------------------------
// Shared driver

/// A word of a setting: its text and its span (`start..end`) in the space
/// its editor works in.
#[derive(Debug, Clone)]
struct Span {
    text: String,
    start: usize,
    end: usize,
}

/// What happens to the word at an index.
enum Action<'a> {
    Remove,
    Replace(&'a str),
}

/// `(word index, action)` pairs and the words expected afterwards.
type Plan<'a> = (Vec<(usize, Action<'a>)>, Vec<String>);

/// Plan the edits: `(word index, action)` from the last index down, and the
/// words expected afterwards.
fn plan<'a>(
    words: &[String],
    target: &[String],
    edit: &WordEdit,
    replacement: &'a str,
    line: usize,
    what: &str,
) -> Result<Plan<'a>, UnitEditError> {
    if target.is_empty() {
        return Err(error(
            line,
            UnitEditErrorKind::NotFound,
            "no word to edit was given".to_string(),
        ));
    }
    let mut starts = Vec::new();
    let mut i = 0;
    while i + target.len() <= words.len() {
        if words.get(i..i + target.len()) == Some(target) {
            starts.push(i);
            i += target.len();
        } else {
            i += 1;
        }
    }
    let Some(&last) = starts.last() else {
        return Err(error(
            line,
            UnitEditErrorKind::NotFound,
            format!("{what} does not hold `{}`", target.join(" ")),
        ));
    };
    let mut actions: Vec<(usize, Action<'a>)> = Vec::new();
    let mut expected: Vec<String> = Vec::new();
    let mut j = 0;
    while j < words.len() {
        if starts.contains(&j) {
            for k in 0..target.len() {
                let replace_here = k == 0 && j == last && matches!(edit, WordEdit::Replace(_));
                if replace_here {
                    actions.push((j + k, Action::Replace(replacement)));
                    if let WordEdit::Replace(new) = edit {
                        expected.extend(new.iter().cloned());
                    }
                } else {
                    actions.push((j + k, Action::Remove));
                }
            }
            j += target.len();
        } else {
            if let Some(w) = words.get(j) {
                expected.push(w.clone());
            }
            j += 1;
        }
    }
    actions.reverse();
    Ok((actions, expected))
}

fn unsupported(line: usize, message: String) -> UnitEditError {
    error(line, UnitEditErrorKind::Unsupported, message)
}

// ---------------------------------------------------------------------------
// ExecStart= in a unit file

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Physical lines: `(start, end of content without "\r\n"/"\n", start of next)`.
fn physical_lines(text: &str) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    // parse_unit drops a BOM at the very start.
    if text.starts_with('\u{feff}') {
        start = '\u{feff}'.len_utf8();
    }
    loop {
        let rest = text.get(start..).unwrap_or("");
        match rest.find('\n') {
            Some(i) => {
                let nl = start + i;
                let end = if text.get(..nl).is_some_and(|s| s.ends_with('\r')) {
                    nl - 1
                } else {
                    nl
                };
                out.push((start, end, nl + 1));
                start = nl + 1;
            }
            None => {
                let end = if rest.ends_with('\r') {
                    text.len() - 1
                } else {
                    text.len()
                };
                out.push((start, end, text.len()));
                break;
            }
        }
    }
    out
}

/// The value of the entry starting on physical line `first` (1-based) with
/// a file offset for each byte (`None` for the space that replaces a
/// continuation backslash), and the physical lines it covers.
struct Mapped {
    value: String,
    map: Vec<Option<usize>>,
    lines: Vec<usize>,
}

fn map_entry(text: &str, lines: &[(usize, usize, usize)], first: usize) -> Option<Mapped> {
    let mut buf = String::new();
    let mut map: Vec<Option<usize>> = Vec::new();
    let mut covered = Vec::new();
    let mut n = first;
    loop {
        let &(s, e, _) = lines.get(n.checked_sub(1)?)?;
        let raw = text.get(s..e)?;
        let lead = raw.trim_start_matches(is_ws);
        if n != first && (lead.starts_with('#') || lead.starts_with(';')) {
            n += 1;
            continue;
        }
        covered.push(n);
        buf.push_str(raw);
        map.extend((s..e).map(Some));
        // Only this line can end in an escape (see parse_unit).
        if ends_with_escape(raw) {
            buf.pop();
            buf.push(' ');
            if let Some(last) = map.last_mut() {
                *last = None;
            }
            n += 1;
            if raw.is_empty() || n > lines.len() {
                break;
            }
            continue;
        }
        break;
    }
    // Value: after the first '=' and the blanks after it, trimmed.
    let lead_len = buf.len() - buf.trim_start_matches(is_ws).len();
    let l = buf.trim_matches(is_ws);
    let eq = l.find('=')?;
    let after = l.get(eq + 1..)?;
    let value = after.trim_start_matches(is_ws);
    let vstart = lead_len + eq + 1 + (after.len() - value.len());
    let vmap = map.get(vstart..vstart + value.len())?.to_vec();
    Some(Mapped {
        value: value.to_string(),
        map: vmap,
        lines: covered,
    })
}

/// The ExecStart= entry covering physical line `line`.
fn exec_entry(text: &str, line: usize) -> Option<UnitEntry> {
    parse_unit(text).entries.into_iter().find(|e| {
        e.key == "ExecStart"
            && e.section == "Service"
            && !e.value.is_empty()
            && e.line <= line
            && e.segments.last().map_or(e.line, |s| s.1) >= line
    })
}

/// The words of an ExecStart= value after the program, with value spans.
fn exec_words(value: &str) -> Vec<Span> {
    let parsed = parse_exec(value);
    let mut out = Vec::new();
    for cmd in &parsed.commands {
        for w in cmd.argv.iter().skip(usize::from(!cmd.separate_argv0)) {
            let rest = value.get(w.offset..).unwrap_or("");
            let mut cur = Words::new(rest);
            let relaxed = ExtractFlags {
                cunescape_relax: true,
                ..ExtractFlags::UNIT
            };
            let len = match extract_first_word(&mut cur, relaxed) {
                Ok(Some(_)) => {
                    let raw = rest.get(..cur.offset()).unwrap_or("");
                    raw.trim_end_matches(is_ws).len()
                }
                _ => rest.trim_end_matches(is_ws).len(),
            };
            out.push(Span {
                text: w.text.clone(),
                start: w.offset,
                end: w.offset + len,
            });
        }
    }
    out
}

/// Remove or replace one or two consecutive words (`target`, as systemd
/// reads them: unquoted, unescaped, before variable expansion) in the
/// `[Service]` `ExecStart=` that covers physical `line` of `text`.
/// Replacement words are written with [`exec_word`].
pub fn edit_exec_start(
    text: &str,
    line: usize,
    target: &[String],
    edit: &WordEdit,
) -> Result<String, UnitEditError> {
    let Some(entry) = exec_entry(text, line) else {
        return Err(error(
            line,
            UnitEditErrorKind::NoSetting,
            "no ExecStart= in [Service] at this line".to_string(),
        ));
    };
    let first = entry.line;
    let words = exec_words(&entry.value);
    let texts: Vec<String> = words.iter().map(|w| w.text.clone()).collect();
    let replacement = match edit {
        WordEdit::Remove => String::new(),
        WordEdit::Replace(new) => new
            .iter()
            .map(|w| exec_word(w).map_err(|e| unsupported(line, e.message)))
            .collect::<Result<Vec<_>, _>>()?
            .join(" "),
    };
    let (actions, expected) = plan(&texts, target, edit, &replacement, line, "ExecStart=")?;
    let mut out = text.to_string();
    for (idx, action) in actions {
        out = exec_apply_one(&out, first, idx, &action)
            .ok_or_else(|| unsupported(line, "cannot locate the word in the file".to_string()))?;
    }
    // Check: same settings, the edited one with the expected words.
    let before = parse_unit(text);
    let after = parse_unit(&out);
    let got = after
        .entries
        .iter()
        .find(|e| e.line == first && e.key == "ExecStart")
        .map(|e| {
            exec_words(&e.value)
                .into_iter()
                .map(|w| w.text)
                .collect::<Vec<_>>()
        });
    let others = |p: &crate::parse::unit::ParsedUnit| {
        p.entries
            .iter()
            .filter(|e| e.line != first)
            .map(|e| (e.section.clone(), e.key.clone(), e.value.clone()))
            .collect::<Vec<_>>()
    };
    let paths = |t: &str| {
        exec_entry(t, first).map(|e| {
            parse_exec(&e.value)
                .commands
                .iter()
                .map(|c| c.path.text.clone())
                .collect::<Vec<_>>()
        })
    };
    if got.as_ref() != Some(&expected)
        || others(&before) != others(&after)
        || before.issues.len() != after.issues.len()
        || paths(text) != paths(&out)
    {
        return Err(unsupported(
            line,
            format!(
                "editing `{}` here would not give the expected command line; edit the file by hand",
                target.join(" ")
            ),
        ));
    }
    Ok(out)
}

/// Apply one action to word `idx` of the ExecStart= starting on line `first`.
fn exec_apply_one(text: &str, first: usize, idx: usize, action: &Action<'_>) -> Option<String> {
    let lines = physical_lines(text);
    let mapped = map_entry(text, &lines, first)?;
    let w = exec_words(&mapped.value).into_iter().nth(idx)?;
    let fs = (*mapped.map.get(w.start)?)?;
    let fe = (*mapped.map.get(w.end.checked_sub(1)?)?)? + 1;
    let line_of = |off: usize| lines.iter().position(|&(s, _, n)| s <= off && off < n);
    let li = line_of(fs)?;
    if line_of(fe - 1)? != li {
        return None;
    }
    if let Action::Replace(new) = action {
        return Some(splice(text, fs, fe, new));
    }
    let &(ls, le, next) = lines.get(li)?;
    let before = text.get(ls..fs)?;
    let after = text.get(fe..le)?;
    let physical = li + 1;
    if before.trim_matches(is_ws).is_empty() && physical != first {
        let rest = after.trim_matches(is_ws);
        if rest == "\\" {
            // Alone on a continuation line: the line goes.
            return Some(splice(text, ls, next, ""));
        }
        if rest.is_empty() {
            // Alone on the last line: it goes, and the line before it no
            // longer continues.
            let pos = mapped.lines.iter().position(|&l| l == physical)?;
            let prev = *mapped.lines.get(pos.checked_sub(1)?)?;
            let &(ps, pe, _) = lines.get(prev.checked_sub(1)?)?;
            let pline = text.get(ps..pe)?;
            let body = pline.strip_suffix('\\')?.trim_end_matches(is_ws);
            let cut = ps + body.len();
            let out = splice(text, ls, next, "");
            return Some(splice(&out, cut, pe, ""));
        }
        // Other words follow on the line: take the blanks after the word.
        let blanks = after.len() - after.trim_start_matches(is_ws).len();
        return Some(splice(text, fs, fe + blanks, ""));
    }
    let blanks = before.len() - before.trim_end_matches(is_ws).len();
    if blanks > 0 {
        Some(splice(text, fs - blanks, fe, ""))
    } else {
        let after_blanks = after.len() - after.trim_start_matches(is_ws).len();
        Some(splice(text, fs, fe + after_blanks, ""))
    }
}

// ---------------------------------------------------------------------------
// EnvironmentFile= assignments

/// The decoded value of the one-line assignment at `line`, with a file
/// offset for each byte and the offset where the value's content ends.
struct EnvValue {
    key: String,
    value: String,
    map: Vec<usize>,
    end: usize,
}

fn decode_env_line(text: &str, line: usize) -> Option<EnvValue> {
    let lines = physical_lines(text);
    let &(ls, le, _) = lines.get(line.checked_sub(1)?)?;
    // physical_lines skips a BOM, parse_env_file does not: refuse it.
    if line == 1 && ls != 0 {
        return None;
    }
    let raw = text.get(ls..le)?;
    let eq = raw.find('=')?;
    let key = raw.get(..eq)?.trim_matches(is_ws).to_string();
    let mut value: Vec<u8> = Vec::new();
    let mut map: Vec<usize> = Vec::new();
    let push = |value: &mut Vec<u8>, map: &mut Vec<usize>, c: char, at: usize| {
        let mut b = [0u8; 4];
        for (k, byte) in c.encode_utf8(&mut b).bytes().enumerate() {
            value.push(byte);
            map.push(at + k);
        }
    };
    #[derive(PartialEq)]
    enum St {
        Pre,
        Plain,
        Single,
        Double,
    }
    let mut st = St::Pre;
    let mut end = ls + eq + 1;
    let mut last_ws: Option<usize> = None;
    let body = raw.get(eq + 1..)?;
    let mut it = body.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let at = ls + eq + 1 + i;
        match st {
            St::Pre => match c {
                '\'' => st = St::Single,
                '"' => st = St::Double,
                '\\' => {
                    let (_, n) = it.next()?;
                    push(&mut value, &mut map, n, at);
                    st = St::Plain;
                    end = at + 1 + n.len_utf8();
                }
                c if is_ws(c) => {}
                c => {
                    push(&mut value, &mut map, c, at);
                    st = St::Plain;
                    end = at + c.len_utf8();
                }
            },
            St::Plain => match c {
                '\\' => {
                    let (_, n) = it.next()?;
                    push(&mut value, &mut map, n, at);
                    last_ws = None;
                    end = at + 1 + n.len_utf8();
                }
                c => {
                    if !is_ws(c) {
                        last_ws = None;
                        end = at + c.len_utf8();
                    } else if last_ws.is_none() {
                        last_ws = Some(value.len());
                    }
                    push(&mut value, &mut map, c, at);
                }
            },
            St::Single => {
                if c == '\'' {
                    st = St::Pre;
                    end = at;
                } else {
                    push(&mut value, &mut map, c, at);
                    end = at + c.len_utf8();
                }
            }
            St::Double => match c {
                '"' => {
                    st = St::Pre;
                    end = at;
                }
                '\\' => {
                    let (_, n) = it.next()?;
                    if matches!(n, '"' | '\\' | '`' | '$') {
                        push(&mut value, &mut map, n, at);
                    } else {
                        push(&mut value, &mut map, '\\', at);
                        push(&mut value, &mut map, n, at + 1);
                    }
                    end = at + 1 + n.len_utf8();
                }
                c => {
                    push(&mut value, &mut map, c, at);
                    end = at + c.len_utf8();
                }
            },
        }
    }
    if matches!(st, St::Single | St::Double) {
        return None;
    }
    if let Some(n) = last_ws {
        value.truncate(n);
        map.truncate(n);
    }
    Some(EnvValue {
        key,
        value: String::from_utf8(value).ok()?,
        map,
        end,
    })
}

fn env_words(value: &str) -> Vec<Span> {
    let mut w = Words::new(value);
    let mut out = Vec::new();
    loop {
        let before = w.offset();
        match extract_first_word(&mut w, ExtractFlags::SPLIT_VAR) {
            Ok(Some((text, start))) => {
                let raw = value.get(start..w.offset()).unwrap_or("");
                out.push(Span {
                    text,
                    start,
                    end: start + raw.trim_end_matches(is_ws).len(),
                });
                if w.offset() == before {
                    break;
                }
            }
            _ => break,
        }
    }
    out
}

fn is_env_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_.,:=+@%-".contains(c)
}

/// Remove or replace one or two consecutive words (`target`, as the value is
/// split when `$KEY` is used in ExecStart=) in the `KEY=VALUE` assignment
/// written on physical `line` of an EnvironmentFile. Replacement words may
/// only hold letters, digits and `/_.,:=+@%-` (they go inside the existing
/// quoting as they are).
pub fn edit_env_file(
    text: &str,
    line: usize,
    target: &[String],
    edit: &WordEdit,
) -> Result<String, UnitEditError> {
    let before = parse_env_file(text);
    let Some(pos) = before.iter().position(|a| a.line == line) else {
        return Err(error(
            line,
            UnitEditErrorKind::NoSetting,
            "no variable assignment starts at this line".to_string(),
        ));
    };
    let decoded = decode_env_line(text, line)
        .filter(|d| {
            before
                .get(pos)
                .is_some_and(|a| a.key == d.key && a.value == d.value)
        })
        .ok_or_else(|| {
            unsupported(
                line,
                "the assignment spans lines or uses quoting dockhard does not edit".to_string(),
            )
        })?;
    let key = decoded.key.clone();
    let replacement = match edit {
        WordEdit::Remove => String::new(),
        WordEdit::Replace(new) => {
            if let Some(bad) = new
                .iter()
                .find(|w| w.is_empty() || !w.chars().all(is_env_safe))
            {
                return Err(unsupported(
                    line,
                    format!("cannot write {bad:?} into {key}= without requoting it"),
                ));
            }
            new.join(" ")
        }
    };
    let texts: Vec<String> = env_words(&decoded.value)
        .into_iter()
        .map(|w| w.text)
        .collect();
    let (actions, expected) = plan(&texts, target, edit, &replacement, line, &format!("{key}="))?;
    let mut out = text.to_string();
    for (idx, action) in actions {
        out = env_apply_one(&out, line, idx, &action)
            .ok_or_else(|| unsupported(line, "cannot locate the word in the file".to_string()))?;
    }
    let after = parse_env_file(&out);
    let ok = after.len() == before.len()
        && before.iter().zip(&after).enumerate().all(|(i, (b, a))| {
            if i == pos {
                a.key == b.key && split_words(&a.value, ExtractFlags::SPLIT_VAR) == expected
            } else {
                a.key == b.key && a.value == b.value
            }
        });
    if !ok {
        return Err(unsupported(
            line,
            format!(
                "editing `{}` in {key}= would not give the expected value; edit the file by hand",
                target.join(" ")
            ),
        ));
    }
    Ok(out)
}

fn env_apply_one(text: &str, line: usize, idx: usize, action: &Action<'_>) -> Option<String> {
    let d = decode_env_line(text, line)?;
    let words = env_words(&d.value);
    let w = words.get(idx)?;
    let f = |x: usize| -> Option<usize> {
        if x >= d.map.len() {
            Some(d.end)
        } else {
            d.map.get(x).copied()
        }
    };
    match action {
        Action::Replace(new) => Some(splice(text, f(w.start)?, f(w.end)?, new)),
        Action::Remove => {
            let (a, b) = match (
                idx.checked_sub(1).and_then(|p| words.get(p)),
                words.get(idx + 1),
            ) {
                (Some(prev), _) => (prev.end, w.end),
                (None, Some(next)) => (w.start, next.start),
                (None, None) => (w.start, w.end),
            };
            Some(splice(text, f(a)?, f(b)?, ""))
        }
    }
}

#[cfg(test)]
mod tests;
