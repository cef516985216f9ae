use super::*;
use crate::audit::{AuditOptions, run_with};
use crate::report::Report;
use crate::report::sample::sample_snapshot;

fn err(text: &str) -> String {
    parse("policy.toml", text).unwrap_err()
}

const WAIVER_OK: &str = "reason = \"r\"\nowner = \"o\"\nexpires = 2027-01-31\n";

#[test]
fn the_example_policy_parses() {
    let p = parse(
        "docs/policy.example.toml",
        include_str!("../../docs/policy.example.toml"),
    )
    .unwrap();
    assert_eq!(p.profile, Some(Profile::Seed));
    assert_eq!(p.fail_on, Some(Severity::Medium));
    assert_eq!(p.enable, ["containers.", "files.daemon-json"]);
    assert_eq!(p.disable, ["containers.health", "containers.sprawl"]);
    assert_eq!(p.severity_of("daemon.icc"), Some(Severity::Critical));
    assert_eq!(
        p.severity_of("containers.privileged"),
        Some(Severity::Medium)
    );
    assert_eq!(p.severity_of("daemon.userns-remap"), None);
    assert_eq!(p.exclude.names, ["ci-*"]);
    assert_eq!(p.exclude.images, ["registry.local/sandbox/*"]);
    assert_eq!(p.exclude.labels, ["team.skip", "env=scratch"]);
    assert_eq!(
        p.waivers[0],
        Waiver {
            rule: "containers.privileged".into(),
            container: Some("web".into()),
            image: Some("nginx:*".into()),
            reason: "needs raw sockets until the proxy is replaced (TICKET-123)".into(),
            owner: "platform-team@example.com".into(),
            expires: Date {
                year: 2027,
                month: 1,
                day: 31
            },
        }
    );
    assert_eq!(p.waivers[1].expires.to_string(), "2026-12-15");
    assert_eq!(parse("empty.toml", "").unwrap(), Policy::default());
    for (text, v) in [
        ("cis_version = \"1.6\"\n", CisVersion::V1_6),
        ("cis_version = \"1.8\"\n", CisVersion::V1_8),
    ] {
        assert_eq!(parse("p.toml", text).unwrap().cis_version, Some(v));
    }
}

#[test]
fn bad_files_name_the_file_line_and_column() {
    let cases: &[(&str, &str)] = &[
        (
            "profile = \"cis\"\nfoo = 1\n",
            "policy.toml:2:1: unknown field `foo`, expected one of `profile`, `fail_on`, `cis_version`, `rules`, `severity`, `waiver`, `exclude`",
        ),
        (
            "profile = \"strict\"\n",
            "policy.toml:1:11: unknown variant `strict`, expected one of `seed`, `cis`, `all`",
        ),
        (
            "fail_on = \"urgent\"\n",
            "policy.toml:1:11: unknown variant `urgent`, expected one of `info`, `low`, `medium`, `high`, `critical`",
        ),
        (
            "cis_version = \"2.0\"\n",
            "policy.toml:1:15: unknown `cis_version` \"2.0\": expected \"1.6\" or \"1.8\" (CIS Docker Benchmark v1.6.0 or v1.8.0)",
        ),
        (
            "cis_version = 1.8\n",
            "policy.toml:1:15: `cis_version` is a float, not a string: expected \"1.6\" or \"1.8\" (CIS Docker Benchmark v1.6.0 or v1.8.0)",
        ),
        (
            "[rules]\nenable = [\"containers.\"]\nnope = []\n",
            "policy.toml:3:1: unknown field `nope`, expected `enable` or `disable`",
        ),
        (
            "[rules]\nenable = [\"containers.\",\n  \"daemon.icc\", \"daemon.nope\"]\n",
            "policy.toml:3:17: unknown rule `daemon.nope`: not a rule id, nor a prefix of one ending in `.` such as `containers.` (see `dockhard rules`)",
        ),
        (
            "[rules]\ndisable = [\"daemon.ic\"]\n",
            "policy.toml:2:12: unknown rule `daemon.ic`: not a rule id, nor a prefix of one ending in `.` such as `containers.` (see `dockhard rules`)",
        ),
        (
            "[rules]\nenable = \"containers.\"\n",
            "policy.toml:2:10: invalid type: string \"containers.\", expected a sequence",
        ),
        (
            "[severity]\n\"daemon.icc\" = \"urgent\"\n",
            "policy.toml:2:16: unknown variant `urgent`, expected one of `info`, `low`, `medium`, `high`, `critical`",
        ),
        (
            "[severity]\n\"daemon.icc\" = \"high\"\n\"nope.\" = \"low\"\n",
            "policy.toml:3:1: unknown rule `nope.`: not a rule id, nor a prefix of one ending in `.` such as `containers.` (see `dockhard rules`)",
        ),
        (
            "[exclude]\ncontainers = [\"ci-*\", \"\"]\n",
            "policy.toml:2:23: empty pattern (`*` matches everything)",
        ),
        (
            "[exclude]\nlabels = [\"=x\"]\n",
            "policy.toml:2:11: a label is `KEY` or `KEY=VALUE`, with a key",
        ),
        (
            "[exclude]\nnames = [\"x\"]\n",
            "policy.toml:2:1: unknown field `names`, expected one of `containers`, `images`, `labels`",
        ),
        (
            "[[waiver]]\nrule = \"daemon.icc\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"2027-01-31\"\n",
            "policy.toml:5:11: invalid type: string \"2027-01-31\", expected a TOML datetime (write the date unquoted: expires = 2027-01-31)",
        ),
        (
            "[[waiver]]\nrule = \"daemon.icc\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-02-30\n",
            "policy.toml:5:11: invalid date, expected day between 01 and 28",
        ),
        (
            "[[waiver]]\nrule = \"daemon.icc\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-31T10:00:00\n",
            "policy.toml:5:11: `expires` is a date (YYYY-MM-DD), without a time",
        ),
        (
            "[[waiver]]\nrule = \"daemon.icc\"\nreason = \"r\"\nowner = \"o\"\n",
            "policy.toml:1:1: missing field `expires`",
        ),
        (
            "[[waiver]]\nrule = \"daemon.icc\"\nreason = \" \"\nowner = \"o\"\nexpires = 2027-01-31\n",
            "policy.toml:3:10: `reason` must not be empty",
        ),
        (
            "[[waiver]]\nrule = \"containers.\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-31\n",
            "policy.toml:2:8: a waiver names one rule id, not a prefix (`containers.`)",
        ),
        (
            "[[waiver]]\nrule = \"daemon.icc\"\ncontainer = \"web\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-31\n",
            "policy.toml:3:13: `container` is set but `daemon.icc` is a daemon rule, not a container rule",
        ),
        (
            "[[waiver]]\nrule = \"images.user\"\ncontainer = \"web\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-31\n",
            "policy.toml:3:13: `container` is set but `images.user` is an image rule, not a container rule",
        ),
        (
            "[[waiver]]\nrule = \"daemon.icc\"\nimage = \"nginx*\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-31\n",
            "policy.toml:3:9: `image` is set but `daemon.icc` is a daemon rule, not a container or image rule",
        ),
        (
            "[[waiver]]\nrule = \"daemon.icc\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-31\nuntil = 2027-01-31\n",
            "policy.toml:6:1: unknown field `until`, expected one of `rule`, `container`, `image`, `reason`, `owner`, `expires`",
        ),
        (
            "profile = \n",
            "policy.toml:1:11: string values must be quoted, expected literal string",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(&err(text), want, "for:\n{text}");
    }
    // A second waiver's missing field points at its own header.
    let two = format!(
        "[[waiver]]\nrule = \"daemon.icc\"\n{WAIVER_OK}\n[[waiver]]\nrule = \"daemon.icc\"\nowner = \"o\"\nexpires = 2027-01-31\n"
    );
    assert_eq!(err(&two), "policy.toml:7:1: missing field `reason`");
}

/// Results of the sample snapshot under a policy, as `rule subject status`.
fn audit(policy: &str, profile: Profile) -> Report {
    let policy = parse("p.toml", policy).unwrap();
    run_with(
        &sample_snapshot(),
        &AuditOptions {
            profile,
            policy,
            ..AuditOptions::default()
        },
    )
}

fn lines(r: &Report) -> Vec<String> {
    r.daemons[0]
        .results
        .iter()
        .map(|x| {
            format!(
                "{} {} {} {}",
                x.rule,
                x.subject.as_ref().map_or("-", |s| s.name.as_str()),
                x.status,
                x.severity
            )
        })
        .collect()
}

fn find<'a>(r: &'a Report, rule: &str, subject: Option<&str>) -> &'a RuleResult {
    r.daemons[0]
        .results
        .iter()
        .find(|x| x.rule == rule && x.subject.as_ref().map(|s| s.name.as_str()) == subject)
        .unwrap_or_else(|| panic!("no result {rule} {subject:?}"))
}

fn waiver_on(expires: &str) -> String {
    format!(
        "[[waiver]]\nrule = \"daemon.remote-api-auth\"\nreason = \"lab host\"\nowner = \"alice\"\nexpires = {expires}\n"
    )
}

#[test]
fn a_waiver_runs_until_its_expiry_date() {
    // The sample is collected on 2026-12-01 at 12:00 UTC.
    let before = audit(&waiver_on("2026-12-02"), Profile::Seed);
    let r = find(&before, "daemon.remote-api-auth", None);
    assert_eq!(r.status, Status::Waived);
    assert_eq!(
        r.message,
        "0.0.0.0:2375 accepts clients without a verified certificate"
    );
    assert_eq!(
        r.waiver,
        Some(AppliedWaiver {
            reason: "lab host".into(),
            owner: "alice".into(),
            expires: "2026-12-02".into()
        })
    );
    assert!(r.warnings.is_empty());
    assert_eq!(before.summary.by_status["waived"], 1);
    assert_eq!(before.summary.by_status["fail"], 7);
    assert_eq!(before.summary.failed_by_severity.get("critical"), None);

    for expired in ["2026-12-01", "2026-11-30"] {
        let after = audit(&waiver_on(expired), Profile::Seed);
        let r = find(&after, "daemon.remote-api-auth", None);
        assert_eq!(r.status, Status::Fail, "expires {expired}");
        assert_eq!(r.waiver, None);
        assert_eq!(
            r.warnings,
            [format!("waiver expired on {expired} (owner: alice)")]
        );
    }

    // Without a collection time no waiver applies, and it says why.
    let mut snap = sample_snapshot();
    snap.collected_unix = None;
    let report = run_with(
        &snap,
        &AuditOptions {
            policy: parse("p.toml", &waiver_on("2099-01-01")).unwrap(),
            ..AuditOptions::default()
        },
    );
    let r = find(&report, "daemon.remote-api-auth", None);
    assert_eq!(r.status, Status::Fail);
    assert_eq!(
        r.warnings,
        [
            "waiver not applied: the collection time is unknown, so its expiry (2099-01-01, owner: alice) cannot be checked"
        ]
    );
}

#[test]
fn waivers_match_rule_container_and_image() {
    let policy = format!(
        "profile = \"cis\"\n\
         [[waiver]]\nrule = \"containers.cpu-limit\"\ncontainer = \"w*\"\n{WAIVER_OK}\
         [[waiver]]\nrule = \"containers.no-new-privileges\"\nimage = \"postgres:*\"\n{WAIVER_OK}\
         [[waiver]]\nrule = \"containers.read-only-rootfs\"\ncontainer = \"web\"\nimage = \"postgres:*\"\n{WAIVER_OK}\
         [[waiver]]\nrule = \"images.user\"\nimage = \"nginx:*\"\n{WAIVER_OK}\
         [[waiver]]\nrule = \"containers.health\"\n{WAIVER_OK}\
         [[waiver]]\nrule = \"daemon.experimental\"\n{WAIVER_OK}"
    );
    let r = audit(&policy, Profile::Cis);
    let st = |rule, s| find(&r, rule, s).status;
    use Status::*;
    assert_eq!(st("containers.cpu-limit", Some("web")), Waived);
    assert_eq!(st("containers.cpu-limit", Some("db")), Fail);
    assert_eq!(st("containers.no-new-privileges", Some("db")), Waived);
    assert_eq!(st("containers.no-new-privileges", Some("web")), Fail);
    // Both patterns must match.
    assert_eq!(st("containers.read-only-rootfs", Some("web")), Fail);
    assert_eq!(st("images.user", Some("nginx:latest")), Waived);
    // A rule-wide waiver covers every container.
    assert_eq!(st("containers.health", Some("web")), Waived);
    assert_eq!(st("containers.health", Some("db")), Waived);
    // Only failures are waived.
    assert_eq!(st("daemon.experimental", None), Pass);
    assert_eq!(find(&r, "daemon.experimental", None).waiver, None);
}

#[test]
fn severity_overrides_longest_match_wins() {
    let r = audit(
        "[severity]\n\"daemon.\" = \"low\"\n\"daemon.icc\" = \"critical\"\n",
        Profile::Seed,
    );
    assert_eq!(find(&r, "daemon.icc", None).severity, Severity::Critical);
    assert_eq!(
        find(&r, "daemon.userns-remap", None).severity,
        Severity::Low
    );
    assert_eq!(find(&r, "host.dedicated", None).severity, Severity::Low);
    assert_eq!(r.summary.failed_by_severity["critical"], 1);
    assert_eq!(r.summary.failed_by_severity["low"], 7);
}

#[test]
fn enable_and_disable_by_id_and_prefix() {
    let r = audit(
        "[rules]\nenable = [\"containers.\", \"images.user\"]\ndisable = [\"containers.health\", \"daemon.\", \"host.dedicated\"]\n",
        Profile::Seed,
    );
    let mut rules: Vec<&str> = r.daemons[0]
        .results
        .iter()
        .map(|x| x.rule.as_str())
        .collect();
    rules.dedup();
    assert!(rules.contains(&"containers.privileged"));
    assert!(rules.contains(&"images.user"));
    assert!(!rules.contains(&"images.healthcheck"));
    assert!(!rules.contains(&"containers.health"));
    assert!(
        !rules
            .iter()
            .any(|id| id.starts_with("daemon.") || id.starts_with("host."))
    );
    assert_eq!(
        rules.len(),
        RULES
            .iter()
            .filter(|r| r.meta.id.starts_with("containers."))
            .count()
    );

    // The more specific entry wins; on a tie, disable.
    let p = parse(
        "p.toml",
        "[rules]\nenable = [\"containers.privileged\", \"files.\"]\ndisable = [\"containers.\", \"files.\"]\n",
    )
    .unwrap();
    let on = |id| p.selects(Profile::All, crate::rules::find(id).unwrap());
    assert!(on("containers.privileged"));
    assert!(!on("containers.health"));
    assert!(!on("files.daemon-json"));
    assert!(on("daemon.icc"));
    // Enabled rules outside the profile run with the seed profile.
    let p = parse("p.toml", "[rules]\nenable = [\"images.\"]\n").unwrap();
    assert!(p.rules(Profile::Seed).any(|r| r.meta.id == "images.user"));
    assert!(p.rules(Profile::Seed).any(|r| r.meta.id == "daemon.icc"));
}

#[test]
fn exclusions_leave_out_containers_and_images() {
    let r = audit(
        "[exclude]\ncontainers = [\"w?b\"]\nimages = [\"nginx:*\"]\nlabels = [\"nope\"]\n",
        Profile::Cis,
    );
    let all = lines(&r);
    assert!(
        !all.iter()
            .any(|l| l.contains(" web ") || l.contains(" nginx:latest "))
    );
    assert!(
        all.iter()
            .any(|l| l == "containers.docker-sock db fail critical")
    );
    assert!(
        all.iter()
            .any(|l| l == "images.user postgres:latest pass medium")
    );
    let notes = &r.daemons[0].notes;
    assert!(
        notes.contains(
            &"1 container(s) excluded from the audit: web (name matches \"w?b\")".to_string()
        ),
        "{notes:?}"
    );
    assert!(
        notes.contains(&"1 image(s) excluded from the audit: nginx:latest (tag nginx:latest matches \"nginx:*\")".to_string()),
        "{notes:?}"
    );
    // Merged with the command line's exclusions.
    let report = run_with(
        &sample_snapshot(),
        &AuditOptions {
            profile: Profile::Cis,
            exclude: Exclusions {
                names: vec!["db".into()],
                ..Exclusions::default()
            },
            policy: parse("p.toml", "[exclude]\ncontainers = [\"web\"]\n").unwrap(),
            ..AuditOptions::default()
        },
    );
    let subjects: Vec<String> = report.daemons[0]
        .results
        .iter()
        .filter(|x| x.rule == "containers.privileged")
        .map(|x| x.subject.as_ref().map_or("-".into(), |s| s.name.clone()))
        .collect();
    assert_eq!(subjects, ["job"]);
}

#[test]
fn locations_count_characters_not_bytes() {
    assert_eq!(
        err("# é\n[rules]\nenable = [\"é.x\"]\n"),
        "policy.toml:3:11: unknown rule `é.x`: not a rule id, nor a prefix of one ending in `.` such as `containers.` (see `dockhard rules`)"
    );
    assert_eq!(
        err("[exclude]\nlabels = [\"a\\u0007\"]\n"),
        "policy.toml:2:11: control characters are not allowed"
    );
}

#[test]
fn the_documented_example_parses() {
    let doc = include_str!("../../docs/policy.md");
    let section = &doc[doc.find("# Policy file").unwrap()..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    let text = &section[start..start + section[start..].find("```").unwrap()];
    let p = parse("docs/policy.md", text).unwrap();
    assert_eq!(p.profile, Some(Profile::Cis));
    assert_eq!(p.waivers.len(), 1);
}
