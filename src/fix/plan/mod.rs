//! Planning `dockhard fix` (pure): from a snapshot, the failing rules and
//! the user's options, which option changes go into which file, the new
//! text of every file, the hazards, and whether dockerd needs a restart or
//! only a reload. The result is validated by running the model again on the
//! would-be files: a plan whose next start would fail is refused.
//!
//! Where a change goes ([`Method::Auto`]): where the option is already set
//! (a flag in the unit's `ExecStart=` -> a drop-in replacing `ExecStart=`
//! with the same command line edited; a flag from an `EnvironmentFile=` ->
//! that assignment), else daemon.json. Never both places: dockerd refuses to
//! start when an option is a flag and a daemon.json key.
//!
//! Here: planning and validating; `place` (the `Work` of one plan: where
//! each change goes and its edit); `order` (crash-safe order of the writes).

use crate::model::daemon::{self, DaemonModel, View};
use crate::model::{ProblemLevel, Want};
use crate::rules::remedy::{Change, FixCx, FixInputs, FixSpec, Hazard, PermChange, RulesFile};
use crate::rules::{RULES, Rule, Status};
use crate::snapshot::{DirEvidence, FileEvidence, FileKind, FileMeta, Snapshot};
use serde::Serialize;
use std::collections::BTreeMap;

mod order;
mod place;
use order::crash_safe_order;
use place::Work;
pub use place::{append_exec_word, json_apply};

/// Where changes are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// daemon.json, unless the option is already a flag: then where the flag lives.
    Auto,
    /// daemon.json; flags of the same option are removed (moved to the file).
    DaemonJson,
    /// Flags, in a drop-in that replaces `ExecStart=`.
    Dropin,
    /// Flags, in the unit's own `ExecStart=` (as the guide does).
    Unit,
}

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Rule ids; empty: every rule that has a fix.
    pub rules: Vec<String>,
    pub method: Method,
    /// Blocking hazards do not refuse the plan.
    pub force: bool,
    pub inputs: FixInputs,
}

/// What dockerd needs for the changes to take effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    None,
    /// SIGHUP (every change is a reloadable daemon.json key).
    Reload,
    Restart,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::None => "none",
            Action::Reload => "reload (SIGHUP)",
            Action::Restart => "restart",
        }
    }
}

/// One change, placed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Placed {
    pub change: Change,
    /// The file written (host path).
    pub file: String,
    /// `daemon.json key`, `flag in drop-in ExecStart=`, ...
    pub how: String,
}

/// The plan of one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub rule: &'static str,
    /// The verdict now.
    pub before: Status,
    pub message: String,
    /// Planned changes (empty when nothing to do or skipped).
    pub changes: Vec<Placed>,
    /// Owner and mode changes, in place (the file rules).
    pub perms: Vec<PermChange>,
    /// A rules file written whole (the audit rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules_file: Option<RulesFile>,
    /// Why the rule is not fixed (`needs --authz-plugin NAME`), if so.
    pub skipped: Option<String>,
    pub hazards: Vec<Hazard>,
    /// What its changes need.
    pub needs: Action,
}

/// A file to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileWrite {
    /// Host path (under `--root` when given).
    pub path: String,
    /// `None`: the file does not exist yet.
    pub old: Option<String>,
    pub new: String,
}

/// The plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub pid: Option<u32>,
    pub endpoint: Option<String>,
    /// The daemon.json of the next start.
    pub config_file: Option<String>,
    pub entries: Vec<Entry>,
    pub writes: Vec<FileWrite>,
    /// Owner and mode changes of every entry, made before the writes (a
    /// write keeps the owner and mode of the file it replaces).
    pub perms: Vec<PermChange>,
    /// Names of the users and groups of `perms` (from the snapshot's
    /// /etc/passwd and /etc/group; ids without a name are shown as numbers).
    pub users: BTreeMap<u32, String>,
    pub groups: BTreeMap<u32, String>,
    pub action: Action,
    /// Run `augenrules --load` after the writes (auditd runs, live mode).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub audit_load: bool,
    /// Why the plan must not be applied (blocking hazards without --force,
    /// failed validation). Empty: it can be applied.
    pub refusals: Vec<String>,
    pub notes: Vec<String>,
}

impl Plan {
    /// Rules the plan fixes (with changes or a pending restart/reload).
    pub fn fixed_rules(&self) -> Vec<&'static str> {
        self.entries
            .iter()
            .filter(|e| {
                e.skipped.is_none()
                    && e.before != Status::Pass
                    && (e.needs != Action::None || !e.perms.is_empty() || e.rules_file.is_some())
            })
            .map(|e| e.rule)
            .collect()
    }

    /// The unified diff of every write, by path (the writes themselves are
    /// in a crash-safe order).
    pub fn diff(&self) -> String {
        let mut writes: Vec<&FileWrite> = self.writes.iter().collect();
        writes.sort_by(|a, b| a.path.cmp(&b.path));
        writes
            .iter()
            .map(|w| super::diff::unified_diff(&w.path, w.old.as_deref(), Some(&w.new)))
            .collect()
    }

    /// Nothing to write and nothing to restart.
    pub fn is_noop(&self) -> bool {
        self.writes.is_empty()
            && self.perms.is_empty()
            && self.action == Action::None
            && !self.audit_load
    }
}

/// The evidence `fix` needs beyond the audit's, given its inputs.
pub fn wanted(inputs: &FixInputs) -> Vec<Want> {
    let mut out = vec![
        Want::Meta("/dev/log".into()),
        // Owners by name in the plan of the file rules.
        Want::File(crate::model::host::PASSWD.into()),
        Want::File(crate::model::files::ETC_GROUP.into()),
        Want::File("/etc/subuid".into()),
        Want::File("/etc/subgid".into()),
    ];
    if let Some(n) = &inputs.authz_plugin {
        out.extend(daemon::plugin_paths(n).into_iter().map(Want::Meta));
    }
    for p in [&inputs.tls_ca, &inputs.tls_cert].into_iter().flatten() {
        out.push(Want::File(p.clone()));
    }
    if let Some(p) = &inputs.tls_key {
        out.push(Want::Meta(p.clone()));
    }
    out
}

/// Rules that have a fix, in report order.
pub fn fixable_rules() -> impl Iterator<Item = &'static Rule> {
    RULES.iter().filter(|r| r.fix.is_some())
}

fn check(snap: &Snapshot, m: &DaemonModel, view: &View, rule: &Rule) -> (Status, String) {
    match crate::audit::check(snap, m, view, rule) {
        Some(o) => (o.status, o.message),
        None => (Status::Error, "not a daemon rule: no fix".into()),
    }
}

fn ok_status(s: Status) -> bool {
    matches!(s, Status::Pass | Status::NotApplicable | Status::Manual)
}

/// Plan the fix of the daemon at `index` of [`daemon::build`] (0 when one).
pub fn plan(snap: &Snapshot, index: usize, opts: &PlanOptions) -> Plan {
    let models = daemon::build_configs(snap);
    let mut plan = Plan {
        pid: None,
        endpoint: None,
        config_file: None,
        entries: Vec::new(),
        writes: Vec::new(),
        perms: Vec::new(),
        users: BTreeMap::new(),
        groups: BTreeMap::new(),
        action: Action::None,
        audit_load: false,
        refusals: Vec::new(),
        notes: Vec::new(),
    };
    let Some(m) = models.get(index) else {
        plan.refusals.push("no daemon to fix".into());
        return plan;
    };
    plan.pid = m.pid;
    plan.endpoint = m.endpoint.clone();
    let next = match &m.next_start.config {
        Ok(e) => e.clone(),
        Err(e) => {
            plan.refusals.push(format!(
                "the configuration of the next start is unknown: {e}"
            ));
            return plan;
        }
    };
    plan.config_file = Some(next.config_path.path.clone());
    let selected: Vec<&'static Rule> = if opts.rules.is_empty() {
        fixable_rules().collect()
    } else {
        let mut v = Vec::new();
        for id in &opts.rules {
            match crate::rules::find(id) {
                Some(r) if r.fix.is_some() => v.push(r),
                Some(r) => plan.refusals.push(format!(
                    "{}: dockhard has no fix for this rule (see `dockhard explain {}`)",
                    r.meta.id, r.meta.id
                )),
                None => plan.refusals.push(format!("unknown rule `{id}`")),
            }
        }
        v
    };
    let primary = m.running.as_ref().unwrap_or(&m.next_start);
    let mut work = Work::new(snap, index, opts.method);
    let mut rules_writes = Vec::new();
    for rule in selected {
        let (before, message) = check(snap, m, primary, rule);
        let mut entry = Entry {
            rule: rule.meta.id,
            before,
            message,
            changes: Vec::new(),
            perms: Vec::new(),
            rules_file: None,
            skipped: None,
            hazards: Vec::new(),
            needs: Action::None,
        };
        if ok_status(before) {
            plan.entries.push(entry);
            continue;
        }
        let Some(fix) = rule.fix else { continue };
        let spec = match fix(&FixCx {
            snap,
            daemon: m,
            next: &next,
            view: primary,
            inputs: &opts.inputs,
        }) {
            Ok(s) => s,
            Err(why) => {
                entry.skipped = Some(why);
                plan.entries.push(entry);
                continue;
            }
        };
        entry.hazards = spec.hazards.clone();
        if let Some(rf) = &spec.rules_file {
            // A file dockhard owns, written whole; dockerd has nothing to do.
            // No file of its own and nothing to put in one: only the load.
            let nothing = rf.old.is_none() && rf.lines.is_empty();
            if rf.old.as_deref() != Some(rf.new.as_str()) && !nothing {
                rules_writes.push(FileWrite {
                    path: rf.path.clone(),
                    old: rf.old.clone(),
                    new: rf.new.clone(),
                });
            }
            plan.audit_load |= rf.load;
            plan.notes.extend(rf.note.clone());
            entry.rules_file = Some(rf.clone());
        } else if spec.changes.is_empty() && !spec.perms.is_empty() {
            // In place: nothing for dockerd to do. A file two rules name
            // is changed once, with the bits both remove.
            for c in &spec.perms {
                match plan.perms.iter_mut().find(|p| p.path == c.path) {
                    Some(p) => p.new_mode &= c.new_mode,
                    None => plan.perms.push(c.clone()),
                }
            }
            entry.perms = spec.perms.clone();
        } else {
            match work.place_all(&spec) {
                Ok(placed) => {
                    entry.needs = needs_of(m, &placed, &spec);
                    entry.changes = placed;
                }
                Err(why) => entry.skipped = Some(why),
            }
        }
        if entry.skipped.is_none() && !opts.force {
            for h in entry.hazards.iter().filter(|h| h.blocking) {
                plan.refusals.push(format!(
                    "{}: {} (--force to fix anyway)",
                    entry.rule, h.message
                ));
            }
        }
        plan.entries.push(entry);
    }
    plan.writes = crash_safe_order(snap, index, work.writes());
    // Rules files do not change what dockerd starts with: written last.
    plan.writes.extend(rules_writes);
    (plan.users, plan.groups) = owner_names(snap, &plan.perms);
    plan.action = plan
        .entries
        .iter()
        .map(|e| e.needs)
        .max()
        .unwrap_or(Action::None);
    if m.running.is_none() {
        if plan.action != Action::None {
            plan.notes
                .push("no dockerd runs: the changes take effect at its next start".to_string());
        }
        plan.action = Action::None;
    }
    validate(snap, index, m, &mut plan);
    plan
}

/// What a rule's placed changes need from a running daemon.
fn needs_of(m: &DaemonModel, placed: &[Placed], spec: &FixSpec) -> Action {
    if m.running.is_none() {
        return Action::Restart;
    }
    let json = m
        .next_start
        .config
        .as_ref()
        .ok()
        .map(|c| c.config_path.path.clone());
    let running = m.engine.as_ref().unwrap_or(&m.next_engine).engine();
    let only_reloadable_json = spec.changes.iter().all(|c| c.reloadable(&running))
        && placed.iter().all(|p| Some(&p.file) == json.as_ref());
    if only_reloadable_json {
        Action::Reload
    } else {
        Action::Restart
    }
}

/// Check the would-be configuration with the model: no start failure, and
/// every rule the plan fixes passes.
fn validate(snap: &Snapshot, index: usize, m: &DaemonModel, plan: &mut Plan) {
    let fixed: Vec<&'static str> = plan
        .entries
        .iter()
        .filter(|e| e.skipped.is_none() && !ok_status(e.before))
        .map(|e| e.rule)
        .collect();
    if fixed.is_empty() {
        return;
    }
    let mut after = with_perms(&with_writes(snap, &plan.writes), &plan.perms);
    if plan.audit_load {
        // `augenrules --load`: the kernel gets the rules of the files.
        after.host.audit_loaded = None;
        after.host.audit_loaded_error = None;
    }
    let models = daemon::build_configs(&after);
    let Some(m2) = models.get(index) else {
        plan.refusals
            .push("validation: the daemon disappeared from the model".into());
        return;
    };
    let eff = match &m2.next_start.config {
        Ok(e) => e,
        Err(e) => {
            plan.refusals.push(format!(
                "validation: the next start could not be resolved after the changes: {e}"
            ));
            return;
        }
    };
    let before: Vec<&str> = m
        .next_start
        .config
        .as_ref()
        .map(|c| {
            c.problems
                .iter()
                .filter(|p| p.level == ProblemLevel::Fatal)
                .map(|p| p.message.as_str())
                .collect()
        })
        .unwrap_or_default();
    for p in eff
        .problems
        .iter()
        .filter(|p| p.level == ProblemLevel::Fatal)
    {
        let what = if before.is_empty() {
            "dockerd would not start after these changes"
        } else {
            "dockerd would still not start (the configuration on disk already fails: fix it first, see daemon.config-valid)"
        };
        plan.refusals.push(format!(
            "validation: {what}: {} ({}: {})",
            p.message, p.evidence.location, p.evidence.detail
        ));
    }
    if eff.has_fatal() {
        return;
    }
    for id in fixed {
        let Some(rule) = crate::rules::find(id) else {
            continue;
        };
        let (st, msg) = check(&after, m2, &m2.next_start, rule);
        if !ok_status(st) {
            plan.refusals.push(format!(
                "validation: {id} would still be {st} at the next start: {msg}"
            ));
        }
        if plan.action == Action::Reload
            && let Some(rv) = &m2.reload
        {
            let (st, msg) = check(&after, m2, rv, rule);
            if !ok_status(st) {
                plan.refusals.push(format!(
                    "validation: {id} would still be {st} after a reload: {msg}"
                ));
            }
        }
    }
}

/// The names of the users and groups of `perms`, from the snapshot's
/// /etc/passwd and /etc/group.
fn owner_names(
    snap: &Snapshot,
    perms: &[PermChange],
) -> (BTreeMap<u32, String>, BTreeMap<u32, String>) {
    let passwd = snap.text(crate::model::host::PASSWD).unwrap_or("");
    let group = snap.text(crate::model::files::ETC_GROUP).unwrap_or("");
    let mut users = BTreeMap::new();
    let mut groups = BTreeMap::new();
    for c in perms {
        for u in [c.old_uid, c.new_uid] {
            if let Some(n) = passwd_name(passwd, u) {
                users.insert(u, n);
            }
        }
        for g in [c.old_gid, c.new_gid] {
            if let Some(n) = crate::model::files::group_name(group, g) {
                groups.insert(g, n);
            }
        }
    }
    (users, groups)
}

/// The name of uid `uid` in /etc/passwd text.
fn passwd_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        f.next()?;
        (f.next()?.trim().parse::<u32>().ok()? == uid && !name.is_empty()).then(|| name.to_string())
    })
}

impl Plan {
    /// `0664 root:root -> 0644 root:root` for one owner and mode change.
    pub fn describe_perm(&self, c: &PermChange) -> String {
        c.describe(&|u| self.users.get(&u).cloned(), &|g| {
            self.groups.get(&g).cloned()
        })
    }
}

/// A copy of the snapshot with the owner and mode changes made.
pub fn with_perms(snap: &Snapshot, perms: &[PermChange]) -> Snapshot {
    let mut s = snap.clone();
    for c in perms {
        if let Some(m) = s.files.get_mut(&c.path).and_then(|f| f.meta.as_mut()) {
            m.mode = c.new_mode;
            m.uid = c.new_uid;
            m.gid = c.new_gid;
        }
    }
    s
}

/// A copy of the snapshot with the planned files in place (new files are
/// added to their directory's listing).
pub fn with_writes(snap: &Snapshot, writes: &[FileWrite]) -> Snapshot {
    let mut s = snap.clone();
    for w in writes {
        let old_meta = s.files.get(&w.path).and_then(|f| f.meta.clone());
        let meta = FileMeta {
            size: w.new.len() as u64,
            ..old_meta.unwrap_or(FileMeta {
                kind: FileKind::File,
                target_kind: None,
                link_target: None,
                mode: 0o644,
                uid: 0,
                gid: 0,
                size: 0,
                mtime: snap.collected_unix.unwrap_or(0),
                dev: None,
                ino: None,
            })
        };
        s.files.insert(
            w.path.clone(),
            FileEvidence {
                meta: Some(meta),
                text: Some(w.new.clone()),
                ..FileEvidence::default()
            },
        );
        if let Some((dir, name)) = w.path.rsplit_once('/') {
            let d = s.dirs.entry(dir.to_string()).or_insert(DirEvidence {
                entries: Some(Vec::new()),
                missing: false,
                error: None,
            });
            if d.missing || d.entries.is_none() {
                d.missing = false;
                d.error = None;
                d.entries = Some(Vec::new());
            }
            if let Some(e) = d.entries.as_mut()
                && !e.iter().any(|x| x == name)
            {
                e.push(name.to_string());
                e.sort();
            }
        }
    }
    s
}

#[cfg(test)]
mod tests;
