//! Section 5 of the CIS Docker Benchmark: one verdict per container (any
//! state), from the container list and one inspect each.

pub mod privileged;
pub mod sprawl;
