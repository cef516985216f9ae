//! Containers and images of a running daemon, from the Engine API answers
//! recorded in the snapshot (one list call, one inspect per object). Pure.
//!
//! Rules read inspect fields by JSON pointer ([`Container::at`]) and cite
//! them with [`Container::evidence`], so every container finding names the
//! API answer and the field it came from.

use super::{Evidence, Source};
use crate::snapshot::{ApiCall, ApiEvidence, ContainerProcess};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Request path of the container list.
pub const CONTAINERS_LIST: &str = "/containers/json?all=1";
/// Request path of the image list.
pub const IMAGES_LIST: &str = "/images/json";

pub fn container_path(id: &str) -> String {
    format!("/containers/{id}/json")
}
pub fn top_path(id: &str) -> String {
    format!("/containers/{id}/top")
}
pub fn image_path(id: &str) -> String {
    format!("/images/{id}/json")
}
pub fn history_path(id: &str) -> String {
    format!("/images/{id}/history")
}

/// What a per-object verdict is about (the report's `subject`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// `container` or `image`.
    pub kind: String,
    pub id: String,
    /// Container name, or the image's first tag (`<none>` when untagged).
    pub name: String,
    /// The container's image as its creator named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// One container (any state).
#[derive(Debug, Clone, Serialize)]
pub struct Container {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    /// `Config.Image`: the image as the container's creator named it.
    pub image: String,
    /// `State.Status` (`running`, `exited`, `created`, ...).
    pub status: String,
    pub running: bool,
    pub labels: BTreeMap<String, String>,
    /// The whole `GET /containers/ID/json` answer.
    #[serde(skip)]
    pub inspect: Value,
    /// What runs inside (running containers): from /proc, else from
    /// `/containers/ID/top`; `Err` says why it is unknown.
    pub processes: Result<Vec<String>, String>,
    /// Where the process list came from.
    #[serde(skip)]
    pub processes_evidence: Evidence,
}

impl Container {
    /// The first 12 characters of the id, as the docker CLI shows it.
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }

    /// An inspect field by JSON pointer (`/HostConfig/Privileged`).
    pub fn at(&self, pointer: &str) -> Option<&Value> {
        self.inspect.pointer(pointer).filter(|v| !v.is_null())
    }

    pub fn str_at(&self, pointer: &str) -> Option<&str> {
        self.at(pointer).and_then(Value::as_str)
    }

    pub fn bool_at(&self, pointer: &str) -> bool {
        self.at(pointer).and_then(Value::as_bool).unwrap_or(false)
    }

    pub fn i64_at(&self, pointer: &str) -> i64 {
        self.at(pointer).and_then(Value::as_i64).unwrap_or(0)
    }

    /// The strings of an array field (`/HostConfig/CapAdd`); empty when unset.
    pub fn strings_at(&self, pointer: &str) -> Vec<&str> {
        self.at(pointer)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// Evidence for one inspect field: `GET /containers/ID/json`,
    /// `HostConfig.Privileged: true`.
    pub fn evidence(&self, pointer: &str) -> Evidence {
        self.evidence_with(pointer, &field_text(self.inspect.pointer(pointer)))
    }

    /// Evidence for a field with a detail of the rule's own wording.
    pub fn evidence_with(&self, pointer: &str, value: &str) -> Evidence {
        Evidence::new(
            Source::Api,
            format!("GET /containers/{}/json", self.short_id()),
            format!("{}: {value}", dotted(pointer)),
        )
    }

    pub fn subject(&self) -> Subject {
        Subject {
            kind: "container".into(),
            id: self.id.clone(),
            name: self.name.clone(),
            image: Some(self.image.clone()),
        }
    }
}

/// One image.
#[derive(Debug, Clone, Serialize)]
pub struct Image {
    pub id: String,
    pub tags: Vec<String>,
    /// The whole `GET /images/ID/json` answer.
    #[serde(skip)]
    pub inspect: Value,
    /// `CreatedBy` of each layer, oldest first, or why the history is unknown.
    pub history: Result<Vec<String>, String>,
}

impl Image {
    /// `sha256:` stripped, 12 characters.
    pub fn short_id(&self) -> &str {
        let id = self.id.strip_prefix("sha256:").unwrap_or(&self.id);
        id.get(..12).unwrap_or(id)
    }

    pub fn name(&self) -> &str {
        self.tags.first().map(String::as_str).unwrap_or("<none>")
    }

    pub fn at(&self, pointer: &str) -> Option<&Value> {
        self.inspect.pointer(pointer).filter(|v| !v.is_null())
    }

    pub fn evidence(&self, pointer: &str) -> Evidence {
        Evidence::new(
            Source::Api,
            format!("GET /images/{}/json", self.short_id()),
            format!(
                "{}: {}",
                dotted(pointer),
                field_text(self.inspect.pointer(pointer))
            ),
        )
    }

    pub fn history_evidence(&self, detail: impl Into<String>) -> Evidence {
        Evidence::new(
            Source::Api,
            format!("GET /images/{}/history", self.short_id()),
            detail,
        )
    }

    pub fn subject(&self) -> Subject {
        Subject {
            kind: "image".into(),
            id: self.id.clone(),
            name: self.name().to_string(),
            image: None,
        }
    }
}

/// `/HostConfig/CapAdd` -> `HostConfig.CapAdd`.
fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

/// A JSON value as short text: strings bare, `unset` for null or absent,
/// long values cut.
pub fn field_text(v: Option<&Value>) -> String {
    let text = match v {
        None | Some(Value::Null) => return "unset".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    const MAX: usize = 300;
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// The containers and images of one daemon.
#[derive(Debug, Clone, Serialize)]
pub struct Objects {
    /// Every container the list returned and inspect answered for, or why
    /// there is no list.
    pub containers: Result<Vec<Container>, String>,
    pub images: Result<Vec<Image>, String>,
    /// The swarm calls (`/swarm`, `/nodes`, `/networks`, `/services`) made
    /// on a swarm node, by path.
    pub swarm: BTreeMap<String, ApiCall>,
    /// Containers or images that vanished between the list and the inspect,
    /// and other things worth saying.
    pub notes: Vec<String>,
}

impl Objects {
    /// No evidence at all (offline roots, profiles without such rules).
    pub fn missing(why: &str) -> Objects {
        Objects {
            containers: Err(why.to_string()),
            images: Err(why.to_string()),
            swarm: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    /// The body of a swarm call, or why there is none.
    pub fn swarm_call(&self, path: &str) -> Result<&Value, String> {
        body(self.swarm.get(path), &format!("GET {path}"))
    }
}

/// The swarm calls `collect` makes on a node whose swarm is active.
pub const SWARM_PATHS: [&str; 4] = ["/swarm", "/nodes", "/networks", "/services"];

fn body<'a>(call: Option<&'a ApiCall>, what: &str) -> Result<&'a Value, String> {
    match call {
        None => Err(format!("{what} was not collected")),
        Some(c) => match (&c.body, &c.error) {
            (_, Some(e)) => Err(format!("{what}: {e}")),
            (Some(b), None) => Ok(b),
            (None, None) => Err(format!("{what}: no answer")),
        },
    }
}

/// Build the objects from the API evidence of one daemon. `None` for the
/// API: the daemon is not running (nothing to list).
pub fn build(api: &ApiEvidence, procs: &BTreeMap<String, Vec<ContainerProcess>>) -> Objects {
    if let Some(e) = &api.error {
        return Objects::missing(&format!("the Engine API could not be used: {e}"));
    }
    let mut notes = Vec::new();
    let containers = body(api.objects.get(CONTAINERS_LIST), "the container list")
        .and_then(|list| {
            list.as_array()
                .ok_or_else(|| "the container list is not a JSON array".to_string())
        })
        .map(|list| {
            list.iter()
                .filter_map(|entry| {
                    let id = entry.get("Id").and_then(Value::as_str)?;
                    match container(api, procs, id) {
                        Ok(c) => Some(c),
                        Err(why) => {
                            notes.push(why);
                            None
                        }
                    }
                })
                .collect::<Vec<_>>()
        });
    let images = body(api.objects.get(IMAGES_LIST), "the image list")
        .and_then(|list| {
            list.as_array()
                .ok_or_else(|| "the image list is not a JSON array".to_string())
        })
        .map(|list| {
            list.iter()
                .filter_map(|entry| {
                    let id = entry.get("Id").and_then(Value::as_str)?;
                    match image(api, id) {
                        Ok(i) => Some(i),
                        Err(why) => {
                            notes.push(why);
                            None
                        }
                    }
                })
                .collect::<Vec<_>>()
        });
    let swarm = SWARM_PATHS
        .iter()
        .filter_map(|p| Some((p.to_string(), api.objects.get(*p)?.clone())))
        .collect();
    Objects {
        containers,
        images,
        swarm,
        notes,
    }
}

fn container(
    api: &ApiEvidence,
    procs: &BTreeMap<String, Vec<ContainerProcess>>,
    id: &str,
) -> Result<Container, String> {
    let short = id.get(..12).unwrap_or(id);
    let call = api.objects.get(&container_path(id));
    if call.is_some_and(|c| c.status == Some(404)) {
        return Err(format!(
            "container {short} was removed between the list and its inspect"
        ));
    }
    let inspect = body(call, &format!("container {short}"))?.clone();
    if !inspect.is_object() {
        return Err(format!("container {short}: inspect is not a JSON object"));
    }
    let s = |p: &str| {
        inspect
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let running = inspect
        .pointer("/State/Running")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let labels = inspect
        .pointer("/Config/Labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let (processes, processes_evidence) = processes(api, procs, id, short, running);
    Ok(Container {
        id: id.to_string(),
        name: s("/Name").trim_start_matches('/').to_string(),
        image: s("/Config/Image"),
        status: s("/State/Status"),
        running,
        labels,
        inspect,
        processes,
        processes_evidence,
    })
}

/// The commands running in a container: /proc first, then `top`.
fn processes(
    api: &ApiEvidence,
    procs: &BTreeMap<String, Vec<ContainerProcess>>,
    id: &str,
    short: &str,
    running: bool,
) -> (Result<Vec<String>, String>, Evidence) {
    if !running {
        return (
            Ok(Vec::new()),
            Evidence::new(
                Source::Api,
                format!("GET /containers/{short}/json"),
                "State.Running: false",
            ),
        );
    }
    if let Some(list) = procs.get(id) {
        let names = list
            .iter()
            .map(|p| p.argv0.clone().unwrap_or_else(|| p.comm.clone()))
            .collect::<Vec<_>>();
        let detail = list
            .iter()
            .map(|p| format!("{} {}", p.pid, p.comm))
            .collect::<Vec<_>>()
            .join(", ");
        return (
            Ok(names),
            Evidence::new(
                Source::Process,
                "/proc/*/cgroup",
                format!("processes: {detail}"),
            ),
        );
    }
    let location = format!("GET /containers/{short}/top");
    let top = match body(api.objects.get(&top_path(id)), &location) {
        Ok(t) => t,
        Err(e) => return (Err(e), Evidence::new(Source::Api, location, "no answer")),
    };
    // `Titles` names the columns; the command is the CMD (or COMMAND) one.
    let titles: Vec<&str> = top
        .get("Titles")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(col) = titles.iter().position(|t| *t == "CMD" || *t == "COMMAND") else {
        return (
            Err(format!("{location}: no CMD column")),
            Evidence::new(Source::Api, location, "no CMD column"),
        );
    };
    let cmds: Vec<String> = top
        .get("Processes")
        .and_then(Value::as_array)
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r.get(col).and_then(Value::as_str))
                .map(|c| c.split_whitespace().next().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    let detail = format!("processes: {}", cmds.join(", "));
    (Ok(cmds), Evidence::new(Source::Api, location, detail))
}

fn image(api: &ApiEvidence, id: &str) -> Result<Image, String> {
    let short = id.strip_prefix("sha256:").unwrap_or(id);
    let short = short.get(..12).unwrap_or(short);
    let call = api.objects.get(&image_path(id));
    if call.is_some_and(|c| c.status == Some(404)) {
        return Err(format!(
            "image {short} was removed between the list and its inspect"
        ));
    }
    let inspect = body(call, &format!("image {short}"))?.clone();
    let tags = inspect
        .get("RepoTags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "<none>:<none>")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let history = body(
        api.objects.get(&history_path(id)),
        &format!("image {short} history"),
    )
    .and_then(|h| {
        h.as_array()
            .ok_or_else(|| format!("image {short} history is not a JSON array"))
    })
    .map(|layers| {
        // The API lists the newest layer first.
        layers
            .iter()
            .rev()
            .map(|l| {
                l.get("CreatedBy")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    });
    Ok(Image {
        id: id.to_string(),
        tags,
        inspect,
        history,
    })
}

/// Containers left out of the audit: by name (or id prefix) pattern, or by
/// label; images by tag (or id prefix) pattern.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exclusions {
    /// Glob patterns (`*`, `?`) matched against the name; a pattern of hex
    /// digits also matches an id prefix.
    pub names: Vec<String>,
    /// `KEY` (any value) or `KEY=VALUE`.
    pub labels: Vec<String>,
    /// Glob patterns matched against each tag of an image (`nginx:*`); a
    /// pattern of hex digits also matches an id prefix (without `sha256:`).
    pub images: Vec<String>,
}

impl Exclusions {
    /// Why `c` is excluded, if it is.
    pub fn reason(&self, c: &Container) -> Option<String> {
        for p in &self.names {
            if glob(p, &c.name) {
                return Some(format!("name matches {p:?}"));
            }
            if p.len() >= 4
                && p.chars().all(|ch| ch.is_ascii_hexdigit())
                && c.id.starts_with(p.as_str())
            {
                return Some(format!("id starts with {p}"));
            }
        }
        for l in &self.labels {
            let hit = match l.split_once('=') {
                Some((k, v)) => c.labels.get(k).is_some_and(|x| x == v),
                None => c.labels.contains_key(l.as_str()),
            };
            if hit {
                return Some(format!("label {l}"));
            }
        }
        None
    }

    /// Why image `i` is excluded, if it is.
    pub fn image_reason(&self, i: &Image) -> Option<String> {
        let id = i.id.strip_prefix("sha256:").unwrap_or(&i.id);
        for p in &self.images {
            if let Some(t) = i.tags.iter().find(|t| glob(p, t)) {
                return Some(format!("tag {t} matches {p:?}"));
            }
            if p.len() >= 4
                && p.chars().all(|ch| ch.is_ascii_hexdigit())
                && id.starts_with(p.as_str())
            {
                return Some(format!("id starts with {p}"));
            }
        }
        None
    }

    /// These exclusions and `other`'s.
    pub fn merged(&self, other: &Exclusions) -> Exclusions {
        let join = |a: &[String], b: &[String]| a.iter().chain(b).cloned().collect();
        Exclusions {
            names: join(&self.names, &other.names),
            labels: join(&self.labels, &other.labels),
            images: join(&self.images, &other.images),
        }
    }
}

/// Shell-style glob with `*` and `?` (no classes), over characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(v: Value) -> ApiCall {
        ApiCall {
            status: Some(200),
            body: Some(v),
            error: None,
        }
    }

    fn api_with(containers: &[(&str, Value)]) -> ApiEvidence {
        let mut api = ApiEvidence::default();
        let list: Vec<Value> = containers.iter().map(|(id, _)| json!({"Id": id})).collect();
        api.objects
            .insert(CONTAINERS_LIST.into(), call(Value::Array(list)));
        api.objects.insert(IMAGES_LIST.into(), call(json!([])));
        for (id, v) in containers {
            api.objects.insert(container_path(id), call(v.clone()));
        }
        api
    }

    #[test]
    fn containers_from_list_and_inspect() {
        let mut api = api_with(&[
            (
                "aaaaaaaaaaaaaaaa",
                json!({"Name": "/web", "Config": {"Image": "busybox", "Labels": {"tier": "front"}},
                       "State": {"Status": "running", "Running": true},
                       "HostConfig": {"Privileged": true, "CapAdd": ["NET_ADMIN"]}}),
            ),
            ("bbbbbbbbbbbbbbbb", json!({})),
        ]);
        api.objects.insert(
            container_path("bbbbbbbbbbbbbbbb"),
            ApiCall {
                status: Some(404),
                body: Some(json!({"message": "No such container"})),
                error: Some("HTTP 404: No such container".into()),
            },
        );
        api.objects.insert(
            top_path("aaaaaaaaaaaaaaaa"),
            call(json!({"Titles": ["UID", "PID", "CMD"], "Processes": [["root", "1", "/usr/sbin/sshd -D"]]})),
        );
        let o = build(&api, &BTreeMap::new());
        let cs = o.containers.unwrap();
        assert_eq!(cs.len(), 1);
        let c = &cs[0];
        assert_eq!(
            (c.name.as_str(), c.image.as_str(), c.running),
            ("web", "busybox", true)
        );
        assert!(c.bool_at("/HostConfig/Privileged"));
        assert_eq!(c.strings_at("/HostConfig/CapAdd"), ["NET_ADMIN"]);
        assert_eq!(c.processes.as_deref().unwrap(), ["/usr/sbin/sshd"]);
        let e = c.evidence("/HostConfig/Privileged");
        assert_eq!(e.location, "GET /containers/aaaaaaaaaaaa/json");
        assert_eq!(e.detail, "HostConfig.Privileged: true");
        assert_eq!(
            c.evidence("/HostConfig/Nope").detail,
            "HostConfig.Nope: unset"
        );
        assert_eq!(
            o.notes,
            ["container bbbbbbbbbbbb was removed between the list and its inspect"]
        );
        assert_eq!(o.images.unwrap().len(), 0);
    }

    #[test]
    fn processes_from_proc_win_over_top() {
        let api = api_with(&[("cccccccccccccccc", json!({"State": {"Running": true}}))]);
        let mut procs = BTreeMap::new();
        procs.insert(
            "cccccccccccccccc".to_string(),
            vec![ContainerProcess {
                pid: 7,
                comm: "sleep".into(),
                argv0: Some("/bin/sleep".into()),
            }],
        );
        let c = build(&api, &procs).containers.unwrap().remove(0);
        assert_eq!(c.processes.unwrap(), ["/bin/sleep"]);
        assert_eq!(c.processes_evidence.detail, "processes: 7 sleep");
        // Without either, the processes are unknown, not empty.
        let c = build(&api, &BTreeMap::new()).containers.unwrap().remove(0);
        assert!(c.processes.unwrap_err().contains("was not collected"));
    }

    #[test]
    fn missing_lists_are_errors_not_empty() {
        let o = build(&ApiEvidence::default(), &BTreeMap::new());
        assert_eq!(
            o.containers.unwrap_err(),
            "the container list was not collected"
        );
        let api = ApiEvidence {
            error: Some("socket not found".into()),
            ..ApiEvidence::default()
        };
        assert!(
            build(&api, &BTreeMap::new())
                .images
                .unwrap_err()
                .contains("socket not found")
        );
    }

    #[test]
    fn image_history_oldest_first() {
        let mut api = ApiEvidence::default();
        api.objects.insert(CONTAINERS_LIST.into(), call(json!([])));
        api.objects.insert(
            IMAGES_LIST.into(),
            call(json!([{"Id": "sha256:0123456789abcdef"}])),
        );
        api.objects.insert(
            image_path("sha256:0123456789abcdef"),
            call(json!({"RepoTags": ["app:1"], "Config": {"User": ""}})),
        );
        api.objects.insert(
            history_path("sha256:0123456789abcdef"),
            call(json!([{"CreatedBy": "RUN apt-get update"}, {"CreatedBy": "ADD file:x in /"}])),
        );
        let i = build(&api, &BTreeMap::new()).images.unwrap().remove(0);
        assert_eq!(i.name(), "app:1");
        assert_eq!(i.short_id(), "0123456789ab");
        assert_eq!(
            i.history.unwrap(),
            ["ADD file:x in /", "RUN apt-get update"]
        );
    }

    #[test]
    fn exclusions() {
        let api = api_with(&[(
            "deadbeef00000000",
            json!({"Name": "/ci-runner-3", "Config": {"Labels": {"dockhard.skip": "yes"}}}),
        )]);
        let c = build(&api, &BTreeMap::new()).containers.unwrap().remove(0);
        let ex = |names: &[&str], labels: &[&str]| {
            Exclusions {
                names: names.iter().map(|s| s.to_string()).collect(),
                labels: labels.iter().map(|s| s.to_string()).collect(),
                images: vec![],
            }
            .reason(&c)
        };
        assert!(ex(&["ci-*"], &[]).is_some());
        assert!(ex(&["ci-runner-?"], &[]).is_some());
        assert!(ex(&["web*"], &[]).is_none());
        assert!(ex(&["deadbeef"], &[]).is_some());
        assert!(ex(&[], &["dockhard.skip"]).is_some());
        assert!(ex(&[], &["dockhard.skip=yes"]).is_some());
        assert!(ex(&[], &["dockhard.skip=no"]).is_none());
    }

    proptest::proptest! {
        #[test]
        fn glob_star_matches_everything(s in ".{0,40}") {
            proptest::prop_assert!(glob("*", &s));
            proptest::prop_assert!(glob(&s.replace(['*', '?'], "x"), &s.replace(['*', '?'], "x")));
        }
    }
}
