//! Syslog listener.

use super::*;

/// A UDP syslog receiver on 127.0.0.1 of a daemon's network namespace,
/// collecting datagrams as lines.
pub struct SyslogListener {
    pub port: u16,
    lines: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SyslogListener {
    /// Bound in `ns` (the namespace the daemon will run in:
    /// [`DaemonOpts::netns`]); a socket stays in the namespace it was made in.
    pub fn start_in(ns: &Netns) -> SyslogListener {
        let sock = ns
            .run(|| UdpSocket::bind("127.0.0.1:0"))
            .unwrap_or_else(|e| panic!("bind udp in {}: {e}", ns.name));
        let port = sock
            .local_addr()
            .unwrap_or_else(|e| panic!("local_addr: {e}"))
            .port();
        let _ = sock.set_read_timeout(Some(Duration::from_millis(200)));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (l, s) = (lines.clone(), stop.clone());
        let thread = thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !s.load(Ordering::SeqCst) {
                if let Ok((n, _)) = sock.recv_from(&mut buf) {
                    let text = String::from_utf8_lossy(buf.get(..n).unwrap_or(&[])).into_owned();
                    l.lock().unwrap_or_else(|p| p.into_inner()).push(text);
                }
            }
        });
        SyslogListener {
            port,
            lines,
            stop,
            thread: Some(thread),
        }
    }

    /// `udp://127.0.0.1:PORT`
    pub fn address(&self) -> String {
        format!("udp://127.0.0.1:{}", self.port)
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Wait (10 s) for a line containing `needle`.
    pub fn wait_for(&self, needle: &str) -> Option<String> {
        poll(Duration::from_secs(10), || {
            self.lines().into_iter().find(|l| l.contains(needle))
        })
    }
}

impl Drop for SyslogListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
