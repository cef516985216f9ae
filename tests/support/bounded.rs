//! Bounded runs.

use super::*;

/// What one run of a program did, measured by [`run_bounded`].
#[derive(Debug)]
pub struct Measured {
    /// Exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub wall: Duration,
    /// Peak resident set size of the process (its own `ru_maxrss`, see
    /// [`run_bounded`]), KiB.
    pub max_rss_kib: u64,
    /// Bytes it read through read(2) and the like (`rchar` of
    /// /proc/PID/io, taken once it had exited); `None` when /proc did not say.
    pub read_bytes: Option<u64>,
}

impl Measured {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn rss_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }

    /// One line for the log: `0.52 s, 14.1 MiB peak RSS, 0.3 MiB read, exit 1`.
    pub fn summary(&self) -> String {
        format!(
            "{:.2} s, {:.1} MiB peak RSS, {} read, exit {}",
            self.wall.as_secs_f64(),
            self.rss_mib(),
            self.read_bytes
                .map(|b| format!("{:.1} MiB", b as f64 / 1048576.0))
                .unwrap_or_else(|| "? MiB".into()),
            self.code.map_or("by signal".to_string(), |c| c.to_string())
        )
    }
}

/// With this variable set (to the number of a descriptor open for
/// writing), a test binary including this module is a launcher (see
/// [`run_bounded`]): `BINARY -- PROGRAM ARGS...` runs PROGRAM and writes
/// `CODE SIGNAL MAXRSS_KIB RCHAR` to that descriptor.
pub const LAUNCHER_ENV: &str = "DOCKHARD_TEST_LAUNCHER";

/// The launcher, before `main` (no test runs in it). It forks (a fork
/// starts with `ru_maxrss` at zero, and with the launcher's small memory),
/// the child execs the program, and the launcher waits with WNOWAIT to read
/// the child's /proc/PID/io before reaping it with wait4.
///
/// # Safety
/// Called by glibc's ELF constructors with the process's argc and argv.
pub unsafe fn launcher(argc: libc::c_int, argv: *const *const libc::c_char) -> ! {
    // SAFETY: getenv of a NUL-terminated name; atoi of its C string.
    let out = unsafe { libc::atoi(libc::getenv(c"DOCKHARD_TEST_LAUNCHER".as_ptr())) };
    let argc = usize::try_from(argc).unwrap_or(0);
    // SAFETY: argv has argc entries and a NULL after them (execv wants it).
    let prog = (argc > 2).then(|| unsafe { argv.add(2) });
    let Some(prog) = prog else {
        // SAFETY: _exit has no preconditions.
        unsafe { libc::_exit(127) }
    };
    // SAFETY: fork, then only async-signal-safe calls in the child.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: as above; execv with a NULL-terminated argv.
        unsafe {
            // Killed with the launcher (itself killed at the hard deadline).
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            libc::close(out);
            libc::execv(*prog, prog);
            libc::_exit(127);
        }
    }
    let mut line = String::from("127 0 0 0\n");
    if pid > 0 {
        // SAFETY: waitid/wait4 on our own child with valid out-parameters.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            while libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            ) != 0
            {}
            let rchar = fs::read_to_string(format!("/proc/{pid}/io"))
                .ok()
                .and_then(|t| {
                    t.lines()
                        .find_map(|l| l.strip_prefix("rchar:"))
                        .map(|v| v.trim().to_string())
                })
                .unwrap_or_else(|| "-1".into());
            let mut status = 0;
            let mut ru: libc::rusage = std::mem::zeroed();
            libc::wait4(pid, &mut status, 0, &mut ru);
            let (code, sig) = if libc::WIFEXITED(status) {
                (libc::WEXITSTATUS(status), 0)
            } else {
                (-1, libc::WTERMSIG(status))
            };
            line = format!("{code} {sig} {} {rchar}\n", ru.ru_maxrss);
        }
    }
    // SAFETY: writing a buffer we own to our descriptor, then exiting.
    unsafe {
        libc::write(out, line.as_ptr().cast(), line.len());
        libc::_exit(0)
    }
}

/// Run `cmd` (standard input empty, output captured) until it ends, at most
/// `hard`: past that it is killed and the test fails, so a hang never blocks
/// CI.
///
/// Measured through a launcher (this test binary run again, see
/// [`LAUNCHER_ENV`]), not as a child of the test process: Linux keeps
/// `ru_maxrss` across exec, so a program spawned from this large,
/// multi-threaded process would start with the test process's own peak,
/// and RUSAGE_CHILDREN mixes every child. The launcher forks (a fork's
/// `ru_maxrss` starts at zero) and reports the program's own wait4 rusage
/// and /proc/PID/io. Environment, arguments and working directory of `cmd`
/// are kept.
pub fn run_bounded(cmd: &mut Command, hard: Duration) -> Measured {
    use std::io::{Read, Seek};
    use std::os::unix::process::CommandExt;
    let mut out = tempfile::tempfile().unwrap_or_else(|e| panic!("tempfile: {e}"));
    let mut err = tempfile::tempfile().unwrap_or_else(|e| panic!("tempfile: {e}"));
    let clone = |f: &fs::File| f.try_clone().unwrap_or_else(|e| panic!("dup: {e}"));
    let mut fds = [0; 2];
    // SAFETY: pipe2 into a valid two-element array.
    assert_eq!(
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) },
        0,
        "pipe2"
    );
    // SAFETY: both descriptors are fresh and ours.
    let (mut result, result_w) = unsafe {
        use std::os::fd::FromRawFd;
        (
            fs::File::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    let wfd = result_w.as_raw_fd();
    let me = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let mut launch = Command::new(me);
    launch.arg("--").arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => launch.env(k, v),
            None => launch.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        launch.current_dir(d);
    }
    launch
        .env(LAUNCHER_ENV, wfd.to_string())
        .env_remove(FAKE_DOCKERD_ENV)
        .stdin(Stdio::null())
        .stdout(clone(&out))
        .stderr(clone(&err));
    // SAFETY: only fcntl between fork and exec, on the child's copy.
    unsafe {
        launch.pre_exec(move || {
            if libc::fcntl(wfd, libc::F_SETFD, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = launch
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    drop(result_w);
    let read_back = |f: &mut fs::File| {
        let mut b = Vec::new();
        let _ = f.rewind().and_then(|_| f.read_to_end(&mut b));
        b
    };
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() <= hard => thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                // The program dies with the launcher (PR_SET_PDEATHSIG).
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{cmd:?} did not end within {hard:?} and was killed (a hang)\nstderr: {}\nstdout (start): {}",
                    String::from_utf8_lossy(&read_back(&mut err)),
                    String::from_utf8_lossy(&read_back(&mut out))
                        .chars()
                        .take(2000)
                        .collect::<String>()
                );
            }
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    }
    let wall = start.elapsed();
    let mut line = String::new();
    let _ = result.read_to_string(&mut line);
    let f: Vec<i64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let [code, sig, maxrss, rchar] = f[..] else {
        panic!("no result from the launcher of {cmd:?}: {line:?}");
    };
    if code == 127 && sig == 0 && maxrss == 0 {
        panic!("cannot run {cmd:?} (exec failed)");
    }
    Measured {
        code: (sig == 0).then(|| i32::try_from(code).unwrap_or(-1)),
        stdout: read_back(&mut out),
        stderr: String::from_utf8_lossy(&read_back(&mut err)).into_owned(),
        wall,
        max_rss_kib: u64::try_from(maxrss).unwrap_or(0),
        read_bytes: u64::try_from(rchar).ok(),
    }
}

/// The reason a test that needs root (and no daemon) is `#[ignore]`d with.
pub const ROOT_IGNORE: &str = "needs root; scripts/test runs it";

/// Enter a test that needs root (device nodes, files of other owners):
/// like [`live`], it panics when not root (such tests are `#[ignore]`d).
pub fn need_root(test: &str) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        panic!("test `{test}` needs root (run scripts/test as root)");
    }
}
