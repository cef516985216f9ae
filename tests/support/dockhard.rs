//! Running the dockhard binary from a live test.

use super::*;

/// The outcome of one `dockhard` run (exit code, outputs); a crash or a
/// hang (exit 101, a signal, "panicked") fails the test at once.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The dockhard binary the live tests run: `DOCKHARD_BIN` when set
/// (scripts/test runs the live seed suite a second time with the static
/// musl build of scripts/package), else the one cargo built for the tests.
/// A `DOCKHARD_BIN` that is not a file fails the test.
pub fn dockhard_bin() -> std::path::PathBuf {
    match std::env::var_os("DOCKHARD_BIN") {
        Some(p) if !p.is_empty() => {
            let p = std::path::PathBuf::from(p);
            assert!(p.is_file(), "DOCKHARD_BIN={}: no such file", p.display());
            p
        }
        _ => std::path::PathBuf::from(env!("CARGO_BIN_EXE_dockhard")),
    }
}

pub fn dockhard(args: &[&str]) -> Run {
    run_dockhard(assert_cmd::Command::new(dockhard_bin()), args)
}

/// dockhard in `d`'s network namespace (where its TCP listeners are).
pub fn dockhard_in(d: &Daemon, args: &[&str]) -> Run {
    run_dockhard(assert_cmd::Command::from_std(d.dockhard()), args)
}

pub fn run_dockhard(mut cmd: assert_cmd::Command, args: &[&str]) -> Run {
    cmd.args(args).timeout(Duration::from_secs(120));
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run dockhard {args:?}: {e}"));
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        run.code != 101 && run.code != -1 && !run.stderr.contains("panicked"),
        "dockhard {args:?} crashed or hung (exit {}):\nstderr: {}\nstdout: {}",
        run.code,
        run.stderr,
        run.stdout
    );
    run
}
