//! The safe writer of `dockhard fix --apply` (all the I/O of `fix`).
//!
//! - [`backup`]: copies each file about to change into a new directory
//!   `<root>/<UTC timestamp>-<pid>/` (0700; files 0600, written with
//!   `O_EXCL|O_NOFOLLOW`) and writes `manifest.json` there atomically: the
//!   original path, whether it existed, its mode, owner, size and SHA-256.
//! - [`atomic_write`]: never follows a symbolic link (the path and each of
//!   its parents are checked), writes a temporary file in the same directory
//!   (`.NAME.dockhard-PID-N.tmp`, never `*.conf`, which systemd would read
//!   from a drop-in directory; `O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC`, 0600),
//!   gives it the original owner and mode (a new file: 0644, root when
//!   running as root), fsyncs, renames it over the destination and fsyncs
//!   the directory. At every moment the destination holds the old or the
//!   new content, never a partial or empty file. Temporaries that a killed
//!   dockhard left next to the destination are removed.
//! - [`restore`]: puts every file of a backup set back with the same writer
//!   (original owner and mode), removing the files that did not exist, in
//!   the reverse order of the manifest (the order they were written in);
//!   all backups are checked against the manifest before anything is
//!   written, and a file already as in the backup is not written again.
//!   A [`backup`] that fails removes its incomplete set.
//! - Owner and mode changes ([`perm_open`], [`HeldPerm::apply`]): the path
//!   is opened with `O_PATH|O_NOFOLLOW` (never through a symbolic link, a
//!   link itself is refused), checked against what was planned (device,
//!   inode, owner, mode: a file replaced or changed since is refused), and
//!   changed through that descriptor (`fchownat(AT_EMPTY_PATH)`, `chmod`
//!   of `/proc/self/fd/N`). The old values are in the manifest
//!   ([`PermEntry`], written before the first change) and [`restore`]
//!   puts them back, checking the device and inode again.
//! - [`Lock`]: an exclusive `flock` on `/run/dockhard.lock`, failing fast
//!   (or after a timeout) when another dockhard holds it.
//!
//! Errors name the operation and the path.

use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Where backup sets go by default.
pub const DEFAULT_BACKUP_ROOT: &str = "/var/lib/dockhard/backups";
/// The lock file by default.
pub const DEFAULT_LOCK_PATH: &str = "/run/dockhard.lock";
/// File name of a backup set's manifest.
pub const MANIFEST_NAME: &str = "manifest.json";

/// An I/O failure: what was being done, to which path, and why.
#[derive(Debug)]
pub struct ApplyError {
    /// `write`, `backup`, `restore`, `lock`, ...: what was being done.
    pub op: String,
    pub path: PathBuf,
    pub source: io::Error,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.op, self.path.display(), self.source)
    }
}

impl std::error::Error for ApplyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn fail(op: &str, path: &Path, source: io::Error) -> ApplyError {
    ApplyError {
        op: op.to_string(),
        path: path.to_path_buf(),
        source,
    }
}

fn other(op: &str, path: &Path, msg: String) -> ApplyError {
    fail(op, path, io::Error::other(msg))
}

/// One file of a backup set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The original path.
    pub path: PathBuf,
    /// Whether it existed (if not, a restore removes it).
    pub existed: bool,
    /// Permission bits (`0o644`), owner and group, of the original.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    /// Hex SHA-256 of the original content.
    pub sha256: Option<String>,
    /// File name of the copy inside the backup directory.
    pub backup: Option<String>,
}

/// One owner and mode change of a change set: the file (by path, device
/// and inode) and its owner and mode before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermEntry {
    pub path: PathBuf,
    /// Device and inode of the file (planned: as collected, `None` when
    /// not recorded; in a manifest: as opened before the change).
    pub dev: Option<u64>,
    pub ino: Option<u64>,
    pub old_mode: u32,
    pub old_uid: u32,
    pub old_gid: u32,
    pub new_mode: u32,
    pub new_uid: u32,
    pub new_gid: u32,
}

/// The manifest of a backup set (`manifest.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// UTC time of the backup, `2025-01-31T12:00:00Z`.
    pub created: String,
    /// Nanoseconds since the epoch, to order sets made in the same second.
    pub created_unix_nanos: u128,
    pub pid: u32,
    pub entries: Vec<ManifestEntry>,
    /// Owner and mode changes, in the order they are made (before the
    /// writes of `entries`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub perms: Vec<PermEntry>,
}

/// A backup set on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSet {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

fn sha256_hex(bytes: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Refuse `path` if it or one of its parents is a symbolic link.
fn check_no_symlinks(op: &str, path: &Path) -> Result<(), ApplyError> {
    let mut cur = PathBuf::new();
    for c in path.components() {
        cur.push(c);
        if matches!(
            c,
            Component::RootDir | Component::CurDir | Component::Prefix(_)
        ) {
            continue;
        }
        if matches!(c, Component::ParentDir) {
            return Err(other(op, path, "refusing a path with `..`".to_string()));
        }
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(other(
                    op,
                    path,
                    format!(
                        "refusing to follow the symbolic link {} (dockhard never writes through links)",
                        cur.display()
                    ),
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(fail(op, &cur, e)),
        }
    }
    Ok(())
}

/// Owner and mode to give a written file.
#[derive(Debug, Clone, Copy)]
struct Owner {
    mode: u32,
    uid: Option<u32>,
    gid: Option<u32>,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn parent_of(op: &str, path: &Path) -> Result<PathBuf, ApplyError> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => Ok(p.to_path_buf()),
        Some(_) => Ok(PathBuf::from(".")),
        None => Err(other(op, path, "not a file path".to_string())),
    }
}

/// Whether a process `pid` exists (a pid we may not signal exists too).
fn pid_alive(pid: u32) -> bool {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) with signal 0 on a positive pid only checks it.
    p > 0
        && (unsafe { libc::kill(p, 0) } == 0
            || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// Remove the temporaries `.NAME.dockhard-PID-N.tmp` of `name` in `dir`
/// whose dockhard process no longer runs (it was killed while writing).
/// Best effort: a temporary is never read by anything.
fn remove_stale_temps(dir: &Path, name: &str) {
    let prefix = format!(".{name}.dockhard-");
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let file = e.file_name();
        let Some(rest) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|r| r.strip_suffix(".tmp"))
        else {
            continue;
        };
        let Some((pid, n)) = rest.split_once('-') else {
            continue;
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if !digits(n) || pid == std::process::id() || pid_alive(pid) {
            continue;
        }
        if e.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// The writer shared by [`atomic_write`], backups and restores. Errors name
/// the destination (the temporary file is removed).
fn write_with(op: &str, path: &Path, bytes: &[u8], owner: Owner) -> Result<(), ApplyError> {
    check_no_symlinks(op, path)?;
    let dir = parent_of(op, path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| other(op, path, "not a file path".to_string()))?;
    remove_stale_temps(&dir, &name);
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.dockhard-{}-{n}.tmp", std::process::id()));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(|e| fail(&format!("{op}: create a temporary file for"), path, e))?;
    let result = (|| {
        f.write_all(bytes)
            .map_err(|e| fail(&format!("{op}: write the temporary file for"), path, e))?;
        if owner.uid.is_some() || owner.gid.is_some() {
            std::os::unix::fs::fchown(&f, owner.uid, owner.gid).map_err(|e| {
                fail(
                    &format!("{op}: set the owner of the temporary file for"),
                    path,
                    e,
                )
            })?;
        }
        f.set_permissions(fs::Permissions::from_mode(owner.mode & 0o7777))
            .map_err(|e| {
                fail(
                    &format!("{op}: set the mode of the temporary file for"),
                    path,
                    e,
                )
            })?;
        f.sync_all()
            .map_err(|e| fail(&format!("{op}: fsync the temporary file for"), path, e))?;
        fs::rename(&tmp, path).map_err(|e| fail(&format!("{op}: rename over"), path, e))
    })();
    drop(f);
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(op, &dir)
}

fn sync_dir(op: &str, dir: &Path) -> Result<(), ApplyError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| fail(&format!("{op}: fsync directory"), dir, e))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Replace (or create) `path` with `bytes` atomically, keeping the owner and
/// mode of the file it replaces (a new file: 0644, owned by root when
/// running as root). Refuses symbolic links and anything but a regular file.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), ApplyError> {
    let op = "write";
    check_no_symlinks(op, path)?;
    let owner = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => Owner {
            mode: m.mode() & 0o7777,
            uid: Some(m.uid()),
            gid: Some(m.gid()),
        },
        Ok(_) => {
            return Err(other(op, path, "not a regular file".to_string()));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Owner {
            mode: 0o644,
            uid: is_root().then_some(0),
            gid: is_root().then_some(0),
        },
        Err(e) => return Err(fail(op, path, e)),
    };
    write_with(op, path, bytes, owner)
}

/// Read a regular file without following a symbolic link, bounded
/// (`None`: it does not exist).
fn read_regular(op: &str, path: &Path) -> Result<Option<(Vec<u8>, fs::Metadata)>, ApplyError> {
    const MAX: u64 = 16 * 1024 * 1024;
    check_no_symlinks(op, path)?;
    let f = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(op, path, e)),
    };
    let m = f.metadata().map_err(|e| fail(op, path, e))?;
    if !m.file_type().is_file() {
        return Err(other(op, path, "not a regular file".to_string()));
    }
    if m.len() > MAX {
        return Err(other(op, path, format!("larger than {MAX} bytes")));
    }
    let mut buf = Vec::new();
    f.take(MAX + 1)
        .read_to_end(&mut buf)
        .map_err(|e| fail(op, path, e))?;
    Ok(Some((buf, m)))
}

/// Copy each of `paths` (existing or not) into a new backup set under
/// `root` ([`DEFAULT_BACKUP_ROOT`] in production) and write its manifest.
pub fn backup(paths: &[PathBuf], root: &Path) -> Result<BackupSet, ApplyError> {
    backup_with(paths, &[], root)
}

/// [`backup`], the manifest also recording the owner and mode changes
/// `perms` (their old values are what a restore puts back).
pub fn backup_with(
    paths: &[PathBuf],
    perms: &[PermEntry],
    root: &Path,
) -> Result<BackupSet, ApplyError> {
    let op = "backup";
    check_no_symlinks(op, root)?;
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(|e| fail("backup: create directory", root, e))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let pid = std::process::id();
    let secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let stamp = format!("{}-{pid}", crate::timefmt::compact(secs));
    let mut dir = root.join(&stamp);
    let mut n = 1;
    loop {
        match DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => {
                n += 1;
                dir = root.join(format!("{stamp}-{n}"));
            }
            Err(e) => return Err(fail("backup: create directory", &dir, e)),
        }
    }
    match fill_backup(paths, perms, &dir, now, secs, pid) {
        Ok(manifest) => {
            sync_dir(op, root)?;
            Ok(BackupSet { dir, manifest })
        }
        Err(e) => {
            // An incomplete set (no space for a copy, ...) is of no use.
            let _ = fs::remove_dir_all(&dir);
            Err(e)
        }
    }
}

/// Copy `paths` into the new set `dir` and write its manifest.
fn fill_backup(
    paths: &[PathBuf],
    perms: &[PermEntry],
    dir: &Path,
    now: Duration,
    secs: i64,
    pid: u32,
) -> Result<Manifest, ApplyError> {
    let op = "backup";
    // The mode may have been narrowed by the umask only; make it exact.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| fail("backup: set the mode of", dir, e))?;
    let mut entries = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let entry = match read_regular(op, p)? {
            None => ManifestEntry {
                path: p.clone(),
                existed: false,
                mode: None,
                uid: None,
                gid: None,
                size: None,
                sha256: None,
                backup: None,
            },
            Some((bytes, m)) => {
                let name = format!("{i}.bak");
                let copy = dir.join(&name);
                let mut f = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                    .open(&copy)
                    .map_err(|e| fail("backup: create", &copy, e))?;
                f.write_all(&bytes)
                    .and_then(|()| f.sync_all())
                    .map_err(|e| fail("backup: write", &copy, e))?;
                ManifestEntry {
                    path: p.clone(),
                    existed: true,
                    mode: Some(m.mode() & 0o7777),
                    uid: Some(m.uid()),
                    gid: Some(m.gid()),
                    size: Some(m.len()),
                    sha256: Some(sha256_hex(&bytes)),
                    backup: Some(name),
                }
            }
        };
        entries.push(entry);
    }
    let manifest = Manifest {
        version: 1,
        created: crate::timefmt::rfc3339(secs),
        created_unix_nanos: now.as_nanos(),
        pid,
        entries,
        perms: perms.to_vec(),
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| other("backup: encode manifest", dir, e.to_string()))?;
    write_with(
        "backup: write manifest",
        &dir.join(MANIFEST_NAME),
        &json,
        Owner {
            mode: 0o600,
            uid: None,
            gid: None,
        },
    )?;
    Ok(manifest)
}

/// Read the manifest of the backup set in `dir`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, ApplyError> {
    let path = dir.join(MANIFEST_NAME);
    let (bytes, _) = read_regular("read manifest", &path)?
        .ok_or_else(|| fail("read manifest", &path, io::ErrorKind::NotFound.into()))?;
    serde_json::from_slice(&bytes).map_err(|e| other("read manifest", &path, e.to_string()))
}

/// The most recent backup set under `root` (by its manifest's time), if any.
pub fn latest_backup(root: &Path) -> Result<Option<BackupSet>, ApplyError> {
    let rd = match fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail("list backups in", root, e)),
    };
    let mut best: Option<BackupSet> = None;
    for ent in rd {
        let ent = ent.map_err(|e| fail("list backups in", root, e))?;
        let dir = ent.path();
        if !ent.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(manifest) = read_manifest(&dir) else {
            continue;
        };
        let newer = best.as_ref().is_none_or(|b| {
            (manifest.created_unix_nanos, &dir) > (b.manifest.created_unix_nanos, &b.dir)
        });
        if newer {
            best = Some(BackupSet { dir, manifest });
        }
    }
    Ok(best)
}

/// Put every file of the backup set in `dir` back as it was (content, mode,
/// owner), removing those that did not exist. Every backup copy is checked
/// (size and SHA-256) before anything is written. Returns the paths restored
/// or removed.
pub fn restore(dir: &Path) -> Result<Vec<PathBuf>, ApplyError> {
    let op = "restore";
    let manifest = read_manifest(dir)?;
    let mut plan: Vec<(&ManifestEntry, Option<Vec<u8>>)> = Vec::new();
    for e in &manifest.entries {
        if !e.existed {
            plan.push((e, None));
            continue;
        }
        let name = e
            .backup
            .as_deref()
            .filter(|n| !n.contains('/') && !n.starts_with('.'))
            .ok_or_else(|| {
                other(
                    op,
                    &e.path,
                    "the manifest names no valid backup copy".into(),
                )
            })?;
        let copy = dir.join(name);
        let (bytes, _) = read_regular(op, &copy)?.ok_or_else(|| {
            fail(
                "restore: read backup",
                &copy,
                io::ErrorKind::NotFound.into(),
            )
        })?;
        let size_ok = e.size == Some(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        if !size_ok || e.sha256.as_deref() != Some(sha256_hex(&bytes).as_str()) {
            return Err(other(
                "restore: check backup",
                &copy,
                format!(
                    "does not match the manifest (size or SHA-256), nothing restored; original path {}",
                    e.path.display()
                ),
            ));
        }
        plan.push((e, Some(bytes)));
    }
    // Owner and mode changes of files the set does not rewrite (a
    // rewritten file gets its old owner and mode with its content).
    let mut perms: Vec<(&PermEntry, HeldPerm)> = Vec::new();
    for p in manifest
        .perms
        .iter()
        .filter(|p| !manifest.entries.iter().any(|e| e.path == p.path))
    {
        let held = perm_open_any("restore", p)?;
        let st = held.stat("restore")?;
        if (st.mode, st.uid, st.gid) == (p.old_mode, p.old_uid, p.old_gid) {
            continue;
        }
        if p.dev.is_some_and(|d| d != st.dev) || p.ino.is_some_and(|i| i != st.ino) {
            return Err(other(
                "restore: owner and mode of",
                &p.path,
                "the file was replaced since dockhard changed it (another device or inode): nothing restored".into(),
            ));
        }
        perms.push((p, held));
    }
    let mut done = Vec::new();
    // Backwards: every step is a state the forward writes went through.
    for (e, bytes) in plan.into_iter().rev() {
        match bytes {
            Some(b) => {
                let owner = Owner {
                    mode: e.mode.unwrap_or(0o644),
                    uid: e.uid,
                    gid: e.gid,
                };
                // A file the run did not change (yet) is left alone: no
                // write that could fail (a full disk) for nothing.
                let unchanged = read_regular(op, &e.path)
                    .ok()
                    .flatten()
                    .is_some_and(|(cur, m)| {
                        cur == b
                            && m.mode() & 0o7777 == owner.mode & 0o7777
                            && owner.uid.is_none_or(|u| u == m.uid())
                            && owner.gid.is_none_or(|g| g == m.gid())
                    });
                if !unchanged {
                    write_with(op, &e.path, &b, owner)?;
                }
            }
            None => {
                check_no_symlinks(op, &e.path)?;
                match fs::symlink_metadata(&e.path) {
                    Ok(m) if m.file_type().is_file() => {
                        fs::remove_file(&e.path)
                            .map_err(|err| fail("restore: remove", &e.path, err))?;
                        sync_dir(op, &parent_of(op, &e.path)?)?;
                    }
                    Ok(_) => {
                        return Err(other(
                            "restore: remove",
                            &e.path,
                            "not a regular file, left in place".to_string(),
                        ));
                    }
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => return Err(fail("restore: remove", &e.path, err)),
                }
            }
        }
        done.push(e.path.clone());
    }
    // The owner and mode changes were made before the writes.
    for (p, held) in perms.into_iter().rev() {
        held.set("restore", p.old_mode, p.old_uid, p.old_gid)?;
        done.push(p.path.clone());
    }
    done.reverse();
    Ok(done)
}

/// Owner, group, mode (`& 0o7777`), kind, device and inode of an open file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermStat {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// `S_IFMT` bits.
    pub fmt: u32,
    pub dev: u64,
    pub ino: u64,
}

/// A file opened with `O_PATH|O_NOFOLLOW` for an owner and mode change: the
/// change is made on this very file, whatever happens to its path.
#[derive(Debug)]
pub struct HeldPerm {
    fd: OwnedFd,
    /// The planned change, with the device and inode of the file opened.
    pub entry: PermEntry,
}

impl HeldPerm {
    fn stat(&self, op: &str) -> Result<PermStat, ApplyError> {
        // SAFETY: fstat on a descriptor we own into a zeroed stat buffer.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(self.fd.as_raw_fd(), &mut st) } != 0 {
            return Err(fail(op, &self.entry.path, io::Error::last_os_error()));
        }
        Ok(PermStat {
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            fmt: st.st_mode & libc::S_IFMT,
            dev: st.st_dev,
            ino: st.st_ino,
        })
    }

    /// Make the planned change (owner first: a chown may clear setuid bits).
    pub fn apply(&self) -> Result<(), ApplyError> {
        let e = &self.entry;
        self.set("chown/chmod", e.new_mode, e.new_uid, e.new_gid)
    }

    fn set(&self, op: &str, mode: u32, uid: u32, gid: u32) -> Result<(), ApplyError> {
        let path = &self.entry.path;
        let st = self.stat(op)?;
        if (st.uid, st.gid) != (uid, gid) {
            // SAFETY: fchownat on our O_PATH descriptor with an empty path
            // (AT_EMPTY_PATH): the file itself, never a link's target.
            let rc = unsafe {
                libc::fchownat(
                    self.fd.as_raw_fd(),
                    c"".as_ptr(),
                    uid,
                    gid,
                    libc::AT_EMPTY_PATH,
                )
            };
            if rc != 0 {
                return Err(fail(
                    &format!("{op}: chown"),
                    path,
                    io::Error::last_os_error(),
                ));
            }
        }
        // fchmod does not take an O_PATH descriptor; its /proc/self/fd link
        // names the file opened (not a path looked up again).
        let proc = format!("/proc/self/fd/{}\0", self.fd.as_raw_fd());
        let st = self.stat(op)?;
        if st.mode != mode & 0o7777 {
            // SAFETY: a NUL-terminated path of our own making.
            let rc = unsafe { libc::chmod(proc.as_ptr().cast(), (mode & 0o7777) as libc::mode_t) };
            if rc != 0 {
                return Err(fail(
                    &format!("{op}: chmod (through /proc/self/fd)"),
                    path,
                    io::Error::last_os_error(),
                ));
            }
        }
        let st = self.stat(op)?;
        if (st.mode, st.uid, st.gid) != (mode & 0o7777, uid, gid) {
            return Err(other(
                op,
                path,
                format!(
                    "the file is {:04o} {}:{} afterwards, not {:04o} {uid}:{gid}",
                    st.mode,
                    st.uid,
                    st.gid,
                    mode & 0o7777
                ),
            ));
        }
        Ok(())
    }
}

/// Open `e.path` with `O_PATH|O_NOFOLLOW` (no parent a symbolic link,
/// the file itself no link), without comparing it with the plan.
fn perm_open_any(op: &str, e: &PermEntry) -> Result<HeldPerm, ApplyError> {
    check_no_symlinks(op, &e.path)?;
    let c = std::ffi::CString::new(e.path.as_os_str().as_bytes())
        .map_err(|_| other(op, &e.path, "a path with a NUL byte".into()))?;
    // SAFETY: open(2) with a NUL-terminated path; the descriptor is owned below.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(fail(op, &e.path, io::Error::last_os_error()));
    }
    // SAFETY: a descriptor just returned by open(2), owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let held = HeldPerm {
        fd,
        entry: e.clone(),
    };
    let st = held.stat(op)?;
    if st.fmt == libc::S_IFLNK {
        return Err(other(
            op,
            &e.path,
            "a symbolic link: dockhard never follows links (and cannot chmod a link)".into(),
        ));
    }
    Ok(held)
}

/// Open the file of a planned owner and mode change and check it is the
/// file planned from: same device and inode (when recorded), owner, group
/// and mode. A file replaced or changed since is refused, naming it.
pub fn perm_open(e: &PermEntry) -> Result<HeldPerm, ApplyError> {
    let op = "chown/chmod";
    let mut held = perm_open_any(op, e)?;
    let st = held.stat(op)?;
    if e.dev.is_some_and(|d| d != st.dev) || e.ino.is_some_and(|i| i != st.ino) {
        return Err(other(
            op,
            &e.path,
            "the file was replaced since it was read (another device or inode): nothing changed"
                .into(),
        ));
    }
    if (st.mode, st.uid, st.gid) != (e.old_mode, e.old_uid, e.old_gid) {
        return Err(other(
            op,
            &e.path,
            format!(
                "the file changed since it was read ({:04o} {}:{}, planned from {:04o} {}:{}): nothing changed",
                st.mode, st.uid, st.gid, e.old_mode, e.old_uid, e.old_gid
            ),
        ));
    }
    held.entry.dev = Some(st.dev);
    held.entry.ino = Some(st.ino);
    Ok(held)
}

/// An exclusive lock held while dockhard changes files; released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    pub path: PathBuf,
}

impl Lock {
    /// Take the lock at `path` ([`DEFAULT_LOCK_PATH`] in production) or
    /// fail at once when another dockhard holds it.
    pub fn acquire(path: &Path) -> Result<Lock, ApplyError> {
        Self::acquire_timeout(path, Duration::ZERO)
    }

    /// Take the lock, retrying for up to `timeout`.
    pub fn acquire_timeout(path: &Path, timeout: Duration) -> Result<Lock, ApplyError> {
        let op = "lock";
        check_no_symlinks(op, path)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| fail(op, path, e))?;
        let deadline = Instant::now() + timeout;
        loop {
            // SAFETY: flock on a file descriptor we own; no memory involved.
            let rc = unsafe {
                libc::flock(
                    std::os::fd::AsRawFd::as_raw_fd(&file),
                    libc::LOCK_EX | libc::LOCK_NB,
                )
            };
            if rc == 0 {
                break;
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::WouldBlock {
                return Err(fail(op, path, err));
            }
            if Instant::now() >= deadline {
                let mut holder = String::new();
                let _ = (&file).read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another dockhard".to_string()
                } else {
                    format!("another dockhard (pid {holder})")
                };
                return Err(other(
                    op,
                    path,
                    format!("{who} is changing the configuration; try again when it has finished"),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Say who holds it.
        let _ = file.set_len(0);
        let _ = file.write_all(format!("{}\n", std::process::id()).as_bytes());
        Ok(Lock {
            _file: file,
            path: path.to_path_buf(),
        })
    }
}

#[cfg(test)]
mod tests;
