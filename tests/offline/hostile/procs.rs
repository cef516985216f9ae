//! Processes that exit while dockhard scans /proc (case 7).

use super::*;

// ---------------------------------------------------------------------------
// 7. Processes that exit while dockhard scans /proc (a real dockerd)
// ---------------------------------------------------------------------------

/// Starts processes that live a few milliseconds, without end: `true`, and
/// copies of `sleep` named `dockerd` (which a scan of /proc takes for
/// daemons, then sees vanish), reaped late so that zombies are always
/// around.
struct Churn {
    run: Background,
    _dir: tempfile::TempDir,
}

impl Churn {
    fn start() -> Churn {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("dockerd");
        let sleep = ["/bin/sleep", "/usr/bin/sleep"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("sleep");
        std::fs::copy(sleep, &fake).unwrap();
        let run = Background::spawn(move |s, n| {
            let mut kids = std::collections::VecDeque::new();
            let mut i = 0usize;
            while !s.load(Ordering::SeqCst) {
                let mut cmd = if i % 2 == 0 {
                    Command::new(&fake)
                } else {
                    Command::new("true")
                };
                if i % 2 == 0 {
                    cmd.arg(["0.001", "0.01", "0.03"][i % 3]);
                }
                if let Ok(c) = cmd.stdout(std::process::Stdio::null()).spawn() {
                    kids.push_back(c);
                    n.fetch_add(1, Ordering::SeqCst);
                }
                // Up to 32 children not yet reaped: exited ones are zombies.
                while kids.len() > 32 {
                    if let Some(mut c) = kids.pop_front() {
                        let _ = c.wait();
                    }
                }
                i += 1;
            }
            for mut c in kids {
                let _ = c.kill();
                let _ = c.wait();
            }
        });
        Churn { run, _dir: dir }
    }

    fn started(&self) -> usize {
        self.run.count()
    }
}

/// A real private dockerd with a container whose processes live a few
/// milliseconds each, audited while the host starts and reaps a stream of
/// short-lived processes: `check --pid --profile cis` (the container scan
/// reads the cgroup, comm and cmdline of every process) and `check` with no
/// target (every process's exe, to find the daemons). Processes vanishing
/// between the listing of /proc and the reading of their files are skipped
/// or reported, never a crash or a hang; the real daemon's verdicts stay.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn processes_exiting_during_the_proc_scan() {
    // Exclusive: `check` with no target audits every dockerd of the host.
    let live = support::live_exclusive("processes_exiting_during_the_proc_scan");
    let mut d = support::Daemon::start(&live, support::DaemonOpts::new());
    let image = d.busybox_image();
    let cid = d.docker_ok(&[
        "run",
        "-d",
        &image,
        "sh",
        "-c",
        "while :; do /bin/true; done",
    ]);
    let cid = cid.trim();
    let churn = Churn::start();
    let pid = d.pid().to_string();
    for (name, extra) in [
        (
            "/proc race: --pid --profile cis",
            vec!["--pid", pid.as_str(), "--profile", "cis"],
        ),
        ("/proc race: every dockerd", vec![]),
    ] {
        // With no target, every dockerd of the host is audited: not the
        // fakes of the tests beside this one.
        let _alone = extra.is_empty().then(support::no_fake_dockerds);
        let before = churn.started();
        let mut args = vec![
            "check",
            "--no-policy",
            "--format",
            "json",
            "--timeout-ms",
            "3000",
        ];
        args.extend(extra.iter().copied());
        let m = run(name, &args);
        let during = churn.started() - before;
        // Processes came and went during the scan (some 80 in 0.1 s here).
        assert!(
            during >= 10,
            "{name}: only {during} processes started during the run"
        );
        let r = report(name, &m, 1);
        let daemons = r["daemons"].as_array().unwrap();
        let vanished = daemons
            .iter()
            .filter(|x| x.to_string().contains("process exited"))
            .count();
        loud(&format!(
            "[hostile] {name}: {during} processes started during the run; {} daemon(s) audited, {vanished} of them gone mid-audit",
            daemons.len()
        ));
        let ours = r["daemons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["pid"] == d.pid())
            .unwrap_or_else(|| panic!("{name}: the real daemon is missing: {r:#}"));
        let icc = ours["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["rule"] == "daemon.icc")
            .unwrap();
        assert_eq!(icc["status"], "fail", "{name}: {icc:#}");
        assert_eq!(
            icc["evidence"][0]["source"], "api",
            "{name}: the live value: {icc:#}"
        );
        if extra.contains(&"cis") {
            let running = ours["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x["subject"].to_string().contains(&cid[..12]))
                .count();
            assert!(
                running > 0,
                "{name}: no result for container {cid}: {ours:#}"
            );
        }
    }
}
