//! The live integration tests: one test binary, a module per subject, every
//! test against real dockerd instances (each in a network namespace of its
//! own, see `tests/support/netns.rs`). They need root and the engines of
//! `scripts/engines`, so each is `#[ignore]`d: a plain `cargo test` reports
//! them ignored, and `scripts/test` runs them (`-- --ignored`), where a
//! missing requirement fails.

#[path = "../support/mod.rs"]
mod support;

mod cis;
mod engines;
mod faults;
mod fix;
mod oracle;
mod rootless;
mod seed;
mod tls;
mod watch;
mod watch_hostile;
