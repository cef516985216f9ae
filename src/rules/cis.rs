//! CIS Docker Benchmark versions, and the one mapping from the ids in the
//! rule metadata to the ids of the version a report shows.
//!
//! Rule metadata ([`super::RuleMeta::cis`]) holds CIS Docker Benchmark
//! **v1.6.0** ids (v1.7.0 numbers the same). Every other version's ids are
//! derived by [`id`], never written a second time:
//!
//! - v1.8.0 (July 2025) adds 2.7 "Ensure the devicemapper storage driver is
//!   not used" and renumbers v1.6.0's 2.7-2.18 as 2.8-2.19; 2.1-2.6 and
//!   every other section (1, 3, 4, 5, 6, 7) are unchanged.
//! - An item that has no v1.6.0 id is written `"1.8:2.7"` in the metadata:
//!   the version that introduced it, a colon, and its id in that version.
//!   It is shown for that version (and later ones) only.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A CIS Docker Benchmark version whose ids dockhard can show.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum CisVersion {
    /// v1.6.0 (2023; v1.7.0 numbers the same): the ids of the rule metadata.
    #[serde(rename = "1.6")]
    V1_6,
    /// v1.8.0 (July 2025), the current one: the default.
    #[default]
    #[serde(rename = "1.8")]
    V1_8,
}

impl CisVersion {
    pub const ALL: [CisVersion; 2] = [CisVersion::V1_6, CisVersion::V1_8];

    /// `1.6`, `1.8`: the value of `--cis-version` and `cis_version`.
    pub fn as_str(self) -> &'static str {
        match self {
            CisVersion::V1_6 => "1.6",
            CisVersion::V1_8 => "1.8",
        }
    }

    /// `v1.6.0`, `v1.8.0`: as the benchmark names itself.
    pub fn full(self) -> &'static str {
        match self {
            CisVersion::V1_6 => "v1.6.0",
            CisVersion::V1_8 => "v1.8.0",
        }
    }

    /// `1.6` or `1.8` (also `1.6.0`, `1.8.0`, with or without a leading `v`).
    pub fn parse(s: &str) -> Option<CisVersion> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let s = s.strip_suffix(".0").unwrap_or(s);
        CisVersion::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for CisVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The id in `version` of one metadata entry (a v1.6.0 id, or
/// `VERSION:ID` for an item introduced later); `None` when the item has
/// no id in that version, or the entry is not well formed.
pub fn id(entry: &str, version: CisVersion) -> Option<String> {
    if let Some((since, id)) = entry.split_once(':') {
        let since = CisVersion::parse(since)?;
        return (version >= since && !id.is_empty()).then(|| id.to_string());
    }
    match version {
        CisVersion::V1_6 => Some(entry.to_string()),
        CisVersion::V1_8 => Some(v1_6_to_v1_8(entry)),
    }
}

/// The ids in `version` of a rule's metadata entries, in order.
pub fn ids(entries: &[&str], version: CisVersion) -> Vec<String> {
    entries.iter().filter_map(|e| id(e, version)).collect()
}

/// v1.8.0 inserted 2.7: v1.6.0's 2.7-2.18 are 2.8-2.19.
fn v1_6_to_v1_8(id: &str) -> String {
    match id
        .strip_prefix("2.")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (7..=18).contains(n))
    {
        Some(n) => format!("2.{}", n + 1),
        None => id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CisVersion::*;

    #[test]
    fn section_2_is_renumbered_from_2_7_on() {
        let v16: Vec<String> = (1..=18).map(|n| format!("2.{n}")).collect();
        let v18: Vec<String> = v16.iter().map(|i| id(i, V1_8).unwrap()).collect();
        assert_eq!(
            v18,
            [
                "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.8", "2.9", "2.10", "2.11", "2.12",
                "2.13", "2.14", "2.15", "2.16", "2.17", "2.18", "2.19"
            ]
        );
        for i in &v16 {
            assert_eq!(id(i, V1_6).as_deref(), Some(i.as_str()));
        }
        // 2.7 of v1.8.0 is the new item: no v1.6.0 id maps onto it.
        assert!(!v18.iter().any(|i| i == "2.7"));
    }

    #[test]
    fn other_sections_are_unchanged() {
        let mut others: Vec<String> = (1..=32).map(|n| format!("5.{n}")).collect();
        others.extend((1..=24).map(|n| format!("3.{n}")));
        others.extend(["1.1.1", "1.1.18", "1.2.2", "4.1", "4.12", "6.2", "7.9"].map(String::from));
        // Not section 2, though they look alike.
        others.extend(["2.19", "2.0", "2.7.1", "12.7", "2"].map(String::from));
        for i in &others {
            for v in CisVersion::ALL {
                assert_eq!(id(i, v).as_deref(), Some(i.as_str()), "{i} in {v}");
            }
        }
    }

    #[test]
    fn items_introduced_later_have_no_earlier_id() {
        assert_eq!(id("1.8:2.7", V1_8).as_deref(), Some("2.7"));
        assert_eq!(id("1.8:2.7", V1_6), None);
        assert_eq!(id("2.0:2.7", V1_8), None);
        assert_eq!(id("1.8:", V1_8), None);
        assert_eq!(ids(&["2.6", "1.8:2.7", "2.7"], V1_6), ["2.6", "2.7"]);
        assert_eq!(ids(&["2.6", "1.8:2.7", "2.7"], V1_8), ["2.6", "2.7", "2.8"]);
    }

    #[test]
    fn versions_parse_and_default_to_the_current_one() {
        assert_eq!(CisVersion::default(), V1_8);
        for (s, v) in [
            ("1.6", V1_6),
            ("1.8", V1_8),
            ("1.8.0", V1_8),
            ("v1.6.0", V1_6),
        ] {
            assert_eq!(CisVersion::parse(s), Some(v), "{s}");
        }
        for s in ["2.0", "1.7", "", "1", "1.8.1"] {
            assert_eq!(CisVersion::parse(s), None, "{s}");
        }
        assert_eq!(serde_json::to_string(&V1_8).unwrap(), "\"1.8\"");
        assert_eq!(serde_json::from_str::<CisVersion>("\"1.6\"").unwrap(), V1_6);
    }

    #[test]
    fn every_metadata_entry_is_well_formed() {
        for r in super::super::RULES {
            for e in r.meta.cis {
                assert!(
                    CisVersion::ALL.iter().any(|v| id(e, *v).is_some()),
                    "{}: CIS entry {e:?} names no version",
                    r.meta.id
                );
                let plain = e.rsplit(':').next().unwrap_or(e);
                assert!(
                    !plain.is_empty() && plain.split('.').all(|p| p.parse::<u32>().is_ok()),
                    "{}: CIS entry {e:?} is not N.N[.N]",
                    r.meta.id
                );
            }
        }
    }
}
