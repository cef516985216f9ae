//! The socket unit of a service: `<name>.socket`, else the first unit
//! named by `Sockets=`, and its `ListenStream=` values.

use super::paths::load_unit;
use super::settings::Specifiers;
use super::{Evidence, Problem, ProblemLevel, Source};
use super::{SocketResolution, problem};
use crate::snapshot::Snapshot;

pub(super) fn resolve_socket(
    snap: &Snapshot,
    name: &str,
    dirs: &[String],
    problems: &mut Vec<Problem>,
    errors: &mut Vec<String>,
) -> Option<SocketResolution> {
    let lu = load_unit(snap, name, dirs, problems, errors);
    let path = lu.fragment.clone()?;
    if lu.masked || lu.sources.is_empty() {
        return None;
    }
    let spec = Specifiers {
        name,
        fragment: Some(&path),
    };
    let mut listen = Vec::new();
    for src in &lu.sources {
        for e in src.parsed.section("Socket") {
            if e.key != "ListenStream" {
                continue;
            }
            if e.value.is_empty() {
                listen.clear();
                continue;
            }
            let ev = Evidence::at_line(
                Source::Unit,
                &src.path,
                e.line,
                format!("ListenStream={}", e.value),
            );
            let mut warn = Vec::new();
            match spec.apply(&e.value, &mut warn) {
                Ok(v) => listen.push((v, ev)),
                Err(m) => problems.push(problem(
                    ProblemLevel::Warning,
                    format!("ListenStream=: {m}; ignored"),
                    ev,
                )),
            }
        }
    }
    Some(SocketResolution {
        unit_path: path,
        dropins: lu.dropins,
        listen_streams: listen,
    })
}
