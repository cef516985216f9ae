//! Placing changes: for each option change, the file and the edit (a
//! daemon.json key, a drop-in replacing `ExecStart=`, the unit's own
//! `ExecStart=`, an EnvironmentFile assignment), worked on the would-be
//! files of one plan ([`Work`]).

use super::{FileWrite, Method, Placed, with_writes};
use crate::fix::json_edit;
use crate::fix::unit_edit::{self, DROPIN_NAME, WordEdit};
use crate::model::config::argv::{FlagUse, parse_args, parse_bool};
use crate::model::config::{Effective, options};
use crate::model::daemon::{self, DaemonModel};
use crate::model::{ArgWord, Source};
use crate::rules::remedy::{Change, FixSpec};
use crate::snapshot::Snapshot;
use std::collections::BTreeMap;

/// The files being edited, and how to see the configuration they make.
pub(super) struct Work<'a> {
    snap: &'a Snapshot,
    index: usize,
    method: Method,
    /// path -> (original text or None when absent, current text)
    files: BTreeMap<String, (Option<String>, String)>,
}

/// The next start, as the current edits make it.
pub(super) struct Derived {
    model: DaemonModel,
    eff: Effective,
    /// The command line and whether it comes from a unit (editable).
    words: Vec<ArgWord>,
    from_unit: bool,
}

impl<'a> Work<'a> {
    pub(super) fn new(snap: &'a Snapshot, index: usize, method: Method) -> Self {
        Work {
            snap,
            index,
            method,
            files: BTreeMap::new(),
        }
    }

    pub(super) fn writes(&self) -> Vec<FileWrite> {
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
    pub(super) fn place_all(&mut self, spec: &FixSpec) -> Result<Vec<Placed>, String> {
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
pub(super) fn changed(old: Option<&str>, new: &str) -> bool {
    match old {
        Some(o) => o != new,
        None => !new.is_empty(),
    }
}

pub(super) fn json_err(path: &str, e: json_edit::JsonEditError) -> String {
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
pub(super) fn moved_value(
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
pub(super) fn json_scalar_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The words of a flag use as written: `["--icc=false"]` or
/// `["--log-opt", "max-size=1m"]`.
pub(super) fn use_words(u: &FlagUse) -> Vec<String> {
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
pub(super) fn parse_location(loc: &str) -> Option<(String, usize, Option<String>)> {
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
