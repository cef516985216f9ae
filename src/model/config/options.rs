//! The table of every dockerd 20.10 option (Linux), from moby v20.10.24
//! `cmd/dockerd/{docker,options,config,config_unix,config_common_unix}.go`
//! and `daemon/config/config*.go` (JSON tags), checked against
//! `dockerd --help` of the installed 20.10.24.

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
    /// Default as text (`None`: empty / unset).
    pub default: Option<&'static str>,
    /// SIGHUP reloads it.
    pub reloadable: bool,
}

const fn o(
    flag: &'static str,
    short: Option<char>,
    key: &'static str,
    kind: Kind,
    default: Option<&'static str>,
) -> OptionSpec {
    let named = !flag.is_empty() && matches!(kind, List | Map | Ulimits | Runtimes | Pools);
    OptionSpec {
        flag,
        short,
        key,
        kind,
        named,
        file_field: true,
        default,
        reloadable: false,
    }
}

/// `--dns` and `--dns-search` are plain ListOpts (key = flag name).
const fn unnamed(mut s: OptionSpec) -> OptionSpec {
    s.named = false;
    s
}

const fn reload(mut s: OptionSpec) -> OptionSpec {
    s.reloadable = true;
    s
}

const fn no_field(mut s: OptionSpec) -> OptionSpec {
    s.file_field = false;
    s
}

/// Every option.
pub static OPTIONS: &[OptionSpec] = &[
    // cmd/dockerd/docker.go, options.go
    no_field(o("version", Some('v'), "version", Bool, Some("false"))),
    no_field(o("help", Some('h'), "help", Bool, Some("false"))),
    no_field(o(
        "config-file",
        None,
        "config-file",
        Str,
        Some("/etc/docker/daemon.json"),
    )),
    reload(o("debug", Some('D'), "debug", Bool, Some("false"))),
    o("log-level", Some('l'), "log-level", Str, Some("info")),
    o("tls", None, "tls", Bool, Some("false")),
    o("tlsverify", None, "tlsverify", Bool, Some("false")),
    o("tlscacert", None, "tlscacert", Str, None),
    o("tlscert", None, "tlscert", Str, None),
    o("tlskey", None, "tlskey", Str, None),
    o("host", Some('H'), "hosts", List, None),
    // config.go (common)
    reload(o(
        "allow-nondistributable-artifacts",
        None,
        "allow-nondistributable-artifacts",
        List,
        None,
    )),
    reload(o("registry-mirror", None, "registry-mirrors", List, None)),
    reload(o(
        "insecure-registry",
        None,
        "insecure-registries",
        List,
        None,
    )),
    o("storage-opt", None, "storage-opts", List, None),
    reload(o(
        "authorization-plugin",
        None,
        "authorization-plugins",
        List,
        None,
    )),
    o("exec-opt", None, "exec-opts", List, None),
    o(
        "pidfile",
        Some('p'),
        "pidfile",
        Str,
        Some("/var/run/docker.pid"),
    ),
    o("graph", Some('g'), "graph", Str, None),
    o("exec-root", None, "exec-root", Str, Some("/var/run/docker")),
    o("containerd", None, "containerd", Str, None),
    o(
        "cri-containerd",
        None,
        "cri-containerd",
        Bool,
        Some("false"),
    ),
    o("data-root", None, "data-root", Str, Some("/var/lib/docker")),
    no_field(o("restart", Some('r'), "restart", Bool, Some("true"))),
    o("storage-driver", Some('s'), "storage-driver", Str, None),
    o("mtu", None, "mtu", Int, Some("0")),
    o("raw-logs", None, "raw-logs", Bool, Some("false")),
    unnamed(o("dns", None, "dns", List, None)),
    o("dns-opt", None, "dns-opts", List, None),
    unnamed(o("dns-search", None, "dns-search", List, None)),
    o("host-gateway-ip", None, "host-gateway-ip", Ip, None),
    reload(o("label", None, "labels", List, None)),
    o("log-driver", None, "log-driver", Str, Some("json-file")),
    o("log-opt", None, "log-opts", Map, None),
    reload(o("cluster-advertise", None, "cluster-advertise", Str, None)),
    reload(o("cluster-store", None, "cluster-store", Str, None)),
    reload(o(
        "cluster-store-opt",
        None,
        "cluster-store-opts",
        Map,
        None,
    )),
    o("api-cors-header", None, "api-cors-header", Str, None),
    reload(o(
        "max-concurrent-downloads",
        None,
        "max-concurrent-downloads",
        Int,
        Some("3"),
    )),
    reload(o(
        "max-concurrent-uploads",
        None,
        "max-concurrent-uploads",
        Int,
        Some("5"),
    )),
    reload(o(
        "max-download-attempts",
        None,
        "max-download-attempts",
        Int,
        Some("5"),
    )),
    reload(o(
        "shutdown-timeout",
        None,
        "shutdown-timeout",
        Int,
        Some("15"),
    )),
    reload(o(
        "network-diagnostic-port",
        None,
        "network-diagnostic-port",
        Int,
        Some("0"),
    )),
    o(
        "swarm-default-advertise-addr",
        None,
        "swarm-default-advertise-addr",
        Str,
        None,
    ),
    o("experimental", None, "experimental", Bool, Some("false")),
    o("metrics-addr", None, "metrics-addr", Str, None),
    o(
        "node-generic-resource",
        None,
        "node-generic-resources",
        List,
        None,
    ),
    o(
        "network-control-plane-mtu",
        None,
        "network-control-plane-mtu",
        Int,
        Some("1500"),
    ),
    o(
        "containerd-namespace",
        None,
        "containerd-namespace",
        Str,
        Some("moby"),
    ),
    // The JSON tag is "containerd-plugin-namespace" (no s): the flag-named
    // key is accepted but ignored, the tag-named key is unknown (20.10 bug).
    no_field(o(
        "containerd-plugins-namespace",
        None,
        "containerd-plugins-namespace",
        Str,
        Some("plugins.moby"),
    )),
    // config_unix.go
    o(
        "selinux-enabled",
        None,
        "selinux-enabled",
        Bool,
        Some("false"),
    ),
    o("default-ulimit", None, "default-ulimits", Ulimits, None),
    o("iptables", None, "iptables", Bool, Some("true")),
    o("ip6tables", None, "ip6tables", Bool, Some("false")),
    o("ip-forward", None, "ip-forward", Bool, Some("true")),
    o("ip-masq", None, "ip-masq", Bool, Some("true")),
    o("ipv6", None, "ipv6", Bool, Some("false")),
    o("fixed-cidr-v6", None, "fixed-cidr-v6", Str, None),
    o("userland-proxy", None, "userland-proxy", Bool, Some("true")),
    o(
        "userland-proxy-path",
        None,
        "userland-proxy-path",
        Str,
        None,
    ),
    o("cgroup-parent", None, "cgroup-parent", Str, None),
    o("userns-remap", None, "userns-remap", Str, None),
    reload(o("live-restore", None, "live-restore", Bool, Some("false"))),
    o("oom-score-adjust", None, "oom-score-adjust", Int, Some("0")),
    o("init", None, "init", Bool, Some("false")),
    o("init-path", None, "init-path", Str, None),
    o("cpu-rt-period", None, "cpu-rt-period", Int, Some("0")),
    o("cpu-rt-runtime", None, "cpu-rt-runtime", Int, Some("0")),
    o("seccomp-profile", None, "seccomp-profile", Str, None),
    reload(o(
        "default-shm-size",
        None,
        "default-shm-size",
        Bytes,
        Some("64MiB"),
    )),
    o(
        "no-new-privileges",
        None,
        "no-new-privileges",
        Bool,
        Some("false"),
    ),
    reload(o(
        "default-ipc-mode",
        None,
        "default-ipc-mode",
        Str,
        Some("private"),
    )),
    o(
        "default-address-pool",
        None,
        "default-address-pools",
        Pools,
        None,
    ),
    o("rootless", None, "rootless", Bool, Some("false")),
    // "host" on cgroup v1, "private" on cgroup v2 (unknown to the model).
    reload(o(
        "default-cgroupns-mode",
        None,
        "default-cgroupns-mode",
        Str,
        Some("host"),
    )),
    // config_common_unix.go
    o("group", Some('G'), "group", Str, Some("docker")),
    o("bip", None, "bip", Str, None),
    o("bridge", Some('b'), "bridge", Str, None),
    o("fixed-cidr", None, "fixed-cidr", Str, None),
    o("default-gateway", None, "default-gateway", Ip, None),
    o("default-gateway-v6", None, "default-gateway-v6", Ip, None),
    o("icc", None, "icc", Bool, Some("true")),
    o("ip", None, "ip", Ip, Some("0.0.0.0")),
    reload(o("add-runtime", None, "runtimes", Runtimes, None)),
    reload(o(
        "default-runtime",
        None,
        "default-runtime",
        Str,
        Some("runc"),
    )),
    // file-only keys accepted by 20.10 (skipValidateOptions)
    reload(o("", None, "features", BoolMap, None)),
    o("", None, "builder", Object, None),
    no_field(o("", None, "deprecated-key-path", Str, None)),
];

/// Keys whose object value is kept as is (dockerd's `flatOptions`); any
/// other object-valued key has its members lifted to the top level.
pub const FLAT_OPTIONS: &[&str] = &[
    "cluster-store-opts",
    "log-opts",
    "runtimes",
    "default-ulimits",
    "features",
    "builder",
];

/// Keys exempt from the flag/file conflict check (`skipDuplicates`).
pub const SKIP_DUPLICATES: &[&str] = &["runtimes"];

/// The option with this long flag name.
pub fn by_flag(name: &str) -> Option<&'static OptionSpec> {
    if name.is_empty() {
        return None;
    }
    OPTIONS.iter().find(|o| o.flag == name)
}

/// The option with this shorthand.
pub fn by_short(c: char) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.short == Some(c))
}

/// The option whose daemon.json key is `key`.
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

/// Classify a daemon.json key as dockerd 20.10 does (`flags.Lookup(key)`,
/// NamedOption names, `skipValidateOptions`).
pub fn classify_key(key: &str) -> KeyKind {
    if let Some(spec) = by_key(key) {
        if spec.file_field {
            return KeyKind::Option(spec);
        }
        return KeyKind::FlagOnly(spec);
    }
    if let Some(spec) = by_flag(key) {
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

    #[test]
    fn named_options_use_plural_keys() {
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
            let spec = by_flag(flag).unwrap_or_else(|| panic!("{flag}"));
            assert_eq!((spec.key, spec.named), (key, named), "{flag}");
        }
    }

    #[test]
    fn shorthands() {
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
            assert_eq!(by_short(c).map(|s| s.flag), Some(flag));
        }
        assert!(by_short('e').is_none());
    }

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<&str> = OPTIONS.iter().map(|o| o.key).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn classify() {
        assert!(matches!(classify_key("icc"), KeyKind::Option(_)));
        assert!(matches!(classify_key("labels"), KeyKind::Option(_)));
        assert!(matches!(classify_key("label"), KeyKind::FlagOnly(_)));
        assert!(matches!(classify_key("host"), KeyKind::FlagOnly(_)));
        assert!(matches!(classify_key("features"), KeyKind::Option(_)));
        assert_eq!(
            classify_key("containerd-plugin-namespace"),
            KeyKind::Unknown
        );
        assert_eq!(classify_key("ICC"), KeyKind::Unknown);
        assert_eq!(classify_key("swarm-raft-heartbeat-tick"), KeyKind::Unknown);
    }
}
