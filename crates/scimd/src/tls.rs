//! TLS: PEM certificate and key files loaded into a rustls server configuration (ring
//! provider) advertising HTTP/2 and HTTP/1.1 by ALPN; the handshake itself runs in the
//! connection layer ([`crate::net`]) under `--tls-handshake-timeout-secs`.

use crate::config::TlsFiles;
use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// Installs the ring crypto provider as the process default (once; later calls are no-ops).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Loads the certificate chain and private key (PEM) into a rustls server configuration
/// advertising HTTP/2 and HTTP/1.1 (ALPN `h2`, `http/1.1`).
///
/// Errors: a file that cannot be read, no certificate or no key in the PEM, a key that
/// does not match the certificate.
pub async fn load(files: &TlsFiles) -> anyhow::Result<Arc<rustls::ServerConfig>> {
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
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        anyhow::bail!(
            "no PEM certificate (BEGIN CERTIFICATE) found in {}",
            files.cert.display()
        );
    }
    let Ok(key) = PrivateKeyDer::from_pem_slice(&key) else {
        anyhow::bail!(
            "no PEM private key (BEGIN PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY) found in {}",
            files.key.display()
        );
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot use the TLS certificate {} with the key {}: {e} (expected PEM files: the certificate chain, leaf first, and its private key)",
                files.cert.display(),
                files.key.display()
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
