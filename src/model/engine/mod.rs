//! What engine version V does: the one place that answers it.
//!
//! Data that varies per release (every option's `since`, removal, default
//! steps and reload span) is in the option table
//! ([`crate::model::config::options`]); behaviour that is code rather than
//! data (how daemon.json is decoded, the start-up checks, what `/info`
//! means) is derived here once from the version, as an [`Engine`] value.
//! Everything else asks the `Engine`; nothing else compares versions.
//!
//! Which version applies is chosen by [`choose`] from the evidence (the
//! API, the daemon's executable, the package database, `--engine-version`)
//! and carried on every view with where it came from ([`EngineChoice`]).

pub mod version;

pub use version::{EngineVersion, NEWEST, OLDEST, v};

use serde::Serialize;

/// Where the engine version of a view came from (JSON report names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionSource {
    /// The daemon's own `GET /version`.
    Api,
    /// The version linked into the dockerd executable (read, never run).
    Executable,
    /// The package database (dpkg status).
    Package,
    /// `--engine-version`.
    Option,
    /// Nothing told: the newest supported engine.
    Assumed,
}

impl VersionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionSource::Api => "api",
            VersionSource::Executable => "executable",
            VersionSource::Package => "package",
            VersionSource::Option => "option",
            VersionSource::Assumed => "assumed",
        }
    }
}

/// Each place a version may come from, as found (raw text and where).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionEvidence {
    /// `--engine-version`.
    pub option: Option<String>,
    /// `/version` `Version`.
    pub api: Option<String>,
    /// (version text, executable path).
    pub executable: Option<(String, String)>,
    /// (version text, "docker.io in /var/lib/dpkg/status").
    pub package: Option<(String, String)>,
}

/// The engine a view is judged as, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineChoice {
    /// The version judged (within 20.10 .. the newest known).
    pub version: EngineVersion,
    /// The text it was read from.
    pub raw: Option<String>,
    pub source: VersionSource,
    /// Where exactly (`/usr/sbin/dockerd`, `docker.io in …/dpkg/status`).
    pub detail: String,
    /// Said in the report: an assumed version, a clamped one, a source that
    /// could not be parsed.
    pub warnings: Vec<String>,
}

impl EngineChoice {
    /// Judge as the newest known engine because nothing told.
    pub fn assumed(why: &str) -> EngineChoice {
        EngineChoice {
            version: NEWEST,
            raw: None,
            source: VersionSource::Assumed,
            detail: why.to_string(),
            warnings: vec![format!(
                "the engine version is unknown ({why}): judged as the newest supported engine, {NEWEST}; pass --engine-version to choose"
            )],
        }
    }

    /// The engine semantics for this choice.
    pub fn engine(&self) -> Engine {
        Engine::of(self.version)
    }
}

/// The first source in `order` that holds a version that parses; sources
/// that hold unparsable text are named in the warnings.
pub fn choose(ev: &VersionEvidence, order: &[VersionSource]) -> EngineChoice {
    let mut warnings = Vec::new();
    for src in order {
        let found: Option<(String, String)> = match src {
            VersionSource::Option => ev.option.clone().map(|t| (t, "--engine-version".into())),
            VersionSource::Api => ev.api.clone().map(|t| (t, "GET /version".into())),
            VersionSource::Executable => ev.executable.clone(),
            VersionSource::Package => ev.package.clone(),
            VersionSource::Assumed => None,
        };
        let Some((raw, detail)) = found else { continue };
        match EngineVersion::parse(&raw) {
            Ok(ver) => {
                let (version, clamp) = ver.clamped();
                warnings.extend(clamp);
                return EngineChoice {
                    version,
                    raw: Some(raw),
                    source: *src,
                    detail,
                    warnings,
                };
            }
            Err(e) => warnings.push(format!("{detail}: {e}")),
        }
    }
    let mut c = EngineChoice::assumed("no API answer, executable or package tells");
    c.warnings.splice(0..0, warnings);
    c
}

/// How dockerd reads daemon.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonRules {
    /// 23.0+ (`json.Unmarshal` after BOM handling): BOM decoded, a blank
    /// file is an empty configuration, trailing data and invalid UTF-8
    /// refused. 20.10 (`json.Decoder`): the first value only.
    pub strict: bool,
    /// Prefix of decode errors (29.7.2+: `invalid JSON: `).
    pub error_prefix: &'static str,
    /// 23.0+: the merged configuration is validated once
    /// ("merged configuration validation from file and command line flags
    /// failed"); 20.10 validates the file, then the merge.
    pub validate_merged_once: bool,
}

/// `verifyDaemonSettings` and `config.Validate` checks that differ per release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartChecks {
    /// ≤26: `ip6tables` needs `experimental`.
    pub ip6tables_needs_experimental: bool,
    /// 27+: `icc=false` with `ipv6` needs `ip6tables`.
    pub icc_needs_ip6tables_with_ipv6: bool,
    /// ≤27: `ipv6` on the default bridge needs `fixed-cidr-v6`.
    pub ipv6_needs_fixed_cidr_v6: bool,
    /// 25.0+: an enabled userland proxy needs its binary.
    pub userland_proxy_binary_required: bool,
    /// 28.0+: `host-gateway-ip` and `host-gateway-ips` exclude each other.
    pub host_gateway_ip_exclusive: bool,
    /// 28.0+: at most one host-gateway address per family
    /// (`validateHostGatewayIPs`).
    pub host_gateway_one_per_family: bool,
    /// ≤20.10: `seccomp-profile` is always a file read at start (`builtin`
    /// and `unconfined` are keywords from 23.0).
    pub seccomp_profile_always_a_file: bool,
    /// 28.0+: `-b` and `--bip6` exclude each other.
    pub bridge_excludes_bip6: bool,
    /// 29.0+: userns-remap refuses an explicitly enabled containerd store.
    pub userns_remap_excludes_containerd_store: bool,
}

/// What `/info` says and means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfoSemantics {
    /// SecurityOptions `name=seccomp,profile=X` for the built-in profile:
    /// `default` (20.10) or `builtin` (23.0+).
    pub seccomp_default_name: &'static str,
    /// 23.0+: `unconfined` is a keyword, not a file name.
    pub seccomp_unconfined_keyword: bool,
    /// 24.0+: SecurityOptions lists `name=no-new-privileges` when it is on.
    pub reports_no_new_privileges: bool,
    /// Prefix of the plain-TCP warnings: `WARNING` (≤25) or
    /// `[DEPRECATION NOTICE]` (26+).
    pub tcp_warning_prefix: &'static str,
}

/// Storage drivers refused at start, with the release that removed them.
const REMOVED_STORAGE_DRIVERS: &[(&str, EngineVersion)] = &[
    ("aufs", v(24, 0, 0)),
    ("overlay", v(24, 0, 0)),
    ("devicemapper", v(25, 0, 0)),
];

/// Log drivers gone, with the release that removed them.
const REMOVED_LOG_DRIVERS: &[(&str, EngineVersion)] = &[("logentries", v(25, 0, 0))];

/// The newest Engine API version of each release that changed it.
const API_MAX: &[(EngineVersion, &str)] = &[
    (v(20, 10, 0), "1.41"),
    (v(23, 0, 0), "1.42"),
    (v(24, 0, 0), "1.43"),
    (v(25, 0, 0), "1.44"),
    (v(26, 0, 0), "1.45"),
    (v(27, 0, 0), "1.46"),
    (v(27, 2, 0), "1.47"),
    (v(28, 0, 0), "1.48"),
    (v(28, 1, 0), "1.49"),
    (v(28, 2, 0), "1.50"),
    (v(28, 3, 0), "1.51"),
    (v(29, 0, 0), "1.52"),
    (v(29, 2, 0), "1.53"),
    (v(29, 3, 0), "1.54"),
    (v(29, 6, 0), "1.55"),
];

/// The oldest API version each release accepts.
const API_MIN: &[(EngineVersion, &str)] = &[
    (v(20, 10, 0), "1.12"),
    (v(25, 0, 0), "1.24"),
    (v(29, 0, 0), "1.44"),
    (v(29, 3, 0), "1.40"),
];

/// The release lines dockhard knows (for `dockhard rules` and docs).
pub const RELEASES: &[&str] = &[
    "20.10", "23.0", "24.0", "25.0", "26.0", "26.1", "27.0", "27.1", "27.2", "27.3", "27.4",
    "27.5", "28.0", "28.1", "28.2", "28.3", "28.4", "28.5", "29.0", "29.1", "29.2", "29.3", "29.4",
    "29.5", "29.6", "29.7",
];

fn step<T: Copy>(steps: &[(EngineVersion, T)], at: EngineVersion, before: T) -> T {
    steps
        .iter()
        .rev()
        .find(|(since, _)| at >= *since)
        .map(|(_, t)| *t)
        .unwrap_or(before)
}

/// Engine release `version`'s semantics, derived once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Engine {
    pub version: EngineVersion,
    pub json: JsonRules,
    pub checks: StartChecks,
    pub info: InfoSemantics,
    /// The newest and oldest Engine API versions it serves.
    pub api_max: &'static str,
    pub api_min: &'static str,
}

impl Engine {
    /// The semantics of `version` (clamped to what is modelled).
    pub fn of(version: EngineVersion) -> Engine {
        let version = version.clamped().0;
        let at = |since: EngineVersion| version >= since;
        Engine {
            version,
            json: JsonRules {
                strict: at(v(23, 0, 0)),
                error_prefix: if at(v(29, 7, 2)) {
                    "invalid JSON: "
                } else {
                    ""
                },
                validate_merged_once: at(v(23, 0, 0)),
            },
            checks: StartChecks {
                ip6tables_needs_experimental: !at(v(27, 0, 0)),
                icc_needs_ip6tables_with_ipv6: at(v(27, 0, 0)),
                ipv6_needs_fixed_cidr_v6: !at(v(28, 0, 0)),
                userland_proxy_binary_required: at(v(25, 0, 0)),
                host_gateway_ip_exclusive: at(v(28, 0, 0)),
                host_gateway_one_per_family: at(v(28, 0, 0)),
                seccomp_profile_always_a_file: !at(v(23, 0, 0)),
                bridge_excludes_bip6: at(v(28, 0, 0)),
                userns_remap_excludes_containerd_store: at(v(29, 0, 0)),
            },
            info: InfoSemantics {
                seccomp_default_name: if at(v(23, 0, 0)) {
                    "builtin"
                } else {
                    "default"
                },
                seccomp_unconfined_keyword: at(v(23, 0, 0)),
                reports_no_new_privileges: at(v(24, 0, 0)),
                tcp_warning_prefix: if at(v(26, 0, 0)) {
                    "[DEPRECATION NOTICE]"
                } else {
                    "WARNING"
                },
            },
            api_max: step(API_MAX, version, "1.41"),
            api_min: step(API_MIN, version, "1.12"),
        }
    }

    /// The engine dockhard assumes when nothing tells (the newest known).
    pub fn newest() -> Engine {
        Engine::of(NEWEST)
    }

    /// This engine is release `since` or later (for the option table).
    pub fn at_least(&self, since: EngineVersion) -> bool {
        self.version >= since
    }

    /// The release that removed storage driver `name`, if this engine no
    /// longer has it.
    pub fn removed_storage_driver(&self, name: &str) -> Option<EngineVersion> {
        REMOVED_STORAGE_DRIVERS
            .iter()
            .find(|(n, since)| *n == name && self.version >= *since)
            .map(|(_, s)| *s)
    }

    /// The release that removed log driver `name`, if this engine no longer
    /// has it.
    pub fn removed_log_driver(&self, name: &str) -> Option<EngineVersion> {
        REMOVED_LOG_DRIVERS
            .iter()
            .find(|(n, since)| *n == name && self.version >= *since)
            .map(|(_, s)| *s)
    }

    /// The storage drivers this engine can use at all (for rules about one).
    pub fn has_storage_driver(&self, name: &str) -> bool {
        self.removed_storage_driver(name).is_none()
    }
}

impl Default for Engine {
    /// 20.10: the engine the model was first written for (tests).
    fn default() -> Self {
        Engine::of(OLDEST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(text: &str) -> Engine {
        Engine::of(EngineVersion::parse(text).unwrap())
    }

    #[test]
    fn json_rules_per_release() {
        // moby v20.10.24 daemon/config/config.go getConflictFreeConfiguration
        // (json.NewDecoder) vs v23.0.0 (json.Unmarshal after BOM transform).
        assert!(!e("20.10.24").json.strict);
        assert!(e("23.0.0").json.strict);
        // docker-v29.7.2 daemon/config/config.go: "invalid JSON: %w" (not
        // in docker-v29.7.0 or docker-v29.7.1).
        assert_eq!(e("29.7.1").json.error_prefix, "");
        assert_eq!(e("29.7.2").json.error_prefix, "invalid JSON: ");
    }

    #[test]
    fn start_checks_per_release() {
        // v26.1.5 daemon/daemon_unix.go verifyDaemonSettings: ip6tables
        // needs experimental; v27.0.1 drops it and adds the icc/ip6tables check.
        let c26 = e("26.1.5").checks;
        let c27 = e("27.0.1").checks;
        assert!(c26.ip6tables_needs_experimental && !c26.icc_needs_ip6tables_with_ipv6);
        assert!(!c27.ip6tables_needs_experimental && c27.icc_needs_ip6tables_with_ipv6);
        // v27.5.1 daemon/daemon_unix.go: "IPv6 is enabled for the default
        // bridge, but no subnet is configured"; gone in v28.0.0.
        assert!(e("27.5").checks.ipv6_needs_fixed_cidr_v6);
        assert!(!e("28.0.0").checks.ipv6_needs_fixed_cidr_v6);
        // v25.0.0 daemon/daemon_unix.go: userland-proxy-path lookup.
        assert!(!e("24.0").checks.userland_proxy_binary_required);
        assert!(e("25.0.0").checks.userland_proxy_binary_required);
        // docker-v29.0.0 daemon/daemon_unix.go: userns-remap vs the
        // containerd snapshotter.
        assert!(!e("28.5.2").checks.userns_remap_excludes_containerd_store);
        assert!(e("29.0.0").checks.userns_remap_excludes_containerd_store);
    }

    #[test]
    fn info_semantics_per_release() {
        // v23.0.0 profiles/seccomp: the default profile is named "builtin".
        assert_eq!(e("20.10.24").info.seccomp_default_name, "default");
        assert_eq!(e("23.0.0").info.seccomp_default_name, "builtin");
        // v24.0.0 daemon/info.go: name=no-new-privileges.
        assert!(!e("23.0").info.reports_no_new_privileges);
        assert!(e("24.0.0").info.reports_no_new_privileges);
        // v26.0.0 daemon/info.go: "[DEPRECATION NOTICE]: API is accessible".
        assert_eq!(e("25.0").info.tcp_warning_prefix, "WARNING");
        assert_eq!(e("26.0.0").info.tcp_warning_prefix, "[DEPRECATION NOTICE]");
    }

    #[test]
    fn api_versions() {
        assert_eq!(
            (e("20.10.24").api_max, e("20.10.24").api_min),
            ("1.41", "1.12")
        );
        assert_eq!(e("26.1.5").api_max, "1.45");
        assert_eq!((e("28.5.2").api_max, e("28.5.2").api_min), ("1.51", "1.24"));
        // docker-v29.0.0 api/server: minimum 1.44; docker-v29.3.0 lowers it to 1.40.
        assert_eq!(e("29.2.1").api_min, "1.44");
        assert_eq!((e("29.7.2").api_max, e("29.7.2").api_min), ("1.55", "1.40"));
    }

    #[test]
    fn removed_drivers() {
        assert_eq!(e("23.0").removed_storage_driver("aufs"), None);
        assert_eq!(
            e("24.0.0").removed_storage_driver("aufs"),
            Some(v(24, 0, 0))
        );
        assert!(e("24.0").has_storage_driver("devicemapper"));
        assert!(!e("25.0.0").has_storage_driver("devicemapper"));
        assert!(e("28.5.2").has_storage_driver("overlay2"));
        assert_eq!(
            e("25.0.0").removed_log_driver("logentries"),
            Some(v(25, 0, 0))
        );
        assert_eq!(e("24.0").removed_log_driver("logentries"), None);
    }

    #[test]
    fn choosing() {
        let ev = VersionEvidence {
            option: None,
            api: Some("28.5.2".into()),
            executable: Some(("20.10.24+dfsg1".into(), "/usr/sbin/dockerd".into())),
            package: Some(("26.1.5+dfsg1-9".into(), "docker.io".into())),
        };
        use VersionSource::*;
        let c = choose(&ev, &[Api, Executable, Package]);
        assert_eq!((c.version, c.source), (v(28, 5, 2), Api));
        let c = choose(&ev, &[Package, Executable]);
        assert_eq!((c.version, c.source), (v(26, 1, 5), Package));
        let c = choose(&VersionEvidence::default(), &[Api, Executable, Package]);
        assert_eq!((c.version, c.source), (NEWEST, Assumed));
        assert!(c.warnings[0].contains("unknown"));
        let bad = VersionEvidence {
            api: Some("garbage".into()),
            package: Some(("20.10.5".into(), "p".into())),
            ..Default::default()
        };
        let c = choose(&bad, &[Api, Package]);
        assert_eq!((c.version, c.source), (v(20, 10, 5), Package));
        assert!(c.warnings[0].contains("garbage"));
    }
}
