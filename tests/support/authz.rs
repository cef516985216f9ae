//! Authorization plugin.

use super::*;

/// What a plugin was asked.
#[derive(Debug, Clone, Default)]
pub struct PluginStats {
    /// Requests by path (`/Plugin.Activate`, `/AuthZPlugin.AuthZReq`, ...).
    pub by_path: BTreeMap<String, usize>,
    /// `METHOD URI` of each AuthZReq.
    pub authz_requests: Vec<String>,
}

/// A real authorization plugin on `/run/docker/plugins/NAME.sock` that
/// allows every request and counts them.
pub struct AuthzPlugin {
    pub name: String,
    pub sock: PathBuf,
    stats: Arc<Mutex<PluginStats>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

pub const PLUGIN_DIR: &str = "/run/docker/plugins";

impl AuthzPlugin {
    /// Listen on a unique `/run/docker/plugins/dh-authz-PID-N.sock`.
    pub fn start() -> AuthzPlugin {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "dh-authz-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        fs::create_dir_all(PLUGIN_DIR).unwrap_or_else(|e| panic!("{PLUGIN_DIR}: {e}"));
        let sock = Path::new(PLUGIN_DIR).join(format!("{name}.sock"));
        let _ = fs::remove_file(&sock);
        let listener =
            UnixListener::bind(&sock).unwrap_or_else(|e| panic!("bind {}: {e}", sock.display()));
        let stats = Arc::new(Mutex::new(PluginStats::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (stats.clone(), stop.clone());
        let thread = thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                let sp = sp.clone();
                thread::spawn(move || serve_plugin_conn(conn, &st, &sp));
            }
        });
        AuthzPlugin {
            name,
            sock,
            stats,
            stop,
            thread: Some(thread),
        }
    }

    pub fn stats(&self) -> PluginStats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Requests seen on `path`.
    pub fn count(&self, path: &str) -> usize {
        self.stats().by_path.get(path).copied().unwrap_or(0)
    }

    /// AuthZReq calls seen so far.
    pub fn authz_requests(&self) -> usize {
        self.count("/AuthZPlugin.AuthZReq")
    }
}

impl Drop for AuthzPlugin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = UnixStream::connect(&self.sock);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = fs::remove_file(&self.sock);
    }
}

pub fn serve_plugin_conn(conn: UnixStream, stats: &Mutex<PluginStats>, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(mut w) = conn.try_clone() else { return };
    let mut r = BufReader::new(conn);
    while !stop.load(Ordering::SeqCst) {
        let Ok(Some(head)) = read_head(&mut r) else {
            return;
        };
        let mut hs = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut hs);
        if req.parse(&head).is_err() {
            return;
        }
        let path = req.path.unwrap_or("").to_string();
        let headers = owned_headers(req.headers);
        let Ok(body) = read_body(&mut r, &headers, false) else {
            return;
        };
        {
            let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
            *s.by_path.entry(path.clone()).or_default() += 1;
            if path == "/AuthZPlugin.AuthZReq" {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let m = v
                    .get("RequestMethod")
                    .and_then(|x| x.as_str())
                    .unwrap_or("?");
                // moby's authorization.Request tags it `RequestUri`.
                let u = ["RequestUri", "RequestURI"]
                    .iter()
                    .find_map(|k| v.get(*k).and_then(|x| x.as_str()))
                    .unwrap_or("?");
                s.authz_requests.push(format!("{m} {u}"));
            }
        }
        let (status, answer) = match path.as_str() {
            "/Plugin.Activate" => ("200 OK", r#"{"Implements":["authz"]}"#),
            "/AuthZPlugin.AuthZReq" | "/AuthZPlugin.AuthZRes" => ("200 OK", r#"{"Allow":true}"#),
            _ => (
                "404 Not Found",
                r#"{"Err":"not implemented by the dockhard test plugin"}"#,
            ),
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/vnd.docker.plugins.v1.2+json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if w.write_all(resp.as_bytes())
            .and_then(|_| w.flush())
            .is_err()
        {
            return;
        }
        if header(&headers, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
            return;
        }
    }
}
