//! Writing an output file (a report, a snapshot, watch's textfile): the
//! one safe writer of `check --output`, `collect -o` and `watch
//! --textfile`: atomic (a new temporary file renamed over the target), no
//! link followed, a device or FIFO written to, never replaced.

use std::io::Write;
use std::path::Path;

/// The temporary file is new (`O_CREAT|O_EXCL|O_NOFOLLOW`, a name no one
/// can have prepared: pid and a counter), so a symbolic link planted in a
/// shared directory such as /tmp is never followed; it is renamed over
/// FILE (which replaces a link at FILE rather than writing through it).
///
/// FILE a character device or a FIFO (`-o /dev/null`, a named pipe) is
/// written to, never replaced; FILE a directory, socket or block device is
/// refused.
pub fn write(p: &Path, text: &str, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    if let Ok(md) = std::fs::symlink_metadata(p) {
        let t = md.file_type();
        if t.is_char_device() || t.is_fifo() {
            return std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NOCTTY)
                .open(p)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|e| format!("{}: {e}", p.display()));
        }
        if !t.is_file() && !t.is_symlink() {
            return Err(format!(
                "{}: not a regular file (a directory, socket or block device): not replaced",
                p.display()
            ));
        }
    }
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = p
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", p.display()))?;
    let tmp = dir.join(format!(
        ".{}.dockhard-{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let res = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .and_then(|_| std::fs::rename(&tmp, p));
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("{}: {e}", p.display()));
    }
    Ok(())
}
