//! Engine API calls: `GET /version`, `/info`, `/networks/bridge`.

use super::http::{self, Endpoint};
use crate::snapshot::{ApiCall, ApiEvidence, DaemonEvidence};
use std::path::PathBuf;
use std::time::Duration;

/// The default socket when nothing better is known.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// The unix socket path of a daemon that most likely serves the API: a
/// `docker.sock`, else a listener outside dockerd's own runtime directories
/// (libnetwork, metrics and plugin sockets), else the first.
pub fn api_socket(d: &DaemonEvidence) -> Option<&str> {
    let paths: Vec<&str> = d
        .unix_listeners
        .iter()
        .map(String::as_str)
        .filter(|p| p.starts_with('/'))
        .collect();
    paths
        .iter()
        .find(|p| p.ends_with("/docker.sock"))
        .or_else(|| {
            paths.iter().find(|p| {
                !p.contains("/libnetwork/") && !p.contains("/plugins/") && !p.contains("metrics")
            })
        })
        .or_else(|| paths.first())
        .copied()
}

/// Choose the endpoint: `--host`, else the daemon's API socket, else the
/// default socket.
pub fn choose_endpoint(
    host: Option<&str>,
    daemon: Option<&DaemonEvidence>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Endpoint, String> {
    if let Some(h) = host {
        return http::parse_endpoint(h, env);
    }
    let path = daemon
        .and_then(api_socket)
        .unwrap_or(DEFAULT_SOCKET)
        .to_string();
    Ok(Endpoint::Unix(PathBuf::from(path)))
}

/// Deepest nesting accepted in an API answer. Engine API answers nest
/// less than 10 levels; the snapshot puts an answer 7 levels deep, and a
/// snapshot is read back (`check --snapshot`) only up to serde_json's 128.
pub const MAX_BODY_DEPTH: usize = 64;

/// Largest answer accepted for a single object (`/version`, `/info`,
/// `/networks/bridge`, one inspect): 8 MiB and [`MAX_VALUES`] JSON values.
pub const MAX_ANSWER_BYTES: usize = 8 << 20;
/// Most JSON values (and object keys) in a single object's answer: parsed,
/// a value takes 40 to 90 bytes, so a small hostile answer (`[0,0,0,...]`,
/// two bytes a value) cannot make dockhard allocate 30 times its size.
/// `/networks/bridge` with 20,000 containers has about 220,000.
pub const MAX_VALUES: usize = 300_000;
/// The same for the lists of containers, images and swarm objects, which
/// grow with the host: 20,000 containers list some 30 MB and 2.4 million
/// values ([`http::MAX_BODY_BYTES`] is their byte limit).
pub const MAX_LIST_VALUES: usize = 4_000_000;

/// The byte and value limits of the answer to `path`.
fn limits_for(path: &str) -> (http::Limits, usize) {
    use crate::model::objects::{CONTAINERS_LIST, IMAGES_LIST, SWARM_PATHS};
    let list = path == CONTAINERS_LIST
        || path == IMAGES_LIST
        || (SWARM_PATHS.contains(&path) && path != "/swarm");
    let max_body = if list {
        http::MAX_BODY_BYTES
    } else {
        MAX_ANSWER_BYTES
    };
    let limits = http::Limits {
        max_body,
        ..http::Limits::default()
    };
    (limits, if list { MAX_LIST_VALUES } else { MAX_VALUES })
}

/// What one pass over a JSON text tells before it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Values and keys, counted as the `[`, `{`, `,` and `:` outside strings
    /// (a bound, exact for non-empty containers), up to `max + 1`.
    pub values: usize,
    /// Deepest nesting of `[` and `{` (a scalar is 0, `[]` is 1), as far as
    /// the count went.
    pub depth: usize,
}

/// Scan `body` once, stopping as soon as it has more than `max` values, so
/// that nothing is allocated for a hostile answer's values.
pub fn shape(body: &[u8], max: usize) -> Shape {
    let (mut n, mut depth, mut deepest) = (0usize, 0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'[' | b'{' | b',' | b':' => {
                if matches!(b, b'[' | b'{') {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                n += 1;
                if n > max {
                    break;
                }
            }
            _ => {}
        }
    }
    Shape {
        values: n,
        depth: deepest,
    }
}

/// The newest Engine API version this client knows (Docker Engine 29.x).
pub const CLIENT_API_VERSION: (u16, u16) = (1, 55);

/// An API version `1.47` as numbers (only to compare); `None` if it is
/// not `DIGITS.DIGITS`.
fn api_version(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('.')?;
    let num = |t: &str| {
        (!t.is_empty() && t.len() <= 4 && t.bytes().all(|c| c.is_ascii_digit()))
            .then(|| t.parse::<u16>().ok())
            .flatten()
    };
    Some((num(a)?, num(b)?))
}

/// The API version to call a daemon with, from its `/version` answer:
/// the older of its `ApiVersion` and [`CLIENT_API_VERSION`], never below
/// its `MinAPIVersion` (29.0-29.2 refuse anything older than 1.44). `None`
/// (unversioned calls) when `ApiVersion` is missing or malformed.
pub fn negotiate(version_body: &serde_json::Value) -> Option<String> {
    let field = |k: &str| {
        version_body
            .get(k)
            .and_then(|v| v.as_str())
            .and_then(api_version)
    };
    let server = field("ApiVersion")?;
    let mut v = server.min(CLIENT_API_VERSION);
    if let Some(min) = field("MinAPIVersion")
        && min > v
        && min <= server
    {
        v = min;
    }
    Some(format!("{}.{}", v.0, v.1))
}

/// The request path of `path` with API version `version` (`/v1.47/info`).
fn versioned(version: Option<&str>, path: &str) -> String {
    match version {
        Some(v) => format!("/v{v}{path}"),
        None => path.to_string(),
    }
}

/// One call: status and JSON body, or why there is none.
pub fn call(ep: &Endpoint, path: &str, timeout: Duration) -> ApiCall {
    call_as(ep, None, path, timeout)
}

/// One call with API version `version` (unversioned with `None`). Limits
/// and redaction go by the unversioned `path`.
pub fn call_as(ep: &Endpoint, version: Option<&str>, path: &str, timeout: Duration) -> ApiCall {
    let (limits, max_values) = limits_for(path);
    match http::get_with_limits(ep, &versioned(version, path), timeout, limits) {
        Ok(r) => {
            let mut c = ApiCall {
                status: Some(r.status),
                ..ApiCall::default()
            };
            let shape = shape(&r.body, max_values);
            if shape.values > max_values {
                c.error = Some(format!(
                    "HTTP {}: the response has more than {max_values} JSON values",
                    r.status
                ));
                return c;
            }
            match serde_json::from_slice::<serde_json::Value>(&r.body) {
                Ok(_) if shape.depth > MAX_BODY_DEPTH => {
                    c.error = Some(format!(
                        "HTTP {}: the response nests deeper than {MAX_BODY_DEPTH} levels",
                        r.status
                    ));
                }
                Ok(mut v) if (200..300).contains(&r.status) => {
                    crate::redact::api_body(path, &mut v);
                    c.body = Some(v)
                }
                Ok(v) => {
                    let msg = v
                        .get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    c.error = Some(format!("HTTP {}: {msg}", r.status));
                    c.body = Some(v);
                }
                Err(e) => {
                    c.error = Some(if (200..300).contains(&r.status) {
                        format!("invalid JSON in the response: {e}")
                    } else {
                        let text: String =
                            String::from_utf8_lossy(&r.body).chars().take(200).collect();
                        format!("HTTP {}: {}", r.status, text.trim())
                    })
                }
            }
            c
        }
        Err(e) => ApiCall {
            error: Some(e),
            ..ApiCall::default()
        },
    }
}

/// The calls on one endpoint: `/version` first (if it cannot even connect,
/// nothing else is tried and `error` says why), then `/info` and
/// `/networks/bridge` concurrently. With `objects`, the container and image
/// lists come first, then `/info` goes with one inspect per container and
/// one inspect and one history per image (dockerd takes long over `/info`
/// on a busy host: the inspects fill that time), then the swarm calls on
/// an active swarm node; all over [`WORKERS`] connections. The calls after
/// `/version` (unversioned: every engine answers it) use the API version
/// [`negotiate`]d from its answer (`GET /v1.47/info`), recorded in
/// `negotiated`; they stay unversioned when it gives none.
pub fn gather(
    ep: &Endpoint,
    timeout: Duration,
    objects: bool,
    progress: bool,
) -> (ApiEvidence, Vec<String>) {
    use crate::model::objects::{
        CONTAINERS_LIST, IMAGES_LIST, container_path, history_path, image_path,
    };
    let mut ev = ApiEvidence {
        endpoint: Some(ep.url()),
        ..ApiEvidence::default()
    };
    let version = call(ep, "/version", timeout);
    if version.status.is_none() {
        ev.error = version
            .error
            .as_ref()
            .map(|e| format!("{}: GET /version: {e}", ep.url()));
        ev.version = Some(version);
        return (ev, Vec::new());
    }
    ev.negotiated = version
        .body
        .as_ref()
        .filter(|_| version.error.is_none())
        .and_then(negotiate);
    ev.version = Some(version);
    let api = ev.negotiated.clone();
    let api = api.as_deref();
    let mut notes = Vec::new();
    let mut paths = vec!["/info".to_string()];
    if !objects {
        paths.push("/networks/bridge".into());
    } else {
        let lists = [CONTAINERS_LIST, IMAGES_LIST, "/networks/bridge"].map(String::from);
        ev.objects.extend(call_all(ep, api, &lists, timeout, None));
        ev.bridge_network = ev.objects.remove("/networks/bridge");
        let mut cids = list_ids(ev.objects.get(CONTAINERS_LIST));
        let mut iids = list_ids(ev.objects.get(IMAGES_LIST));
        for (what, list) in [("containers", &mut cids), ("images", &mut iids)] {
            if list.len() > MAX_OBJECTS {
                notes.push(format!(
                    "{} {what}: only the first {MAX_OBJECTS} were inspected",
                    list.len()
                ));
                list.truncate(MAX_OBJECTS);
            }
        }
        paths.extend(cids.iter().map(|id| container_path(id)));
        for id in &iids {
            paths.push(image_path(id));
            paths.push(history_path(id));
        }
    }
    // A bar only where it helps: a terminal and enough objects to wait for.
    let bar = (progress && paths.len() >= PROGRESS_MIN).then(|| {
        let b = indicatif::ProgressBar::with_draw_target(
            Some(paths.len() as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "inspecting {pos}/{len} containers and images {bar:30}",
        ) {
            b.set_style(style);
        }
        b
    });
    let mut answers = call_all(ep, api, &paths, timeout, bar.as_ref());
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    ev.info = answers.remove("/info");
    if let Some(b) = answers.remove("/networks/bridge") {
        ev.bridge_network = Some(b);
    }
    ev.objects.extend(answers);
    if objects && swarm_active(&ev) {
        let swarm = crate::model::objects::SWARM_PATHS.map(String::from);
        ev.objects.extend(call_all(ep, api, &swarm, timeout, None));
    }
    (ev, notes)
}

/// Most containers (and images) inspected in one collection; the rest are
/// named in a note.
pub const MAX_OBJECTS: usize = 20_000;
/// Concurrent connections used for the per-object calls.
pub const WORKERS: usize = 4;
/// Fewest per-object calls that show a progress bar.
pub const PROGRESS_MIN: usize = 100;

/// `top` of every running container whose processes `visible` does not
/// know (not in our /proc).
pub fn gather_tops(
    ep: &Endpoint,
    timeout: Duration,
    ev: &mut ApiEvidence,
    visible: &dyn Fn(&str) -> bool,
) {
    use crate::model::objects::{CONTAINERS_LIST, container_path, top_path};
    let tops: Vec<String> = list_ids(ev.objects.get(CONTAINERS_LIST))
        .into_iter()
        .filter(|id| {
            !visible(id)
                && ev.objects.get(&container_path(id)).is_some_and(|c| {
                    c.body.as_ref().is_some_and(|b| {
                        b.pointer("/State/Running").and_then(|r| r.as_bool()) == Some(true)
                    })
                })
        })
        .map(|id| top_path(&id))
        .collect();
    let api = ev.negotiated.clone();
    ev.objects
        .extend(call_all(ep, api.as_deref(), &tops, timeout, None));
}

/// The object ids of a list answer (only well-formed ones).
pub(crate) fn list_ids(call: Option<&ApiCall>) -> Vec<String> {
    call.and_then(|c| c.body.as_ref())
        .and_then(|b| b.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|e| e.get("Id").and_then(|i| i.as_str()))
                .filter(|id| is_object_id(id))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Container and image ids are hex (images with a `sha256:` prefix): never
/// a path segment that could change the request.
pub(crate) fn is_object_id(id: &str) -> bool {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    !hex.is_empty() && hex.len() <= 128 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

fn swarm_active(ev: &ApiEvidence) -> bool {
    ev.info
        .as_ref()
        .and_then(|i| i.body.as_ref())
        .and_then(|b| b.pointer("/Swarm/LocalNodeState"))
        .and_then(|s| s.as_str())
        == Some("active")
}

/// GET every path (with API version `version`), [`WORKERS`] at a time;
/// the answers are keyed by the unversioned path.
pub fn call_all(
    ep: &Endpoint,
    version: Option<&str>,
    paths: &[String],
    timeout: Duration,
    bar: Option<&indicatif::ProgressBar>,
) -> std::collections::BTreeMap<String, ApiCall> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let out = Mutex::new(std::collections::BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS.min(paths.len()) {
            s.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = paths.get(i) else { break };
                    mine.push((p.clone(), call_as(ep, version, p, timeout)));
                    if let Some(b) = bar {
                        b.inc(1);
                    }
                }
                if let Ok(mut m) = out.lock() {
                    m.extend(mine);
                }
            });
        }
    });
    out.into_inner().unwrap_or_default()
}

/// The daemon version from a `/version` answer.
pub fn version_string(api: &ApiEvidence) -> Option<&str> {
    api.version
        .as_ref()?
        .body
        .as_ref()?
        .get("Version")?
        .as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;
    use std::thread;

    #[test]
    fn socket_choice() {
        let d = DaemonEvidence {
            unix_listeners: vec![
                "/run/docker/libnetwork/abc.sock".into(),
                "/run/user/1000/docker.sock".into(),
            ],
            ..DaemonEvidence::default()
        };
        assert_eq!(api_socket(&d), Some("/run/user/1000/docker.sock"));
        let d = DaemonEvidence {
            unix_listeners: vec![
                "/run/docker/libnetwork/abc.sock".into(),
                "/srv/api.sock".into(),
            ],
            ..DaemonEvidence::default()
        };
        assert_eq!(api_socket(&d), Some("/srv/api.sock"));
        assert_eq!(api_socket(&DaemonEvidence::default()), None);
        let none = |_: &str| None;
        assert_eq!(
            choose_endpoint(None, None, &none),
            Ok(Endpoint::Unix(DEFAULT_SOCKET.into()))
        );
        assert_eq!(
            choose_endpoint(Some("tcp://127.0.0.1:1"), Some(&d), &none)
                .unwrap()
                .url(),
            "tcp://127.0.0.1:1"
        );
    }

    #[test]
    fn gather_from_fake_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("docker.sock");
        let l = UnixListener::bind(&p).unwrap();
        let h = thread::spawn(move || {
            for _ in 0..3 {
                let (mut s, _) = l.accept().unwrap();
                let mut buf = [0u8; 4096];
                let n = s.read(&mut buf).unwrap();
                let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                let (status, body) = if req.starts_with("GET /version ") {
                    ("200 OK", r#"{"Version":"20.10.24","ApiVersion":"1.41"}"#)
                } else if req.starts_with("GET /v1.41/info ") {
                    ("200 OK", r#"{"LiveRestoreEnabled":false}"#)
                } else {
                    ("404 Not Found", r#"{"message":"network bridge not found"}"#)
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                s.write_all(resp.as_bytes()).unwrap();
            }
        });
        let ep = Endpoint::Unix(p.clone());
        let (ev, _) = gather(&ep, Duration::from_secs(5), false, false);
        h.join().unwrap();
        assert_eq!(
            ev.endpoint.as_deref(),
            Some(format!("unix://{}", p.display()).as_str())
        );
        assert_eq!(version_string(&ev), Some("20.10.24"));
        assert_eq!(ev.negotiated.as_deref(), Some("1.41"));
        assert_eq!(ev.info.as_ref().unwrap().status, Some(200));
        let b = ev.bridge_network.as_ref().unwrap();
        assert_eq!(b.status, Some(404));
        assert_eq!(
            b.error.as_deref(),
            Some("HTTP 404: network bridge not found")
        );
        assert!(ev.error.is_none());
    }

    #[test]
    fn negotiation() {
        let v = |api: &str, min: &str| {
            negotiate(&serde_json::json!({"ApiVersion": api, "MinAPIVersion": min}))
        };
        assert_eq!(v("1.41", "1.12").as_deref(), Some("1.41"));
        assert_eq!(v("1.51", "1.24").as_deref(), Some("1.51"));
        assert_eq!(v("1.60", "1.44").as_deref(), Some("1.55"));
        // Newer than this client and refusing it: the server's minimum.
        assert_eq!(v("1.70", "1.60").as_deref(), Some("1.60"));
        assert_eq!(v("1.52", "x").as_deref(), Some("1.52"));
        // A minimum above the server's own version is not believed.
        assert_eq!(v("1.41", "1.44").as_deref(), Some("1.41"));
        assert_eq!(v("", "1.12"), None);
        assert_eq!(v("1.4a", "1.12"), None);
        assert_eq!(v("99999.1", "1.12"), None);
        assert_eq!(negotiate(&serde_json::json!({"ApiVersion": 1.41})), None);
        assert_eq!(negotiate(&serde_json::json!([])), None);
        assert_eq!(api_version("1.9"), Some((1, 9)));
        assert!(api_version("1.10") > api_version("1.9"));
    }

    proptest::proptest! {
        #[test]
        fn negotiation_never_panics(api in "\\PC{0,12}", min in "\\PC{0,12}") {
            let _ = negotiate(&serde_json::json!({"ApiVersion": api, "MinAPIVersion": min}));
        }
    }

    /// A 29.0-like engine refuses any API version below 1.44, and
    /// unversioned calls but `/version` are answered as the newest.
    #[test]
    fn a_29_engine_gets_versioned_calls() {
        let a = "a".repeat(64);
        let refuse = r#"{"message":"client version 1.41 is too old. Minimum supported API version is 1.44, please upgrade your client to a newer version"}"#;
        let answers = vec![
            (
                "/version",
                200,
                r#"{"Version":"29.0.0","ApiVersion":"1.52","MinAPIVersion":"1.44"}"#.to_string(),
            ),
            ("/v1.41/info", 400, refuse.to_string()),
            (
                "/v1.52/info",
                200,
                r#"{"Swarm":{"LocalNodeState":"inactive"}}"#.to_string(),
            ),
            (
                "/v1.52/networks/bridge",
                200,
                r#"{"Name":"bridge"}"#.to_string(),
            ),
            (
                "/v1.52/containers/json?all=1",
                200,
                format!(r#"[{{"Id":"{a}"}}]"#),
            ),
            ("/v1.52/images/json", 200, "[]".to_string()),
            (
                Box::leak(format!("/v1.52/containers/{a}/json").into_boxed_str()),
                200,
                r#"{"State":{"Running":true}}"#.to_string(),
            ),
            (
                Box::leak(format!("/v1.52/containers/{a}/top").into_boxed_str()),
                200,
                r#"{"Titles":["CMD"],"Processes":[["sleep"]]}"#.to_string(),
            ),
        ];
        let (_dir, ep) = serve(answers);
        let (ev, _) = gather(&ep, Duration::from_secs(5), false, false);
        assert_eq!(ev.negotiated.as_deref(), Some("1.52"));
        assert_eq!(ev.info.as_ref().unwrap().status, Some(200));
        assert_eq!(ev.bridge_network.as_ref().unwrap().status, Some(200));
        let (mut ev, _) = gather(&ep, Duration::from_secs(5), true, false);
        gather_tops(&ep, Duration::from_secs(5), &mut ev, &|_| false);
        // Keyed by the unversioned path, as the model reads them.
        for k in [
            "/containers/json?all=1".to_string(),
            "/images/json".to_string(),
            format!("/containers/{a}/json"),
            format!("/containers/{a}/top"),
        ] {
            assert_eq!(ev.objects[&k].status, Some(200), "{k}");
        }
        // Without an ApiVersion, the calls stay unversioned.
        let (_dir, ep) = serve(vec![
            ("/version", 200, r#"{"Version":"20.10.24"}"#.to_string()),
            ("/info", 200, "{}".to_string()),
        ]);
        let (ev, _) = gather(&ep, Duration::from_secs(5), false, false);
        assert_eq!(ev.negotiated, None);
        assert_eq!(ev.info.unwrap().status, Some(200));
    }

    #[test]
    fn deeply_nested_answers_are_refused() {
        let nested = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(shape(b"1", 10).depth, 0);
        assert_eq!(shape(br#"{"a": [[], {"b": [1]}]}"#, 10).depth, 4);
        assert_eq!(shape(br#"["[[{", [1]]"#, 10).depth, 2);
        let answers = vec![
            ("/version", 200, r#"{"Version":"20.10.24"}"#.to_string()),
            ("/info", 200, nested(MAX_BODY_DEPTH + 1)),
            ("/networks/bridge", 200, nested(MAX_BODY_DEPTH)),
        ];
        let (_dir, ep) = serve(answers);
        let (ev, _) = gather(&ep, Duration::from_secs(5), false, false);
        let info = ev.info.unwrap();
        assert_eq!(
            info.error.as_deref(),
            Some("HTTP 200: the response nests deeper than 64 levels")
        );
        assert!(info.body.is_none());
        let bridge = ev.bridge_network.unwrap();
        assert!(
            bridge.error.is_none() && bridge.body.is_some(),
            "{bridge:?}"
        );
    }

    #[test]
    fn value_counts_and_limits() {
        assert!(shape(b"[1,2]", 2).values <= 2);
        assert!(shape(b"[1,2,3]", 2).values > 2);
        // Inside strings nothing counts, escaped quotes included.
        assert!(shape(br#"["a,b:[{", "\",[:"]"#, 2).values <= 2);
        assert!(shape(br#"{"a":1,"b":2}"#, 3).values > 3);
        let (l, v) = limits_for("/info");
        assert_eq!((l.max_body, v), (MAX_ANSWER_BYTES, MAX_VALUES));
        let (l, v) = limits_for("/containers/json?all=1");
        assert_eq!((l.max_body, v), (http::MAX_BODY_BYTES, MAX_LIST_VALUES));
        assert_eq!(limits_for("/nodes").1, MAX_LIST_VALUES);
        assert_eq!(limits_for("/swarm").1, MAX_VALUES);
        // An answer of too many values is refused before it is parsed.
        let zeros = format!("[{}0]", "0,".repeat(MAX_VALUES));
        let answers = vec![
            ("/version", 200, r#"{"Version":"20.10.24"}"#.to_string()),
            ("/info", 200, zeros.clone()),
            ("/images/json", 200, zeros),
        ];
        let (_dir, ep) = serve(answers);
        let info = call(&ep, "/info", Duration::from_secs(5));
        assert_eq!(
            info.error.as_deref(),
            Some("HTTP 200: the response has more than 300000 JSON values")
        );
        assert!(info.body.is_none());
        let list = call(&ep, "/images/json", Duration::from_secs(5));
        assert!(list.error.is_none(), "{:?}", list.error);
    }

    #[test]
    fn unreachable_socket() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("none.sock");
        let (ev, _) = gather(
            &Endpoint::Unix(p.clone()),
            Duration::from_secs(1),
            true,
            false,
        );
        assert_eq!(
            ev.error,
            Some(format!(
                "unix://{}: GET /version: socket not found",
                p.display()
            ))
        );
        assert!(ev.info.is_none());
    }

    /// A fake daemon answering from a table, one thread per connection,
    /// until the test ends.
    fn serve(answers: Vec<(&'static str, u16, String)>) -> (tempfile::TempDir, Endpoint) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("docker.sock");
        let l = UnixListener::bind(&p).unwrap();
        let answers = std::sync::Arc::new(answers);
        thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                let answers = answers.clone();
                thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    let n = s.read(&mut buf).unwrap_or(0);
                    let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                    let path = req.split_whitespace().nth(1).unwrap_or("").to_string();
                    let (status, body) = answers
                        .iter()
                        .find(|(p, _, _)| *p == path)
                        .map(|(_, st, b)| (*st, b.clone()))
                        .unwrap_or((404, r#"{"message":"page not found"}"#.to_string()));
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = s.write_all(resp.as_bytes());
                });
            }
        });
        (dir, Endpoint::Unix(p))
    }

    #[test]
    fn objects_from_fake_daemon_with_a_vanished_container() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let running = format!(r#"{{"Id":"{a}","State":{{"Running":true}}}}"#);
        let list = format!(r#"[{{"Id":"{a}"}},{{"Id":"{b}"}},{{"Id":"../../etc"}}]"#);
        let answers = vec![
            ("/version", 200, r#"{"Version":"20.10.24"}"#.to_string()),
            (
                "/info",
                200,
                r#"{"Swarm":{"LocalNodeState":"inactive"}}"#.to_string(),
            ),
            ("/containers/json?all=1", 200, list),
            ("/images/json", 200, "[]".to_string()),
            (
                Box::leak(format!("/containers/{a}/json").into_boxed_str()),
                200,
                running,
            ),
            (
                Box::leak(format!("/containers/{b}/json").into_boxed_str()),
                404,
                r#"{"message":"No such container"}"#.to_string(),
            ),
            (
                Box::leak(format!("/containers/{a}/top").into_boxed_str()),
                200,
                r#"{"Titles":["PID","CMD"],"Processes":[["1","sleep 9"]]}"#.to_string(),
            ),
        ];
        let (_dir, ep) = serve(answers);
        let (mut ev, notes) = gather(&ep, Duration::from_secs(5), true, true);
        gather_tops(&ep, Duration::from_secs(5), &mut ev, &|_| false);
        assert!(notes.is_empty(), "{notes:?}");
        // The id that is not hex is never requested.
        assert!(
            !ev.objects.keys().any(|k| k.contains("..")),
            "{:?}",
            ev.objects.keys()
        );
        assert_eq!(
            ev.objects[&format!("/containers/{b}/json")].status,
            Some(404)
        );
        assert!(ev.objects.contains_key(&format!("/containers/{a}/top")));
        let o = crate::model::objects::build(&ev, &Default::default());
        let cs = o.containers.unwrap();
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].processes.as_deref().unwrap(), ["sleep"]);
        assert!(
            o.notes[0].contains("removed between the list and its inspect"),
            "{:?}",
            o.notes
        );
    }
}
