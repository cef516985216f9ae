//! The table of every dockerd option (Linux) from 20.10 to 29.x: one row per
//! option, so a release is a one-line diff. Read in moby's source at each
//! release tag (`cmd/dockerd/config*.go`, from 29 `daemon/command/`, and
//! `daemon/config/config*.go` for the JSON tags and checks), checked
//! against `dockerd --help` of 20.10.24, 26.1.5 and 28.5.2
//! (tests/fixtures/engines/).
//!
//! A row: the long flag, daemon.json key, kind and 20.10 default, then what
//! changed: `since` (the release it appeared in), `life` (what the option
//! is from a release on: deprecated, refused, ignored or unknown), default
//! steps and the releases in which SIGHUP reloads it. Typed keys
//! ([`keys`]) are generated from the row names: a rule cannot read an
//! option that is not in the table.
//!
//! Only [`crate::model::engine::Engine`] and the lookups here compare
//! versions.

use crate::model::engine::{Engine, EngineVersion, v};

/// How a value is parsed (flag) and decoded (daemon.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// pflag bool (`--x`, `--x=false`); file: JSON bool.
    Bool,
    /// pflag string; file: JSON string.
    Str,
    /// pflag int (ParseInt base 0); file: JSON integer (Go `int`).
    Int,
    /// file: Go `uint32`.
    Uint32,
    /// Repeatable list flag; file: array of strings.
    List,
    /// `--x k=v` merged by key; file: object of strings.
    Map,
    /// `--default-ulimit name=soft[:hard]`; file: object of ulimit objects.
    Ulimits,
    /// `--add-runtime name=path`; file: object of runtime objects.
    Runtimes,
    /// `--default-address-pool base=..,size=..`; file: array of objects.
    Pools,
    /// `--default-shm-size 64M`; file: string or number (size).
    Bytes,
    /// IP address (`--ip`); file: string.
    Ip,
    /// file only: object of bools (`features`).
    BoolMap,
    /// file only: any JSON object (`builder`).
    Object,
}

use Kind::*;

/// What an option is in a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Life {
    /// Works.
    Active,
    /// Works, with this warning.
    Deprecated(&'static str),
    /// Accepted and ignored, with this warning (no effect).
    Ignored(&'static str),
    /// dockerd refuses to start when it is set to a non-zero value, with
    /// this message (the zero value passes: the decoded field is the same).
    Refused(&'static str),
    /// Gone: the key is unknown ("don't match any configuration option"),
    /// the flag an unknown flag.
    Unknown,
}

/// A release span `[from, until)`.
pub type Span = (EngineVersion, Option<EngineVersion>);

/// One option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// Long flag name; empty for file-only keys.
    pub flag: &'static str,
    pub short: Option<char>,
    /// daemon.json key; for list/map options the NamedOption name.
    pub key: &'static str,
    pub kind: Kind,
    /// The flag's value is a NamedOption (conflicts are looked up by `key`).
    pub named: bool,
    /// The key is decoded into dockerd's Config (a JSON tag exists); when
    /// false, the key is accepted in daemon.json but has no effect
    /// (except for booleans, which dockerd sets through the flag).
    pub file_field: bool,
    /// The 20.10 default as text (`None`: empty / unset).
    pub default: Option<&'static str>,
    /// Later defaults: from this release on, this value.
    pub default_steps: &'static [(EngineVersion, Option<&'static str>)],
    /// The first release that has the option.
    pub since: EngineVersion,
    /// From this release on, this life (key and flag).
    pub life: &'static [(EngineVersion, Life)],
    /// From this release on, the flag belongs to this row (or not: `false`),
    /// when the flag and the key parted ways.
    pub flag_steps: &'static [(EngineVersion, bool)],
    /// The releases in which SIGHUP reloads it.
    pub reload: Option<Span>,
    /// Once removed, the key that carries the same setting (`graph` ->
    /// `data-root`): what the upgrade fix moves its value to.
    pub successor: Option<&'static str>,
}

const V20: EngineVersion = v(20, 10, 0);

const fn o(flag: &'static str, key: &'static str, kind: Kind, default: &'static str) -> OptionSpec {
    let named = !flag.is_empty() && matches!(kind, List | Map | Ulimits | Runtimes | Pools);
    OptionSpec {
        flag,
        short: None,
        key,
        kind,
        named,
        file_field: true,
        default: if default.is_empty() {
            None
        } else {
            Some(default)
        },
        default_steps: &[],
        since: V20,
        life: &[],
        flag_steps: &[],
        reload: None,
        successor: None,
    }
}

impl OptionSpec {
    const fn successor(mut self, key: &'static str) -> Self {
        self.successor = Some(key);
        self
    }
    const fn short(mut self, c: char) -> Self {
        self.short = Some(c);
        self
    }
    /// `--dns` and `--dns-search` are plain ListOpts (key = flag name).
    const fn unnamed(mut self) -> Self {
        self.named = false;
        self
    }
    /// A NamedOption of another kind (`--default-network-opt`: a map of maps).
    const fn named(mut self) -> Self {
        self.named = true;
        self
    }
    const fn no_field(mut self) -> Self {
        self.file_field = false;
        self
    }
    const fn since(mut self, at: EngineVersion) -> Self {
        self.since = at;
        self
    }
    const fn life(mut self, steps: &'static [(EngineVersion, Life)]) -> Self {
        self.life = steps;
        self
    }
    const fn flag_steps(mut self, steps: &'static [(EngineVersion, bool)]) -> Self {
        self.flag_steps = steps;
        self
    }
    const fn defaults(mut self, steps: &'static [(EngineVersion, Option<&'static str>)]) -> Self {
        self.default_steps = steps;
        self
    }
    /// Reloaded by SIGHUP in every release that has it.
    const fn on_sighup(mut self) -> Self {
        self.reload = Some((V20, None));
        self
    }
    const fn on_sighup_in(mut self, from: EngineVersion, until: Option<EngineVersion>) -> Self {
        self.reload = Some((from, until));
        self
    }

    /// What the option is in `e` (`Unknown` before `since`).
    pub fn life_in(&self, e: &Engine) -> Life {
        if !e.at_least(self.since) {
            return Life::Unknown;
        }
        let mut life = Life::Active;
        for (at, l) in self.life {
            if e.at_least(*at) {
                life = *l;
            }
        }
        life
    }

    /// The option exists in `e` (in any life but `Unknown`).
    pub fn exists_in(&self, e: &Engine) -> bool {
        self.life_in(e) != Life::Unknown
    }

    /// The flag of this row is a flag of `e`.
    pub fn flag_in(&self, e: &Engine) -> bool {
        if self.flag.is_empty() || !self.exists_in(e) {
            return false;
        }
        let mut on = true;
        for (at, b) in self.flag_steps {
            if e.at_least(*at) {
                on = *b;
            }
        }
        on
    }

    /// The default in `e`.
    pub fn default_in(&self, e: &Engine) -> Option<&'static str> {
        let mut d = self.default;
        for (at, x) in self.default_steps {
            if e.at_least(*at) {
                d = *x;
            }
        }
        d
    }

    /// SIGHUP reloads it in `e`.
    pub fn reloads_in(&self, e: &Engine) -> bool {
        self.exists_in(e)
            && self.reload.is_some_and(|(from, until)| {
                e.at_least(from) && until.is_none_or(|u| !e.at_least(u))
            })
    }
}

/// A typed option key: one per row, generated by [`table!`]; `keys::ICC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(usize);

impl Key {
    /// The row.
    pub fn spec(self) -> &'static OptionSpec {
        // Keys are only made by `table!`, from indices into OPTIONS.
        &OPTIONS[self.0]
    }
    /// The daemon.json key.
    pub fn name(self) -> &'static str {
        self.spec().key
    }
    /// The key named `name` (a key read from a file or a remedy spec).
    pub fn of(name: &str) -> Option<Key> {
        OPTIONS.iter().position(|o| o.key == name).map(Key)
    }
    /// Every key.
    pub fn all() -> impl Iterator<Item = Key> {
        (0..OPTIONS.len()).map(Key)
    }
}

macro_rules! table {
    ($($name:ident => $spec:expr,)*) => {
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[repr(usize)]
        enum Row { $($name,)* }
        /// Every option, in table order.
        pub static OPTIONS: &[OptionSpec] = &[$($spec,)*];
        /// The typed key of every option (row name = key in SCREAMING_CASE).
        pub mod keys {
            use super::{Key, Row};
            $(pub const $name: Key = Key(Row::$name as usize);)*
        }
    };
}

// Releases named in the rows.
const V23: EngineVersion = v(23, 0, 0);
const V24: EngineVersion = v(24, 0, 0);
const V25: EngineVersion = v(25, 0, 0);
const V26: EngineVersion = v(26, 0, 0);
const V27: EngineVersion = v(27, 0, 0);
const V28: EngineVersion = v(28, 0, 0);
const V29: EngineVersion = v(29, 0, 0);

const CLUSTER_REMOVED: &str = "Host-discovery and overlay networks with external k/v stores are deprecated. The 'cluster-advertise', 'cluster-store', and 'cluster-store-opt' options have been removed";
const CLUSTER: &[(EngineVersion, Life)] =
    &[(V23, Life::Refused(CLUSTER_REMOVED)), (V24, Life::Unknown)];
const GRAPH: &[(EngineVersion, Life)] = &[
    (
        V20,
        Life::Deprecated(
            "the \"graph\" config file option is deprecated; use \"data-root\" instead",
        ),
    ),
    (
        V23,
        Life::Refused("the \"graph\" config file option is deprecated; use \"data-root\" instead"),
    ),
    (V24, Life::Unknown),
];
const OOM: &[(EngineVersion, Life)] = &[
    (
        V24,
        Life::Deprecated(
            "The \"oom-score-adjust\" option is deprecated and will be removed in the next release",
        ),
    ),
    (
        V25,
        Life::Refused(
            "DEPRECATED: The \"oom-score-adjust\" config parameter and the dockerd \"--oom-score-adjust\" options have been removed.",
        ),
    ),
    (V26, Life::Unknown),
];
const CORS: &[(EngineVersion, Life)] = &[
    (
        V27,
        Life::Ignored(
            "DEPRECATED: The \"api-cors-header\" config parameter and the dockerd \"--api-cors-header\" option will be removed in the next release (ignored unless DOCKERD_DEPRECATED_CORS_HEADER is set)",
        ),
    ),
    (
        V28,
        Life::Refused(
            "DEPRECATED: The \"api-cors-header\" config parameter and the dockerd \"--api-cors-header\" option have been removed; use a reverse proxy if you need CORS headers",
        ),
    ),
    (V29, Life::Unknown),
];
const NONDIST: &[(EngineVersion, Life)] = &[
    (
        V28,
        Life::Deprecated(
            "DEPRECATED: The \"allow-nondistributable-artifacts\" config parameter is deprecated and always enabled; this option will be removed in the next release",
        ),
    ),
    (
        v(28, 1, 0),
        Life::Ignored("pushing nondistributable artifacts is always enabled"),
    ),
];

table! {
    // cmd/dockerd/docker.go, options.go
    VERSION => o("version", "version", Bool, "false").short('v').no_field(),
    HELP => o("help", "help", Bool, "false").short('h').no_field(),
    CONFIG_FILE => o("config-file", "config-file", Str, "/etc/docker/daemon.json").no_field(),
    VALIDATE => o("validate", "validate", Bool, "false").no_field().since(V23),
    DEBUG => o("debug", "debug", Bool, "false").short('D').on_sighup(),
    LOG_LEVEL => o("log-level", "log-level", Str, "info").short('l'),
    LOG_FORMAT => o("log-format", "log-format", Str, "text").since(V25),
    TLS => o("tls", "tls", Bool, "false"),
    TLSVERIFY => o("tlsverify", "tlsverify", Bool, "false"),
    TLSCACERT => o("tlscacert", "tlscacert", Str, ""),
    TLSCERT => o("tlscert", "tlscert", Str, ""),
    TLSKEY => o("tlskey", "tlskey", Str, ""),
    HOSTS => o("host", "hosts", List, "").short('H'),
    // config.go (common)
    ALLOW_NONDISTRIBUTABLE_ARTIFACTS => o("allow-nondistributable-artifacts", "allow-nondistributable-artifacts", List, "").life(NONDIST).flag_steps(&[(V29, false)]).on_sighup_in(V20, Some(V28)),
    REGISTRY_MIRRORS => o("registry-mirror", "registry-mirrors", List, "").on_sighup(),
    INSECURE_REGISTRIES => o("insecure-registry", "insecure-registries", List, "").on_sighup(),
    STORAGE_OPTS => o("storage-opt", "storage-opts", List, ""),
    AUTHORIZATION_PLUGINS => o("authorization-plugin", "authorization-plugins", List, "").on_sighup(),
    EXEC_OPTS => o("exec-opt", "exec-opts", List, ""),
    PIDFILE => o("pidfile", "pidfile", Str, "/var/run/docker.pid").short('p'),
    GRAPH => o("graph", "graph", Str, "").short('g').life(GRAPH).successor("data-root"),
    EXEC_ROOT => o("exec-root", "exec-root", Str, "/var/run/docker"),
    CONTAINERD => o("containerd", "containerd", Str, ""),
    CRI_CONTAINERD => o("cri-containerd", "cri-containerd", Bool, "false"),
    DATA_ROOT => o("data-root", "data-root", Str, "/var/lib/docker"),
    RESTART => o("restart", "restart", Bool, "true").short('r').no_field().life(&[(V20, Life::Deprecated("Please use a restart policy on docker run"))]),
    STORAGE_DRIVER => o("storage-driver", "storage-driver", Str, "").short('s'),
    MTU => o("mtu", "mtu", Int, "0"),
    RAW_LOGS => o("raw-logs", "raw-logs", Bool, "false"),
    DNS => o("dns", "dns", List, "").unnamed(),
    DNS_OPTS => o("dns-opt", "dns-opts", List, ""),
    DNS_SEARCH => o("dns-search", "dns-search", List, "").unnamed(),
    HOST_GATEWAY_IP => o("host-gateway-ip", "host-gateway-ip", Ip, "").flag_steps(&[(V28, false)]).life(&[(V28, Life::Deprecated("host-gateway-ip is deprecated: use host-gateway-ips"))]),
    HOST_GATEWAY_IPS => o("host-gateway-ip", "host-gateway-ips", List, "").since(V28),
    LABELS => o("label", "labels", List, "").on_sighup(),
    LOG_DRIVER => o("log-driver", "log-driver", Str, "json-file"),
    LOG_OPTS => o("log-opt", "log-opts", Map, ""),
    CLUSTER_ADVERTISE => o("cluster-advertise", "cluster-advertise", Str, "").life(CLUSTER).on_sighup_in(V20, Some(V23)),
    CLUSTER_STORE => o("cluster-store", "cluster-store", Str, "").life(CLUSTER).on_sighup_in(V20, Some(V23)),
    CLUSTER_STORE_OPTS => o("cluster-store-opt", "cluster-store-opts", Map, "").life(CLUSTER).on_sighup_in(V20, Some(V23)),
    API_CORS_HEADER => o("api-cors-header", "api-cors-header", Str, "").life(CORS),
    MAX_CONCURRENT_DOWNLOADS => o("max-concurrent-downloads", "max-concurrent-downloads", Int, "3").on_sighup(),
    MAX_CONCURRENT_UPLOADS => o("max-concurrent-uploads", "max-concurrent-uploads", Int, "5").on_sighup(),
    MAX_DOWNLOAD_ATTEMPTS => o("max-download-attempts", "max-download-attempts", Int, "5").on_sighup(),
    SHUTDOWN_TIMEOUT => o("shutdown-timeout", "shutdown-timeout", Int, "15").on_sighup(),
    NETWORK_DIAGNOSTIC_PORT => o("network-diagnostic-port", "network-diagnostic-port", Int, "0").on_sighup(),
    SWARM_DEFAULT_ADVERTISE_ADDR => o("swarm-default-advertise-addr", "swarm-default-advertise-addr", Str, ""),
    EXPERIMENTAL => o("experimental", "experimental", Bool, "false"),
    METRICS_ADDR => o("metrics-addr", "metrics-addr", Str, ""),
    NODE_GENERIC_RESOURCES => o("node-generic-resource", "node-generic-resources", List, ""),
    NETWORK_CONTROL_PLANE_MTU => o("network-control-plane-mtu", "network-control-plane-mtu", Int, "1500"),
    CONTAINERD_NAMESPACE => o("containerd-namespace", "containerd-namespace", Str, "moby"),
    // The JSON tag is "containerd-plugin-namespace" (no s): the flag-named
    // key is accepted but ignored, the tag-named key is unknown.
    CONTAINERD_PLUGINS_NAMESPACE => o("containerd-plugins-namespace", "containerd-plugins-namespace", Str, "plugins.moby").no_field(),
    DEFAULT_NETWORK_OPTS => o("default-network-opt", "default-network-opts", Object, "").named().since(V24),
    CDI_SPEC_DIRS => o("cdi-spec-dir", "cdi-spec-dirs", List, "").since(V25),
    HTTP_PROXY => o("http-proxy", "http-proxy", Str, "").since(V23).no_field(),
    HTTPS_PROXY => o("https-proxy", "https-proxy", Str, "").since(V23).no_field(),
    NO_PROXY => o("no-proxy", "no-proxy", Str, "").since(V23).no_field(),
    PROXIES => o("", "proxies", Object, "").since(V23),
    FEATURES => o("feature", "features", BoolMap, "").on_sighup().flag_steps(&[(V20, false), (v(27, 3, 0), true)]),
    // config_unix.go
    SELINUX_ENABLED => o("selinux-enabled", "selinux-enabled", Bool, "false"),
    DEFAULT_ULIMITS => o("default-ulimit", "default-ulimits", Ulimits, ""),
    IPTABLES => o("iptables", "iptables", Bool, "true"),
    IP6TABLES => o("ip6tables", "ip6tables", Bool, "false").defaults(&[(V27, Some("true"))]),
    IP_FORWARD => o("ip-forward", "ip-forward", Bool, "true"),
    IP_FORWARD_NO_DROP => o("ip-forward-no-drop", "ip-forward-no-drop", Bool, "false").since(V28),
    IP_MASQ => o("ip-masq", "ip-masq", Bool, "true"),
    IPV6 => o("ipv6", "ipv6", Bool, "false"),
    FIXED_CIDR_V6 => o("fixed-cidr-v6", "fixed-cidr-v6", Str, ""),
    BIP6 => o("bip6", "bip6", Str, "").since(V28),
    ALLOW_DIRECT_ROUTING => o("allow-direct-routing", "allow-direct-routing", Bool, "false").since(v(28, 2, 0)),
    BRIDGE_ACCEPT_FWMARK => o("bridge-accept-fwmark", "bridge-accept-fwmark", Str, "").since(V29),
    FIREWALL_BACKEND => o("firewall-backend", "firewall-backend", Str, "").since(V29),
    USERLAND_PROXY => o("userland-proxy", "userland-proxy", Bool, "true"),
    USERLAND_PROXY_PATH => o("userland-proxy-path", "userland-proxy-path", Str, ""),
    CGROUP_PARENT => o("cgroup-parent", "cgroup-parent", Str, ""),
    USERNS_REMAP => o("userns-remap", "userns-remap", Str, ""),
    LIVE_RESTORE => o("live-restore", "live-restore", Bool, "false").on_sighup(),
    OOM_SCORE_ADJUST => o("oom-score-adjust", "oom-score-adjust", Int, "0").life(OOM),
    INIT => o("init", "init", Bool, "false"),
    INIT_PATH => o("init-path", "init-path", Str, ""),
    CPU_RT_PERIOD => o("cpu-rt-period", "cpu-rt-period", Int, "0"),
    CPU_RT_RUNTIME => o("cpu-rt-runtime", "cpu-rt-runtime", Int, "0"),
    SECCOMP_PROFILE => o("seccomp-profile", "seccomp-profile", Str, "").defaults(&[(V23, Some("builtin"))]),
    DEFAULT_SHM_SIZE => o("default-shm-size", "default-shm-size", Bytes, "64MiB").on_sighup(),
    NO_NEW_PRIVILEGES => o("no-new-privileges", "no-new-privileges", Bool, "false"),
    DEFAULT_IPC_MODE => o("default-ipc-mode", "default-ipc-mode", Str, "private").on_sighup(),
    DEFAULT_ADDRESS_POOLS => o("default-address-pool", "default-address-pools", Pools, ""),
    ROOTLESS => o("rootless", "rootless", Bool, "false"),
    // "host" on cgroup v1, "private" on cgroup v2 (unknown to the model).
    DEFAULT_CGROUPNS_MODE => o("default-cgroupns-mode", "default-cgroupns-mode", Str, "host").on_sighup(),
    NRI_OPTS => o("nri-opts", "nri-opts", Object, "").since(v(29, 2, 0)).on_sighup_in(v(29, 2, 0), None),
    // config_common_unix.go
    GROUP => o("group", "group", Str, "docker").short('G'),
    BIP => o("bip", "bip", Str, ""),
    BRIDGE => o("bridge", "bridge", Str, "").short('b'),
    FIXED_CIDR => o("fixed-cidr", "fixed-cidr", Str, ""),
    DEFAULT_GATEWAY => o("default-gateway", "default-gateway", Ip, ""),
    DEFAULT_GATEWAY_V6 => o("default-gateway-v6", "default-gateway-v6", Ip, ""),
    ICC => o("icc", "icc", Bool, "true"),
    IP => o("ip", "ip", Ip, "0.0.0.0"),
    RUNTIMES => o("add-runtime", "runtimes", Runtimes, "").on_sighup(),
    DEFAULT_RUNTIME => o("default-runtime", "default-runtime", Str, "runc").on_sighup(),
    DEFAULT_STOP_TIMEOUT => o("default-stop-timeout", "default-stop-timeout", Int, "10").since(v(29, 7, 0)).on_sighup(),
    // file-only keys exempt from the unknown-key check (skipValidateOptions)
    BUILDER => o("", "builder", Object, ""),
    DEPRECATED_KEY_PATH => o("", "deprecated-key-path", Str, "").no_field(),
    MIN_API_VERSION => o("", "min-api-version", Str, "").since(V29),
}

/// Keys whose object value is kept as is (dockerd's `flatOptions`), with
/// the release that added them; any other object-valued key has its
/// members lifted to the top level.
pub const FLAT_OPTIONS: &[(&str, EngineVersion)] = &[
    ("cluster-store-opts", V20),
    ("log-opts", V20),
    ("runtimes", V20),
    ("default-ulimits", V20),
    ("features", V20),
    ("builder", V20),
    ("default-network-opts", V24),
    ("nri-opts", v(29, 2, 0)),
];

/// `key` is a flatOption in `e`.
pub fn is_flat(key: &str, e: &Engine) -> bool {
    FLAT_OPTIONS
        .iter()
        .any(|(k, since)| *k == key && e.at_least(*since))
}

/// Keys exempt from the flag/file conflict check (`skipDuplicates`).
pub const SKIP_DUPLICATES: &[&str] = &["runtimes"];

/// The option with this long flag name in `e`.
pub fn by_flag(name: &str, e: &Engine) -> Option<&'static OptionSpec> {
    if name.is_empty() {
        return None;
    }
    OPTIONS.iter().find(|o| o.flag == name && o.flag_in(e))
}

/// The option with this shorthand in `e`.
pub fn by_short(c: char, e: &Engine) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.short == Some(c) && o.flag_in(e))
}

/// The row whose daemon.json key is `key` (any release).
pub fn by_key(key: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.key == key)
}

/// How dockerd treats a top-level daemon.json key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Decoded into the configuration: this option.
    Option(&'static OptionSpec),
    /// A flag name that is not a config key (`label`, `host`, `config-file`):
    /// accepted, no effect (booleans are applied through the flag).
    FlagOnly(&'static OptionSpec),
    /// Not accepted: start failure.
    Unknown,
}

/// Classify a daemon.json key as engine `e` does (`flags.Lookup(key)`,
/// NamedOption names, `skipValidateOptions`, the JSON tags).
pub fn classify_key(key: &str, e: &Engine) -> KeyKind {
    if let Some(spec) = by_key(key).filter(|s| s.exists_in(e)) {
        if spec.file_field {
            return KeyKind::Option(spec);
        }
        return KeyKind::FlagOnly(spec);
    }
    if let Some(spec) = by_flag(key, e) {
        return KeyKind::FlagOnly(spec);
    }
    KeyKind::Unknown
}

/// The name pflag prints for a flag in errors: `-H, --host` or `--icc`.
pub fn flag_display(spec: &OptionSpec) -> String {
    match spec.short {
        Some(c) => format!("-{c}, --{}", spec.flag),
        None => format!("--{}", spec.flag),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::engine::EngineVersion;

    fn e(t: &str) -> Engine {
        Engine::of(EngineVersion::parse(t).unwrap())
    }

    #[test]
    fn named_options_use_plural_keys() {
        let e20 = e("20.10.24");
        for (flag, key, named) in [
            ("host", "hosts", true),
            ("label", "labels", true),
            ("log-opt", "log-opts", true),
            ("authorization-plugin", "authorization-plugins", true),
            ("insecure-registry", "insecure-registries", true),
            ("registry-mirror", "registry-mirrors", true),
            ("default-ulimit", "default-ulimits", true),
            ("add-runtime", "runtimes", true),
            ("default-address-pool", "default-address-pools", true),
            ("dns", "dns", false),
            ("dns-search", "dns-search", false),
            ("dns-opt", "dns-opts", true),
            ("icc", "icc", false),
        ] {
            let spec = by_flag(flag, &e20).unwrap_or_else(|| panic!("{flag}"));
            assert_eq!((spec.key, spec.named), (key, named), "{flag}");
        }
    }

    #[test]
    fn shorthands() {
        let e20 = e("20.10.24");
        for (c, flag) in [
            ('H', "host"),
            ('D', "debug"),
            ('l', "log-level"),
            ('G', "group"),
            ('p', "pidfile"),
            ('b', "bridge"),
            ('g', "graph"),
            ('s', "storage-driver"),
            ('v', "version"),
            ('r', "restart"),
        ] {
            assert_eq!(by_short(c, &e20).map(|s| s.flag), Some(flag));
        }
        assert!(by_short('e', &e20).is_none());
        // v24.0.0 cmd/dockerd/config.go: -g is gone with --graph.
        assert!(by_short('g', &e("24.0")).is_none());
    }

    #[test]
    fn keys_are_unique_and_typed_keys_name_their_rows() {
        let mut keys: Vec<&str> = OPTIONS.iter().map(|o| o.key).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);
        assert_eq!(keys::ICC.name(), "icc");
        assert_eq!(keys::HOSTS.spec().flag, "host");
        assert_eq!(Key::of("log-opts"), Some(keys::LOG_OPTS));
        assert_eq!(Key::of("icc-typo"), None);
        for k in Key::all() {
            assert_eq!(Key::of(k.name()), Some(k));
        }
    }

    #[test]
    fn a_flag_belongs_to_one_row_per_release() {
        for line in crate::model::engine::RELEASES {
            let eng = e(line);
            for spec in OPTIONS.iter().filter(|s| s.flag_in(&eng)) {
                let n = OPTIONS
                    .iter()
                    .filter(|o| o.flag == spec.flag && o.flag_in(&eng))
                    .count();
                assert_eq!(n, 1, "--{} in {line}", spec.flag);
            }
        }
    }

    #[test]
    fn classify() {
        let e20 = e("20.10.24");
        assert!(matches!(classify_key("icc", &e20), KeyKind::Option(_)));
        assert!(matches!(classify_key("labels", &e20), KeyKind::Option(_)));
        assert!(matches!(classify_key("label", &e20), KeyKind::FlagOnly(_)));
        assert!(matches!(classify_key("host", &e20), KeyKind::FlagOnly(_)));
        assert!(matches!(classify_key("features", &e20), KeyKind::Option(_)));
        assert_eq!(
            classify_key("containerd-plugin-namespace", &e20),
            KeyKind::Unknown
        );
        assert_eq!(classify_key("ICC", &e20), KeyKind::Unknown);
        assert_eq!(
            classify_key("swarm-raft-heartbeat-tick", &e20),
            KeyKind::Unknown
        );
    }

    #[test]
    fn keys_per_release() {
        // v24.0.0 daemon/config/config.go: DefaultNetworkOpts; v25.0.0: CDISpecDirs.
        assert_eq!(classify_key("cdi-spec-dirs", &e("24.0")), KeyKind::Unknown);
        assert!(matches!(
            classify_key("cdi-spec-dirs", &e("25.0.0")),
            KeyKind::Option(_)
        ));
        assert_eq!(
            classify_key("default-network-opts", &e("23.0")),
            KeyKind::Unknown
        );
        assert!(matches!(
            classify_key("default-network-opts", &e("24.0.0")),
            KeyKind::Option(_)
        ));
        // v28.0.0 daemon/config/config_linux.go: ip-forward-no-drop, bip6.
        assert_eq!(
            classify_key("ip-forward-no-drop", &e("27.5")),
            KeyKind::Unknown
        );
        assert!(matches!(
            classify_key("bip6", &e("28.5.2")),
            KeyKind::Option(_)
        ));
        // v24.0.0: graph and cluster-store are gone (unknown keys).
        assert_eq!(classify_key("graph", &e("24.0.0")), KeyKind::Unknown);
        assert_eq!(
            classify_key("cluster-store", &e("26.1.5")),
            KeyKind::Unknown
        );
        // v26.0.0: oom-score-adjust gone; docker-v29.0.0: api-cors-header gone.
        assert_eq!(
            classify_key("oom-score-adjust", &e("26.1.5")),
            KeyKind::Unknown
        );
        assert!(matches!(
            classify_key("oom-score-adjust", &e("25.0")),
            KeyKind::Option(_)
        ));
        assert_eq!(
            classify_key("api-cors-header", &e("29.0.0")),
            KeyKind::Unknown
        );
        // docker-v29.0.0 daemon/config/config.go: min-api-version (file only).
        assert!(matches!(
            classify_key("min-api-version", &e("29.0.0")),
            KeyKind::Option(_)
        ));
        assert_eq!(
            classify_key("min-api-version", &e("28.5.2")),
            KeyKind::Unknown
        );
    }

    #[test]
    fn lives_defaults_and_reloads() {
        let oom = keys::OOM_SCORE_ADJUST.spec();
        assert_eq!(oom.life_in(&e("23.0")), Life::Active);
        assert!(matches!(oom.life_in(&e("24.0")), Life::Deprecated(_)));
        assert!(
            matches!(oom.life_in(&e("25.0.5")), Life::Refused(m) if m.contains("have been removed"))
        );
        assert_eq!(oom.life_in(&e("26.1.5")), Life::Unknown);
        let cors = keys::API_CORS_HEADER.spec();
        assert!(
            matches!(cors.life_in(&e("28.5.2")), Life::Refused(m) if m.contains("reverse proxy"))
        );
        // v27.0.1 daemon/config/config_linux.go: ip6tables defaults to true.
        let ip6 = keys::IP6TABLES.spec();
        assert_eq!(ip6.default_in(&e("26.1.5")), Some("false"));
        assert_eq!(ip6.default_in(&e("27.0.1")), Some("true"));
        assert_eq!(
            keys::SECCOMP_PROFILE.spec().default_in(&e("20.10.24")),
            None
        );
        assert_eq!(
            keys::SECCOMP_PROFILE.spec().default_in(&e("23.0")),
            Some("builtin")
        );
        // daemon/reload.go: allow-nondistributable-artifacts up to 28.0;
        // docker-v29.7.0: default-stop-timeout.
        let nd = keys::ALLOW_NONDISTRIBUTABLE_ARTIFACTS.spec();
        assert!(nd.reloads_in(&e("27.5")) && !nd.reloads_in(&e("28.0.0")));
        assert!(matches!(nd.life_in(&e("28.0.0")), Life::Deprecated(_)));
        assert!(matches!(nd.life_in(&e("28.1.0")), Life::Ignored(_)));
        assert!(nd.flag_in(&e("28.5.2")) && !nd.flag_in(&e("29.0.0")));
        let st = keys::DEFAULT_STOP_TIMEOUT.spec();
        assert!(!st.reloads_in(&e("29.6")) && st.reloads_in(&e("29.7.2")));
        // v28.0.0 cmd/dockerd/config.go: --host-gateway-ip is the list
        // option named host-gateway-ips.
        assert_eq!(
            by_flag("host-gateway-ip", &e("26.1.5")).map(|s| s.key),
            Some("host-gateway-ip")
        );
        assert_eq!(
            by_flag("host-gateway-ip", &e("28.5.2")).map(|s| s.key),
            Some("host-gateway-ips")
        );
        assert!(is_flat("default-network-opts", &e("24.0")));
        assert!(!is_flat("default-network-opts", &e("23.0")));
    }
}
