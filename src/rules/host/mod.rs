//! CIS section 1: the host around the daemon (`host.*`).

pub mod audit_rules;
pub mod data_root_partition;
pub mod dedicated;
pub mod docker_group;
pub mod docker_version;

use super::{Ctx, Outcome, config};
use crate::model::Evidence;
use crate::model::config::keys;

/// The data-root in use: `DockerRootDir` of `/info` when the daemon reports
/// it, else the effective `data-root` (`--data-root`, `--graph`, the file,
/// or the default, rootless included).
fn data_root(cx: &Ctx<'_>) -> Result<(String, Evidence), Outcome> {
    if let Some((d, e)) = cx
        .view
        .live
        .as_ref()
        .and_then(|l| l.docker_root_dir.as_ref())
    {
        return Ok((d.clone(), e.clone()));
    }
    let c = config(cx)?;
    match c.string(keys::DATA_ROOT) {
        (Some(d), e) => Ok((d, e)),
        (None, e) => Err(Outcome::error("the data-root could not be determined").with(e)),
    }
}
