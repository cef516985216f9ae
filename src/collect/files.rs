//! Reading files, metadata and directories, bounded and optionally confined
//! to a root directory (`--root DIR`).
//!
//! Under a root, every path is resolved component by component: a symlink
//! target `/etc/x` means `DIR/etc/x`, `..` never climbs above `DIR`, so no
//! link inside the audited tree can make dockhard read the auditor's own
//! files.

use crate::snapshot::{DirEvidence, FileEvidence, FileKind, FileMeta, MAX_FILE_BYTES};
use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// Most symlinks followed while resolving one path (as Linux' ELOOP limit).
const MAX_SYMLINKS: usize = 40;

/// A view of a filesystem: the host's, or a directory treated as `/`.
#[derive(Debug, Clone, Default)]
pub struct Fs {
    root: Option<PathBuf>,
}

impl Fs {
    /// The host's filesystem, paths resolved by the kernel.
    pub fn host() -> Self {
        Fs { root: None }
    }

    /// `dir` as the root: paths and symlinks resolve inside it.
    pub fn under(dir: impl Into<PathBuf>) -> Self {
        Fs {
            root: Some(dir.into()),
        }
    }

    /// The real path of host path `path`. With `follow_last` false, a final
    /// symlink is not followed (for lstat / readlink).
    pub fn resolve(&self, path: &str, follow_last: bool) -> io::Result<PathBuf> {
        self.resolve_counted(path, follow_last).map(|(p, _)| p)
    }

    /// [`Fs::resolve`], also giving how many symlinks were followed (always
    /// 0 on the host's filesystem, where the kernel resolves).
    fn resolve_counted(&self, path: &str, follow_last: bool) -> io::Result<(PathBuf, usize)> {
        if !path.starts_with('/') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not an absolute path: {path}"),
            ));
        }
        let Some(root) = &self.root else {
            return Ok((PathBuf::from(path), 0));
        };
        let mut queue: VecDeque<OsString> = components(Path::new(path));
        let mut stack: Vec<OsString> = Vec::new();
        let mut links = 0usize;
        while let Some(comp) = queue.pop_front() {
            if comp == ".." {
                stack.pop();
                continue;
            }
            let mut candidate = join(root, &stack);
            candidate.push(&comp);
            if queue.is_empty() && !follow_last {
                stack.push(comp);
                break;
            }
            let md = match std::fs::symlink_metadata(&candidate) {
                Ok(md) => md,
                Err(e) if e.kind() == io::ErrorKind::NotFound && queue.is_empty() => {
                    stack.push(comp);
                    break;
                }
                Err(e) => return Err(e),
            };
            if md.file_type().is_symlink() {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = std::fs::read_link(&candidate)?;
                if target.is_absolute() {
                    stack.clear();
                }
                let mut new = components(&target);
                new.extend(queue.drain(..));
                queue = new;
            } else {
                stack.push(comp);
            }
        }
        Ok((join(root, &stack), links))
    }

    /// Metadata of `path` (lstat, plus stat of the target of a symlink).
    pub fn meta(&self, path: &str) -> io::Result<FileMeta> {
        let own = self.resolve(path, false)?;
        let lmd = std::fs::symlink_metadata(&own)?;
        let kind = kind_of(&lmd);
        if kind != FileKind::Symlink {
            return Ok(meta_from(kind, None, None, &lmd));
        }
        let link_target = std::fs::read_link(&own)
            .ok()
            .map(|t| String::from_utf8_lossy(t.as_os_str().as_bytes()).into_owned());
        let target = self
            .resolve(path, true)
            .and_then(|p| match &self.root {
                Some(_) => std::fs::symlink_metadata(p),
                None => std::fs::metadata(p),
            })
            .ok();
        Ok(match target {
            Some(tmd) => meta_from(kind, Some(kind_of(&tmd)), link_target, &tmd),
            None => meta_from(kind, None, link_target, &lmd),
        })
    }

    /// Read a file's content (at most [`MAX_FILE_BYTES`]) and metadata.
    pub fn read_file(&self, path: &str) -> FileEvidence {
        let mut ev = FileEvidence::default();
        match self.meta(path) {
            Ok(m) => ev.meta = Some(m),
            Err(e) => {
                ev.missing = e.kind() == io::ErrorKind::NotFound;
                ev.error = Some(io_error_text(&e));
                return ev;
            }
        }
        match self.read_bounded(path, MAX_FILE_BYTES) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(s) => ev.text = Some(s),
                Err(e) => {
                    ev.text = Some(String::from_utf8_lossy(e.as_bytes()).into_owned());
                    ev.invalid_utf8 = true;
                }
            },
            Err(e) => {
                ev.missing = e.kind() == io::ErrorKind::NotFound;
                ev.error = Some(io_error_text(&e));
            }
        }
        ev
    }

    /// Metadata only, never the content.
    pub fn read_meta(&self, path: &str) -> FileEvidence {
        match self.meta(path) {
            Ok(m) => FileEvidence {
                meta: Some(m),
                ..FileEvidence::default()
            },
            Err(e) => FileEvidence {
                missing: e.kind() == io::ErrorKind::NotFound,
                error: Some(io_error_text(&e)),
                ..FileEvidence::default()
            },
        }
    }

    /// The sorted entry names of a directory.
    pub fn read_dir(&self, path: &str) -> DirEvidence {
        let listed = self.resolve(path, true).and_then(|p| {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(p)? {
                names.push(String::from_utf8_lossy(entry?.file_name().as_bytes()).into_owned());
                if names.len() > 100_000 {
                    return Err(io::Error::other("too many entries (limit 100000)"));
                }
            }
            names.sort();
            Ok(names)
        });
        match listed {
            Ok(names) => DirEvidence {
                entries: Some(names),
                missing: false,
                error: None,
            },
            Err(e) => DirEvidence {
                entries: None,
                missing: e.kind() == io::ErrorKind::NotFound,
                error: Some(io_error_text(&e)),
            },
        }
    }

    /// Read at most `limit` bytes of a regular file. Refuses FIFOs, devices
    /// and sockets before and after opening (opened non-blocking, so a FIFO
    /// never blocks), and files larger than `limit` whatever their stated size.
    ///
    /// A file reached through a symbolic link is read only when everyone may
    /// read it (see [`Fs::check_link_target`]).
    pub fn read_bounded(&self, path: &str, limit: u64) -> io::Result<Vec<u8>> {
        read_at_most(self.open_regular(path, limit)?, limit)
    }

    /// Open a regular file of at most `limit` bytes for reading, with the
    /// checks of [`Fs::read_bounded`] (links confined to the root, no FIFO
    /// or device, a protected file reached through a link refused).
    pub fn open_regular(&self, path: &str, limit: u64) -> io::Result<File> {
        let (real, links) = self.resolve_counted(path, true)?;
        let pre = match &self.root {
            Some(_) => std::fs::symlink_metadata(&real)?,
            None => std::fs::metadata(&real)?,
        };
        check_regular(&pre, limit)?;
        let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;
        if self.root.is_some() {
            flags |= libc::O_NOFOLLOW;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(&real)?;
        let md = file.metadata()?;
        check_regular(&md, limit)?;
        self.check_link_target(path, &real, links, &file, &md)?;
        Ok(file)
    }

    /// Refuse the content of a file that is not world-readable (no `o+r`)
    /// when it was reached through a symbolic link (any component): dockhard
    /// runs as root, and a link planted where a configuration file is
    /// expected (`daemon.json -> /etc/shadow`, a unit linked to a private
    /// key) must not make it copy a protected file into a snapshot or a
    /// report. The file's own permission bits decide; a file at the expected
    /// path itself is read whatever its mode. The error names the target.
    fn check_link_target(
        &self,
        asked: &str,
        real: &Path,
        links: usize,
        file: &File,
        md: &Metadata,
    ) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        if md.mode() & 0o004 != 0 {
            return Ok(());
        }
        // Where the kernel really opened it: also catches a component
        // swapped for a link between resolving and opening.
        let opened = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .or_else(|_| std::fs::canonicalize(real))
            .ok();
        let (diverted, target) = match &self.root {
            Some(root) => {
                // `--root` may be relative or go through links itself.
                let croot = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
                let inside = real.strip_prefix(root).unwrap_or(real);
                let expected = croot.join(inside);
                let target = match opened.as_deref().map(|o| o.strip_prefix(&croot)) {
                    Some(Ok(t)) => Path::new("/").join(t),
                    _ => Path::new("/").join(inside),
                };
                (
                    links > 0 || opened.as_deref() != Some(expected.as_path()),
                    target,
                )
            }
            None => {
                let target = opened.clone().unwrap_or_else(|| real.to_path_buf());
                (opened.as_deref() != Some(lexical(asked).as_path()), target)
            }
        };
        if !diverted {
            return Ok(());
        }
        Err(io::Error::other(format!(
            "symlink to {}, which is not world-readable (mode {:04o}): content not read",
            target.display(),
            md.mode() & 0o7777
        )))
    }
}

/// `path` with `.`, `..` and repeated slashes removed, without looking at
/// the filesystem.
fn lexical(path: &str) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in components(Path::new(path)) {
        if c == ".." {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out
}

fn read_at_most(file: File, limit: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if u64::try_from(buf.len()).unwrap_or(u64::MAX) > limit {
        return Err(io::Error::other(format!(
            "too large (more than {limit} bytes, limit {})",
            limit_text(limit)
        )));
    }
    Ok(buf)
}

fn check_regular(md: &Metadata, limit: u64) -> io::Result<()> {
    let kind = kind_of(md);
    if kind != FileKind::File {
        return Err(io::Error::other(format!(
            "not a regular file ({})",
            kind_text(kind)
        )));
    }
    if md.len() > limit {
        return Err(io::Error::other(format!(
            "too large ({} bytes, limit {})",
            md.len(),
            limit_text(limit)
        )));
    }
    Ok(())
}

fn limit_text(limit: u64) -> String {
    if limit % (1024 * 1024) == 0 {
        format!("{} MiB", limit / (1024 * 1024))
    } else {
        format!("{limit} bytes")
    }
}

/// Human name of a file kind, as used in error texts.
pub fn kind_text(kind: FileKind) -> &'static str {
    match kind {
        FileKind::File => "regular file",
        FileKind::Dir => "directory",
        FileKind::Symlink => "symlink",
        FileKind::Fifo => "fifo",
        FileKind::Socket => "socket",
        FileKind::CharDevice => "character device",
        FileKind::BlockDevice => "block device",
        FileKind::Other => "other",
    }
}

/// The error text recorded in the snapshot for an I/O error.
pub fn io_error_text(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "not found".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => match e.raw_os_error() {
            Some(libc::ELOOP) => "too many levels of symbolic links".to_string(),
            Some(libc::ENOTDIR) => "not a directory".to_string(),
            Some(libc::EISDIR) => "is a directory".to_string(),
            _ => e.to_string(),
        },
    }
}

fn kind_of(md: &Metadata) -> FileKind {
    let ft = md.file_type();
    if ft.is_symlink() {
        FileKind::Symlink
    } else if ft.is_file() {
        FileKind::File
    } else if ft.is_dir() {
        FileKind::Dir
    } else if ft.is_fifo() {
        FileKind::Fifo
    } else if ft.is_socket() {
        FileKind::Socket
    } else if ft.is_char_device() {
        FileKind::CharDevice
    } else if ft.is_block_device() {
        FileKind::BlockDevice
    } else {
        FileKind::Other
    }
}

fn meta_from(
    kind: FileKind,
    target_kind: Option<FileKind>,
    link_target: Option<String>,
    md: &Metadata,
) -> FileMeta {
    FileMeta {
        kind,
        target_kind,
        link_target,
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        size: md.size(),
        mtime: md.mtime(),
        dev: Some(md.dev()),
        ino: Some(md.ino()),
    }
}

fn components(p: &Path) -> VecDeque<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

fn join(root: &Path, stack: &[OsString]) -> PathBuf {
    let mut p = root.to_path_buf();
    for c in stack {
        p.push(c);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn reads_text_and_meta() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.json");
        std::fs::write(&p, "{\"icc\": false}").unwrap();
        let ev = Fs::host().read_file(p.to_str().unwrap());
        assert_eq!(ev.text.as_deref(), Some("{\"icc\": false}"));
        assert!(ev.error.is_none());
        let m = ev.meta.unwrap();
        assert_eq!(m.kind, FileKind::File);
        assert_eq!(m.size, 14);
    }

    #[test]
    fn missing_file() {
        let d = tempfile::tempdir().unwrap();
        let ev = Fs::host().read_file(d.path().join("nope").to_str().unwrap());
        assert!(ev.missing);
        assert_eq!(ev.error.as_deref(), Some("not found"));
        assert!(ev.text.is_none());
    }

    #[test]
    fn fifo_is_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fifo");
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let ev = Fs::host().read_file(p.to_str().unwrap());
        assert_eq!(ev.error.as_deref(), Some("not a regular file (fifo)"));
        assert!(ev.text.is_none());
        assert_eq!(ev.meta.unwrap().kind, FileKind::Fifo);
        // Also through the open path itself (bypassing the pre-check race).
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&p)
            .unwrap();
        assert!(check_regular(&f.metadata().unwrap(), 10).is_err());
    }

    #[test]
    fn dev_zero_is_refused() {
        let ev = Fs::host().read_file("/dev/zero");
        assert_eq!(
            ev.error.as_deref(),
            Some("not a regular file (character device)")
        );
        assert!(ev.text.is_none());
    }

    #[test]
    fn huge_sparse_file_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("big");
        let f = File::create(&p).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        let ev = Fs::host().read_file(p.to_str().unwrap());
        assert_eq!(
            ev.error.as_deref(),
            Some("too large (16777217 bytes, limit 16 MiB)")
        );
        assert!(ev.text.is_none());
        // Exactly at the limit is fine.
        f.set_len(MAX_FILE_BYTES).unwrap();
        let ev = Fs::host().read_file(p.to_str().unwrap());
        assert_eq!(ev.text.map(|t| t.len()), Some(16 * 1024 * 1024));
    }

    #[test]
    fn lying_size_is_still_bounded() {
        // /proc files report size 0 but have content: read_at_most bounds them.
        let f = File::open("/proc/self/status").unwrap();
        let err = read_at_most(f, 10).unwrap_err();
        assert_eq!(
            err.to_string(),
            "too large (more than 10 bytes, limit 10 bytes)"
        );
    }

    #[test]
    fn invalid_utf8_is_lossy() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("bin");
        std::fs::write(&p, b"ok\xff\xfeend").unwrap();
        let ev = Fs::host().read_file(p.to_str().unwrap());
        assert!(ev.invalid_utf8);
        assert_eq!(ev.text.as_deref(), Some("ok\u{fffd}\u{fffd}end"));
    }

    #[test]
    fn root_confines_absolute_and_relative_symlinks() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "auditor's secret").unwrap();
        let root = tempfile::tempdir().unwrap();
        let etc = root.path().join("etc");
        std::fs::create_dir_all(etc.join("docker")).unwrap();
        std::fs::write(etc.join("docker/daemon.json"), "{}").unwrap();
        // Inside the root, the absolute link means <root>/etc/docker/daemon.json.
        symlink("/etc/docker/daemon.json", etc.join("abs")).unwrap();
        // An absolute link to a real host path outside the root.
        let secret = outside.path().join("secret");
        symlink(&secret, etc.join("escape_abs")).unwrap();
        // A relative link that climbs out.
        symlink(
            "../../../../../../../../..".to_string() + secret.to_str().unwrap(),
            etc.join("escape_rel"),
        )
        .unwrap();
        let fs = Fs::under(root.path());
        assert_eq!(fs.read_file("/etc/abs").text.as_deref(), Some("{}"));
        let ev = fs.read_file("/etc/escape_abs");
        assert!(ev.text.is_none(), "escaped: {ev:?}");
        assert!(ev.missing);
        let ev = fs.read_file("/etc/escape_rel");
        assert!(ev.text.is_none(), "escaped: {ev:?}");
        assert!(ev.missing);
        // `..` in the requested path is clamped too.
        let ev = fs.read_file(&format!("/../../../..{}", secret.to_str().unwrap()));
        assert!(ev.text.is_none());
        let m = fs.meta("/etc/abs").unwrap();
        assert_eq!(m.kind, FileKind::Symlink);
        assert_eq!(m.target_kind, Some(FileKind::File));
        assert_eq!(m.link_target.as_deref(), Some("/etc/docker/daemon.json"));
        // A symlinked directory is resolved inside the root as well.
        symlink("/etc/docker", root.path().join("dockerdir")).unwrap();
        assert_eq!(
            fs.read_file("/dockerdir/daemon.json").text.as_deref(),
            Some("{}")
        );
        assert_eq!(
            fs.read_dir("/dockerdir").entries,
            Some(vec!["daemon.json".to_string()])
        );
    }

    #[test]
    fn protected_file_behind_a_symlink_is_not_read() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        let root = tempfile::tempdir().unwrap();
        let etc = root.path().join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("shadow"), "root:$6$secret-hash:19000::::::\n").unwrap();
        mode(&etc.join("shadow"), 0o640);
        std::fs::write(etc.join("public.json"), "{}").unwrap();
        mode(&etc.join("public.json"), 0o644);
        std::fs::write(etc.join("own.json"), "{}").unwrap();
        mode(&etc.join("own.json"), 0o600);
        symlink("/etc/shadow", etc.join("daemon.json")).unwrap();
        symlink("public.json", etc.join("pub-link.json")).unwrap();
        symlink("/etc", root.path().join("etc2")).unwrap();
        let fs = Fs::under(root.path());
        let ev = fs.read_file("/etc/daemon.json");
        assert!(ev.text.is_none(), "{ev:?}");
        assert!(!ev.missing);
        assert_eq!(
            ev.error.as_deref(),
            Some(
                "symlink to /etc/shadow, which is not world-readable (mode 0640): content not read"
            )
        );
        assert_eq!(ev.meta.unwrap().link_target.as_deref(), Some("/etc/shadow"));
        // Through a linked directory as well.
        let ev = fs.read_file("/etc2/shadow");
        assert!(ev.text.is_none(), "{ev:?}");
        assert!(ev.error.unwrap().starts_with("symlink to /etc/shadow,"));
        // World-readable targets and protected files at their own path are read.
        assert_eq!(
            fs.read_file("/etc/pub-link.json").text.as_deref(),
            Some("{}")
        );
        assert_eq!(fs.read_file("/etc/own.json").text.as_deref(), Some("{}"));
        assert!(fs.read_file("/etc/shadow").text.is_some());
        // On the host's filesystem (the kernel resolves).
        symlink("shadow", etc.join("rel-link")).unwrap();
        let link = etc.join("rel-link");
        let ev = Fs::host().read_file(link.to_str().unwrap());
        assert!(ev.text.is_none(), "{ev:?}");
        let shadow = std::fs::canonicalize(etc.join("shadow")).unwrap();
        assert_eq!(
            ev.error,
            Some(format!(
                "symlink to {}, which is not world-readable (mode 0640): content not read",
                shadow.display()
            ))
        );
        let direct = format!("{}/./own.json", etc.display());
        assert_eq!(Fs::host().read_file(&direct).text.as_deref(), Some("{}"));
    }

    #[test]
    fn symlink_loop_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        symlink("/b", root.path().join("a")).unwrap();
        symlink("/a", root.path().join("b")).unwrap();
        let ev = Fs::under(root.path()).read_file("/a");
        assert_eq!(
            ev.error.as_deref(),
            Some("too many levels of symbolic links")
        );
    }

    #[test]
    fn dir_listing_sorted_and_missing() {
        let d = tempfile::tempdir().unwrap();
        for n in ["b.conf", "a.conf", "c"] {
            std::fs::write(d.path().join(n), "").unwrap();
        }
        let ev = Fs::host().read_dir(d.path().to_str().unwrap());
        assert_eq!(
            ev.entries,
            Some(vec!["a.conf".into(), "b.conf".into(), "c".into()])
        );
        let ev = Fs::host().read_dir(d.path().join("x").to_str().unwrap());
        assert!(ev.missing);
        assert_eq!(ev.error.as_deref(), Some("not found"));
    }

    #[test]
    fn meta_of_socket_and_dangling_link() {
        let d = tempfile::tempdir().unwrap();
        let s = d.path().join("s.sock");
        let _l = std::os::unix::net::UnixListener::bind(&s).unwrap();
        let ev = Fs::host().read_meta(s.to_str().unwrap());
        assert_eq!(ev.meta.as_ref().unwrap().kind, FileKind::Socket);
        assert!(ev.text.is_none() && ev.error.is_none());
        let ev = Fs::host().read_file(s.to_str().unwrap());
        assert_eq!(ev.error.as_deref(), Some("not a regular file (socket)"));
        let l = d.path().join("dangling");
        symlink("/nonexistent/x", &l).unwrap();
        let m = Fs::host().meta(l.to_str().unwrap()).unwrap();
        assert_eq!(m.kind, FileKind::Symlink);
        assert_eq!(m.target_kind, None);
    }

    #[test]
    fn permission_denied_text() {
        let e = io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(io_error_text(&e), "permission denied");
    }
}
