use super::*;
use crate::report::{DaemonReport, HostInfo, RuleResult, Summary, ToolInfo};

fn report(results: &[(Status, Severity)]) -> Report {
    let results = results
        .iter()
        .map(|(status, severity)| RuleResult {
            rule: "daemon.x".into(),
            subject: None,
            status: *status,
            severity: *severity,
            title: String::new(),
            seed_item: None,
            cis: vec![],
            message: String::new(),
            evidence: vec![],
            drift: None,
            warnings: vec![],
            remediation: String::new(),
            waiver: None,
        })
        .collect();
    let daemons = vec![DaemonReport {
        pid: None,
        version: None,
        endpoint: None,
        rootless: false,
        audited: "running".into(),
        config_file: None,
        engine: None,
        next_start_engine: None,
        notes: vec![],
        results,
    }];
    Report {
        schema: String::new(),
        tool: ToolInfo {
            name: String::new(),
            version: String::new(),
        },
        host: HostInfo {
            hostname: None,
            kernel: None,
            mode: "live".into(),
            root: None,
            collected_at: None,
            notes: vec![],
        },
        summary: Summary::of(&daemons),
        daemons,
        cis_version: None,
    }
}

#[test]
fn exit_codes_follow_the_threshold() {
    use Severity::*;
    use Status::*;
    let r = report(&[(Pass, High), (Fail, Low)]);
    assert_eq!(exit_code(&r, None), EXIT_FINDINGS);
    assert_eq!(exit_code(&r, Some(Low)), EXIT_FINDINGS);
    assert_eq!(exit_code(&r, Some(Medium)), EXIT_OK);
    let r = report(&[(Pass, High), (Manual, Low), (NotApplicable, High)]);
    assert_eq!(exit_code(&r, None), EXIT_OK);
    let r = report(&[(Error, Low), (Fail, Critical)]);
    assert_eq!(exit_code(&r, Some(High)), EXIT_FINDINGS);
    assert_eq!(
        exit_code(&report(&[(Error, Low), (Fail, Low)]), Some(High)),
        EXIT_ERROR
    );
    // Waived failures do not count.
    let r = report(&[(Waived, Critical), (Pass, High)]);
    assert_eq!(exit_code(&r, None), EXIT_OK);
    let r = report(&[(Waived, Critical), (Fail, Low)]);
    assert_eq!(exit_code(&r, Some(Medium)), EXIT_OK);
    let mut empty = report(&[]);
    empty.daemons.clear();
    assert_eq!(exit_code(&empty, None), EXIT_ERROR);
}
