//! The certificate authorities a tenant's plugin trusts for HTTPS: the public web PKI roots, or
//! the authorities in the PEM file that the tenant's `tls_ca_file` names.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// A TLS client configuration for one tenant.
#[derive(Clone)]
pub struct TlsTrust {
    config: Arc<ClientConfig>,
    /// Description of the roots for messages: "public web PKI roots" or the CA file path.
    source: String,
}

impl TlsTrust {
    /// Trusts the Mozilla root set that `webpki-roots` ships, as browsers do.
    pub fn public_roots() -> TlsTrust {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        TlsTrust {
            config: client_config(roots),
            source: "public web PKI roots".to_string(),
        }
    }

    /// Trusts only the certificate authorities in the PEM file at `path`. A tenant whose
    /// identity source uses a private authority names it here, and the public roots are then
    /// not trusted for that tenant.
    pub fn from_ca_file(path: &Path) -> Result<TlsTrust, String> {
        let certificates = CertificateDer::pem_file_iter(path)
            .map_err(|error| format!("failed to read {}: {error}", path.display()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| {
                format!(
                    "{} is not a valid PEM file: {error}; it must hold one or more -----BEGIN CERTIFICATE----- blocks",
                    path.display()
                )
            })?;
        if certificates.is_empty() {
            return Err(format!(
                "{} holds no certificate; it must hold one or more -----BEGIN CERTIFICATE----- blocks",
                path.display()
            ));
        }
        let mut roots = RootCertStore::empty();
        for certificate in certificates {
            roots.add(certificate).map_err(|error| {
                format!(
                    "{} holds a certificate that is not a valid authority: {error}",
                    path.display()
                )
            })?;
        }
        Ok(TlsTrust {
            config: client_config(roots),
            source: path.display().to_string(),
        })
    }

    /// Returns the rustls client configuration.
    pub fn config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }

    /// Describes the trusted roots, for error messages.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl fmt::Debug for TlsTrust {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TlsTrust")
            .field("source", &self.source)
            .finish()
    }
}

/// Builds a client configuration on the ring provider, the one wasmtime-wasi-http also uses, so
/// the process never depends on which rustls provider is the default.
fn client_config(roots: RootCertStore) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ca_file_is_named() {
        let error = TlsTrust::from_ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(error.contains("/nonexistent/ca.pem"), "{error}");
    }

    #[test]
    fn file_without_certificate_is_rejected() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = TlsTrust::from_ca_file(&path).unwrap_err();
        assert!(error.contains("BEGIN CERTIFICATE"), "{error}");
    }

    #[test]
    fn public_roots_are_described() {
        assert_eq!(TlsTrust::public_roots().source(), "public web PKI roots");
    }
}
