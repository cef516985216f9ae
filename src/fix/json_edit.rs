//! Format-preserving edits of daemon.json text.
//!
//! Every edit parses the text with the strict parser ([`crate::parse::json`]),
//! locates members by their byte spans and splices bytes: key order, the
//! formatting and the bytes of every member it does not touch are kept
//! exactly. New members copy the file's style: the separator between the
//! last two members (or after `{`), the `": "` after keys, the indentation
//! and the newline style (`\n` or `\r\n`).
//!
//! - An empty or blank text (a missing file: pass `""`) becomes
//!   `{\n  "key": value\n}\n`.
//! - A duplicated key: dockerd's decoder keeps the last occurrence, so
//!   [`set_key`] replaces the last one and removes the earlier ones, and
//!   [`remove_key`] removes them all.
//! - Editing the same thing twice changes nothing the second time: a value
//!   that is already equal (as JSON) is left as written.
//! - A text that is not one JSON object is an error naming the line and
//!   column (the parser's message, or the type of the top-level value).
//!
//! Pure and total: never panics, whatever the input.

use super::splice;
use std::fmt;

use serde_json::Value;

use crate::parse::json::{self, JsonValue, Member, Node};

/// Why an edit could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonEditError {
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    pub message: String,
}

impl fmt::Display for JsonEditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for JsonEditError {}

fn err_at(node: &Node, message: String) -> JsonEditError {
    JsonEditError {
        line: node.start.line,
        column: node.start.column,
        message,
    }
}

/// Set top-level `key` to `value`: replaced in place where present (the last
/// occurrence; earlier duplicates removed), else added as the last member.
pub fn set_key(text: &str, key: &str, value: &Value) -> Result<String, JsonEditError> {
    if text.trim_matches(is_json_ws).is_empty() {
        return Ok(new_document(text, key, value));
    }
    let root = parse_object(text)?;
    set_in_object(text, &root, "", key, value)
}

/// Remove every occurrence of top-level `key` (unchanged if absent).
pub fn remove_key(text: &str, key: &str) -> Result<String, JsonEditError> {
    if text.trim_matches(is_json_ws).is_empty() {
        return Ok(text.to_string());
    }
    let root = parse_object(text)?;
    Ok(remove_in_object(text, &root, key))
}

/// Set `inner` inside the object-valued top-level key `outer` (for example
/// `log-opts`.`syslog-address`), creating `outer` as an object if it is
/// absent. Earlier duplicates of `outer` and of `inner` are removed. An
/// `outer` that is not an object is an error.
pub fn set_nested(
    text: &str,
    outer: &str,
    inner: &str,
    value: &Value,
) -> Result<String, JsonEditError> {
    let mut obj = serde_json::Map::new();
    obj.insert(inner.to_string(), value.clone());
    if text.trim_matches(is_json_ws).is_empty() {
        return Ok(new_document(text, outer, &Value::Object(obj)));
    }
    let root = parse_object(text)?;
    let Some(idx) = last_index(&root, outer) else {
        return set_in_object(text, &root, "", outer, &Value::Object(obj));
    };
    // First drop the earlier duplicates of `outer`, then edit the last.
    let text = remove_earlier(text, &root, outer, idx);
    let root = parse_object(&text)?;
    let Some(m) = last_member(&root, outer) else {
        return Ok(text);
    };
    if !matches!(m.value.value, JsonValue::Object(_)) {
        return Err(err_at(
            &m.value,
            format!(
                "\"{outer}\" is {} {}, not an object",
                article(m.value.value.type_name()),
                m.value.value.type_name()
            ),
        ));
    }
    let indent = line_indent(&text, m.key_pos.offset);
    set_in_object(&text, &m.value, &indent, inner, value)
}

/// Remove every occurrence of `inner` inside the object-valued top-level key
/// `outer` (the last occurrence of `outer`, the one dockerd reads). Unchanged
/// if either is absent; the object is kept even when it becomes empty.
pub fn remove_nested(text: &str, outer: &str, inner: &str) -> Result<String, JsonEditError> {
    if text.trim_matches(is_json_ws).is_empty() {
        return Ok(text.to_string());
    }
    let root = parse_object(text)?;
    let Some(m) = last_member(&root, outer) else {
        return Ok(text.to_string());
    };
    if !matches!(m.value.value, JsonValue::Object(_)) {
        return Err(err_at(
            &m.value,
            format!(
                "\"{outer}\" is {} {}, not an object",
                article(m.value.value.type_name()),
                m.value.value.type_name()
            ),
        ));
    }
    Ok(remove_in_object(text, &m.value, inner))
}

/// Remove every element equal (as JSON) to `item` from the list-valued
/// top-level key `key` (its last occurrence). Unchanged if the key is absent
/// or holds no such element; a key that is not a list is an error.
pub fn remove_from_list(text: &str, key: &str, item: &Value) -> Result<String, JsonEditError> {
    if text.trim_matches(is_json_ws).is_empty() {
        return Ok(text.to_string());
    }
    let mut text = text.to_string();
    // Remove one element at a time, from the last, re-parsing each time.
    loop {
        let root = parse_object(&text)?;
        let Some(m) = last_member(&root, key) else {
            return Ok(text);
        };
        let JsonValue::Array(items) = &m.value.value else {
            return Err(err_at(
                &m.value,
                format!(
                    "\"{key}\" is {} {}, not a list",
                    article(m.value.value.type_name()),
                    m.value.value.type_name()
                ),
            ));
        };
        let Some(i) = items.iter().rposition(|n| n.value.to_serde() == *item) else {
            return Ok(text);
        };
        let spans: Vec<(usize, usize)> = items.iter().map(|n| (n.start.offset, n.end)).collect();
        text = remove_element(&text, m.value.start.offset, m.value.end, &spans, i);
    }
}

/// The value dockerd reads for top-level `key` (the last occurrence), if the
/// text is a JSON object holding it.
pub fn get_key(text: &str, key: &str) -> Option<Value> {
    let root = json::parse(text).ok()?;
    last_member(&root, key).map(|m| m.value.value.to_serde())
}

fn article(type_name: &str) -> &'static str {
    if type_name.starts_with(['a', 'o']) {
        "an"
    } else {
        "a"
    }
}

fn is_json_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn parse_object(text: &str) -> Result<Node, JsonEditError> {
    let node = json::parse(text).map_err(|e| JsonEditError {
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    if !matches!(node.value, JsonValue::Object(_)) {
        return Err(err_at(
            &node,
            format!(
                "the configuration is {} {}, not a JSON object",
                article(node.value.type_name()),
                node.value.type_name()
            ),
        ));
    }
    Ok(node)
}

fn members(node: &Node) -> &[Member] {
    match &node.value {
        JsonValue::Object(m) => m,
        _ => &[],
    }
}

fn last_index(obj: &Node, key: &str) -> Option<usize> {
    members(obj).iter().rposition(|m| m.key == key)
}

fn last_member<'a>(obj: &'a Node, key: &str) -> Option<&'a Member> {
    members(obj).iter().rev().find(|m| m.key == key)
}

fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// A new document holding one member (for an empty or blank text).
fn new_document(text: &str, key: &str, value: &Value) -> String {
    let nl = newline_of(text);
    let rendered = render_value(value, "  ", "  ", nl, true);
    format!("{{{nl}  {}: {rendered}{nl}}}{nl}", render_key(key))
}

fn render_key(key: &str) -> String {
    serde_json::to_string(key).unwrap_or_else(|_| format!("\"{key}\""))
}

/// Render `value`: compact on one line, or pretty with `unit` indentation,
/// continuation lines starting with `indent`.
fn render_value(value: &Value, indent: &str, unit: &str, nl: &str, pretty: bool) -> String {
    let compact = || serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
    if !pretty
        || !matches!(value, Value::Array(a) if !a.is_empty())
            && !matches!(value, Value::Object(o) if !o.is_empty())
    {
        return compact();
    }
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(unit.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if serde::Serialize::serialize(value, &mut ser).is_err() {
        return compact();
    }
    let s = String::from_utf8(buf).unwrap_or_else(|_| compact());
    s.replace('\n', &format!("{nl}{indent}"))
}

/// The whitespace from the start of the line holding `offset` to `offset`,
/// or "" when something else comes first on that line.
fn line_indent(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let lead = before.get(line_start..).unwrap_or("");
    if lead.chars().all(|c| c == ' ' || c == '\t') {
        lead.to_string()
    } else {
        String::new()
    }
}

/// Byte offset just after the JSON string literal starting at `offset`.
fn string_end(text: &str, offset: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = offset.saturating_add(1);
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i = i.saturating_add(2),
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    text.len()
}

/// Set `key` in the object `obj` whose `{` line is indented by `base`.
fn set_in_object(
    text: &str,
    obj: &Node,
    base: &str,
    key: &str,
    value: &Value,
) -> Result<String, JsonEditError> {
    let ms = members(obj);
    let Some(idx) = ms.iter().rposition(|m| m.key == key) else {
        return Ok(insert_member(text, obj, base, key, value));
    };
    let dups = ms.iter().filter(|m| m.key == key).count();
    // The object keeps its start offset: only bytes after `{` change.
    let obj_start = obj.start.offset;
    let text = if dups > 1 {
        remove_earlier(text, obj, key, idx)
    } else {
        text.to_string()
    };
    // Re-locate the object and its last `key`.
    let reparsed = json::parse(&text).map_err(|e| JsonEditError {
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    let Some(obj) = find_object_at(&reparsed, obj_start) else {
        return Ok(text);
    };
    let Some(m) = last_member(obj, key) else {
        return Ok(text);
    };
    if m.value.value.to_serde() == *value {
        return Ok(text);
    }
    let indent = line_indent(&text, m.key_pos.offset);
    let unit = indent_unit(&text, obj, base);
    let pretty = text
        .get(m.value.start.offset..m.value.end)
        .is_some_and(|s| s.contains('\n'))
        || !indent.is_empty();
    let rendered = render_value(value, &indent, &unit, newline_of(&text), pretty);
    Ok(splice(&text, m.value.start.offset, m.value.end, &rendered))
}

/// The object node starting at byte `offset` (the root or a top-level member).
fn find_object_at(root: &Node, offset: usize) -> Option<&Node> {
    if root.start.offset == offset {
        return Some(root);
    }
    members(root)
        .iter()
        .map(|m| &m.value)
        .find(|n| n.start.offset == offset && matches!(n.value, JsonValue::Object(_)))
}

/// The indentation step of the file: the indent of the object's members
/// minus `base`, else two spaces.
fn indent_unit(text: &str, obj: &Node, base: &str) -> String {
    members(obj)
        .iter()
        .map(|m| line_indent(text, m.key_pos.offset))
        .find(|i| !i.is_empty())
        .and_then(|i| i.strip_prefix(base).map(str::to_string))
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "  ".to_string())
}

/// Add `key: value` as the last member of `obj`.
fn insert_member(text: &str, obj: &Node, base: &str, key: &str, value: &Value) -> String {
    let ms = members(obj);
    let nl = newline_of(text);
    let open = obj.start.offset;
    let Some(last) = ms.last() else {
        // `{}` (possibly with blanks inside): write a one-member block.
        let unit = "  ";
        let indent = format!("{base}{unit}");
        let rendered = render_value(value, &indent, unit, nl, true);
        let close = obj.end.saturating_sub(1);
        let inner = text.get(open + 1..close).unwrap_or("");
        let member = format!("{indent}{}: {rendered}", render_key(key));
        let body = if inner.is_empty() {
            format!("{nl}{member}{nl}{base}")
        } else if inner.contains('\n') {
            // `{\n}`: keep what closes the object.
            format!("{nl}{member}{inner}")
        } else {
            format!("{inner}{}: {rendered}{inner}", render_key(key))
        };
        return splice(text, open + 1, close, &body);
    };
    // The separator between the last two members, else after `{`.
    let sep = match ms.len().checked_sub(2).and_then(|i| ms.get(i)) {
        Some(prev) => text
            .get(prev.value.end..last.key_pos.offset)
            .unwrap_or(", ")
            .to_string(),
        None => format!(
            ",{}",
            text.get(open + 1..last.key_pos.offset).unwrap_or(" ")
        ),
    };
    let key_end = string_end(text, last.key_pos.offset);
    let colon = text
        .get(key_end..last.value.start.offset)
        .filter(|c| c.trim_matches(is_json_ws) == ":")
        .unwrap_or(": ");
    let indent = line_indent(text, last.key_pos.offset);
    let unit = indent_unit(text, obj, base);
    let pretty = sep.contains('\n');
    let rendered = render_value(value, &indent, &unit, nl, pretty);
    let member = format!("{sep}{}{colon}{rendered}", render_key(key));
    splice(text, last.value.end, last.value.end, &member)
}

/// Remove the occurrences of `key` in `obj` before index `keep`.
fn remove_earlier(text: &str, obj: &Node, key: &str, keep: usize) -> String {
    let mut text = text.to_string();
    let ms = members(obj);
    // From the last to the first: earlier offsets stay valid.
    let mut spans_now: Vec<(usize, usize)> =
        ms.iter().map(|m| (m.key_pos.offset, m.value.end)).collect();
    let (open, mut close_end) = (obj.start.offset, obj.end);
    for i in (0..keep).rev() {
        if ms.get(i).is_some_and(|m| m.key == key) {
            let before = text.len();
            text = remove_element(&text, open, close_end, &spans_now, i);
            let removed = before.saturating_sub(text.len());
            close_end = close_end.saturating_sub(removed);
            // Shift the spans after the removed element.
            let mut next = Vec::with_capacity(spans_now.len().saturating_sub(1));
            for (j, &(s, e)) in spans_now.iter().enumerate() {
                if j < i {
                    next.push((s, e));
                } else if j > i {
                    next.push((s.saturating_sub(removed), e.saturating_sub(removed)));
                }
            }
            spans_now = next;
        }
    }
    text
}

/// Remove every occurrence of `key` in `obj`.
fn remove_in_object(text: &str, obj: &Node, key: &str) -> String {
    remove_earlier(text, obj, key, members(obj).len())
}

/// Remove element `i` of a container `[open, end)` whose elements span
/// `spans` (`(start, end)` byte offsets), with its comma and the blanks that
/// went with it. The only element leaves `{}` / `[]`.
fn remove_element(
    text: &str,
    open: usize,
    end: usize,
    spans: &[(usize, usize)],
    i: usize,
) -> String {
    let Some(&(s, e)) = spans.get(i) else {
        return text.to_string();
    };
    if spans.len() == 1 {
        return splice(text, open + 1, end.saturating_sub(1), "");
    }
    match i.checked_sub(1).and_then(|p| spans.get(p)) {
        Some(&(_, prev_end)) => splice(text, prev_end, e, ""),
        None => match spans.get(1) {
            Some(&(next_start, _)) => splice(text, s, next_start, ""),
            None => text.to_string(),
        },
    }
}

#[cfg(test)]
mod tests;
