//! dockhard: audit and harden the Docker Engine daemon from the
//! configuration it really runs with.
//!
//! collect (all I/O) -> [`snapshot::Snapshot`] -> [`model`] (pure dockerd
//! semantics) -> [`rules`] (pure checks) -> [`report`] (renderers).

pub mod audit;
pub mod cli;
pub mod collect;
pub mod fix;
#[doc(hidden)]
pub mod fuzzing;
pub mod model;
pub mod parse;
pub mod policy;
pub mod redact;
pub mod report;
pub mod rules;
pub mod snapshot;
pub mod timefmt;
pub mod tls_init;
