//! `dockhard watch` under a real dockerd's churn (issue 12, "a flood of
//! events ... a daemon that disappears"): containers created and removed
//! through the Engine API as fast as dockerd takes them, from several
//! threads, while a client scrapes. Every event is counted, the audits are
//! coalesced (far fewer than events), every scrape is answered, no series
//! of a removed container is left, and memory and threads stay. Then
//! dockerd stops: `/healthz` 503, the waiting threads spend no CPU, and
//! watch still answers and exits 0 on SIGTERM. The hostile event streams,
//! files and clients are tests/offline/hostile/watch.rs (a fake dockerd);
//! this one proves the real engine's stream. The figures are printed
//! (`[watch-hostile] ...`).

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::{Daemon, DaemonOpts, live};

const PATIENCE: Duration = Duration::from_secs(60);
/// Containers created and removed (two events each), by [`THREADS`].
const CONTAINERS: usize = 1000;
const THREADS: usize = 4;

fn note(msg: &str) {
    support::loud(&format!("[watch-hostile] {msg}"));
}

use support::watch::{Watch, http_get as get, metric_value as value};

/// VmRSS (KiB), threads, and utime + stime of the threads other than the
/// main one (which audits) of `pid`.
fn proc_stat(pid: u32) -> (u64, u64, Duration) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |k: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let mut ticks = 0u64;
    for e in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if e.file_name().to_str() == Some(pid.to_string().as_str()) {
            continue;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let after: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().collect())
            .unwrap_or_default();
        let t = |i: usize| -> u64 { after.get(i).and_then(|v| v.parse().ok()).unwrap_or(0) };
        ticks += t(11) + t(12);
    }
    (
        field("VmRSS:"),
        field("Threads:"),
        Duration::from_millis(ticks * 1000 / hz),
    )
}

/// watch on daemon `d`, healthy.
fn start_watch(d: &Daemon) -> Watch {
    let pid = d.pid().to_string();
    let w = Watch::start(
        &["--pid", &pid, "--interval", "1h"],
        d.dir.join("watch-hostile.log"),
        PATIENCE,
    );
    w.until_healthz(200);
    w
}

/// Wait until `pred` holds for /metrics (polled every 50 ms).
fn until(w: &Watch, what: &str, pred: impl Fn(&str) -> bool) -> Duration {
    w.until_every(what, Duration::from_millis(50), pred)
}

#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn live_watch_under_container_churn() {
    let live = live("live_watch_under_container_churn");
    let mut d = Daemon::start(&live, DaemonOpts::new().config("{}\n"));
    let image = d.busybox_image();
    let mut w = start_watch(&d);
    let (rss0, threads0, _) = proc_stat(w.pid());
    let events0 = value(&w.metrics(), "dockhard_events_total").unwrap_or(0.0);
    let event_audits =
        |m: &str| value(m, "dockhard_audits_total{trigger=\"event\"}").unwrap_or(0.0);
    let audits0 = event_audits(&w.metrics());

    // A client scrapes all along: the slowest answer, and any failure.
    let done = Arc::new(AtomicBool::new(false));
    let scraper = {
        let (done, port) = (done.clone(), w.port);
        std::thread::spawn(move || {
            let (mut n, mut worst, mut failed) = (0u32, Duration::ZERO, 0u32);
            while !done.load(Ordering::SeqCst) {
                let t = Instant::now();
                if !matches!(get(port, "/metrics"), Some((200, _))) {
                    failed += 1;
                }
                worst = worst.max(t.elapsed());
                n += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            (n, worst, failed)
        })
    };
    let t0 = Instant::now();
    let body = serde_json::json!({"Image": image, "Cmd": ["true"]}).to_string();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (d, body) = (&d, body.as_bytes());
            s.spawn(move || {
                for i in (t..CONTAINERS).step_by(THREADS) {
                    let r = d.request(
                        "POST",
                        &format!("/containers/create?name=churn-{i}"),
                        Some(("application/json", body)),
                    );
                    assert_eq!(r.status, 201, "create churn-{i}: {}", r.text());
                    let r = d.request("DELETE", &format!("/containers/churn-{i}"), None);
                    assert_eq!(r.status, 204, "remove churn-{i}: {}", r.text());
                }
            });
        }
    });
    let churn = t0.elapsed();
    let want = events0 + 2.0 * CONTAINERS as f64;
    let counted = until(&w, "every create and destroy counted", |m| {
        value(m, "dockhard_events_total").unwrap_or(0.0) >= want && !m.contains("subject=\"churn-")
    });
    done.store(true, Ordering::SeqCst);
    let (scrapes, worst, failed) = scraper.join().unwrap();
    let m = w.metrics();
    let audits = event_audits(&m) - audits0;
    // Threads: an audit runs a few of its own; the count once none runs.
    let t = Instant::now();
    let (rss1, threads1, _) = loop {
        let now = proc_stat(w.pid());
        if now.1 <= threads0 + 2 || t.elapsed() > Duration::from_secs(10) {
            break now;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    note(&format!(
        "churn: {CONTAINERS} containers created and removed in {churn:?} ({:.0} events/s), \
         all counted {counted:?} later by {audits} audits; {scrapes} scrapes, slowest {worst:?}, \
         {failed} failed; VmRSS {:.1} -> {:.1} MiB, threads {threads0} -> {threads1}",
        2.0 * CONTAINERS as f64 / churn.as_secs_f64(),
        rss0 as f64 / 1024.0,
        rss1 as f64 / 1024.0
    ));
    assert_eq!(failed, 0, "scrapes failed during the churn");
    assert!(worst < Duration::from_secs(3), "a scrape took {worst:?}");
    assert!(
        audits >= 1.0 && audits < CONTAINERS as f64,
        "{audits} event audits for {} events: not coalesced",
        2 * CONTAINERS
    );
    assert!(
        rss1.saturating_sub(rss0) < 64 << 10,
        "VmRSS {rss0} -> {rss1} KiB"
    );
    assert!(threads1 <= threads0 + 2, "threads {threads0} -> {threads1}");

    // dockerd goes away: not healthy, and the waiting costs nothing.
    d.stop();
    let took = w.until_healthz(503);
    let (_, _, a) = proc_stat(w.pid());
    std::thread::sleep(Duration::from_secs(4));
    let (_, _, b) = proc_stat(w.pid());
    let spent = b.saturating_sub(a);
    note(&format!(
        "dockerd stopped: /healthz 503 after {took:?}; then {spent:?} CPU in 4 s by the threads other than main"
    ));
    assert!(
        spent < Duration::from_millis(300),
        "{spent:?} of CPU in 4 s while dockerd is gone: a busy loop?\n{}",
        w.log()
    );
    assert_eq!(get(w.port, "/metrics").map(|r| r.0), Some(200));

    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(w.pid() as i32, libc::SIGTERM);
    }
    let t = Instant::now();
    let status = loop {
        if let Some(st) = w.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let log = w.log();
    assert!(!log.contains("panicked"), "{log}");
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "SIGTERM: {:?}",
        t.elapsed()
    );
}
