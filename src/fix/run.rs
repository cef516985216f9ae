//! `dockhard fix` (all the I/O): show the plan, preflight checks that need
//! the network, then with `--apply`: lock, backup, atomic writes, restart
//! or reload, wait for the daemon, audit again, and roll back (restore the
//! backups, restart again) when the daemon does not come back or a fixed
//! rule still fails. `--rollback` restores the last change set.

use super::apply::{self, Lock};
use super::plan::{self, Action, Plan, PlanOptions};
use crate::collect::{self, CollectOptions, Target};
use crate::model::config::keys;
use crate::model::daemon;
use crate::rules::Status;
use crate::snapshot::Snapshot;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a run waits for another dockhard to finish.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Take the lock of `fix --apply` and `fix --rollback` (see [`fix`]).
pub fn lock(opts: &RunOptions) -> Result<Lock, String> {
    std::fs::create_dir_all(&opts.backup_root)
        .map_err(|e| format!("create directory {}: {e}", opts.backup_root.display()))?;
    if let Some(parent) = opts.lock_path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    Lock::acquire_timeout(&opts.lock_path, LOCK_WAIT).map_err(|e| e.to_string())
}

/// Exit codes of `fix`.
pub const EXIT_DONE: i32 = 0;
/// Refused, rolled back, or a rule still fails.
pub const EXIT_FAILED: i32 = 1;

/// How dockerd is restarted or reloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restart {
    /// systemd when it runs the daemon; SIGHUP when every change is
    /// reloadable; otherwise say what to run.
    Auto,
    /// `systemctl daemon-reload` then `systemctl restart|reload UNIT`.
    Systemd,
    /// SIGHUP to the daemon (reloadable changes only).
    Signal,
    /// Write only.
    None,
    /// The user's own command, run with `/bin/sh -c`.
    Cmd(String),
}

impl Restart {
    pub fn parse(s: &str) -> Result<Restart, String> {
        Ok(match s {
            "auto" => Restart::Auto,
            "systemd" => Restart::Systemd,
            "signal" => Restart::Signal,
            "none" => Restart::None,
            _ => match s.strip_prefix("cmd:") {
                Some(c) if !c.trim().is_empty() => Restart::Cmd(c.to_string()),
                _ => {
                    return Err(format!(
                        "--restart {s:?}: expected auto, systemd, signal, none or cmd:'COMMAND'"
                    ));
                }
            },
        })
    }
}

/// Options of the I/O part.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub apply: bool,
    pub yes: bool,
    pub force: bool,
    pub restart: Restart,
    /// How long to wait for the daemon after a restart or reload.
    pub wait: Duration,
    pub backup_root: PathBuf,
    pub lock_path: PathBuf,
    /// How the snapshot was collected (to collect again afterwards).
    pub collect: CollectOptions,
}

/// The resolved way to apply the changes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum How {
    /// Nothing runs (offline root, no daemon) or --restart none.
    Nothing,
    /// Restart needed but no way to do it: say what to run.
    Manual(String),
    Systemd(String),
    Signal(u32),
    Cmd(String),
}

fn out(w: &mut dyn Write, s: impl AsRef<str>) {
    let _ = writeln!(w, "{}", s.as_ref());
}

/// The plan as text (without the diff).
pub fn render_plan(p: &Plan) -> String {
    let mut s = String::new();
    let who = match (p.pid, &p.endpoint) {
        (Some(pid), Some(ep)) => format!("dockerd pid {pid} ({ep})"),
        (Some(pid), None) => format!("dockerd pid {pid}"),
        _ => "the configuration on disk (next start)".to_string(),
    };
    s.push_str(&format!("dockhard fix: {who}"));
    if let Some(c) = &p.config_file {
        s.push_str(&format!(", daemon.json {c}"));
    }
    s.push('\n');
    let w = p.entries.iter().map(|e| e.rule.len()).max().unwrap_or(0);
    for e in &p.entries {
        let head = format!("  {:<w$}  {:<14}", e.rule, e.before.as_str());
        if let Some(why) = &e.skipped {
            s.push_str(&format!("{head}  skipped: {why}\n"));
            continue;
        }
        if matches!(
            e.before,
            Status::Pass | Status::NotApplicable | Status::Manual
        ) {
            s.push_str(&format!("{head}  nothing to do ({})\n", e.message));
            continue;
        }
        if let Some(rf) = &e.rules_file {
            s.push_str(&format!("{head}  a rules file of its own, no restart\n"));
            for l in &rf.lines {
                s.push_str(&format!("      {l} -> {}\n", rf.path));
            }
            if rf.old.as_deref() == Some(rf.new.as_str()) {
                s.push_str(&format!("      {} already has these rules\n", rf.path));
            }
            s.push_str(&format!("      {}\n", rf.others));
        } else if !e.perms.is_empty() && e.changes.is_empty() {
            s.push_str(&format!("{head}  in place: owner and mode, no restart\n"));
        } else if e.changes.is_empty() {
            s.push_str(&format!(
                "{head}  already fixed on disk; needs a {}\n",
                e.needs.as_str()
            ));
        } else {
            s.push_str(&format!("{head}  needs a {}\n", e.needs.as_str()));
        }
        for c in &e.changes {
            s.push_str(&format!(
                "      {} -> {} ({})\n",
                c.change.describe(),
                c.file,
                c.how
            ));
        }
        for c in &e.perms {
            s.push_str(&format!(
                "      {}  {} ({})\n",
                p.describe_perm(c),
                c.path,
                c.role
            ));
        }
        for h in &e.hazards {
            s.push_str(&format!(
                "      {}: {}\n",
                if h.blocking { "HAZARD" } else { "warning" },
                h.message
            ));
        }
    }
    for n in &p.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    let load = if p.audit_load {
        "; then `augenrules --load` (auditd runs)"
    } else {
        ""
    };
    if p.perms.is_empty() {
        s.push_str(&format!(
            "files to write: {}; dockerd action: {}{load}\n",
            p.writes.len(),
            p.action.as_str()
        ));
    } else {
        s.push_str(&format!(
            "files to write: {}; owners and modes to change: {}; dockerd action: {}{load}\n",
            p.writes.len(),
            p.perms.len(),
            p.action.as_str()
        ));
    }
    for r in &p.refusals {
        s.push_str(&format!("REFUSED: {r}\n"));
    }
    s
}

/// Host path -> the path to write (under --root).
fn real_path(root: Option<&str>, host: &str) -> PathBuf {
    match root {
        Some(r) => Path::new(r).join(host.trim_start_matches('/')),
        None => PathBuf::from(host),
    }
}

/// Syslog address reachability: `Err` when it certainly does not answer;
/// `Ok(Some(warning))` when it cannot be confirmed (UDP).
fn syslog_reachable(addr: &str) -> Result<Option<String>, String> {
    let t = Duration::from_secs(2);
    if let Some(hp) = addr
        .strip_prefix("tcp://")
        .or_else(|| addr.strip_prefix("tcp+tls://"))
    {
        use std::net::ToSocketAddrs;
        let sa = hp
            .to_socket_addrs()
            .map_err(|e| format!("syslog-address {addr}: {e}"))?
            .next()
            .ok_or_else(|| format!("syslog-address {addr}: no address"))?;
        std::net::TcpStream::connect_timeout(&sa, t)
            .map(|_| None)
            .map_err(|e| format!("syslog-address {addr} does not answer: {e}"))
    } else if let Some(p) = addr
        .strip_prefix("unix://")
        .or_else(|| addr.strip_prefix("unixgram://"))
    {
        if Path::new(p).exists() {
            Ok(None)
        } else {
            Err(format!("syslog-address {addr}: {p} does not exist"))
        }
    } else if addr.starts_with("udp://") {
        Ok(Some(format!(
            "syslog-address {addr} is UDP: whether it is received cannot be checked"
        )))
    } else {
        Err(format!(
            "syslog-address {addr}: expected tcp://, udp://, tcp+tls://, unix:// or unixgram://"
        ))
    }
}

fn resolve_how(snap: &Snapshot, plan: &Plan, restart: &Restart) -> Result<How, String> {
    let Some(d) = snap.daemons.first().filter(|_| plan.pid.is_some()) else {
        return Ok(How::Nothing);
    };
    let unit = d
        .systemd_unit
        .as_deref()
        .and_then(|u| u.rsplit('/').next())
        .map(str::to_string);
    Ok(match restart {
        Restart::None => How::Nothing,
        Restart::Cmd(c) => How::Cmd(c.clone()),
        Restart::Signal => {
            if plan.action == Action::Restart {
                return Err(
                    "--restart signal: these changes need a restart, a SIGHUP does not apply them"
                        .into(),
                );
            }
            How::Signal(d.pid)
        }
        Restart::Systemd => How::Systemd(
            unit.ok_or("--restart systemd: this dockerd is not run by a systemd service")?,
        ),
        Restart::Auto => {
            match (
                unit,
                snap.host.systemd_running == Some(true) && snap.unit_file.is_none(),
            ) {
                (Some(u), true) => How::Systemd(u),
                _ if plan.action == Action::Reload => How::Signal(d.pid),
                _ => How::Manual(format!(
                    "restart dockerd (pid {}) the way it was started, then run `dockhard check`",
                    d.pid
                )),
            }
        }
    })
}

/// Do the restart or reload.
fn act(how: &How, action: Action, units_changed: bool) -> Result<(), String> {
    match how {
        How::Nothing | How::Manual(_) => Ok(()),
        How::Signal(pid) => {
            let p = libc::pid_t::try_from(*pid).map_err(|_| format!("pid {pid} out of range"))?;
            // SAFETY: kill(2) on a specific positive pid.
            if p > 0 && unsafe { libc::kill(p, libc::SIGHUP) } == 0 {
                Ok(())
            } else {
                Err(format!(
                    "SIGHUP to pid {pid}: {}",
                    std::io::Error::last_os_error()
                ))
            }
        }
        How::Systemd(unit) => {
            if units_changed {
                run_cmd("systemctl", &["daemon-reload"])?;
            }
            let verb = if action == Action::Reload {
                "reload"
            } else {
                "restart"
            };
            // The unit name comes from the host (the daemon's cgroup): after
            // `--`, it can never be read as an option.
            run_cmd("systemctl", &[verb, "--", unit])
        }
        How::Cmd(c) => {
            let st = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(c)
                .env(
                    "DOCKHARD_ACTION",
                    if action == Action::Reload {
                        "reload"
                    } else {
                        "restart"
                    },
                )
                .stdin(std::process::Stdio::null())
                .status()
                .map_err(|e| format!("cannot run /bin/sh -c {c:?}: {e}"))?;
            if st.success() {
                Ok(())
            } else {
                Err(format!("the restart command {c:?} failed ({st})"))
            }
        }
    }
}

/// The command that loads /etc/audit/rules.d into the kernel.
const AUGENRULES: &str = "augenrules";

/// Whether `path` (host path, or under a root) is the audit rules file
/// dockhard writes.
fn is_audit_rules(path: &Path) -> bool {
    path.to_string_lossy()
        .ends_with(crate::model::host::AUDIT_OWN_RULES)
}

/// `augenrules --load` after restoring the audit rules file (best effort:
/// what failed is said).
fn reload_audit_rules(w: &mut dyn Write) {
    match run_cmd(AUGENRULES, &["--load"]) {
        Ok(()) => out(w, "audit rules loaded again (augenrules --load)"),
        Err(e) => out(
            w,
            format!("{e}: load the restored audit rules yourself (augenrules --load)"),
        ),
    }
}

fn run_cmd(prog: &str, args: &[&str]) -> Result<(), String> {
    let st = std::process::Command::new(prog)
        .args(args)
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {prog}: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("{prog} {} failed ({st})", args.join(" ")))
    }
}

/// The pid written in the daemon's pidfile.
fn pid_from_file(path: &str) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Wait for the daemon to answer and the fixed rules to pass; returns the
/// statuses after (rule -> status, message) or why it failed.
fn verify(
    opts: &RunOptions,
    plan: &Plan,
    old_pid: u32,
    pidfile: &str,
    action: Action,
    rules: &[&'static str],
) -> Result<BTreeMap<String, (Status, String)>, String> {
    let deadline = Instant::now() + opts.wait;
    loop {
        let attempt = || -> Result<BTreeMap<String, (Status, String)>, String> {
            let pid = pid_from_file(pidfile)
                .ok_or_else(|| format!("no pid in {pidfile} (dockerd is not running)"))?;
            if action == Action::Restart && pid == old_pid {
                return Err(format!("dockerd pid {pid} has not restarted"));
            }
            if action == Action::Reload && pid != old_pid {
                return Err(format!("dockerd pid changed from {old_pid} to {pid}"));
            }
            let snap = collect::collect(&CollectOptions {
                target: Target::Pid(pid),
                ..opts.collect.clone()
            })
            .map_err(|e| e.to_string())?;
            let d = snap.daemons.first().ok_or("no daemon")?;
            if let Some(e) = &d.api.error {
                return Err(format!("the API does not answer: {e}"));
            }
            let report = crate::audit::run_with(
                &snap,
                &crate::audit::AuditOptions {
                    profile: crate::rules::Profile::All,
                    ..Default::default()
                },
            );
            let dr = report.daemons.first().ok_or("no daemon in the report")?;
            let after: BTreeMap<String, (Status, String)> = dr
                .results
                .iter()
                .map(|r| (r.rule.clone(), (r.status, r.message.clone())))
                .collect();
            for id in rules {
                match after.get(*id) {
                    Some((Status::Pass | Status::NotApplicable | Status::Manual, _)) => {}
                    Some((s, m)) => return Err(format!("{id} is still {s}: {m}")),
                    None => return Err(format!("{id} was not evaluated")),
                }
            }
            Ok(after)
        };
        let last = match attempt() {
            Ok(a) => return Ok(a),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            let _ = plan;
            return Err(format!("after {} s: {last}", opts.wait.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Whether the pidfile still names `pid` and that process exists.
fn still_runs(pidfile: &str, pid: u32) -> bool {
    pid_from_file(pidfile) == Some(pid)
        && libc::pid_t::try_from(pid).is_ok_and(|p| {
            // SAFETY: kill(2) with signal 0 on a positive pid only checks it.
            p > 0 && unsafe { libc::kill(p, 0) } == 0
        })
}

/// Wait for `/_ping` of the daemon named by the pidfile (after a rollback).
fn wait_up(opts: &RunOptions, pidfile: &str) -> Result<u32, String> {
    let deadline = Instant::now() + opts.wait;
    loop {
        if let Some(pid) = pid_from_file(pidfile)
            && let Ok(snap) = collect::collect(&CollectOptions {
                target: Target::Pid(pid),
                ..opts.collect.clone()
            })
            && snap.daemons.first().is_some_and(|d| d.api.error.is_none())
        {
            return Ok(pid);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "dockerd did not come back within {} s",
                opts.wait.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn confirm(w: &mut dyn Write) -> bool {
    use std::io::{BufRead, IsTerminal};
    if !std::io::stdin().is_terminal() {
        return true;
    }
    let _ = write!(w, "Apply these changes? [y/N] ");
    let _ = w.flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes")
}

/// `dockhard fix` on a collected snapshot. Returns the exit code.
///
/// With `--apply` the caller holds [`lock`], taken before `snap` was
/// collected: a run that waited for another one plans from the files that
/// one left (not from what it read before), so no change is lost and no
/// change is made twice.
pub fn fix(
    snap: &Snapshot,
    popts: &PlanOptions,
    opts: &RunOptions,
    lock: Option<&Lock>,
    w: &mut dyn Write,
) -> Result<i32, String> {
    let models = daemon::build_configs(snap);
    if models.len() > 1 {
        return Err(format!(
            "{} dockerd processes run: choose one with --pid",
            models.len()
        ));
    }
    let mut plan = plan::plan(snap, 0, popts);
    // Preflight that needs the network.
    if let Some(a) = &popts.inputs.syslog_address
        && plan
            .entries
            .iter()
            .any(|e| e.rule == "daemon.remote-logging" && !e.changes.is_empty())
    {
        match syslog_reachable(a) {
            Ok(None) => {}
            Ok(Some(warn)) => plan.notes.push(warn),
            Err(e) if opts.force => plan.notes.push(format!("{e} (--force)")),
            Err(e) => plan.refusals.push(format!(
                "daemon.remote-logging: {e} (--force to fix anyway)"
            )),
        }
    }
    if let Some(h) = &opts.collect.host
        && h.starts_with("tcp://")
        && plan
            .entries
            .iter()
            .any(|e| e.changes.iter().any(|c| c.change.key() == "tlsverify"))
        && !opts.force
    {
        plan.refusals.push(format!(
            "dockhard itself uses {h} without a client certificate: after tlsverify it could not check the daemon (--force to fix anyway)"
        ));
    }
    out(w, render_plan(&plan));
    let diff = crate::redact::mask_secrets(&plan.diff());
    if !diff.is_empty() {
        let _ = write!(w, "{diff}");
    }
    if !plan.refusals.is_empty() {
        out(w, "nothing was changed");
        return Ok(EXIT_FAILED);
    }
    if plan.is_noop() {
        out(
            w,
            "nothing to do: no selected rule needs a change (nothing written)",
        );
        return Ok(EXIT_DONE);
    }
    if !opts.apply {
        out(w, "dry run: nothing written (--apply to write)");
        return Ok(EXIT_DONE);
    }
    let how = resolve_how(snap, &plan, &opts.restart)?;
    if !opts.yes && !confirm(w) {
        out(w, "not confirmed: nothing written");
        return Ok(EXIT_FAILED);
    }
    if lock.is_none() {
        return Err("fix --apply without the lock".into());
    }
    let root = snap.root.as_deref();
    let paths: Vec<PathBuf> = plan
        .writes
        .iter()
        .map(|x| real_path(root, &x.path))
        .collect();
    // Every file of an owner and mode change is opened (never through a
    // link) and checked against the plan before anything changes.
    let mut held = Vec::new();
    for c in &plan.perms {
        let e = apply::PermEntry {
            path: real_path(root, &c.path),
            dev: c.dev,
            ino: c.ino,
            old_mode: c.old_mode,
            old_uid: c.old_uid,
            old_gid: c.old_gid,
            new_mode: c.new_mode,
            new_uid: c.new_uid,
            new_gid: c.new_gid,
        };
        match apply::perm_open(&e) {
            Ok(h) => held.push((c, h)),
            Err(e) => {
                out(w, format!("REFUSED: {e}"));
                out(w, "nothing was changed");
                return Ok(EXIT_FAILED);
            }
        }
    }
    let set = if plan.writes.is_empty() && held.is_empty() {
        None
    } else {
        let entries: Vec<apply::PermEntry> = held.iter().map(|(_, h)| h.entry.clone()).collect();
        let set =
            apply::backup_with(&paths, &entries, &opts.backup_root).map_err(|e| e.to_string())?;
        out(w, format!("backup: {}", set.dir.display()));
        for (c, h) in &held {
            if let Err(e) = h.apply() {
                return Err(undo_after_failure(&set.dir, e.to_string()));
            }
            out(
                w,
                format!(
                    "changed {}: {}",
                    h.entry.path.display(),
                    plan.describe_perm(c)
                ),
            );
        }
        for (x, p) in plan.writes.iter().zip(&paths) {
            let written = match p.parent() {
                Some(parent) => std::fs::create_dir_all(parent)
                    .map_err(|e| format!("write: create directory {}: {e}", parent.display())),
                None => Ok(()),
            }
            .and_then(|()| apply::atomic_write(p, x.new.as_bytes()).map_err(|e| e.to_string()));
            if let Err(e) = written {
                return Err(undo_after_failure(&set.dir, e));
            }
            out(w, format!("wrote {}", p.display()));
        }
        Some(set)
    };
    // The audit rules: loaded only when planned (auditd runs), never under --root.
    let audit_load = plan.audit_load && root.is_none();
    if audit_load {
        out(w, "augenrules --load ...");
        if let Err(e) = run_cmd(AUGENRULES, &["--load"]) {
            out(w, format!("FAILED: {e}"));
            if let Some(set) = &set {
                let restored = apply::restore(&set.dir).map_err(|e| e.to_string())?;
                mark_rolled_back(&set.dir);
                for p in restored {
                    out(w, format!("restored {}", p.display()));
                }
                reload_audit_rules(w);
            }
            return Ok(EXIT_FAILED);
        }
    }
    let units_changed = plan
        .writes
        .iter()
        .filter(|x| !is_audit_rules(Path::new(&x.path)))
        .any(|x| Some(&x.path) != plan.config_file.as_ref());
    // Owner and mode changes only: dockerd has nothing to do, but a running
    // one is audited again (and the changes undone if a rule still fails).
    let in_place_only = plan.action == Action::None && plan.pid.is_some();
    match &how {
        _ if in_place_only => {}
        How::Nothing => {
            out(
                w,
                match (plan.writes.is_empty(), plan.perms.is_empty()) {
                    (true, true) => "done: nothing written, nothing restarted",
                    (true, false) => "done: owners and modes changed, nothing restarted",
                    _ => "done: files written, nothing restarted",
                },
            );
            return Ok(EXIT_DONE);
        }
        How::Manual(what) => {
            let written = if plan.writes.is_empty() {
                "nothing written"
            } else {
                "files written"
            };
            out(
                w,
                format!(
                    "{written}; dockerd needs a {}: {what}",
                    plan.action.as_str()
                ),
            );
            return Ok(EXIT_DONE);
        }
        _ => {}
    }
    let old_pid = plan.pid.unwrap_or(0);
    let pidfile = models
        .first()
        .and_then(|m| m.next_start.config.as_ref().ok())
        .and_then(|c| c.string(keys::PIDFILE).0)
        .unwrap_or_else(|| "/var/run/docker.pid".into());
    let rules = plan.fixed_rules();
    let result = if in_place_only {
        out(w, "no restart needed; auditing again ...");
        verify(opts, &plan, old_pid, &pidfile, Action::None, &rules)
    } else {
        out(w, format!("{} dockerd ...", plan.action.as_str()));
        act(&how, plan.action, units_changed)
            .and_then(|_| verify(opts, &plan, old_pid, &pidfile, plan.action, &rules))
    };
    match result {
        Ok(after) => {
            out(w, "result:");
            for e in plan.entries.iter().filter(|e| e.skipped.is_none()) {
                let a = after.get(e.rule).map(|(s, _)| s.as_str()).unwrap_or("?");
                out(w, format!("  {:<28}  {} -> {a}", e.rule, e.before.as_str()));
            }
            out(w, "done");
            Ok(EXIT_DONE)
        }
        Err(e) => {
            out(w, format!("FAILED: {e}"));
            match &set {
                Some(set) => {
                    let restored = apply::restore(&set.dir).map_err(|e| e.to_string())?;
                    mark_rolled_back(&set.dir);
                    for p in restored {
                        out(w, format!("restored {}", p.display()));
                    }
                    if audit_load {
                        reload_audit_rules(w);
                    }
                }
                None => out(w, "no file was changed: nothing to restore"),
            }
            if in_place_only {
                out(
                    w,
                    if plan.writes.is_empty() {
                        "rolled back: owners and modes restored (dockerd was not restarted)"
                    } else {
                        "rolled back: files, owners and modes restored (dockerd was not restarted)"
                    },
                );
                return Ok(EXIT_FAILED);
            }
            let again = if plan.action == Action::Reload {
                Action::Reload
            } else {
                Action::Restart
            };
            match act(&how, again, units_changed) {
                Ok(()) => match wait_up(opts, &pidfile) {
                    Ok(pid) => out(
                        w,
                        format!(
                            "rolled back: dockerd pid {pid} runs with the previous configuration"
                        ),
                    ),
                    Err(e) => out(w, format!("rolled back the files, but {e}")),
                },
                // The old daemon still runs when it was never restarted.
                Err(e) if plan.action == Action::Restart && still_runs(&pidfile, old_pid) => out(
                    w,
                    format!(
                        "rolled back the files; {e} again, but dockerd pid {old_pid} was not restarted: it runs with the previous configuration"
                    ),
                ),
                Err(e) => out(
                    w,
                    format!(
                        "rolled back the files, but {e} again: {} dockerd yourself so that it runs with them",
                        plan.action.as_str()
                    ),
                ),
            }
            Ok(EXIT_FAILED)
        }
    }
}

/// After a failed change: restore what was changed so far; the message.
fn undo_after_failure(dir: &Path, e: String) -> String {
    match apply::restore(dir) {
        Ok(_) => {
            // Nothing changed: no change set to roll back.
            let _ = std::fs::remove_dir_all(dir);
            format!("{e} (nothing was changed: the files changed so far were restored)")
        }
        Err(r) => format!(
            "{e}; restoring the files changed so far failed too: {r} (the backups are in {})",
            dir.display()
        ),
    }
}

const ROLLED_BACK: &str = "rolled-back";

fn mark_rolled_back(dir: &Path) {
    let _ = std::fs::write(dir.join(ROLLED_BACK), b"");
}

/// `dockhard fix --rollback`: restore the last change set and restart. The
/// caller holds [`lock`] (taken before `snap` was collected).
pub fn rollback(
    snap: &Snapshot,
    opts: &RunOptions,
    _lock: &Lock,
    w: &mut dyn Write,
) -> Result<i32, String> {
    let set = apply::latest_backup(&opts.backup_root)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no change set in {}", opts.backup_root.display()))?;
    if set.dir.join(ROLLED_BACK).exists() {
        out(
            w,
            format!(
                "the last change set ({}) is already rolled back: nothing to do",
                set.dir.display()
            ),
        );
        return Ok(EXIT_DONE);
    }
    let restored = apply::restore(&set.dir).map_err(|e| e.to_string())?;
    mark_rolled_back(&set.dir);
    for p in &restored {
        out(w, format!("restored {}", p.display()));
    }
    if set.manifest.entries.is_empty() {
        out(w, "done: owners and modes restored (no restart needed)");
        return Ok(EXIT_DONE);
    }
    // auditd loads the restored audit rules again.
    if set.manifest.entries.iter().any(|e| is_audit_rules(&e.path))
        && snap.root.is_none()
        && snap.host.auditd_running == Some(true)
    {
        reload_audit_rules(w);
    }
    if set.manifest.entries.iter().all(|e| is_audit_rules(&e.path)) {
        // Audit rules only: dockerd has nothing to do.
        out(w, "done: audit rules restored (no restart needed)");
        return Ok(EXIT_DONE);
    }
    let plan = Plan {
        pid: snap.daemons.first().map(|d| d.pid),
        endpoint: None,
        config_file: None,
        entries: Vec::new(),
        writes: Vec::new(),
        perms: Vec::new(),
        users: BTreeMap::new(),
        groups: BTreeMap::new(),
        action: Action::Restart,
        audit_load: false,
        refusals: Vec::new(),
        notes: Vec::new(),
    };
    let restart = match &opts.restart {
        Restart::Signal => Restart::Signal,
        r => r.clone(),
    };
    let mut plan = plan;
    if restart == Restart::Signal {
        plan.action = Action::Reload;
    }
    let how = resolve_how(snap, &plan, &restart)?;
    match &how {
        How::Nothing => {
            out(w, "done: files restored, nothing restarted");
            return Ok(EXIT_DONE);
        }
        How::Manual(what) => {
            out(w, format!("files restored; {what}"));
            return Ok(EXIT_DONE);
        }
        _ => {}
    }
    act(&how, plan.action, true)?;
    let pidfile = daemon::build_configs(snap)
        .first()
        .and_then(|m| m.next_start.config.as_ref().ok())
        .and_then(|c| c.string(keys::PIDFILE).0)
        .unwrap_or_else(|| "/var/run/docker.pid".into());
    let pid = wait_up(opts, &pidfile)?;
    out(w, format!("rolled back: dockerd pid {pid} answers"));
    Ok(EXIT_DONE)
}

/// The backup directory and lock for a target.
pub fn default_paths(root: Option<&Path>) -> (PathBuf, PathBuf) {
    match root {
        Some(r) => {
            let b = r.join("var/lib/dockhard/backups");
            let l = b.join("dockhard.lock");
            (b, l)
        }
        None => (
            PathBuf::from(apply::DEFAULT_BACKUP_ROOT),
            PathBuf::from(apply::DEFAULT_LOCK_PATH),
        ),
    }
}
