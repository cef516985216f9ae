//! Tests of the combined semantics: argv + daemon.json -> Effective.

use super::*;
use crate::model::engine::EngineVersion;

mod engines;
mod listeners;
mod reference;
mod reload;

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
