//! A fake dockerd.

use super::*;

/// With this variable set, a test binary including this module is a
/// [`FakeDockerd`]: it waits to be killed and never runs a test.
pub const FAKE_DOCKERD_ENV: &str = "DOCKHARD_TEST_FAKE_DOCKERD";

/// Runs before `main` (an ELF constructor): a [`FakeDockerd`] or a
/// launcher ([`run_bounded`]) never reaches libtest, whatever its command
/// line. glibc passes argc, argv and envp to constructors.
#[used]
#[unsafe(link_section = ".init_array")]
pub static BEFORE_MAIN_HOOK: extern "C" fn(libc::c_int, *const *const libc::c_char) = before_main;

extern "C" fn before_main(argc: libc::c_int, argv: *const *const libc::c_char) {
    // SAFETY: getenv of NUL-terminated names, before main (one thread).
    let (fake, launch) = unsafe {
        (
            !libc::getenv(c"DOCKHARD_TEST_FAKE_DOCKERD".as_ptr()).is_null(),
            !libc::getenv(c"DOCKHARD_TEST_LAUNCHER".as_ptr()).is_null(),
        )
    };
    if launch {
        // SAFETY: argc and argv are glibc's.
        unsafe { launcher(argc, argv) }
    }
    if !fake {
        return;
    }
    // SAFETY: prctl(PR_SET_PDEATHSIG) and pause have no memory preconditions.
    unsafe {
        // Die with the test thread that started us.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        loop {
            libc::pause();
        }
    }
}

/// Held (shared) by every [`FakeDockerd`]; a test that audits every dockerd
/// of the host takes it exclusively ([`no_fake_dockerds`]), so that it
/// neither sees nor probes the fakes of tests running beside it.
pub static FAKE_DOCKERDS: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Wait until no [`FakeDockerd`] of this test binary runs, and keep others
/// from starting while the guard lives.
pub fn no_fake_dockerds() -> std::sync::RwLockWriteGuard<'static, ()> {
    FAKE_DOCKERDS.write().unwrap_or_else(|p| p.into_inner())
}

/// A process that dockhard recognises as a dockerd (its executable is a
/// hard link named `dockerd` to the test binary itself), with the command
/// line given and holding the listening sockets given (inherited file
/// descriptors: dockhard finds them in /proc/PID/fd and /proc/PID/net, as
/// for a real daemon). Killed on drop.
pub struct FakeDockerd {
    pub pid: u32,
    /// The executable: DIR/dockerd.
    pub exe: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
    _shared: std::sync::RwLockReadGuard<'static, ()>,
}

impl FakeDockerd {
    /// Start it with `args` after argv[0], holding the descriptors `fds`.
    pub fn start(args: &[String], fds: &[std::os::fd::RawFd]) -> FakeDockerd {
        use std::os::unix::process::CommandExt;
        let shared = FAKE_DOCKERDS.read().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::Builder::new()
            .prefix("fake-dockerd-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap_or_else(|e| panic!("tempdir: {e}"));
        let exe = dir.path().join("dockerd");
        let me = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
        if fs::hard_link(&me, &exe).is_err() {
            fs::copy(&me, &exe).unwrap_or_else(|e| panic!("copy {}: {e}", me.display()));
        }
        let fds = fds.to_vec();
        let mut cmd = Command::new(&exe);
        cmd.args(args)
            .env(FAKE_DOCKERD_ENV, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only fcntl (async-signal-safe) between fork and exec, on
        // the child's copies of the descriptors.
        unsafe {
            cmd.pre_exec(move || {
                for &fd in &fds {
                    if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let pid = child.id();
        let want: Vec<String> = std::iter::once(exe.display().to_string())
            .chain(args.iter().cloned())
            .collect();
        let ready = poll(Duration::from_secs(10), || {
            let exe_ok = fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|e| e.file_name().is_some_and(|n| n == "dockerd"));
            let argv: Vec<String> = fs::read(format!("/proc/{pid}/cmdline"))
                .unwrap_or_default()
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            (exe_ok && argv == want).then_some(())
        });
        let mut fake = FakeDockerd {
            pid,
            exe,
            child,
            _dir: dir,
            _shared: shared,
        };
        if ready.is_none() {
            let _ = fake.child.kill();
            panic!("fake dockerd {pid} did not start as {want:?}");
        }
        fake
    }
}

impl Drop for FakeDockerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
