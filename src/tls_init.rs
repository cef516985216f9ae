//! `dockhard tls init DIR`: a CA, a server and a client certificate for
//! dockerd's `--tlsverify` (ECDSA P-256, made with rcgen).
//!
//! [`build`] is pure (no file, no clock; it draws random keys) and returns
//! PEM text; [`init`] writes it: every file goes to a temporary file in DIR
//! (`O_CREAT|O_EXCL|O_NOFOLLOW`, final mode from the start, fsync) and only
//! when all six are written are they renamed into place, so a failure leaves
//! the old set untouched. Private keys are never printed.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Default validity of the server and client certificates, in days (the
/// longest that Apple and browsers accept for a TLS server certificate).
pub const DEFAULT_LEAF_DAYS: u32 = 825;
/// Default validity of the CA, in days.
pub const DEFAULT_CA_DAYS: u32 = 3650;
/// Longest validity accepted by `--days`.
pub const MAX_DAYS: u32 = 36_500;
/// `notBefore` is this many seconds before the time of creation, so a peer
/// whose clock is a little behind accepts a certificate made just now.
pub const BACKDATE_SECS: i64 = 3600;
/// The port dockerd uses for TLS by convention.
pub const TLS_PORT: u16 = 2376;

/// The files written, in order: (name, what, mode).
pub const FILES: [(&str, &str, u32); 6] = [
    ("ca.pem", "CA certificate", 0o444),
    ("ca-key.pem", "CA private key", 0o400),
    ("server-cert.pem", "server certificate", 0o444),
    ("server-key.pem", "server private key", 0o400),
    ("cert.pem", "client certificate", 0o444),
    ("key.pem", "client private key", 0o400),
];

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    Dns(String),
    Ip(IpAddr),
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(d) => write!(f, "DNS:{d}"),
            San::Ip(ip) => write!(f, "IP:{ip}"),
        }
    }
}

impl San {
    /// `host` or `[v6]`, as in a URL.
    pub fn url_host(&self) -> String {
        match self {
            San::Dns(d) => d.clone(),
            San::Ip(IpAddr::V6(v6)) => format!("[{v6}]"),
            San::Ip(ip) => ip.to_string(),
        }
    }
}

/// Parse one `--san`: an IP address (IPv6 optionally in brackets) or a DNS
/// name (letters, digits, `-` in labels of 1 to 63 characters, 253 at most,
/// an optional leading `*.` wildcard; the last label not all digits).
pub fn parse_san(s: &str) -> Result<San, String> {
    let bad = |why: &str| format!("--san `{s}`: {why}");
    if s.is_empty() {
        return Err(bad("empty"));
    }
    let unbracketed = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Ok(San::Ip(ip));
    }
    if unbracketed != s {
        return Err(bad("not an IPv6 address between brackets"));
    }
    if s.len() > 253 {
        return Err(bad("a DNS name has at most 253 characters"));
    }
    if s.ends_with('.') {
        return Err(bad("give the DNS name without the trailing dot"));
    }
    let rest = s.strip_prefix("*.").unwrap_or(s);
    let labels: Vec<&str> = rest.split('.').collect();
    for l in &labels {
        if l.is_empty() {
            return Err(bad("empty label (`..`, or a leading dot)"));
        }
        if l.len() > 63 {
            return Err(bad("a DNS label has at most 63 characters"));
        }
        if let Some(c) = l
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(bad(&format!(
                "`{}` is not allowed in a DNS name (letters, digits, `-` and `.` only; \
                 `*.` only as the first label)",
                c.escape_default()
            )));
        }
        if l.starts_with('-') || l.ends_with('-') {
            return Err(bad("a DNS label cannot start or end with `-`"));
        }
    }
    if labels
        .last()
        .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(bad("neither an IP address nor a DNS name"));
    }
    if s.starts_with("*.") && labels.len() < 2 {
        return Err(bad("a wildcard needs at least two labels after `*.`"));
    }
    Ok(San::Dns(s.to_string()))
}

/// Parse every `--san`, dropping duplicates (DNS names compared without
/// case). At least one is required.
pub fn parse_sans(args: &[String]) -> Result<Vec<San>, String> {
    let mut out: Vec<San> = Vec::new();
    for a in args {
        let san = parse_san(a)?;
        let dup = out.iter().any(|o| match (o, &san) {
            (San::Dns(x), San::Dns(y)) => x.eq_ignore_ascii_case(y),
            (x, y) => x == y,
        });
        if !dup {
            out.push(san);
        }
    }
    if out.is_empty() {
        return Err("give at least one --san (the names and addresses clients use)".into());
    }
    Ok(out)
}

/// What to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSpec {
    pub sans: Vec<San>,
    /// Validity of the server and client certificates.
    pub leaf_days: u32,
    /// Validity of the CA.
    pub ca_days: u32,
    /// Unix seconds of creation (the caller reads the clock).
    pub now: i64,
}

impl CertSpec {
    /// The CA lives at least as long as the certificates it signs.
    pub fn new(sans: Vec<San>, leaf_days: u32, now: i64) -> CertSpec {
        CertSpec {
            sans,
            leaf_days,
            ca_days: DEFAULT_CA_DAYS.max(leaf_days),
            now,
        }
    }
}

/// The PEM text of the six files. `Debug` shows no key.
#[derive(Clone, PartialEq, Eq)]
pub struct Material {
    pub ca_cert: String,
    pub ca_key: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
}

impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Material")
            .field("ca_cert", &self.ca_cert)
            .field("server_cert", &self.server_cert)
            .field("client_cert", &self.client_cert)
            .finish_non_exhaustive()
    }
}

impl Material {
    /// Contents in the order of [`FILES`].
    pub fn contents(&self) -> [&str; 6] {
        [
            &self.ca_cert,
            &self.ca_key,
            &self.server_cert,
            &self.server_key,
            &self.client_cert,
            &self.client_key,
        ]
    }
}

/// `[not_before, not_after]` (Unix seconds) of a certificate valid `days`
/// from `now`, backdated by [`BACKDATE_SECS`].
pub fn validity(now: i64, days: u32) -> (i64, i64) {
    (
        now.saturating_sub(BACKDATE_SECS),
        now.saturating_add(i64::from(days).saturating_mul(86_400)),
    )
}

/// Latest date an X.509 time can hold here (9999-12-31T23:59:59Z).
const MAX_UNIX: i64 = 253_402_300_799;

/// Set `notBefore`/`notAfter` (Unix seconds) of `p`.
fn set_validity(p: &mut CertificateParams, from: i64, to: i64) -> Result<(), String> {
    let secs = |t: i64| {
        u64::try_from(t)
            .ok()
            .filter(|_| t <= MAX_UNIX)
            .map(std::time::Duration::from_secs)
            .ok_or_else(|| format!("date {t} (Unix seconds) is out of range for a certificate"))
    };
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    p.not_before = epoch + secs(from)?;
    p.not_after = epoch + secs(to)?;
    Ok(())
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "dockhard");
    dn.push(DnType::CommonName, cn);
    dn
}

fn rcgen_err(what: &str) -> impl Fn(rcgen::Error) -> String + '_ {
    move |e| format!("cannot make the {what}: {e}")
}

/// Build the CA, the server certificate (serverAuth, every SAN) and the
/// client certificate (clientAuth), each with a fresh P-256 key.
pub fn build(spec: &CertSpec) -> Result<Material, String> {
    if spec.sans.is_empty() {
        return Err("at least one subject alternative name is required".into());
    }
    let first = spec.sans.first().map(San::url_host).unwrap_or_default();
    let mut sans = Vec::new();
    for s in &spec.sans {
        sans.push(match s {
            San::Ip(ip) => SanType::IpAddress(*ip),
            San::Dns(d) => SanType::DnsName(
                d.as_str()
                    .try_into()
                    .map_err(|e| format!("DNS name `{d}`: {e}"))?,
            ),
        });
    }
    let (ca_from, ca_to) = validity(spec.now, spec.ca_days);
    let (leaf_from, leaf_to) = validity(spec.now, spec.leaf_days);

    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(rcgen_err("CA key"))?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name = name(&format!("dockhard CA for {first}"));
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut ca, ca_from, ca_to)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(rcgen_err("CA"))?;
    let issuer = Issuer::new(ca, &ca_key);

    let leaf = |cn: &str,
                sans: Vec<SanType>,
                eku: ExtendedKeyUsagePurpose,
                what: &str|
     -> Result<(String, String), String> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(|e| format!("cannot make the {what} key: {e}"))?;
        let mut p = CertificateParams::default();
        p.distinguished_name = name(cn);
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![eku];
        p.subject_alt_names = sans;
        p.use_authority_key_identifier_extension = true;
        set_validity(&mut p, leaf_from, leaf_to)?;
        let cert = p
            .signed_by(&key, &issuer)
            .map_err(|e| format!("cannot make the {what}: {e}"))?;
        Ok((cert.pem(), key.serialize_pem()))
    };
    let (server_cert, server_key) = leaf(
        &first,
        sans,
        ExtendedKeyUsagePurpose::ServerAuth,
        "server certificate",
    )?;
    let (client_cert, client_key) = leaf(
        "dockhard client",
        Vec::new(),
        ExtendedKeyUsagePurpose::ClientAuth,
        "client certificate",
    )?;
    Ok(Material {
        ca_cert: ca_cert.pem(),
        ca_key: ca_key.serialize_pem(),
        server_cert,
        server_key,
        client_cert,
        client_key,
    })
}

/// The host for `DOCKER_HOST`: the first SAN that is not a loopback name
/// or address (clients are elsewhere), else the first.
pub fn client_host(sans: &[San]) -> String {
    let loopback = |s: &&San| match s {
        San::Dns(d) => d.eq_ignore_ascii_case("localhost"),
        San::Ip(ip) => ip.is_loopback(),
    };
    sans.iter()
        .find(|s| !loopback(s))
        .or_else(|| sans.first())
        .map(San::url_host)
        .unwrap_or_default()
}

/// The instructions printed after writing: the files, the daemon.json
/// snippet and the client environment. `dir` should be absolute.
pub fn instructions(dir: &Path, spec: &CertSpec) -> String {
    let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let (_, leaf_to) = validity(spec.now, spec.leaf_days);
    let (_, ca_to) = validity(spec.now, spec.ca_days);
    let date = |t: i64| crate::timefmt::rfc3339(t);
    let sans: Vec<String> = spec.sans.iter().map(San::to_string).collect();
    let mut s = format!(
        "Wrote TLS material for dockerd --tlsverify to {}:\n",
        dir.display()
    );
    for (name, what, mode) in FILES {
        let note = match name {
            "ca.pem" => format!("valid until {}", date(ca_to)),
            "ca-key.pem" => "signs certificates: keep it offline".to_string(),
            "server-cert.pem" => format!("{}; valid until {}", sans.join(", "), date(leaf_to)),
            "cert.pem" => format!("valid until {}", date(leaf_to)),
            _ => String::new(),
        };
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(" ({note})")
        };
        s.push_str(&format!("  {mode:04o}  {:<40} {what}{note}\n", p(name)));
    }
    let q = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let snippet = format!(
        "{{\n  \"tlsverify\": true,\n  \"tlscacert\": {},\n  \"tlscert\": {},\n  \
         \"tlskey\": {},\n  \"hosts\": [\"unix:///var/run/docker.sock\", \"tcp://0.0.0.0:{TLS_PORT}\"]\n}}",
        q(&p("ca.pem")),
        q(&p("server-cert.pem")),
        q(&p("server-key.pem")),
    );
    let host = client_host(&spec.sans);
    s.push_str(&format!(
        "\nDaemon: merge into /etc/docker/daemon.json, then restart dockerd (a reload does not \
         apply TLS settings):\n{snippet}\n\
         With \"hosts\" in daemon.json the service must not also pass -H (Debian's docker.service \
         passes -H fd://): override ExecStart in a drop-in, or drop \"hosts\" and add \
         -H tcp://0.0.0.0:{TLS_PORT} there. Bind a specific address rather than 0.0.0.0 when \
         you can.\n\
         \nClient: here as root, or elsewhere after copying ca.pem, cert.pem and key.pem into a \
         directory and pointing DOCKER_CERT_PATH at it (key.pem is readable by its owner only: \
         give it to the user who runs docker):\n\
         \x20 export DOCKER_HOST=tcp://{host}:{TLS_PORT}\n\
         \x20 export DOCKER_TLS_VERIFY=1\n\
         \x20 export DOCKER_CERT_PATH={}\n",
        dir.display()
    ));
    s
}

// ---------------------------------------------------------------------------
// I/O
// ---------------------------------------------------------------------------

/// `dockhard tls init`: read the clock, check the names, write the six
/// files into `dir`; returns the instructions to show (the caller prints
/// them). Warnings go to `warn` as they arise.
pub fn run(
    dir: &Path,
    sans: &[String],
    days: u32,
    force: bool,
    warn: &mut dyn FnMut(&str),
) -> Result<String, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .ok_or("the system clock is before 1970")?;
    let sans = parse_sans(sans)?;
    let spec = CertSpec::new(sans, days, now);
    let dir = init(dir, &spec, force, warn)?;
    Ok(instructions(&dir, &spec))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Create `dir` with mode 0700 if missing (its parents as usual); refuse a
/// symbolic link or a non-directory. Returns the absolute path.
fn prepare_dir(dir: &Path, warn: &mut dyn FnMut(&str)) -> Result<PathBuf, String> {
    let shown = dir.display();
    match fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(format!(
                "{shown} is a symbolic link; give the directory it points to"
            ));
        }
        Ok(m) if !m.is_dir() => return Err(format!("{shown} exists and is not a directory")),
        Ok(m) => {
            if m.mode() & 0o022 != 0 {
                warn(&format!(
                    "{shown} is writable by group or others (mode {:04o}): \
                     others could replace the certificates",
                    m.mode() & 0o7777
                ));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            fs::DirBuilder::new()
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("create {shown}: {e}"))?;
            // The umask may have taken bits away; 0700 exactly.
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| format!("chmod {shown}: {e}"))?;
        }
        Err(e) => return Err(format!("{shown}: {e}")),
    }
    fs::canonicalize(dir).map_err(|e| format!("{shown}: {e}"))
}

/// Refuse existing targets (all named) unless `force`; refuse anything but
/// a regular file even with `force`.
fn check_targets(dir: &Path, force: bool) -> Result<(), String> {
    let mut existing = Vec::new();
    for (name, _, _) in FILES {
        let path = dir.join(name);
        match fs::symlink_metadata(&path) {
            Ok(m) if !m.file_type().is_file() => {
                return Err(format!(
                    "{} exists and is not a regular file; remove it first",
                    path.display()
                ));
            }
            Ok(_) => existing.push(path.display().to_string()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    if !force && !existing.is_empty() {
        return Err(format!(
            "{} already exist{}; use --force to overwrite",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" }
        ));
    }
    Ok(())
}

/// A temporary file in `dir` with `bytes`, mode `mode` from creation on,
/// owned by root when running as root, fsynced.
fn write_temp(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    mode: u32,
    n: usize,
) -> Result<PathBuf, String> {
    let tmp = dir.join(format!(".{name}.dockhard-{}-{n}.tmp", std::process::id()));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(|e| format!("create {}: {e}", tmp.display()))?;
    let res = (|| {
        f.write_all(bytes)?;
        if is_root() {
            std::os::unix::fs::fchown(&f, Some(0), Some(0))?;
        }
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.sync_all()
    })();
    match res {
        Ok(()) => Ok(tmp),
        Err(e) => {
            drop(f);
            let _ = fs::remove_file(&tmp);
            Err(format!("write {}: {e}", tmp.display()))
        }
    }
}

/// Write `material` into `dir` (already prepared): all six temporary files
/// first, then the renames, then an fsync of the directory.
fn write_all(dir: &Path, material: &Material) -> Result<(), String> {
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
    let cleanup = |temps: &[(PathBuf, PathBuf)]| {
        for (t, _) in temps {
            let _ = fs::remove_file(t);
        }
    };
    for (n, ((name, _, mode), text)) in FILES.iter().zip(material.contents()).enumerate() {
        match write_temp(dir, name, text.as_bytes(), *mode, n) {
            Ok(t) => temps.push((t, dir.join(name))),
            Err(e) => {
                cleanup(&temps);
                return Err(e);
            }
        }
    }
    for (i, (tmp, dest)) in temps.iter().enumerate() {
        if let Err(e) = fs::rename(tmp, dest) {
            cleanup(temps.get(i..).unwrap_or(&[]));
            let done: Vec<String> = temps
                .get(..i)
                .unwrap_or(&[])
                .iter()
                .map(|(_, d)| d.display().to_string())
                .collect();
            return Err(format!(
                "rename into {}: {e} (already replaced: {})",
                dest.display(),
                if done.is_empty() {
                    "none".to_string()
                } else {
                    done.join(", ")
                }
            ));
        }
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("fsync {}: {e}", dir.display()))
}

/// Generate and write the six files into `dir`; returns its absolute path.
/// Warnings (a directory others may write) go to `warn`.
pub fn init(
    dir: &Path,
    spec: &CertSpec,
    force: bool,
    warn: &mut dyn FnMut(&str),
) -> Result<PathBuf, String> {
    let dir = prepare_dir(dir, warn)?;
    check_targets(&dir, force)?;
    let material = build(spec)?;
    write_all(&dir, &material)?;
    Ok(dir)
}

#[cfg(test)]
mod tests;
