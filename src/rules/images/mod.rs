//! Section 4 of the CIS Docker Benchmark: one verdict per image, from the
//! image's config and history (no container is run, nothing is exported).

pub mod user;
