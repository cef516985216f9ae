//! Files in and out of the commands: snapshots and reports read with a
//! size cap, output written (a new file gets its mode from the start).

use crate::report::{self, Report};
use crate::snapshot::{SNAPSHOT_SCHEMA, Snapshot};
use std::io::Write;
use std::path::Path;

/// Read a JSON report written by `dockhard check --format json`.
pub fn read_report(path: &Path) -> Result<Report, String> {
    let bytes = read_bounded(path, "report")?;
    parse_report(&path.display().to_string(), &bytes)
}

/// A JSON report from its bytes; `name` (the file) starts every error.
pub fn parse_report(name: &str, bytes: &[u8]) -> Result<Report, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("{name}: not a dockhard JSON report: {e}"))?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(s) if report::schema_supported(s) => {}
        Some(other) => {
            return Err(format!(
                "{name}: schema `{other}` is not a dockhard report (expected `{}`)",
                report::REPORT_SCHEMA
            ));
        }
        None => {
            return Err(format!(
                "{name}: not a dockhard report (no `schema`; expected `{}`)",
                report::REPORT_SCHEMA
            ));
        }
    }
    serde_json::from_value(value).map_err(|e| format!("{name}: not a dockhard report: {e}"))
}

/// Largest snapshot `check --snapshot` reads.
pub(super) const MAX_SNAPSHOT_BYTES: u64 = 512 << 20;

/// The bytes of FILE, at most [`MAX_SNAPSHOT_BYTES`]: `what` names what it
/// should be in the error.
pub(super) fn read_bounded(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    f.take(MAX_SNAPSHOT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_SNAPSHOT_BYTES {
        return Err(format!(
            "{}: larger than {} MiB, not a dockhard {what}",
            path.display(),
            MAX_SNAPSHOT_BYTES >> 20
        ));
    }
    Ok(bytes)
}

/// Read a snapshot written by `dockhard collect`.
pub fn read_snapshot(path: &Path) -> Result<Snapshot, String> {
    let bytes = read_bounded(path, "snapshot")?;
    parse_snapshot(&path.display().to_string(), &bytes)
}

/// A snapshot from its bytes; `name` (the file) starts every error.
pub fn parse_snapshot(name: &str, bytes: &[u8]) -> Result<Snapshot, String> {
    let snap: Snapshot = serde_json::from_slice(bytes)
        .map_err(|e| format!("{name}: not a dockhard snapshot: {e}"))?;
    if snap.schema != SNAPSHOT_SCHEMA {
        return Err(format!(
            "{name}: snapshot schema `{}` is not supported (expected `{SNAPSHOT_SCHEMA}`)",
            snap.schema
        ));
    }
    Ok(snap)
}

/// Write to FILE atomically (temporary file, then rename), or to stdout.
/// Reports are written 0644; see [`write_file`].
pub(super) fn write_output(path: Option<&Path>, text: &str) -> Result<(), String> {
    write_output_mode(path, text, 0o644)
}

/// Like [`write_output`] with the mode of a new FILE (0600 for a snapshot:
/// it holds the configuration files verbatim).
pub(super) fn write_output_mode(path: Option<&Path>, text: &str, mode: u32) -> Result<(), String> {
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| format!("standard output: {e}"))
        }
        Some(p) if p.as_os_str() == "-" => write_output_mode(None, text, mode),
        Some(p) => write_file(p, text, mode),
    }
}

/// See [`crate::outfile::write`].
pub(super) fn write_file(p: &Path, text: &str, mode: u32) -> Result<(), String> {
    crate::outfile::write(p, text, mode)
}
