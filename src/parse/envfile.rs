//! systemd's EnvironmentFile= format, as `parse_env_file_internal()` of
//! systemd 254+ reads it (it is not a shell):
//!
//! - `KEY=VALUE` assignments; whitespace around the key and before the value
//!   is skipped, trailing whitespace of an unquoted value is removed;
//! - `#` and `;` start a comment only where a key could start;
//! - `'...'` keeps everything literally; `"..."` understands `\"`, `\\`,
//!   `` \` ``, `\$` and an escaped newline, and keeps any other backslash;
//!   quoted and unquoted parts right after each other are joined
//!   (`A="x" y` gives `xy`, whitespace between them being skipped);
//! - outside quotes a backslash escapes the next character, and an escaped
//!   newline joins lines;
//! - a line without `=` is ignored; `export KEY=VALUE` gives the key
//!   `export KEY`, which is not a valid variable name, so systemd drops it
//!   ([`is_valid_env_name`]).
//!
//! Pure and total: never panics, whatever the input.

/// One assignment, as the state machine produced it (the key is not yet
/// validated: see [`is_valid_env_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvAssignment {
    pub key: String,
    pub value: String,
    /// Physical line (1-based) where the key starts.
    pub line: usize,
}

/// Whether `name` is a variable name systemd accepts (`env_name_is_valid`):
/// non-empty, `[A-Za-z0-9_]`, not starting with a digit.
pub fn is_valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    SingleQuote,
    DoubleQuote,
    DoubleQuoteEscape,
    Comment,
    CommentEscape,
}

const SHELL_NEED_ESCAPE: &[char] = &['"', '\\', '`', '$'];

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_nl(c: char) -> bool {
    matches!(c, '\n' | '\r')
}

/// Parse an EnvironmentFile. Assignments in file order (a later one of the
/// same key overrides an earlier one).
pub fn parse_env_file(text: &str) -> Vec<EnvAssignment> {
    let mut out = Vec::new();
    let mut state = State::PreKey;
    let mut key = String::new();
    let mut value: Option<String> = None;
    let mut last_key_ws: Option<usize> = None;
    let mut last_value_ws: Option<usize> = None;
    let mut line = 1usize;
    let mut key_line = 1usize;

    fn push(
        out: &mut Vec<EnvAssignment>,
        key: &mut String,
        value: &mut Option<String>,
        last_key_ws: Option<usize>,
        chomp: Option<usize>,
        line: usize,
    ) {
        let mut k = std::mem::take(key);
        if let Some(n) = last_key_ws {
            k.truncate(n);
        }
        let mut v = value.take().unwrap_or_default();
        if let Some(n) = chomp {
            v.truncate(n);
        }
        out.push(EnvAssignment {
            key: k,
            value: v,
            line,
        });
    }

    for c in text.chars() {
        match state {
            State::PreKey => {
                if c == '#' || c == ';' {
                    state = State::Comment;
                } else if !is_ws(c) {
                    state = State::Key;
                    last_key_ws = None;
                    key_line = line;
                    key.push(c);
                }
            }
            State::Key => {
                if is_nl(c) {
                    state = State::PreKey;
                    key.clear();
                } else if c == '=' {
                    state = State::PreValue;
                    last_value_ws = None;
                } else {
                    if !is_ws(c) {
                        last_key_ws = None;
                    } else if last_key_ws.is_none() {
                        last_key_ws = Some(key.len());
                    }
                    key.push(c);
                }
            }
            State::PreValue => {
                if is_nl(c) {
                    state = State::PreKey;
                    push(&mut out, &mut key, &mut value, last_key_ws, None, key_line);
                } else if c == '\'' {
                    state = State::SingleQuote;
                } else if c == '"' {
                    state = State::DoubleQuote;
                } else if c == '\\' {
                    state = State::ValueEscape;
                } else if !is_ws(c) {
                    state = State::Value;
                    value.get_or_insert_with(String::new).push(c);
                }
            }
            State::Value => {
                if is_nl(c) {
                    state = State::PreKey;
                    push(
                        &mut out,
                        &mut key,
                        &mut value,
                        last_key_ws,
                        last_value_ws,
                        key_line,
                    );
                } else if c == '\\' {
                    state = State::ValueEscape;
                    last_value_ws = None;
                } else {
                    let v = value.get_or_insert_with(String::new);
                    if !is_ws(c) {
                        last_value_ws = None;
                    } else if last_value_ws.is_none() {
                        last_value_ws = Some(v.len());
                    }
                    v.push(c);
                }
            }
            State::ValueEscape => {
                state = State::Value;
                if !is_nl(c) {
                    value.get_or_insert_with(String::new).push(c);
                }
            }
            State::SingleQuote => {
                if c == '\'' {
                    state = State::PreValue;
                } else {
                    value.get_or_insert_with(String::new).push(c);
                }
            }
            State::DoubleQuote => {
                if c == '"' {
                    state = State::PreValue;
                } else if c == '\\' {
                    state = State::DoubleQuoteEscape;
                } else {
                    value.get_or_insert_with(String::new).push(c);
                }
            }
            State::DoubleQuoteEscape => {
                state = State::DoubleQuote;
                let v = value.get_or_insert_with(String::new);
                if SHELL_NEED_ESCAPE.contains(&c) {
                    v.push(c);
                } else if c != '\n' {
                    v.push('\\');
                    v.push(c);
                }
            }
            State::Comment => {
                if c == '\\' {
                    state = State::CommentEscape;
                } else if is_nl(c) {
                    state = State::PreKey;
                }
            }
            State::CommentEscape => {
                state = if is_nl(c) {
                    State::PreKey
                } else {
                    State::Comment
                };
            }
        }
        if c == '\n' {
            line = line.saturating_add(1);
        }
    }

    match state {
        State::PreValue
        | State::ValueEscape
        | State::SingleQuote
        | State::DoubleQuote
        | State::DoubleQuoteEscape => {
            push(&mut out, &mut key, &mut value, last_key_ws, None, key_line);
        }
        State::Value => {
            push(
                &mut out,
                &mut key,
                &mut value,
                last_key_ws,
                last_value_ws,
                key_line,
            );
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kv(text: &str) -> Vec<(String, String)> {
        parse_env_file(text)
            .into_iter()
            .map(|a| (a.key, a.value))
            .collect()
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn debian_default_docker() {
        let t = "# Docker Upstart and SysVinit configuration file\n\n#DOCKER=\"/usr/local/bin/dockerd\"\n\n# Use DOCKER_OPTS to modify the daemon startup options.\nDOCKER_OPTS=\"--dns 8.8.8.8 --dns 8.8.4.4\"\n";
        let a = parse_env_file(t);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].key, "DOCKER_OPTS");
        assert_eq!(a[0].value, "--dns 8.8.8.8 --dns 8.8.4.4");
        assert_eq!(a[0].line, 6);
    }

    #[test]
    fn rhel_sysconfig_docker() {
        let t = "# /etc/sysconfig/docker\n\n# Modify these options if you want to change the way the docker daemon runs\nOPTIONS='--selinux-enabled --log-driver=journald'\nif [ -z \"${DOCKER_CERT_PATH}\" ]; then\n    DOCKER_CERT_PATH=/etc/docker\nfi\n";
        let a = parse_env_file(t);
        assert_eq!(a[0].key, "OPTIONS");
        assert_eq!(a[0].value, "--selinux-enabled --log-driver=journald");
        assert_eq!(a[0].line, 4);
        // The shell lines without '=' are dropped; the indented assignment is read.
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].key, "DOCKER_CERT_PATH");
        assert_eq!(a[1].line, 6);
    }

    #[test]
    fn whitespace_quotes_and_escapes() {
        assert_eq!(kv("A = 1 2  \n"), [p("A", "1 2")]);
        assert_eq!(kv("A=\"x\" y\n"), [p("A", "xy")]);
        assert_eq!(kv("A=x \"y\"\n"), [p("A", "x \"y\"")]);
        assert_eq!(kv("A='a \\n $b'"), [p("A", "a \\n $b")]);
        assert_eq!(kv("A=\"a\\\"b\\$c\\nd\""), [p("A", "a\"b$c\\nd")]);
        assert_eq!(kv("A=a\\\nb\n"), [p("A", "ab")]);
        assert_eq!(kv("A=\"a\\\nb\"\n"), [p("A", "ab")]);
        assert_eq!(kv("A=a\\ \n"), [p("A", "a ")]);
        assert_eq!(kv("A=\nB\nC=3"), [p("A", ""), p("C", "3")]);
        assert_eq!(kv("A=\"multi\nline\"\n"), [p("A", "multi\nline")]);
        assert_eq!(kv("A=1 # not a comment\n"), [p("A", "1 # not a comment")]);
        assert_eq!(kv("  ; c\n\t# c\nB=2\r\n"), [p("B", "2")]);
    }

    #[test]
    fn export_is_not_shell() {
        let a = parse_env_file("export A=1\n");
        assert_eq!(a[0].key, "export A");
        assert!(!is_valid_env_name(&a[0].key));
    }

    #[test]
    fn comment_backslash_does_not_continue() {
        assert_eq!(kv("# c \\\nA=1\n"), [p("A", "1")]);
    }

    #[test]
    fn names() {
        assert!(is_valid_env_name("DOCKER_OPTS"));
        assert!(is_valid_env_name("_a1"));
        assert!(!is_valid_env_name("1A"));
        assert!(!is_valid_env_name(""));
        assert!(!is_valid_env_name("A-B"));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = parse_env_file(&s);
        }

        #[test]
        fn never_panics_on_env_like(s in "[A-Z=\"'\\\\ \n#;$a]{0,200}") {
            for a in parse_env_file(&s) {
                prop_assert!(a.line >= 1);
                prop_assert!(a.line <= s.lines().count().max(1));
            }
        }

        #[test]
        fn single_quote_round_trip(k in "[A-Z_][A-Z0-9_]{0,8}", v in "[^'\\r\\n]{0,40}") {
            let a = parse_env_file(&format!("{k}='{v}'\n"));
            prop_assert_eq!(a.len(), 1);
            prop_assert_eq!(&a[0].key, &k);
            prop_assert_eq!(&a[0].value, &v);
        }

        #[test]
        fn double_quote_round_trip(k in "[A-Z_][A-Z0-9_]{0,8}", v in "\\PC{0,40}") {
            let mut q = String::from("\"");
            for c in v.chars() {
                if matches!(c, '"' | '\\' | '`' | '$') { q.push('\\'); }
                q.push(c);
            }
            q.push('"');
            let a = parse_env_file(&format!("{k}={q}\n"));
            prop_assert_eq!(a.len(), 1);
            prop_assert_eq!(&a[0].value, &v);
        }
    }
}
