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

use super::json_edit;
use super::unit_edit::{self, DROPIN_NAME, WordEdit};
use crate::model::config::argv::{FlagUse, parse_args, parse_bool};
use crate::model::config::{Effective, options};
use crate::model::daemon::{self, DaemonModel, View};
use crate::model::{ArgWord, ProblemLevel, Source, Want};
use crate::rules::remedy::{Change, FixCx, FixInputs, FixSpec, Hazard};
use crate::rules::{RULES, Rule, Status};
use crate::snapshot::{DirEvidence, FileEvidence, FileKind, FileMeta, Snapshot};
use serde::Serialize;
use std::collections::BTreeMap;

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
    pub action: Action,
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
            .filter(|e| e.skipped.is_none() && e.before != Status::Pass && e.needs != Action::None)
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
        self.writes.is_empty() && self.action == Action::None
    }
}

/// The evidence `fix` needs beyond the audit's, given its inputs.
pub fn wanted(inputs: &FixInputs) -> Vec<Want> {
    let mut out = vec![
        Want::Meta("/dev/log".into()),
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
        action: Action::None,
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
    for rule in selected {
        let (before, message) = check(snap, m, primary, rule);
        let mut entry = Entry {
            rule: rule.meta.id,
            before,
            message,
            changes: Vec::new(),
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
        match work.place_all(&spec) {
            Ok(placed) => {
                entry.needs = needs_of(m, &placed, &spec);
                entry.changes = placed;
            }
            Err(why) => entry.skipped = Some(why),
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

/// The writes in an order after each of which dockerd would still start:
/// every file is replaced atomically, but not all of them at once, and a
/// crash between two (an option moved from a flag into daemon.json, written
/// first) must not leave an option both a flag and a key. The planned order
/// when it is safe, or when no order is (the current state does not start).
fn crash_safe_order(snap: &Snapshot, index: usize, writes: Vec<FileWrite>) -> Vec<FileWrite> {
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
fn permutations(n: usize) -> Vec<Vec<usize>> {
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
    let after = with_writes(snap, &plan.writes);
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

// ---------------------------------------------------------------------------
// Placing changes

/// The files being edited, and how to see the configuration they make.
struct Work<'a> {
    snap: &'a Snapshot,
    index: usize,
    method: Method,
    /// path -> (original text or None when absent, current text)
    files: BTreeMap<String, (Option<String>, String)>,
}

/// The next start, as the current edits make it.
struct Derived {
    model: DaemonModel,
    eff: Effective,
    /// The command line and whether it comes from a unit (editable).
    words: Vec<ArgWord>,
    from_unit: bool,
}

impl<'a> Work<'a> {
    fn new(snap: &'a Snapshot, index: usize, method: Method) -> Self {
        Work {
            snap,
            index,
            method,
            files: BTreeMap::new(),
        }
    }

    fn writes(&self) -> Vec<FileWrite> {
        self.files
            .iter()
            .filter(|(_, (old, new))| changed(old.as_deref(), new))
            .map(|(p, (old, new))| FileWrite {
                path: p.clone(),
                old: old.clone(),
                new: new.clone(),
            })
            .collect()
    }

    fn current_snapshot(&self) -> Snapshot {
        with_writes(self.snap, &self.writes())
    }

    fn derive(&self) -> Result<Derived, String> {
        let snap = self.current_snapshot();
        let models = daemon::build_configs(&snap);
        let model = models
            .into_iter()
            .nth(self.index)
            .ok_or("the daemon is not in the model")?;
        let eff = model.next_start.config.clone()?;
        let (words, from_unit) = match model
            .service
            .as_ref()
            .filter(|s| s.unit_path.is_some())
            .and_then(|s| s.exec_start.clone())
        {
            Some(w) => (w, true),
            None => (
                model
                    .running
                    .as_ref()
                    .and(snap.daemons.get(self.index))
                    .map(|d| ArgWord::from_argv(&d.argv))
                    .unwrap_or_default(),
                false,
            ),
        };
        Ok(Derived {
            model,
            eff,
            words,
            from_unit,
        })
    }

    /// The current text of a file (from the snapshot the first time).
    fn text(&mut self, path: &str) -> Result<String, String> {
        if let Some((_, cur)) = self.files.get(path) {
            return Ok(cur.clone());
        }
        let orig = match self.snap.file(path) {
            Some(f) if f.missing => None,
            Some(f) => match (&f.text, &f.error) {
                (Some(t), _) if !f.invalid_utf8 => Some(t.clone()),
                (Some(_), _) => {
                    return Err(format!(
                        "{path} is not valid UTF-8: dockhard does not rewrite it"
                    ));
                }
                (None, e) => {
                    return Err(format!(
                        "{path} could not be read: {}",
                        e.as_deref().unwrap_or("no content recorded")
                    ));
                }
            },
            None => None,
        };
        let cur = orig.clone().unwrap_or_default();
        self.files.insert(path.to_string(), (orig, cur.clone()));
        Ok(cur)
    }

    fn put(&mut self, path: &str, text: String) -> Result<(), String> {
        self.text(path)?;
        if let Some(slot) = self.files.get_mut(path) {
            slot.1 = text;
        }
        Ok(())
    }

    /// Place every change of a spec; on error nothing of it is kept.
    fn place_all(&mut self, spec: &FixSpec) -> Result<Vec<Placed>, String> {
        let saved = self.files.clone();
        let mut out = Vec::new();
        for c in &spec.changes {
            match self.place(c) {
                Ok(mut p) => out.append(&mut p),
                Err(e) => {
                    self.files = saved;
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    fn place(&mut self, c: &Change) -> Result<Vec<Placed>, String> {
        let d = self.derive()?;
        let key = c.key().to_string();
        let spec = options::by_key(&key).ok_or_else(|| format!("unknown option `{key}`"))?;
        let engine = d.eff.context.engine;
        match spec.life_in(&engine) {
            options::Life::Active | options::Life::Deprecated(_) => {}
            // Removing what the engine refuses is always allowed.
            _ if matches!(c, Change::Unset { .. }) => {}
            _ => {
                return Err(format!(
                    "`{key}` is not an option dockerd {} accepts: nothing written",
                    engine.version
                ));
            }
        }
        let json_path = d.eff.config_path.path.clone();
        let json_text = self.text(&json_path)?;
        let in_file = json_edit::get_key(&json_text, &key).is_some();
        let uses: Vec<FlagUse> = if spec.flag.is_empty() {
            Vec::new()
        } else {
            parse_args(&d.words, &engine)
                .of(spec.flag)
                .cloned()
                .collect()
        };
        let to_flags = match self.method {
            Method::DaemonJson => false,
            Method::Unit | Method::Dropin => !spec.flag.is_empty(),
            Method::Auto => !uses.is_empty() && !in_file,
        };
        if to_flags {
            if !d.from_unit {
                return Err(format!(
                    "--{} is on the command line of a dockerd that no known unit starts: give --unit FILE, use --method daemon-json, or change it by hand",
                    spec.flag
                ));
            }
            let mut placed = self.flag_change(c, spec, &d)?;
            if in_file {
                let t = self.text(&json_path)?;
                let t = json_edit::remove_key(&t, &key).map_err(|e| json_err(&json_path, e))?;
                self.put(&json_path, t)?;
                placed.push(Placed {
                    change: Change::Unset { key: key.clone() },
                    file: json_path.clone(),
                    how: format!("daemon.json key removed (now the flag --{})", spec.flag),
                });
            }
            return Ok(placed);
        }
        // daemon.json; flags of the same option move into the file.
        let mut placed = Vec::new();
        let mut text = json_text;
        if !uses.is_empty() {
            if !d.from_unit {
                return Err(format!(
                    "--{} is on the command line of a dockerd that no known unit starts: give --unit FILE or change it by hand",
                    spec.flag
                ));
            }
            if let Some(v) = moved_value(&d.eff, &key, spec.kind, &text) {
                text = json_edit::set_key(&text, &key, &v).map_err(|e| json_err(&json_path, e))?;
            }
            let files = self.remove_flags(spec, |_| true)?;
            for f in files {
                placed.push(Placed {
                    change: Change::Unset { key: key.clone() },
                    file: f,
                    how: format!("flag --{} removed (moved to daemon.json)", spec.flag),
                });
            }
            // Removing flags re-derives; the daemon.json text is ours.
        }
        let new = json_apply(&text, c).map_err(|e| json_err(&json_path, e))?;
        self.put(&json_path, new)?;
        placed.push(Placed {
            change: c.clone(),
            file: json_path,
            how: "daemon.json".into(),
        });
        Ok(placed)
    }

    /// Make the change with flags, where they live.
    fn flag_change(
        &mut self,
        c: &Change,
        spec: &'static options::OptionSpec,
        d: &Derived,
    ) -> Result<Vec<Placed>, String> {
        let _ = d;
        let flag = spec.flag;
        let mut files = Vec::new();
        match c {
            Change::Set { value, .. } => {
                let want = json_scalar_text(value)
                    .ok_or_else(|| format!("--{flag}: cannot be written as a flag"))?;
                let matches = |u: &FlagUse| match spec.kind {
                    options::Kind::Bool => parse_bool(&u.value) == parse_bool(&want),
                    _ => u.value == want,
                };
                files.extend(self.converge(
                    spec,
                    &|_| true,
                    &matches,
                    &format!("--{flag}={want}"),
                )?);
            }
            Change::Unset { .. } => files.extend(self.remove_flags(spec, |_| true)?),
            Change::AddToList { item, .. } => {
                let it = item.clone();
                let pred = move |u: &FlagUse| u.value == it;
                let d2 = self.derive()?;
                let has = parse_args(&d2.words, &d2.eff.context.engine)
                    .of(flag)
                    .any(&pred);
                if !has {
                    files.push(self.append_word(&format!("--{flag}={item}"))?);
                }
            }
            Change::SetMapKey { inner, value, .. } => {
                let prefix = format!("{inner}=");
                let want = format!("{inner}={value}");
                let p2 = prefix.clone();
                files.extend(self.converge(
                    spec,
                    &move |u: &FlagUse| u.value.starts_with(&p2),
                    &|u: &FlagUse| u.value == want,
                    &format!("--{flag}={inner}={value}"),
                )?);
            }
            Change::RemoveMapKey { inner, .. } => {
                let prefix = format!("{inner}=");
                files.extend(self.remove_flags(spec, move |u| u.value.starts_with(&prefix))?);
            }
        }
        files.sort();
        files.dedup();
        Ok(files
            .into_iter()
            .map(|f| Placed {
                change: c.clone(),
                file: f,
                how: format!("flag --{flag}"),
            })
            .collect())
    }

    /// Edit the uses of a flag selected by `which` until exactly one is left
    /// and it `is_ok`; append `word` when there is none.
    fn converge(
        &mut self,
        spec: &'static options::OptionSpec,
        which: &dyn Fn(&FlagUse) -> bool,
        is_ok: &dyn Fn(&FlagUse) -> bool,
        word: &str,
    ) -> Result<Vec<String>, String> {
        let mut files = Vec::new();
        for _ in 0..32 {
            let d = self.derive()?;
            let uses: Vec<FlagUse> = parse_args(&d.words, &d.eff.context.engine)
                .of(spec.flag)
                .filter(|u| which(u))
                .cloned()
                .collect();
            match uses.as_slice() {
                [] => {
                    files.push(self.append_word(word)?);
                    return Ok(files);
                }
                [only] if is_ok(only) => return Ok(files),
                [.., last] if !is_ok(last) => {
                    files.push(self.edit_use(last, &WordEdit::Replace(vec![word.to_string()]))?);
                }
                [first, ..] => files.push(self.edit_use(first, &WordEdit::Remove)?),
            }
        }
        Err(format!(
            "--{}: the edits do not converge; edit by hand",
            spec.flag
        ))
    }

    /// Remove every use of the flag selected by `which`.
    fn remove_flags(
        &mut self,
        spec: &'static options::OptionSpec,
        which: impl Fn(&FlagUse) -> bool,
    ) -> Result<Vec<String>, String> {
        let mut files = Vec::new();
        for _ in 0..32 {
            let d = self.derive()?;
            let next = parse_args(&d.words, &d.eff.context.engine)
                .of(spec.flag)
                .find(|u| which(u))
                .cloned();
            match next {
                None => return Ok(files),
                Some(u) => files.push(self.edit_use(&u, &WordEdit::Remove)?),
            }
        }
        Err(format!(
            "--{}: the edits do not converge; edit by hand",
            spec.flag
        ))
    }

    /// The drop-in path for the service, and whether the ExecStart in force
    /// already lives there.
    fn dropin_path(&self, d: &Derived) -> Result<String, String> {
        let svc = d
            .model
            .service
            .as_ref()
            .ok_or("dockerd is not started by a known unit")?;
        let dir = match &self.snap.unit_file {
            Some(f) => format!("{f}.d"),
            None => format!("/etc/systemd/system/{}.d", svc.name),
        };
        Ok(format!("{dir}/{DROPIN_NAME}"))
    }

    /// Where ExecStart= edits go: `(path, line)` of the ExecStart in force,
    /// after copying it into dockhard's drop-in when the method wants one.
    fn exec_target(&mut self, loc_path: &str, loc_line: usize) -> Result<(String, usize), String> {
        if self.method == Method::Unit {
            return Ok((loc_path.to_string(), loc_line));
        }
        let d = self.derive()?;
        let dropin = self.dropin_path(&d)?;
        if loc_path == dropin {
            return Ok((loc_path.to_string(), loc_line));
        }
        // Copy the raw ExecStart= (so `$OPTIONS` stays a reference).
        let text = self.text(loc_path)?;
        let parsed = crate::parse::unit::parse_unit(&text);
        let entry = parsed
            .section("Service")
            .filter(|e| e.key == "ExecStart" && !e.value.is_empty())
            .find(|e| e.line == loc_line || e.segments.iter().any(|(_, l)| *l == loc_line))
            .ok_or_else(|| format!("{loc_path}:{loc_line}: no ExecStart= here"))?;
        let content = format!(
            "# Written by dockhard fix: the ExecStart= of {loc_path}, with the changes of\n# `dockhard fix`. Remove this file (and run `systemctl daemon-reload`) to undo.\n[Service]\nExecStart=\nExecStart={}\n",
            entry.value
        );
        let old = self.text(&dropin)?;
        if !old.is_empty() && !old.contains("Written by dockhard fix") {
            return Err(format!(
                "{dropin} exists and was not written by dockhard: edit it by hand"
            ));
        }
        self.put(&dropin, content)?;
        Ok((dropin, 5))
    }

    /// Apply a word edit to where one flag use lives; returns the file.
    fn edit_use(&mut self, u: &FlagUse, edit: &WordEdit) -> Result<String, String> {
        let target = use_words(u);
        let (path, line, var) = parse_location(&u.evidence.location).ok_or_else(|| {
            format!(
                "{}: cannot locate `{}`",
                u.evidence.location, u.evidence.detail
            )
        })?;
        match (u.evidence.source, var) {
            (Source::EnvFile, Some(v)) if !v.starts_with('{') => {
                let text = self.text(&path)?;
                let new = unit_edit::edit_env_file(&text, line, &target, edit)
                    .map_err(|e| format!("{path}:{}: {}", e.line, e.message))?;
                self.put(&path, new)?;
                Ok(path)
            }
            (Source::Unit, None) => {
                let (p, l) = self.exec_target(&path, line)?;
                let text = self.text(&p)?;
                let new = unit_edit::edit_exec_start(&text, l, &target, edit)
                    .map_err(|e| format!("{p}:{}: {}", e.line, e.message))?;
                self.put(&p, new)?;
                Ok(p)
            }
            _ => Err(format!(
                "`{}` comes from {} ({}): dockhard does not edit it there; change it by hand or use --method daemon-json",
                u.evidence.detail, u.evidence.location, u.evidence.source
            )),
        }
    }

    /// Append one word to the ExecStart= in force (in the drop-in, or the
    /// unit with --method unit).
    fn append_word(&mut self, word: &str) -> Result<String, String> {
        let d = self.derive()?;
        let prog = d
            .words
            .first()
            .filter(|w| d.from_unit && w.source == Source::Unit)
            .ok_or("no ExecStart= to add a flag to")?;
        let (path, line, _) = parse_location(&prog.location)
            .ok_or_else(|| format!("{}: cannot locate ExecStart=", prog.location))?;
        let (p, l) = self.exec_target(&path, line)?;
        let text = self.text(&p)?;
        let new = append_exec_word(&text, l, word).ok_or_else(|| {
            format!("{p}:{l}: cannot add `{word}` to this ExecStart=; edit it by hand")
        })?;
        self.put(&p, new)?;
        let after = self.derive()?;
        if !after.words.iter().any(|w| w.text == word) {
            return Err(format!(
                "{p}:{l}: adding `{word}` to ExecStart= did not give the expected command line; edit it by hand"
            ));
        }
        Ok(p)
    }
}

/// A file whose text differs (a file that does not exist and stays empty
/// is not written).
fn changed(old: Option<&str>, new: &str) -> bool {
    match old {
        Some(o) => o != new,
        None => !new.is_empty(),
    }
}

fn json_err(path: &str, e: json_edit::JsonEditError) -> String {
    format!("{path}:{}:{}: {}", e.line, e.column, e.message)
}

/// The daemon.json edit for one change.
pub fn json_apply(text: &str, c: &Change) -> Result<String, json_edit::JsonEditError> {
    use serde_json::Value;
    match c {
        Change::Set { key, value } => json_edit::set_key(text, key, value),
        Change::Unset { key } => json_edit::remove_key(text, key),
        Change::AddToList { key, item } => {
            let mut list = match json_edit::get_key(text, key) {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            if list.iter().any(|v| v.as_str() == Some(item)) {
                return Ok(text.to_string());
            }
            list.push(Value::String(item.clone()));
            json_edit::set_key(text, key, &Value::Array(list))
        }
        Change::SetMapKey { key, inner, value } => {
            json_edit::set_nested(text, key, inner, &Value::String(value.clone()))
        }
        Change::RemoveMapKey { key, inner } => json_edit::remove_nested(text, key, inner),
    }
}

/// The value of an option set by flags, in daemon.json form, merged with
/// what the file already holds (to move flags into the file).
fn moved_value(
    eff: &Effective,
    key: &str,
    kind: options::Kind,
    text: &str,
) -> Option<serde_json::Value> {
    use serde_json::Value;
    match kind {
        options::Kind::List => {
            let mut items: Vec<Value> = match json_edit::get_key(text, key) {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            for (it, _) in options::Key::of(key)
                .map(|k| eff.list(k))
                .unwrap_or_default()
            {
                if !items.iter().any(|v| v.as_str() == Some(&it)) {
                    items.push(Value::String(it));
                }
            }
            Some(Value::Array(items))
        }
        options::Kind::Map => {
            let mut obj = match json_edit::get_key(text, key) {
                Some(Value::Object(o)) => o,
                _ => serde_json::Map::new(),
            };
            for (k, (v, _)) in options::Key::of(key)
                .map(|k| eff.map(k))
                .unwrap_or_default()
            {
                obj.entry(k).or_insert(Value::String(v));
            }
            Some(Value::Object(obj))
        }
        // Scalars: the change sets the new value itself.
        _ => None,
    }
}

/// A JSON scalar as a flag value.
fn json_scalar_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The words of a flag use as written: `["--icc=false"]` or
/// `["--log-opt", "max-size=1m"]`.
fn use_words(u: &FlagUse) -> Vec<String> {
    let d = &u.evidence.detail;
    let flag_word = |w: &str| {
        w == format!("--{}", u.spec.flag) || u.spec.short.is_some_and(|c| w == format!("-{c}"))
    };
    match d.split_once(' ') {
        Some((f, v)) if flag_word(f) && u.spec.kind != options::Kind::Bool => {
            vec![f.to_string(), v.to_string()]
        }
        _ => vec![d.clone()],
    }
}

/// `path:line` or `path:line ($VAR)` / `path:line (${VAR} ...)`.
fn parse_location(loc: &str) -> Option<(String, usize, Option<String>)> {
    let (head, var) = match loc.split_once(" ($") {
        Some((h, rest)) => (h, Some(rest.trim_end_matches(')').to_string())),
        None => (loc, None),
    };
    let (path, line) = head.rsplit_once(':')?;
    Some((path.to_string(), line.parse().ok()?, var))
}

/// Append `word` (written for systemd with [`unit_edit::exec_word`]) at the
/// end of the `ExecStart=` entry covering physical `line`.
pub fn append_exec_word(text: &str, line: usize, word: &str) -> Option<String> {
    let w = unit_edit::exec_word(word).ok()?;
    let parsed = crate::parse::unit::parse_unit(text);
    let entry = parsed.section("Service").find(|e| {
        e.key == "ExecStart" && (e.line == line || e.segments.iter().any(|(_, l)| *l == line))
    })?;
    let last = entry
        .segments
        .iter()
        .map(|(_, l)| *l)
        .max()
        .unwrap_or(entry.line)
        .max(entry.line);
    // Byte offset of the end of physical line `last` (before its newline).
    let mut start = 0usize;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == last {
            let content = l.trim_end_matches('\n').trim_end_matches('\r');
            let end = start + content.len();
            let before = text.get(..end)?;
            let after = text.get(end..)?;
            let sep = if before.ends_with([' ', '\t']) {
                ""
            } else {
                " "
            };
            return Some(format!("{before}{sep}{w}{after}"));
        }
        start += l.len();
    }
    None
}

#[cfg(test)]
mod tests;
