//! Engines: the host's dockerd and the newer ones scripts/engines fetched.

use super::*;

/// Names the manifest `scripts/engines` writes (set by `scripts/test`).
pub const ENGINES_ENV: &str = "DOCKHARD_ENGINES";
/// The cache directory of `scripts/engines` (its manifest is
/// `CACHE/engines.tsv`), used when [`ENGINES_ENV`] is not set.
pub const ENGINE_CACHE_ENV: &str = "DOCKHARD_ENGINE_CACHE";
/// The default of [`ENGINE_CACHE_ENV`].
pub const DEFAULT_ENGINE_CACHE: &str = "/var/cache/dockhard-engines";
/// The release lines `scripts/engines` fetches (Debian 13 and unstable);
/// the host's own (Debian 12: 20.10) comes from [`Tools`].
pub const FETCHED_LINES: [&str; 2] = ["26.1", "28.5"];

/// One Docker Engine a test can start ([`DaemonOpts::engine`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    /// The upstream version of its dockerd, e.g. `28.5.2`.
    pub version: String,
    /// Its dockerd, run by path.
    pub dockerd: PathBuf,
    /// Directories put first on dockerd's PATH (its docker-proxy and
    /// docker-init, the containerd and shim it starts); empty for the host's.
    pub path_prefix: Vec<PathBuf>,
}

impl Engine {
    /// True when this is release `line` (`"28.5"`, `"28"` or `"28.5.2"`).
    pub fn is_line(&self, line: &str) -> bool {
        self.version == line
            || self
                .version
                .strip_prefix(line)
                .is_some_and(|rest| rest.starts_with('.'))
    }

    /// Its release line as numbers (`28.5.2` gives `(28, 5)`), for the
    /// tests' expectations of what a release does differently.
    pub fn release(&self) -> (u32, u32) {
        let mut parts = self
            .version
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    /// The PATH dockerd runs with: the prefix, then `path` (the current PATH).
    pub fn path_with(&self, path: Option<&std::ffi::OsStr>) -> Result<std::ffi::OsString, String> {
        let rest: Vec<PathBuf> = path
            .map(|p| std::env::split_paths(p).collect())
            .unwrap_or_default();
        std::env::join_paths(self.path_prefix.iter().chain(rest.iter()))
            .map_err(|e| format!("PATH for {}: {e}", self.dockerd.display()))
    }
}

/// The upstream version in `dockerd --version` output (`Docker version
/// 20.10.24+dfsg1, build 297e128` gives `20.10.24`).
pub fn dockerd_version(output: &str) -> Option<String> {
    let rest = output.trim().strip_prefix("Docker version ")?;
    let v: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (v.contains('.') && !v.starts_with('.') && !v.ends_with('.')).then_some(v)
}

/// `dockerd --version` of `dockerd` (run with `path_prefix` first on PATH).
pub fn run_dockerd_version(dockerd: &Path, path_prefix: &[PathBuf]) -> Result<String, String> {
    let e = Engine {
        version: String::new(),
        dockerd: dockerd.to_path_buf(),
        path_prefix: path_prefix.to_vec(),
    };
    let out = Command::new(dockerd)
        .arg("--version")
        .env("PATH", e.path_with(std::env::var_os("PATH").as_deref())?)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {} --version: {e}", dockerd.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "{} --version failed ({}): {}{}",
            dockerd.display(),
            out.status,
            text,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(text)
}

/// The manifest the fetched engines are read from.
pub fn engines_manifest() -> PathBuf {
    match std::env::var_os(ENGINES_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => std::env::var_os(ENGINE_CACHE_ENV)
            .filter(|c| !c.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ENGINE_CACHE))
            .join("engines.tsv"),
    }
}

/// Parse a manifest of `scripts/engines` (`#` comments; else VERSION, DOCKERD,
/// PATH_PREFIX (`:`-separated), then fields this ignores, TAB-separated).
/// Checks only the text; `source` names the file in errors.
pub fn parse_engines_manifest(text: &str, source: &Path) -> Result<Vec<Engine>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let at = || format!("{}:{}", source.display(), i + 1);
        let f: Vec<&str> = line.split('\t').collect();
        let [version, dockerd, prefix, ..] = f[..] else {
            return Err(format!(
                "{}: expected VERSION<TAB>DOCKERD<TAB>PATH_PREFIX, got {line:?}",
                at()
            ));
        };
        if dockerd_version(&format!("Docker version {version}")).as_deref() != Some(version) {
            return Err(format!("{}: {version:?} is not a version", at()));
        }
        let dockerd = PathBuf::from(dockerd);
        let path_prefix: Vec<PathBuf> = prefix
            .split(':')
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .collect();
        if let Some(p) = std::iter::once(&dockerd)
            .chain(path_prefix.iter())
            .find(|p| !p.is_absolute())
        {
            return Err(format!("{}: {} is not an absolute path", at(), p.display()));
        }
        out.push(Engine {
            version: version.to_string(),
            dockerd,
            path_prefix,
        });
    }
    Ok(out)
}

/// What [`engines`] found, once per test binary.
pub struct EngineSet {
    engines: Vec<&'static Engine>,
    /// Why an engine the tests expect is missing.
    missing: Vec<String>,
}

pub fn host_engine() -> Result<Engine, String> {
    let tools = requirements()?;
    let out = run_dockerd_version(&tools.dockerd, &[])?;
    let version = dockerd_version(&out).ok_or_else(|| {
        format!(
            "{} --version: no version in {out:?}",
            tools.dockerd.display()
        )
    })?;
    Ok(Engine {
        version,
        dockerd: tools.dockerd.clone(),
        path_prefix: Vec::new(),
    })
}

/// The fetched engines of the manifest, each checked on disk: its dockerd
/// runs and reports the manifest's version, its PATH directories exist.
pub fn fetched_engines(manifest: &Path) -> Result<Vec<Engine>, String> {
    let text = fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let engines = parse_engines_manifest(&text, manifest)?;
    for e in &engines {
        if !is_executable(&e.dockerd) {
            return Err(format!(
                "{}: {} (named by {}) is missing or not executable",
                e.version,
                e.dockerd.display(),
                manifest.display()
            ));
        }
        if let Some(d) = e.path_prefix.iter().find(|d| !d.is_dir()) {
            return Err(format!(
                "{}: {} (named by {}) is not a directory",
                e.version,
                d.display(),
                manifest.display()
            ));
        }
        let out = run_dockerd_version(&e.dockerd, &e.path_prefix)?;
        if dockerd_version(&out).as_deref() != Some(e.version.as_str()) {
            return Err(format!(
                "{} --version says {:?}, {} says {}",
                e.dockerd.display(),
                out.trim(),
                manifest.display(),
                e.version
            ));
        }
    }
    Ok(engines)
}

pub fn load_engines() -> EngineSet {
    let mut engines: Vec<&'static Engine> = Vec::new();
    let mut missing = Vec::new();
    match host_engine() {
        Ok(e) => engines.push(Box::leak(Box::new(e))),
        Err(why) => missing.push(format!("the host's engine: {why}")),
    }
    let manifest = engines_manifest();
    match fetched_engines(&manifest) {
        Ok(fetched) => {
            for e in fetched {
                if !engines.iter().any(|h| h.version == e.version) {
                    engines.push(Box::leak(Box::new(e)));
                }
            }
            for line in FETCHED_LINES {
                if !engines.iter().any(|e| e.is_line(line)) {
                    missing.push(format!("engine {line}: not in {}", manifest.display()));
                }
            }
        }
        Err(why) => {
            for line in FETCHED_LINES {
                missing.push(format!("engine {line}: {why}"));
            }
        }
    }
    EngineSet { engines, missing }
}

pub fn engine_set() -> &'static EngineSet {
    static SET: OnceLock<EngineSet> = OnceLock::new();
    SET.get_or_init(load_engines)
}

pub fn engines_missing(what: &str, why: &[String]) -> ! {
    let why = why.join("; ");
    panic!(
        "{what}: {why}. A missing engine is a failure (scripts/test runs scripts/engines, \
         which fetches them; {ENGINES_ENV} names its manifest)"
    );
}

/// Every engine: the host's (20.10 on Debian 12) first, then the fetched
/// ones of [`engines_manifest`] ([`FETCHED_LINES`]). A missing one panics.
pub fn engines() -> Vec<&'static Engine> {
    let set = engine_set();
    if !set.missing.is_empty() {
        engines_missing("engines missing", &set.missing);
    }
    set.engines.clone()
}

/// The engine of release `line` (`"20.10"`, `"26.1"`, `"28.5"`); panics
/// when it is missing.
pub fn engine(line: &str) -> &'static Engine {
    let set = engine_set();
    if let Some(e) = set.engines.iter().find(|e| e.is_line(line)) {
        return e;
    }
    let mut why: Vec<String> = set
        .missing
        .iter()
        .filter_map(|m| m.strip_prefix(&format!("engine {line}: ")))
        .map(str::to_string)
        .collect();
    if why.is_empty() {
        why.push(format!(
            "no engine {line} here (have: {})",
            set.engines
                .iter()
                .map(|e| e.version.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        why.extend(set.missing.iter().cloned());
    }
    engines_missing(&format!("engine {line}"), &why)
}

/// The engines the seed and CIS live suites (tests/live/seed.rs,
/// tests/live/cis.rs) run every case on: the host's and the newest fetched.
pub const SUITE_LINES: [&str; 2] = ["20.10", "28.5"];

/// One engine's run of a live case: the requirements and the (shared)
/// lock of [`live`], then [`engine`] (a missing engine panics: never a
/// silent pass), then `case`.
pub fn run_on(test: &str, line: &str, case: impl FnOnce(&Live, &'static Engine)) {
    let live = live(&format!("{test} on {line}"));
    let e = engine(line);
    case(&live, e);
}

/// `on_engines!(case, ...)`: for each `fn case(live: &Live, e: &Engine)`,
/// a module `case` with one test per engine of [`SUITE_LINES`]
/// (`case::engine_20_10`, `case::engine_28_5`), each through [`run_on`]
/// and `#[ignore]`d like every live test ([`LIVE_IGNORE`]).
#[macro_export]
macro_rules! on_engines {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[test]
            #[ignore = "live: needs root and dockerd; scripts/test runs it"]
            fn engine_20_10() {
                $crate::support::run_on(stringify!($case), $crate::support::SUITE_LINES[0], super::$case);
            }
            #[test]
            #[ignore = "live: needs root and dockerd; scripts/test runs it"]
            fn engine_28_5() {
                $crate::support::run_on(stringify!($case), $crate::support::SUITE_LINES[1], super::$case);
            }
        }
    )*};
}
