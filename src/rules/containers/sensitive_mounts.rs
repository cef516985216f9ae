use crate::rules::{Check, Container, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "containers.sensitive-mounts",
        title: "Do not mount sensitive host directories into containers",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::Cis,
        cis: &["5.6"],
        rationale: "A container with the host's /, /etc, /usr, /boot, /lib, /dev, /proc or /sys \
can read host secrets and, when writable, change the host's binaries, configuration or kernel \
settings.",
        decided: "`Mounts[].Source` of `GET /containers/ID/json`, for every container in any \
state. Fail when a source is `/`, or is or is under /boot, /dev, /etc, /lib, /proc, /sys or \
/usr; the message says whether it is writable (`RW`).",
        remediation: "Recreate the container without those bind mounts; mount only the files it \
needs, read-only (`:ro`).",
    },
    check: Check::Container(check),
    fix: None,
};

const SENSITIVE: &[&str] = &["/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"];

fn sensitive(source: &str) -> bool {
    let s = source.trim_end_matches('/');
    s.is_empty() && source.starts_with('/')
        || SENSITIVE
            .iter()
            .any(|d| s == *d || s.strip_prefix(d).is_some_and(|r| r.starts_with('/')))
}

fn check(_cx: &Ctx<'_>, c: &Container) -> Outcome {
    let mounts = super::mounts(c);
    let bad: Vec<_> = mounts.iter().filter(|m| sensitive(m.source)).collect();
    if bad.is_empty() {
        return Outcome::pass("mounts no sensitive host directory").with(super::mounts_evidence(c));
    }
    let what: Vec<String> = bad
        .iter()
        .map(|m| {
            let rw = if m.rw { "writable" } else { "read-only" };
            format!("{} at {} ({rw})", m.source, m.destination)
        })
        .collect();
    Outcome::fail(format!("mounts {}", what.join(", "))).with_all(bad.iter().map(|m| m.evidence(c)))
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{container, outcomes};
    use serde_json::json;

    #[test]
    fn sensitive_mounts() {
        let m = |src: &str, rw: bool| {
            json!({"Type": "bind", "Source": src, "Destination": "/host", "RW": rw,
                   "Mode": "", "Propagation": "rprivate"})
        };
        let got = outcomes(
            "containers.sensitive-mounts",
            &[
                container("none", json!({"Mounts": []})),
                container(
                    "data",
                    json!({"Mounts": [m("/srv/data", true), m("/etcetera", true)]}),
                ),
                container(
                    "etc",
                    json!({"Mounts": [m("/etc/ssl", false), m("/", true)]}),
                ),
            ],
        );
        insta::assert_snapshot!(got, @r"
        none: pass: mounts no sensitive host directory [api GET /containers/none00000000/json: Mounts: no mounts]
        data: pass: mounts no sensitive host directory [api GET /containers/data00000000/json: Mounts: /srv/data -> /host, /etcetera -> /host]
        etc: fail: mounts /etc/ssl at /host (read-only), / at /host (writable) [api GET /containers/etc000000000/json: Mounts.0: bind /etc/ssl -> /host (ro, rprivate); api GET /containers/etc000000000/json: Mounts.1: bind / -> /host (rw, rprivate)]
        ");
    }
}
