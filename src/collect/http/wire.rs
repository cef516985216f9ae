//! The wire: the request bytes, and the response parser (status line,
//! headers, a body by length, chunked or to the end) under its limits. Pure
//! over any reader: this is the part that is fuzzed.

use super::{Limits, Response, io_text};
use std::io::{self, Read};

/// The request bytes of `GET path`.
pub fn request(path: &str) -> Result<Vec<u8>, String> {
    if !path.starts_with('/') || !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("invalid request path {path:?}"));
    }
    Ok(format!(
        "GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: dockhard/{}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes())
}

/// A reader with a buffer we can inspect, for header and chunk parsing.
pub(super) struct Buffered<'a, R> {
    pub(super) inner: &'a mut R,
    pub(super) buf: Vec<u8>,
    pub(super) pos: usize,
    pub(super) eof: bool,
}

impl<R: Read> Buffered<'_, R> {
    fn avail(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Read more bytes; false at end of stream.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = loop {
            match self.inner.read(&mut chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A peer closing a TLS session without close_notify: treat as EOF.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break 0,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        self.buf
            .extend_from_slice(chunk.get(..n).unwrap_or_default());
        Ok(true)
    }

    fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.buf.len());
    }

    /// A line (without CRLF / LF) of at most `max` bytes.
    fn line(&mut self, max: usize, what: &str) -> Result<Vec<u8>, String> {
        loop {
            if let Some(i) = self.avail().iter().position(|b| *b == b'\n') {
                let mut line = self.avail().get(..i).unwrap_or_default().to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.consume(i + 1);
                return Ok(line);
            }
            if self.avail().len() > max {
                return Err(format!("{what} too long (limit {max} bytes)"));
            }
            if !self
                .fill()
                .map_err(|e| format!("reading {what}: {}", io_text(&e)))?
            {
                return Err(format!("connection closed in {what}"));
            }
        }
    }

    /// Append exactly `n` bytes to `out`.
    fn take_into(&mut self, mut n: usize, out: &mut Vec<u8>, what: &str) -> Result<(), String> {
        while n > 0 {
            if self.avail().is_empty()
                && !self
                    .fill()
                    .map_err(|e| format!("reading {what}: {}", io_text(&e)))?
            {
                return Err(format!("connection closed in {what} ({n} bytes missing)"));
            }
            let k = n.min(self.avail().len());
            out.extend_from_slice(self.avail().get(..k).unwrap_or_default());
            self.consume(k);
            n -= k;
        }
        Ok(())
    }
}

pub(super) fn mib(n: usize) -> String {
    if n % (1024 * 1024) == 0 {
        format!("{} MiB", n / (1024 * 1024))
    } else {
        format!("{n} bytes")
    }
}

/// Read one HTTP/1.x response (skipping 1xx interim responses).
pub fn read_response<R: Read>(r: &mut R, limits: Limits) -> Result<Response, String> {
    let mut b = Buffered {
        inner: r,
        buf: Vec::new(),
        pos: 0,
        eof: false,
    };
    for _ in 0..8 {
        let (status, reason, headers) = read_head(&mut b, limits)?;
        if (100..200).contains(&status) {
            continue;
        }
        let body = read_body(&mut b, &headers, status, limits)?;
        return Ok(Response {
            status,
            reason,
            headers,
            body,
        });
    }
    Err("too many interim (1xx) responses".to_string())
}

pub(super) type Head = (u16, String, Vec<(String, String)>);

pub(super) fn read_head<R: Read>(b: &mut Buffered<'_, R>, limits: Limits) -> Result<Head, String> {
    loop {
        let mut hdrs = [httparse::EMPTY_HEADER; 100];
        let mut resp = httparse::Response::new(&mut hdrs);
        let avail = b.avail();
        match resp.parse(avail) {
            Ok(httparse::Status::Complete(n)) => {
                let status = resp.code.unwrap_or(0);
                let reason = resp.reason.unwrap_or("").to_string();
                let headers = resp
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                b.consume(n);
                return Ok((status, reason, headers));
            }
            Ok(httparse::Status::Partial) => {
                if avail.len() > limits.max_header {
                    return Err(format!(
                        "response header too large (limit {})",
                        mib_or_kib(limits.max_header)
                    ));
                }
                let empty = avail.is_empty();
                if !b
                    .fill()
                    .map_err(|e| format!("reading response: {}", io_text(&e)))?
                {
                    return Err(if empty {
                        "connection closed without a response".to_string()
                    } else {
                        "connection closed in the response header".to_string()
                    });
                }
            }
            Err(e) => return Err(format!("not an HTTP response ({e})")),
        }
    }
}

pub(super) fn mib_or_kib(n: usize) -> String {
    if n % 1024 == 0 && n % (1024 * 1024) != 0 {
        format!("{} KiB", n / 1024)
    } else {
        mib(n)
    }
}

pub(super) fn read_body<R: Read>(
    b: &mut Buffered<'_, R>,
    headers: &[(String, String)],
    status: u16,
    limits: Limits,
) -> Result<Vec<u8>, String> {
    if status == 204 || status == 304 {
        return Ok(Vec::new());
    }
    let too_large = || format!("response body too large (limit {})", mib(limits.max_body));
    let chunked = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"))
        .any(|(_, v)| v.to_ascii_lowercase().contains("chunked"));
    let mut body = Vec::new();
    if chunked {
        loop {
            let line = b.line(4096, "chunk size line")?;
            let line = String::from_utf8_lossy(&line);
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| format!("invalid chunk size {size_text:?}"))?;
            if size == 0 {
                // Trailers, up to an empty line (or the end of the stream).
                for _ in 0..100 {
                    match b.line(limits.max_header, "chunk trailer") {
                        Ok(l) if l.is_empty() => return Ok(body),
                        Ok(_) => {}
                        Err(_) => return Ok(body),
                    }
                }
                return Ok(body);
            }
            if body.len().saturating_add(size) > limits.max_body {
                return Err(too_large());
            }
            b.take_into(size, &mut body, "chunked body")?;
            let end = b.line(2, "chunk end")?;
            if !end.is_empty() {
                return Err("malformed chunk (no CRLF after the data)".to_string());
            }
        }
    }
    let lengths: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.trim())
        .collect();
    if let Some(first) = lengths.first() {
        if lengths.iter().any(|l| l != first) {
            return Err("conflicting Content-Length headers".to_string());
        }
        let n: u64 = first
            .parse()
            .map_err(|_| format!("invalid Content-Length {first:?}"))?;
        let n = usize::try_from(n).map_err(|_| too_large())?;
        if n > limits.max_body {
            return Err(format!(
                "response body too large (Content-Length {n}, limit {})",
                mib(limits.max_body)
            ));
        }
        b.take_into(n, &mut body, "response body")?;
        return Ok(body);
    }
    // No length: the body runs to the end of the connection.
    loop {
        body.extend_from_slice(b.avail());
        let n = b.avail().len();
        b.consume(n);
        if body.len() > limits.max_body {
            return Err(too_large());
        }
        if !b
            .fill()
            .map_err(|e| format!("reading response body: {}", io_text(&e)))?
        {
            return Ok(body);
        }
    }
}
