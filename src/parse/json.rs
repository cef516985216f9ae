//! A strict JSON parser with the grammar of Go's `encoding/json`, keeping for
//! every value its byte span and 1-based line/column, and for every object its
//! members in order, duplicates included (callers decide: dockerd's last wins).
//!
//! - No comments, no trailing commas, no `NaN`/`Infinity`, no leading zeros,
//!   no control characters in strings; `\u` escapes with surrogate pairs; a
//!   lone surrogate decodes to U+FFFD like Go.
//! - Nesting deeper than [`MAX_DEPTH`] (200) is an error (Go allows 10000; we stop
//!   earlier so that the recursive parser can never overflow the stack).
//! - [`parse_first`] parses the first value only and says where it ends, so a
//!   caller can apply version rules to what follows (dockerd 20.10 uses a
//!   `json.Decoder` and ignores trailing data; 23.0+ uses `json.Unmarshal`).
//! - Error messages follow Go's wording (`invalid character '}' looking for
//!   beginning of object key string`) and are prefixed by the position:
//!   `line L, column C: ...` (columns count characters, 1-based).
//!
//! Column counting: characters (Unicode scalar values), not bytes.

use std::fmt;

/// Deepest nesting of arrays/objects accepted.
pub const MAX_DEPTH: usize = 200;

/// A position in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// Byte offset.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// A parsed value with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: JsonValue,
    /// Where the value starts.
    pub start: Pos,
    /// Byte offset just after the value.
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JsonValue {
    Null,
    Bool(bool),
    /// The number literal as written (valid JSON number grammar).
    Number(String),
    String(String),
    Array(Vec<Node>),
    /// Members in document order, duplicates kept.
    Object(Vec<Member>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    /// Where the key's opening quote is.
    pub key_pos: Pos,
    pub value: Node,
}

/// A syntax error at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
    /// Go-like message without the position.
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for JsonError {}

impl JsonValue {
    /// Go's JSON type name (`string`, `number`, `bool`, `array`, `object`, `null`).
    pub fn type_name(&self) -> &'static str {
        match self {
            JsonValue::Null => "null",
            JsonValue::Bool(_) => "bool",
            JsonValue::Number(_) => "number",
            JsonValue::String(_) => "string",
            JsonValue::Array(_) => "array",
            JsonValue::Object(_) => "object",
        }
    }

    /// Convert to a `serde_json::Value` (duplicate keys: last wins; numbers
    /// that serde_json cannot represent become strings of their literal).
    pub fn to_serde(&self) -> serde_json::Value {
        match self {
            JsonValue::Null => serde_json::Value::Null,
            JsonValue::Bool(b) => serde_json::Value::Bool(*b),
            JsonValue::Number(n) => {
                let is_float = n.contains(['.', 'e', 'E']);
                let num = if is_float {
                    n.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
                } else {
                    n.parse::<i64>()
                        .map(serde_json::Number::from)
                        .ok()
                        .or_else(|| n.parse::<u64>().ok().map(serde_json::Number::from))
                        .or_else(|| n.parse::<f64>().ok().and_then(serde_json::Number::from_f64))
                };
                num.map(serde_json::Value::Number)
                    .unwrap_or_else(|| serde_json::Value::String(n.clone()))
            }
            JsonValue::String(s) => serde_json::Value::String(s.clone()),
            JsonValue::Array(items) => {
                serde_json::Value::Array(items.iter().map(|n| n.value.to_serde()).collect())
            }
            JsonValue::Object(members) => {
                let mut map = serde_json::Map::new();
                for m in members {
                    map.insert(m.key.clone(), m.value.value.to_serde());
                }
                serde_json::Value::Object(map)
            }
        }
    }

    /// Go's `fmt.Sprintf("%v", v)` of the value decoded into `interface{}`
    /// (used in dockerd's conflict messages): `true`, `1`, `a`, `[a b]`,
    /// `map[k:v]`, `<nil>`.
    pub fn go_format(&self) -> String {
        match self {
            JsonValue::Null => "<nil>".to_string(),
            JsonValue::Bool(b) => b.to_string(),
            JsonValue::Number(n) => go_float(n),
            JsonValue::String(s) => s.clone(),
            JsonValue::Array(items) => {
                let parts: Vec<String> = items.iter().map(|n| n.value.go_format()).collect();
                format!("[{}]", parts.join(" "))
            }
            JsonValue::Object(members) => {
                let mut map = std::collections::BTreeMap::new();
                for m in members {
                    map.insert(m.key.clone(), m.value.value.go_format());
                }
                let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("map[{}]", parts.join(" "))
            }
        }
    }
}

/// `%v` of a float64 as Go prints it (`%g`-like with shortest repr).
fn go_float(literal: &str) -> String {
    match literal.parse::<f64>() {
        Ok(f) if f.is_finite() => {
            let abs = f.abs();
            if f == 0.0 {
                "0".to_string()
            } else if (1e-4..1e21).contains(&abs) {
                format!("{f}")
            } else {
                // Go: 1e+21, 1e-05
                let s = format!("{f:e}");
                match s.split_once('e') {
                    Some((m, e)) => {
                        let (sign, digits) = match e.strip_prefix('-') {
                            Some(d) => ('-', d),
                            None => ('+', e),
                        };
                        let digits = if digits.len() < 2 {
                            format!("0{digits}")
                        } else {
                            digits.to_string()
                        };
                        format!("{m}e{sign}{digits}")
                    }
                    None => s,
                }
            }
        }
        _ => literal.to_string(),
    }
}

/// Parse the whole text as one JSON value followed only by whitespace
/// (like Go's `json.Unmarshal`).
pub fn parse(text: &str) -> Result<Node, JsonError> {
    let (node, end) = parse_first(text)?;
    let mut p = Parser::new(text);
    p.pos = end;
    p.skip_ws();
    if let Some(c) = p.peek() {
        return Err(p.err_at(
            p.pos,
            format!("invalid character {} after top-level value", quote_byte(c)),
        ));
    }
    Ok(node)
}

/// Parse the first JSON value of `text` (after leading whitespace) and return
/// it with the byte offset just after it. What follows is not looked at
/// (like Go's `json.Decoder.Decode`). An empty or blank text is the error
/// `EOF`; a truncated value is `unexpected EOF`.
pub fn parse_first(text: &str) -> Result<(Node, usize), JsonError> {
    let mut p = Parser::new(text);
    p.skip_ws();
    if p.peek().is_none() {
        return Err(p.err_at(p.pos, "EOF".to_string()));
    }
    let node = p.value(0, Ctx::Top)?;
    let end = node.end;
    Ok((node, end))
}

/// The byte offset of `offset` as a [`Pos`] in `text`.
pub fn pos_of(text: &str, offset: usize) -> Pos {
    let mut line = 1;
    let mut col = 1;
    for (i, c) in text.char_indices() {
        if i >= offset {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    Pos {
        offset,
        line,
        column: col,
    }
}

/// Go's `quoteChar` for a byte as the scanner sees it.
fn quote_byte(b: u8) -> String {
    let inner = match b {
        b'\'' => "\\'".to_string(),
        b'"' => "\"".to_string(),
        0x07 => "\\a".to_string(),
        0x08 => "\\b".to_string(),
        0x0c => "\\f".to_string(),
        b'\n' => "\\n".to_string(),
        b'\r' => "\\r".to_string(),
        b'\t' => "\\t".to_string(),
        0x0b => "\\v".to_string(),
        b'\\' => "\\\\".to_string(),
        0..=0x1f | 0x7f => format!("\\x{b:02x}"),
        0x80..=0x9f => format!("\\u{:04x}", u32::from(b)),
        _ => char::from(b).to_string(),
    };
    format!("'{inner}'")
}

#[derive(Clone, Copy)]
enum Ctx {
    Top,
    Array,
    Object,
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    // cached line/column of `line_pos`
    line: usize,
    line_start: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            line: 1,
            line_start: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn here(&self) -> Pos {
        let col = self
            .text
            .get(self.line_start..self.pos)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        Pos {
            offset: self.pos,
            line: self.line,
            column: col,
        }
    }

    fn err_at(&self, offset: usize, message: String) -> JsonError {
        let p = pos_of(self.text, offset);
        JsonError {
            offset,
            line: p.line,
            column: p.column,
            message,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.line_start = self.pos;
                }
                _ => break,
            }
        }
    }

    fn eof(&self) -> JsonError {
        self.err_at(self.pos, "unexpected EOF".to_string())
    }

    fn value(&mut self, depth: usize, ctx: Ctx) -> Result<Node, JsonError> {
        let start = self.here();
        let Some(c) = self.peek() else {
            return Err(self.eof());
        };
        let value = match c {
            b'{' => {
                if depth >= MAX_DEPTH {
                    return Err(self.err_at(self.pos, "exceeded max depth".to_string()));
                }
                self.object(depth + 1)?
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return Err(self.err_at(self.pos, "exceeded max depth".to_string()));
                }
                self.array(depth + 1)?
            }
            b'"' => JsonValue::String(self.string()?),
            b'-' | b'0'..=b'9' => JsonValue::Number(self.number(ctx)?),
            b't' => {
                self.literal("true")?;
                JsonValue::Bool(true)
            }
            b'f' => {
                self.literal("false")?;
                JsonValue::Bool(false)
            }
            b'n' => {
                self.literal("null")?;
                JsonValue::Null
            }
            other => {
                return Err(self.err_at(
                    self.pos,
                    format!(
                        "invalid character {} looking for beginning of value",
                        quote_byte(other)
                    ),
                ));
            }
        };
        Ok(Node {
            value,
            start,
            end: self.pos,
        })
    }

    fn literal(&mut self, word: &str) -> Result<(), JsonError> {
        for (i, expected) in word.bytes().enumerate() {
            match self.peek() {
                None => return Err(self.eof()),
                Some(c) if c == expected => self.pos += 1,
                Some(c) => {
                    let _ = i;
                    return Err(self.err_at(
                        self.pos,
                        format!(
                            "invalid character {} in literal {} (expecting {})",
                            quote_byte(c),
                            word,
                            quote_byte(expected)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The error at `pos`: `invalid character 'x' {after}` (Go's wording),
    /// or the end-of-input error where the text ends.
    fn unexpected(&self, after: &str) -> JsonError {
        match self.peek() {
            Some(c) => self.err_at(
                self.pos,
                format!("invalid character {} {after}", quote_byte(c)),
            ),
            None => self.eof(),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self, _ctx: Ctx) -> Result<String, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.unexpected("in numeric literal")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            match self.peek() {
                Some(b'0'..=b'9') => {
                    self.digits();
                }
                _ => return Err(self.unexpected("after decimal point in numeric literal")),
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            match self.peek() {
                Some(b'0'..=b'9') => {
                    self.digits();
                }
                _ => return Err(self.unexpected("in exponent of numeric literal")),
            }
        }
        Ok(self.text.get(start..self.pos).unwrap_or("0").to_string())
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v: u32 = 0;
        for _ in 0..4 {
            let Some(c) = self.peek() else {
                return Err(self.eof());
            };
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => {
                    return Err(self.err_at(
                        self.pos,
                        format!(
                            "invalid character {} in \\u hexadecimal character escape",
                            quote_byte(c)
                        ),
                    ));
                }
            };
            v = v * 16 + u32::from(d);
            self.pos += 1;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        // at the opening quote
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.eof());
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.eof());
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            if (0xD800..0xDC00).contains(&hi) {
                                // try a low surrogate: \uXXXX
                                let save = self.pos;
                                if self.bytes.get(self.pos) == Some(&b'\\')
                                    && self.bytes.get(self.pos + 1) == Some(&b'u')
                                {
                                    self.pos += 2;
                                    let lo = self.hex4()?;
                                    if (0xDC00..0xE000).contains(&lo) {
                                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                        out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                                    } else {
                                        // Go: lone high surrogate -> U+FFFD, then
                                        // the second escape decoded on its own.
                                        out.push('\u{FFFD}');
                                        self.pos = save;
                                    }
                                } else {
                                    out.push('\u{FFFD}');
                                }
                            } else {
                                out.push(char::from_u32(hi).unwrap_or('\u{FFFD}'));
                            }
                        }
                        other => {
                            return Err(self.err_at(
                                self.pos - 1,
                                format!(
                                    "invalid character {} in string escape code",
                                    quote_byte(other)
                                ),
                            ));
                        }
                    }
                }
                0..=0x1f => {
                    return Err(self.err_at(
                        self.pos,
                        format!("invalid character {} in string literal", quote_byte(c)),
                    ));
                }
                _ => {
                    // copy a run of plain characters
                    let start = self.pos;
                    while let Some(b) = self.peek() {
                        if b == b'"' || b == b'\\' || b < 0x20 {
                            break;
                        }
                        self.pos += 1;
                    }
                    // `start..pos` ends before an ASCII byte or at the end:
                    // always a char boundary.
                    out.push_str(self.text.get(start..self.pos).unwrap_or(""));
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<JsonValue, JsonError> {
        self.pos += 1; // [
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(JsonValue::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth, Ctx::Array)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(JsonValue::Array(items));
                }
                _ => return Err(self.unexpected("after array element")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<JsonValue, JsonError> {
        self.pos += 1; // {
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(JsonValue::Object(members));
        }
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'"') => {}
                _ => return Err(self.unexpected("looking for beginning of object key string")),
            }
            let key_pos = self.here();
            let key = self.string()?;
            self.skip_ws();
            match self.peek() {
                Some(b':') => self.pos += 1,
                _ => return Err(self.unexpected("after object key")),
            }
            self.skip_ws();
            let value = self.value(depth, Ctx::Object)?;
            members.push(Member {
                key,
                key_pos,
                value,
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(JsonValue::Object(members));
                }
                _ => return Err(self.unexpected("after object key:value pair")),
            }
        }
    }
}

#[cfg(test)]
mod tests;
