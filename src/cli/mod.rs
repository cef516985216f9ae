//! The command line. One clap definition drives parsing and `--help`.
//!
//! Here: the clap types and the commands; `files` (snapshots and reports
//! read with a cap, output written), `rules_text` (`rules` and `explain`).

use crate::collect::{self, CollectOptions, Target};
use crate::report::{self, Format, Report};
use crate::rules::{self, Severity, Status};
use crate::snapshot::Snapshot;
use crate::tls_init;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod files;
mod rules_text;
pub use files::{parse_report, parse_snapshot, read_report, read_snapshot};
use files::{write_output, write_output_mode};
pub use rules_text::{explain, render_rules};

/// Exit code: nothing at or above the failure threshold.
pub const EXIT_OK: i32 = 0;
/// Exit code: findings at or above the threshold.
pub const EXIT_FINDINGS: i32 = 1;
/// Exit code: usage error, or nothing could be audited, or evidence missing.
pub const EXIT_ERROR: i32 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "dockhard",
    version,
    about = "Audit and harden the Docker daemon from the configuration it really runs with"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Audit the Docker daemon(s) of this host against the hardening rules.
    Check(CheckArgs),
    /// Write the evidence (snapshot) for `check --snapshot` elsewhere.
    Collect(CollectArgs),
    /// Fix failing rules: a dry run (plan and diff) by default, `--apply` to write.
    Fix(FixArgs),
    /// List the rules.
    Rules(RulesArgs),
    /// Explain one rule: rationale, how it is decided, how to fix it.
    Explain {
        /// Rule id, e.g. daemon.icc
        rule: String,
        #[command(flatten)]
        cis: CisArgs,
    },
    /// Merge JSON reports of many hosts into one fleet report.
    Merge(MergeArgs),
    /// Audit continuously and serve the results to Prometheus: `/metrics`,
    /// `/healthz`, `/report.json`. Re-audits on Engine API events, changed
    /// files, dockerd processes that come or go, SIGHUP (policy reload) and
    /// every --interval.
    Watch(WatchArgs),
    /// TLS certificates for the remote API (`tls init DIR`).
    Tls {
        #[command(subcommand)]
        command: TlsCommand,
    },
    /// Print the shell completion script for SHELL on standard output, e.g.
    /// `dockhard completions bash > /usr/share/bash-completion/completions/dockhard`.
    Completions {
        /// The shell the script is for.
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page dockhard(1) on standard output; with --dir, write
    /// it and one page per command (dockhard-check.1, ...) into DIR.
    Man {
        /// Directory to write the man pages to (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// `dockhard tls ...`
#[derive(Subcommand, Debug)]
pub enum TlsCommand {
    /// Generate a CA, a server and a client certificate for dockerd's
    /// `--tlsverify` into DIR (ca.pem, ca-key.pem, server-cert.pem,
    /// server-key.pem, cert.pem, key.pem).
    Init(TlsInitArgs),
}

#[derive(Args, Debug, Clone)]
pub struct TlsInitArgs {
    /// Directory to write to (created with mode 0700 if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// A name the daemon is reached by: DNS name or IP address (repeatable,
    /// at least one), e.g. `--san localhost --san 127.0.0.1 --san node1.example`.
    #[arg(long = "san", value_name = "NAME|IP", required = true)]
    pub sans: Vec<String>,
    /// Validity of the server and client certificates, in days (the CA is
    /// valid 3650 days, or as long as the certificates if that is longer).
    #[arg(long, value_name = "N", default_value_t = tls_init::DEFAULT_LEAF_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(tls_init::MAX_DAYS)))]
    pub days: u32,
    /// Overwrite existing files (otherwise any existing target file is an error).
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// Audit this dockerd process only.
    #[arg(long, value_name = "PID", conflicts_with = "root")]
    pub pid: Option<u32>,
    /// Audit the configuration files under DIR as a host's root filesystem
    /// (no processes, no API: verdicts are for the next start).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Engine API endpoint (default: the unix socket the audited daemon serves).
    #[arg(long, value_name = "URL", conflicts_with = "root")]
    pub host: Option<String>,
    /// Timeout of each API call and probe, in milliseconds (probes use at most 2000).
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub timeout_ms: u64,
    /// The service unit file that starts dockerd, when it is not a systemd
    /// service of this host (its FILE.d/*.conf drop-ins apply): the next
    /// start is resolved from it. With --root, a path inside the root.
    #[arg(long, value_name = "FILE")]
    pub unit: Option<String>,
    /// Rule set: seed (the hardening guide), cis (every automated CIS Docker
    /// Benchmark item), all (also the items decided by hand). Default: the
    /// policy's `profile`, else seed.
    #[arg(long, value_enum)]
    pub profile: Option<ProfileArg>,
    /// Policy file (TOML: profile, rules, severities, threshold, waivers,
    /// exclusions). Default: /etc/dockhard/policy.toml when it exists.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Ignore /etc/dockhard/policy.toml.
    #[arg(long, conflicts_with = "policy")]
    pub no_policy: bool,
    /// Judge the next start as this Docker Engine release would (`28`,
    /// `28.5`, `29.7.2`): the upgrade check. Default: the version of the
    /// engine the next start runs (its executable, else the package
    /// database, else the running daemon's API).
    #[arg(long, value_name = "VERSION", value_parser = parse_engine_version)]
    pub engine_version: Option<String>,
}

/// `--engine-version`: a release dockhard models (20.10 to the newest known).
fn parse_engine_version(text: &str) -> Result<String, String> {
    use crate::model::engine::{EngineVersion, NEWEST, OLDEST};
    let v = EngineVersion::parse(text)?;
    if v < OLDEST {
        return Err(format!(
            "{text}: dockhard models Docker Engine {} to {NEWEST}",
            OLDEST.line()
        ));
    }
    if v.clamped().1.is_some() {
        return Err(format!(
            "{text}: newer than the newest Docker Engine dockhard knows ({NEWEST})"
        ));
    }
    Ok(text.trim().to_string())
}

/// Largest policy file read.
const MAX_POLICY_BYTES: u64 = 1 << 20;

impl TargetArgs {
    /// The policy: `--policy FILE`, else /etc/dockhard/policy.toml of this
    /// machine when it exists (also with `--root`: an audited root must not
    /// waive its own findings), else none.
    pub fn load_policy(&self) -> Result<crate::policy::Policy, String> {
        use std::io::Read;
        let path = match (&self.policy, self.no_policy) {
            (Some(p), _) => p.clone(),
            (None, true) => return Ok(Default::default()),
            (None, false) => {
                let p = PathBuf::from(crate::policy::DEFAULT_PATH);
                match std::fs::metadata(&p) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Ok(Default::default());
                    }
                    _ => p,
                }
            }
        };
        let name = path.display().to_string();
        let f = std::fs::File::open(&path).map_err(|e| format!("{name}: {e}"))?;
        let mut bytes = Vec::new();
        f.take(MAX_POLICY_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{name}: {e}"))?;
        if bytes.len() as u64 > MAX_POLICY_BYTES {
            return Err(format!("{name}: larger than 1 MiB, not a policy file"));
        }
        let text = String::from_utf8(bytes).map_err(|_| format!("{name}: not UTF-8 text"))?;
        crate::policy::parse(&name, &text)
    }

    /// `--profile`, else the policy's, else seed.
    pub fn profile(&self, policy: &crate::policy::Policy) -> rules::Profile {
        self.profile
            .map(ProfileArg::profile)
            .or(policy.profile)
            .unwrap_or(rules::Profile::Seed)
    }
}

/// Which containers to leave out of the audit.
#[derive(Args, Debug, Clone, Default)]
pub struct ExcludeArgs {
    /// Leave out containers whose name matches PATTERN (`*`, `?`), or whose
    /// id starts with it (repeatable).
    #[arg(long = "exclude-container", value_name = "PATTERN")]
    pub containers: Vec<String>,
    /// Leave out containers with this label (`KEY` or `KEY=VALUE`, repeatable).
    #[arg(long = "exclude-label", value_name = "LABEL")]
    pub labels: Vec<String>,
    /// Leave out images with a tag matching PATTERN (`nginx:*`), or whose id
    /// starts with it (repeatable).
    #[arg(long = "exclude-image", value_name = "PATTERN")]
    pub images: Vec<String>,
}

impl ExcludeArgs {
    fn exclusions(&self) -> crate::model::objects::Exclusions {
        crate::model::objects::Exclusions {
            names: self.containers.clone(),
            labels: self.labels.clone(),
            images: self.images.clone(),
        }
    }
}

/// `--cis-version`: which CIS Docker Benchmark ids are shown.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct CisArgs {
    /// The CIS Docker Benchmark version whose ids are shown: 1.8 (v1.8.0,
    /// the current one) or 1.6 (v1.6.0, also v1.7.0's numbering). Default:
    /// the policy's `cis_version` (check), else 1.8.
    #[arg(long, value_enum, value_name = "VERSION")]
    pub cis_version: Option<CisArg>,
}

impl CisArgs {
    /// `--cis-version`, else the policy's, else the current version.
    pub fn version(self, policy: Option<&crate::policy::Policy>) -> rules::CisVersion {
        self.cis_version
            .map(CisArg::version)
            .or(policy.and_then(|p| p.cis_version))
            .unwrap_or_default()
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CisArg {
    #[value(name = "1.6", alias = "1.6.0")]
    V1_6,
    #[value(name = "1.8", alias = "1.8.0")]
    V1_8,
}

impl CisArg {
    pub fn version(self) -> rules::CisVersion {
        match self {
            CisArg::V1_6 => rules::CisVersion::V1_6,
            CisArg::V1_8 => rules::CisVersion::V1_8,
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileArg {
    Seed,
    Cis,
    All,
}

impl ProfileArg {
    pub fn profile(self) -> rules::Profile {
        match self {
            ProfileArg::Seed => rules::Profile::Seed,
            ProfileArg::Cis => rules::Profile::Cis,
            ProfileArg::All => rules::Profile::All,
        }
    }
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Evaluate a snapshot written by `dockhard collect` instead of this host.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["pid", "root", "host", "unit"])]
    pub snapshot: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the report in every format into DIR (dockhard.txt,
    /// .json, .sarif, .junit.xml, .html), created if missing.
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    pub output_dir: Option<PathBuf>,
    /// Exit 1 only for failures at or above this severity (default: any failure).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    #[command(flatten)]
    pub exclude: ExcludeArgs,
    #[command(flatten)]
    pub cis: CisArgs,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub exclude: ExcludeArgs,
    #[command(flatten)]
    pub cis: CisArgs,
    /// Serve on ADDR:PORT (a loopback address unless --listen-public).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9323")]
    pub listen: std::net::SocketAddr,
    /// Allow a --listen address that is not loopback: every finding of this
    /// host is served to whoever can connect.
    #[arg(long)]
    pub listen_public: bool,
    /// A full audit at least this often, whatever happens (`30s`, `5m`, `1h`).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::watch::parse_duration)]
    pub interval: std::time::Duration,
    /// Also write the metrics to PATH after every audit, atomically (for
    /// node_exporter's textfile collector).
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CollectArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where to write the snapshot (`-` for standard output).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct FixArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Fix this rule only (repeatable). Default: every rule that has a fix.
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// Write the changes (default: dry run).
    #[arg(long)]
    pub apply: bool,
    /// Do not ask for confirmation (asked only on a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Apply despite blocking hazards.
    #[arg(long)]
    pub force: bool,
    /// Where changes go: auto (daemon.json unless the option is already a flag:
    /// then where the flag lives), daemon-json, dropin, unit.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,
    /// auto, systemd, signal (SIGHUP), none, or cmd:'COMMAND' (run with /bin/sh -c;
    /// DOCKHARD_ACTION is `restart` or `reload`).
    #[arg(long, value_name = "HOW", default_value = "auto")]
    pub restart: String,
    /// Seconds to wait for dockerd after a restart or reload.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60,
        overrides_with = "wait_secs"
    )]
    pub wait_secs: u64,
    /// Restore the last applied change set and restart.
    #[arg(long, conflicts_with_all = ["rules", "apply"])]
    pub rollback: bool,
    /// Where backups go (default /var/lib/dockhard/backups; with --root,
    /// DIR/var/lib/dockhard/backups).
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Authorization plugin to configure (daemon.authorization-plugin).
    #[arg(long, value_name = "NAME")]
    pub authz_plugin: Option<String>,
    /// CA certificate for client verification (daemon.remote-api-*).
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<String>,
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<String>,
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<String>,
    /// Remote syslog (daemon.remote-logging): udp://, tcp://, tcp+tls://, unix://.
    #[arg(long, value_name = "URL")]
    pub syslog_address: Option<String>,
    /// `default` or USER[:GROUP] (daemon.userns-remap).
    #[arg(long, value_name = "SPEC")]
    pub userns_remap: Option<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodArg {
    Auto,
    DaemonJson,
    Dropin,
    Unit,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// JSON reports (`dockhard check --format json`), one per host.
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = MergeFormat::Text)]
    pub format: MergeFormat,
    /// Write the fleet report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub cis: CisArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeFormat {
    Text,
    Json,
    /// One self-contained HTML page.
    Html,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
    pub format: RulesFormat,
    #[command(flatten)]
    pub cis: CisArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesFormat {
    Text,
    Json,
    /// The rule table of docs/rules.md.
    Markdown,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Low,
    Medium,
    High,
    Critical,
}

impl FailOn {
    fn severity(self) -> Severity {
        match self {
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
            FailOn::Critical => Severity::Critical,
        }
    }
}

/// Run the command line; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("dockhard: error: {msg}");
            EXIT_ERROR
        }
    }
}

fn run(cli: Cli) -> Result<i32, String> {
    match cli.command {
        Command::Check(a) => check(a),
        Command::Collect(a) => {
            let policy = a.target.load_policy()?;
            let snap = gather(&a.target, &policy)?;
            let mut text = serde_json::to_string_pretty(&snap)
                .map_err(|e| format!("cannot serialize the snapshot: {e}"))?;
            text.push('\n');
            write_output_mode(Some(&a.output), &text, 0o600)?;
            Ok(EXIT_OK)
        }
        Command::Fix(a) => fix(a),
        Command::Rules(a) => {
            print!("{}", render_rules(a.format, a.cis.version(None)));
            Ok(EXIT_OK)
        }
        Command::Explain { rule, cis } => match rules::find(&rule) {
            Some(r) => {
                print!("{}", explain(r, cis.version(None)));
                Ok(EXIT_OK)
            }
            None => Err(format!(
                "unknown rule `{rule}` (see `dockhard rules` for the list)"
            )),
        },
        Command::Merge(a) => merge(a),
        Command::Watch(a) => watch(a),
        Command::Tls { command } => tls(command),
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "dockhard", &mut text);
            write_stdout(&text)
        }
        Command::Man { dir } => man(dir.as_deref()),
    }
}

/// `bytes` on standard output (a closed pipe is an error, not a panic).
fn write_stdout(bytes: &[u8]) -> Result<i32, String> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|_| out.flush())
        .map_err(|e| format!("standard output: {e}"))?;
    Ok(EXIT_OK)
}

/// `dockhard man`: dockhard(1) on standard output, or with a directory
/// every page (dockhard.1, dockhard-check.1, ..., dockhard-tls-init.1)
/// written there.
fn man(dir: Option<&Path>) -> Result<i32, String> {
    // As clap_mangen::generate_to does: no page for `help`.
    let cmd = Cli::command().disable_help_subcommand(true);
    match dir {
        None => {
            let mut text = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut text)
                .map_err(|e| format!("cannot render the man page: {e}"))?;
            write_stdout(&text)
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .map_err(|e| format!("cannot write the man pages to {}: {e}", dir.display()))?;
            Ok(EXIT_OK)
        }
    }
}

/// `dockhard tls ...`: the instructions on standard output, warnings on
/// standard error.
fn tls(cmd: TlsCommand) -> Result<i32, String> {
    match cmd {
        TlsCommand::Init(a) => {
            let text = tls_init::run(&a.dir, &a.sans, a.days, a.force, &mut |w| {
                eprintln!("dockhard: warning: {w}")
            })?;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| format!("standard output: {e}"))?;
            Ok(EXIT_OK)
        }
    }
}

/// `dockhard watch`: runs until SIGTERM/SIGINT (0).
fn watch(a: WatchArgs) -> Result<i32, String> {
    crate::watch::check_listen(&a.listen, a.listen_public)?;
    let policy = a.target.load_policy()?;
    let mut collect = collect_options(&a.target, &policy);
    collect.progress = false;
    let target = a.target.clone();
    let exclude = a.exclude.exclusions();
    let cis = a.cis;
    let audit: crate::watch::AuditOptionsFn = Box::new(move || {
        let policy = target.load_policy()?;
        Ok(crate::audit::AuditOptions {
            profile: target.profile(&policy),
            exclude: exclude.clone(),
            cis_version: cis.version(Some(&policy)),
            policy,
        })
    });
    crate::watch::run(
        crate::watch::WatchOptions {
            collect,
            audit,
            listen: a.listen,
            interval: a.interval,
            textfile: a.textfile,
        },
        &mut std::io::stderr(),
    )
}

/// `dockhard merge`: 1 when some host has a failure, else 0; a file that
/// is not a report is an error (2).
fn merge(a: MergeArgs) -> Result<i32, String> {
    use crate::report::fleet;
    let mut reports = Vec::new();
    for p in &a.reports {
        reports.push((p.display().to_string(), read_report(p)?));
    }
    let f = fleet::merge_with(&reports, a.cis.version(None));
    let text = match a.format {
        MergeFormat::Json => fleet::render_json(&f),
        MergeFormat::Text => fleet::render_text(&f),
        MergeFormat::Html => crate::report::fleet_html::render(&f),
    };
    write_output(a.output.as_deref(), &text)?;
    Ok(if f.has_failures() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

fn gather(t: &TargetArgs, policy: &crate::policy::Policy) -> Result<Snapshot, String> {
    let mut snap = collect::collect(&collect_options(t, policy)).map_err(|e| e.to_string())?;
    if t.engine_version.is_some() {
        snap.engine_version = t.engine_version.clone();
    }
    Ok(snap)
}

fn collect_options(t: &TargetArgs, policy: &crate::policy::Policy) -> CollectOptions {
    let target = match (&t.root, t.pid) {
        (Some(r), _) => Target::Root(r.clone()),
        (None, Some(p)) => Target::Pid(p),
        (None, None) => Target::Auto,
    };
    let profile = t.profile(policy);
    CollectOptions {
        target,
        host: t.host.clone(),
        timeout: Duration::from_millis(t.timeout_ms.clamp(1, 60_000)),
        unit: t.unit.clone(),
        objects: policy
            .rules(profile)
            .any(|r| !matches!(r.check, rules::Check::Daemon(_))),
        progress: progress_wanted(),
    }
}

fn fix(a: FixArgs) -> Result<i32, String> {
    use crate::fix::{plan, run};
    use crate::rules::remedy::FixInputs;
    let policy = a.target.load_policy()?;
    let copts = collect_options(&a.target, &policy);
    let (backup_root, lock_path) = run::default_paths(a.target.root.as_deref());
    let backup_root = a.backup_dir.clone().unwrap_or(backup_root);
    let lock_path = match (&a.backup_dir, &a.target.root) {
        (Some(b), _) => b.join("dockhard.lock"),
        _ => lock_path,
    };
    let ropts = run::RunOptions {
        apply: a.apply,
        yes: a.yes,
        force: a.force,
        restart: run::Restart::parse(&a.restart)?,
        wait: Duration::from_secs(a.wait_secs.clamp(1, 3600)),
        backup_root,
        lock_path,
        collect: copts.clone(),
    };
    // Before anything is read: what is planned is what is on disk.
    let lock = if a.apply || a.rollback {
        Some(run::lock(&ropts)?)
    } else {
        None
    };
    let mut snap = collect::collect(&copts).map_err(|e| e.to_string())?;
    if a.target.engine_version.is_some() {
        snap.engine_version = a.target.engine_version.clone();
    }
    let inputs = FixInputs {
        authz_plugin: a.authz_plugin.clone(),
        tls_ca: a.tls_ca.clone(),
        tls_cert: a.tls_cert.clone(),
        tls_key: a.tls_key.clone(),
        syslog_address: a.syslog_address.clone(),
        userns_remap: a.userns_remap.clone(),
    };
    collect::read_extra(&mut snap, &plan::wanted(&inputs));
    let mut out = std::io::stdout().lock();
    if let (true, Some(l)) = (a.rollback, &lock) {
        return run::rollback(&snap, &ropts, l, &mut out);
    }
    // Every fixable rule of the profile and policy, unless --rule names some.
    let profile = a.target.profile(&policy);
    let rules = if a.rules.is_empty() {
        plan::fixable_rules()
            .filter(|r| policy.selects(profile, r))
            .map(|r| r.meta.id.to_string())
            .collect()
    } else {
        a.rules.clone()
    };
    let popts = plan::PlanOptions {
        rules,
        method: match a.method {
            MethodArg::Auto => plan::Method::Auto,
            MethodArg::DaemonJson => plan::Method::DaemonJson,
            MethodArg::Dropin => plan::Method::Dropin,
            MethodArg::Unit => plan::Method::Unit,
        },
        force: a.force,
        inputs,
    };
    run::fix(&snap, &popts, &ropts, lock.as_ref(), &mut out)
}

fn check(a: CheckArgs) -> Result<i32, String> {
    let policy = a.target.load_policy()?;
    let snap = match &a.snapshot {
        Some(p) => {
            let mut snap = read_snapshot(p)?;
            if a.target.engine_version.is_some() {
                snap.engine_version = a.target.engine_version.clone();
            }
            snap
        }
        None => gather(&a.target, &policy)?,
    };
    let threshold = a.fail_on.map(FailOn::severity).or(policy.fail_on);
    let report = crate::audit::run_with(
        &snap,
        &crate::audit::AuditOptions {
            profile: a.target.profile(&policy),
            exclude: a.exclude.exclusions(),
            cis_version: a.cis.version(Some(&policy)),
            policy,
        },
    );
    if let Some(dir) = &a.output_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for f in report::Format::ALL {
            write_output(
                Some(&dir.join(f.file_name())),
                &report::render(&report, f, false),
            )?;
        }
    }
    // Standard output (or --output) gets --format as well: the text report
    // in a CI log beside the files of --output-dir.
    let color = a.format == Format::Text && color_wanted(a.output.as_deref());
    let text = report::render(&report, a.format, color);
    write_output(a.output.as_deref(), &text)?;
    Ok(exit_code(&report, threshold))
}

/// 1 when a failure is at or above the threshold (any failure without one);
/// else 2 when some verdict could not be reached (`error`) or nothing was
/// audited; else 0.
pub fn exit_code(report: &Report, threshold: Option<Severity>) -> i32 {
    let results = || report.daemons.iter().flat_map(|d| &d.results);
    if results().any(|r| r.status == Status::Fail && threshold.is_none_or(|t| r.severity >= t)) {
        EXIT_FINDINGS
    } else if report.daemons.is_empty() || results().any(|r| r.status == Status::Error) {
        EXIT_ERROR
    } else {
        EXIT_OK
    }
}

/// A progress bar on standard error: only on a terminal, never on CI.
fn progress_wanted() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none_or(|v| v.is_empty() || v == "false" || v == "0")
}

fn color_wanted(output: Option<&Path>) -> bool {
    use std::io::IsTerminal;
    output.is_none()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal()
}

#[cfg(test)]
mod tests;
