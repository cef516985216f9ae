//! Parsers for the formats dockhard reads. Pure, bounded, never panicking on
//! any input; each is property-tested and fuzzed.

pub mod audit;
pub mod envfile;
pub mod json;
pub mod mountinfo;
pub mod procnet;
pub mod unit;
