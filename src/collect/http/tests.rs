use super::*;
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::thread;

/// A fake server on loopback answering one connection with `f`.
fn serve<F>(f: F) -> (u16, thread::JoinHandle<()>)
where
    F: FnOnce(TcpStream) + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = thread::spawn(move || {
        if let Ok((s, _)) = l.accept() {
            f(s)
        }
    });
    (port, h)
}

fn read_request(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => buf.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn tcp(port: u16) -> Endpoint {
    Endpoint::Tcp {
        host: "127.0.0.1".into(),
        port,
        tls: None,
    }
}

#[test]
fn content_length_body_and_request_format() {
    let (port, h) = serve(|mut s| {
        let req = read_request(&mut s);
        assert!(req.starts_with("GET /version HTTP/1.1\r\n"), "{req}");
        assert!(req.contains("\r\nHost: docker\r\n"));
        assert!(req.contains("\r\nConnection: close\r\n"));
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"Version\":\"1.0\"}trailing-garbage").unwrap();
    });
    let r = get(&tcp(port), "/version", Duration::from_secs(5)).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"{\"Version\":\"1.0\"}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    h.join().unwrap();
}

#[test]
fn chunked_body() {
    let (port, h) = serve(|mut s| {
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-T: 1\r\n\r\n").unwrap();
    });
    let r = get(&tcp(port), "/info", Duration::from_secs(5)).unwrap();
    assert_eq!(r.body, b"hello, world");
    h.join().unwrap();
}

#[test]
fn body_until_close_and_interim() {
    let (port, h) = serve(|mut s| {
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n").unwrap();
    });
    let r = get(&tcp(port), "/_ping", Duration::from_secs(5)).unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.body, b"Client sent an HTTP request to an HTTPS server.\n");
    h.join().unwrap();
}

#[test]
fn garbage_is_an_error() {
    let (port, h) = serve(|mut s| {
        read_request(&mut s);
        s.write_all(b"\x16\x03\x01\x00\x02\x02\x28garbage garbage\r\n\r\n")
            .unwrap();
    });
    let e = get(&tcp(port), "/_ping", Duration::from_secs(5)).unwrap_err();
    assert!(e.starts_with("not an HTTP response"), "{e}");
    h.join().unwrap();
}

#[test]
fn bad_chunk_size_is_an_error() {
    let (port, h) = serve(|mut s| {
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
            .unwrap();
    });
    let e = get(&tcp(port), "/", Duration::from_secs(5)).unwrap_err();
    assert_eq!(e, "invalid chunk size \"zz\"");
    h.join().unwrap();
}

#[test]
fn closed_without_answer() {
    let (port, h) = serve(|mut s| {
        read_request(&mut s);
    });
    let e = get(&tcp(port), "/", Duration::from_secs(5)).unwrap_err();
    assert_eq!(e, "connection closed without a response");
    h.join().unwrap();
}

#[test]
fn silent_server_times_out() {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (port, h) = serve(move |mut s| {
        read_request(&mut s);
        let _ = rx.recv(); // hold the connection open, say nothing
    });
    let e = get(&tcp(port), "/", Duration::from_millis(300)).unwrap_err();
    assert_eq!(e, "reading response: timed out");
    drop(tx);
    h.join().unwrap();
}

#[test]
fn slow_trickle_is_bounded_by_the_total_deadline() {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (port, h) = serve(move |mut s| {
        read_request(&mut s);
        // One byte every 50 ms, forever (until the client gives up).
        let msg = b"HTTP/1.1 200 OK\r\nX-Slow: ";
        let _ = s.write_all(msg);
        loop {
            if s.write_all(b"a").is_err() || rx.try_recv().is_ok() {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
    });
    let start = Instant::now();
    let e = get(&tcp(port), "/", Duration::from_millis(500)).unwrap_err();
    // Each read gets only the time left: the whole call ends near the
    // deadline, even though every single byte came quickly.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(e.ends_with("timed out"), "{e}");
    let _ = tx.send(());
    h.join().unwrap();
}

#[test]
fn huge_body_is_cut_at_the_cap() {
    let limits = Limits {
        max_header: 1024,
        max_body: 64 * 1024,
    };
    // Without a length: streamed until the cap.
    let (port, h) = serve(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
        let chunk = [b'x'; 8192];
        for _ in 0..1000 {
            if s.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let e = get_with_limits(&tcp(port), "/", Duration::from_secs(5), limits).unwrap_err();
    assert_eq!(e, "response body too large (limit 65536 bytes)");
    h.join().unwrap();
    // With a lying huge Content-Length: refused up front.
    let (port, h) = serve(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\nabc");
    });
    let e = get(&tcp(port), "/", Duration::from_secs(5)).unwrap_err();
    assert_eq!(
        e,
        "response body too large (Content-Length 99999999999, limit 32 MiB)"
    );
    h.join().unwrap();
    // Chunked beyond the cap.
    let (port, h) = serve(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFF\r\n");
    });
    let e = get(&tcp(port), "/", Duration::from_secs(5)).unwrap_err();
    assert_eq!(e, "response body too large (limit 32 MiB)");
    h.join().unwrap();
}

#[test]
fn huge_header_is_refused() {
    let (port, h) = serve(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Big: ");
        let chunk = [b'y'; 8192];
        for _ in 0..100 {
            if s.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let e = get(&tcp(port), "/", Duration::from_secs(5)).unwrap_err();
    assert_eq!(e, "response header too large (limit 64 KiB)");
    h.join().unwrap();
}

#[test]
fn unix_socket_and_connection_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("docker.sock");
    let l = UnixListener::bind(&p).unwrap();
    let h = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
            .unwrap();
    });
    let r = get(&Endpoint::Unix(p.clone()), "/_ping", Duration::from_secs(5)).unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"OK"[..]));
    h.join().unwrap();
    let e = get(&Endpoint::Unix(p.clone()), "/_ping", Duration::from_secs(5)).unwrap_err();
    assert!(e.ends_with("connection refused"), "{e}");
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = get(&tcp(port), "/", Duration::from_secs(2)).unwrap_err();
    assert_eq!(e, "connection refused");
}

#[test]
fn request_path_is_checked() {
    assert!(request("/x\r\nEvil: 1").is_err());
    assert!(request("x").is_err());
    assert!(request("/networks/bridge").is_ok());
}

#[test]
fn endpoints() {
    let none = |_: &str| None;
    assert_eq!(
        parse_endpoint("unix:///run/docker.sock", &none),
        Ok(Endpoint::Unix("/run/docker.sock".into()))
    );
    assert_eq!(parse_endpoint("tcp://127.0.0.1:2375", &none), Ok(tcp(2375)));
    assert_eq!(
        parse_endpoint("tcp://[::1]:2375", &none).unwrap().url(),
        "tcp://[::1]:2375"
    );
    assert_eq!(parse_endpoint("tcp://:2375", &none).unwrap(), tcp(2375));
    assert!(parse_endpoint("ssh://me@host", &none).is_err());
    assert!(parse_endpoint("tcp://h:notaport", &none).is_err());
    let env = |k: &str| match k {
        "DOCKER_TLS_VERIFY" => Some("1".to_string()),
        "DOCKER_CERT_PATH" => Some("/certs".to_string()),
        _ => None,
    };
    let ep = parse_endpoint("tcp://docker.example:2376", &env).unwrap();
    assert_eq!(
        ep,
        Endpoint::Tcp {
            host: "docker.example".into(),
            port: 2376,
            tls: Some(TlsSettings {
                ca_file: Some("/certs/ca.pem".into()),
                client_cert: Some(("/certs/cert.pem".into(), "/certs/key.pem".into())),
            })
        }
    );
    let home = |k: &str| (k == "HOME").then(|| "/root".to_string());
    let ep = parse_endpoint("https://h", &home).unwrap();
    assert_eq!(
        ep,
        Endpoint::Tcp {
            host: "h".into(),
            port: 2376,
            tls: Some(TlsSettings {
                ca_file: None,
                client_cert: Some((
                    "/root/.docker/cert.pem".into(),
                    "/root/.docker/key.pem".into()
                )),
            })
        }
    );
}

proptest::proptest! {
    #[test]
    fn read_response_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
        let mut r = io::Cursor::new(bytes);
        let _ = read_response(&mut r, Limits { max_header: 512, max_body: 1024 });
    }

    #[test]
    fn chunked_roundtrip(chunks in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 1..100), 0..10)) {
        let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let mut want = Vec::new();
        for c in &chunks {
            wire.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            wire.extend_from_slice(c);
            wire.extend_from_slice(b"\r\n");
            want.extend_from_slice(c);
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        let r = read_response(&mut io::Cursor::new(wire), Limits::default()).unwrap();
        proptest::prop_assert_eq!(r.body, want);
    }

    #[test]
    fn endpoint_parse_never_panics(s in "\\PC*") {
        let _ = parse_endpoint(&s, &|_| None);
    }
}
