//! Tests of the combined semantics: argv + daemon.json -> Effective.

use super::*;
use crate::model::engine::EngineVersion;

/// The typed key named `name` (tests that loop over key names).
fn key(name: &str) -> Key {
    Key::of(name).unwrap_or_else(|| panic!("no option {name}"))
}

fn engine_of(v: Option<&str>) -> Engine {
    v.map(|v| Engine::of(EngineVersion::parse(v).expect("version")))
        .unwrap_or_default()
}
use crate::model::ProblemLevel;
use proptest::prelude::*;

const P: &str = "/etc/docker/daemon.json";

fn words(args: &[&str]) -> Vec<ArgWord> {
    let mut v = vec!["/usr/bin/dockerd".to_string()];
    v.extend(args.iter().map(|s| s.to_string()));
    ArgWord::from_argv(&v)
}

fn file(text: &str) -> FileEvidence {
    FileEvidence {
        text: Some(text.to_string()),
        ..FileEvidence::default()
    }
}

fn missing() -> FileEvidence {
    FileEvidence {
        missing: true,
        error: Some("not found".into()),
        ..FileEvidence::default()
    }
}

struct Case {
    argv: Vec<ArgWord>,
    file: Option<FileEvidence>,
    env: BTreeMap<String, String>,
    rootless: bool,
    version: Option<&'static str>,
}

impl Case {
    fn new(args: &[&str], text: Option<&str>) -> Case {
        Case {
            argv: words(args),
            file: Some(text.map(file).unwrap_or_else(missing)),
            env: BTreeMap::new(),
            rootless: false,
            version: None,
        }
    }
    fn env(mut self, k: &str, v: &str) -> Case {
        self.env.insert(k.into(), v.into());
        self
    }
    fn rootless(mut self) -> Case {
        self.rootless = true;
        self
    }
    fn run(&self) -> Effective {
        compute(&ConfigInput {
            argv: &self.argv,
            config_file: self.file.as_ref(),
            env: &self.env,
            rootless: self.rootless,
            engine: engine_of(self.version),
        })
    }
}

fn eff(args: &[&str], text: Option<&str>) -> Effective {
    Case::new(args, text).run()
}

fn fatal_messages(e: &Effective) -> Vec<String> {
    e.problems
        .iter()
        .filter(|p| p.level == ProblemLevel::Fatal)
        .map(|p| p.message.clone())
        .collect()
}

#[test]
#[allow(clippy::type_complexity)]
fn config_file_path_rules() {
    let env: BTreeMap<String, String> = [
        ("HOME".to_string(), "/home/u".to_string()),
        ("XDG_CONFIG_HOME".to_string(), "/home/u/.cfg".to_string()),
    ]
    .into_iter()
    .collect();
    let none = BTreeMap::new();
    let cases: Vec<(Vec<&str>, &BTreeMap<String, String>, bool, &str, bool)> = vec![
        (vec![], &none, false, "/etc/docker/daemon.json", false),
        (
            vec!["--config-file", "/a.json"],
            &none,
            false,
            "/a.json",
            true,
        ),
        (
            vec!["--config-file=/a.json", "--config-file", "/b.json"],
            &none,
            false,
            "/b.json",
            true,
        ),
        (vec![], &env, true, "/home/u/.cfg/docker/daemon.json", false),
        (vec!["--config-file=/x"], &env, true, "/x", true),
    ];
    for (args, env, rootless, path, explicit) in cases {
        let p = config_file_path(&words(&args), env, rootless, &Engine::default());
        assert_eq!((p.path.as_str(), p.explicit), (path, explicit), "{args:?}");
    }
    let mut home_only = BTreeMap::new();
    home_only.insert("HOME".to_string(), "/home/v".to_string());
    assert_eq!(
        config_file_path(&words(&[]), &home_only, true, &Engine::default()).path,
        "/home/v/.config/docker/daemon.json"
    );
    let p = config_file_path(
        &words(&["--config-file", "/a"]),
        &none,
        false,
        &Engine::default(),
    );
    assert_eq!(p.evidence.location, "argv[1]");
    assert_eq!(p.evidence.detail, "--config-file /a");
}

#[test]
fn defaults_with_default_evidence() {
    let e = eff(&[], None);
    assert_eq!(e.file_state, FileState::AbsentDefault);
    assert!(e.problems.is_empty(), "{:?}", e.problems);
    for (key, expected) in [
        ("icc", true),
        ("userland-proxy", true),
        ("live-restore", false),
        ("experimental", false),
        ("iptables", true),
        ("ip-forward", true),
        ("no-new-privileges", false),
        ("debug", false),
    ] {
        let (v, ev) = e.bool(self::key(key));
        assert_eq!(v, expected, "{key}");
        assert_eq!(
            (ev.source, ev.location.as_str()),
            (Source::Default, "default")
        );
    }
    assert_eq!(e.string(keys::LOG_DRIVER).0.as_deref(), Some("json-file"));
    assert_eq!(e.string(keys::USERNS_REMAP).0, None);
    assert_eq!(
        e.string(keys::DATA_ROOT).0.as_deref(),
        Some("/var/lib/docker")
    );
    assert!(e.list(keys::AUTHORIZATION_PLUGINS).is_empty());
    assert!(e.map(keys::LOG_OPTS).is_empty());
}

#[test]
fn flags_and_file_give_values_with_provenance() {
    let e = eff(
        &[
            "--icc=false",
            "--log-opt",
            "max-size=10m",
            "--log-opt=max-file=3",
            "-H",
            "fd://",
        ],
        Some("{\n  \"live-restore\": true,\n  \"userns-remap\": \"default\"\n}"),
    );
    assert!(e.problems.is_empty(), "{:?}", e.problems);
    let (icc, ev) = e.bool(keys::ICC);
    assert!(!icc);
    assert_eq!(
        (ev.source, ev.location.as_str(), ev.detail.as_str()),
        (Source::Argv, "argv[1]", "--icc=false")
    );
    let (lr, ev) = e.bool(keys::LIVE_RESTORE);
    assert!(lr);
    assert_eq!(
        (ev.source, ev.location.as_str(), ev.detail.as_str()),
        (
            Source::DaemonJson,
            "/etc/docker/daemon.json:2",
            "\"live-restore\": true"
        )
    );
    assert_eq!(e.string(keys::USERNS_REMAP).0.as_deref(), Some("default"));
    let m = e.map(keys::LOG_OPTS);
    assert_eq!(
        m.get("max-size")
            .map(|(v, ev)| (v.as_str(), ev.location.as_str())),
        Some(("10m", "argv[2]"))
    );
    assert_eq!(
        m.get("max-file")
            .map(|(v, ev)| (v.as_str(), ev.location.as_str())),
        Some(("3", "argv[4]"))
    );
}

#[test]
fn scalars_last_wins_lists_add_maps_merge() {
    let e = eff(
        &[
            "--log-level=warn",
            "-l",
            "debug",
            "--authorization-plugin=a",
            "--authorization-plugin",
            "b",
            "--log-opt",
            "k=1",
            "--log-opt",
            "k=2",
        ],
        None,
    );
    let s = e.get(keys::LOG_LEVEL).expect("set");
    assert_eq!(s.value, Value::Str("debug".into()));
    assert_eq!(s.evidence.len(), 2);
    assert_eq!(s.evidence[0].location, "argv[2]");
    let plugins: Vec<String> = e
        .list(keys::AUTHORIZATION_PLUGINS)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(plugins, vec!["a", "b"]);
    assert_eq!(e.list(keys::AUTHORIZATION_PLUGINS)[1].1.location, "argv[5]");
    assert_eq!(
        e.map(keys::LOG_OPTS).get("k").map(|(v, _)| v.as_str()),
        Some("2")
    );
}

#[test]
fn flag_file_conflicts() {
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["--icc=false"],
            "{\"icc\": true}",
            "icc: (from flag: false, from file: true)",
        ),
        (
            vec!["-H", "fd://"],
            "{\"hosts\": [\"unix:///x\"]}",
            "hosts: (from flag: [fd://], from file: [unix:///x])",
        ),
        (
            vec!["--icc=false"],
            "{\"icc\": null}",
            "icc: (from flag: false, from file: <nil>)",
        ),
        (
            vec!["--debug"],
            "{\"x\": {\"debug\": false}}",
            "debug: (from flag: true, from file: false)",
        ),
        (
            vec!["--log-opt", "a=b"],
            "{\"log-opts\": {\"c\": \"d\"}}",
            "log-opts: (from flag: map[a:b], from file: map[c:d])",
        ),
        (
            vec!["--label", "a=b"],
            "{\"labels\": [\"c=d\"]}",
            "labels: (from flag: [a=b], from file: [c=d])",
        ),
        (
            vec!["--config-file", P],
            "{\"config-file\": \"/x\"}",
            "config-file: (from flag: /etc/docker/daemon.json, from file: /x)",
        ),
    ];
    for (args, text, expected) in cases {
        let e = eff(&args, Some(text));
        let f = fatal_messages(&e);
        assert_eq!(f.len(), 1, "{args:?} {text}: {f:?}");
        assert!(
            f[0].contains(&format!(
                "the following directives are specified both as a flag and in the configuration file: {expected}"
            )),
            "{args:?} {text}: {f:?}"
        );
    }
    // runtimes are exempt and merge
    let e = eff(
        &["--add-runtime", "a=/a"],
        Some("{\"runtimes\": {\"b\": {\"path\": \"/b\"}}}"),
    );
    assert!(fatal_messages(&e).is_empty(), "{:?}", e.problems);
    assert_eq!(e.map(keys::RUNTIMES).len(), 2);
    // a singular key does not conflict with the named option
    let e = eff(&["--label", "a=b"], Some("{\"label\": [\"c=d\"]}"));
    assert!(fatal_messages(&e).is_empty());
}

#[test]
fn start_failures() {
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (
            vec!["--icc=false", "--iptables=false"],
            None,
            "You specified --iptables=false with --icc=false",
        ),
        (
            vec!["--icc=false"],
            Some("{\"iptables\": false}"),
            "You specified --iptables=false with --icc=false",
        ),
        (
            vec![],
            Some("{\"hosts\": [\"ssh://me@h\"]}"),
            "failed to load listeners: error parsing -H ssh://me@h: Invalid bind address format: ssh://me@h",
        ),
        (
            vec!["-H", "127.0.0.1:99999"],
            None,
            "failed to load listeners: listen tcp: address 99999: invalid port",
        ),
        (
            vec!["-H", "ssh://x"],
            None,
            "invalid argument \"ssh://x\" for \"-H, --host\" flag",
        ),
        (
            vec![],
            Some("{\"icc\": \"false\"}"),
            "cannot unmarshal string into Go struct field Config.icc of type bool",
        ),
        (
            vec![],
            Some("{\"bogus\": 1, \"icc\": true}"),
            "the following directives don't match any configuration option: bogus",
        ),
        (
            vec![],
            Some("{\"icc\": true,}"),
            "invalid character '}' looking for beginning of object key string (line 1, column 14)",
        ),
        (vec![], Some(""), "EOF"),
        (
            vec![],
            Some("\u{feff}{}"),
            "invalid character 'ï' looking for beginning of value",
        ),
        (vec!["--bogus"], None, "unknown flag: --bogus"),
        (
            vec!["--icc", "false"],
            None,
            "\"dockerd\" accepts no argument(s)",
        ),
        (
            vec![],
            Some("{\"labels\": [\"a=1\", \"a=2\"]}"),
            "conflict labels for a=2 and a=1",
        ),
        (
            vec![],
            Some("{\"max-download-attempts\": 0}"),
            "invalid max download attempts: 0",
        ),
        (
            vec![],
            Some("{\"default-runtime\": \"crun\"}"),
            "specified default runtime 'crun' does not exist",
        ),
        (
            vec![],
            Some("{\"default-ipc-mode\": \"host\"}"),
            "IPC mode \"host\" is not supported as default value",
        ),
        (
            vec!["--bridge", "br0", "--bip", "10.0.0.1/24"],
            None,
            "You specified -b & --bip",
        ),
        (
            vec!["--ip6tables"],
            None,
            "ip6tables rules are only available if experimental features are enabled",
        ),
    ];
    for (args, text, expected) in cases {
        let e = eff(&args, text);
        let f = fatal_messages(&e);
        assert!(
            f.iter().any(|m| m.contains(expected)),
            "{args:?} {text:?}: {f:?}"
        );
        assert!(e.has_fatal());
    }
    let mut c = Case::new(&["--config-file", "/nope.json"], None);
    let e = c.run();
    assert_eq!(e.file_state, FileState::AbsentExplicit);
    assert!(fatal_messages(&e)[0].contains("open /nope.json: no such file or directory"));
    c.file = None;
    assert_eq!(c.run().file_state, FileState::NotCollected);
    c.file = Some(FileEvidence {
        error: Some("permission denied".into()),
        ..FileEvidence::default()
    });
    let e = c.run();
    assert_eq!(
        e.file_state,
        FileState::Unreadable("permission denied".into())
    );
    assert!(!e.has_fatal());
}

#[test]
fn lifted_keys_apply_booleans() {
    let e = eff(&[], Some("{\"metadata\": {\"live-restore\": true}}"));
    assert!(!e.has_fatal(), "{:?}", e.problems);
    let (lr, ev) = e.bool(keys::LIVE_RESTORE);
    assert!(lr);
    assert!(ev.detail.contains("inside \"metadata\""));
}

#[test]
fn duplicate_keys_last_wins_with_warning() {
    let e = eff(&[], Some("{\n\"icc\": false,\n\"icc\": true\n}"));
    assert!(e.bool(keys::ICC).0);
    assert!(
        e.problems
            .iter()
            .any(|p| p.level == ProblemLevel::Warning && p.message.contains("lines 2 and 3"))
    );
}

#[test]
fn version_rules_apply() {
    let mut c = Case::new(&[], Some("\u{feff}{\"debug\": true} trailing"));
    assert!(c.run().has_fatal());
    c.version = Some("24.0.7");
    assert!(c.run().has_fatal()); // trailing data
    c.file = Some(file("\u{feff}{\"debug\": true}"));
    let e = c.run();
    assert!(!e.has_fatal(), "{:?}", e.problems);
    assert!(e.bool(keys::DEBUG).0);
    c.version = Some("20.10.24");
    c.file = Some(file("{\"debug\": true} trailing"));
    let e = c.run();
    assert!(!e.has_fatal());
    assert!(e.bool(keys::DEBUG).0);
}

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

fn reload_with(args: &[&str], start: &str, new: &str) -> Effective {
    let c = Case::new(args, Some(start));
    let running = c.run();
    assert!(!running.has_fatal(), "{:?}", running.problems);
    reload(
        &running,
        &ConfigInput {
            argv: &c.argv,
            config_file: c.file.as_ref(),
            env: &c.env,
            rootless: false,
            engine: Engine::default(),
        },
        &file(new),
    )
}

#[test]
fn reload_semantics() {
    for key in [
        "debug",
        "labels",
        "live-restore",
        "authorization-plugins",
        "insecure-registries",
        "registry-mirrors",
        "max-concurrent-downloads",
        "shutdown-timeout",
        "runtimes",
        "default-runtime",
        "features",
        "default-shm-size",
        "default-ipc-mode",
        "default-cgroupns-mode",
    ] {
        assert!(is_reloadable(&Engine::default(), key), "{key}");
    }
    for key in [
        "icc",
        "userland-proxy",
        "userns-remap",
        "log-driver",
        "log-opts",
        "hosts",
        "tls",
        "tlsverify",
        "experimental",
        "no-new-privileges",
        "seccomp-profile",
        "iptables",
        "nope",
    ] {
        assert!(!is_reloadable(&Engine::default(), key), "{key}");
    }
    // reloadable keys change, others do not
    let r = reload_with(
        &[],
        "{\"icc\": true}",
        "{\"icc\": false, \"live-restore\": true}",
    );
    assert!(r.bool(keys::ICC).0);
    assert!(r.bool(keys::LIVE_RESTORE).0);
    assert!(!r.has_fatal());
    // keys absent from the new file keep their value (debug) or reset (downloads)
    let r = reload_with(
        &[],
        "{\"debug\": true, \"max-concurrent-downloads\": 9}",
        "{}",
    );
    assert!(r.bool(keys::DEBUG).0);
    assert_eq!(
        r.string(keys::MAX_CONCURRENT_DOWNLOADS).0.as_deref(),
        Some("3")
    );
    // a null resets to the default
    let r = reload_with(&[], "{\"debug\": true}", "{\"debug\": null}");
    assert!(!r.bool(keys::DEBUG).0);
    // authorization plugins from flags are dropped
    let r = reload_with(&["--authorization-plugin", "authz"], "{}", "{}");
    assert!(r.list(keys::AUTHORIZATION_PLUGINS).is_empty());
    assert!(
        r.problems
            .iter()
            .any(|p| p.message.contains("drops the authorization plugins"))
    );
    // flags stay
    let r = reload_with(&["--debug"], "{}", "{\"live-restore\": true}");
    assert!(r.bool(keys::DEBUG).0);
    // an invalid file changes nothing
    for bad in [
        "{",
        "{\"live-restore\": \"yes\"}",
        "{\"debug\": true}",
        "{\"bogus\": 1}",
    ] {
        let r = reload_with(&["--debug"], "{}", bad);
        assert!(!r.bool(keys::LIVE_RESTORE).0, "{bad}");
        assert!(
            r.problems.iter().any(|p| p.level == ProblemLevel::Fatal
                && p.message.starts_with("SIGHUP: dockerd rejects")),
            "{bad}: {:?}",
            r.problems
        );
    }
    // a lifted bool counts as set but decodes to false on reload
    let r = reload_with(
        &[],
        "{\"live-restore\": true}",
        "{\"m\": {\"live-restore\": true}}",
    );
    assert!(!r.bool(keys::LIVE_RESTORE).0);
}

/// A small reference model: booleans placed on the command line, in the
/// file, nested in the file, or nowhere.
#[derive(Debug, Clone, Copy)]
enum Place {
    Nowhere,
    Flag(bool),
    File(bool),
    Nested(bool),
    Both(bool, bool),
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        Just(Place::Nowhere),
        any::<bool>().prop_map(Place::Flag),
        any::<bool>().prop_map(Place::File),
        any::<bool>().prop_map(Place::Nested),
        (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Place::Both(a, b)),
    ]
}

const BOOLS: [(&str, bool); 4] = [
    ("live-restore", false),
    ("userland-proxy", true),
    ("experimental", false),
    ("no-new-privileges", false),
];

proptest! {
    #[test]
    fn reference_model_for_booleans(places in prop::collection::vec(place(), 4)) {
        let mut args = Vec::new();
        let mut top = Vec::new();
        let mut nested = Vec::new();
        for ((key, _), p) in BOOLS.iter().zip(&places) {
            match p {
                Place::Nowhere => {}
                Place::Flag(b) => args.push(format!("--{key}={b}")),
                Place::File(b) => top.push(format!("\"{key}\": {b}")),
                Place::Nested(b) => nested.push(format!("\"{key}\": {b}")),
                Place::Both(a, b) => {
                    args.push(format!("--{key}={a}"));
                    top.push(format!("\"{key}\": {b}"));
                }
            }
        }
        if !nested.is_empty() {
            top.push(format!("\"meta\": {{{}}}", nested.join(", ")));
        }
        let text = format!("{{{}}}", top.join(", "));
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let e = eff(&arg_refs, Some(&text));
        let conflicts = places.iter().filter(|p| matches!(p, Place::Both(..))).count();
        let fatals = fatal_messages(&e);
        prop_assert_eq!(fatals.len(), conflicts, "{:?}", fatals);
        for ((key, default), p) in BOOLS.iter().zip(&places) {
            let (v, ev) = e.bool(self::key(key));
            match p {
                Place::Nowhere => {
                    prop_assert_eq!(v, *default);
                    prop_assert_eq!(ev.source, Source::Default);
                }
                Place::Flag(b) | Place::Both(b, _) => {
                    prop_assert_eq!(v, *b);
                    prop_assert_eq!(ev.source, Source::Argv);
                }
                Place::File(b) | Place::Nested(b) => {
                    prop_assert_eq!(v, *b);
                    prop_assert_eq!(ev.source, Source::DaemonJson);
                }
            }
        }
    }

    #[test]
    fn compute_never_panics(
        args in prop::collection::vec("(-{1,2}[a-zH=:/.0-9-]{0,14})|([a-z:/.0-9]{0,8})", 0..6),
        text in ".{0,80}",
        version in prop::option::of("[0-9]{1,2}\\.[0-9]{1,2}"),
        rootless in any::<bool>(),
    ) {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut c = Case::new(&refs, Some(&text));
        c.rootless = rootless;
        let v = version.clone();
        let e = compute(&ConfigInput {
            argv: &c.argv,
            config_file: c.file.as_ref(),
            env: &c.env,
            rootless: c.rootless,
            engine: engine_of(v.as_deref()),
        });
        let _ = (e.listeners(), e.tls(), e.bool(keys::ICC), e.string(keys::LOG_DRIVER), e.list(keys::HOSTS), e.map(keys::LOG_OPTS));
        c.file = Some(file("{}"));
        let _ = reload(&e, &ConfigInput {
            argv: &c.argv,
            config_file: c.file.as_ref(),
            env: &c.env,
            rootless,
            engine: Engine::default(),
        }, &file(&text));
    }

    #[test]
    fn compute_never_panics_on_json_like_files(
        text in "[{}\\[\\]\",: a-z0-9\\-]{0,80}",
        keys in prop::collection::vec(prop::sample::select(vec!["icc", "hosts", "log-opts", "tls", "tlsverify", "labels", "debug", "runtimes", "m", "default-shm-size", "ip", "mtu"]), 0..4),
        vals in prop::collection::vec(prop::sample::select(vec!["true", "null", "1", "\"x\"", "[\"a=b\"]", "{\"live-restore\": true}", "{}", "[]", "1.5"]), 4),
    ) {
        let _ = eff(&[], Some(&text));
        let body: Vec<String> = keys.iter().zip(vals.iter()).map(|(k, v)| format!("\"{k}\": {v}")).collect();
        let e = eff(&["--debug"], Some(&format!("{{{}}}", body.join(", "))));
        let _ = (e.listeners(), e.tls());
    }
}

/// The options of the reference model below, with dockerd's default.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Opt {
    Bool(&'static str, bool),
    Str(&'static str, Option<&'static str>),
    /// daemon.json key, flag name.
    List(&'static str, &'static str),
    Map(&'static str, &'static str),
}

const OPTS: [Opt; 8] = [
    Opt::Bool("icc", true),
    Opt::Bool("userland-proxy", true),
    Opt::Bool("live-restore", false),
    Opt::Bool("experimental", false),
    Opt::Str("log-driver", Some("json-file")),
    Opt::Str("userns-remap", None),
    Opt::List("authorization-plugins", "authorization-plugin"),
    Opt::Map("log-opts", "log-opt"),
];

/// One occurrence of an option on the command line or in the file: which
/// option (index into [`OPTS`]), a value index, and a spelling.
#[derive(Debug, Clone)]
struct Use {
    opt: usize,
    val: usize,
    form: usize,
}

fn uses(max: usize) -> impl Strategy<Value = Vec<Use>> {
    prop::collection::vec(
        (0..OPTS.len(), 0..4usize, 0..4usize).prop_map(|(opt, val, form)| Use { opt, val, form }),
        0..max,
    )
}

const TRUE_SPELLINGS: [&str; 4] = ["true", "1", "T", "TRUE"];
const FALSE_SPELLINGS: [&str; 4] = ["false", "0", "f", "False"];
const STR_VALUES: [&str; 4] = ["syslog", "journald", "json-file", "default"];
const LIST_VALUES: [&str; 4] = ["authz-a", "authz-b", "authz-c", "authz-a"];
const MAP_VALUES: [(&str, &str); 4] = [("tag", "a"), ("labels", "l"), ("tag", "b"), ("env", "E")];

/// What the reference model expects of one option.
#[derive(Debug, Clone, PartialEq)]
enum Want {
    Bool(bool),
    Str(Option<String>),
    List(Vec<String>),
    Map(BTreeMap<String, String>),
}

/// The command line words of one flag use, and the value it stands for.
fn flag_words(u: &Use) -> (Vec<String>, Want) {
    match OPTS[u.opt] {
        Opt::Bool(k, _) => {
            let b = u.val % 2 == 0;
            let sp = if b { TRUE_SPELLINGS } else { FALSE_SPELLINGS };
            // A bare `--icc` means true; the other forms spell the value.
            if b && u.form == 0 {
                (vec![format!("--{k}")], Want::Bool(true))
            } else {
                (vec![format!("--{k}={}", sp[u.form])], Want::Bool(b))
            }
        }
        Opt::Str(k, _) => {
            let v = if k == "userns-remap" {
                ["default", "dockremap", "default", "dockremap"][u.val]
            } else {
                STR_VALUES[u.val % 3]
            };
            let w = if u.form % 2 == 0 {
                vec![format!("--{k}={v}")]
            } else {
                vec![format!("--{k}"), v.to_string()]
            };
            (w, Want::Str(Some(v.to_string())))
        }
        Opt::List(_, f) => {
            let v = LIST_VALUES[u.val];
            (vec![format!("--{f}={v}")], Want::List(vec![v.to_string()]))
        }
        Opt::Map(_, f) => {
            let (k, v) = MAP_VALUES[u.val];
            (
                vec![format!("--{f}"), format!("{k}={v}")],
                Want::Map(BTreeMap::from([(k.to_string(), v.to_string())])),
            )
        }
    }
}

/// The JSON text of one file use, and its value: `None` for `null` (unset,
/// but the key counts for conflicts), `Err` for a value of the wrong type (a
/// start failure).
fn file_member(u: &Use) -> (String, Result<Option<Want>, ()>) {
    let (key, json, want) = match OPTS[u.opt] {
        Opt::Bool(k, _) => match u.form {
            0 | 1 => (
                k,
                (u.val % 2 == 0).to_string(),
                Ok(Some(Want::Bool(u.val % 2 == 0))),
            ),
            2 => (k, "null".into(), Ok(None)),
            _ => (k, "\"false\"".into(), Err(())),
        },
        Opt::Str(k, _) => {
            let v = if k == "userns-remap" {
                "default"
            } else {
                STR_VALUES[u.val % 3]
            };
            match u.form {
                0 | 1 => (
                    k,
                    format!("{v:?}"),
                    Ok(Some(Want::Str(Some(v.to_string())))),
                ),
                2 => (k, "null".into(), Ok(None)),
                _ => (k, "1".into(), Err(())),
            }
        }
        Opt::List(k, _) => match u.form {
            0 | 1 => {
                let v = LIST_VALUES[u.val];
                (
                    k,
                    format!("[{v:?}]"),
                    Ok(Some(Want::List(vec![v.to_string()]))),
                )
            }
            2 => (k, "null".into(), Ok(None)),
            _ => (k, "\"authz-a\"".into(), Err(())),
        },
        Opt::Map(k, _) => {
            let (mk, mv) = MAP_VALUES[u.val];
            match u.form {
                0 | 1 => (
                    k,
                    format!("{{{mk:?}: {mv:?}}}"),
                    Ok(Some(Want::Map(BTreeMap::from([(
                        mk.to_string(),
                        mv.to_string(),
                    )])))),
                ),
                2 => (k, "null".into(), Ok(None)),
                _ => (k, "[\"tag=a\"]".into(), Err(())),
            }
        }
    };
    (format!("{key:?}: {json}"), want)
}

fn default_of(o: Opt) -> Want {
    match o {
        Opt::Bool(_, d) => Want::Bool(d),
        Opt::Str(_, d) => Want::Str(d.map(str::to_string)),
        Opt::List(..) => Want::List(Vec::new()),
        Opt::Map(..) => Want::Map(BTreeMap::new()),
    }
}

fn observed(e: &Effective, o: Opt) -> (Want, Source) {
    match o {
        Opt::Bool(k, _) => {
            let (v, ev) = e.bool(key(k));
            (Want::Bool(v), ev.source)
        }
        Opt::Str(k, _) => {
            let (v, ev) = e.string(key(k));
            (Want::Str(v.filter(|s| !s.is_empty())), ev.source)
        }
        Opt::List(k, _) => {
            let l = e.list(key(k));
            let src = l.first().map_or(Source::Default, |(_, ev)| ev.source);
            (Want::List(l.into_iter().map(|(v, _)| v).collect()), src)
        }
        Opt::Map(k, _) => {
            let m = e.map(key(k));
            let src = m
                .values()
                .next()
                .map_or(Source::Default, |(_, ev)| ev.source);
            (
                Want::Map(m.into_iter().map(|(k, (v, _))| (k, v)).collect()),
                src,
            )
        }
    }
}

proptest! {
    /// dockerd's merging rules as a reference model, on random command
    /// lines and daemon.json files over eight options of every kind:
    /// scalar flags given twice: the last wins; list flags add up; map flags
    /// merge by key (last wins); duplicate file keys are decoded in order as
    /// Go's encoding/json does, then completed from the flags by mergo (a
    /// later `null` leaves a string or a `true` as it was, gives a `false`
    /// its default, empties a list or map; a later map adds to the earlier
    /// one: all verified on dockerd 20.10); a key given both as a flag and in the file
    /// (even as `null`) is a start failure, and so is a value of the wrong
    /// type in any occurrence.
    #[test]
    fn merging_agrees_with_the_reference_model(flags in uses(7), members in uses(6)) {
        let mut args = Vec::new();
        let mut from_flags: Vec<Option<Want>> = vec![None; OPTS.len()];
        for u in &flags {
            let (w, v) = flag_words(u);
            args.extend(w);
            let slot = &mut from_flags[u.opt];
            *slot = Some(match (slot.take(), v) {
                (Some(Want::List(mut a)), Want::List(b)) => { a.extend(b); Want::List(a) }
                (Some(Want::Map(mut a)), Want::Map(b)) => { a.extend(b); Want::Map(a) }
                (_, v) => v,
            });
        }
        let mut body = Vec::new();
        let mut in_file = vec![false; OPTS.len()];
        let mut from_file: Vec<Option<Want>> = vec![None; OPTS.len()];
        let mut bad_type = false;
        for u in &members {
            let (text, v) = file_member(u);
            body.push(text);
            in_file[u.opt] = true;
            let slot = &mut from_file[u.opt];
            match (OPTS[u.opt], v) {
                // Go's decoder saves the first type error and goes on.
                (_, Err(())) => bad_type = true,
                // null into a Go bool or string is a no-op, and mergo then
                // fills a zero value (false) from the flag, whose default
                // stays (`flag.Set("<nil>")` fails): an earlier `true` or
                // string stays, an earlier `false` gives the default.
                (Opt::Bool(..), Ok(None)) => {
                    if *slot != Some(Want::Bool(true)) {
                        *slot = None;
                    }
                }
                (Opt::Str(..), Ok(None)) => {}
                // null into a slice or map sets it to nil.
                (Opt::List(..) | Opt::Map(..), Ok(None)) => *slot = None,
                // An object decoded into an existing map keeps its entries.
                (Opt::Map(..), Ok(Some(Want::Map(b)))) => {
                    *slot = Some(match slot.take() {
                        Some(Want::Map(mut a)) => { a.extend(b); Want::Map(a) }
                        _ => Want::Map(b),
                    });
                }
                (_, Ok(v)) => *slot = v,
            }
        }
        let conflict = (0..OPTS.len()).any(|i| from_flags[i].is_some() && in_file[i]);
        let text = format!("{{{}}}", body.join(", "));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let e = eff(&refs, Some(&text));
        let fatals = fatal_messages(&e);
        prop_assert_eq!(!fatals.is_empty(), conflict || bad_type,
            "argv {:?} file {} fatals {:?}", args, text, fatals);
        if conflict || bad_type {
            return Ok(());
        }
        for (i, o) in OPTS.iter().enumerate() {
            let (got, src) = observed(&e, *o);
            let (want, want_src) = match (&from_flags[i], &from_file[i]) {
                (Some(v), _) => (v.clone(), Source::Argv),
                (None, Some(v)) => (v.clone(), Source::DaemonJson),
                (None, None) => (default_of(*o), Source::Default),
            };
            prop_assert_eq!(&got, &want, "{:?}: argv {:?} file {}", o, args, text);
            if !matches!(want, Want::List(ref l) if l.is_empty()) && !matches!(want, Want::Map(ref m) if m.is_empty()) {
                prop_assert_eq!(src, want_src, "{:?}: argv {:?} file {}", o, args, text);
            }
        }
    }
}

/// Duplicates with `null`, as dockerd 20.10 ran them (LoggingDriver,
/// Labels and LiveRestoreEnabled from /info, a container's LogConfig).
#[test]
fn a_later_null_is_decoded_as_go_does() {
    let e = eff(
        &[],
        Some(
            r#"{"log-driver": "local", "log-driver": null, "labels": ["a=1"], "labels": null,
                "log-opts": {"max-size": "10m"}, "log-opts": {"max-file": "3"},
                "live-restore": true, "live-restore": null, "icc": false, "icc": null}"#,
        ),
    );
    assert!(fatal_messages(&e).is_empty(), "{:?}", e.problems);
    assert_eq!(e.string(keys::LOG_DRIVER).0.as_deref(), Some("local"));
    assert!(e.list(keys::LABELS).is_empty());
    let opts: Vec<_> = e
        .map(keys::LOG_OPTS)
        .into_iter()
        .map(|(k, (v, _))| (k, v))
        .collect();
    assert_eq!(
        opts,
        [
            ("max-file".into(), "3".into()),
            ("max-size".into(), "10m".into())
        ]
    );
    assert!(e.bool(keys::LIVE_RESTORE).0);
    assert!(e.bool(keys::ICC).0, "false then null: the default");
}

/// Start-up checks found by the engines themselves (tests/live_oracle.rs):
/// each case is what that engine did.
#[test]
fn start_checks_the_oracle_found() {
    let run = |version: &'static str, args: &[&str], text: Option<&str>| {
        let mut c = Case::new(args, text);
        c.version = Some(version);
        fatal_messages(&c.run())
    };
    // v28.0.0 daemon/config/config_linux.go validateHostGatewayIPs.
    let two = [
        "--host-gateway-ip",
        "172.17.0.1",
        "--host-gateway-ip",
        "172.17.0.2",
    ];
    let f = run("28.5.2", &two, None);
    assert!(
        f.iter()
            .any(|m| m == "only one IPv4 host gateway IP address can be specified"),
        "{f:?}"
    );
    let v6 = [
        "--host-gateway-ip",
        "fd00::1",
        "--host-gateway-ip",
        "fd00::2",
    ];
    assert!(
        run("28.5.2", &v6, None)
            .iter()
            .any(|m| m.contains("only one IPv6"))
    );
    let each = [
        "--host-gateway-ip",
        "172.17.0.1",
        "--host-gateway-ip",
        "fd00::1",
    ];
    assert_eq!(run("28.5.2", &each, None), Vec::<String>::new());
    // Before 28.0 the flag is one address; the last one given wins.
    assert_eq!(run("26.1.5", &two, None), Vec::<String>::new());
    // v20.10.24 daemon/config ParseClusterAdvertiseSettings.
    let adv = Some(r#"{"cluster-advertise":"127.0.0.1:2376"}"#);
    assert!(
        run("20.10.24", &[], adv)
            .iter()
            .any(|m| m.contains("--cluster-advertise must be accompanied by --cluster-store"))
    );
    // v20.10.24 daemon/seccomp_linux.go setupSeccompProfile reads the file;
    // 23.0 made `unconfined` and `builtin` keywords.
    for p in ["unconfined", "builtin"] {
        let text = format!(r#"{{"seccomp-profile":"{p}"}}"#);
        let f = run("20.10.24", &[], Some(&text));
        assert!(
            f.iter()
                .any(|m| m.contains(&format!("opening seccomp profile ({p}) failed"))),
            "{p}: {f:?}"
        );
        assert_eq!(run("23.0.0", &[], Some(&text)), Vec::<String>::new(), "{p}");
    }
}

/// Facts of the 29.x releases, which do not run here, from moby's source at
/// each tag (github.com/moby/moby, tags `docker-v29.*`); each case is what
/// dockerd's configuration code at that tag does with the input, judged
/// through the whole model (file, flags, lifecycle, start-up checks).
#[test]
fn facts_of_29_from_the_source() {
    let run = |version: &'static str, args: &[&str], text: Option<&str>| {
        let mut c = Case::new(args, text);
        c.version = Some(version);
        fatal_messages(&c.run())
    };
    let none = Vec::<String>::new();
    let has = |f: &[String], needle: &str| f.iter().any(|m| m.contains(needle));
    // docker-v29.0.0 daemon/config/config.go: `MinAPIVersion` is a file-only
    // key (json:"min-api-version"); v28.5.2 has no such field.
    let min_api = Some(r#"{"min-api-version":"1.24"}"#);
    assert_eq!(run("29.0.0", &[], min_api), none);
    assert!(has(
        &run("28.5.2", &[], min_api),
        "configuration option: min-api-version"
    ));
    // docker-v29.0.0 daemon/config/config_linux.go: `FirewallBackend`.
    let fw = Some(r#"{"firewall-backend":"nftables"}"#);
    assert_eq!(run("29.0.0", &[], fw), none);
    assert!(has(
        &run("28.5.2", &[], fw),
        "configuration option: firewall-backend"
    ));
    // docker-v29.0.0 daemon/config/config.go: the `CorsHeaders` field is
    // gone, so api-cors-header is an unknown key (v28.5.2 refuses it by name).
    let cors = Some(r#"{"api-cors-header":"*"}"#);
    assert!(has(
        &run("29.0.0", &[], cors),
        "configuration option: api-cors-header"
    ));
    assert!(has(&run("28.5.2", &[], cors), "api-cors-header"));
    // docker-v29.0.0 daemon/command/config.go: no
    // --allow-nondistributable-artifacts flag (v28.5.2 still parses it).
    let nd = ["--allow-nondistributable-artifacts", "registry.test:5000"];
    assert!(has(
        &run("29.0.0", &nd, None),
        "unknown flag: --allow-nondistributable-artifacts"
    ));
    assert!(!has(&run("28.5.2", &nd, None), "unknown flag"));
    // docker-v29.2.0 daemon/config/config.go: `nri-opts` joins flatOptions;
    // in docker-v29.1.0 it is no option, its inner keys are checked as keys.
    let nri = Some(r#"{"nri-opts":{"enable":true}}"#);
    assert_eq!(run("29.2.0", &[], nri), none);
    assert!(has(
        &run("29.1.0", &[], nri),
        "configuration option: enable"
    ));
    // docker-v29.7.0 daemon/config/config.go: `default-stop-timeout`.
    let stop = Some(r#"{"default-stop-timeout":30}"#);
    assert_eq!(run("29.7.0", &[], stop), none);
    assert!(has(
        &run("29.6.0", &[], stop),
        "configuration option: default-stop-timeout"
    ));
    // docker-v29.0.0 daemon/command/daemon_linux.go: userns-remap with an
    // explicitly enabled containerd-snapshotter refuses to start; without
    // the feature it turns the store off (a warning only).
    let both = Some(r#"{"userns-remap":"default","features":{"containerd-snapshotter":true}}"#);
    assert!(has(
        &run("29.0.0", &[], both),
        "containerd-snapshotter is explicitly enabled"
    ));
    assert!(!has(&run("28.5.2", &[], both), "containerd-snapshotter"));
    assert_eq!(
        run("29.0.0", &[], Some(r#"{"userns-remap":"default"}"#)),
        none
    );
    // docker-v29.7.2 daemon/config/config.go wraps decode errors as
    // "invalid JSON: %w" (docker-v29.7.1 does not).
    assert!(has(
        &run("29.7.2", &[], Some("{} x")),
        "invalid JSON: invalid character 'x'"
    ));
    assert!(!has(&run("29.7.1", &[], Some("{} x")), "invalid JSON"));
}
