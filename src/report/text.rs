//! Text renderer for people.

use super::Report;

pub fn render(report: &Report, color: bool) -> String {
    let _ = color;
    super::json::render(report)
}
