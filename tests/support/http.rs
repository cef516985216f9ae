//! HTTP over unix sockets.

use super::*;

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", self.text()))
    }
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Read an HTTP head (start line and headers) up to the empty line. `None`
/// at a clean end of stream before any byte.
pub fn read_head<R: BufRead>(r: &mut R) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line)? == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "end of stream inside an HTTP head",
                ))
            };
        }
        let blank = line == b"\r\n" || line == b"\n";
        if blank && head.is_empty() {
            continue;
        }
        head.extend_from_slice(&line);
        if blank {
            return Ok(Some(head));
        }
        if head.len() > 64 * 1024 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "HTTP head too long",
            ));
        }
    }
}

pub fn owned_headers(hs: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    hs.iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).trim().to_string(),
            )
        })
        .collect()
}

/// Read a body framed by Content-Length or chunked encoding; without either,
/// to the end of the stream when `until_eof`, else empty.
pub fn read_body<R: BufRead>(
    r: &mut R,
    headers: &[(String, String)],
    until_eof: bool,
) -> io::Result<Vec<u8>> {
    let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    if header(headers, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        let mut body = Vec::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line)?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|e| invalid(format!("bad chunk size {size_text:?}: {e}")))?;
            if size == 0 {
                // Trailers up to the empty line.
                loop {
                    let mut t = String::new();
                    if r.read_line(&mut t)? == 0 || t.trim().is_empty() {
                        return Ok(body);
                    }
                }
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            let mut crlf = String::new();
            r.read_line(&mut crlf)?;
        }
    }
    if let Some(cl) = header(headers, "content-length") {
        let n: usize = cl
            .parse()
            .map_err(|e| invalid(format!("bad Content-Length {cl:?}: {e}")))?;
        let mut body = vec![0; n];
        r.read_exact(&mut body)?;
        return Ok(body);
    }
    let mut body = Vec::new();
    if until_eof {
        r.read_to_end(&mut body)?;
    }
    Ok(body)
}

/// One HTTP/1.1 request over a unix socket (`Connection: close`).
pub fn http_unix(
    sock: &Path,
    method: &str,
    path: &str,
    body: Option<(&str, &[u8])>,
    timeout: Duration,
) -> io::Result<HttpResponse> {
    let mut s = UnixStream::connect(sock)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n");
    if let Some((ctype, b)) = body {
        req.push_str(&format!(
            "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    if let Some((_, b)) = body {
        s.write_all(b)?;
    }
    s.flush()?;
    let mut r = BufReader::new(s);
    let head = read_head(&mut r)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed without an answer",
        )
    })?;
    let mut hs = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut hs);
    resp.parse(&head)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("bad HTTP answer: {e}")))?;
    let status = resp.code.unwrap_or(0);
    let headers = owned_headers(resp.headers);
    let body = if method == "HEAD" || status == 204 || status == 304 {
        Vec::new()
    } else {
        read_body(&mut r, &headers, true)?
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}
