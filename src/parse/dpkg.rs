//! The dpkg status database (`/var/lib/dpkg/status`): which packages are
//! installed, at which version. Only what tells the engine version is
//! kept: the `Package`, `Status` and `Version` fields of the packages asked
//! for, versions raw as written (`5:28.5.2-1~debian.12~bookworm`).
//!
//! Linear in the input, no allocation but the results (at most
//! [`MAX_PACKAGES`]), never panicking.

/// Most packages returned (a status file lists each package once; this
/// bounds what a hostile one can make us keep).
pub const MAX_PACKAGES: usize = 64;
/// Longest version string kept; longer ones are cut (dpkg versions are
/// under 100 characters).
pub const MAX_VERSION_CHARS: usize = 256;

/// An installed package of interest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub name: String,
    pub version: String,
}

/// The packages named in `names` that `status` (the text of a dpkg status
/// file) lists as installed (`Status: <want> ok installed`: `install` or
/// `hold`), in file order.
pub fn installed(status: &str, names: &[&str]) -> Vec<Installed> {
    let mut out = Vec::new();
    let mut stanza = Stanza::default();
    for line in status.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            stanza.finish(names, &mut out);
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // A continuation line (Description, Conffiles): no field we read.
            continue;
        }
        let Some((field, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if field.eq_ignore_ascii_case("Package") {
            stanza.package = Some(value);
        } else if field.eq_ignore_ascii_case("Status") {
            stanza.status = Some(value);
        } else if field.eq_ignore_ascii_case("Version") {
            stanza.version = Some(value);
        }
    }
    stanza.finish(names, &mut out);
    out
}

#[derive(Default)]
struct Stanza<'a> {
    package: Option<&'a str>,
    status: Option<&'a str>,
    version: Option<&'a str>,
}

impl<'a> Stanza<'a> {
    fn finish(&mut self, names: &[&str], out: &mut Vec<Installed>) {
        let s = std::mem::take(self);
        let (Some(name), Some(status), Some(version)) = (s.package, s.status, s.version) else {
            return;
        };
        if out.len() >= MAX_PACKAGES || !names.contains(&name) || !is_installed(status) {
            return;
        }
        out.push(Installed {
            name: name.to_string(),
            version: version.chars().take(MAX_VERSION_CHARS).collect(),
        });
    }
}

/// `install ok installed`, `hold ok installed`: the package's files are
/// in place (`deinstall ok config-files`, `install ok half-configured`,
/// ... are not an installed dockerd).
fn is_installed(status: &str) -> bool {
    let mut w = status.split_ascii_whitespace();
    matches!(
        (w.next(), w.next(), w.next(), w.next()),
        (
            Some("install" | "hold"),
            Some("ok"),
            Some("installed"),
            None
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NAMES: &[&str] = &["docker.io", "docker-ce", "moby-engine", "docker-engine"];

    const STATUS: &str = "\
Package: containerd
Status: install ok installed
Version: 1.6.20~ds1-1+b1

Package: docker.io
Status: install ok installed
Priority: optional
Installed-Size: 142173
Architecture: amd64
Version: 20.10.24+dfsg1-1+deb12u1
Depends: adduser, containerd (>= 1.4~)
Description: Linux container runtime
 Docker complements kernel namespacing with a high-level API.
 Version: 99.0.0
Homepage: https://mobyproject.org

Package: docker-ce
Status: deinstall ok config-files
Version: 5:28.5.2-1~debian.12~bookworm

Package: moby-engine
Status: hold ok installed
Version: 26.1.5
";

    #[test]
    fn installed_docker_packages() {
        let got = installed(STATUS, NAMES);
        assert_eq!(
            got,
            vec![
                Installed {
                    name: "docker.io".into(),
                    version: "20.10.24+dfsg1-1+deb12u1".into()
                },
                Installed {
                    name: "moby-engine".into(),
                    version: "26.1.5".into()
                },
            ]
        );
    }

    #[test]
    fn docker_ce_with_epoch_and_crlf() {
        let s = "Package: docker-ce\r\nVersion: 5:28.5.2-1~debian.12~bookworm\r\nStatus: install ok installed\r\n";
        assert_eq!(
            installed(s, NAMES),
            vec![Installed {
                name: "docker-ce".into(),
                version: "5:28.5.2-1~debian.12~bookworm".into()
            }]
        );
    }

    #[test]
    fn half_installed_and_incomplete_stanzas_are_not_installed() {
        let s = "Package: docker.io\nStatus: install ok half-configured\nVersion: 1\n\n\
                 Package: docker-ce\nVersion: 2\n\nStatus: install ok installed\nVersion: 3\n";
        assert!(installed(s, NAMES).is_empty());
        assert!(installed("", NAMES).is_empty());
    }

    proptest! {
        #[test]
        fn never_panics_and_is_bounded(s in "(Package: docker\\.io\n|Status: install ok installed\n|Version: [ -~]{0,20}\n| x\n|\n|[\\PC\n:]{0,30}){0,200}") {
            let got = installed(&s, NAMES);
            prop_assert!(got.len() <= MAX_PACKAGES);
            for p in got {
                prop_assert_eq!(p.name, "docker.io");
                prop_assert!(p.version.chars().count() <= MAX_VERSION_CHARS);
            }
        }

        #[test]
        fn any_text_never_panics(s in "\\PC{0,400}") {
            let _ = installed(&s, NAMES);
        }
    }
}
