//! Crash-safe ordering: the writes in an order where a crash after any
//! one of them leaves a configuration dockerd starts with.

use super::{FileWrite, with_writes};
use crate::model::daemon::{self};
use crate::snapshot::Snapshot;

/// The writes in an order after each of which dockerd would still start:
/// every file is replaced atomically, but not all of them at once, and a
/// crash between two (an option moved from a flag into daemon.json, written
/// first) must not leave an option both a flag and a key. The planned order
/// when it is safe, or when no order is (the current state does not start).
pub(super) fn crash_safe_order(
    snap: &Snapshot,
    index: usize,
    writes: Vec<FileWrite>,
) -> Vec<FileWrite> {
    // Beyond 4 files (never planned today) the permutations are not tried.
    if writes.len() < 2 || writes.len() > 4 {
        return writes;
    }
    let starts = |prefix: Vec<&FileWrite>| {
        let prefix: Vec<FileWrite> = prefix.into_iter().cloned().collect();
        daemon::build_configs(&with_writes(snap, &prefix))
            .get(index)
            .is_some_and(|m| m.next_start.config.as_ref().is_ok_and(|e| !e.has_fatal()))
    };
    permutations(writes.len())
        .into_iter()
        .find(|order| {
            (1..order.len()).all(|k| starts(order[..k].iter().map(|&i| &writes[i]).collect()))
        })
        .map(|order| order.into_iter().map(|i| writes[i].clone()).collect())
        .unwrap_or(writes)
}

/// Every order of `0..n`, the identity first (lexicographic).
pub(super) fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for first in 0..n {
        for rest in permutations(n - 1) {
            let mut p = vec![first];
            p.extend(rest.into_iter().map(|i| if i >= first { i + 1 } else { i }));
            out.push(p);
        }
    }
    out
}
