//! auditctl rule files (`/etc/audit/audit.rules`, `/etc/audit/rules.d/*.rules`,
//! auditctl(8)): the file watches they set. Total: anything else is skipped.

/// A watch on a path set by one rule line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// The watched path, without a trailing slash.
    pub path: String,
    /// `-w DIR` and `-F dir=DIR` watch everything below; `-F path=` only the path.
    pub recursive: bool,
    /// 1-based line number.
    pub line: usize,
    /// `-k KEY` / `-F key=KEY`, if any.
    pub key: Option<String>,
}

impl Watch {
    /// Does this watch cover `path`?
    pub fn covers(&self, path: &str) -> bool {
        let path = trim(path);
        path == self.path
            || (self.recursive
                && (self.path == "/"
                    || path
                        .strip_prefix(self.path.as_str())
                        .is_some_and(|r| r.starts_with('/'))))
    }
}

fn trim(p: &str) -> &str {
    match p.trim_end_matches('/') {
        "" if p.starts_with('/') => "/",
        t => t,
    }
}

/// The watches of one rules file, in order. A `-W PATH` line removes the
/// watches on PATH set above it; `-D` deletes every rule above it.
pub fn parse(text: &str) -> Vec<Watch> {
    let mut out: Vec<Watch> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        let words: Vec<&str> = line.split_whitespace().collect();
        let value = |flag: &str| {
            words
                .iter()
                .position(|w| *w == flag)
                .and_then(|p| words.get(p + 1))
                .copied()
        };
        let field = |name: &str| {
            words.windows(2).find_map(|w| {
                (w[0] == "-F")
                    .then(|| w[1].strip_prefix(name))
                    .flatten()
                    .and_then(|r| r.strip_prefix('='))
            })
        };
        let key = value("-k").or_else(|| field("key")).map(str::to_string);
        match words.first().copied() {
            Some("-D") => out.clear(),
            Some("-W") => {
                if let Some(p) = value("-W") {
                    out.retain(|w| w.path != trim(p));
                }
            }
            Some("-w") => {
                if let Some(p) = value("-w").filter(|p| p.starts_with('/')) {
                    out.push(Watch {
                        path: trim(p).to_string(),
                        recursive: true,
                        line: i + 1,
                        key,
                    });
                }
            }
            Some("-a") | Some("-A") => {
                let (p, recursive) = match (field("path"), field("dir")) {
                    (Some(p), _) => (p, false),
                    (None, Some(d)) => (d, true),
                    (None, None) => continue,
                };
                if p.starts_with('/') {
                    out.push(Watch {
                        path: trim(p).to_string(),
                        recursive,
                        line: i + 1,
                        key,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn watches_and_path_fields() {
        let w = parse(
            "# docker\n-D\n-w /usr/bin/dockerd -k docker\n-w /etc/docker/ -p wa\n\
             -a always,exit -F path=/usr/bin/runc -F perm=x -F key=runc\n\
             -a exit,always -F dir=/run/containerd -k c\n-w /tmp/x\n-W /tmp/x\n-e 2\n",
        );
        let paths: Vec<(&str, bool, usize)> = w
            .iter()
            .map(|x| (x.path.as_str(), x.recursive, x.line))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("/usr/bin/dockerd", true, 3),
                ("/etc/docker", true, 4),
                ("/usr/bin/runc", false, 5),
                ("/run/containerd", true, 6),
            ]
        );
        assert_eq!(w[2].key.as_deref(), Some("runc"));
        assert!(w[1].covers("/etc/docker/daemon.json"));
        assert!(!w[1].covers("/etc/dockerx"));
        assert!(!w[2].covers("/usr/bin/runc/x"));
        assert!(parse("-w /a\n-D\n").is_empty());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*", p in "\\PC*") {
            for w in parse(&s) {
                let _ = w.covers(&p);
            }
        }

        #[test]
        fn never_panics_on_rule_like_text(
            s in "((-[wWaDFkp]|always,exit|path=/[a-z/]{0,6}|dir=/[a-z/]{0,6}|/[a-z/]{0,6}|#)[ \n]){0,12}"
        ) {
            for w in parse(&s) {
                prop_assert!(w.path.starts_with('/'));
            }
        }
    }
}
