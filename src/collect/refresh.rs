//! Incremental collection for `dockhard watch`: what Engine API events
//! changed, read again into the last snapshot instead of collecting it all.
//! A container costs one inspect (and, for a running one whose processes
//! this /proc cannot show, one `top`); images cost the image list and one
//! inspect and one history per image that appeared. Everything else in the
//! snapshot (files, processes, probes, `/info`) is kept: the events that
//! change those cause a full collection.

use super::api;
use super::http::{self, Endpoint};
use super::procfs::Proc;
use super::{CollectOptions, now};
use crate::model::objects::{
    CONTAINERS_LIST, IMAGES_LIST, container_path, history_path, image_path, top_path,
};
use crate::snapshot::{ApiCall, ApiEvidence, Snapshot};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What changed on one daemon since the last collection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// Containers created, started, updated, renamed, stopped or destroyed
    /// (ids, as the events name them).
    pub containers: BTreeSet<String>,
    /// An image was pulled, tagged, untagged or deleted.
    pub images: bool,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && !self.images
    }
}

/// Apply `change` of the daemon whose API endpoint is `endpoint` (its
/// `api.endpoint` in the snapshot) to `snap`. Returns the number of API
/// calls made, or why the change could not be read (the caller then
/// collects everything again).
pub fn refresh(
    snap: &mut Snapshot,
    endpoint: &str,
    change: &Change,
    opts: &CollectOptions,
) -> Result<usize, String> {
    let Some(d) = snap
        .daemons
        .iter_mut()
        .find(|d| d.api.endpoint.as_deref() == Some(endpoint) && d.api.error.is_none())
    else {
        return Err(format!(
            "{endpoint}: no daemon of the last audit answers there"
        ));
    };
    if !d.api.objects.contains_key(CONTAINERS_LIST) {
        // Objects were not collected (a daemon-only profile): nothing of
        // theirs is audited, nothing to read.
        return Ok(0);
    }
    let env = |k: &str| std::env::var(k).ok();
    let ep = http::parse_endpoint(opts.host.as_deref().unwrap_or(endpoint), &env)?;
    let mut calls = 0;
    for id in &change.containers {
        calls += container(&mut d.api, &ep, id, opts)?;
    }
    if change.images {
        calls += images(&mut d.api, &ep, opts)?;
    }
    let (unix, text) = now();
    snap.collected_unix = Some(unix);
    snap.collected_at = Some(text);
    Ok(calls)
}

/// Read one container again: its inspect replaces the old one (or, on 404,
/// the container and all its evidence leave the snapshot).
fn container(
    ev: &mut ApiEvidence,
    ep: &Endpoint,
    id: &str,
    opts: &CollectOptions,
) -> Result<usize, String> {
    if !api::is_object_id(id) {
        return Ok(0);
    }
    let version = ev.negotiated.clone();
    let answer = api::call_as(ep, version.as_deref(), &container_path(id), opts.timeout);
    let mut calls = 1;
    let full_id = match answer.status {
        Some(404) => {
            forget_container(ev, id);
            return Ok(calls);
        }
        Some(200) if answer.error.is_none() => answer
            .body
            .as_ref()
            .and_then(|b| b.get("Id"))
            .and_then(Value::as_str)
            .filter(|i| api::is_object_id(i))
            .map(str::to_string)
            .ok_or_else(|| format!("GET {}: the answer has no container Id", container_path(id)))?,
        _ => {
            return Err(format!(
                "GET {}: {}",
                container_path(id),
                answer.error.as_deref().unwrap_or("no answer")
            ));
        }
    };
    let running = answer
        .body
        .as_ref()
        .and_then(|b| b.pointer("/State/Running"))
        .and_then(Value::as_bool)
        == Some(true);
    let pid = answer
        .body
        .as_ref()
        .and_then(|b| b.pointer("/State/Pid"))
        .and_then(Value::as_u64)
        .and_then(|p| u32::try_from(p).ok())
        .filter(|p| *p > 0);
    // The list: the container first (the engine lists the newest first).
    let entry = serde_json::json!({ "Id": full_id });
    let list = ev
        .objects
        .get_mut(CONTAINERS_LIST)
        .and_then(|c| c.body.as_mut())
        .and_then(Value::as_array_mut)
        .ok_or_else(|| "the container list of the last audit is missing".to_string())?;
    if !list
        .iter()
        .any(|e| e.get("Id").and_then(Value::as_str) == Some(full_id.as_str()))
    {
        list.insert(0, entry);
    }
    ev.objects.insert(container_path(&full_id), answer);
    ev.container_processes.remove(&full_id);
    ev.objects.remove(&top_path(&full_id));
    if running {
        match pid.and_then(|p| Proc::default().processes_of_container(&full_id, p)) {
            Some(procs) if !procs.is_empty() => {
                ev.container_processes.insert(full_id, procs);
            }
            _ => {
                let top = top_path(&full_id);
                let answer = api::call_as(ep, version.as_deref(), &top, opts.timeout);
                calls += 1;
                ev.objects.insert(top, answer);
            }
        }
    }
    Ok(calls)
}

/// A destroyed container: out of the list, its inspect, top and processes.
fn forget_container(ev: &mut ApiEvidence, id: &str) {
    let matches = |full: &str| full == id || (id.len() >= 12 && full.starts_with(id));
    let mut gone = Vec::new();
    if let Some(list) = ev
        .objects
        .get_mut(CONTAINERS_LIST)
        .and_then(|c| c.body.as_mut())
        .and_then(Value::as_array_mut)
    {
        list.retain(|e| match e.get("Id").and_then(Value::as_str) {
            Some(full) if matches(full) => {
                gone.push(full.to_string());
                false
            }
            _ => true,
        });
    }
    gone.push(id.to_string());
    for full in gone {
        ev.objects.remove(&container_path(&full));
        ev.objects.remove(&top_path(&full));
        ev.container_processes.remove(&full);
    }
}

/// The image list again; an inspect and a history for each image that was
/// not there before; the evidence of images gone is dropped.
fn images(ev: &mut ApiEvidence, ep: &Endpoint, opts: &CollectOptions) -> Result<usize, String> {
    let version = ev.negotiated.clone();
    let list = api::call_as(ep, version.as_deref(), IMAGES_LIST, opts.timeout);
    if list.status != Some(200) || list.error.is_some() {
        return Err(format!(
            "GET {IMAGES_LIST}: {}",
            list.error.as_deref().unwrap_or("no answer")
        ));
    }
    // Each image by id with its list entry (tags, size): an image whose
    // entry changed (tagged, untagged) is inspected again, as a new one is.
    let entries = |c: Option<&ApiCall>| -> BTreeMap<String, Value> {
        c.and_then(|c| c.body.as_ref())
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let id = e.get("Id").and_then(Value::as_str)?;
                api::is_object_id(id).then(|| (id.to_string(), e.clone()))
            })
            .collect()
    };
    let before = entries(ev.objects.get(IMAGES_LIST));
    let after = entries(Some(&list));
    for gone in before.keys().filter(|id| !after.contains_key(*id)) {
        ev.objects.remove(&image_path(gone));
        ev.objects.remove(&history_path(gone));
    }
    let paths: Vec<String> = after
        .iter()
        .filter(|(id, e)| before.get(*id) != Some(*e))
        .flat_map(|(id, _)| [image_path(id), history_path(id)])
        .collect();
    let calls = 1 + paths.len();
    let answers: Vec<(String, ApiCall)> =
        api::call_all(ep, version.as_deref(), &paths, opts.timeout, None)
            .into_iter()
            .collect();
    ev.objects.insert(IMAGES_LIST.to_string(), list);
    ev.objects.extend(answers);
    Ok(calls)
}
