//! systemd unit file syntax (systemd.syntax(7)) and the word rules of
//! systemd's `extract_first_word()`, as systemd 245..256 implement them.
//!
//! - Lines: `[Section]` headers, `Key=Value` assignments, comments (`#` or
//!   `;` as the first non-blank character), whitespace around keys and values
//!   trimmed. A line ending in an unescaped `\` is joined with the next one,
//!   the backslash replaced by a space; comment lines inside such a
//!   continuation are skipped; an empty line ends it.
//! - Words ([`extract_first_word`]): double and single quotes anywhere in a
//!   word (`a"b c"d` is one word `ab cd`), C escapes (`\n`, `\t`, `\\`,
//!   `\"`, `\'`, `\s`, `\xHH`, `\NNN`, `\uHHHH`, `\UHHHHHHHH`).
//! - Command lines ([`parse_exec`]): the prefixes `-@:+!`/`!!`, `;` command
//!   separators and `\;`, as `config_parse_exec()` does.
//!
//! Pure and total: never panics, whatever the input.

/// Characters systemd treats as whitespace (`WHITESPACE`).
pub const WHITESPACE: &[char] = &[' ', '\t', '\n', '\r'];

/// One `Key=Value` assignment of a unit file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitEntry {
    /// The section it is in, without brackets (`Service`).
    pub section: String,
    pub key: String,
    /// The value, trimmed, continuation lines joined.
    pub value: String,
    /// Physical line (1-based) where the assignment starts.
    pub line: usize,
    /// `(byte offset in value, physical line)` of each joined line, so that a
    /// word of a multi-line value can be given its own line.
    pub segments: Vec<(usize, usize)>,
}

impl UnitEntry {
    /// The physical line holding byte `offset` of [`UnitEntry::value`].
    pub fn line_at(&self, offset: usize) -> usize {
        // Segments are sorted by offset: a binary search, so that a value
        // joined from many lines costs O(log n) per word, not O(n).
        let i = self.segments.partition_point(|(start, _)| *start <= offset);
        i.checked_sub(1)
            .and_then(|i| self.segments.get(i))
            .map_or(self.line, |(_, line)| *line)
    }
}

/// A syntax problem met in a unit file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitIssue {
    pub line: usize,
    pub message: String,
    /// systemd refuses to load the unit (`bad-setting`); otherwise the line
    /// is ignored with a warning.
    pub fatal: bool,
}

/// A parsed unit file: its assignments in file order and its syntax problems.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedUnit {
    pub entries: Vec<UnitEntry>,
    pub issues: Vec<UnitIssue>,
}

impl ParsedUnit {
    /// The assignments of `section`, in order.
    pub fn section<'a>(&'a self, section: &'a str) -> impl Iterator<Item = &'a UnitEntry> + 'a {
        self.entries.iter().filter(move |e| e.section == section)
    }
}

fn is_ws(c: char) -> bool {
    WHITESPACE.contains(&c)
}

/// Whether `s` ends with a backslash that is not itself escaped.
pub(crate) fn ends_with_escape(s: &str) -> bool {
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        }
    }
    escaped
}

/// A logical line being joined: text so far, first physical line, segments.
type Continuation = (String, usize, Vec<(usize, usize)>);

/// Parse a unit file or drop-in.
pub fn parse_unit(text: &str) -> ParsedUnit {
    let mut out = ParsedUnit::default();
    let mut section: Option<String> = None;
    // (logical line so far, first physical line, segments)
    let mut cont: Option<Continuation> = None;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (idx, raw) in text.split('\n').enumerate() {
        let lineno = idx.saturating_add(1);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let lead = raw.trim_start_matches(is_ws);
        if lead.starts_with('#') || lead.starts_with(';') {
            continue;
        }
        let (mut buf, start, mut segs) = match cont.take() {
            Some((mut s, st, mut segs)) => {
                segs.push((s.len(), lineno));
                s.push_str(raw);
                (s, st, segs)
            }
            None => (raw.to_string(), lineno, vec![(0, lineno)]),
        };
        // Only this physical line can end in an escape: what was joined
        // before it ends in the space that replaced a backslash. (Checking
        // all of `buf` made a long continuation quadratic.)
        if ends_with_escape(raw) {
            buf.pop();
            buf.push(' ');
            cont = Some((buf, start, segs));
            continue;
        }
        segs.dedup_by_key(|s| s.0);
        parse_line(&mut out, &mut section, &buf, start, &segs);
    }
    if let Some((buf, start, segs)) = cont {
        parse_line(&mut out, &mut section, &buf, start, &segs);
    }
    out
}

fn parse_line(
    out: &mut ParsedUnit,
    section: &mut Option<String>,
    buf: &str,
    line: usize,
    segs: &[(usize, usize)],
) {
    let lead_len = buf.len() - buf.trim_start_matches(is_ws).len();
    let l = buf.trim_matches(is_ws);
    if l.is_empty() {
        return;
    }
    if let Some(rest) = l.strip_prefix('[') {
        match rest.strip_suffix(']') {
            Some(name) => *section = Some(name.to_string()),
            None => {
                out.issues.push(UnitIssue {
                    line,
                    message: format!("invalid section header '{l}'"),
                    fatal: true,
                });
                // systemd stops parsing the file here.
                *section = None;
            }
        }
        return;
    }
    let Some(sec) = section.as_ref() else {
        out.issues.push(UnitIssue {
            line,
            message: "assignment outside of any section, ignored".to_string(),
            fatal: false,
        });
        return;
    };
    let Some(eq) = l.find('=') else {
        out.issues.push(UnitIssue {
            line,
            message: format!("missing '=', line ignored: {l}"),
            fatal: false,
        });
        return;
    };
    let key = l.get(..eq).unwrap_or("").trim_end_matches(is_ws);
    let after = l.get(eq + 1..).unwrap_or("");
    let value = after.trim_start_matches(is_ws);
    if key.is_empty() {
        out.issues.push(UnitIssue {
            line,
            message: format!("missing key name before '=', line ignored: {l}"),
            fatal: false,
        });
        return;
    }
    // Offset of the value inside the logical line.
    let vstart = lead_len + eq + 1 + (after.len() - value.len());
    let mut segments: Vec<(usize, usize)> = Vec::new();
    for &(off, ln) in segs {
        let rel = off.saturating_sub(vstart);
        match segments.last_mut() {
            Some(last) if last.0 == rel => last.1 = ln,
            _ => segments.push((rel, ln)),
        }
    }
    out.entries.push(UnitEntry {
        section: sec.clone(),
        key: key.to_string(),
        value: value.to_string(),
        line,
        segments,
    });
}

/// How [`extract_first_word`] treats quotes and escapes (systemd's
/// `EXTRACT_*` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractFlags {
    /// `EXTRACT_UNQUOTE`: quotes group and are removed.
    pub unquote: bool,
    /// `EXTRACT_CUNESCAPE`: C escapes are decoded.
    pub cunescape: bool,
    /// `EXTRACT_CUNESCAPE_RELAX`: unknown escapes are kept verbatim.
    pub cunescape_relax: bool,
    /// `EXTRACT_RELAX`: unbalanced quotes and a trailing backslash are accepted.
    pub relax: bool,
}

impl ExtractFlags {
    /// `EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE` (ExecStart=, Environment=).
    pub const UNIT: ExtractFlags = ExtractFlags {
        unquote: true,
        cunescape: true,
        cunescape_relax: false,
        relax: false,
    };
    /// `EXTRACT_RELAX|EXTRACT_UNQUOTE` (splitting the value of `$VAR`).
    pub const SPLIT_VAR: ExtractFlags = ExtractFlags {
        unquote: true,
        cunescape: false,
        cunescape_relax: false,
        relax: true,
    };
}

/// Why a word could not be extracted (systemd's `-EINVAL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtractError {
    /// An unknown or invalid escape sequence.
    BadEscape,
    /// A quote without its closing quote, or a trailing backslash.
    Unbalanced,
}

/// A cursor over a string for [`extract_first_word`].
#[derive(Debug, Clone)]
pub struct Words<'a> {
    s: &'a str,
    chars: Vec<(usize, char)>,
    pos: usize,
}

impl<'a> Words<'a> {
    pub fn new(s: &'a str) -> Self {
        Words {
            s,
            chars: s.char_indices().collect(),
            pos: 0,
        }
    }

    /// Byte offset of the cursor.
    pub fn offset(&self) -> usize {
        self.chars.get(self.pos).map_or(self.s.len(), |c| c.0)
    }

    /// The unparsed rest.
    pub fn rest(&self) -> &'a str {
        self.s.get(self.offset()..).unwrap_or("")
    }

    fn peek(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos.saturating_add(n)).map(|c| c.1)
    }

    fn skip_ws(&mut self) {
        while self.peek(0).is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.chars.len());
    }
}

enum Unescaped {
    Char(char),
    Byte(u8),
}

fn hex(c: Option<char>) -> Option<u32> {
    c.and_then(|c| c.to_digit(16))
}

/// systemd's `cunescape_one()` with `accept_nul = false`: `after` are the
/// characters after the backslash. Returns how many it consumed.
fn cunescape_one(w: &Words<'_>) -> Result<(usize, Unescaped), ExtractError> {
    let c = w.peek(0).ok_or(ExtractError::BadEscape)?;
    let simple = match c {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '"' => Some('"'),
        '\'' => Some('\''),
        's' => Some(' '),
        _ => None,
    };
    if let Some(ch) = simple {
        return Ok((1, Unescaped::Char(ch)));
    }
    match c {
        'x' => {
            let a = hex(w.peek(1)).ok_or(ExtractError::BadEscape)?;
            let b = hex(w.peek(2)).ok_or(ExtractError::BadEscape)?;
            let v = (a << 4) | b;
            if v == 0 {
                return Err(ExtractError::BadEscape);
            }
            let byte = u8::try_from(v).map_err(|_| ExtractError::BadEscape)?;
            Ok((3, Unescaped::Byte(byte)))
        }
        'u' | 'U' => {
            let n = if c == 'u' { 4 } else { 8 };
            let mut v: u32 = 0;
            for i in 1..=n {
                let d = hex(w.peek(i)).ok_or(ExtractError::BadEscape)?;
                v = v.checked_mul(16).ok_or(ExtractError::BadEscape)? | d;
            }
            if v == 0 {
                return Err(ExtractError::BadEscape);
            }
            let ch = char::from_u32(v).ok_or(ExtractError::BadEscape)?;
            Ok((n + 1, Unescaped::Char(ch)))
        }
        '0'..='7' => {
            let oct = |c: Option<char>| c.and_then(|c| c.to_digit(8));
            let a = oct(w.peek(0)).ok_or(ExtractError::BadEscape)?;
            let b = oct(w.peek(1)).ok_or(ExtractError::BadEscape)?;
            let d = oct(w.peek(2)).ok_or(ExtractError::BadEscape)?;
            let v = (a << 6) | (b << 3) | d;
            if v == 0 || v > 255 {
                return Err(ExtractError::BadEscape);
            }
            let ch = char::from_u32(v).ok_or(ExtractError::BadEscape)?;
            Ok((3, Unescaped::Char(ch)))
        }
        _ => Err(ExtractError::BadEscape),
    }
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut b = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
}

/// systemd's `extract_first_word()` with whitespace separators: the next
/// word and the byte offset where it starts, `None` at the end. On error the
/// cursor is left where the problem was found.
pub fn extract_first_word(
    w: &mut Words<'_>,
    flags: ExtractFlags,
) -> Result<Option<(String, usize)>, ExtractError> {
    w.skip_ws();
    let Some(_) = w.peek(0) else {
        return Ok(None);
    };
    let start = w.offset();
    let mut out: Vec<u8> = Vec::new();
    let mut quote: Option<char> = None;
    let mut backslash = false;
    let done = |out: Vec<u8>| Ok(Some((String::from_utf8_lossy(&out).into_owned(), start)));
    loop {
        let Some(c) = w.peek(0) else {
            if backslash {
                if flags.cunescape_relax && (quote.is_none() || flags.relax) {
                    out.push(b'\\');
                    return done(out);
                }
                if flags.relax {
                    return done(out);
                }
                return Err(ExtractError::Unbalanced);
            }
            if quote.is_some() && !flags.relax {
                return Err(ExtractError::Unbalanced);
            }
            return done(out);
        };
        if backslash {
            backslash = false;
            if flags.cunescape {
                match cunescape_one(w) {
                    Ok((n, u)) => {
                        match u {
                            Unescaped::Char(ch) => push_char(&mut out, ch),
                            Unescaped::Byte(b) => out.push(b),
                        }
                        w.advance(n);
                    }
                    Err(e) => {
                        if flags.cunescape_relax {
                            out.push(b'\\');
                            push_char(&mut out, c);
                            w.advance(1);
                        } else {
                            return Err(e);
                        }
                    }
                }
            } else {
                push_char(&mut out, c);
                w.advance(1);
            }
            continue;
        }
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if c == '\\' {
                backslash = true;
            } else {
                push_char(&mut out, c);
            }
            w.advance(1);
            continue;
        }
        if flags.unquote && (c == '\'' || c == '"') {
            quote = Some(c);
        } else if c == '\\' {
            backslash = true;
        } else if is_ws(c) {
            w.skip_ws();
            return done(out);
        } else {
            push_char(&mut out, c);
        }
        w.advance(1);
    }
}

/// What [`extract_first_word_and_warn`] met on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtractWarning {
    /// Unknown escape sequences were kept verbatim.
    UnknownEscapes,
}

/// systemd's `extract_first_word_and_warn()`: on an invalid escape, retry
/// keeping unknown escapes verbatim (a warning); unbalanced quoting stays an
/// error.
pub fn extract_first_word_and_warn(
    w: &mut Words<'_>,
    flags: ExtractFlags,
) -> Result<Option<(String, usize, Option<ExtractWarning>)>, ExtractError> {
    let save = w.pos;
    match extract_first_word(w, flags) {
        Ok(r) => Ok(r.map(|(s, o)| (s, o, None))),
        Err(_) if !flags.cunescape_relax => {
            w.pos = save;
            let relaxed = ExtractFlags {
                cunescape_relax: true,
                ..flags
            };
            match extract_first_word(w, relaxed) {
                Ok(r) => Ok(r.map(|(s, o)| (s, o, Some(ExtractWarning::UnknownEscapes)))),
                Err(_) => Err(ExtractError::Unbalanced),
            }
        }
        Err(e) => Err(e),
    }
}

/// Split `s` into words (for `$VAR` expansion: `EXTRACT_RELAX|EXTRACT_UNQUOTE`,
/// which never fails).
pub fn split_words(s: &str, flags: ExtractFlags) -> Vec<String> {
    let mut w = Words::new(s);
    let mut out = Vec::new();
    while let Ok(Some((word, _))) = extract_first_word(&mut w, flags) {
        out.push(word);
    }
    out
}

/// One word of a command line with the byte offset (in the setting's value)
/// where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecWord {
    pub text: String,
    pub offset: usize,
}

/// One command of an `ExecStart=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCommand {
    /// The prefixes before the path (`-`, `@`, `:`, `+`, `!`, `!!`).
    pub prefixes: String,
    /// `-`: failure (and a missing program) is ignored.
    pub ignore_failure: bool,
    /// `@`: the second word is argv[0].
    pub separate_argv0: bool,
    /// `:`: no environment variable substitution.
    pub no_env_expand: bool,
    /// The program to execute (prefixes removed).
    pub path: ExecWord,
    /// argv: the path itself first unless `@` was used.
    pub argv: Vec<ExecWord>,
}

/// The result of parsing one `ExecStart=` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecParse {
    pub commands: Vec<ExecCommand>,
    /// `(message, fatal)`: fatal means systemd refuses to load the unit.
    pub issues: Vec<(String, bool)>,
}

/// Parse a non-empty `ExecStart=` value as systemd's `config_parse_exec()`
/// does (before specifier and variable expansion).
pub fn parse_exec(value: &str) -> ExecParse {
    let mut out = ExecParse::default();
    let mut w = Words::new(value);
    loop {
        let first = match extract_first_word_and_warn(&mut w, ExtractFlags::UNIT) {
            Ok(Some(f)) => f,
            Ok(None) => return out,
            Err(_) => {
                // systemd logs and ignores the rest of the line, keeping the
                // commands already parsed.
                out.issues.push((
                    format!("unbalanced quoting in command line, rest of line ignored: {value}"),
                    false,
                ));
                return out;
            }
        };
        if first.2.is_some() {
            out.issues.push((
                format!("unknown escape sequences kept verbatim: \"{}\"", first.0),
                false,
            ));
        }
        let (mut ignore, mut argv0, mut noexp, mut plus, mut bang, mut bangbang) =
            (false, false, false, false, false, false);
        let mut prefixes = String::new();
        let mut rest = first.0.as_str();
        while let Some(c) = rest.chars().next() {
            let ok = match c {
                '-' if !ignore => {
                    ignore = true;
                    true
                }
                '@' if !argv0 => {
                    argv0 = true;
                    true
                }
                ':' if !noexp => {
                    noexp = true;
                    true
                }
                '+' if !(plus || bang || bangbang) => {
                    plus = true;
                    true
                }
                '!' if !(plus || bang || bangbang) => {
                    bang = true;
                    true
                }
                '!' if !(plus || bangbang) => {
                    bang = false;
                    bangbang = true;
                    true
                }
                _ => false,
            };
            if !ok {
                break;
            }
            prefixes.push(c);
            rest = rest.get(1..).unwrap_or("");
        }
        let path = ExecWord {
            text: rest.to_string(),
            offset: first.1.saturating_add(prefixes.len()),
        };
        let fail = |out: &mut ExecParse, msg: String| {
            out.issues.push((
                if ignore {
                    format!("{msg}, ignored ('-' prefix)")
                } else {
                    msg
                },
                !ignore,
            ));
        };
        if path.text.is_empty() {
            fail(&mut out, format!("empty path in command line: {value}"));
            return out;
        }
        if path.text.ends_with('/') {
            fail(
                &mut out,
                format!("executable path specifies a directory: {}", path.text),
            );
            return out;
        }
        if !path.text.starts_with('/') && path.text.contains('/') {
            fail(
                &mut out,
                format!(
                    "neither a valid executable name nor an absolute path: {}",
                    path.text
                ),
            );
            return out;
        }
        let mut argv = Vec::new();
        if !argv0 {
            argv.push(path.clone());
        }
        let mut semicolon = false;
        loop {
            let rest = w.rest();
            if rest.is_empty() {
                break;
            }
            let mut it = rest.chars();
            let (c0, c1, c2) = (it.next(), it.next(), it.next());
            if c0 == Some(';') && c1.is_none_or(is_ws) {
                w.advance(1);
                w.skip_ws();
                semicolon = true;
                break;
            }
            if c0 == Some('\\') && c1 == Some(';') && c2.is_none_or(is_ws) {
                let offset = w.offset();
                w.advance(2);
                w.skip_ws();
                argv.push(ExecWord {
                    text: ";".to_string(),
                    offset,
                });
                continue;
            }
            match extract_first_word_and_warn(&mut w, ExtractFlags::UNIT) {
                Ok(Some((text, offset, warn))) => {
                    if warn.is_some() {
                        out.issues.push((
                            format!("unknown escape sequences kept verbatim: \"{text}\""),
                            false,
                        ));
                    }
                    argv.push(ExecWord { text, offset });
                }
                Ok(None) => break,
                Err(_) => {
                    fail(
                        &mut out,
                        format!("unbalanced quoting in command line: {value}"),
                    );
                    return out;
                }
            }
        }
        if argv.is_empty() {
            fail(
                &mut out,
                format!("empty executable name or zeroeth argument: {value}"),
            );
            return out;
        }
        out.commands.push(ExecCommand {
            prefixes,
            ignore_failure: ignore,
            separate_argv0: argv0,
            no_env_expand: noexp,
            path,
            argv,
        });
        if !semicolon {
            return out;
        }
    }
}

/// Quote `s` so that [`extract_first_word`] with [`ExtractFlags::UNIT`]
/// gives it back as one word.
pub fn quote_word(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
