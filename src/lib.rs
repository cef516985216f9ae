//! dockhard: audit and harden the Docker Engine daemon from the
//! configuration it really runs with.
//!
//! collect (all I/O) -> [`snapshot::Snapshot`] -> [`model`] (pure dockerd
//! semantics) -> [`rules`] (pure checks; their fixes said in
//! [`rules::remedy`]) -> [`audit`] -> [`report`] (renderers). [`fix`] is a
//! command above the audit; [`cli`] is the edge. One inversion: collect
//! asks the model which paths it wants until nothing new is wanted.
//! `rules`, `model` and `parse` import nothing from `fix`, `collect`,
//! `report` or `cli` (held by the test in `src/layers.rs`).

pub mod audit;
pub mod cli;
pub mod collect;
pub mod fix;
#[doc(hidden)]
pub mod fuzzing;
#[cfg(test)]
mod layers;
pub mod model;
pub mod outfile;
pub mod parse;
pub mod policy;
pub mod redact;
pub mod report;
pub mod rules;
pub mod snapshot;
pub mod timefmt;
pub mod tls_init;
pub mod watch;
