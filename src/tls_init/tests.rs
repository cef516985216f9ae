use super::*;
use proptest::prelude::*;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use std::sync::{Arc, OnceLock};
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap()
}

fn sans(list: &[&str]) -> Vec<San> {
    parse_sans(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
}

fn spec(days: u32) -> CertSpec {
    CertSpec::new(
        sans(&["localhost", "127.0.0.1", "node1.example", "::1"]),
        days,
        now(),
    )
}

/// One set built once (key generation is cheap, but the tests share it).
fn material() -> &'static (CertSpec, Material) {
    static M: OnceLock<(CertSpec, Material)> = OnceLock::new();
    M.get_or_init(|| {
        let s = spec(DEFAULT_LEAF_DAYS);
        let m = build(&s).unwrap();
        (s, m)
    })
}

/// The single PEM block of `text`: (label, DER).
fn pem(text: &str) -> (String, Vec<u8>) {
    let blocks: Vec<Pem> = Pem::iter_from_buffer(text.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(blocks.len(), 1, "{text}");
    let b = blocks.into_iter().next().unwrap();
    (b.label, b.contents)
}

fn with_cert<T>(
    text: &str,
    f: impl FnOnce(&x509_parser::certificate::X509Certificate<'_>) -> T,
) -> T {
    let (label, der) = pem(text);
    assert_eq!(label, "CERTIFICATE");
    let (rest, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    assert!(rest.is_empty());
    f(&cert)
}

// --- SAN parsing ----------------------------------------------------------

#[test]
fn san_ip_and_dns() {
    assert_eq!(
        parse_san("127.0.0.1"),
        Ok(San::Ip("127.0.0.1".parse().unwrap()))
    );
    assert_eq!(parse_san("::1"), Ok(San::Ip("::1".parse().unwrap())));
    assert_eq!(
        parse_san("[fe80::1]"),
        Ok(San::Ip("fe80::1".parse().unwrap()))
    );
    assert_eq!(parse_san("localhost"), Ok(San::Dns("localhost".into())));
    assert_eq!(
        parse_san("node-1.Example.org"),
        Ok(San::Dns("node-1.Example.org".into()))
    );
    assert_eq!(
        parse_san("*.nodes.example"),
        Ok(San::Dns("*.nodes.example".into()))
    );
}

#[test]
fn san_rejects_garbage_naming_it() {
    for bad in [
        "",
        "a..b",
        ".a",
        "a.",
        "-a.b",
        "a-.b",
        "a b",
        "a_b",
        "tcp://x",
        "x:2376",
        "1.2.3",
        "300.1.1.1",
        "[localhost]",
        "*",
        "*.com",
        "a.*.b",
        "é.example",
    ] {
        let e = parse_san(bad).unwrap_err();
        assert!(e.contains(&format!("`{bad}`")), "{bad}: {e}");
    }
    assert!(parse_san(&"a".repeat(64)).is_err());
    assert!(parse_san(&["a"; 130].join(".")).is_err());
    assert!(parse_san(&"a".repeat(63)).is_ok());
}

#[test]
fn sans_dedup_and_need_one() {
    let got = sans(&["Localhost", "localhost", "127.0.0.1", "127.0.0.1", "::1"]);
    assert_eq!(
        got,
        vec![
            San::Dns("Localhost".into()),
            San::Ip("127.0.0.1".parse().unwrap()),
            San::Ip("::1".parse().unwrap()),
        ]
    );
    assert!(parse_sans(&[]).is_err());
}

#[test]
fn client_host_prefers_a_remote_name() {
    assert_eq!(
        client_host(&sans(&["localhost", "127.0.0.1", "node1"])),
        "node1"
    );
    assert_eq!(
        client_host(&sans(&["localhost", "::1", "fd00::5"])),
        "[fd00::5]"
    );
    assert_eq!(client_host(&sans(&["127.0.0.1", "localhost"])), "127.0.0.1");
    assert_eq!(client_host(&[]), "");
}

proptest! {
    #[test]
    fn san_never_panics(s in "\\PC{0,300}") {
        let _ = parse_san(&s);
    }

    #[test]
    fn san_valid_dns_round_trips(
        labels in proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", 1..5),
        tld in "[a-z][a-z0-9]{0,5}",
    ) {
        let name = format!("{}.{tld}", labels.join("."));
        prop_assert_eq!(parse_san(&name), Ok(San::Dns(name.clone())));
    }

    #[test]
    fn san_ip_round_trips(ip in any::<std::net::IpAddr>()) {
        let parsed = parse_san(&ip.to_string()).unwrap();
        prop_assert_eq!(&parsed, &San::Ip(ip));
        // The bracketed URL form parses back to the same address.
        prop_assert_eq!(parse_san(&parsed.url_host()), Ok(San::Ip(ip)));
    }
}

// --- The certificates -----------------------------------------------------

#[test]
fn pem_shapes_and_no_key_in_debug() {
    let (_, m) = material();
    for c in [&m.ca_cert, &m.server_cert, &m.client_cert] {
        assert_eq!(pem(c).0, "CERTIFICATE");
        assert_eq!(crate::model::certs::parse_pem_certs(c).unwrap().len(), 1);
    }
    let keys = [&m.ca_key, &m.server_key, &m.client_key];
    for k in keys {
        assert_eq!(pem(k).0, "PRIVATE KEY");
    }
    // Three distinct keys.
    assert_ne!(m.ca_key, m.server_key);
    assert_ne!(m.server_key, m.client_key);
    assert_ne!(m.ca_key, m.client_key);
    let dbg = format!("{m:?}");
    assert!(!dbg.contains("PRIVATE KEY"), "{dbg}");
    for k in keys {
        assert!(!dbg.contains(k.lines().nth(1).unwrap()));
    }
}

#[test]
fn validity_is_as_asked() {
    let (s, m) = material();
    let ca = &crate::model::certs::parse_pem_certs(&m.ca_cert).unwrap()[0];
    assert_eq!(ca.not_before, s.now - BACKDATE_SECS);
    assert_eq!(ca.not_after, s.now + 3650 * 86_400);
    for c in [&m.server_cert, &m.client_cert] {
        let i = &crate::model::certs::parse_pem_certs(c).unwrap()[0];
        assert_eq!(i.not_before, s.now - BACKDATE_SECS);
        assert_eq!(i.not_after, s.now + 825 * 86_400);
    }
    // --days 30: leaves 30 days, the CA keeps its default.
    let s30 = spec(30);
    let m30 = build(&s30).unwrap();
    let leaf = &crate::model::certs::parse_pem_certs(&m30.server_cert).unwrap()[0];
    assert_eq!(leaf.not_after, s30.now + 30 * 86_400);
    let ca = &crate::model::certs::parse_pem_certs(&m30.ca_cert).unwrap()[0];
    assert_eq!(ca.not_after, s30.now + 3650 * 86_400);
    // Leaves longer than 3650 days: the CA outlives them.
    assert_eq!(CertSpec::new(sans(&["a.b"]), 5000, 0).ca_days, 5000);
}

#[test]
fn out_of_range_dates_are_errors_not_panics() {
    let s = CertSpec::new(sans(&["a.b"]), MAX_DAYS, 253_402_300_000);
    assert!(build(&s).unwrap_err().contains("out of range"));
    let s = CertSpec::new(sans(&["a.b"]), 1, 10);
    assert!(build(&s).unwrap_err().contains("out of range"));
    assert!(
        build(&CertSpec::new(vec![], 1, now()))
            .unwrap_err()
            .contains("alternative name")
    );
}

#[test]
fn extensions_ca_server_client() {
    let (_, m) = material();
    with_cert(&m.ca_cert, |c| {
        let bc = c.basic_constraints().unwrap().unwrap();
        assert!(bc.critical);
        assert!(bc.value.ca);
        assert_eq!(bc.value.path_len_constraint, Some(0));
        let ku = c.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign());
        assert!(c.subject_alternative_name().unwrap().is_none());
        assert_eq!(c.subject(), c.issuer());
        assert!(
            c.subject()
                .to_string()
                .contains("dockhard CA for localhost")
        );
    });
    let ca_subject = with_cert(&m.ca_cert, |c| c.subject().to_string());
    with_cert(&m.server_cert, |c| {
        assert_eq!(c.issuer().to_string(), ca_subject);
        assert!(!c.basic_constraints().unwrap().unwrap().value.ca);
        let eku = c.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && !eku.client_auth);
        let ku = c.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature() && !ku.key_cert_sign());
        let san = c.subject_alternative_name().unwrap().unwrap().value;
        let names: Vec<String> = san
            .general_names
            .iter()
            .map(|g| match g {
                GeneralName::DNSName(d) => format!("DNS:{d}"),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => format!(
                        "IP:{}",
                        std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*b).unwrap())
                    ),
                    16 => format!(
                        "IP:{}",
                        std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*b).unwrap())
                    ),
                    _ => panic!("bad IP SAN {b:?}"),
                },
                other => panic!("unexpected SAN {other:?}"),
            })
            .collect();
        assert_eq!(
            names,
            [
                "DNS:localhost",
                "IP:127.0.0.1",
                "DNS:node1.example",
                "IP:::1"
            ]
        );
        // P-256 key.
        let spki = c.public_key();
        assert_eq!(
            spki.algorithm.algorithm.to_id_string(),
            "1.2.840.10045.2.1",
            "id-ecPublicKey"
        );
        assert_eq!(
            spki.algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .as_deref(),
            Some("1.2.840.10045.3.1.7"),
            "prime256v1"
        );
    });
    with_cert(&m.client_cert, |c| {
        assert_eq!(c.issuer().to_string(), ca_subject);
        assert!(!c.basic_constraints().unwrap().unwrap().value.ca);
        let eku = c.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
    });
}

// --- rustls: a real mutual-TLS handshake ----------------------------------

fn der_cert(text: &str) -> CertificateDer<'static> {
    CertificateDer::from(pem(text).1)
}

fn der_key(text: &str) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pem(text).1))
}

/// Handshake in memory between a server using `server` (cert, key) that
/// verifies clients against `server_ca`, and a client trusting `client_ca`
/// presenting `client` (cert, key), connecting to `name`.
fn handshake(
    server_ca: &str,
    server: (&str, &str),
    client_ca: &str,
    client: (&str, &str),
    name: &str,
) -> Result<(), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = |ca: &str| {
        let mut r = RootCertStore::empty();
        r.add(der_cert(ca)).unwrap();
        Arc::new(r)
    };
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(server_ca), provider.clone())
        .build()
        .unwrap();
    let scfg = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![der_cert(server.0)], der_key(server.1))
        .map_err(|e| format!("server config: {e}"))?;
    let ccfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(client_ca))
        .with_client_auth_cert(vec![der_cert(client.0)], der_key(client.1))
        .map_err(|e| format!("client config: {e}"))?;
    let sn = ServerName::try_from(name.to_string()).unwrap();
    let mut c = ClientConnection::new(Arc::new(ccfg), sn).unwrap();
    let mut s = ServerConnection::new(Arc::new(scfg)).unwrap();
    for _ in 0..20 {
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            let mut rd = buf.as_slice();
            while !rd.is_empty() {
                s.read_tls(&mut rd).unwrap();
            }
            s.process_new_packets()
                .map_err(|e| format!("server: {e}"))?;
        }
        let mut buf = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            let mut rd = buf.as_slice();
            while !rd.is_empty() {
                c.read_tls(&mut rd).unwrap();
            }
            c.process_new_packets()
                .map_err(|e| format!("client: {e}"))?;
        }
        if !c.is_handshaking() && !s.is_handshaking() {
            // The server saw the client certificate.
            let peer = s.peer_certificates().ok_or("no client certificate")?;
            assert_eq!(peer.first(), Some(&der_cert(client.0)));
            return Ok(());
        }
    }
    Err("handshake did not finish".into())
}

#[test]
fn mutual_tls_handshake_succeeds_for_every_san() {
    let (_, m) = material();
    for name in ["localhost", "127.0.0.1", "node1.example", "::1"] {
        handshake(
            &m.ca_cert,
            (&m.server_cert, &m.server_key),
            &m.ca_cert,
            (&m.client_cert, &m.client_key),
            name,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn handshake_fails_for_a_name_not_in_the_sans() {
    let (_, m) = material();
    let e = handshake(
        &m.ca_cert,
        (&m.server_cert, &m.server_key),
        &m.ca_cert,
        (&m.client_cert, &m.client_key),
        "other.example",
    )
    .unwrap_err();
    assert!(e.contains("client"), "{e}");
}

#[test]
fn handshake_fails_across_cas_and_with_swapped_roles() {
    let (_, m) = material();
    let other = build(&spec(1)).unwrap();
    // A client certificate from another CA: the server refuses it.
    let e = handshake(
        &m.ca_cert,
        (&m.server_cert, &m.server_key),
        &m.ca_cert,
        (&other.client_cert, &other.client_key),
        "localhost",
    )
    .unwrap_err();
    assert!(e.contains("server"), "{e}");
    // A client trusting another CA: it refuses the server.
    assert!(
        handshake(
            &m.ca_cert,
            (&m.server_cert, &m.server_key),
            &other.ca_cert,
            (&m.client_cert, &m.client_key),
            "localhost",
        )
        .unwrap_err()
        .contains("client")
    );
    // The client certificate cannot serve (no serverAuth; no SAN either).
    assert!(
        handshake(
            &m.ca_cert,
            (&m.client_cert, &m.client_key),
            &m.ca_cert,
            (&m.client_cert, &m.client_key),
            "localhost",
        )
        .is_err()
    );
    // The server certificate cannot authenticate a client (no clientAuth).
    assert!(
        handshake(
            &m.ca_cert,
            (&m.server_cert, &m.server_key),
            &m.ca_cert,
            (&m.server_cert, &m.server_key),
            "localhost",
        )
        .unwrap_err()
        .contains("server")
    );
}

// --- Instructions ---------------------------------------------------------

#[test]
fn instructions_name_files_snippet_and_env() {
    let (s, m) = material();
    let text = instructions(Path::new("/etc/docker/tls"), s);
    for (name, _, mode) in FILES {
        assert!(
            text.contains(&format!("{mode:04o}  /etc/docker/tls/{name}")),
            "{name}: {text}"
        );
    }
    // The snippet is valid JSON with the four settings.
    let start = text.find("{\n").unwrap();
    let end = text[start..].find("\n}").unwrap() + start + 2;
    let v: serde_json::Value = serde_json::from_str(&text[start..end]).unwrap();
    assert_eq!(v["tlsverify"], true);
    assert_eq!(v["tlscacert"], "/etc/docker/tls/ca.pem");
    assert_eq!(v["tlscert"], "/etc/docker/tls/server-cert.pem");
    assert_eq!(v["tlskey"], "/etc/docker/tls/server-key.pem");
    assert_eq!(v["hosts"][1], "tcp://0.0.0.0:2376");
    assert!(text.contains("export DOCKER_HOST=tcp://node1.example:2376\n"));
    assert!(text.contains("export DOCKER_TLS_VERIFY=1\n"));
    assert!(text.contains("export DOCKER_CERT_PATH=/etc/docker/tls\n"));
    assert!(!text.contains("PRIVATE KEY"));
    for k in [&m.ca_key, &m.server_key, &m.client_key] {
        assert!(!text.contains(k.lines().nth(1).unwrap()));
    }
}

#[test]
fn instructions_escape_paths_in_json() {
    let s = CertSpec::new(sans(&["a.b"]), 1, 0);
    let text = instructions(Path::new("/x/we\"ird"), &s);
    assert!(
        text.contains(r#""tlscacert": "/x/we\"ird/ca.pem""#),
        "{text}"
    );
}

// --- Writing --------------------------------------------------------------

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

#[test]
fn init_writes_modes_and_refuses_existing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sub/certs");
    let s = spec(10);
    let abs = init(&dir, &s, false, &mut |_| {}).unwrap();
    assert!(abs.is_absolute());
    assert_eq!(mode(&dir), 0o700);
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    for (name, _, m) in FILES {
        assert_eq!(mode(&dir.join(name)), m, "{name}");
        assert_eq!(fs::metadata(dir.join(name)).unwrap().uid(), me, "{name}");
    }
    // No temporary file left behind.
    assert_eq!(fs::read_dir(&dir).unwrap().count(), FILES.len());
    let before = fs::read_to_string(dir.join("ca.pem")).unwrap();
    // Refused without --force, naming the file; nothing changed.
    fs::remove_file(dir.join("cert.pem")).unwrap();
    let e = init(&dir, &s, false, &mut |_| {}).unwrap_err();
    assert!(e.contains("ca.pem") && e.contains("--force"), "{e}");
    assert!(!e.contains("/cert.pem"), "cert.pem does not exist: {e}");
    assert!(e.contains("/key.pem"), "{e}");
    assert_eq!(fs::read_to_string(dir.join("ca.pem")).unwrap(), before);
    // --force replaces everything.
    init(&dir, &s, true, &mut |_| {}).unwrap();
    assert_ne!(fs::read_to_string(dir.join("ca.pem")).unwrap(), before);
    assert_eq!(mode(&dir.join("cert.pem")), 0o444);
    assert_eq!(fs::read_dir(&dir).unwrap().count(), FILES.len());
}

#[test]
fn init_refuses_links_and_non_files() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    fs::create_dir(&real).unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let s = spec(1);
    assert!(
        init(&link, &s, true, &mut |_| {})
            .unwrap_err()
            .contains("symbolic link")
    );
    std::os::unix::fs::symlink("/etc/passwd", real.join("key.pem")).unwrap();
    let e = init(&real, &s, true, &mut |_| {}).unwrap_err();
    assert!(
        e.contains("key.pem") && e.contains("not a regular file"),
        "{e}"
    );
    assert_eq!(fs::read_dir(&real).unwrap().count(), 1);
    let file = tmp.path().join("file");
    fs::write(&file, "").unwrap();
    assert!(
        init(&file, &s, true, &mut |_| {})
            .unwrap_err()
            .contains("not a directory")
    );
}
