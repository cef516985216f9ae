//! Listeners (`-H`, the socket unit) and TLS decisions, as dockerd makes them.

use super::*;

fn listener_summary(e: &Effective) -> Vec<String> {
    e.listeners()
        .iter()
        .map(|l| match l {
            Listener::Tcp { addr, port, .. } => format!("tcp {addr}:{port}"),
            Listener::Unix { path, .. } => format!("unix {path}"),
            Listener::Fd { name, .. } => format!("fd {}", name.clone().unwrap_or_default()),
        })
        .collect()
}

#[test]
fn listeners_like_dockerd() {
    let cases: Vec<(Vec<&str>, Option<&str>, Vec<&str>)> = vec![
        (vec![], None, vec!["unix /var/run/docker.sock"]),
        (vec!["--tls"], None, vec!["tcp 127.0.0.1:2376"]),
        (vec!["--tlsverify"], None, vec!["tcp 127.0.0.1:2376"]),
        (
            vec![],
            Some("{\"tlsverify\": false}"),
            vec!["tcp 127.0.0.1:2376"],
        ),
        (vec!["-H", ":2375"], None, vec!["tcp 127.0.0.1:2375"]),
        (vec!["-H", "tcp://"], None, vec!["tcp 127.0.0.1:2375"]),
        (vec!["-H", "0.0.0.0"], None, vec!["tcp 0.0.0.0:2375"]),
        (
            vec!["--tls", "-H", "0.0.0.0"],
            None,
            vec!["tcp 0.0.0.0:2375"],
        ),
        (vec!["-H", "[::]:2375"], None, vec!["tcp :::2375"]),
        (
            vec!["-H", "unix://", "-H", "unix:///var/run/docker.sock"],
            None,
            vec!["unix /var/run/docker.sock"],
        ),
        (
            vec!["-H", "fd://", "-H", "tcp://0.0.0.0:2376"],
            None,
            vec!["fd ", "tcp 0.0.0.0:2376"],
        ),
        (
            vec![],
            Some("{\"hosts\": [\"fd://docker.socket\", \"ssh://x\"]}"),
            vec!["fd docker.socket"],
        ),
        (vec!["-H", ""], None, vec!["unix /var/run/docker.sock"]),
    ];
    for (args, text, expected) in cases {
        let e = eff(&args, text);
        assert_eq!(listener_summary(&e), expected, "{args:?} {text:?}");
    }
    let mut env_rootless = Case::new(&[], None)
        .rootless()
        .env("XDG_RUNTIME_DIR", "/run/user/1000");
    assert_eq!(
        listener_summary(&env_rootless.run()),
        vec!["unix /run/user/1000/docker.sock"]
    );
    env_rootless.argv = words(&["-H", "unix://"]);
    assert_eq!(
        listener_summary(&env_rootless.run()),
        vec!["unix /var/run/docker.sock"]
    );
    // evidence of a listener is its -H word
    let e = eff(&["-H", "tcp://0.0.0.0:2375"], None);
    match e.listeners().first() {
        Some(Listener::Tcp { evidence, spec, .. }) => {
            assert_eq!(evidence.location, "argv[1]");
            assert_eq!(spec, "tcp://0.0.0.0:2375");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tls_decisions() {
    // (args, file, enabled, verify)
    let cases: Vec<(Vec<&str>, Option<&str>, bool, bool)> = vec![
        (vec![], None, false, false),
        (vec!["--tls"], None, true, true),
        (vec!["--tls=false"], None, false, false),
        (vec!["--tlsverify"], None, true, true),
        (vec!["--tlsverify=false"], None, true, false),
        (vec!["--tls", "--tlsverify=false"], None, true, false),
        (vec![], Some("{\"tls\": true}"), true, true),
        (vec![], Some("{\"tls\": false}"), false, false),
        (vec![], Some("{\"tlsverify\": true}"), true, true),
        (vec![], Some("{\"tlsverify\": false}"), true, false),
        (vec![], Some("{\"tlsverify\": null}"), true, true),
        (
            vec![],
            Some("{\"tls\": false, \"tlsverify\": false}"),
            true,
            false,
        ),
        (vec!["--tls"], Some("{\"tlsverify\": false}"), true, false),
    ];
    for (args, text, enabled, verify) in cases {
        let t = eff(&args, text).tls();
        assert_eq!(
            (t.enabled, t.verify_clients),
            (enabled, verify),
            "{args:?} {text:?}"
        );
    }
    // default cert paths: flag-enabled TLS uses $DOCKER_CERT_PATH / $DOCKER_CONFIG / ~/.docker
    let t = Case::new(&["--tlsverify"], None)
        .env("HOME", "/root")
        .run()
        .tls();
    assert_eq!(t.ca.map(|c| c.0).as_deref(), Some("/root/.docker/ca.pem"));
    assert_eq!(t.key.map(|c| c.0).as_deref(), Some("/root/.docker/key.pem"));
    let t = Case::new(&["--tls"], None)
        .env("HOME", "/root")
        .env("DOCKER_CONFIG", "/cfg")
        .env("DOCKER_CERT_PATH", "/certs")
        .run()
        .tls();
    assert_eq!(t.cert.map(|c| c.0).as_deref(), Some("/certs/cert.pem"));
    let t = Case::new(&["--tls", "--tlscacert", "/x/ca.pem"], None)
        .env("DOCKER_CONFIG", "/cfg")
        .run()
        .tls();
    let (ca, ev) = t.ca.expect("ca");
    assert_eq!(
        (ca.as_str(), ev.location.as_str()),
        ("/x/ca.pem", "argv[2]")
    );
    assert_eq!(t.cert.map(|c| c.0).as_deref(), Some("/cfg/cert.pem"));
    // file-only TLS: only the file's paths (no defaults unless DOCKER_TLS_VERIFY)
    let c = Case::new(&[], Some("{\"tls\": true, \"tlscert\": \"/c.pem\"}")).env("HOME", "/root");
    let t = c.run().tls();
    assert_eq!(t.cert.map(|c| c.0).as_deref(), Some("/c.pem"));
    assert!(t.ca.is_none());
    let t = c.env("DOCKER_TLS_VERIFY", "1").run().tls();
    assert_eq!(t.ca.map(|c| c.0).as_deref(), Some("/root/.docker/ca.pem"));
    // TLS from the file alone without paths is a start failure
    let e = Case::new(&[], Some("{\"m\": {\"tlsverify\": false}}")).run();
    assert!(e.tls().enabled && e.tls().verify_clients);
    assert!(
        fatal_messages(&e)
            .iter()
            .any(|m| m.contains("Could not load X509 key pair (cert: \"\", key: \"\")"))
    );
    let e = Case::new(&[], Some("{\"m\": {\"tls\": true}}")).run();
    assert!(!e.tls().enabled);
    let e = Case::new(
        &[],
        Some("{\"tls\": true, \"tlscert\": \"/c\", \"tlskey\": \"/k\"}"),
    )
    .run();
    assert!(!e.has_fatal(), "{:?}", e.problems);
    // DOCKER_TLS_VERIFY alone does not turn TLS on
    assert!(
        !Case::new(&[], None)
            .env("DOCKER_TLS_VERIFY", "1")
            .run()
            .tls()
            .enabled
    );
}
