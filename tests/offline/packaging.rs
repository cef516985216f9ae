//! What the package installs besides the binary, generated from the clap
//! definitions or kept in packaging/: the man pages (`dockhard man`), the
//! shell completions (`dockhard completions SHELL`) and the systemd unit
//! `packaging/systemd/dockhard-watch.service`. The .deb itself is built and
//! installed by scripts/package and scripts/package-test.

use assert_cmd::Command;
use clap::Parser;
use std::path::{Path, PathBuf};

fn dockhard() -> Command {
    Command::cargo_bin("dockhard").unwrap()
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One man page per command: the top one and every subcommand.
const PAGES: [&str; 12] = [
    "dockhard.1",
    "dockhard-check.1",
    "dockhard-collect.1",
    "dockhard-completions.1",
    "dockhard-explain.1",
    "dockhard-fix.1",
    "dockhard-man.1",
    "dockhard-merge.1",
    "dockhard-rules.1",
    "dockhard-tls.1",
    "dockhard-tls-init.1",
    "dockhard-watch.1",
];

/// `dockhard man --dir DIR`: the pages, sorted by name.
fn man_pages(dir: &Path) -> Vec<PathBuf> {
    dockhard()
        .args(["man", "--dir"])
        .arg(dir.join("man"))
        .assert()
        .code(0);
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("man"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// The requests (`.XX` lines) a page may use: those clap_mangen writes
/// and man(7) defines.
const REQUESTS: [&str; 17] = [
    "ie", "el", "TH", "SH", "SS", "PP", "TP", "IP", "RS", "RE", "B", "I", "br", "sp", "nf", "fi",
    "\\\"",
];

#[test]
fn man_pages_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let pages = man_pages(dir.path());
    let names: Vec<String> = pages
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut want: Vec<&str> = PAGES.to_vec();
    want.sort();
    assert_eq!(names, want);
    for p in &pages {
        let text = std::fs::read_to_string(p).unwrap();
        let name = p.file_stem().unwrap().to_string_lossy();
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!(".TH {name} 1 "))),
            "{}: no .TH {name} 1",
            p.display()
        );
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS"] {
            assert!(
                text.lines().any(|l| l == section),
                "{}: no {section}",
                p.display()
            );
        }
        for (i, l) in text.lines().enumerate() {
            if let Some(req) = l.strip_prefix('.') {
                let r = req.split_whitespace().next().unwrap_or("");
                assert!(
                    REQUESTS.contains(&r) || r.starts_with("\\\""),
                    "{}:{}: unexpected request `.{r}`",
                    p.display(),
                    i + 1
                );
            }
        }
    }
    // The subcommands' pages name their parent's; the top page lists them.
    let top = std::fs::read_to_string(dir.path().join("man/dockhard.1")).unwrap();
    for c in ["check", "watch", "tls", "completions", "man"] {
        assert!(top.contains(&format!("dockhard\\-{c}(1)")), "{c}: {top}");
    }
    // `dockhard man` prints the top page.
    let out = dockhard().arg("man").assert().code(0);
    assert_eq!(String::from_utf8_lossy(&out.get_output().stdout), top);
}

#[test]
#[ignore = "needs groff (scripts/test installs groff-base); scripts/test runs it"]
fn man_pages_render_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    for p in man_pages(dir.path()) {
        let o = std::process::Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&p)
            .output()
            .unwrap_or_else(|e| panic!("cannot run groff (apt-get install groff-base): {e}"));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.success() && err.is_empty(),
            "groff -man -ww {}: {}\n{err}",
            p.display(),
            o.status
        );
    }
}

#[test]
fn man_into_a_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("file");
    std::fs::write(&f, "").unwrap();
    let out = dockhard().args(["man", "--dir"]).arg(&f).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(err.contains("dockhard: error: cannot create"), "{err}");
}

fn completions(shell: &str) -> String {
    let out = dockhard().args(["completions", shell]).assert().code(0);
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// The bash script parses (`bash -n`), registers `complete -F ... dockhard`
/// when sourced, and completes commands and a command's flags.
#[test]
fn bash_completion_loads_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("dockhard.bash");
    std::fs::write(&f, completions("bash")).unwrap();
    let o = std::process::Command::new("bash")
        .arg("-n")
        .arg(&f)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let script = r#"set -e
source "$1"
complete -p dockhard
COMP_WORDS=(dockhard ch); COMP_CWORD=1; COMP_LINE="dockhard ch"; COMP_POINT=11
_dockhard dockhard ch dockhard
echo "commands: ${COMPREPLY[*]}"
COMP_WORDS=(dockhard watch --li); COMP_CWORD=2; COMP_LINE="dockhard watch --li"; COMP_POINT=19
_dockhard dockhard --li watch
echo "watch: ${COMPREPLY[*]}"
"#;
    let o = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", script, "bash"])
        .arg(&f)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("-F _dockhard dockhard\n"), "{out}");
    assert!(out.contains(" dockhard\n"), "{out}");
    assert!(out.contains("commands: check"), "{out}");
    assert!(out.contains("watch: --listen --listen-public"), "{out}");
}

#[test]
fn zsh_and_fish_completions() {
    let zsh = completions("zsh");
    assert!(zsh.starts_with("#compdef dockhard\n"), "{zsh}");
    assert!(zsh.contains("'--listen=[Serve on ADDR"), "{zsh}");
    let fish = completions("fish");
    assert!(
        fish.contains("complete -c dockhard -n \"__fish_dockhard_needs_command\" -f -a \"watch\""),
        "{fish}"
    );
    // A shell clap does not know is a usage error.
    dockhard().args(["completions", "tcsh"]).assert().code(2);
}

fn unit() -> String {
    std::fs::read_to_string(repo().join("packaging/systemd/dockhard-watch.service")).unwrap()
}

/// `KEY=VALUE` lines of the unit (comments left out).
fn settings(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn setting(unit: &str, key: &str) -> Vec<String> {
    settings(unit)
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect()
}

/// The unit runs `dockhard watch` on loopback with arguments the CLI
/// accepts, hardened as docs/watch.md says.
#[test]
fn watch_unit_runs_watch_on_loopback_hardened() {
    let u = unit();
    let exec = setting(&u, "ExecStart");
    assert_eq!(
        exec,
        ["/usr/bin/dockhard watch --listen 127.0.0.1:9323 $DOCKHARD_WATCH_OPTS"]
    );
    let argv: Vec<&str> = exec[0]
        .split_whitespace()
        .filter(|w| !w.starts_with('$'))
        .collect();
    let cli = dockhard::cli::Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(cli.command, dockhard::cli::Command::Watch(_)),
        "{cli:?}"
    );
    for (k, v) in [
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("ProtectHome", "read-only"),
        ("PrivateTmp", "yes"),
        ("ProtectKernelTunables", "yes"),
        (
            "RestrictAddressFamilies",
            "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        ),
        (
            "CapabilityBoundingSet",
            "CAP_DAC_READ_SEARCH CAP_SYS_PTRACE",
        ),
        ("Restart", "on-failure"),
        ("MemoryMax", "256M"),
    ] {
        assert_eq!(setting(&u, k), [v], "{k}");
    }
    // Nothing is writable by default (--textfile needs a drop-in).
    assert!(setting(&u, "ReadWritePaths").is_empty());
    let docs = std::fs::read_to_string(repo().join("docs/watch.md")).unwrap();
    assert!(
        docs.contains("ReadWritePaths="),
        "docs/watch.md: the --textfile drop-in"
    );
}

/// `systemd-analyze verify` on the unit in a root where its programs
/// exist (no running systemd needed), and `systemd-analyze security
/// --offline`: its exposure stays at most 2.5 (of 10; "OK"; 2.4 today).
#[test]
#[ignore = "needs systemd-analyze (scripts/test installs systemd); scripts/test runs it"]
fn watch_unit_passes_systemd_analyze() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let units = r.join("lib/systemd/system");
    std::fs::create_dir_all(&units).unwrap();
    std::fs::create_dir_all(r.join("usr/bin")).unwrap();
    std::fs::create_dir_all(r.join("bin")).unwrap();
    std::fs::write(units.join("dockhard-watch.service"), unit()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_dockhard"), r.join("usr/bin/dockhard")).unwrap();
    std::fs::copy("/bin/kill", r.join("bin/kill")).unwrap();
    // The targets every service depends on (sysinit.target, ...), from
    // the host's systemd.
    let mut targets = 0;
    for e in std::fs::read_dir("/lib/systemd/system").unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "target") {
            std::fs::copy(&p, units.join(p.file_name().unwrap())).unwrap();
            targets += 1;
        }
    }
    assert!(targets > 0, "no /lib/systemd/system/*.target");
    // Documentation=man:dockhard-watch(1): verify runs man(1) on it.
    let man = r.join("usr/share/man");
    dockhard()
        .args(["man", "--dir"])
        .arg(man.join("man1"))
        .assert()
        .code(0);
    let analyze = |args: &[&str]| {
        let o = std::process::Command::new("systemd-analyze")
            .args(args)
            .arg(format!("--root={}", r.display()))
            .arg("dockhard-watch.service")
            .env("MANPATH", &man)
            .env("SYSTEMD_LOG_COLOR", "0")
            .env("SYSTEMD_PAGER", "")
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run systemd-analyze (apt-get install systemd): {e}")
            });
        (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    let (ok, out) = analyze(&["verify"]);
    assert!(
        ok && out.trim().is_empty(),
        "systemd-analyze verify:\n{out}"
    );
    let (ok, out) = analyze(&["security", "--offline=yes", "--threshold=25", "--no-pager"]);
    assert!(ok, "systemd-analyze security --threshold=25:\n{out}");
    assert!(
        out.contains("Overall exposure level for dockhard-watch.service: "),
        "{out}"
    );
}
