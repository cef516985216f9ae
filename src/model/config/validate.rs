//! The start-up checks dockerd makes on the merged configuration (types,
//! ranges, combinations; the engine's lifecycle of options).

use super::options::{Key, keys};
use super::{Effective, Value, argv, default_evidence, options};
use crate::model::{Evidence, Problem, ProblemLevel, Source};
use std::collections::BTreeMap;

/// Checks dockerd makes on the (merged) configuration: `config.Validate`,
/// label conflicts and `verifyDaemonSettings`. `file_only`: the reload
/// subset (`config.Validate` on the file alone).
pub(super) fn validate(eff: &Effective, file_only: bool) -> Vec<Problem> {
    let mut out = Vec::new();
    let ev = |key: &str| -> Evidence {
        eff.settings
            .get(key)
            .and_then(|s| s.evidence.first().cloned())
            .unwrap_or_else(|| default_evidence(key, ""))
    };
    let mut fatal = |message: String, evidence: Evidence| {
        out.push(Problem {
            level: ProblemLevel::Fatal,
            message,
            evidence,
        })
    };
    for (d, e) in eff.list(keys::DNS) {
        if argv::parse_ip(d.trim()).is_err() {
            fatal(format!("{d} is not an ip address"), e);
        }
    }
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for (l, e) in eff.list(keys::LABELS) {
        match l.split_once('=') {
            None => fatal(format!("bad attribute format: {l}"), e),
            Some((k, v)) => {
                if let Some(prev) = labels.get(k) {
                    if prev != v {
                        fatal(format!("conflict labels for {k}={v} and {k}={prev}"), e);
                        continue;
                    }
                }
                labels.insert(k.to_string(), v.to_string());
            }
        }
    }
    let int = |key: Key| match eff.set_value(key).map(|s| &s.value) {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    };
    if let Some(n) = int(keys::MAX_CONCURRENT_DOWNLOADS).filter(|n| *n < 0) {
        fatal(
            format!("invalid max concurrent downloads: {n}"),
            ev("max-concurrent-downloads"),
        );
    }
    if let Some(n) = int(keys::MAX_CONCURRENT_UPLOADS).filter(|n| *n < 0) {
        fatal(
            format!("invalid max concurrent uploads: {n}"),
            ev("max-concurrent-uploads"),
        );
    }
    if let Some(n) = int(keys::MAX_DOWNLOAD_ATTEMPTS).filter(|n| *n <= 0) {
        fatal(
            format!("invalid max download attempts: {n}"),
            ev("max-download-attempts"),
        );
    }
    let runtimes = eff.map(keys::RUNTIMES);
    if runtimes.contains_key("runc") {
        fatal("runtime name 'runc' is reserved".into(), ev("runtimes"));
    }
    if let Some(Value::Str(rt)) = eff.set_value(keys::DEFAULT_RUNTIME).map(|s| &s.value) {
        let builtin = [
            "runc",
            "io.containerd.runtime.v1.linux",
            "io.containerd.runc.v2",
        ];
        if !rt.is_empty() && !builtin.contains(&rt.as_str()) && !runtimes.contains_key(rt) {
            fatal(
                format!("specified default runtime '{rt}' does not exist"),
                ev("default-runtime"),
            );
        }
    }
    if let Some(Value::Str(m)) = eff.set_value(keys::DEFAULT_IPC_MODE).map(|s| &s.value) {
        let hint = "use \"shareable\" or \"private\"";
        let valid = matches!(m.as_str(), "" | "host" | "private" | "shareable" | "none")
            || m.strip_prefix("container:").is_some_and(|c| !c.is_empty());
        if !valid {
            fatal(
                format!("default IPC mode setting ({m}) is invalid; {hint}"),
                ev("default-ipc-mode"),
            );
        } else if !matches!(m.as_str(), "" | "private" | "shareable") {
            fatal(
                format!("IPC mode \"{m}\" is not supported as default value; {hint}"),
                ev("default-ipc-mode"),
            );
        }
    }
    if let Some(Value::Str(m)) = eff.set_value(keys::DEFAULT_CGROUPNS_MODE).map(|s| &s.value) {
        if !matches!(m.as_str(), "" | "host" | "private") {
            fatal(
                format!(
                    "default cgroup namespace mode ({m}) is invalid; use \"host\" or \"private\""
                ),
                ev("default-cgroupns-mode"),
            );
        }
    }
    if file_only {
        return out;
    }
    // verifyDaemonSettings (daemon/daemon_unix.go)
    let (icc, icc_ev) = eff.bool(keys::ICC);
    let (ipt, ipt_ev) = eff.bool(keys::IPTABLES);
    if !icc && !ipt {
        let e = if icc_ev.source == Source::Default {
            ipt_ev
        } else {
            icc_ev
        };
        fatal(
            "You specified --iptables=false with --icc=false. ICC=false uses iptables to function. Please set --icc or --iptables to true".into(),
            e,
        );
    }
    let checks = eff.context.engine.checks;
    let (ip6, ip6_ev) = eff.bool(keys::IP6TABLES);
    let (ipv6, ipv6_ev) = eff.bool(keys::IPV6);
    if checks.ip6tables_needs_experimental && ip6 && !eff.bool(keys::EXPERIMENTAL).0 {
        fatal(
            "ip6tables rules are only available if experimental features are enabled".into(),
            ip6_ev.clone(),
        );
    }
    if checks.icc_needs_ip6tables_with_ipv6 && !icc && ipv6 && !ip6 {
        fatal(
            "You specified --ip6tables=false with --icc=false. ICC=false uses ip6tables to function. Please set --icc or --ip6tables to true".into(),
            if ip6_ev.source == Source::Default { ipv6_ev.clone() } else { ip6_ev.clone() },
        );
    }
    let nonempty =
        |k: Key| eff.string(k).0.is_some_and(|s| !s.is_empty()) && eff.set_value(k).is_some();
    if checks.ipv6_needs_fixed_cidr_v6
        && ipv6
        && !nonempty(keys::FIXED_CIDR_V6)
        && eff.string(keys::BRIDGE).0.as_deref() != Some("none")
    {
        fatal(
            "IPv6 is enabled for the default bridge, but no subnet is configured. Specify an IPv6 subnet using --fixed-cidr-v6".into(),
            ipv6_ev,
        );
    }
    if checks.bridge_excludes_bip6 && nonempty(keys::BRIDGE) && nonempty(keys::BIP6) {
        fatal(
            "You specified -b & --bip6, mutually exclusive options. Please specify only one".into(),
            ev("bip6"),
        );
    }
    if checks.host_gateway_ip_exclusive
        && nonempty(keys::HOST_GATEWAY_IP)
        && !eff.list(keys::HOST_GATEWAY_IPS).is_empty()
    {
        fatal(
            "host-gateway-ip and host-gateway-ips must not both be specified in the config file"
                .into(),
            ev("host-gateway-ip"),
        );
    }
    if checks.host_gateway_one_per_family {
        let mut seen = [false, false];
        for (ip, e) in eff.list(keys::HOST_GATEWAY_IPS) {
            let Ok(addr) = argv::parse_ip(ip.trim()) else {
                continue;
            };
            let (family, name) = match addr {
                std::net::IpAddr::V4(_) => (0, "IPv4"),
                std::net::IpAddr::V6(a) if a.to_ipv4_mapped().is_some() => (0, "IPv4"),
                std::net::IpAddr::V6(_) => (1, "IPv6"),
            };
            if seen[family] {
                fatal(
                    format!("only one {name} host gateway IP address can be specified"),
                    e,
                );
                break;
            }
            seen[family] = true;
        }
    }
    // daemon/discovery (≤20.10): an advertise address without a store.
    if matches!(
        keys::CLUSTER_ADVERTISE.spec().life_in(&eff.context.engine),
        options::Life::Active
    ) && nonempty(keys::CLUSTER_ADVERTISE)
        && !nonempty(keys::CLUSTER_STORE)
    {
        fatal(
            "invalid cluster configuration. --cluster-advertise must be accompanied by --cluster-store configuration".into(),
            ev("cluster-advertise"),
        );
    }
    // ≤20.10 reads the profile at start; a bare keyword is a relative file
    // name (resolved against dockerd's working directory, `/` under systemd).
    if checks.seccomp_profile_always_a_file {
        if let (Some(p), p_ev) = eff.string(keys::SECCOMP_PROFILE) {
            if matches!(p.as_str(), "builtin" | "unconfined") {
                fatal(
                    format!(
                        "opening seccomp profile ({p}) failed: open {p}: no such file or directory (this engine has no `{p}` keyword: the name is a file, relative to dockerd's working directory)"
                    ),
                    p_ev,
                );
            }
        }
    }
    // docker-v29.0.0 daemon/command/daemon_linux.go: userns-remap turns the
    // default containerd image store off, and refuses an explicit one.
    if checks.userns_remap_excludes_containerd_store && nonempty(keys::USERNS_REMAP) {
        if let Some((v, e)) = eff.map(keys::FEATURES).get("containerd-snapshotter") {
            if v == "true" {
                fatal(
                    "containerd-snapshotter is explicitly enabled, but is not compatible with userns remapping. Please disable userns remapping or containerd-snapshotter".into(),
                    e.clone(),
                );
            }
        }
    }
    if nonempty(keys::BRIDGE) && nonempty(keys::BIP) {
        fatal(
            "You specified -b & --bip, mutually exclusive options. Please specify only one".into(),
            ev("bip"),
        );
    }
    if eff.string(keys::CONTAINERD_NAMESPACE).0 == eff.string(keys::CONTAINERD_PLUGINS_NAMESPACE).0
    {
        fatal(
            "containers namespace and plugins namespace cannot be the same".into(),
            ev("containerd-namespace"),
        );
    }
    let systemd = eff
        .list(keys::EXEC_OPTS)
        .iter()
        .any(|(o, _)| o.replace(' ', "") == "native.cgroupdriver=systemd");
    if let (Some(cp), true) = (eff.string(keys::CGROUP_PARENT).0, systemd) {
        if !cp.is_empty() && (cp.len() <= 6 || !cp.ends_with(".slice")) {
            fatal(
                "cgroup-parent for systemd cgroup should be a valid slice named as \"xxx.slice\""
                    .into(),
                ev("cgroup-parent"),
            );
        }
    }
    let engine = &eff.context.engine;
    if let (Some(d), d_ev) = eff.string(keys::STORAGE_DRIVER) {
        if engine.removed_storage_driver(&d).is_some() {
            fatal(
                format!(
                    "[graphdriver] ERROR: the {d} storage-driver has been deprecated and removed; visit https://docs.docker.com/go/storage-driver/ for more information"
                ),
                d_ev,
            );
        }
    }
    // daemon/logs.go: the daemon's log options are checked against the
    // driver only when there are some; without, containers fail to start.
    if let (Some(d), d_ev) = eff.string(keys::LOG_DRIVER) {
        if let Some(at) = engine.removed_log_driver(&d) {
            let msg = format!("logger: no log driver named '{d}' is registered");
            if eff.map(keys::LOG_OPTS).is_empty() {
                out.push(Problem {
                    level: ProblemLevel::Warning,
                    message: format!(
                        "dockerd starts, but every container fails to start: {msg} (removed in {})",
                        at.line()
                    ),
                    evidence: d_ev,
                });
            } else {
                fatal(format!("failed to set log opts: {msg}"), d_ev);
            }
        }
    }
    out
}

/// What each set option is in this engine (the table's `life`): refused
/// (a start failure when set to a non-zero value), deprecated or ignored
/// (warnings; an ignored value is dropped).
pub(super) fn lifecycle(eff: &mut Effective) -> Vec<Problem> {
    let engine = eff.context.engine;
    let mut out = Vec::new();
    let mut drop = Vec::new();
    for (key, s) in &eff.settings {
        let Some(spec) = options::by_key(key) else {
            continue;
        };
        let Some(ev) = s.evidence.first().cloned() else {
            continue;
        };
        match spec.life_in(&engine) {
            options::Life::Refused(msg) if !is_zero(&s.value) => out.push(Problem {
                level: ProblemLevel::Fatal,
                message: msg.to_string(),
                evidence: ev,
            }),
            options::Life::Deprecated(msg) => out.push(Problem {
                level: ProblemLevel::Warning,
                message: format!("{}: {msg}", spec.key),
                evidence: ev,
            }),
            options::Life::Ignored(msg) => {
                out.push(Problem {
                    level: ProblemLevel::Warning,
                    message: format!(
                        "{}: {msg}; dockerd {} ignores it",
                        spec.key,
                        engine.version.line()
                    ),
                    evidence: ev,
                });
                drop.push(key.clone());
            }
            _ => {}
        }
    }
    for k in drop {
        eff.settings.remove(&k);
    }
    out
}

/// The Go zero value (what an unset field decodes to).
pub(super) fn is_zero(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        Value::Num(n) => *n == 0.0,
        Value::Str(t) => t.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Json(j) => {
            j.is_null()
                || j.as_object().is_some_and(|o| o.is_empty())
                || j.as_array().is_some_and(|a| a.is_empty())
        }
        Value::Null => true,
    }
}
