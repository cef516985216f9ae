//! Section 5 of the CIS Docker Benchmark: one verdict per container (any
//! state), from the container list and one inspect each.
//!
//! The helpers below read the inspect fields several rules share, the way
//! dockerd 20.10 reads them (`HostConfig.SecurityOpt`, `Mounts`, published
//! ports, the namespace modes).

pub mod apparmor;
pub mod capabilities;
pub mod cgroup_parent;
pub mod cpu_limit;
pub mod default_bridge;
pub mod docker_sock;
pub mod health;
pub mod host_devices;
pub mod host_ipc;
pub mod host_network;
pub mod host_pid;
pub mod host_userns;
pub mod host_uts;
pub mod memory_limit;
pub mod mount_propagation;
pub mod needed_ports;
pub mod no_new_privileges;
pub mod pids_limit;
pub mod ports_all_interfaces;
pub mod privileged;
pub mod privileged_ports;
pub mod read_only_rootfs;
pub mod restart_policy;
pub mod seccomp;
pub mod selinux;
pub mod sensitive_mounts;
pub mod sprawl;
pub mod sshd;
pub mod ulimits;

use crate::model::Evidence;
use crate::rules::{Container, Ctx, Outcome};
use serde_json::Value;

/// `HostConfig.SecurityOpt` values for `key`, in order, split as dockerd
/// splits them: `key=value`, else the deprecated `key:value`; a bare
/// `no-new-privileges` is `true` and a bare `disable` is `label=disable`.
/// dockerd applies them in order: for single-valued keys the last wins.
pub(crate) fn security_opts<'a>(c: &'a Container, key: &str) -> Vec<&'a str> {
    c.strings_at("/HostConfig/SecurityOpt")
        .into_iter()
        .filter_map(|o| match o {
            "no-new-privileges" => Some(("no-new-privileges", "true")),
            "disable" => Some(("label", "disable")),
            _ => o.split_once('=').or_else(|| o.split_once(':')),
        })
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .collect()
}

pub(crate) fn security_opt_evidence(c: &Container) -> Evidence {
    c.evidence("/HostConfig/SecurityOpt")
}

/// The daemon's `/info` `SecurityOptions` entry for `name` (`apparmor`,
/// `selinux`, `seccomp`: `name=seccomp,profile=default`), `None` when the
/// daemon does not list it; an `error` when `/info` was not answered.
pub(crate) fn host_security(
    cx: &Ctx<'_>,
    name: &str,
) -> Result<(Option<String>, Evidence), Outcome> {
    let Some((opts, e)) = cx
        .view
        .live
        .as_ref()
        .and_then(|l| l.security_options.as_ref())
    else {
        return Err(Outcome::error(
            "the daemon's SecurityOptions (GET /info) are unknown",
        ));
    };
    let n = format!("name={name}");
    let found = opts
        .iter()
        .find(|o| *o == &n || o.starts_with(&format!("{n},")))
        .cloned();
    Ok((found, e.clone()))
}

/// A namespace dockerd can share with the host: `HostConfig.<field>` is
/// `host` (`--pid=host`, `--ipc=host`, ...).
pub(crate) fn host_namespace(c: &Container, field: &str, what: &str) -> Outcome {
    let pointer = format!("/HostConfig/{field}");
    let e = c.evidence(&pointer);
    let mode = c.str_at(&pointer).unwrap_or_default();
    if mode == "host" {
        Outcome::fail(format!("shares the host's {what} namespace ({field} host)")).with(e)
    } else if let Some(other) = mode.strip_prefix("container:") {
        Outcome::pass(format!(
            "does not share the host's {what} namespace (joins container {other})"
        ))
        .with(e)
    } else {
        Outcome::pass(format!("has its own {what} namespace")).with(e)
    }
}

/// One entry of `Mounts` (`types.MountPoint`).
pub(crate) struct Mount<'a> {
    index: usize,
    pub kind: &'a str,
    pub source: &'a str,
    pub destination: &'a str,
    pub rw: bool,
    pub propagation: &'a str,
}

impl Mount<'_> {
    pub fn evidence(&self, c: &Container) -> Evidence {
        let mut d = format!(
            "{} {} -> {} ({}",
            self.kind,
            self.source,
            self.destination,
            if self.rw { "rw" } else { "ro" }
        );
        if !self.propagation.is_empty() {
            d.push_str(&format!(", {}", self.propagation));
        }
        d.push(')');
        c.evidence_with(&format!("/Mounts/{}", self.index), &d)
    }
}

pub(crate) fn mounts(c: &Container) -> Vec<Mount<'_>> {
    c.at("/Mounts")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(index, m)| {
                    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default();
                    Mount {
                        index,
                        kind: s("Type"),
                        source: s("Source"),
                        destination: s("Destination"),
                        rw: m.get("RW").and_then(Value::as_bool).unwrap_or(false),
                        propagation: s("Propagation"),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Evidence for all of a container's mounts, `source -> destination` each.
pub(crate) fn mounts_evidence(c: &Container) -> Evidence {
    let list: Vec<String> = mounts(c)
        .iter()
        .map(|m| format!("{} -> {}", m.source, m.destination))
        .collect();
    let text = if list.is_empty() {
        "no mounts".to_string()
    } else {
        list.join(", ")
    };
    c.evidence_with("/Mounts", &text)
}

/// A published port: `80/tcp` -> `HostIp:HostPort`.
pub(crate) struct Binding<'a> {
    pub port: &'a str,
    pub host_ip: &'a str,
    pub host_port: &'a str,
}

impl Binding<'_> {
    pub fn text(&self) -> String {
        let ip = if self.host_ip.is_empty() {
            "*".to_string()
        } else if self.host_ip.contains(':') {
            format!("[{}]", self.host_ip)
        } else {
            self.host_ip.to_string()
        };
        let port = if self.host_port.is_empty() {
            "(any)"
        } else {
            self.host_port
        };
        format!("{} -> {ip}:{port}", self.port)
    }
}

/// The ports a container publishes on the host: what is bound
/// (`NetworkSettings.Ports`) for a running container, what will be bound
/// at start (`HostConfig.PortBindings`) otherwise; with their evidence.
pub(crate) fn bindings(c: &Container) -> (Vec<Binding<'_>>, Evidence) {
    let pointer = if c.running {
        "/NetworkSettings/Ports"
    } else {
        "/HostConfig/PortBindings"
    };
    let list: Vec<Binding<'_>> = c
        .at(pointer)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .flat_map(|(port, b)| {
                    b.as_array()
                        .map(Vec::as_slice)
                        .unwrap_or_default()
                        .iter()
                        .map(move |b| {
                            let s = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or_default();
                            Binding {
                                port,
                                host_ip: s("HostIp"),
                                host_port: s("HostPort"),
                            }
                        })
                })
                .collect()
        })
        .unwrap_or_default();
    let text = if list.is_empty() {
        "no published ports".to_string()
    } else {
        list.iter()
            .map(Binding::text)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let e = c.evidence_with(pointer, &text);
    (list, e)
}
