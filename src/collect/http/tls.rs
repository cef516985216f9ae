//! TLS: the client configuration (rustls, ring provider) for the Engine
//! API and for the probes, and readable TLS errors.

use super::endpoint::TlsSettings;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::io::{Read, Write};
use std::sync::Arc;

/// Human text of a TLS error (`TLS alert: bad certificate`).
pub fn tls_error_text(e: &rustls::Error) -> String {
    match e {
        rustls::Error::AlertReceived(a) => format!("TLS alert: {}", alert_text(*a)),
        other => format!("TLS error: {other}"),
    }
}

pub(super) fn alert_text(a: rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    match a {
        A::BadCertificate => "bad certificate".into(),
        A::CertificateRequired => "certificate required".into(),
        A::HandshakeFailure => "handshake failure".into(),
        A::UnknownCA => "unknown certificate authority".into(),
        A::CertificateUnknown => "certificate unknown".into(),
        A::ProtocolVersion => "protocol version".into(),
        A::InternalError => "internal error".into(),
        A::AccessDenied => "access denied".into(),
        other => format!("{other:?}"),
    }
}

/// Wrap a stream in a TLS client session (handshake happens on first I/O).
pub fn tls_stream<S: Read + Write>(
    s: S,
    host: &str,
    config: Arc<ClientConfig>,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, S>, String> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| format!("invalid TLS server name {host:?}: {e}"))?;
    let conn = rustls::ClientConnection::new(config, name).map_err(|e| tls_error_text(&e))?;
    Ok(rustls::StreamOwned::new(conn, s))
}

pub(super) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS client configuration from settings.
pub fn client_config(t: &TlsSettings) -> Result<Arc<ClientConfig>, String> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error_text(&e))?;
    let builder = match &t.ca_file {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
            for c in CertificateDer::pem_slice_iter(&pem) {
                let c = c.map_err(|e| format!("{}: {e}", ca.display()))?;
                roots
                    .add(c)
                    .map_err(|e| format!("{}: {}", ca.display(), tls_error_text(&e)))?;
            }
            builder.with_root_certificates(roots)
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider()))),
    };
    let config = match &t.client_cert {
        Some((cert, key)) if cert.exists() && key.exists() => {
            let cpem = std::fs::read(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
            let certs = CertificateDer::pem_slice_iter(&cpem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{}: {e}", cert.display()))?;
            let kpem = std::fs::read(key).map_err(|e| format!("{}: {e}", key.display()))?;
            let key_der = PrivateKeyDer::from_pem_slice(&kpem)
                .map_err(|e| format!("{}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(certs, key_der)
                .map_err(|e| tls_error_text(&e))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// A TLS configuration that sends no client certificate and accepts any
/// server certificate: for probing what a stranger can do, not for trust.
pub fn probe_config() -> Result<Arc<ClientConfig>, String> {
    client_config(&TlsSettings {
        ca_file: None,
        client_cert: None,
    })
}

/// Accepts every server certificate (the handshake signature is still
/// checked against the presented certificate).
#[derive(Debug)]
pub(super) struct AcceptAnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
