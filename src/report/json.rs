//! JSON renderer: the report as `dockhard/report/v1`.

use super::Report;

pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        // Serializing plain data cannot fail; say so rather than panic.
        format!("{{\"error\": \"cannot serialize report: {e}\"}}")
    });
    s.push('\n');
    s
}
