//! TLS material.

use super::*;

/// A CA, a server certificate (SAN 127.0.0.1, localhost) and a client
/// certificate, ECDSA P-256, in `dir`. Keys are mode 0400, owned by root.
#[derive(Debug, Clone)]
pub struct Certs {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

pub const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = dockhard-test
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
";

impl Certs {
    /// Generate into `dir` (created) with the `openssl` CLI.
    pub fn generate(live: &Live, dir: &Path) -> Certs {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let cnf = dir.join("openssl.cnf");
        fs::write(&cnf, OPENSSL_CNF).unwrap_or_else(|e| panic!("{}: {e}", cnf.display()));
        let c = Certs {
            dir: dir.to_path_buf(),
            ca: dir.join("ca.pem"),
            ca_key: dir.join("ca-key.pem"),
            server_cert: dir.join("server-cert.pem"),
            server_key: dir.join("server-key.pem"),
            client_cert: dir.join("client-cert.pem"),
            client_key: dir.join("client-key.pem"),
        };
        let ossl = || {
            let mut cmd = Command::new(&live.tools.openssl);
            cmd.current_dir(dir).env("OPENSSL_CONF", &cnf);
            cmd
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        run_ok(
            ossl()
                .args(["req", "-x509", "-config"])
                .arg(&cnf)
                .args([
                    "-extensions",
                    "v3_ca",
                    "-days",
                    "7",
                    "-subj",
                    "/CN=dockhard-test-ca",
                ])
                .args(ec)
                .arg("-keyout")
                .arg(&c.ca_key)
                .arg("-out")
                .arg(&c.ca),
        );
        for (cert, key, ext, cn) in [
            (&c.server_cert, &c.server_key, "server", "/CN=localhost"),
            (
                &c.client_cert,
                &c.client_key,
                "client",
                "/CN=dockhard-test-client",
            ),
        ] {
            let csr = dir.join(format!("{ext}.csr"));
            run_ok(
                ossl()
                    .args(["req", "-new", "-config"])
                    .arg(&cnf)
                    .args(["-subj", cn])
                    .args(ec)
                    .arg("-keyout")
                    .arg(key)
                    .arg("-out")
                    .arg(&csr),
            );
            run_ok(
                ossl()
                    .args(["x509", "-req", "-days", "7", "-set_serial"])
                    .arg(format!("{}", 1000 + cert.as_os_str().len()))
                    .arg("-in")
                    .arg(&csr)
                    .arg("-CA")
                    .arg(&c.ca)
                    .arg("-CAkey")
                    .arg(&c.ca_key)
                    .arg("-extfile")
                    .arg(&cnf)
                    .args(["-extensions", ext])
                    .arg("-out")
                    .arg(cert),
            );
        }
        for k in [&c.ca_key, &c.server_key, &c.client_key] {
            fs::set_permissions(k, fs::Permissions::from_mode(0o400))
                .unwrap_or_else(|e| panic!("chmod {}: {e}", k.display()));
        }
        c
    }

    /// dockerd flags for a verifying TLS listener with these certificates.
    pub fn tlsverify_flags(&self) -> Vec<String> {
        vec![
            "--tlsverify".to_string(),
            format!("--tlscacert={}", self.ca.display()),
            format!("--tlscert={}", self.server_cert.display()),
            format!("--tlskey={}", self.server_key.display()),
        ]
    }

    /// `curl` over HTTPS to `https://127.0.0.1:port{path}` in the network
    /// namespace `ns` (the daemon's), with or without the client
    /// certificate; `Ok(body)` or `Err(curl's complaint)`.
    pub fn curl(
        &self,
        live: &Live,
        ns: &Netns,
        port: u16,
        path: &str,
        with_client_cert: bool,
    ) -> Result<String, String> {
        let mut cmd = Command::new(&live.tools.curl);
        ns.enter(&mut cmd);
        cmd.args(["-sS", "--max-time", "10", "--cacert"])
            .arg(&self.ca);
        if with_client_cert {
            cmd.arg("--cert")
                .arg(&self.client_cert)
                .arg("--key")
                .arg(&self.client_key);
        }
        cmd.arg(format!("https://127.0.0.1:{port}{path}"));
        let out = cmd.output().map_err(|e| format!("cannot run curl: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "curl {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}
