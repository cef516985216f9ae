//! Network namespaces of the live tests: each private dockerd runs in a
//! namespace of its own (`ip netns add`, loopback up), so it creates its own
//! `docker0` and iptables chains there, never the host's, and daemons of
//! parallel tests cannot remove each other's chains. The processes that
//! must reach the daemon over TCP (dockhard's probes, curl, a test's own
//! sockets) enter the same namespace: [`Netns::enter`] for a command,
//! [`Netns::run`] for code of the test.
//!
//! A named namespace (a bind mount under /run/netns) outlives the daemon's
//! process, so a daemon restarted by a supervisor joins the same one.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A named network namespace, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    pub name: String,
    pub path: PathBuf,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Netns {
    /// `ip netns add dh-PID-N`, then loopback up in it.
    pub fn new() -> Result<Netns, String> {
        let name = format!(
            "dh-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        // A namespace of that name left by a killed earlier run of this pid.
        let _ = ip(&["netns", "del", &name]);
        ip(&["netns", "add", &name])?;
        let ns = Netns {
            path: PathBuf::from("/run/netns").join(&name),
            name,
        };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    fn file(&self) -> File {
        File::open(&self.path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.path.display()))
    }

    /// Run `cmd` in this namespace (setns(2) between fork and exec).
    pub fn enter<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        let f = self.file();
        // SAFETY: setns(2) only, between fork and exec; `f` is owned by the
        // closure, so the descriptor stays open until then.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        }
    }

    /// Run `f` on a thread that has entered this namespace (setns(2) moves
    /// only the calling thread): a test's own TCP connections.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let file = self.file();
        std::thread::scope(|s| {
            s.spawn(move || {
                // SAFETY: setns(2) on this thread only, with an open fd.
                if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    panic!(
                        "setns {}: {}",
                        self.path.display(),
                        std::io::Error::last_os_error()
                    );
                }
                f()
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("harness: {e}");
        }
    }
}
