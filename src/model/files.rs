//! The files whose ownership and permissions CIS section 3 judges, beyond
//! those the configuration model reads anyway (units, daemon.json, TLS
//! files): fixed paths, the certs.d tree, /etc/group, and the sockets a
//! configuration names (unix listeners, containerd).

use super::config::{Effective, Listener};
use super::systemd::ServiceResolution;
use super::{Evidence, Source, Want};
use crate::model::config::keys;
use crate::snapshot::{FileKind, Snapshot};

pub const ETC_DOCKER: &str = "/etc/docker";
pub const CERTS_D: &str = "/etc/docker/certs.d";
pub const ETC_DEFAULT_DOCKER: &str = "/etc/default/docker";
pub const ETC_SYSCONFIG_DOCKER: &str = "/etc/sysconfig/docker";
pub const ETC_GROUP: &str = "/etc/group";
/// Where dockerd looks for a system containerd (containerd's default address).
pub const SYSTEM_CONTAINERD: &str = "/run/containerd/containerd.sock";

/// The fixed paths and the certs.d tree (two levels: registry directories
/// and the files in them).
pub fn wanted(snap: &Snapshot) -> Vec<Want> {
    let mut out = vec![
        Want::Meta(ETC_DOCKER.into()),
        Want::Meta(CERTS_D.into()),
        Want::Dir(CERTS_D.into()),
        Want::Meta(ETC_DEFAULT_DOCKER.into()),
        Want::Meta(ETC_SYSCONFIG_DOCKER.into()),
        Want::Meta(SYSTEM_CONTAINERD.into()),
        Want::File(ETC_GROUP.into()),
    ];
    for (path, _) in certs_d_tree(snap).entries {
        out.push(Want::Meta(path.clone()));
        if is_dir(snap, &path) {
            out.push(Want::Dir(path));
        }
    }
    out
}

/// The sockets one configuration names: its unix listeners, the unix
/// `ListenStream=` of its socket unit (`-H fd://`), and its containerd
/// socket candidates.
pub fn config_wants(eff: &Effective, service: Option<&ServiceResolution>, out: &mut Vec<Want>) {
    for (path, _) in configured_unix_sockets(eff, service) {
        out.push(Want::Meta(path));
    }
    for (path, _) in containerd_candidates(eff) {
        out.push(Want::Meta(path));
    }
}

/// What is under certs.d, as far as it was listed.
#[derive(Debug, Default)]
pub struct CertsTree {
    /// Entries (path, is a directory per its metadata), certs.d's own
    /// entries first, each directory followed by its entries.
    pub entries: Vec<(String, bool)>,
    /// Directories that could not be listed (path, why), or were not.
    pub unlisted: Vec<(String, String)>,
}

/// certs.d's entries and the entries of its subdirectories.
pub fn certs_d_tree(snap: &Snapshot) -> CertsTree {
    let mut tree = CertsTree::default();
    let top = list(snap, CERTS_D, &mut tree.unlisted);
    for name in top {
        let path = format!("{CERTS_D}/{name}");
        let dir = is_dir(snap, &path);
        tree.entries.push((path.clone(), dir));
        if dir {
            for sub in list(snap, &path, &mut tree.unlisted) {
                let p = format!("{path}/{sub}");
                let d = is_dir(snap, &p);
                tree.entries.push((p, d));
            }
        }
    }
    tree
}

fn list(snap: &Snapshot, dir: &str, unlisted: &mut Vec<(String, String)>) -> Vec<String> {
    match snap.dir(dir) {
        None => {
            unlisted.push((dir.to_string(), "was not listed".into()));
            Vec::new()
        }
        Some(d) if d.missing => Vec::new(),
        Some(d) => match &d.entries {
            Some(e) => e.clone(),
            None => {
                unlisted.push((
                    dir.to_string(),
                    d.error
                        .clone()
                        .unwrap_or_else(|| "could not be listed".into()),
                ));
                Vec::new()
            }
        },
    }
}

fn is_dir(snap: &Snapshot, path: &str) -> bool {
    snap.file(path)
        .and_then(|f| f.meta.as_ref())
        .is_some_and(|m| m.kind == FileKind::Dir || m.target_kind == Some(FileKind::Dir))
}

/// The unix sockets a configuration listens on: `-H unix://` / `hosts`
/// (default /var/run/docker.sock), and for `-H fd://` the path
/// `ListenStream=` values of the socket unit.
pub fn configured_unix_sockets(
    eff: &Effective,
    service: Option<&ServiceResolution>,
) -> Vec<(String, Evidence)> {
    let mut out = Vec::new();
    for l in eff.listeners() {
        match l {
            Listener::Unix { path, evidence, .. } => out.push((path, evidence)),
            Listener::Fd { .. } => {
                if let Some(sock) = service.and_then(|s| s.socket.as_ref()) {
                    for (spec, ev) in &sock.listen_streams {
                        let p = spec.trim();
                        if p.starts_with('/') {
                            out.push((p.to_string(), ev.clone()));
                        }
                    }
                }
            }
            Listener::Tcp { .. } => {}
        }
    }
    out
}

/// The containerd sockets dockerd would use, in its order of preference:
/// `--containerd`/`"containerd"` alone when set; otherwise the system
/// containerd's socket if it exists, else the one of the containerd dockerd
/// starts itself (`EXEC_ROOT/containerd/containerd.sock`; 20.10
/// `initContainerD`, `supervisor.Start`). A rootless daemon looks for the
/// system one under `$XDG_RUNTIME_DIR`.
pub fn containerd_candidates(eff: &Effective) -> Vec<(String, Evidence)> {
    if let (Some(addr), ev) = eff.string(keys::CONTAINERD) {
        let p = addr.strip_prefix("unix://").unwrap_or(&addr).to_string();
        if !p.is_empty() {
            return vec![(p, ev)];
        }
    }
    let mut out = Vec::new();
    let system = if eff.context.rootless {
        eff.context
            .env
            .get("XDG_RUNTIME_DIR")
            .filter(|x| !x.is_empty())
            .map(|x| format!("{}/containerd/containerd.sock", x.trim_end_matches('/')))
    } else {
        Some(SYSTEM_CONTAINERD.to_string())
    };
    if let Some(s) = system {
        out.push((
            s,
            Evidence::new(
                Source::Default,
                "default",
                "containerd: a system containerd's socket, used when it exists",
            ),
        ));
    }
    if let (Some(exec_root), ev) = eff.string(keys::EXEC_ROOT) {
        let p = format!(
            "{}/containerd/containerd.sock",
            exec_root.trim_end_matches('/')
        );
        out.push((
            p,
            Evidence::new(
                ev.source,
                ev.location,
                format!("{} (dockerd-managed containerd under it)", ev.detail),
            ),
        ));
    }
    out
}

/// The gid of group `name` in /etc/group text.
pub fn group_gid(etc_group: &str, name: &str) -> Option<u32> {
    etc_group.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then_some(())?;
        f.next()?;
        f.next()?.trim().parse().ok()
    })
}

/// The name of gid `gid` in /etc/group text.
pub fn group_name(etc_group: &str, gid: u32) -> Option<String> {
    etc_group.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        f.next()?;
        (f.next()?.trim().parse::<u32>().ok()? == gid).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_name_and_gid() {
        let g = "root:x:0:\n#c\ndocker:x:998:alice,bob\nstaff:x:50:\nbad\n";
        assert_eq!(group_gid(g, "docker"), Some(998));
        assert_eq!(group_gid(g, "dock"), None);
        assert_eq!(group_name(g, 50).as_deref(), Some("staff"));
        assert_eq!(group_name(g, 7), None);
    }
}
