//! Replays the committed fuzz corpus (`fuzz/corpus/TARGET/*`, at most
//! `CAP` inputs per target that `fuzz/select.py` picked from what libFuzzer
//! kept for coverage, and `fuzz/regressions/TARGET/*`, inputs that once
//! crashed a target) through the same target bodies on stable Rust, so CI
//! exercises every parser on them without nightly. The full corpus lives
//! out of git, in `fuzz/work/` (`fuzz/run.sh` rebuilds it).

use std::path::Path;

/// `fuzz/select.py --cap`: the committed corpus stays a few hundred files.
const CAP: usize = 30;

fn inputs(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    v.sort();
    v
}

#[test]
fn every_target_has_a_fuzz_target_file_and_a_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for (name, _) in dockhard::fuzzing::TARGETS {
        let src = root.join(format!("fuzz_targets/{name}.rs"));
        let body =
            std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        assert!(
            body.contains(&format!("dockhard::fuzzing::{name}(")),
            "{} does not call dockhard::fuzzing::{name}",
            src.display()
        );
        assert!(
            cargo.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml lacks [[bin]] {name}"
        );
        let n = inputs(&root.join("corpus").join(name)).len();
        assert!(
            n >= 3,
            "fuzz/corpus/{name} holds {n} inputs, expected a committed corpus"
        );
        assert!(
            n <= CAP,
            "fuzz/corpus/{name} holds {n} inputs, more than {CAP}: commit what `fuzz/select.py` picks, not the whole corpus"
        );
    }
    let targets = inputs(&root.join("fuzz_targets"));
    assert_eq!(
        targets.len(),
        dockhard::fuzzing::TARGETS.len(),
        "a fuzz target not in TARGETS"
    );
}

#[test]
fn the_corpus_replays_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut total = 0;
    for (name, run) in dockhard::fuzzing::TARGETS {
        for sub in ["corpus", "regressions"] {
            for p in inputs(&root.join(sub).join(name)) {
                let data = std::fs::read(&p).unwrap();
                let r = std::panic::catch_unwind(|| run(&data));
                assert!(r.is_ok(), "{name} panicked on {}", p.display());
                total += 1;
            }
        }
    }
    assert!(total > 100, "only {total} corpus inputs replayed");
}
