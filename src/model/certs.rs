//! X.509 certificates in PEM files: validity and subject, nothing more.
//! Pure: works on text the snapshot holds. Private keys are never read.

use x509_parser::pem::Pem;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

/// Every certificate in a PEM file, in order. A file with no certificate, or
/// a certificate that does not parse, is an error naming the block.
pub fn parse_pem_certs(text: &str) -> Result<Vec<CertInfo>, String> {
    let mut out = Vec::new();
    for (i, pem) in Pem::iter_from_buffer(text.as_bytes()).enumerate() {
        let pem = pem.map_err(|e| format!("PEM block {}: {e}", i + 1))?;
        if pem.label != "CERTIFICATE" {
            continue;
        }
        let cert = pem
            .parse_x509()
            .map_err(|e| format!("PEM block {} (CERTIFICATE): {e}", i + 1))?;
        let v = cert.validity();
        out.push(CertInfo {
            subject: cert.subject().to_string(),
            not_before: v.not_before.timestamp(),
            not_after: v.not_after.timestamp(),
        });
    }
    if out.is_empty() {
        return Err("no PEM certificate found".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn no_certificate_is_an_error() {
        assert!(parse_pem_certs("").is_err());
        assert!(
            parse_pem_certs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .is_err()
        );
    }

    #[test]
    fn garbage_certificate_is_an_error() {
        let e = parse_pem_certs("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .unwrap_err();
        assert!(e.contains("PEM block 1"), "{e}");
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,2000}") {
            let _ = parse_pem_certs(&s);
        }

        #[test]
        fn never_panics_in_a_pem_frame(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            use base64::Engine;
            let body = base64::engine::general_purpose::STANDARD.encode(&b);
            let _ = parse_pem_certs(&format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"));
        }
    }
}
