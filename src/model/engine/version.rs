//! The one parser of Docker Engine version strings.
//!
//! Accepts what the places a version is found in hold: the API's `/version`
//! (`20.10.24`, `28.5.2`), a Debian package version (`20.10.24+dfsg1-1+deb12u1`,
//! `5:28.5.2-1~debian.12~bookworm`), an rpm one (`28.5.2-1.fc41`), the text
//! linked into dockerd (`v24.0.7`, `29.0.0-rc.1`), and what a user types for
//! `--engine-version` (`28`, `28.5`, `29.7.2`). A release line without a
//! patch (`28.5`, `28`) means the newest release of that line.

use serde::{Serialize, Serializer};
use std::fmt;

/// A Docker Engine release, ordered by (major, minor, patch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EngineVersion {
    pub major: u16,
    pub minor: u16,
    /// `u16::MAX`: the newest patch of the line (`28.5`).
    pub patch: u16,
}

/// A release, as a constant.
pub const fn v(major: u16, minor: u16, patch: u16) -> EngineVersion {
    EngineVersion {
        major,
        minor,
        patch,
    }
}

/// The oldest release line dockhard models exactly.
pub const OLDEST: EngineVersion = v(20, 10, 0);
/// The newest release dockhard knows (read in moby's `docker-v29.7.2` tag).
pub const NEWEST: EngineVersion = v(29, 7, 2);

const ANY: u16 = u16::MAX;

impl EngineVersion {
    /// Parse a version as found anywhere (see the module doc).
    pub fn parse(text: &str) -> Result<EngineVersion, String> {
        let t = text.trim();
        let bad = |why: &str| format!("not a Docker Engine version: {t:?} ({why})");
        if t.is_empty() {
            return Err(bad("empty"));
        }
        // Debian/rpm epoch: `5:28.5.2-1~debian.12`.
        let t2 = match t.split_once(':') {
            Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => rest,
            Some(_) => return Err(bad("unexpected ':'")),
            None => t,
        };
        let t2 = t2.strip_prefix('v').unwrap_or(t2);
        // The numeric head: digits and dots up to the first other character.
        let end = t2
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t2.len());
        let head = &t2[..end];
        let rest = &t2[end..];
        if !rest.is_empty() && !rest.starts_with(['+', '-', '~']) {
            return Err(bad("expected MAJOR[.MINOR[.PATCH]]"));
        }
        let parts: Vec<&str> = head.split('.').collect();
        if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(bad("expected MAJOR[.MINOR[.PATCH]]"));
        }
        let num = |p: &str| p.parse::<u16>().map_err(|_| bad("number out of range"));
        let major = num(parts[0])?;
        let minor = parts.get(1).map(|p| num(p)).transpose()?;
        let patch = parts.get(2).map(|p| num(p)).transpose()?;
        if minor.is_none() && !rest.is_empty() {
            return Err(bad("a release line has no suffix"));
        }
        Ok(EngineVersion {
            major,
            minor: minor.unwrap_or(ANY),
            patch: patch.unwrap_or(ANY),
        })
    }

    /// The release line (`28.5`) as text.
    pub fn line(self) -> String {
        if self.minor == ANY {
            format!("{}", self.major)
        } else {
            format!("{}.{}", self.major, self.minor)
        }
    }

    /// This version within what dockhard models: older than 20.10 is judged
    /// as 20.10, newer than the newest known as the newest. `None` when it
    /// already is within.
    pub fn clamped(self) -> (EngineVersion, Option<String>) {
        if self < OLDEST {
            (
                v(20, 10, 0),
                Some(format!(
                    "engine {self} is older than the oldest modelled ({}): judged as 20.10",
                    OLDEST.line()
                )),
            )
        } else if self > NEWEST && !(self.major == NEWEST.major && self.minor == ANY) {
            (
                NEWEST,
                Some(format!(
                    "engine {self} is newer than the newest known ({NEWEST}): judged as {NEWEST}"
                )),
            )
        } else if self.major == NEWEST.major && self.minor == ANY {
            (NEWEST, None)
        } else {
            (self, None)
        }
    }

    /// `self` is `since` or later.
    pub fn at_least(self, since: EngineVersion) -> bool {
        self >= since
    }
}

impl fmt::Display for EngineVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.minor, self.patch) {
            (ANY, _) => write!(f, "{}.x", self.major),
            (m, ANY) => write!(f, "{}.{m}.x", self.major),
            (m, p) => write!(f, "{}.{m}.{p}", self.major),
        }
    }
}

impl Serialize for EngineVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_place_a_version_is_found() {
        for (text, want) in [
            ("20.10.24", v(20, 10, 24)),
            ("20.10.24+dfsg1", v(20, 10, 24)),
            ("20.10.24+dfsg1-1+deb12u1", v(20, 10, 24)),
            ("26.1.5+dfsg1-9+deb13u1+b1", v(26, 1, 5)),
            ("5:28.5.2-1~debian.12~bookworm", v(28, 5, 2)),
            ("28.5.2-1.fc41", v(28, 5, 2)),
            ("v24.0.7", v(24, 0, 7)),
            ("29.0.0-rc.1", v(29, 0, 0)),
            (" 29.7.2\n", v(29, 7, 2)),
            ("28.5", v(28, 5, ANY)),
            ("28", v(28, ANY, ANY)),
        ] {
            assert_eq!(EngineVersion::parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_no_version() {
        for text in [
            "", "latest", "28.x", "1.2.3.4", "28..1", "x:28.5", "99999.1", "28-rc1",
        ] {
            let e = EngineVersion::parse(text).unwrap_err();
            assert!(e.contains("not a Docker Engine version"), "{text}: {e}");
        }
    }

    #[test]
    fn a_line_is_its_newest_release() {
        let line = EngineVersion::parse("28.5").unwrap();
        assert!(line > v(28, 5, 2) && line < v(28, 6, 0));
        assert!(EngineVersion::parse("28").unwrap() > v(28, 5, 2));
        assert_eq!(line.to_string(), "28.5.x");
        assert_eq!(line.line(), "28.5");
        assert_eq!(v(26, 1, 5).to_string(), "26.1.5");
    }

    #[test]
    fn clamping() {
        assert_eq!(v(26, 1, 5).clamped(), (v(26, 1, 5), None));
        let (c, w) = v(19, 3, 0).clamped();
        assert_eq!(c, v(20, 10, 0));
        assert!(w.unwrap().contains("older"));
        let (c, w) = v(30, 0, 0).clamped();
        assert_eq!(c, NEWEST);
        assert!(w.unwrap().contains("newer"));
        assert_eq!(
            EngineVersion::parse("29").unwrap().clamped(),
            (NEWEST, None)
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = EngineVersion::parse(&s);
        }

        #[test]
        fn display_round_trips(a in 0u16..200, b in 0u16..200, c in 0u16..200) {
            let x = v(a, b, c);
            prop_assert_eq!(EngineVersion::parse(&x.to_string()), Ok(x));
        }
    }
}
