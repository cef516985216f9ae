use super::super::{Check, Ctx, Outcome, Profile, Rule, RuleMeta, Severity};
use crate::model::host::{GROUP, PASSWD};
use crate::model::{Evidence, Source};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "host.docker-group",
        title: "Only trusted users are in the docker group",
        severity: Severity::High,
        seed_item: None,
        profile: Profile::All,
        cis: &["1.1.2"],
        rationale: "Members of the docker group can use the daemon's socket, which is root on the \
host (a container with the host's / mounted).",
        decided: "Always `manual`: who is trusted is an organisational fact. The evidence lists \
the members of the `docker` group: the users named in its /etc/group line and those whose \
primary group it is in /etc/passwd (users from LDAP or other NSS sources are not seen).",
        remediation: "Remove untrusted users with `gpasswd -d USER docker`; give others sudo rules \
or a rootless daemon of their own.",
    },
    check: Check::Daemon(check),
    fix: None,
};

fn check(cx: &Ctx<'_>) -> Outcome {
    if cx.snap.file(GROUP).is_some_and(|f| f.missing) {
        return Outcome::manual(format!(
            "decide by hand; there is no {GROUP}, so no local docker group"
        ));
    }
    let Some(text) = cx.snap.text(GROUP) else {
        let why = cx
            .snap
            .file(GROUP)
            .and_then(|f| f.error.clone())
            .unwrap_or_else(|| "not collected".into());
        return Outcome::error(format!("{GROUP} could not be read ({why})"));
    };
    let found = text.lines().enumerate().find_map(|(i, l)| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 4 && f[0] == "docker").then(|| (i + 1, f[2].to_string(), f[3].to_string()))
    });
    let Some((line, gid, members)) = found else {
        return Outcome::manual(format!(
            "decide by hand; there is no docker group in {GROUP}"
        ));
    };
    let mut users: Vec<String> = members
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect();
    let mut ev = vec![Evidence::at_line(
        Source::File,
        GROUP,
        line,
        format!("docker:x:{gid}:{members}"),
    )];
    for (i, l) in cx.snap.text(PASSWD).unwrap_or_default().lines().enumerate() {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() >= 4 && f[3] == gid && !users.iter().any(|u| u == f[0]) {
            users.push(f[0].to_string());
            ev.push(Evidence::at_line(
                Source::File,
                PASSWD,
                i + 1,
                format!("{}: primary group {gid}", f[0]),
            ));
        }
    }
    let msg = if users.is_empty() {
        "decide by hand; the docker group has no members".to_string()
    } else {
        format!(
            "decide by hand; {} member(s) of the docker group: {}",
            users.len(),
            users.join(", ")
        )
    };
    Outcome::manual(msg).with_all(ev)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{daemon_snapshot, lines};
    use crate::snapshot::FileEvidence;
    use serde_json::json;

    #[test]
    fn lists_members_and_primary_users() {
        let mut snap = daemon_snapshot(json!({}), &["dockerd"], None);
        let file = |t: &str| FileEvidence {
            text: Some(t.into()),
            ..FileEvidence::default()
        };
        snap.files.insert(
            "/etc/group".into(),
            file("root:x:0:\ndocker:x:998:alice,bob\n"),
        );
        snap.files.insert(
            "/etc/passwd".into(),
            file("root:x:0:0::/root:/bin/sh\nci:x:1001:998::/home/ci:/bin/sh\n"),
        );
        let missing = daemon_snapshot(json!({}), &["dockerd"], None);
        let got = [
            lines("host.docker-group", &snap),
            lines("host.docker-group", &missing),
        ]
        .concat();
        insta::assert_snapshot!(got, @r"
            daemon: manual: decide by hand; 3 member(s) of the docker group: alice, bob, ci [file /etc/group:2: docker:x:998:alice,bob; file /etc/passwd:2: ci: primary group 998]
            daemon: error: /etc/group could not be read (not collected) []
            ");
    }
}
