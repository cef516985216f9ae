//! The evidence: everything `collect` gathered from a host, as plain data.
//!
//! A [`Snapshot`] is what the pure layers (model, rules, report) see of the
//! world. It holds raw evidence (file contents and metadata, process argv,
//! API answers, probe results), never conclusions, so that
//! `dockhard collect -o snap.json` on a host and `dockhard check --snapshot
//! snap.json` anywhere else give the same report. The format is versioned by
//! [`SNAPSHOT_SCHEMA`]; a reader refuses any other version.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version tag of the snapshot format.
pub const SNAPSHOT_SCHEMA: &str = "dockhard/snapshot/v1";

/// Largest file `collect` reads into a snapshot (16 MiB). Larger files are
/// recorded with an error and no content.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub schema: String,
    /// Version of the dockhard that collected it.
    pub tool_version: String,
    /// RFC 3339 UTC time of collection (taken by `collect`, the only clock reader).
    pub collected_at: Option<String>,
    /// Unix seconds of collection, for comparisons with file mtimes and expiry.
    pub collected_unix: Option<i64>,
    pub mode: Mode,
    /// With `--root DIR`: the directory treated as the host's `/`. File paths
    /// in [`Snapshot::files`] are host paths (without this prefix).
    pub root: Option<String>,
    /// `--unit FILE`: the service unit (host path) that starts the audited
    /// dockerd when it is not a systemd service of this host (its `FILE.d/`
    /// drop-ins apply). The next start is resolved from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_file: Option<String>,
    /// `--engine-version`: judge the next start as this engine release
    /// (the upgrade check), whatever the evidence says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    pub host: HostEvidence,
    /// Host path -> what was found there.
    pub files: BTreeMap<String, FileEvidence>,
    /// Host directory -> its entry names (sorted), for drop-in directories.
    pub dirs: BTreeMap<String, DirEvidence>,
    /// Every running dockerd found (empty in `on_disk` and `root` mode).
    pub daemons: Vec<DaemonEvidence>,
    /// Problems met while collecting that belong to no single file or daemon.
    pub notes: Vec<String>,
    /// What tells which dockerd the tree or host would start (packages,
    /// executables).
    #[serde(default, skip_serializing_if = "EngineEvidence::is_empty")]
    pub engine: EngineEvidence,
}

impl Snapshot {
    pub fn new(mode: Mode) -> Self {
        Snapshot {
            schema: SNAPSHOT_SCHEMA.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            collected_at: None,
            collected_unix: None,
            mode,
            root: None,
            unit_file: None,
            engine_version: None,
            host: HostEvidence::default(),
            files: BTreeMap::new(),
            dirs: BTreeMap::new(),
            daemons: Vec::new(),
            notes: Vec::new(),
            engine: EngineEvidence::default(),
        }
    }

    pub fn file(&self, path: &str) -> Option<&FileEvidence> {
        self.files.get(path)
    }

    /// The text of a file that was read successfully.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.files.get(path).and_then(|f| f.text.as_deref())
    }

    pub fn dir(&self, path: &str) -> Option<&DirEvidence> {
        self.dirs.get(path)
    }
}

/// What is audited.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Running daemons on this host (and the files they use).
    Live,
    /// No dockerd runs: the configuration on disk that the next start would use.
    OnDisk,
    /// `--root DIR`: the configuration files of an offline root filesystem.
    Root,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HostEvidence {
    pub hostname: Option<String>,
    pub kernel: Option<String>,
    /// Unix seconds of boot (from /proc/stat btime), to date process starts.
    pub boot_time: Option<i64>,
    /// Whether systemd is PID 1 (`/run/systemd/system` exists).
    pub systemd_running: Option<bool>,
    /// Every listening TCP socket on the host with its owner, for `host.dedicated`.
    pub listeners: Vec<HostListener>,
    /// Environment of the collecting process that dockerd semantics depend on
    /// when no daemon runs (HOME, DOCKER_CERT_PATH, DOCKER_CONFIG, XDG_*).
    pub env: BTreeMap<String, String>,
    /// `/proc/self/mountinfo` as read (live and on-disk modes; never with
    /// `--root`), for `host.data-root-partition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mountinfo: Option<String>,
    /// Why `/proc/self/mountinfo` could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mountinfo_error: Option<String>,
    /// The audit rules loaded in the kernel: the output of `auditctl -l`
    /// (live and on-disk modes, when auditctl is installed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_loaded: Option<String>,
    /// Why `auditctl -l` gave no rules (it failed, timed out, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_loaded_error: Option<String>,
    /// Whether a process named `auditd` runs (live and on-disk modes):
    /// then the kernel's rules are what auditd loaded, and `fix` loads new
    /// rules files with `augenrules --load`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auditd_running: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HostListener {
    /// IP address as text (`0.0.0.0`, `::`, `127.0.0.1`, ...).
    pub addr: String,
    pub port: u16,
    pub pid: Option<u32>,
    /// Process name (`comm`) of the owner, when it could be found.
    pub process: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Other,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileMeta {
    /// Kind of the file itself (lstat). For a symlink, see `target_kind`.
    pub kind: FileKind,
    /// Kind of what the path resolves to when it is a symlink.
    pub target_kind: Option<FileKind>,
    pub link_target: Option<String>,
    /// Permission bits and special bits (`st_mode & 0o7777`) of the resolved file.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// Unix seconds of last modification.
    pub mtime: i64,
    /// Device and inode of the file (`fix` refuses to change the owner or
    /// mode of a file replaced since it was collected). Absent in
    /// snapshots written before they were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ino: Option<u64>,
}

/// A file as `collect` found it. Exactly one of `text` and `error` is set,
/// except for files recorded with metadata only (private keys, sockets),
/// where both are `None`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FileEvidence {
    pub meta: Option<FileMeta>,
    /// Content, decoded as UTF-8 with invalid sequences replaced by U+FFFD.
    pub text: Option<String>,
    /// The content had invalid UTF-8 (replaced in `text`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invalid_utf8: bool,
    /// The path does not exist.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
    /// Why there is no content: "not found", "permission denied", "too large
    /// (N bytes, limit 16 MiB)", "not a regular file (fifo)", ...
    pub error: Option<String>,
}

impl FileEvidence {
    pub fn is_missing(&self) -> bool {
        self.missing
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DirEvidence {
    /// Entry names, sorted; `None` when the directory could not be listed.
    pub entries: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
    pub error: Option<String>,
}

/// One running dockerd.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DaemonEvidence {
    pub pid: u32,
    /// `/proc/PID/exe` target.
    pub exe: Option<String>,
    /// `/proc/PID/cmdline`, split on NUL.
    pub argv: Vec<String>,
    /// The daemon's environment, restricted to the variables dockerd's
    /// configuration depends on (HOME, DOCKER_*, XDG_*, ROOTLESSKIT_*, ...).
    /// Other variables are never stored: they may hold secrets.
    pub environ: BTreeMap<String, String>,
    /// Real uid of the process.
    pub uid: Option<u32>,
    /// Unix seconds the process started.
    pub start_time: Option<i64>,
    /// systemd unit the process belongs to, from /proc/PID/cgroup
    /// (`docker.service`), if any.
    pub systemd_unit: Option<String>,
    pub parent: Option<ProcessInfo>,
    /// TCP sockets in LISTEN state held by the daemon (matched by inode
    /// from /proc/PID/fd to /proc/net/tcp{,6}).
    pub tcp_listeners: Vec<SocketAddrText>,
    /// Why `tcp_listeners` is unknown (its /proc/PID/fd or net/tcp could
    /// not be read, say because it exited mid-audit): then the empty list
    /// proves nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets_error: Option<String>,
    /// Unix socket paths the daemon listens on.
    pub unix_listeners: Vec<String>,
    /// Errors met while reading this process (it may have exited mid-audit).
    pub errors: Vec<String>,
    pub api: ApiEvidence,
    /// One per TCP listener.
    pub probes: Vec<ProbeEvidence>,
    /// The version embedded in the executable the process runs, read
    /// through `/proc/PID/exe` (the inode it runs, even after a package
    /// upgrade replaced the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe_version: Option<ExecutableVersion>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ProcessInfo {
    pub pid: u32,
    pub comm: Option<String>,
    pub exe: Option<String>,
    pub argv: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct SocketAddrText {
    /// IP address as text, without brackets.
    pub addr: String,
    pub port: u16,
}

/// The answers of the daemon's Engine API.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ApiEvidence {
    /// The endpoint used (`unix:///var/run/docker.sock`, `tcp://127.0.0.1:2376`).
    pub endpoint: Option<String>,
    /// Why the API could not be used at all.
    pub error: Option<String>,
    /// The API version the calls after `/version` were made with
    /// (`1.47`: `GET /v1.47/info`); `None` when they were unversioned
    /// (`/version` failed or gave no usable `ApiVersion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negotiated: Option<String>,
    /// `GET /version`
    pub version: Option<ApiCall>,
    /// `GET /info`
    pub info: Option<ApiCall>,
    /// `GET /networks/bridge`
    pub bridge_network: Option<ApiCall>,
    /// The calls made for container, image and swarm rules, by request path:
    /// `/containers/json?all=1`, `/containers/ID/json`, `/containers/ID/top`,
    /// `/images/json`, `/images/ID/json`, `/images/ID/history`, `/swarm`,
    /// `/nodes`, `/networks`. Empty when they were not collected (a profile
    /// without such rules).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub objects: BTreeMap<String, ApiCall>,
    /// Processes of each running container (by container id), read from
    /// /proc (their cgroup names the container): the evidence for rules on
    /// what runs inside, without `docker exec`. A container whose processes
    /// could not be seen there has `/containers/ID/top` in `objects`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub container_processes: BTreeMap<String, Vec<ContainerProcess>>,
}

/// One process of a container, as seen in the host's /proc.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerProcess {
    pub pid: u32,
    /// `comm` (the kernel's 15-character process name).
    pub comm: String,
    /// argv[0], when readable.
    pub argv0: Option<String>,
}

/// One API call: the decoded JSON body, or why there is none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ApiCall {
    pub status: Option<u16>,
    pub body: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// The result of probing one TCP listener as an unauthenticated client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProbeEvidence {
    /// Address dockerd listens on (as bound; may be a wildcard).
    pub listen: SocketAddrText,
    /// Address actually connected to (loopback for wildcard binds).
    pub target: SocketAddrText,
    /// Plain HTTP `GET /_ping`.
    pub plain_http: ProbeOutcome,
    /// TLS handshake without a client certificate, then `GET /_ping`.
    pub tls_no_client_cert: ProbeOutcome,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// The daemon answered the request: proof of exposure.
    Answered { status: u16, detail: String },
    /// The daemon refused the client (TLS alert, HTTP 400 for plain HTTP on a
    /// TLS port, connection closed during the handshake).
    Refused { detail: String },
    /// The probe could not decide (timeout, connection refused, I/O error).
    Failed { detail: String },
    /// Not attempted (for example TLS after plain HTTP already answered).
    Skipped,
}

/// What tells which dockerd a tree or daemon would run (never executed: read).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineEvidence {
    /// Installed dockerd packages from the package databases, in database order.
    #[serde(default)]
    pub packages: Vec<PackageEvidence>,
    /// The version embedded in dockerd executables, by host path (standard
    /// paths, the ExecStart program of docker units found, /proc/PID/exe targets).
    #[serde(default)]
    pub executables: BTreeMap<String, ExecutableVersion>,
    /// Why some evidence could not be read (database unreadable, ...).
    #[serde(default)]
    pub errors: Vec<String>,
}

impl EngineEvidence {
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.executables.is_empty() && self.errors.is_empty()
    }
}

/// One installed package that ships dockerd.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageEvidence {
    /// `docker.io`, `docker-ce`, `moby-engine`, `docker-engine`.
    pub name: String,
    /// As in the database: `20.10.24+dfsg1-1+deb12u1`, `5:28.5.2-1~debian.12~bookworm`.
    pub version: String,
    /// Host path of the database file (`/var/lib/dpkg/status`).
    pub database: String,
}

/// The version string found in a dockerd executable, or why none was.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutableVersion {
    /// Raw, as embedded (`20.10.24+dfsg1`, `28.5.2`).
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}
