use super::{Ctx, Outcome, Rule, RuleMeta, Severity};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "daemon.host-dedicated",
        title: "TODO",
        severity: Severity::High,
        seed_item: None,
        cis: &[],
        rationale: "TODO",
        decided: "TODO",
        remediation: "TODO",
    },
    check,
};

fn check(_cx: &Ctx<'_>) -> Outcome {
    Outcome::error("not implemented")
}
