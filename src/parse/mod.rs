//! Parsers for the formats dockhard reads. Pure, bounded, never panicking on
//! any input; each is property-tested and fuzzed.

pub mod audit;
pub mod dpkg;
pub mod envfile;
pub mod exe_version;
pub mod json;
pub mod mountinfo;
pub mod procnet;
pub mod unit;
