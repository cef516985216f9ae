//! HTML renderer: one self-contained page.

use super::Report;

pub fn render(report: &Report) -> String {
    let _ = report;
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>dockhard</title></head><body></body></html>\n".to_string()
}
