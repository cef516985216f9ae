//! The Docker Engine version embedded in a dockerd executable, found
//! without running it.
//!
//! dockerd is built with `-ldflags "-X .../dockerversion.Version=V"`. Go's
//! linker stores such a string as its own read-only symbol with a NUL
//! after it, so V is a NUL-delimited run of the binary; Go's ordinary
//! string data is packed without terminators. Two sources, in order:
//!
//! 1. the Go build information (`\xff Go buildinf:`, Go 1.18+ inline
//!    format): its `-ldflags` build setting names the value. Go omits
//!    `-ldflags` from it in `-trimpath` builds (Debian's 26.1 and 28.5), so
//! 2. the NUL-delimited runs shaped as an engine version (`MAJOR.MINOR.PATCH`,
//!    major 17-99, an optional `-`/`+`/`~` suffix: `20.10.24+dfsg1`,
//!    `29.0.0-rc.1`): one distinct run is the answer; among several, the
//!    one right after the Go version string (`go1.24.4`, the linker's
//!    neighbouring `-X`-style symbol) wins.
//!
//! [`Scanner`] is fed the file in chunks of any size (the result does not
//! depend on how it is cut) and keeps a bounded state: the current run
//! (at most [`MAX_TOKEN`] bytes), [`MAX_BUILDINFO`] bytes of build
//! information, [`MAX_CANDIDATES`] candidates.

/// Longest version run considered.
pub const MAX_TOKEN: usize = 64;
/// Bytes kept after the build information magic.
pub const MAX_BUILDINFO: usize = 64 * 1024;
/// Most distinct candidate runs kept.
pub const MAX_CANDIDATES: usize = 16;

const MAGIC: &[u8] = b"\xff Go buildinf:";

/// Streaming search for the embedded version.
#[derive(Debug, Default)]
pub struct Scanner {
    /// The current NUL-free run (its first `MAX_TOKEN + 1` bytes).
    run: Vec<u8>,
    /// The current run began right after a NUL.
    run_after_nul: bool,
    /// The last non-empty NUL-delimited run was a Go version.
    prev_go: bool,
    /// The last bytes seen, for a magic cut across two chunks.
    tail: Vec<u8>,
    /// Bytes after the first magic, once found.
    buildinfo: Option<Vec<u8>>,
    /// Distinct candidates, with "right after the Go version".
    candidates: Vec<(Vec<u8>, bool)>,
    more_candidates: bool,
}

impl Scanner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next bytes of the file.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.feed_buildinfo(chunk);
        let mut rest = chunk;
        while let Some(i) = rest.iter().position(|&b| b == 0) {
            self.extend_run(&rest[..i]);
            self.end_run();
            rest = &rest[i + 1..];
        }
        self.extend_run(rest);
    }

    fn extend_run(&mut self, part: &[u8]) {
        let room = (MAX_TOKEN + 1).saturating_sub(self.run.len());
        self.run.extend_from_slice(&part[..part.len().min(room)]);
    }

    /// The current run ends at a NUL.
    fn end_run(&mut self) {
        // The run's buffer is kept for the next one (no allocation per run:
        // .rodata has hundreds of thousands).
        let run = std::mem::take(&mut self.run);
        self.judge(&run);
        self.run = run;
        self.run.clear();
    }

    fn judge(&mut self, run: &[u8]) {
        let after_nul = std::mem::replace(&mut self.run_after_nul, true);
        if run.is_empty() {
            return;
        }
        let fits = after_nul && run.len() <= MAX_TOKEN;
        if fits && is_go_version(run) {
            self.prev_go = true;
            return;
        }
        if fits && is_engine_version(run) {
            let after_go = self.prev_go;
            if let Some(c) = self
                .candidates
                .iter_mut()
                .find(|(c, _)| c.as_slice() == run)
            {
                c.1 |= after_go;
            } else if self.candidates.len() < MAX_CANDIDATES {
                self.candidates.push((run.to_vec(), after_go));
            } else {
                self.more_candidates = true;
            }
        }
        self.prev_go = false;
    }

    fn feed_buildinfo(&mut self, chunk: &[u8]) {
        if let Some(b) = &mut self.buildinfo {
            let room = MAX_BUILDINFO.saturating_sub(b.len());
            b.extend_from_slice(&chunk[..chunk.len().min(room)]);
            return;
        }
        // A magic that began in the previous chunk.
        let keep = MAGIC.len() - 1;
        let mut joined = std::mem::take(&mut self.tail);
        let from_tail = joined.len();
        joined.extend_from_slice(&chunk[..chunk.len().min(keep)]);
        let found = find(&joined, MAGIC)
            .filter(|&p| p < from_tail)
            .map(|p| p + MAGIC.len() - from_tail)
            .or_else(|| find(chunk, MAGIC).map(|p| p + MAGIC.len()));
        if let Some(start) = found {
            let after = &chunk[start.min(chunk.len())..];
            self.buildinfo = Some(after[..after.len().min(MAX_BUILDINFO)].to_vec());
            return;
        }
        // Keep the last `keep` bytes of what was seen.
        let mut tail = joined;
        if chunk.len() >= keep {
            tail.clear();
            tail.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            let drop = tail.len().saturating_sub(keep);
            tail.drain(..drop);
        }
        self.tail = tail;
    }

    /// The version, or why none was found.
    /// A run cut by the end of the file is not NUL-terminated: ignored.
    pub fn finish(self) -> Result<String, String> {
        if let Some(v) = self.buildinfo.as_deref().and_then(buildinfo_version) {
            return Ok(v);
        }
        let text = |c: &[u8]| String::from_utf8_lossy(c).into_owned();
        match self.candidates.as_slice() {
            [] => Err("no engine version string found in the executable".to_string()),
            [(only, _)] if !self.more_candidates => Ok(text(only)),
            many => {
                let after_go: Vec<&(Vec<u8>, bool)> = many.iter().filter(|c| c.1).collect();
                if let [(v, _)] = after_go.as_slice() {
                    return Ok(text(v));
                }
                let list: Vec<String> = many.iter().map(|(c, _)| text(c)).collect();
                Err(format!(
                    "several engine version strings in the executable: {}{}",
                    list.join(", "),
                    if self.more_candidates { ", ..." } else { "" }
                ))
            }
        }
    }
}

/// Where an ELF64 little-endian file keeps its section headers:
/// (offset, entry size, count, index of the section-name table).
pub fn elf_section_table(header: &[u8]) -> Option<(u64, usize, usize, usize)> {
    if header.len() < 64 || header.get(..4)? != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return None;
    }
    let u16_at = |o: usize| Some(u16::from_le_bytes(header.get(o..o + 2)?.try_into().ok()?));
    let shoff = u64::from_le_bytes(header.get(0x28..0x30)?.try_into().ok()?);
    let entsize = usize::from(u16_at(0x3A)?);
    let count = usize::from(u16_at(0x3C)?);
    let strndx = usize::from(u16_at(0x3E)?);
    (entsize >= 40 && count > 0 && strndx < count).then_some((shoff, entsize, count, strndx))
}

/// One section header: (name offset, file offset, size).
pub fn elf_section(table: &[u8], entsize: usize, i: usize) -> Option<(u32, u64, u64)> {
    let e = table.get(i.checked_mul(entsize)?..)?.get(..40)?;
    let name = u32::from_le_bytes(e.get(0..4)?.try_into().ok()?);
    let off = u64::from_le_bytes(e.get(24..32)?.try_into().ok()?);
    let size = u64::from_le_bytes(e.get(32..40)?.try_into().ok()?);
    Some((name, off, size))
}

/// The NUL-terminated name at `off` of a section-name table.
pub fn elf_name(strtab: &[u8], off: u32) -> &[u8] {
    let rest = strtab.get(off as usize..).unwrap_or(&[]);
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    &rest[..end]
}

/// The sections the version lives in: the Go build information and the
/// read-only data (the linker's `-X` strings).
pub const VERSION_SECTIONS: &[&[u8]] = &[b".go.buildinfo", b".rodata"];

/// The version in a whole byte slice (see [`Scanner`]).
pub fn scan(bytes: &[u8]) -> Result<String, String> {
    let mut s = Scanner::new();
    s.feed(bytes);
    s.finish()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(i) = hay.get(from..)?.iter().position(|&b| b == first) {
        let at = from + i;
        if hay.get(at..at + needle.len())? == needle {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// `-X .../dockerversion.Version=V` in the module information of the Go
/// 1.18+ build information (`after` starts right after the magic: pointer
/// size, flags, padding to 32 bytes, then two varint-prefixed strings: the
/// Go version and the module information).
fn buildinfo_version(after: &[u8]) -> Option<String> {
    const INLINE: u8 = 2;
    let flags = *after.get(1)?;
    if flags & INLINE == 0 {
        return None;
    }
    let rest = after.get(32 - MAGIC.len()..)?;
    let (_go, rest) = varint_string(rest)?;
    let (modinfo, _) = varint_string(rest)?;
    let key = b"dockerversion.Version=";
    let at = find(modinfo, key)? + key.len();
    let value: Vec<u8> = modinfo[at..]
        .iter()
        .take_while(|&&b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'\\'))
        .take(MAX_TOKEN)
        .copied()
        .collect();
    (!value.is_empty()).then(|| String::from_utf8_lossy(&value).into_owned())
}

/// A uvarint length and that many bytes (cut at the end of `b`).
fn varint_string(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut n: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        n |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let start = i + 1;
            let len = usize::try_from(n).ok()?;
            let end = start.saturating_add(len).min(b.len());
            return Some((&b[start..end], &b[end..]));
        }
    }
    None
}

/// `go1.24.4`, `go1.22rc1`.
fn is_go_version(run: &[u8]) -> bool {
    run.len() <= 24
        && run.starts_with(b"go1.")
        && run[4..]
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || *b == b'.')
}

/// `MAJOR.MINOR.PATCH` (major 17-99, each at most 3 digits) and an
/// optional suffix starting with `-`, `+` or `~`.
fn is_engine_version(run: &[u8]) -> bool {
    let mut parts = [0usize; 3];
    let mut i = 0;
    for (k, part) in parts.iter_mut().enumerate() {
        let start = i;
        while i < run.len() && run[i].is_ascii_digit() {
            i += 1;
        }
        *part = i - start;
        if *part == 0 || *part > 3 {
            return false;
        }
        if k < 2 {
            if run.get(i) != Some(&b'.') {
                return false;
            }
            i += 1;
        }
    }
    let major = &run[..parts[0]];
    if major.len() != 2 || major < b"17".as_slice() {
        return false;
    }
    match run.get(i..) {
        None | Some([]) => true,
        Some([sep, suffix @ ..]) => {
            matches!(sep, b'-' | b'+' | b'~')
                && !suffix.is_empty()
                && suffix.iter().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'~' | b'_' | b'-')
                })
        }
    }
}

#[cfg(test)]
mod elf_tests {
    use super::*;
    use proptest::prelude::*;

    /// A minimal ELF64 with a name table and two sections.
    fn elf() -> Vec<u8> {
        let names = b"\0.shstrtab\0.rodata\0";
        let mut f = vec![0u8; 64];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        let names_off = f.len() as u64;
        f.extend_from_slice(names);
        let data_off = f.len() as u64;
        f.extend_from_slice(b"\x0020.10.24+dfsg1\x00");
        let shoff = f.len() as u64;
        let sh = |name: u32, off: u64, size: u64| {
            let mut e = vec![0u8; 64];
            e[0..4].copy_from_slice(&name.to_le_bytes());
            e[24..32].copy_from_slice(&off.to_le_bytes());
            e[32..40].copy_from_slice(&size.to_le_bytes());
            e
        };
        let t = [
            sh(0, 0, 0),
            sh(1, names_off, names.len() as u64),
            sh(11, data_off, 16),
        ]
        .concat();
        f.extend_from_slice(&t);
        f[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
        f[0x3A..0x3C].copy_from_slice(&64u16.to_le_bytes());
        f[0x3C..0x3E].copy_from_slice(&3u16.to_le_bytes());
        f[0x3E..0x40].copy_from_slice(&1u16.to_le_bytes());
        f
    }

    #[test]
    fn finds_the_sections() {
        let f = elf();
        let (shoff, ent, n, strndx) = elf_section_table(&f).unwrap();
        let table = &f[shoff as usize..];
        let (_, so, ss) = elf_section(table, ent, strndx).unwrap();
        let strtab = &f[so as usize..(so + ss) as usize];
        let (name, off, size) = elf_section(table, ent, 2).unwrap();
        assert_eq!(elf_name(strtab, name), b".rodata");
        assert_eq!(n, 3);
        assert_eq!(
            scan(&f[off as usize..(off + size) as usize]).unwrap(),
            "20.10.24+dfsg1"
        );
        assert!(elf_section_table(b"#!/bin/sh\n").is_none());
    }

    proptest! {
        #[test]
        fn elf_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), i in 0usize..10, o in any::<u32>()) {
            let _ = elf_section_table(&bytes);
            let _ = elf_section(&bytes, 40, i);
            let _ = elf_name(&bytes, o);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A Go 1.18+ build information block with `modinfo`.
    fn buildinfo(modinfo: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.push(8);
        b.push(2);
        b.resize(32, 0);
        let go = b"go1.19.8";
        b.push(go.len() as u8);
        b.extend_from_slice(go);
        let m = modinfo.as_bytes();
        // Two-byte uvarint length.
        b.push((m.len() as u8 & 0x7f) | 0x80);
        b.push((m.len() >> 7) as u8);
        b.extend_from_slice(m);
        b
    }

    #[test]
    fn version_from_buildinfo_ldflags() {
        let mut bin = b"\x7fELF junk\0\0".to_vec();
        bin.extend(buildinfo(
            "path\tgithub.com/docker/docker/cmd/dockerd\nbuild\t-ldflags=\" -w -X \\\"github.com/docker/docker/dockerversion.Version=20.10.24+dfsg1\\\" -X \\\"github.com/docker/docker/dockerversion.GitCommit=5d6db84\\\"\"\n",
        ));
        // A different NUL-delimited run: the build information wins.
        bin.extend_from_slice(b"\x0019.03.1\0");
        assert_eq!(scan(&bin), Ok("20.10.24+dfsg1".to_string()));
    }

    #[test]
    fn version_from_the_nul_delimited_run() {
        // As in Debian's trimpath builds: no -ldflags in the build info.
        let mut bin =
            buildinfo("path\tgithub.com/docker/docker/cmd/dockerd\nbuild\t-trimpath=true\n");
        bin.extend_from_slice(
            b"1.2.3 text26.1.5 more\0\0\0go1.24.4\0\0\0\0\0\0\0\x0026.1.5+dfsg1\0\0\0\x01",
        );
        assert_eq!(scan(&bin), Ok("26.1.5+dfsg1".to_string()));
        assert_eq!(scan(b"\x0028.5.2\0"), Ok("28.5.2".to_string()));
        assert_eq!(scan(b"x\x0029.0.0-rc.1\0"), Ok("29.0.0-rc.1".to_string()));
    }

    #[test]
    fn not_versions() {
        for s in [
            "\x001.2.3\0",
            "\x0016.1.2\0",
            "\x00120.1.2\0",
            "\x0020.10\0",
            "\x0020.10.24+\0",
            "\x0020.10.24 x\0",
            "20.10.24\0",
            "\x0020.10.24",
            "\x00020.10.2\0",
        ] {
            assert!(scan(s.as_bytes()).is_err(), "{s:?}");
        }
        assert_eq!(
            scan(b""),
            Err("no engine version string found in the executable".into())
        );
    }

    #[test]
    fn several_candidates() {
        let bin = b"\x0020.10.1\0\x0024.0.7\0\0";
        assert_eq!(
            scan(bin),
            Err("several engine version strings in the executable: 20.10.1, 24.0.7".into())
        );
        // The one after the Go version string is the linker's.
        let bin = b"\x0020.10.1\0go1.20.3\0\0\0\x0024.0.7\0\0";
        assert_eq!(scan(bin), Ok("24.0.7".into()));
        // Repeats are one candidate.
        assert_eq!(scan(b"\x0028.5.2\0\x0028.5.2\0"), Ok("28.5.2".into()));
    }

    #[test]
    fn magic_cut_across_chunks() {
        let mut bin = b"abc".to_vec();
        bin.extend(buildinfo(
            "build\t-ldflags=-X=x/dockerversion.Version=24.0.9\n",
        ));
        for cut in 0..=bin.len() {
            let mut s = Scanner::new();
            s.feed(&bin[..cut]);
            s.feed(&bin[cut..]);
            assert_eq!(s.finish(), Ok("24.0.9".into()), "cut {cut}");
        }
        // Byte by byte.
        let mut s = Scanner::new();
        for b in &bin {
            s.feed(std::slice::from_ref(b));
        }
        assert_eq!(s.finish(), Ok("24.0.9".into()));
    }

    #[test]
    fn truncated_or_old_buildinfo_falls_back() {
        let mut bin = buildinfo("build\t-ldflags=-X=x/dockerversion.Version=24.0.9\n");
        bin.truncate(MAGIC.len() + 20);
        bin.extend_from_slice(b"\0\x0025.0.3\0");
        assert_eq!(scan(&bin), Ok("25.0.3".into()));
        let mut old = MAGIC.to_vec();
        old.extend_from_slice(&[8, 0]);
        old.resize(64, 0xee);
        assert!(scan(&old).is_err());
    }

    proptest! {
        #[test]
        fn chunking_does_not_matter(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just(b"\0".to_vec()),
                    Just(b"go1.21.5".to_vec()),
                    Just(b"27.3.1".to_vec()),
                    Just(b"20.10.24+dfsg1".to_vec()),
                    Just(MAGIC.to_vec()),
                    Just(b"dockerversion.Version=".to_vec()),
                    proptest::collection::vec(any::<u8>(), 0..40),
                ],
                0..40,
            ),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let bin: Vec<u8> = parts.concat();
            let whole = scan(&bin);
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (bin.len() + 1)).collect();
            points.sort();
            let mut s = Scanner::new();
            let mut last = 0;
            for p in points {
                s.feed(&bin[last..p]);
                last = p;
            }
            s.feed(&bin[last..]);
            prop_assert_eq!(s.finish(), whole.clone());
            if let Ok(v) = whole {
                prop_assert!(!v.is_empty() && v.len() <= MAX_TOKEN);
            }
        }

        #[test]
        fn any_bytes_never_panic(bin in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = scan(&bin);
            let mut with = MAGIC.to_vec();
            with.extend_from_slice(&bin);
            let _ = scan(&with);
        }
    }
}
