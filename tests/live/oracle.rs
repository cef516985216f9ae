//! Each real engine is its own oracle (issue 10): a table of cases, each a
//! daemon.json body and/or dockerd flags, started on the three real engines
//! (20.10.24, 26.1.5, 28.5.2; `support::engines`) with private paths, each
//! attempt in a network namespace of its own (`support::try_start_then`).
//! What the engine did is asserted first (`oracle_engines_behave_as_recorded`:
//! started, or refused with the recorded phrase), then dockhard's
//! `daemon.config-valid` must say the same:
//!
//! - live: a started engine, `dockhard check --pid PID`: `pass`;
//! - offline: `dockhard check --root TREE`, TREE laid out as the engine's
//!   package installs it (its docker.service and docker.socket, dockerd and
//!   docker-proxy, `var/lib/dpkg/status` naming its docker.io version), the
//!   case's daemon.json in etc/docker/ and its flags in `DOCKER_OPTS` of
//!   etc/default/docker: `pass` when it started, else `fail` with the
//!   engine's phrase in the message;
//! - the upgrade check: the 20.10 tree of the case judged with
//!   `--engine-version 26.1.5` / `28.5.2` says what that engine did.
//!
//! Not asserted on dockhard: refusals this host decides, not the version
//! (`HostRefuse`: 20.10 has aufs and devicemapper, this kernel and setup
//! do not; Debian's docker.io 20.10 is built without libkv's consul, etcd
//! and zookeeper stores, so its `cluster-store` fails where docker-ce's
//! would connect), and `--validate` (exits 0 without serving: not a daemon).
//!
//! The attempts run in parallel (`DOCKHARD_ORACLE_JOBS`, default 3); the
//! observed table is printed to stdout and written to
//! `CARGO_TARGET_TMPDIR/oracle-table.md`.
//!
//! Observed on this machine (engine start with the case; first relevant
//! output line):
//!
//! | case | 20.10.24 | 26.1.5 | 28.5.2 |
//! |---|---|---|---|
//! | empty object | started | started | started |
//! | icc=false iptables=false (all versions refuse) | REFUSED: You specified --iptables=false with --icc=false. ICC=false uses iptabl… | REFUSED: You specified --iptables=false with --icc=false. ICC=false uses iptabl… | REFUSED: You specified --iptables=false with --icc=false. ICC=false uses iptabl… |
//! | features key (exempt from the unknown-key check) | started | started | started |
//! | deprecated-key-path key (file only, exempt) | started | started | started |
//! | min-api-version key (29.0+) | REFUSED: unknown key: min-api-version | REFUSED: unknown key: min-api-version | REFUSED: unknown key: min-api-version |
//! | nri-opts key (29.2+: not a flat option before, its inner keys are unknown) | REFUSED: unknown key: enable | REFUSED: unknown key: enable | REFUSED: unknown key: enable |
//! | firewall-backend key (29.0+) | REFUSED: unknown key: firewall-backend | REFUSED: unknown key: firewall-backend | REFUSED: unknown key: firewall-backend |
//! | cdi-spec-dirs key | REFUSED: unknown key: cdi-spec-dirs | started | started |
//! | --cdi-spec-dir | REFUSED: unknown flag: --cdi-spec-dir | started | started |
//! | log-format key | REFUSED: unknown key: log-format | started | started |
//! | --log-format | REFUSED: unknown flag: --log-format | started | started |
//! | default-network-opts {bridge:{mtu}} (20.10: inner key `bridge` is a key) | started | started | started |
//! | default-network-opts {overlay:{mtu}} | REFUSED: unknown key: overlay | started | started |
//! | --default-network-opt | REFUSED: unknown flag: --default-network-opt | started | started |
//! | ip-forward-no-drop key | REFUSED: unknown key: ip-forward-no-drop | REFUSED: unknown key: ip-forward-no-drop | started |
//! | --ip-forward-no-drop | REFUSED: unknown flag: --ip-forward-no-drop | REFUSED: unknown flag: --ip-forward-no-drop | started |
//! | bip6 key | REFUSED: unknown key: bip6 | REFUSED: unknown key: bip6 | started |
//! | --bip6 | REFUSED: unknown flag: --bip6 | REFUSED: unknown flag: --bip6 | started |
//! | allow-direct-routing key | REFUSED: unknown key: allow-direct-routing | REFUSED: unknown key: allow-direct-routing | started |
//! | --allow-direct-routing | REFUSED: unknown flag: --allow-direct-routing | REFUSED: unknown flag: --allow-direct-routing | started |
//! | host-gateway-ips key | REFUSED: unknown key: host-gateway-ips | REFUSED: unknown key: host-gateway-ips | started |
//! | host-gateway-ip key alone | started | started | started |
//! | host-gateway-ip + host-gateway-ips | REFUSED: unknown key: host-gateway-ips | REFUSED: unknown key: host-gateway-ips | REFUSED: host-gateway-ip and host-gateway-ips must not both be specified in the… |
//! | --host-gateway-ip twice (IPv4) | started | started | REFUSED: only one IPv4 host gatew… |
//! | --feature | REFUSED: unknown flag: --feature | REFUSED: unknown flag: --feature | started |
//! | --http-proxy | REFUSED: unknown flag: --http-proxy | started | started |
//! | --https-proxy | REFUSED: unknown flag: --https-proxy | started | started |
//! | --no-proxy | REFUSED: unknown flag: --no-proxy | started | started |
//! | proxies key (20.10: its inner keys are unknown) | REFUSED: unknown key: http-proxy, no-proxy | started | started |
//! | --validate | REFUSED: unknown flag: --validate | exited 0: configuration OK | exited 0: configuration OK |
//! | --validate with ip6tables but no experimental (not a start-up check) | REFUSED: unknown flag: --validate | exited 0: configuration OK | exited 0: configuration OK |
//! | --validate with an unknown key | REFUSED: unknown flag: --validate | REFUSED: unknown key: cdi-spec-dirz | REFUSED: unknown key: cdi-spec-dirz |
//! | seccomp-profile unconfined | REFUSED: opening seccomp profile (unconfined) failed: open unconfined: no such … | started | started |
//! | seccomp-profile builtin | REFUSED: opening seccomp profile (builtin) failed: open builtin: no such file o… | started | started |
//! | graph key | started | REFUSED: unknown key: graph | REFUSED: unknown key: graph |
//! | -g | started | REFUSED: unknown shorthand flag: 'g' in -g | REFUSED: unknown shorthand flag: 'g' in -g |
//! | --graph | started | REFUSED: unknown flag: --graph | REFUSED: unknown flag: --graph |
//! | cluster-store key | REFUSED: Backend storage not supported yet, please choose one of | REFUSED: unknown key: cluster-store | REFUSED: unknown key: cluster-store |
//! | --cluster-store | REFUSED: Backend storage not supported yet, please choose one of | REFUSED: unknown flag: --cluster-store | REFUSED: unknown flag: --cluster-store |
//! | cluster-advertise key | REFUSED: invalid cluster configuration. --cluster-advertise must be accompanied… | REFUSED: unknown key: cluster-advertise | REFUSED: unknown key: cluster-advertise |
//! | oom-score-adjust -500 | started | REFUSED: unknown key: oom-score-adjust | REFUSED: unknown key: oom-score-adjust |
//! | oom-score-adjust 0 | started | REFUSED: unknown key: oom-score-adjust | REFUSED: unknown key: oom-score-adjust |
//! | --oom-score-adjust=-500 | started | REFUSED: unknown flag: --oom-score-adjust | REFUSED: unknown flag: --oom-score-adjust |
//! | api-cors-header key | started | started | REFUSED: DEPRECATED: The "api-cor… |
//! | --api-cors-header | started | started | REFUSED: DEPRECATED: The "api-cor… |
//! | allow-nondistributable-artifacts key | started | started | started |
//! | --allow-nondistributable-artifacts | started | started | started |
//! | ip6tables without experimental | REFUSED: ip6tables rules are only available if experimental features are enable… | REFUSED: ip6tables rules are only available if experimental features are enable… | started |
//! | ip6tables with experimental | started | started | started |
//! | ipv6 without fixed-cidr-v6 | REFUSED: IPv6 is enabled for the default bridge, but no subnet is configured. S… | REFUSED: IPv6 is enabled for the default bridge, but no subnet is configured. S… | started |
//! | ipv6 without fixed-cidr-v6, bridge none (no default bridge) | started | started | started |
//! | ipv6 with fixed-cidr-v6 | started | started | started |
//! | icc=false ipv6 ip6tables=false | started | started | REFUSED: You specified --ip6tables=false with --icc=false. ICC=false uses ip6ta… |
//! | storage-driver aufs | REFUSED: error initializing graphdriver: driver not supported | REFUSED: the aufs storage-driver has been deprecated and removed | REFUSED: the aufs storage-driver has been deprecated and removed |
//! | storage-driver devicemapper | REFUSED: error initializing graphdriver: driver not supported | REFUSED: the devicemapper storage-driver has been deprecated and removed | REFUSED: the devicemapper storage-driver has been deprecated and removed |
//! | storage-driver overlay | started | REFUSED: the overlay storage-driver has been deprecated and removed | REFUSED: the overlay storage-driver has been deprecated and removed |
//! | --storage-driver overlay | started | REFUSED: the overlay storage-driver has been deprecated and removed | REFUSED: the overlay storage-driver has been deprecated and removed |
//! | storage-driver overlay2 | started | started | started |
//! | log-driver logentries (checked at container create only) | started | started | started |
//! | userland-proxy with a missing userland-proxy-path | started | REFUSED: invalid userland-proxy-p… | REFUSED: invalid userland-proxy-p… |
//! | userland-proxy=false with a missing userland-proxy-path | started | started | started |
//! | empty file | REFUSED: EOF | started | started |
//! | whitespace only | REFUSED: EOF | started | started |
//! | UTF-8 BOM | REFUSED: invalid character 'ï' looking for beginning of value | started | started |
//! | a second object after the first | started | REFUSED: invalid character '{' after top-level value | REFUSED: invalid JSON: invalid character '{' after top-level value |
//! | garbage after the object | started | REFUSED: invalid character 'x' after top-level value | REFUSED: invalid JSON: invalid character 'x' after top-level value |
//!
//! (REFUSED: exit 1 before serving; "unknown key": the directives don't
//! match any configuration option; Debian's 28.5.2+dfsg4 prefixes decode
//! errors with "invalid JSON: " as upstream does from 29.7.2, a patch of the
//! build, not of upstream 28.5.2: the cases name the message without it; 198 attempts, 85 s wall with 3 jobs.)

use crate::support;

use serde_json::Value;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::{Engine, Outcome};

/// The engines, in the order of [`Case::on`].
const LINES: [&str; 3] = ["20.10", "26.1", "28.5"];

/// Where the case's `@DIR@` points in an offline tree.
const TREE_DIR: &str = "/var/lib/dh-oracle";

/// What one engine must do with a case.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Serve the API.
    Start,
    /// Exit before serving, with all these phrases in its output.
    Refuse(&'static [&'static str]),
    /// Refuse for a reason of this host rather than of the version (dockhard
    /// offline cannot know it): not asserted on dockhard.
    HostRefuse(&'static [&'static str]),
    /// Exit 0 without serving, with this phrase (`--validate`).
    Exit0(&'static str),
}

use Expect::{Exit0, HostRefuse, Refuse, Start};

struct Case {
    name: &'static str,
    /// daemon.json (`@DIR@`: the private directory).
    json: Option<&'static str>,
    /// Extra dockerd flags.
    args: &'static [&'static str],
    /// 20.10, 26.1, 28.5.
    on: [Expect; 3],
}

const UNKNOWN_KEY: &str = "the following directives don't match any configuration option: ";

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Controls.
    Case { name: "empty object", json: Some("{}"), args: &[], on: [Start, Start, Start] },
    Case { name: "icc=false iptables=false (all versions refuse)", json: Some(r#"{"icc":false,"iptables":false}"#), args: &[],
        on: [Refuse(&["You specified --iptables=false with --icc=false"]); 3] },
    Case { name: "features key (exempt from the unknown-key check)", json: Some(r#"{"features":{"containerd-snapshotter":false}}"#), args: &[],
        on: [Start, Start, Start] },
    Case { name: "deprecated-key-path key (file only, exempt)", json: Some(r#"{"deprecated-key-path":"@DIR@/key.json"}"#), args: &[],
        on: [Start, Start, Start] },
    Case { name: "min-api-version key (29.0+)", json: Some(r#"{"min-api-version":"1.24"}"#), args: &[],
        on: [Refuse(&["don't match any configuration option: min-api-version"]); 3] },
    Case { name: "nri-opts key (29.2+: not a flat option before, its inner keys are unknown)", json: Some(r#"{"nri-opts":{"enable":true}}"#), args: &[],
        on: [Refuse(&["don't match any configuration option: enable"]); 3] },
    Case { name: "firewall-backend key (29.0+)", json: Some(r#"{"firewall-backend":"iptables"}"#), args: &[],
        on: [Refuse(&["don't match any configuration option: firewall-backend"]); 3] },

    // Keys and flags added after 20.10.
    Case { name: "cdi-spec-dirs key", json: Some(r#"{"cdi-spec-dirs":["/etc/cdi"]}"#), args: &[],
        on: [Refuse(&["don't match any configuration option: cdi-spec-dirs"]), Start, Start] },
    Case { name: "--cdi-spec-dir", json: None, args: &["--cdi-spec-dir", "/etc/cdi"],
        on: [Refuse(&["unknown flag: --cdi-spec-dir"]), Start, Start] },
    Case { name: "log-format key", json: Some(r#"{"log-format":"json"}"#), args: &[],
        on: [Refuse(&["don't match any configuration option: log-format"]), Start, Start] },
    Case { name: "--log-format", json: None, args: &["--log-format", "json"],
        on: [Refuse(&["unknown flag: --log-format"]), Start, Start] },
    Case { name: "default-network-opts {bridge:{mtu}} (20.10: inner key `bridge` is a key)",
        json: Some(r#"{"default-network-opts":{"bridge":{"com.docker.network.driver.mtu":"1400"}}}"#), args: &[],
        on: [Start, Start, Start] },
    Case { name: "default-network-opts {overlay:{mtu}}",
        json: Some(r#"{"default-network-opts":{"overlay":{"com.docker.network.driver.mtu":"1400"}}}"#), args: &[],
        on: [Refuse(&["don't match any configuration option: overlay"]), Start, Start] },
    Case { name: "--default-network-opt", json: None, args: &["--default-network-opt", "bridge=com.docker.network.driver.mtu=1400"],
        on: [Refuse(&["unknown flag: --default-network-opt"]), Start, Start] },
    Case { name: "ip-forward-no-drop key", json: Some(r#"{"ip-forward-no-drop":true}"#), args: &[],
        on: [Refuse(&["don't match any configuration option: ip-forward-no-drop"]), Refuse(&["don't match any configuration option: ip-forward-no-drop"]), Start] },
    Case { name: "--ip-forward-no-drop", json: None, args: &["--ip-forward-no-drop"],
        on: [Refuse(&["unknown flag: --ip-forward-no-drop"]), Refuse(&["unknown flag: --ip-forward-no-drop"]), Start] },
    Case { name: "bip6 key", json: Some(r#"{"bip6":"fd00:1::1/64"}"#), args: &[],
        on: [Refuse(&["don't match any configuration option: bip6"]), Refuse(&["don't match any configuration option: bip6"]), Start] },
    Case { name: "--bip6", json: None, args: &["--bip6", "fd00:1::1/64"],
        on: [Refuse(&["unknown flag: --bip6"]), Refuse(&["unknown flag: --bip6"]), Start] },
    Case { name: "allow-direct-routing key", json: Some(r#"{"allow-direct-routing":true}"#), args: &[],
        on: [Refuse(&["don't match any configuration option: allow-direct-routing"]), Refuse(&["don't match any configuration option: allow-direct-routing"]), Start] },
    Case { name: "--allow-direct-routing", json: None, args: &["--allow-direct-routing"],
        on: [Refuse(&["unknown flag: --allow-direct-routing"]), Refuse(&["unknown flag: --allow-direct-routing"]), Start] },
    Case { name: "host-gateway-ips key", json: Some(r#"{"host-gateway-ips":["172.17.0.1"]}"#), args: &[],
        on: [Refuse(&["don't match any configuration option: host-gateway-ips"]), Refuse(&["don't match any configuration option: host-gateway-ips"]), Start] },
    Case { name: "host-gateway-ip key alone", json: Some(r#"{"host-gateway-ip":"172.17.0.1"}"#), args: &[],
        on: [Start, Start, Start] },
    Case { name: "host-gateway-ip + host-gateway-ips", json: Some(r#"{"host-gateway-ip":"172.17.0.1","host-gateway-ips":["172.17.0.1"]}"#), args: &[],
        on: [Refuse(&["don't match any configuration option: host-gateway-ips"]), Refuse(&["don't match any configuration option: host-gateway-ips"]),
             Refuse(&["host-gateway-ip and host-gateway-ips must not both be specified"])] },
    Case { name: "--host-gateway-ip twice (IPv4)", json: None, args: &["--host-gateway-ip", "172.17.0.1", "--host-gateway-ip", "172.17.0.2"],
        on: [Start, Start, Refuse(&["only one IPv4 host gateway IP address can be specified"])] },
    Case { name: "--feature", json: None, args: &["--feature", "containerd-snapshotter=false"],
        on: [Refuse(&["unknown flag: --feature"]), Refuse(&["unknown flag: --feature"]), Start] },
    Case { name: "--http-proxy", json: None, args: &["--http-proxy", "http://127.0.0.1:3128"],
        on: [Refuse(&["unknown flag: --http-proxy"]), Start, Start] },
    Case { name: "--https-proxy", json: None, args: &["--https-proxy", "http://127.0.0.1:3128"],
        on: [Refuse(&["unknown flag: --https-proxy"]), Start, Start] },
    Case { name: "--no-proxy", json: None, args: &["--no-proxy", "localhost"],
        on: [Refuse(&["unknown flag: --no-proxy"]), Start, Start] },
    Case { name: "proxies key (20.10: its inner keys are unknown)", json: Some(r#"{"proxies":{"http-proxy":"http://127.0.0.1:3128","no-proxy":"localhost"}}"#), args: &[],
        on: [Refuse(&[UNKNOWN_KEY, "http-proxy", "no-proxy"]), Start, Start] },
    Case { name: "--validate", json: Some("{}"), args: &["--validate"],
        on: [Refuse(&["unknown flag: --validate"]), Exit0("configuration OK"), Exit0("configuration OK")] },
    Case { name: "--validate with ip6tables but no experimental (not a start-up check)", json: Some(r#"{"ip6tables":true}"#), args: &["--validate"],
        on: [Refuse(&["unknown flag: --validate"]), Exit0("configuration OK"), Exit0("configuration OK")] },
    Case { name: "--validate with an unknown key", json: Some(r#"{"cdi-spec-dirz":["/etc/cdi"]}"#), args: &["--validate"],
        on: [Refuse(&["unknown flag: --validate"]), Refuse(&["don't match any configuration option: cdi-spec-dirz"]),
             Refuse(&["don't match any configuration option: cdi-spec-dirz"])] },
    Case { name: "seccomp-profile unconfined", json: Some(r#"{"seccomp-profile":"unconfined"}"#), args: &[],
        on: [Refuse(&["opening seccomp profile (unconfined) failed"]), Start, Start] },
    Case { name: "seccomp-profile builtin", json: Some(r#"{"seccomp-profile":"builtin"}"#), args: &[],
        on: [Refuse(&["opening seccomp profile (builtin) failed"]), Start, Start] },

    // Removed keys and flags.
    Case { name: "graph key", json: Some(r#"{"graph":"@DIR@/data"}"#), args: &[],
        on: [Start, Refuse(&["don't match any configuration option: graph"]), Refuse(&["don't match any configuration option: graph"])] },
    Case { name: "-g", json: None, args: &["-g", "@DIR@/data"],
        on: [Start, Refuse(&["unknown shorthand flag: 'g' in -g"]), Refuse(&["unknown shorthand flag: 'g' in -g"])] },
    Case { name: "--graph", json: None, args: &["--graph", "@DIR@/data"],
        on: [Start, Refuse(&["unknown flag: --graph"]), Refuse(&["unknown flag: --graph"])] },
    Case { name: "cluster-store key", json: Some(r#"{"cluster-store":"consul://127.0.0.1:8500"}"#), args: &[],
        on: [HostRefuse(&["Backend storage not supported yet"]), Refuse(&["don't match any configuration option: cluster-store"]), Refuse(&["don't match any configuration option: cluster-store"])] },
    Case { name: "--cluster-store", json: None, args: &["--cluster-store", "consul://127.0.0.1:8500"],
        on: [HostRefuse(&["Backend storage not supported yet"]), Refuse(&["unknown flag: --cluster-store"]), Refuse(&["unknown flag: --cluster-store"])] },
    Case { name: "cluster-advertise key", json: Some(r#"{"cluster-advertise":"127.0.0.1:2376"}"#), args: &[],
        on: [Refuse(&["--cluster-advertise must be accompanied by --cluster-store"]), Refuse(&["don't match any configuration option: cluster-advertise"]),
             Refuse(&["don't match any configuration option: cluster-advertise"])] },
    Case { name: "oom-score-adjust -500", json: Some(r#"{"oom-score-adjust":-500}"#), args: &[],
        on: [Start, Refuse(&["don't match any configuration option: oom-score-adjust"]), Refuse(&["don't match any configuration option: oom-score-adjust"])] },
    Case { name: "oom-score-adjust 0", json: Some(r#"{"oom-score-adjust":0}"#), args: &[],
        on: [Start, Refuse(&["don't match any configuration option: oom-score-adjust"]), Refuse(&["don't match any configuration option: oom-score-adjust"])] },
    Case { name: "--oom-score-adjust=-500", json: None, args: &["--oom-score-adjust=-500"],
        on: [Start, Refuse(&["unknown flag: --oom-score-adjust"]), Refuse(&["unknown flag: --oom-score-adjust"])] },
    Case { name: "api-cors-header key", json: Some(r#"{"api-cors-header":"*"}"#), args: &[],
        on: [Start, Start, Refuse(&[r#"The "api-cors-header" config parameter and the dockerd "--api-cors-header" option have been removed"#])] },
    Case { name: "--api-cors-header", json: None, args: &["--api-cors-header", "*"],
        on: [Start, Start, Refuse(&[r#"The "api-cors-header" config parameter and the dockerd "--api-cors-header" option have been removed"#])] },
    Case { name: "allow-nondistributable-artifacts key", json: Some(r#"{"allow-nondistributable-artifacts":["registry.example:5000"]}"#), args: &[],
        on: [Start, Start, Start] },
    Case { name: "--allow-nondistributable-artifacts", json: None, args: &["--allow-nondistributable-artifacts", "registry.example:5000"],
        on: [Start, Start, Start] },

    // Start-up checks that changed.
    Case { name: "ip6tables without experimental", json: Some(r#"{"ip6tables":true}"#), args: &[],
        on: [Refuse(&["ip6tables rules are only available if experimental features are enabled"]),
             Refuse(&["ip6tables rules are only available if experimental features are enabled"]), Start] },
    Case { name: "ip6tables with experimental", json: Some(r#"{"ip6tables":true,"experimental":true}"#), args: &[],
        on: [Start, Start, Start] },
    Case { name: "ipv6 without fixed-cidr-v6", json: Some(r#"{"ipv6":true}"#), args: &[],
        on: [Refuse(&["IPv6 is enabled for the default bridge, but no subnet is configured"]),
             Refuse(&["IPv6 is enabled for the default bridge, but no subnet is configured"]), Start] },
    Case { name: "ipv6 without fixed-cidr-v6, bridge none (no default bridge)", json: Some(r#"{"ipv6":true,"bridge":"none"}"#), args: &[],
        on: [Start, Start, Start] },
    Case { name: "ipv6 with fixed-cidr-v6", json: Some(r#"{"ipv6":true,"fixed-cidr-v6":"fd00:dead::/64"}"#), args: &[],
        on: [Start, Start, Start] },
    Case { name: "icc=false ipv6 ip6tables=false", json: Some(r#"{"icc":false,"ipv6":true,"fixed-cidr-v6":"fd00:dead::/64","ip6tables":false}"#), args: &[],
        on: [Start, Start, Refuse(&["You specified --ip6tables=false with --icc=false"])] },
    Case { name: "storage-driver aufs", json: Some(r#"{"storage-driver":"aufs"}"#), args: &[],
        on: [HostRefuse(&["error initializing graphdriver: driver not supported"]),
             Refuse(&["the aufs storage-driver has been deprecated and removed"]), Refuse(&["the aufs storage-driver has been deprecated and removed"])] },
    Case { name: "storage-driver devicemapper", json: Some(r#"{"storage-driver":"devicemapper"}"#), args: &[],
        on: [HostRefuse(&["error initializing graphdriver: driver not supported"]),
             Refuse(&["the devicemapper storage-driver has been deprecated and removed"]), Refuse(&["the devicemapper storage-driver has been deprecated and removed"])] },
    Case { name: "storage-driver overlay", json: Some(r#"{"storage-driver":"overlay"}"#), args: &[],
        on: [Start, Refuse(&["the overlay storage-driver has been deprecated and removed"]), Refuse(&["the overlay storage-driver has been deprecated and removed"])] },
    Case { name: "--storage-driver overlay", json: None, args: &["--storage-driver", "overlay"],
        on: [Start, Refuse(&["the overlay storage-driver has been deprecated and removed"]), Refuse(&["the overlay storage-driver has been deprecated and removed"])] },
    Case { name: "storage-driver overlay2", json: Some(r#"{"storage-driver":"overlay2"}"#), args: &[],
        on: [Start, Start, Start] },
    Case { name: "log-driver logentries (checked at container create only)", json: Some(r#"{"log-driver":"logentries"}"#), args: &[],
        on: [Start, Start, Start] },
    Case { name: "userland-proxy with a missing userland-proxy-path", json: Some(r#"{"userland-proxy":true,"userland-proxy-path":"/nonexistent/docker-proxy"}"#), args: &[],
        on: [Start, Refuse(&["invalid userland-proxy-path"]), Refuse(&["invalid userland-proxy-path"])] },
    Case { name: "userland-proxy=false with a missing userland-proxy-path", json: Some(r#"{"userland-proxy":false,"userland-proxy-path":"/nonexistent/docker-proxy"}"#), args: &[],
        on: [Start, Start, Start] },

    // JSON decoding.
    Case { name: "empty file", json: Some(""), args: &[], on: [Refuse(&["daemon.json: EOF"]), Start, Start] },
    Case { name: "whitespace only", json: Some(" \n"), args: &[], on: [Refuse(&["daemon.json: EOF"]), Start, Start] },
    Case { name: "UTF-8 BOM", json: Some("\u{feff}{\"debug\":true}"), args: &[],
        on: [Refuse(&["invalid character 'ï' looking for beginning of value"]), Start, Start] },
    Case { name: "a second object after the first", json: Some(r#"{"debug":true}{"debug":false}"#), args: &[],
        on: [Start, Refuse(&["invalid character '{' after top-level value"]), Refuse(&["invalid character '{' after top-level value"])] },
    Case { name: "garbage after the object", json: Some("{\"debug\":true} x\n"), args: &[],
        on: [Start, Refuse(&["invalid character 'x' after top-level value"]), Refuse(&["invalid character 'x' after top-level value"])] },
];

/// One attempt: a case on an engine.
struct Obs {
    case: &'static Case,
    line: &'static str,
    engine: &'static Engine,
    expect: Expect,
    outcome: Outcome,
    /// A started engine: `daemon.config-valid` of `check --pid` (or why
    /// there is none).
    live: Option<Result<Value, String>>,
}

struct Observed {
    obs: Vec<Obs>,
    wall: Duration,
}

fn jobs() -> usize {
    std::env::var("DOCKHARD_ORACLE_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(3)
}

/// Run `f` over `items` on [`jobs`] threads; results in `items` order.
fn parallel<I: Sync, T: Send>(items: &[I], f: impl Fn(&I) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let mut out: Vec<(usize, T)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs().min(items.len().max(1)))
            .map(|_| {
                s.spawn(|| {
                    let mut got = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(item) = items.get(i) else { break };
                        got.push((i, f(item)));
                    }
                    got
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|_| panic!("a worker panicked")))
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}

/// Every case on every engine, once per test binary; a panic when the
/// requirements are missing.
fn observed() -> &'static Observed {
    static OBS: OnceLock<Observed> = OnceLock::new();
    OBS.get_or_init(|| {
        support::live_netns("live_oracle");
        let _ = support::engines(); // panics when one is missing
        let mut plan = Vec::new();
        for case in CASES {
            for (i, line) in LINES.iter().enumerate() {
                let e = support::engine(line);
                plan.push((case, *line, e, case.on[i]));
            }
        }
        let started = Instant::now();
        let obs = parallel(&plan, |&(case, line, engine, expect)| {
            let (outcome, live) =
                support::try_start_then(engine, case.json, case.args, |r| check_pid(r.pid));
            Obs {
                case,
                line,
                engine,
                expect,
                outcome,
                live,
            }
        });
        let wall = started.elapsed();
        let o = Observed { obs, wall };
        print_table(&o);
        o
    })
}

fn one_line(s: &str, max: usize) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > max {
        format!("{}…", s.chars().take(max).collect::<String>())
    } else {
        s
    }
}

fn print_table(o: &Observed) {
    let mut t = String::new();
    let _ = writeln!(t, "| case | engine | outcome | first relevant line |");
    let _ = writeln!(t, "|---|---|---|---|");
    for ob in &o.obs {
        let reason = ob.outcome.reason();
        // The private directory differs on every run.
        let reason = regex_free_dir(&reason);
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} |",
            ob.case.name,
            ob.engine.version,
            ob.outcome.kind(),
            one_line(&reason, 160)
        );
    }
    let _ = writeln!(
        t,
        "\n{} attempts in {:.1} s wall ({} in parallel)",
        o.obs.len(),
        o.wall.as_secs_f64(),
        jobs()
    );
    let _ = std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("oracle-table.md"),
        &t,
    );
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "\n[oracle] what each engine did:\n{t}");
}

/// `/tmp/dockhard-try-XXXX` → `D`.
fn regex_free_dir(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("/tmp/dockhard-try-") {
        out.push_str(&rest[..i]);
        out.push('D');
        let tail = &rest[i + "/tmp/dockhard-try-".len()..];
        let end = tail.find('/').unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------
// dockhard
// ---------------------------------------------------------------------------

/// `dockhard ARGS --format json`: the `daemon.config-valid` result of its
/// only daemon, or why there is none.
fn config_valid(args: &[&str]) -> Result<Value, String> {
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_dockhard"))
        .args(args)
        .args(["--format", "json"])
        .timeout(Duration::from_secs(60))
        .output()
        .map_err(|e| format!("cannot run dockhard {args:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_str(&stdout).map_err(|e| {
        format!(
            "dockhard {args:?}: no JSON report ({e}); exit {:?}; stderr: {}",
            out.status.code(),
            one_line(&stderr, 400)
        )
    })?;
    let daemons = report["daemons"].as_array().cloned().unwrap_or_default();
    let [d] = &daemons[..] else {
        return Err(format!(
            "dockhard {args:?}: {} daemons in the report",
            daemons.len()
        ));
    };
    d["results"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["rule"] == "daemon.config-valid")
        .cloned()
        .ok_or_else(|| format!("dockhard {args:?}: no daemon.config-valid"))
}

fn check_pid(pid: u32) -> Result<Value, String> {
    config_valid(&["check", "--pid", &pid.to_string()])
}

/// What dockhard must say: `None` for a start, the phrases for a refusal;
/// `Err` when it is not asserted.
fn wanted(
    expect: Expect,
    outcome: &Outcome,
) -> Result<Option<&'static [&'static str]>, &'static str> {
    match (expect, outcome) {
        (Exit0(_), _) => Err("exits 0 without serving (--validate)"),
        (HostRefuse(_), _) => Err("refused for a reason of this host"),
        (_, Outcome::Started { .. }) => Ok(None),
        (Refuse(p), Outcome::Refused { .. }) => Ok(Some(p)),
        _ => Err("the engine did not do what the table says"),
    }
}

/// A problem, or `None` when `got` (a config-valid result) says `want`.
fn disagrees(got: &Result<Value, String>, want: Option<&[&str]>) -> Option<String> {
    let r = match got {
        Ok(r) => r,
        Err(e) => return Some(e.clone()),
    };
    let status = r["status"].as_str().unwrap_or("?");
    let msg = r["message"].as_str().unwrap_or("");
    match want {
        None if status == "pass" => None,
        None => Some(format!("{status}, expected pass: {}", one_line(msg, 300))),
        Some(p) if status == "fail" && p.iter().all(|p| msg.contains(p)) => None,
        Some(p) => Some(format!(
            "{status}: {:?}, expected fail naming {p:?}",
            one_line(msg, 300)
        )),
    }
}

fn report(what: &str, problems: Vec<String>, checked: usize) {
    support::loud(&format!(
        "[oracle] {what}: {checked} checked, {} disagree",
        problems.len()
    ));
    assert!(
        problems.is_empty(),
        "{what}: dockhard disagrees with the engine in {} of {checked}:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// Offline trees as the engines' packages lay them out
// ---------------------------------------------------------------------------

/// The docker.io version of `e`'s package: the host's from dpkg, a
/// fetched one's from the manifest (`docker.io=VERSION`).
fn package_version(e: &Engine) -> String {
    if e.path_prefix.is_empty() {
        let out = std::process::Command::new("dpkg-query")
            .args(["-W", "-f", "${Version}", "docker.io"])
            .output()
            .ok()
            .filter(|o| o.status.success());
        if let Some(o) = out {
            return String::from_utf8_lossy(&o.stdout).trim().to_string();
        }
        return format!("{}+dfsg1-1", e.version);
    }
    let text = std::fs::read_to_string(support::engines_manifest()).unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(&format!("{}\t", e.version)))
        .flat_map(|l| l.split(['\t', ' ']))
        .find_map(|w| w.strip_prefix("docker.io="))
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}+dfsg1-1", e.version))
}

/// The directory `e`'s package was unpacked in (`/` for the host's).
fn package_root(e: &Engine) -> PathBuf {
    e.dockerd
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// Hard link `from` to `to` (same filesystem), else copy it.
fn link_or_copy(from: &Path, to: &Path) {
    if let Some(p) = to.parent() {
        std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to)
            .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
    }
}

/// A root tree with `e`'s package installed and configured with `case`.
fn tree(e: &Engine, case: &Case) -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("dockhard-oracle-root-")
        .tempdir()
        .unwrap_or_else(|err| panic!("tempdir: {err}"));
    let root = t.path();
    let pkg = package_root(e);
    let mut units = 0;
    for dir in ["lib/systemd/system", "usr/lib/systemd/system"] {
        for unit in ["docker.service", "docker.socket"] {
            let from = pkg.join(dir).join(unit);
            if from.is_file() && !root.join(dir).join(unit).exists() {
                link_or_copy(&from, &root.join(dir).join(unit));
                units += 1;
            }
        }
        if units > 0 {
            break;
        }
    }
    assert!(units > 0, "no docker.service under {}", pkg.display());
    for bin in ["usr/sbin/dockerd", "usr/sbin/docker-proxy"] {
        let from = pkg.join(bin);
        if from.is_file() {
            link_or_copy(&from, &root.join(bin));
        }
    }
    let dpkg = root.join("var/lib/dpkg");
    std::fs::create_dir_all(&dpkg).unwrap_or_else(|err| panic!("{}: {err}", dpkg.display()));
    std::fs::write(
        dpkg.join("status"),
        format!(
            "Package: docker.io\nStatus: install ok installed\nPriority: optional\n\
             Section: admin\nArchitecture: amd64\nVersion: {}\n\
             Description: Linux container runtime\n\n",
            package_version(e)
        ),
    )
    .unwrap_or_else(|err| panic!("dpkg status: {err}"));
    let etc = root.join("etc/docker");
    std::fs::create_dir_all(&etc).unwrap_or_else(|err| panic!("{}: {err}", etc.display()));
    if let Some(j) = case.json {
        std::fs::write(
            etc.join("daemon.json"),
            j.replace(support::DIR_PLACEHOLDER, TREE_DIR),
        )
        .unwrap_or_else(|err| panic!("daemon.json: {err}"));
    }
    if !case.args.is_empty() {
        let words: Vec<String> = case
            .args
            .iter()
            .map(|a| a.replace(support::DIR_PLACEHOLDER, TREE_DIR))
            .collect();
        let default = root.join("etc/default");
        std::fs::create_dir_all(&default)
            .unwrap_or_else(|err| panic!("{}: {err}", default.display()));
        std::fs::write(
            default.join("docker"),
            format!(
                "# written by tests/live/oracle.rs\nDOCKER_OPTS=\"{}\"\n",
                words.join(" ")
            ),
        )
        .unwrap_or_else(|err| panic!("etc/default/docker: {err}"));
    }
    t
}

fn check_root(root: &Path, engine_version: Option<&str>) -> Result<Value, String> {
    let root = root.display().to_string();
    let mut args = vec!["check", "--root", root.as_str()];
    if let Some(v) = engine_version {
        args.extend(["--engine-version", v]);
    }
    config_valid(&args)
}

fn label(ob: &Obs) -> String {
    format!("[{} on {}]", ob.case.name, ob.engine.version)
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/// Each engine did what the table says (started, refused with the phrase,
/// exited 0 for `--validate`), and the table covers 40+ attempts.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn oracle_engines_behave_as_recorded() {
    let o = observed();
    let mut problems = Vec::new();
    for ob in &o.obs {
        let log = ob.outcome.log();
        let ok = match (ob.expect, &ob.outcome) {
            (Start, Outcome::Started { .. }) => true,
            (Refuse(p) | HostRefuse(p), Outcome::Refused { code: Some(c), .. }) => {
                *c != 0 && p.iter().all(|p| log.contains(p))
            }
            (Exit0(p), Outcome::Refused { code: Some(0), .. }) => log.contains(p),
            _ => false,
        };
        if !ok {
            problems.push(format!(
                "{}: expected {:?}, got {}: {}\n    argv log tail: {}",
                label(ob),
                ob.expect,
                ob.outcome.kind(),
                one_line(&ob.outcome.reason(), 300),
                one_line(&log[log.len().saturating_sub(600)..], 600)
            ));
        }
    }
    assert!(o.obs.len() >= 40, "only {} attempts", o.obs.len());
    assert!(
        problems.is_empty(),
        "{} of {} engine attempts differ from the table:\n  {}",
        problems.len(),
        o.obs.len(),
        problems.join("\n  ")
    );
}

/// Live: for every engine that started, `check --pid` passes config-valid.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn oracle_live_pid_agrees() {
    let o = observed();
    let mut problems = Vec::new();
    let mut checked = 0;
    for ob in &o.obs {
        let Some(live) = &ob.live else { continue };
        if wanted(ob.expect, &ob.outcome).is_err() {
            continue;
        }
        checked += 1;
        if let Some(p) = disagrees(live, None) {
            problems.push(format!("{} check --pid: {p}", label(ob)));
        }
    }
    report("live (check --pid)", problems, checked);
}

/// Offline: the engine's package tree with the case says what the engine
/// did.
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn oracle_offline_root_agrees() {
    let o = observed();
    let todo: Vec<&Obs> = o
        .obs
        .iter()
        .filter(|ob| wanted(ob.expect, &ob.outcome).is_ok())
        .collect();
    let problems: Vec<String> = parallel(&todo, |ob| {
        let want = wanted(ob.expect, &ob.outcome).ok().flatten();
        let t = tree(ob.engine, ob.case);
        disagrees(&check_root(t.path(), None), want)
            .map(|p| format!("{} check --root: {p}", label(ob)))
    })
    .into_iter()
    .flatten()
    .collect();
    report("offline (check --root)", problems, todo.len());
}

/// The upgrade check: the case's 20.10 tree judged with `--engine-version`
/// of a newer engine says what that engine did (and with `--engine-version
/// 20.10.24`, what 20.10 did).
#[test]
#[ignore = "live: needs root and dockerd; scripts/test runs it"]
fn oracle_upgrade_check_agrees() {
    let o = observed();
    let Some(old) = o
        .obs
        .iter()
        .find(|ob| ob.line == "20.10")
        .map(|ob| ob.engine)
    else {
        return;
    };
    let todo: Vec<&Obs> = o
        .obs
        .iter()
        .filter(|ob| wanted(ob.expect, &ob.outcome).is_ok())
        .collect();
    let problems: Vec<String> = parallel(&todo, |ob| {
        let want = wanted(ob.expect, &ob.outcome).ok().flatten();
        let t = tree(old, ob.case);
        disagrees(&check_root(t.path(), Some(&ob.engine.version)), want).map(|p| {
            format!(
                "{} check --root (20.10 tree) --engine-version {}: {p}",
                label(ob),
                ob.engine.version
            )
        })
    })
    .into_iter()
    .flatten()
    .collect();
    report(
        "upgrade check (20.10 tree, --engine-version)",
        problems,
        todo.len(),
    );
}
