use super::*;

const P: &str = "/etc/docker/daemon.json";

fn e23() -> Engine {
    Engine::of(crate::model::engine::v(23, 0, 0))
}

fn pf(text: &str) -> ParsedFile {
    parse_file(P, text, false, &Engine::default())
}

fn fatals(f: &ParsedFile) -> Vec<String> {
    f.problems
        .iter()
        .filter(|p| p.level == ProblemLevel::Fatal)
        .map(|p| {
            p.message
                .trim_start_matches(&format!(
                    "unable to configure the Docker daemon with file {P}: "
                ))
                .to_string()
        })
        .collect()
}

#[test]
fn typed_decode_errors_like_go() {
    for (text, expected) in [
        (
            "{\"icc\": \"false\"}",
            "json: cannot unmarshal string into Go struct field Config.icc of type bool",
        ),
        (
            "{\"icc\": 0}",
            "json: cannot unmarshal number into Go struct field Config.icc of type bool",
        ),
        (
            "{\"mtu\": 1.5}",
            "json: cannot unmarshal number 1.5 into Go struct field Config.mtu of type int",
        ),
        (
            "{\"log-driver\": 1}",
            "json: cannot unmarshal number into Go struct field Config.log-driver of type string",
        ),
        (
            "{\"hosts\": \"tcp://x\"}",
            "json: cannot unmarshal string into Go struct field Config.hosts of type []string",
        ),
        (
            "{\"hosts\": [1]}",
            "json: cannot unmarshal number into Go struct field Config.hosts of type string",
        ),
        (
            "{\"log-opts\": {\"max-size\": 10}}",
            "json: cannot unmarshal number into Go struct field Config.log-opts of type string",
        ),
        ("{\"default-shm-size\": null}", "invalid size: \"null\""),
        (
            "{\"default-shm-size\": 67108864}",
            "invalid size: \"67108864\"",
        ),
        ("{\"default-shm-size\": \"abc\"}", "invalid size: 'abc'"),
        ("{\"ip\": \"1.2.3\"}", "invalid IP address: 1.2.3"),
        (
            "[]",
            "json: cannot unmarshal array into Go value of type map[string]interface {}",
        ),
        (
            "{\"bogus\": 1}",
            "the following directives don't match any configuration option: bogus",
        ),
        (
            "{\"graph\": \"/a\", \"data-root\": \"/b\"}",
            "cannot specify both \"graph\" and \"data-root\" config file options",
        ),
    ] {
        assert_eq!(fatals(&pf(text)), vec![expected.to_string()], "{text}");
    }
}

#[test]
fn accepted_documents() {
    for text in [
        "null",
        "{}",
        "{\"icc\": null}",
        "{\"features\": {\"buildkit\": true}, \"builder\": {\"gc\": {}}}",
        "{\"default-shm-size\": \"128M\", \"default-ulimits\": {\"nofile\": {\"Name\": \"nofile\", \"Soft\": 1, \"Hard\": 2}}}",
        "{\"metadata\": {}}",
        "{\"runtimes\": {\"x\": {\"path\": \"/x\"}}}",
        "{\"default-address-pools\": [{\"base\": \"10.0.0.0/8\", \"size\": 24}]}",
        "{\"mtu\": 1500, \"ip\": \"\", \"deprecated-key-path\": \"x\"}",
    ] {
        let f = pf(text);
        assert!(fatals(&f).is_empty(), "{text}: {:?}", f.problems);
    }
}

#[test]
fn version_rules() {
    let bom = "\u{feff}{\"debug\": true}";
    assert!(!fatals(&pf(bom)).is_empty());
    let f = parse_file(P, bom, false, &e23());
    assert!(fatals(&f).is_empty());
    assert_eq!(
        f.settings.get("debug").map(|s| &s.value),
        Some(&Value::Bool(true))
    );

    assert_eq!(fatals(&pf("")), vec!["EOF (line 1, column 1)".to_string()]);
    assert!(fatals(&parse_file(P, " \n", false, &e23())).is_empty());

    let trailing = "{\"debug\": true} {";
    let f = pf(trailing);
    assert!(fatals(&f).is_empty());
    assert!(
        f.problems
            .iter()
            .any(|p| p.message.contains("ignored by dockerd 20.10"))
    );
    let f = parse_file(P, trailing, false, &e23());
    assert_eq!(
        fatals(&f),
        vec!["invalid character '{' after top-level value (line 1, column 17)".to_string()]
    );
    assert!(!fatals(&parse_file(P, "{}\u{FFFD}", true, &e23())).is_empty());

    // docker-v29.7.2 daemon/config/config.go: "invalid JSON: %w".
    let e29 = Engine::of(crate::model::engine::v(29, 7, 2));
    assert_eq!(
        fatals(&parse_file(P, "{", false, &e29)),
        vec!["invalid JSON: unexpected EOF (line 1, column 2)".to_string()]
    );
}

#[test]
fn keys_and_flat_options_per_release() {
    // v24.0.0 daemon/config/config.go: default-network-opts is a
    // flatOption; 23.0 lifts its members: `bridge` is a flag name, so
    // it is accepted, and nothing of it has an effect.
    let text = r#"{"default-network-opts": {"bridge": {"com.docker.network.bridge.mtu": "1400"}}}"#;
    let e23 = Engine::of(crate::model::engine::v(23, 0, 0));
    let e24 = Engine::of(crate::model::engine::v(24, 0, 0));
    let f = parse_file(P, text, false, &e23);
    assert!(fatals(&f).is_empty(), "{:?}", f.problems);
    assert!(
        f.problems
            .iter()
            .any(|p| p.message.contains("has no effect")),
        "{:?}",
        f.problems
    );
    let f = parse_file(P, text, false, &e24);
    assert!(fatals(&f).is_empty(), "{:?}", f.problems);
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    // v25.0.0: cdi-spec-dirs.
    let cdi = r#"{"cdi-spec-dirs": ["/etc/cdi"]}"#;
    assert_eq!(
        fatals(&parse_file(P, cdi, false, &e24)),
        vec![
            "the following directives don't match any configuration option: cdi-spec-dirs"
                .to_string()
        ]
    );
    let e25 = Engine::of(crate::model::engine::v(25, 0, 0));
    assert!(fatals(&parse_file(P, cdi, false, &e25)).is_empty());
    // v23.0.0 daemon/config/config.go: Proxies `json:"proxies"`.
    let px = r#"{"proxies": {"http-proxy": "http://proxy.example:3128"}}"#;
    let f = parse_file(P, px, false, &e23);
    assert!(f.problems.is_empty(), "{:?}", f.problems);
}

#[test]
fn lifting_applies_bools_and_checks_unknown() {
    let f = pf("{\"metadata\": {\"live-restore\": true, \"log-driver\": \"syslog\"}}");
    assert!(fatals(&f).is_empty(), "{:?}", f.problems);
    assert_eq!(
        f.settings.get("live-restore").map(|s| &s.value),
        Some(&Value::Bool(true))
    );
    assert!(!f.settings.contains_key("log-driver"));
    assert!(f.values_set.contains_key("log-driver"));
    // lifted bools go through ParseBool of %v: "0" works
    let f = pf("{\"x\": {\"icc\": 0}}");
    assert_eq!(
        f.settings.get("icc").map(|s| &s.value),
        Some(&Value::Bool(false))
    );
    // debug / tls are bound to daemonOptions: nested, they do nothing
    let f = pf("{\"x\": {\"debug\": true, \"tls\": true}}");
    assert!(!f.settings.contains_key("debug"));
    assert!(!f.settings.contains_key("tls"));
    let f = pf("{\"x\": {\"tlsverify\": false}}");
    assert_eq!(
        f.settings.get("tlsverify").map(|s| &s.value),
        Some(&Value::Null)
    );
    let f = pf("{\"x\": {\"nope\": 1}}");
    assert_eq!(
        fatals(&f),
        vec!["the following directives don't match any configuration option: nope".to_string()]
    );
    // flat options are not lifted
    let f = pf("{\"log-opts\": {\"icc\": \"x\"}}");
    assert!(fatals(&f).is_empty());
    assert!(!f.values_set.contains_key("icc"));
}

#[test]
fn duplicates_last_wins_with_warning_and_maps_merge() {
    let f = pf("{\n\"icc\": false,\n\"icc\": true\n}");
    assert_eq!(
        f.settings.get("icc").map(|s| &s.value),
        Some(&Value::Bool(true))
    );
    let s = f.settings.get("icc").expect("icc");
    assert_eq!(
        s.evidence.first().map(|e| e.location.as_str()),
        Some("/etc/docker/daemon.json:3")
    );
    assert_eq!(s.evidence.len(), 2);
    assert!(f.problems.iter().any(|p| p.level == ProblemLevel::Warning
        && p.message.contains("duplicate key \"icc\" at lines 2 and 3")));
    let f = pf("{\"log-opts\": {\"a\": \"1\"}, \"log-opts\": {\"b\": \"2\"}}");
    let mut m = BTreeMap::new();
    m.insert("a".to_string(), "1".to_string());
    m.insert("b".to_string(), "2".to_string());
    assert_eq!(
        f.settings.get("log-opts").map(|s| &s.value),
        Some(&Value::Map(m))
    );
}

#[test]
fn flag_only_keys_are_accepted_and_ignored() {
    let f = pf("{\"label\": [\"a=b\"], \"host\": \"x\", \"containerd-plugins-namespace\": \"p\"}");
    assert!(fatals(&f).is_empty());
    assert!(f.settings.is_empty());
    assert_eq!(f.problems.len(), 3);
    assert_eq!(
        fatals(&pf("{\"containerd-plugin-namespace\": \"p\"}")).len(),
        1
    );
}

#[test]
fn evidence_names_line_and_text() {
    let f = pf("{\n  \"hosts\": [\"fd://\",\n  \"tcp://0.0.0.0:2375\"]\n}");
    let s = f.settings.get("hosts").expect("hosts");
    assert_eq!(s.evidence[0].location, "/etc/docker/daemon.json:2");
    assert_eq!(
        s.evidence[0].detail,
        "\"hosts\": [\"fd://\", \"tcp://0.0.0.0:2375\"]"
    );
    assert_eq!(s.evidence[0].source, Source::DaemonJson);
}
