//! The layers, held: the pure core (`rules`, `model`, `parse`) imports
//! nothing from the layers above it (`fix`, `collect`, `report`, `cli`),
//! in its code or its tests.
//!
//! The check reads the source files of the core and resolves every path
//! that starts at the crate root: `crate::x`, `crate::{x, y}`, and
//! `super::` chains that climb out of the module (`super::super::fix`
//! from `rules/daemon/icc.rs`). Comments are not code and are skipped.

use std::fs;
use std::path::{Path, PathBuf};

/// The pure core, by top-level module.
const CORE: &[&str] = &["rules", "model", "parse"];
/// What the core must not import.
const ABOVE: &[&str] = &["fix", "collect", "report", "cli"];

/// Every `.rs` file below `dir`, sorted.
fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module a file (relative to `src/`) defines: `model/systemd/mod.rs`
/// is `model::systemd`, `model/daemon.rs` is `model::daemon`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.strip_suffix(".rs").unwrap_or(&last).to_string();
        if stem != "mod" {
            parts.push(stem);
        }
    }
    parts
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    s.get(..end).unwrap_or("")
}

/// The first segment of each path in a `{a::b, c, d::{e}}` group that
/// starts at `s` (just after the `{`).
fn group_heads(s: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut at_item = true;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_item = true,
            c if c.is_whitespace() => {}
            _ if at_item && depth == 0 => {
                let id = ident_at(s.get(i..).unwrap_or(""));
                if !id.is_empty() {
                    heads.push(id.to_string());
                }
                at_item = false;
            }
            _ => {}
        }
    }
    heads
}

/// The top-level modules that `code` (of a file defining `module`) names
/// by a path from the crate root, each with its byte offset.
fn crate_heads(code: &str, module: &[String]) -> Vec<(usize, String)> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut heads = Vec::new();
    let mut i = 0;
    while let Some(tail) = code.get(i..) {
        let Some(c) = tail.chars().next() else { break };
        let boundary = code
            .get(..i)
            .and_then(|b| b.chars().last())
            .is_none_or(|p| !ident(p) && p != ':');
        let after = if !boundary {
            None
        } else if let Some(t) = tail.strip_prefix("crate::") {
            Some(t)
        } else if tail.starts_with("super::") {
            let mut t = tail;
            let mut n = 0;
            while let Some(u) = t.strip_prefix("super::") {
                n += 1;
                t = u.trim_start();
            }
            if n >= module.len() {
                // Climbs to the crate root: what follows is a top module.
                Some(t)
            } else {
                heads.extend(module.first().map(|m| (i, m.clone())));
                None
            }
        } else {
            None
        };
        if let Some(after) = after {
            if let Some(g) = after.strip_prefix('{') {
                heads.extend(group_heads(g).into_iter().map(|h| (i, h)));
            } else {
                let id = ident_at(after);
                if !id.is_empty() {
                    heads.push((i, id.to_string()));
                }
            }
        }
        i += c.len_utf8();
    }
    heads
}

/// Code only: line comments (and doc comments) blanked, lines kept.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| l.find("//").map_or(l, |i| l.get(..i).unwrap_or("")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `file:line: rules imports fix (`...`)`, one per offending path.
fn violations() -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    for core in CORE {
        let mut files = Vec::new();
        rs_files(&src.join(core), &mut files);
        assert!(!files.is_empty(), "no source files in src/{core}");
        for f in files {
            let rel = f.strip_prefix(&src).expect("below src");
            let text = fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let code = code_of(&text);
            for (at, head) in crate_heads(&code, &module_of(rel)) {
                if ABOVE.contains(&head.as_str()) {
                    let line = code.get(..at).map_or(0, |b| b.matches('\n').count());
                    out.push(format!(
                        "src/{}:{}: {core} imports {head} (`{}`)",
                        rel.display(),
                        line + 1,
                        text.lines().nth(line).unwrap_or("").trim()
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn core_imports_nothing_from_fix_collect_report_cli() {
    let v = violations();
    assert!(
        v.is_empty(),
        "rules, model and parse must not import from {ABOVE:?} (move the shared \
         piece down, e.g. into rules::remedy, or the test up):\n{}",
        v.join("\n")
    );
}

#[test]
fn every_way_of_naming_a_module_is_seen() {
    let m = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
    let heads = |code: &str, module: &[String]| -> Vec<String> {
        crate_heads(code, module)
            .into_iter()
            .map(|(_, h)| h)
            .collect()
    };
    let icc = m("rules::daemon::icc");
    let cases: &[(&str, &[String], &[&str])] = &[
        ("use crate::fix::plan::Plan;", &icc, &["fix"]),
        (
            "    crate::collect::read_wanted(snap, &fs);",
            &icc,
            &["collect"],
        ),
        ("f(&crate::report::json::render(r))", &icc, &["report"]),
        (
            "use crate::{model::Evidence, report::Format};",
            &icc,
            &["model", "report"],
        ),
        (
            "use crate::{\n    cli::{self, Cli},\n    model,\n};",
            &icc,
            &["cli", "model"],
        ),
        ("use super::super::super::cli::EXIT_OK;", &icc, &["cli"]),
        ("use super::super::{Ctx, Outcome};", &icc, &["rules"]),
        ("use super::helpers::verdict;", &icc, &["rules"]),
        ("use super::fix;", &m("model"), &["fix"]),
        ("my_crate::fix::y; scrate::fix; x::crate::fix", &icc, &[]),
    ];
    for (code, module, want) in cases {
        assert_eq!(heads(code, module), *want, "{code}");
    }
    assert_eq!(code_of("x(); // crate::fix\n/// crate::cli"), "x(); \n");
    assert_eq!(
        module_of(Path::new("model/systemd/mod.rs")),
        m("model::systemd")
    );
    assert_eq!(module_of(Path::new("rules/daemon/icc.rs")), icc);
}
