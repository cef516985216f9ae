//! The Python test tools of `target/pyenv` (a venv `scripts/test` creates
//! and fills: ansible-core, ansible-lint, kubernetes-validate, ...).
//! A missing tool fails the test; the tests that need them are `#[ignore]`d
//! (a plain `cargo test` reports them ignored) and scripts/test runs them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The venv: `$DOCKHARD_PYENV`, else `target/pyenv` of the repository.
pub fn pyenv() -> PathBuf {
    match std::env::var_os("DOCKHARD_PYENV") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyenv"),
    }
}

/// `target/pyenv/bin/NAME` for every name; a missing one fails the test
/// (the tests that need them are `#[ignore]`d: scripts/test runs them).
pub fn tools(test: &str, names: &[&str]) -> Vec<PathBuf> {
    let bin = pyenv().join("bin");
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !bin.join(n).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "test `{test}` cannot run: {} not found in {} (scripts/test installs them there with pip)",
        missing.join(", "),
        bin.display()
    );
    names.iter().map(|n| bin.join(n)).collect()
}

/// PATH with the venv's bin first (ansible-playbook runs its own helpers).
pub fn path_env() -> std::ffi::OsString {
    let mut paths = vec![pyenv().join("bin")];
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(paths).unwrap_or_default()
}
