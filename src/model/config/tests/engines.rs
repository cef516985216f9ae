//! Facts of particular engine releases: Go's decoding of duplicates with
//! `null`, the start-up checks the oracle found, 29.x from the source.

use super::*;

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

/// Start-up checks found by the engines themselves (tests/live/oracle.rs):
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
