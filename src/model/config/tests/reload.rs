//! SIGHUP: what a reload takes from a changed daemon.json.

use super::*;

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
