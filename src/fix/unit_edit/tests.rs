use super::*;
use crate::model::systemd::replace_env;
use proptest::prelude::*;

fn fixture(rel: &str) -> String {
    let p = format!("{}/tests/fixtures/hosts/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle} not in text"))
}

fn s(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// What systemd passes to the program for an ExecStart= value: parse, then
/// `%%` -> `%` (specifiers), then `$$` -> `$` (environment).
fn run_words(value: &str) -> Option<Vec<String>> {
    let p = parse_exec(value);
    if !p.issues.is_empty() || p.commands.len() != 1 {
        return None;
    }
    let cmd = p.commands.first()?;
    Some(
        cmd.argv
            .iter()
            .map(|w| replace_env(&w.text.replace("%%", "%"), |_| None).0)
            .collect(),
    )
}

fn dropin_words(text: &str) -> Option<Vec<String>> {
    let p = parse_unit(text);
    if !p.issues.is_empty() {
        return None;
    }
    let exec: Vec<_> = p
        .section("Service")
        .filter(|e| e.key == "ExecStart")
        .collect();
    match exec.as_slice() {
        [reset, cmd] if reset.value.is_empty() => run_words(&cmd.value),
        _ => None,
    }
}

#[test]
fn exec_word_quoting() {
    let q = |w: &str| exec_word(w).unwrap_or_default();
    assert_eq!(q("--icc=false"), "--icc=false");
    assert_eq!(q("unix:///run/docker.sock"), "unix:///run/docker.sock");
    assert_eq!(q("a b"), "\"a b\"");
    assert_eq!(q("$HOME"), "$$HOME");
    assert_eq!(q("100%"), "100%%");
    assert_eq!(q("a\"b"), "\"a\\\"b\"");
    assert_eq!(q("x\\y"), "\"x\\\\y\"");
    assert_eq!(q(""), "\"\"");
    assert_eq!(q(";"), "\";\"");
    assert_eq!(q("#x"), "\"#x\"");
    assert_eq!(q("a\nb"), "\"a\\x0ab\"");
    assert!(exec_word("a\0b").is_err());
}

#[test]
fn dropin_short_and_long() {
    let words = s(&["/usr/sbin/dockerd", "-H", "fd://", "--icc=false"]);
    let d = render_exec_dropin(&words).unwrap_or_default();
    assert_eq!(
        d,
        "# Written by dockhard (dockhard fix): replaces ExecStart= of the service.\n\
         # Undo with `dockhard fix --rollback`, or delete this file and run\n\
         # `systemctl daemon-reload`.\n\
         [Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// --icc=false\n"
    );
    assert_eq!(dropin_words(&d), Some(words));
    let words = s(&[
        "/usr/sbin/dockerd",
        "-H",
        "fd://",
        "--containerd=/run/containerd/containerd.sock",
        "--log-opt",
        "tag={{.Name}} %n $x",
        "--icc=false",
    ]);
    let d = render_exec_dropin(&words).unwrap_or_default();
    assert!(
        d.ends_with(
            "ExecStart=/usr/sbin/dockerd \\\n    -H fd:// \\\n    --containerd=/run/containerd/containerd.sock \\\n    --log-opt \"tag={{.Name}} %%n $$x\" \\\n    --icc=false\n"
        ),
        "{d}"
    );
    assert_eq!(dropin_words(&d), Some(words));
    assert!(render_exec_dropin(&[]).is_err());
    assert!(render_exec_dropin(&s(&["dockerd"])).is_err());
}

#[test]
fn exec_remove_two_words_debian() {
    let t = fixture("debian/lib/systemd/system/docker.service");
    let l = line_of(&t, "ExecStart=");
    let out = edit_exec_start(&t, l, &s(&["-H", "fd://"]), &WordEdit::Remove);
    assert_eq!(out.ok(), Some(t.replacen(" -H fd://", "", 1)));
    let out = edit_exec_start(
        &t,
        l,
        &s(&["--containerd=/run/containerd/containerd.sock"]),
        &WordEdit::Replace(s(&["--containerd=/x y"])),
    );
    assert_eq!(
        out.ok(),
        Some(t.replacen(
            "--containerd=/run/containerd/containerd.sock",
            "\"--containerd=/x y\"",
            1
        ))
    );
}

#[test]
fn exec_continuation_lines_rhel() {
    let t = fixture("rhel/lib/systemd/system/docker.service");
    let l = line_of(&t, "ExecStart=");
    // Alone on the last line: the line goes and the previous one ends.
    let out = edit_exec_start(&t, l + 4, &s(&["--icc=false"]), &WordEdit::Remove);
    assert_eq!(
        out.ok(),
        Some(t.replacen(
            "$INSECURE_REGISTRY \\\n          --icc=false\n",
            "$INSECURE_REGISTRY\n",
            1
        ))
    );
    // Alone on a middle line: the line goes.
    let out = edit_exec_start(&t, l, &s(&["$DOCKER_STORAGE_OPTIONS"]), &WordEdit::Remove);
    assert_eq!(
        out.ok(),
        Some(t.replacen("          $DOCKER_STORAGE_OPTIONS \\\n", "", 1))
    );
    // Replaced in place.
    let out = edit_exec_start(
        &t,
        l + 2,
        &s(&["--icc=false"]),
        &WordEdit::Replace(s(&["--icc=false", "--live-restore"])),
    );
    assert_eq!(
        out.ok(),
        Some(t.replacen("--icc=false", "--icc=false --live-restore", 1))
    );
}

#[test]
fn exec_dropin_override_fixture() {
    let t = fixture("dropin-override/etc/systemd/system/docker.service.d/override.conf");
    let l = line_of(&t, "--live-restore");
    let out = edit_exec_start(&t, l, &s(&["--live-restore"]), &WordEdit::Remove);
    assert_eq!(
        out.ok(),
        Some(t.replacen(
            "--userland-proxy=false \\\n    --live-restore",
            "--userland-proxy=false",
            1
        ))
    );
    let out = edit_exec_start(
        &t,
        l,
        &s(&["--userland-proxy=false"]),
        &WordEdit::Replace(s(&["--userland-proxy=true"])),
    );
    assert_eq!(
        out.ok(),
        Some(t.replacen("--userland-proxy=false", "--userland-proxy=true", 1))
    );
    // The reset `ExecStart=` line holds no command.
    let reset = line_of(&t, "ExecStart=");
    let e = edit_exec_start(&t, reset, &s(&["--icc=false"]), &WordEdit::Remove);
    assert_eq!(e.err().map(|e| e.kind), Some(UnitEditErrorKind::NoSetting));
    let e = edit_exec_start(&t, l, &s(&["--debug"]), &WordEdit::Remove);
    assert_eq!(
        e.err().map(|e| e.to_string()),
        Some(format!("line {l}: ExecStart= does not hold `--debug`"))
    );
}

#[test]
fn exec_duplicates_and_forms() {
    let t = "[Service]\nExecStart=/bin/d --log-opt max-size=1g --x --log-opt max-size=1g\n";
    let out = edit_exec_start(
        t,
        2,
        &s(&["--log-opt", "max-size=1g"]),
        &WordEdit::Replace(s(&["--log-opt=max-size=10m"])),
    );
    assert_eq!(
        out.ok(),
        Some("[Service]\nExecStart=/bin/d --x --log-opt=max-size=10m\n".to_string())
    );
    let t = "[Service]\r\nExecStart=/bin/d \"--label=a b\"\t--log-opt=max-size=1g\r\n";
    let out = edit_exec_start(t, 2, &s(&["--label=a b"]), &WordEdit::Remove);
    assert_eq!(
        out.ok(),
        Some("[Service]\r\nExecStart=/bin/d\t--log-opt=max-size=1g\r\n".to_string())
    );
    let out = edit_exec_start(t, 2, &s(&["--log-opt=max-size=1g"]), &WordEdit::Remove);
    assert_eq!(
        out.ok(),
        Some("[Service]\r\nExecStart=/bin/d \"--label=a b\"\r\n".to_string())
    );
}

#[test]
fn env_file_rhel_options() {
    let t = fixture("rhel/etc/sysconfig/docker");
    let l = line_of(&t, "OPTIONS=");
    let rm = |t: &str, w: &str| edit_env_file(t, l, &s(&[w]), &WordEdit::Remove);
    assert_eq!(
        rm(&t, "--log-driver=journald").ok(),
        Some(t.replacen(" --log-driver=journald", "", 1))
    );
    assert_eq!(
        rm(&t, "--selinux-enabled").ok(),
        Some(t.replacen("--selinux-enabled ", "", 1))
    );
    assert_eq!(
        rm(&t, "--signature-verification=false").ok(),
        Some(t.replacen(" --signature-verification=false", "", 1))
    );
    let mut all = t.clone();
    for w in [
        "--log-driver=journald",
        "--selinux-enabled",
        "--signature-verification=false",
    ] {
        all = rm(&all, w).unwrap_or_default();
    }
    assert_eq!(
        all,
        t.replacen(
            "'--selinux-enabled --log-driver=journald --signature-verification=false'",
            "''",
            1
        )
    );
    let out = edit_env_file(
        &t,
        l,
        &s(&["--log-driver=journald"]),
        &WordEdit::Replace(s(&[
            "--log-driver=syslog",
            "--log-opt=syslog-address=udp://10.0.0.1:514",
        ])),
    );
    assert_eq!(
        out.ok(),
        Some(t.replacen(
            "--log-driver=journald",
            "--log-driver=syslog --log-opt=syslog-address=udp://10.0.0.1:514",
            1
        ))
    );
    let e = edit_env_file(
        &t,
        l,
        &s(&["--selinux-enabled"]),
        &WordEdit::Replace(s(&["a'b"])),
    );
    assert_eq!(
        e.err().map(|e| e.kind),
        Some(UnitEditErrorKind::Unsupported)
    );
    let e = edit_env_file(&t, 1, &s(&["--selinux-enabled"]), &WordEdit::Remove);
    assert_eq!(e.err().map(|e| e.kind), Some(UnitEditErrorKind::NoSetting));
}

#[test]
fn env_file_debian_and_forms() {
    let t = fixture("debian/etc/default/docker");
    let l = line_of(&t, "DOCKER_OPTS=");
    let out = edit_env_file(&t, l, &s(&["--dns", "8.8.4.4"]), &WordEdit::Remove);
    assert_eq!(out.ok(), Some(t.replacen(" --dns 8.8.4.4", "", 1)));
    let t = "A=--log-opt max-size=1g --x  \nB=\"--log-opt=max-size=1g\" # c\n";
    let out = edit_env_file(t, 1, &s(&["--log-opt", "max-size=1g"]), &WordEdit::Remove);
    assert_eq!(
        out.ok(),
        Some("A=--x  \nB=\"--log-opt=max-size=1g\" # c\n".into())
    );
    let out = edit_env_file(t, 2, &s(&["--log-opt=max-size=1g"]), &WordEdit::Remove);
    assert!(out.is_err(), "`# c` is part of B's value: {out:?}");
    let t = "B=\"--log-opt=max-size=1g --y\"\n";
    let out = edit_env_file(t, 1, &s(&["--log-opt=max-size=1g"]), &WordEdit::Remove);
    assert_eq!(out.ok(), Some("B=\"--y\"\n".into()));
    // A value continued on the next line is not edited.
    let t = "B=\"--a \\\n--b\"\n";
    let e = edit_env_file(t, 1, &s(&["--a"]), &WordEdit::Remove);
    assert_eq!(
        e.err().map(|e| e.kind),
        Some(UnitEditErrorKind::Unsupported)
    );
}

fn arb_word() -> impl Strategy<Value = String> {
    prop_oneof![
        "--[a-z-]{1,10}(=[a-z0-9:/.]{0,8})?",
        "[^\\x00]{0,10}",
        "[ a-z\"'\\\\$%;#{}]{0,8}",
    ]
}

fn arb_flag() -> impl Strategy<Value = String> {
    "--[a-z]{1,6}(=[a-z0-9:/.]{1,8})?"
}

proptest! {
    #[test]
    fn dropin_round_trips(args in prop::collection::vec(arb_word(), 0..12)) {
        let mut words = vec!["/usr/bin/dockerd".to_string()];
        words.extend(args);
        let d = render_exec_dropin(&words).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(dropin_words(&d), Some(words), "{}", d);
    }

    #[test]
    fn exec_remove_any_word(args in prop::collection::vec(arb_flag(), 1..12), pick in any::<prop::sample::Index>(), crlf in any::<bool>()) {
        let mut words = vec!["/usr/bin/dockerd".to_string()];
        words.extend(args.clone());
        let d = render_exec_dropin(&words).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let d = if crlf { d.replace('\n', "\r\n") } else { d };
        let target = args[pick.index(args.len())].clone();
        let line = d.lines().position(|l| l.starts_with("ExecStart=/")).unwrap_or(0) + 1;
        let out = edit_exec_start(&d, line, std::slice::from_ref(&target), &WordEdit::Remove)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{d}")))?;
        let mut want = words.clone();
        want.retain(|w| *w != target);
        prop_assert_eq!(dropin_words(&out), Some(want), "{}", out);
        // Idempotent: nothing left to remove.
        let again = edit_exec_start(&out, line, std::slice::from_ref(&target), &WordEdit::Remove);
        prop_assert_eq!(again.err().map(|e| e.kind), Some(UnitEditErrorKind::NotFound));
        // The header lines are untouched.
        prop_assert!(out.starts_with(d.get(..d.find("ExecStart=/").unwrap_or(0)).unwrap_or("")));
    }

    #[test]
    fn env_remove_any_word(
        args in prop::collection::vec(arb_flag(), 1..8),
        pick in any::<prop::sample::Index>(),
        quote in prop::sample::select(vec!["'", "\"", ""]),
        sep in prop::sample::select(vec![" ", "  ", "\t"]),
    ) {
        let t = format!("# c\nOPTIONS={quote}{}{quote}\nOTHER=1\n", args.join(sep));
        let target = args[pick.index(args.len())].clone();
        let out = edit_env_file(&t, 2, std::slice::from_ref(&target), &WordEdit::Remove)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{t}")))?;
        let parsed = parse_env_file(&out);
        let mut want = args.clone();
        want.retain(|w| *w != target);
        prop_assert_eq!(parsed.len(), 2);
        prop_assert_eq!(split_words(&parsed[0].value, ExtractFlags::SPLIT_VAR), want);
        prop_assert!(out.starts_with("# c\nOPTIONS="));
        prop_assert!(out.ends_with("\nOTHER=1\n"));
    }

    #[test]
    fn never_panics(t in any::<String>(), line in 0usize..6, w in arb_word()) {
        let _ = edit_exec_start(&t, line, std::slice::from_ref(&w), &WordEdit::Remove);
        let _ = edit_exec_start(&t, line, std::slice::from_ref(&w), &WordEdit::Replace(vec![w.clone()]));
        let _ = edit_env_file(&t, line, std::slice::from_ref(&w), &WordEdit::Remove);
        let _ = edit_env_file(&t, line, std::slice::from_ref(&w), &WordEdit::Replace(vec!["--x".into()]));
    }

    #[test]
    fn never_panics_on_unit_like(
        t in "(\\[Service\\]\n)?(ExecStart=|A=)[a-z\\-=\"' \\\\\n#;$]{0,60}",
        w in "[a-z\\-=]{1,4}",
    ) {
        for line in 1..4 {
            let _ = edit_exec_start(&t, line, std::slice::from_ref(&w), &WordEdit::Remove);
            let _ = edit_env_file(&t, line, std::slice::from_ref(&w), &WordEdit::Remove);
        }
    }
}
