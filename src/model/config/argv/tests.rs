use super::*;
use proptest::prelude::*;

fn args(words: &[&str]) -> ParsedArgs {
    let mut v = vec!["dockerd".to_string()];
    v.extend(words.iter().map(|s| s.to_string()));
    parse_args(&ArgWord::from_argv(&v), &Engine::default())
}

fn summary(p: &ParsedArgs) -> Vec<(String, String)> {
    p.uses
        .iter()
        .map(|u| (u.spec.flag.to_string(), u.value.clone()))
        .collect()
}

fn first_problem(p: &ParsedArgs) -> String {
    p.problems
        .first()
        .map(|p| p.message.clone())
        .unwrap_or_default()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
#[allow(clippy::type_complexity)]
fn accepted_forms() {
    let cases: &[(&[&str], &[(&str, &str)])] = &[
        (&["--icc=false"], &[("icc", "false")]),
        (&["--icc"], &[("icc", "true")]),
        (&["--icc=0", "--icc=T"], &[("icc", "0"), ("icc", "T")]),
        (&["--log-level", "debug"], &[("log-level", "debug")]),
        (&["--log-level=debug"], &[("log-level", "debug")]),
        (&["--log-level", "-D"], &[("log-level", "-D")]),
        (&["-H", "fd://"], &[("host", "fd://")]),
        (&["-Hfd://"], &[("host", "fd://")]),
        (&["-H=fd://"], &[("host", "fd://")]),
        (
            &["-Dl", "debug"],
            &[("debug", "true"), ("log-level", "debug")],
        ),
        (&["-Dldebug"], &[("debug", "true"), ("log-level", "debug")]),
        (&["-D=false"], &[("debug", "false")]),
        (&["--mtu=0x10"], &[("mtu", "0x10")]),
        (&["--mtu", "1_0"], &[("mtu", "1_0")]),
        (
            &["--log-opt", "max-size=10m"],
            &[("log-opt", "max-size=10m")],
        ),
        (&["--label", "a=b"], &[("label", "a=b")]),
        (
            &["--default-shm-size", "128M"],
            &[("default-shm-size", "128M")],
        ),
        (
            &["--default-ulimit", "nofile=1024:2048"],
            &[("default-ulimit", "nofile=1024:2048")],
        ),
        (
            &["--graph", "/x", "-g", "/y"],
            &[("graph", "/x"), ("graph", "/y")],
        ),
        (&["--tlsverify=false"], &[("tlsverify", "false")]),
    ];
    for (words, expected) in cases {
        let p = args(words);
        assert_eq!(summary(&p), pairs(expected), "{words:?}");
        assert!(
            p.problems.iter().all(|x| x.level == ProblemLevel::Warning),
            "{words:?}: {:?}",
            p.problems
        );
    }
}

#[test]
fn rejected_forms_with_dockerd_messages() {
    let cases: &[(&[&str], &str)] = &[
        (&["--bogus"], "unknown flag: --bogus"),
        (&["-e=x"], "unknown shorthand flag: 'e' in -e=x"),
        (
            &["--icc=no"],
            "invalid argument \"no\" for \"--icc\" flag: strconv.ParseBool: parsing \"no\": invalid syntax",
        ),
        (
            &["--icc="],
            "invalid argument \"\" for \"--icc\" flag: strconv.ParseBool: parsing \"\": invalid syntax",
        ),
        (&["--log-level"], "flag needs an argument: --log-level"),
        (&["-l"], "flag needs an argument: 'l' in -l"),
        (&["-Dl"], "flag needs an argument: 'l' in -l"),
        (&["---x"], "bad flag syntax: ---x"),
        (&["--=x"], "bad flag syntax: --=x"),
        (
            &["--ip=1.2.3"],
            "invalid argument \"1.2.3\" for \"--ip\" flag: 1.2.3 is not an ip address",
        ),
        (
            &["-H", "ssh://x"],
            "invalid argument \"ssh://x\" for \"-H, --host\" flag: Invalid bind address format: ssh://x",
        ),
        (
            &["--default-ulimit", "nofile=1:2:3"],
            "invalid argument \"nofile=1:2:3\" for \"--default-ulimit\" flag: too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`",
        ),
        (
            &["--add-runtime", "runc=/x"],
            "invalid argument \"runc=/x\" for \"--add-runtime\" flag: runtime name 'runc' is reserved",
        ),
        (
            &["--label", "foo"],
            "invalid argument \"foo\" for \"--label\" flag: bad attribute format: foo",
        ),
        (
            &["--mtu=abc"],
            "invalid argument \"abc\" for \"--mtu\" flag: strconv.ParseInt: parsing \"abc\": invalid syntax",
        ),
        (
            &["--restart=x"],
            "invalid argument \"x\" for \"-r, --restart\" flag: strconv.ParseBool: parsing \"x\": invalid syntax",
        ),
    ];
    for (words, expected) in cases {
        let p = args(words);
        assert_eq!(first_problem(&p), *expected, "{words:?}");
        assert_eq!(p.problems.len(), 1, "{words:?}");
    }
}

#[test]
fn positional_arguments_are_refused() {
    for words in [&["foo"][..], &["--icc", "false"], &["--", "foo"], &["-"]] {
        let p = args(words);
        assert!(
            first_problem(&p).starts_with("\"dockerd\" accepts no argument(s)"),
            "{words:?}: {:?}",
            p.problems
        );
    }
    // `--` alone is fine; flags after `--` are positional
    assert!(args(&["--"]).problems.is_empty());
    let p = args(&["--", "--icc=false"]);
    assert!(p.uses.is_empty());
    assert_eq!(p.problems.len(), 1);
}

#[test]
fn first_error_stops_parsing() {
    let p = args(&["--icc=false", "--bogus", "--iptables=false"]);
    assert_eq!(summary(&p), pairs(&[("icc", "false")]));
    assert_eq!(p.problems.len(), 1);
}

#[test]
fn evidence_names_word_and_form() {
    let p = args(&["--debug", "--log-level", "warn", "-H", "unix:///x"]);
    let ev: Vec<(String, String)> = p
        .uses
        .iter()
        .map(|u| (u.evidence.location.clone(), u.evidence.detail.clone()))
        .collect();
    assert_eq!(
        ev,
        pairs(&[
            ("argv[1]", "--debug"),
            ("argv[2]", "--log-level warn"),
            ("argv[4]", "-H unix:///x"),
        ])
    );
}

#[test]
fn help_version_graph_data_root() {
    assert!(first_problem(&args(&["--help"])).starts_with("--help"));
    assert!(first_problem(&args(&["-v"])).starts_with("--version"));
    assert!(args(&["--version=false"]).problems.is_empty());
    let p = args(&["-g", "/a", "--data-root", "/b"]);
    assert!(p.problems.iter().any(|x| x.level == ProblemLevel::Fatal
        && x.message == "cannot specify both \"--graph\" and \"--data-root\" option"));
}

#[test]
fn go_int_parsing() {
    for (s, v) in [
        ("10", Some(10)),
        ("-10", Some(-10)),
        ("+7", Some(7)),
        ("0x1F", Some(31)),
        ("010", Some(8)),
        ("0o10", Some(8)),
        ("0b11", Some(3)),
        ("1_000", Some(1000)),
        ("0x_1", Some(1)),
        ("_1", None),
        ("1__0", None),
        ("1_", None),
        ("", None),
        ("08", None),
        ("9223372036854775807", Some(i64::MAX)),
        ("-9223372036854775808", Some(i64::MIN)),
        ("9223372036854775808", None),
        ("1e3", None),
    ] {
        assert_eq!(parse_go_int(s).ok(), v, "{s}");
    }
}

#[test]
fn sizes_and_ulimits() {
    assert_eq!(parse_ram_bytes("64M"), Ok(64 << 20));
    assert_eq!(parse_ram_bytes("1.5 KiB"), Ok(1536));
    assert_eq!(parse_ram_bytes("100"), Ok(100));
    assert!(parse_ram_bytes("abc").is_err());
    assert!(parse_ram_bytes("1.2.3").is_err());
    assert_eq!(parse_ulimit("nofile=1:2"), Ok(("nofile".into(), 1, 2)));
    assert!(parse_ulimit("nofile=3:2").is_err());
    assert_eq!(parse_ulimit("core=5:-1"), Ok(("core".into(), 5, -1)));
    assert!(parse_ulimit("bogus=1").is_err());
}

proptest! {
    #[test]
    fn never_panics(words in prop::collection::vec(".{0,12}", 0..8)) {
        let mut v = vec!["dockerd".to_string()];
        v.extend(words);
        let _ = parse_args(&ArgWord::from_argv(&v), &Engine::default());
    }

    #[test]
    fn never_panics_on_flag_like(words in prop::collection::vec("-{0,2}[a-zA-Z=:/.0-9é-]{0,10}", 0..8)) {
        let mut v = vec!["dockerd".to_string()];
        v.extend(words);
        let p = parse_args(&ArgWord::from_argv(&v), &Engine::default());
        // at most one parse error, and a problem whenever there is a positional
        if !p.positional.is_empty() {
            prop_assert!(!p.problems.is_empty());
        }
    }

    #[test]
    fn go_int_round_trips(n in any::<i64>()) {
        prop_assert_eq!(parse_go_int(&n.to_string()), Ok(n));
        let hex = if n < 0 { format!("-0x{:x}", n.unsigned_abs()) } else { format!("0x{n:x}") };
        prop_assert_eq!(parse_go_int(&hex), Ok(n));
    }
}
