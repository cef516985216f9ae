//! The expected verdicts of the seed profile, shared by the offline fixture
//! tests (`tests/offline/fixtures.rs`) and the live seed suite
//! (`tests/live/seed.rs`): one table per situation, every rule of the
//! report in report order.

/// Every rule of the seed report, in report order.
pub const SEED_RULES: &[&str] = &[
    "daemon.icc",
    "daemon.remote-api-auth",
    "daemon.userland-proxy",
    "daemon.userns-remap",
    "daemon.authorization-plugin",
    "daemon.remote-logging",
    "daemon.live-restore",
    "daemon.remote-api-tls",
    "daemon.experimental",
    "daemon.config-valid",
    "host.dedicated",
];

/// The verdicts for a daemon started with no flags and no config file.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("daemon.icc", "fail"),
    ("daemon.remote-api-auth", "pass"),
    ("daemon.userland-proxy", "fail"),
    ("daemon.userns-remap", "fail"),
    ("daemon.authorization-plugin", "fail"),
    ("daemon.remote-logging", "fail"),
    ("daemon.live-restore", "fail"),
    ("daemon.remote-api-tls", "not_applicable"),
    ("daemon.experimental", "pass"),
    ("daemon.config-valid", "pass"),
    ("host.dedicated", "manual"),
];

/// The verdicts of the seed hardening (flags or daemon.json), no TCP.
pub const HARDENED: &[(&str, &str)] = &[
    ("daemon.icc", "pass"),
    ("daemon.remote-api-auth", "pass"),
    ("daemon.userland-proxy", "pass"),
    ("daemon.userns-remap", "pass"),
    ("daemon.authorization-plugin", "pass"),
    ("daemon.remote-logging", "pass"),
    ("daemon.live-restore", "pass"),
    ("daemon.remote-api-tls", "not_applicable"),
    ("daemon.experimental", "pass"),
    ("daemon.config-valid", "pass"),
    ("host.dedicated", "manual"),
];

/// The verdicts of a configuration dockerd would refuse: config-valid
/// fails, every rule that needs the configuration says `error`.
pub const REFUSED: &[(&str, &str)] = &[
    ("daemon.icc", "error"),
    ("daemon.remote-api-auth", "error"),
    ("daemon.userland-proxy", "error"),
    ("daemon.userns-remap", "error"),
    ("daemon.authorization-plugin", "error"),
    ("daemon.remote-logging", "error"),
    ("daemon.live-restore", "error"),
    ("daemon.remote-api-tls", "error"),
    ("daemon.experimental", "error"),
    ("daemon.config-valid", "fail"),
    ("host.dedicated", "manual"),
];

/// `base` with some verdicts replaced.
pub fn with(
    base: &[(&'static str, &'static str)],
    changes: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    let mut out = base.to_vec();
    for (rule, status) in changes {
        match out.iter_mut().find(|(r, _)| r == rule) {
            Some(slot) => slot.1 = status,
            None => panic!("test bug: unknown rule {rule}"),
        }
    }
    out
}

#[test]
fn every_table_lists_the_seed_rules_in_report_order() {
    for (name, table) in [
        ("DEFAULTS", DEFAULTS),
        ("HARDENED", HARDENED),
        ("REFUSED", REFUSED),
    ] {
        let rules: Vec<&str> = table.iter().map(|(r, _)| *r).collect();
        assert_eq!(rules, SEED_RULES, "{name}");
    }
}
