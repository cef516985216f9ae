use super::*;
use proptest::prelude::*;

fn words(s: &str) -> Result<Vec<String>, ExtractError> {
    let mut w = Words::new(s);
    let mut out = Vec::new();
    while let Some((t, _)) = extract_first_word(&mut w, ExtractFlags::UNIT)? {
        out.push(t);
    }
    Ok(out)
}

#[test]
fn sections_keys_comments() {
    let p = parse_unit(
        "# c\n[Unit]\nDescription = Docker \n; x\n\n[Service]\n  ExecStart=/bin/a b\nNoEq\n=v\n",
    );
    assert_eq!(p.entries.len(), 2);
    assert_eq!(p.entries[0].section, "Unit");
    assert_eq!(p.entries[0].key, "Description");
    assert_eq!(p.entries[0].value, "Docker");
    assert_eq!(p.entries[0].line, 3);
    assert_eq!(p.entries[1].key, "ExecStart");
    assert_eq!(p.entries[1].line, 7);
    assert_eq!(p.issues.len(), 2);
    assert!(p.issues.iter().all(|i| !i.fatal));
    assert_eq!(p.issues[0].line, 8);
}

#[test]
fn continuation_lines_and_comments_inside() {
    let text = "[Service]\nExecStart=/usr/bin/dockerd $OPTIONS \\\n# comment\n  $B \\\n  --icc=false\nType=notify\n";
    let p = parse_unit(text);
    assert_eq!(p.entries.len(), 2);
    let e = &p.entries[0];
    assert_eq!(e.value, "/usr/bin/dockerd $OPTIONS    $B    --icc=false");
    assert_eq!(e.line, 2);
    let off = e.value.find("$B").unwrap();
    assert_eq!(e.line_at(off), 4);
    let off = e.value.find("--icc").unwrap();
    assert_eq!(e.line_at(off), 5);
    assert_eq!(e.line_at(0), 2);
    assert_eq!(p.entries[1].line, 6);
}

#[test]
fn long_continuation_is_linear() {
    // 100000 joined lines, one word every 1000: each line used to rescan
    // everything joined so far (minutes); now milliseconds.
    let mut text = String::from("[Service]\nExecStart=/usr/bin/dockerd \\\n");
    for i in 0..100_000 {
        text.push_str(if i % 1000 == 0 {
            "  --icc=false \\\n"
        } else {
            "  \\\n"
        });
    }
    text.push_str("  --live-restore\n");
    let start = std::time::Instant::now();
    let p = parse_unit(&text);
    let e = &p.entries[0];
    let off = e.value.find("--live-restore").unwrap();
    assert_eq!(e.line_at(off), 100_003);
    assert_eq!(e.value.matches("--icc=false").count(), 100);
    // After a joined line, a backslash pair still ends the value.
    let p = parse_unit("[S]\nA=x \\\ny\\\\\nB=z\n");
    assert_eq!(p.entries.len(), 2, "{p:?}");
    assert_eq!(p.entries[0].value, "x  y\\\\");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn escaped_backslash_is_not_continuation_and_empty_line_ends_it() {
    let p = parse_unit("[S]\nA=x\\\\\nB=y \\\n\nC=z\n");
    let keys: Vec<_> = p.entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["A", "B", "C"]);
    assert_eq!(p.entries[0].value, "x\\\\");
    assert_eq!(p.entries[1].value, "y");
}

#[test]
fn continuation_at_eof() {
    let p = parse_unit("[S]\nA=x \\");
    assert_eq!(p.entries[0].value, "x");
}

#[test]
fn bad_section_header_is_fatal() {
    let p = parse_unit("[Service\nExecStart=/x\n");
    assert!(p.issues[0].fatal);
    assert_eq!(p.issues[0].line, 1);
    assert!(p.entries.is_empty());
}

#[test]
fn crlf() {
    let p = parse_unit("[S]\r\nA=1\r\n");
    assert_eq!(p.entries[0].value, "1");
}

#[test]
fn word_quoting() {
    assert_eq!(words("a \"b c\" 'd e'").unwrap(), ["a", "b c", "d e"]);
    assert_eq!(words("--x=\"a b\"c").unwrap(), ["--x=a bc"]);
    assert_eq!(words(r#""a\"b" 'c\'d'"#).unwrap(), ["a\"b", "c'd"]);
    assert_eq!(
        words(r"a\tb \x41 \101 \u00e9 a\sb").unwrap(),
        ["a\tb", "A", "A", "é", "a b"]
    );
    assert_eq!(words("\"\"").unwrap(), [""]);
    assert_eq!(words("   ").unwrap(), Vec::<String>::new());
    assert_eq!(words("\"abc"), Err(ExtractError::Unbalanced));
    assert_eq!(words(r"\q"), Err(ExtractError::BadEscape));
    assert_eq!(words(r"\x00"), Err(ExtractError::BadEscape));
}

#[test]
fn word_and_warn_relaxes_unknown_escapes() {
    let mut w = Words::new(r"a\qb \ c");
    let (t, _, warn) = extract_first_word_and_warn(&mut w, ExtractFlags::UNIT)
        .unwrap()
        .unwrap();
    assert_eq!(t, r"a\qb");
    assert_eq!(warn, Some(ExtractWarning::UnknownEscapes));
    // "\ " is not an escape systemd knows: kept, and the space does not split.
    let (t, _, _) = extract_first_word_and_warn(&mut w, ExtractFlags::UNIT)
        .unwrap()
        .unwrap();
    assert_eq!(t, r"\ c");
    let mut w = Words::new("'abc");
    assert_eq!(
        extract_first_word_and_warn(&mut w, ExtractFlags::UNIT),
        Err(ExtractError::Unbalanced)
    );
}

#[test]
fn split_var_relaxed() {
    let f = ExtractFlags::SPLIT_VAR;
    assert_eq!(split_words("'two two' too", f), ["two two", "too"]);
    assert_eq!(
        split_words("--dns 8.8.8.8  --dns\t8.8.4.4", f),
        ["--dns", "8.8.8.8", "--dns", "8.8.4.4"]
    );
    assert_eq!(split_words("\"unterminated x", f), ["unterminated x"]);
    assert_eq!(split_words(r"a\ b c\", f), ["a b", "c"]);
    assert_eq!(split_words(r"\n", f), ["n"]);
}

#[test]
fn exec_basic_and_prefixes() {
    let p = parse_exec("-/usr/bin/dockerd -H fd:// $OPTS");
    assert!(p.issues.is_empty());
    let c = &p.commands[0];
    assert!(c.ignore_failure);
    assert_eq!(c.path.text, "/usr/bin/dockerd");
    assert_eq!(c.path.offset, 1);
    let a: Vec<_> = c.argv.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(a, ["/usr/bin/dockerd", "-H", "fd://", "$OPTS"]);
    assert_eq!(c.argv[3].offset, 27);

    let p = parse_exec("@:+/bin/x argv0 y");
    let c = &p.commands[0];
    assert_eq!(c.prefixes, "@:+");
    assert!(c.separate_argv0 && c.no_env_expand);
    let a: Vec<_> = c.argv.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(a, ["argv0", "y"]);

    let p = parse_exec("!!/bin/x");
    assert_eq!(p.commands[0].prefixes, "!!");
    assert_eq!(p.commands[0].path.text, "/bin/x");
    // "+!" is not a valid combination: '!' stays in the path, which is
    // then neither absolute nor a plain name.
    let p = parse_exec("+!/bin/x");
    assert!(p.commands.is_empty());
    assert!(p.issues[0].0.contains("!/bin/x") && p.issues[0].1);
}

#[test]
fn exec_semicolons() {
    let p = parse_exec("/bin/echo one ; /bin/echo \"two two\" \\; x;");
    assert_eq!(p.commands.len(), 2);
    let a: Vec<_> = p.commands[1].argv.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(a, ["/bin/echo", "two two", ";", "x;"]);
}

#[test]
fn exec_errors() {
    let p = parse_exec("/usr/bin/dockerd --x \"unterminated");
    assert!(p.commands.is_empty());
    assert!(p.issues[0].1, "{p:?}");
    let p = parse_exec("-/usr/bin/dockerd --x \"unterminated");
    assert!(p.commands.is_empty());
    assert!(!p.issues[0].1);
    let p = parse_exec("\"/usr/bin/dockerd");
    assert!(p.commands.is_empty());
    assert!(!p.issues[0].1);
    let p = parse_exec("@/bin/x");
    assert!(p.issues[0].1);
    let p = parse_exec("/usr/bin/");
    assert!(p.issues[0].1);
    let p = parse_exec("bin/x");
    assert!(p.issues[0].1);
    let p = parse_exec("dockerd -D");
    assert!(p.issues.is_empty());
    assert_eq!(p.commands[0].path.text, "dockerd");
}

proptest! {
    #[test]
    fn unit_parser_never_panics(s in "\\PC*") {
        let p = parse_unit(&s);
        for e in &p.entries {
            let _ = e.line_at(e.value.len());
            let _ = parse_exec(&e.value);
        }
    }

    #[test]
    fn unit_parser_never_panics_on_unit_like(s in "[\\[\\]a-zA-Z=\\\\ \n#;\"'$]{0,200}") {
        let p = parse_unit(&s);
        for e in &p.entries {
            prop_assert!(e.line >= 1);
            prop_assert!(e.line_at(0) >= e.line);
            let _ = parse_exec(&e.value);
        }
    }

    #[test]
    fn words_never_panic(s in "[a-z\\\\\"' \tx0-9uU]{0,80}") {
        let _ = words(&s);
        let mut w = Words::new(&s);
        while let Ok(Some(_)) = extract_first_word_and_warn(&mut w, ExtractFlags::UNIT) {}
        let _ = split_words(&s, ExtractFlags::SPLIT_VAR);
    }

    #[test]
    fn quote_round_trip(v in proptest::collection::vec("\\PC*", 0..6)) {
        let line = v.iter().map(|s| quote_word(s)).collect::<Vec<_>>().join(" ");
        prop_assert_eq!(words(&line).unwrap(), v);
    }

    #[test]
    fn continuation_round_trip(a in "[a-z]{1,10}", b in "[a-z]{1,10}") {
        let p = parse_unit(&format!("[S]\nK={a} \\\n{b}\n"));
        prop_assert_eq!(p.entries[0].value.clone(), format!("{a}  {b}"));
        prop_assert_eq!(p.entries[0].line_at(p.entries[0].value.len() - 1), 3);
    }
}
