//! `/proc/PID/mountinfo` (proc(5)): one mount per line,
//! `ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS`.
//! Total: malformed lines are skipped, never a panic.

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub id: u32,
    pub parent: u32,
    /// `MAJ:MIN` of the filesystem.
    pub dev: String,
    /// The directory of the filesystem mounted (`/` unless a bind mount).
    pub root: String,
    /// Where it is mounted (octal escapes such as `\040` decoded).
    pub mount_point: String,
    pub fs_type: String,
    pub source: String,
}

/// Every well-formed line, in file order (a later mount on the same point
/// hides the earlier ones).
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Mount> {
    let mut it = line.split(' ');
    let id = it.next()?.parse().ok()?;
    let parent = it.next()?.parse().ok()?;
    let dev = it.next()?.to_string();
    let root = unescape(it.next()?);
    let mount_point = unescape(it.next()?);
    let _options = it.next()?;
    // Optional fields up to the separator.
    it.by_ref().find(|f| *f == "-")?;
    let fs_type = it.next()?.to_string();
    let source = unescape(it.next()?);
    if !mount_point.starts_with('/') {
        return None;
    }
    Some(Mount {
        id,
        parent,
        dev,
        root,
        mount_point,
        fs_type,
        source,
    })
}

/// Decode the kernel's `\ooo` octal escapes (space, tab, newline, backslash).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let digits = &b[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let v = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount that holds `path`: the deepest mount point that is `path` or
/// one of its ancestors (the last one mounted there wins).
pub fn mount_of<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    let path = path.trim_end_matches('/');
    let mut best: Option<&Mount> = None;
    for m in mounts {
        let mp = m.mount_point.trim_end_matches('/');
        let holds = mp.is_empty()
            || path == mp
            || path.strip_prefix(mp).is_some_and(|r| r.starts_with('/'));
        if holds && best.is_none_or(|b| mp.len() >= b.mount_point.trim_end_matches('/').len()) {
            best = Some(m);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
23 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw
40 22 8:17 / /var/lib/docker rw,relatime shared:30 master:2 - xfs /dev/sdb1 rw
41 22 8:33 /data /srv/my\\040dir rw - ext4 /dev/sdc1 rw
garbage line
";

    #[test]
    fn parses_fields_and_escapes() {
        let m = parse(SAMPLE);
        assert_eq!(m.len(), 4);
        assert_eq!(m[2].mount_point, "/var/lib/docker");
        assert_eq!(m[2].fs_type, "xfs");
        assert_eq!(m[2].source, "/dev/sdb1");
        assert_eq!(m[3].mount_point, "/srv/my dir");
        assert_eq!(m[3].root, "/data");
    }

    #[test]
    fn deepest_mount_holds_a_path() {
        let m = parse(SAMPLE);
        let at = |p: &str| mount_of(&m, p).map(|x| x.mount_point.clone());
        assert_eq!(at("/var/lib/docker").as_deref(), Some("/var/lib/docker"));
        assert_eq!(at("/var/lib/docker/").as_deref(), Some("/var/lib/docker"));
        assert_eq!(
            at("/var/lib/docker/overlay2").as_deref(),
            Some("/var/lib/docker")
        );
        assert_eq!(at("/var/lib/dockerx").as_deref(), Some("/"));
        assert_eq!(at("/").as_deref(), Some("/"));
        assert!(mount_of(&[], "/x").is_none());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let m = parse(&s);
            let _ = mount_of(&m, &s);
        }

        #[test]
        fn never_panics_on_mountinfo_like_text(
            s in "([0-9]{1,3} [0-9]{1,3} [0-9:]{1,5} [/a-z\\\\0-9]{0,8} [/a-z\\\\0-9]{0,8} [a-z,]{0,5}( [a-z:0-9]{0,5})* - [a-z]{0,4} [/a-z\\\\0-9]{0,6} [a-z]{0,3}\n){0,4}"
        ) {
            let m = parse(&s);
            for x in &m {
                prop_assert!(x.mount_point.starts_with('/'));
                let _ = mount_of(&m, &x.mount_point);
            }
        }
    }
}
