//! Which dockerd a tree or host would run: the package databases and the
//! version embedded in dockerd executables. Executables are read, never
//! executed, in [`BLOCK`]-byte blocks, at most [`MAX_EXE_BYTES`] each;
//! only a version-shaped string is kept.

use super::files::{Fs, io_error_text};
use crate::parse::{dpkg, exe_version};
use crate::snapshot::{
    EngineEvidence, ExecutableVersion, MAX_FILE_BYTES, PackageEvidence, Snapshot,
};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;

/// The dpkg status database.
pub const DPKG_STATUS: &str = "/var/lib/dpkg/status";
/// Packages that ship dockerd.
pub const DOCKERD_PACKAGES: [&str; 4] = ["docker.io", "docker-ce", "moby-engine", "docker-engine"];
/// rpm databases: not read (sqlite, BerkeleyDB), only named.
pub const RPM_DATABASES: [&str; 3] = [
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    "/var/lib/rpm/Packages",
];
/// Where packages install dockerd.
pub const STANDARD_DOCKERD: [&str; 3] = [
    "/usr/bin/dockerd",
    "/usr/sbin/dockerd",
    "/usr/local/bin/dockerd",
];
/// Most bytes of one executable read (dockerd is 50-100 MiB).
pub const MAX_EXE_BYTES: u64 = 256 * 1024 * 1024;
/// Read size.
pub const BLOCK: usize = 64 * 1024;

/// The package and executable evidence of the tree `fs` (after the unit
/// files were read into `snap`).
pub fn evidence(snap: &Snapshot, fs: &Fs) -> EngineEvidence {
    let mut ev = EngineEvidence::default();
    packages(fs, &mut ev);
    for path in executable_paths(snap, fs) {
        let v = match fs.open_regular(&path, u64::MAX) {
            Ok(f) => scan_cached(f),
            Err(e) => failed(&e),
        };
        ev.executables.insert(path, v);
    }
    ev
}

/// An executable's identity and state: the same inode unchanged since
/// (size, modification and change times) holds the same version.
type ExeKey = (u64, u64, u64, i64, i64, i64, i64);

/// The versions read in this process (`check` reads the running dockerd's
/// executable and the one on disk, usually the same inode; `watch` reads
/// them at every full audit): each inode is scanned once while unchanged.
static SCANNED: std::sync::Mutex<BTreeMap<ExeKey, ExecutableVersion>> =
    std::sync::Mutex::new(BTreeMap::new());

/// Most executables remembered.
const MAX_SCANNED: usize = 64;

fn scan_cached(f: File) -> ExecutableVersion {
    let Ok(md) = f.metadata() else {
        return scan_file(f);
    };
    let key = (
        md.dev(),
        md.ino(),
        md.size(),
        md.mtime(),
        md.mtime_nsec(),
        md.ctime(),
        md.ctime_nsec(),
    );
    if let Some(v) = SCANNED.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return v;
    }
    let v = scan_file(f);
    if v.version.is_some()
        && let Ok(mut m) = SCANNED.lock()
    {
        if m.len() >= MAX_SCANNED {
            m.clear();
        }
        m.insert(key, v.clone());
    }
    v
}

/// The version embedded in the executable at host path `path` of `fs`.
pub fn executable_version(fs: &Fs, path: &str) -> ExecutableVersion {
    match fs.open_regular(path, u64::MAX) {
        Ok(f) => scan_file(f),
        Err(e) => failed(&e),
    }
}

/// The version of the executable a running process runs (`/proc/PID/exe`:
/// the inode it was started from, even if the file was replaced since).
pub fn process_version(pid: u32) -> ExecutableVersion {
    use std::os::unix::fs::OpenOptionsExt;
    let path = format!("/proc/{pid}/exe");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(&path);
    match file.and_then(|f| {
        if f.metadata()?.is_file() {
            Ok(f)
        } else {
            Err(io::Error::other("not a regular file"))
        }
    }) {
        Ok(f) => scan_cached(f),
        Err(e) => ExecutableVersion {
            version: None,
            error: Some(format!("{path}: {}", io_error_text(&e))),
        },
    }
}

fn failed(e: &io::Error) -> ExecutableVersion {
    ExecutableVersion {
        version: None,
        error: Some(io_error_text(e)),
    }
}

/// Installed dockerd packages of the dpkg database; rpm databases named
/// as not read.
fn packages(fs: &Fs, ev: &mut EngineEvidence) {
    match fs.read_bounded(DPKG_STATUS, MAX_FILE_BYTES) {
        Ok(b) => {
            let text = String::from_utf8_lossy(&b);
            ev.packages.extend(
                dpkg::installed(&text, &DOCKERD_PACKAGES)
                    .into_iter()
                    .map(|p| PackageEvidence {
                        name: p.name,
                        version: p.version,
                        database: DPKG_STATUS.to_string(),
                    }),
            );
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => ev
            .errors
            .push(format!("{DPKG_STATUS}: {}", io_error_text(&e))),
    }
    for db in RPM_DATABASES {
        if fs.meta(db).is_ok() {
            ev.errors.push(format!(
                "{db}: rpm database not read (dockhard reads no sqlite or BerkeleyDB database); the version comes from the dockerd executable"
            ));
        }
    }
}

/// The standard dockerd paths that exist, the ExecStart programs of the
/// docker services resolved from the units in `snap` and the executables
/// running daemons were started from (as they are on disk now).
pub fn executable_paths(snap: &Snapshot, fs: &Fs) -> Vec<String> {
    use crate::model::systemd;
    let mut out: Vec<String> = STANDARD_DOCKERD
        .iter()
        .filter(|p| fs.meta(p).is_ok())
        .map(|p| p.to_string())
        .collect();
    let mut units = vec![systemd::resolve(snap, "docker.service")];
    if let Some(u) = &snap.unit_file {
        units.push(systemd::resolve_file(snap, u));
    }
    for d in &snap.daemons {
        if let Some(name) = d.systemd_unit.as_deref().and_then(|u| u.rsplit('/').next())
            && name.ends_with(".service")
            && name != "docker.service"
        {
            units.push(systemd::resolve(snap, name));
        }
    }
    for u in units {
        if let Some(prog) = u.exec_start.as_ref().and_then(|w| w.first())
            && prog.text.starts_with('/')
        {
            out.push(prog.text.clone());
        }
    }
    for d in &snap.daemons {
        if let Some(exe) = &d.exe {
            let exe = exe.strip_suffix(" (deleted)").unwrap_or(exe);
            if exe.starts_with('/') {
                out.push(exe.to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Largest section-header table and section-name table read.
const MAX_ELF_TABLE: u64 = 1 << 20;

/// The file ranges of the sections the version lives in, when `file` is
/// an ELF64 executable whose tables can be read.
fn version_ranges(file: &mut File) -> Option<Vec<(u64, u64)>> {
    use std::io::{Seek, SeekFrom};
    let mut read_at = |off: u64, len: u64| -> Option<Vec<u8>> {
        if len > MAX_ELF_TABLE {
            return None;
        }
        file.seek(SeekFrom::Start(off)).ok()?;
        let mut buf = Vec::new();
        (&mut *file).take(len).read_to_end(&mut buf).ok()?;
        (buf.len() as u64 == len).then_some(buf)
    };
    let header = read_at(0, 64)?;
    let (shoff, ent, n, strndx) = exe_version::elf_section_table(&header)?;
    let table = read_at(shoff, (ent as u64).checked_mul(n as u64)?)?;
    let (_, so, ss) = exe_version::elf_section(&table, ent, strndx)?;
    let strtab = read_at(so, ss)?;
    let mut out = Vec::new();
    for want in exe_version::VERSION_SECTIONS {
        for i in 0..n {
            let (name, off, size) = exe_version::elf_section(&table, ent, i)?;
            if exe_version::elf_name(&strtab, name) == *want {
                out.push((off, size));
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Stream an executable through the version scanner: of an ELF file only
/// its build information and read-only data (a few MiB of a ~80 MiB
/// dockerd), and the version is there or nowhere; of any other file (or an
/// ELF whose section tables cannot be read) the whole file, up to
/// [`MAX_EXE_BYTES`].
fn scan_file(mut file: File) -> ExecutableVersion {
    use std::io::{Seek, SeekFrom};
    if let Some(ranges) = version_ranges(&mut file) {
        let mut scanner = exe_version::Scanner::new();
        let mut buf = vec![0u8; BLOCK];
        let mut budget = MAX_EXE_BYTES;
        for (off, size) in ranges {
            if file.seek(SeekFrom::Start(off)).is_err() {
                break;
            }
            let take = size.min(budget);
            budget -= take;
            let mut reader = (&mut file).take(take);
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => scanner.feed(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return failed(&e),
                }
            }
            // Sections are separate runs.
            scanner.feed(&[0]);
        }
        // Not the rest of the file: a Go build keeps its version in these
        // sections, and any other ELF named dockerd (a 100 MiB program
        // that is no dockerd) is not read to its end for nothing.
        return match scanner.finish() {
            Ok(v) => ExecutableVersion {
                version: Some(v),
                error: None,
            },
            Err(e) => ExecutableVersion {
                version: None,
                error: Some(format!(
                    "{e} (in the ELF sections .go.buildinfo and .rodata)"
                )),
            },
        };
    }
    scan_whole(file)
}

/// Stream a whole file through the version scanner.
fn scan_whole(file: File) -> ExecutableVersion {
    let mut scanner = exe_version::Scanner::new();
    let mut buf = vec![0u8; BLOCK];
    let mut reader = file.take(MAX_EXE_BYTES);
    let mut total = 0u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                scanner.feed(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return failed(&e),
        }
    }
    match scanner.finish() {
        Ok(v) => ExecutableVersion {
            version: Some(v),
            error: None,
        },
        Err(e) if total >= MAX_EXE_BYTES => ExecutableVersion {
            version: None,
            error: Some(format!("{e} (only the first 256 MiB were read)")),
        },
        Err(e) => ExecutableVersion {
            version: None,
            error: Some(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Mode;

    #[test]
    fn tree_with_dpkg_unit_and_executables() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for d in [
            "var/lib/dpkg",
            "usr/sbin",
            "opt/docker",
            "lib/systemd/system",
            "usr/lib/sysimage/rpm",
        ] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        std::fs::write(
            r.join("var/lib/dpkg/status"),
            "Package: docker.io\nStatus: install ok installed\nVersion: 20.10.24+dfsg1-1+deb12u1\n",
        )
        .unwrap();
        std::fs::write(r.join("usr/lib/sysimage/rpm/rpmdb.sqlite"), "x").unwrap();
        let mut bin = vec![0x7f, b'E', b'L', b'F'];
        bin.resize(3 * BLOCK + 7, 0);
        bin.extend_from_slice(b"go1.19.8\0\x0020.10.24+dfsg1\0\0");
        std::fs::write(r.join("usr/sbin/dockerd"), &bin).unwrap();
        std::os::unix::fs::symlink("/usr/sbin/dockerd", r.join("opt/docker/dockerd")).unwrap();
        std::fs::write(
            r.join("lib/systemd/system/docker.service"),
            "[Service]\nExecStart=/opt/docker/dockerd -H fd://\n",
        )
        .unwrap();
        let fs = Fs::under(r);
        let mut snap = Snapshot::new(Mode::Root);
        super::super::read_wanted(&mut snap, &fs);
        let ev = evidence(&snap, &fs);
        assert_eq!(
            ev.packages,
            vec![PackageEvidence {
                name: "docker.io".into(),
                version: "20.10.24+dfsg1-1+deb12u1".into(),
                database: DPKG_STATUS.into(),
            }]
        );
        let found = ExecutableVersion {
            version: Some("20.10.24+dfsg1".into()),
            error: None,
        };
        assert_eq!(
            ev.executables,
            BTreeMap::from([
                ("/opt/docker/dockerd".to_string(), found.clone()),
                ("/usr/sbin/dockerd".to_string(), found),
            ])
        );
        assert_eq!(ev.errors.len(), 1);
        assert!(
            ev.errors[0].starts_with("/usr/lib/sysimage/rpm/rpmdb.sqlite: rpm database not read")
        );
    }

    #[test]
    fn missing_exec_start_program_and_no_database() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("etc/systemd/system")).unwrap();
        std::fs::write(
            r.join("etc/systemd/system/docker.service"),
            "[Service]\nExecStart=/usr/bin/dockerd\n",
        )
        .unwrap();
        let fs = Fs::under(r);
        let mut snap = Snapshot::new(Mode::Root);
        super::super::read_wanted(&mut snap, &fs);
        let ev = evidence(&snap, &fs);
        assert!(ev.packages.is_empty() && ev.errors.is_empty());
        assert_eq!(
            ev.executables["/usr/bin/dockerd"].error.as_deref(),
            Some("not found")
        );
    }

    #[test]
    fn process_that_is_gone() {
        let gone = process_version(u32::MAX - 1);
        assert_eq!(
            gone.error,
            Some(format!("/proc/{}/exe: not found", u32::MAX - 1))
        );
    }
}
