//! TLS: PEM certificate and key files loaded into a rustls server configuration (ring
//! provider), served through `axum-server`.

use crate::config::TlsFiles;
use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Installs the ring crypto provider as the process default (once; later calls are no-ops).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Loads the certificate chain and private key (PEM) into a rustls configuration
/// advertising HTTP/2 and HTTP/1.1.
///
/// Errors: a file that cannot be read, no certificate or no key in the PEM, a key that
/// does not match the certificate.
pub async fn load(files: &TlsFiles) -> anyhow::Result<RustlsConfig> {
    install_crypto_provider();
    let cert = tokio::fs::read(&files.cert).await.with_context(|| {
        format!(
            "cannot read the TLS certificate file {}",
            files.cert.display()
        )
    })?;
    let key = tokio::fs::read(&files.key)
        .await
        .with_context(|| format!("cannot read the TLS key file {}", files.key.display()))?;
    let certs = CertificateDer::pem_slice_iter(&cert)
        .filter(|c| c.is_ok())
        .count();
    if certs == 0 {
        anyhow::bail!(
            "no PEM certificate (BEGIN CERTIFICATE) found in {}",
            files.cert.display()
        );
    }
    if PrivateKeyDer::from_pem_slice(&key).is_err() {
        anyhow::bail!(
            "no PEM private key (BEGIN PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY) found in {}",
            files.key.display()
        );
    }
    RustlsConfig::from_pem(cert, key).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot use the TLS certificate {} with the key {}: {e} (expected PEM files: the certificate chain, leaf first, and its private key)",
            files.cert.display(),
            files.key.display()
        )
    })
}
