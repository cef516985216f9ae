//! The offline integration tests: one test binary (one link of
//! `tests/support`), a module per subject. Nothing here needs root, a
//! dockerd or the network; `cargo test` runs all of it.

#[path = "../support/mod.rs"]
mod support;

mod generated_docs;
mod pytools;
mod trees;

mod ansible;
mod cli;
mod cli_tls;
mod fix_root;
mod fixtures;
mod fleet;
mod fuzz_corpus;
mod hostile;
mod kubernetes;
mod monitoring;
mod packaging;
mod policy;
mod report_formats;
mod report_html;
mod rules_meta;
