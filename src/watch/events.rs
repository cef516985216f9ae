//! The Engine API's event stream (`GET /events`): a bounded, incremental
//! decoder of its body (chunked or not) into events, which events change
//! which verdicts, and the blocking reader over the daemon's unix socket.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Largest event line accepted (the engine's are a few KiB).
pub const MAX_EVENT_BYTES: usize = 1 << 20;
/// Largest response head.
const MAX_HEAD_BYTES: usize = 16 << 10;
/// Time the daemon has to send the whole response head, from the
/// connection (however slowly it trickles: a byte now and then must not
/// hold the stream without end).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// What an event changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A container's verdicts (its id).
    Container(String),
    /// The image rules.
    Images,
    /// The daemon rules (networks, daemon reload).
    Daemon,
    /// Nothing audited.
    None,
}

/// Which verdicts event `e` (one JSON object of the stream) can change.
pub fn effect(e: &serde_json::Value) -> Effect {
    let kind = e.get("Type").and_then(|v| v.as_str()).unwrap_or("");
    let action = e.get("Action").and_then(|v| v.as_str()).unwrap_or("");
    // "exec_start: sh" and the like: the action's first word.
    let action = action.split([':', ' ']).next().unwrap_or("");
    match kind {
        "container" => match action {
            "create" | "start" | "update" | "rename" | "destroy" | "die" | "stop" | "restart" => {
                let id = e
                    .get("Actor")
                    .and_then(|a| a.get("ID"))
                    .or_else(|| e.get("id"))
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                Effect::Container(id.to_string())
            }
            _ => Effect::None,
        },
        "image" => match action {
            "pull" | "delete" | "tag" | "untag" | "import" | "load" | "save" | "push" => {
                Effect::Images
            }
            _ => Effect::None,
        },
        // A container joining or leaving a network (every `docker run`
        // does): that container's verdicts only.
        "network" if matches!(action, "connect" | "disconnect") => {
            match e
                .pointer("/Actor/Attributes/container")
                .and_then(|v| v.as_str())
            {
                Some(id) => Effect::Container(id.to_string()),
                None => Effect::Daemon,
            }
        }
        "network" | "daemon" | "plugin" | "service" | "node" | "secret" | "config" => {
            Effect::Daemon
        }
        _ => Effect::None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    Data(usize),
    DataEnd,
    Done,
}

/// The body of an event stream, decoded incrementally into lines (events).
#[derive(Debug)]
pub struct Decoder {
    chunked: bool,
    state: State,
    size_line: Vec<u8>,
    line: Vec<u8>,
}

impl Decoder {
    pub fn new(chunked: bool) -> Decoder {
        Decoder {
            chunked,
            state: State::Size,
            size_line: Vec::new(),
            line: Vec::new(),
        }
    }

    /// The stream ended cleanly (the last chunk was read).
    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    fn body(&mut self, bytes: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), String> {
        for &b in bytes {
            if b == b'\n' {
                let l = std::mem::take(&mut self.line);
                if !l.iter().all(u8::is_ascii_whitespace) {
                    out.push(l);
                }
            } else {
                if self.line.len() >= MAX_EVENT_BYTES {
                    return Err(format!("an event longer than {MAX_EVENT_BYTES} bytes"));
                }
                self.line.push(b);
            }
        }
        Ok(())
    }

    /// Feed bytes of the body; the complete lines found.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        if !self.chunked {
            self.body(bytes, &mut out)?;
            return Ok(out);
        }
        while !bytes.is_empty() {
            match self.state {
                // Trailers after the last chunk: nothing more to decode.
                State::Done => return Ok(out),
                State::Size => {
                    let b = bytes[0];
                    bytes = &bytes[1..];
                    if b == b'\n' {
                        let text = String::from_utf8_lossy(&self.size_line).into_owned();
                        self.size_line.clear();
                        let hex = text.trim_end_matches('\r');
                        let hex = hex.split(';').next().unwrap_or("").trim();
                        let n = usize::from_str_radix(hex, 16)
                            .map_err(|_| format!("bad chunk size {hex:?}"))?;
                        if n > MAX_EVENT_BYTES {
                            return Err(format!("a chunk of {n} bytes"));
                        }
                        self.state = if n == 0 { State::Done } else { State::Data(n) };
                    } else {
                        if self.size_line.len() >= 64 {
                            return Err("a chunk size line longer than 64 bytes".into());
                        }
                        self.size_line.push(b);
                    }
                }
                State::Data(n) => {
                    let take = n.min(bytes.len());
                    let (now, rest) = bytes.split_at(take);
                    self.body(now, &mut out)?;
                    bytes = rest;
                    self.state = if take == n {
                        State::DataEnd
                    } else {
                        State::Data(n - take)
                    };
                }
                State::DataEnd => {
                    let b = bytes[0];
                    bytes = &bytes[1..];
                    match b {
                        b'\r' => {}
                        b'\n' => self.state = State::Size,
                        _ => return Err("a chunk not followed by CRLF".into()),
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Parse a response head: status 200 required; chunked or not.
pub fn parse_head(head: &[u8]) -> Result<bool, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err("an incomplete response head".into()),
        Err(e) => return Err(format!("a bad response head: {e}")),
    }
    if resp.code != Some(200) {
        return Err(format!("HTTP {}", resp.code.unwrap_or(0)));
    }
    Ok(resp.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("transfer-encoding")
            && String::from_utf8_lossy(h.value)
                .to_ascii_lowercase()
                .contains("chunked")
    }))
}

/// Stream the events of the daemon at unix socket `sock` until `stop` is
/// set or the stream breaks (the error says why); `on_open` is called once
/// the daemon answered with the stream's head, `on_event` on each event.
pub fn stream(
    sock: &Path,
    stop: &AtomicBool,
    on_open: &mut dyn FnMut(),
    on_event: &mut dyn FnMut(&serde_json::Value),
) -> Result<(), String> {
    let mut s = UnixStream::connect(sock).map_err(|e| format!("{}: {e}", sock.display()))?;
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET /events HTTP/1.1\r\nHost: docker\r\nUser-Agent: dockhard-watch\r\n\r\n")
        .map_err(|e| format!("{}: {e}", sock.display()))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 16 << 10];
    let mut decoder: Option<Decoder> = None;
    let head_deadline = Instant::now() + HEAD_TIMEOUT;
    while !stop.load(Ordering::Relaxed) {
        // No whole head within 10 s: the daemon hangs (or trickles).
        if decoder.is_none() && Instant::now() >= head_deadline {
            return Err(format!(
                "no answer to GET /events within {} s",
                HEAD_TIMEOUT.as_secs()
            ));
        }
        let n = match s.read(&mut buf) {
            Ok(0) => return Err("the event stream ended".into()),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => return Err(format!("reading the event stream: {e}")),
        };
        let mut data = &buf[..n];
        if decoder.is_none() {
            head.extend_from_slice(data);
            let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                if head.len() > MAX_HEAD_BYTES {
                    return Err("a response head over 16 KiB".into());
                }
                continue;
            };
            let chunked = parse_head(&head[..end + 4])?;
            on_open();
            let rest = head.split_off(end + 4);
            let mut d = Decoder::new(chunked);
            for l in d.feed(&rest)? {
                deliver(&l, on_event);
            }
            decoder = Some(d);
            data = &[];
        }
        if let Some(d) = decoder.as_mut() {
            for l in d.feed(data)? {
                deliver(&l, on_event);
            }
            if d.done() {
                return Err("the event stream ended".into());
            }
        }
    }
    Ok(())
}

fn deliver(line: &[u8], on_event: &mut dyn FnMut(&serde_json::Value)) {
    // A line that is no JSON object still counts as an event (of no effect).
    let v = serde_json::from_slice(line).unwrap_or(serde_json::Value::Null);
    on_event(&v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn chunked_lines_across_chunks() {
        let mut d = Decoder::new(true);
        let body = b"5\r\n{\"a\":\r\n4\r\n1}\n{\r\n3\r\n}\n\n\r\n0\r\n\r\n";
        let mut lines = Vec::new();
        for b in body.chunks(3) {
            lines.extend(d.feed(b).unwrap());
        }
        assert_eq!(lines, vec![b"{\"a\":1}".to_vec(), b"{}".to_vec()]);
        assert!(d.done());
    }

    #[test]
    fn bounds_and_garbage() {
        assert!(Decoder::new(true).feed(b"zz\r\n").is_err());
        assert!(Decoder::new(true).feed(&[b'1'; 65]).is_err());
        assert!(Decoder::new(true).feed(b"fffffff\r\n").is_err());
        let mut d = Decoder::new(false);
        assert!(d.feed(&vec![b'x'; MAX_EVENT_BYTES + 1]).is_err());
        assert!(parse_head(b"HTTP/1.1 500 Oops\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap());
    }

    #[test]
    fn effects() {
        let ev =
            |t: &str, a: &str| serde_json::json!({"Type": t, "Action": a, "Actor": {"ID": "abc"}});
        assert_eq!(
            effect(&ev("container", "create")),
            Effect::Container("abc".into())
        );
        assert_eq!(effect(&ev("container", "exec_start: sh")), Effect::None);
        assert_eq!(effect(&ev("image", "pull")), Effect::Images);
        assert_eq!(effect(&ev("network", "connect")), Effect::Daemon);
        let connect = serde_json::json!({"Type": "network", "Action": "connect",
            "Actor": {"ID": "n1", "Attributes": {"container": "c1", "name": "bridge"}}});
        assert_eq!(effect(&connect), Effect::Container("c1".into()));
        assert_eq!(effect(&ev("daemon", "reload")), Effect::Daemon);
        assert_eq!(effect(&serde_json::Value::Null), Effect::None);
    }

    proptest! {
        /// Any bytes in any split: no panic, and splitting does not change
        /// what is decoded.
        #[test]
        fn decoder_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512), cut in 0usize..512, chunked: bool) {
            let whole = Decoder::new(chunked).feed(&body);
            let cut = cut.min(body.len());
            let mut d = Decoder::new(chunked);
            let a = d.feed(&body[..cut]);
            let parts = a.and_then(|mut l| { l.extend(d.feed(&body[cut..])?); Ok(l) });
            if let (Ok(w), Ok(p)) = (&whole, &parts) {
                prop_assert_eq!(w, p);
            }
            prop_assert_eq!(whole.is_ok(), parts.is_ok());
        }
    }
}
