//! The Engine API floor of a full audit, for scripts/bench/watch.sh: the
//! calls no audit of containers can do without, made with dockhard's own
//! HTTP client over as many connections as the audit uses, and nothing
//! else (no JSON decoding, no /proc, no files): `/version`, then the
//! container list, then `/info`, the bridge network and one inspect per
//! container. Prints the median wall time of RUNS rounds (the first
//! discarded) in microseconds. CONNECTIONS (default: the audit's, 4) is
//! how many calls are made at once; 1 is a plain client's floor (one call
//! after the other, as `curl` or `docker inspect` in a loop).
//!
//! `cargo run --release --example api_floor -- /path/docker.sock [RUNS [CONNECTIONS]]`

use dockhard::collect::api::WORKERS;
use dockhard::collect::http::{self, Endpoint};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(sock) = args.next() else {
        eprintln!("usage: api_floor SOCKET [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(10);
    let connections: usize = args
        .next()
        .and_then(|r| r.parse().ok())
        .unwrap_or(WORKERS)
        .clamp(1, 64);
    let ep = Endpoint::Unix(sock.into());
    let t = Duration::from_secs(10);
    let get = |p: &str| match http::get(&ep, p, t) {
        Ok(r) => r.body,
        Err(e) => {
            eprintln!("api_floor: GET {p}: {e}");
            std::process::exit(2);
        }
    };
    let mut times = Vec::new();
    for _ in 0..runs.max(2) {
        let t0 = Instant::now();
        get("/version");
        let list = get("/containers/json?all=1");
        let list: serde_json::Value = serde_json::from_slice(&list).unwrap_or_default();
        let mut paths = vec!["/info".to_string(), "/networks/bridge".to_string()];
        paths.extend(
            list.as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["Id"].as_str())
                .map(|id| format!("/containers/{id}/json")),
        );
        let next = AtomicUsize::new(0);
        let bytes = Mutex::new(0usize);
        std::thread::scope(|s| {
            for _ in 0..connections {
                s.spawn(|| {
                    while let Some(p) = paths.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let n = get(p).len();
                        if let Ok(mut b) = bytes.lock() {
                            *b += n;
                        }
                    }
                });
            }
        });
        times.push(t0.elapsed().as_micros());
    }
    times.remove(0);
    times.sort_unstable();
    println!("{}", times[times.len() / 2]);
}
