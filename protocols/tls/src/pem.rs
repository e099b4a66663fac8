//! Certificates and keys from PEM text or files (Node's `cert`, `key` and `ca` options).

use std::fmt;
use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// A certificate chain and its private key: what a server presents (Node `cert` + `key`), or
/// a client presents for mutual TLS.
///
/// `Debug` shows the chain's length, never the key.
pub struct Identity {
    /// The chain, leaf first, then intermediates (the root need not be sent).
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub key: PrivateKeyDer<'static>,
}

impl Identity {
    /// Reads a chain (one or more `CERTIFICATE` blocks, leaf first) and a private key (the
    /// first `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block) from PEM text.
    ///
    /// Errors with [`Error::Config`] when either has no usable block. Whether the key belongs
    /// to the leaf is checked when a configuration is built.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, Error> {
        let chain = certificates_from_pem(cert_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| Error::Config(format!("private key PEM: {e}")))?;
        Ok(Self { chain, key })
    }

    /// [`Identity::from_pem`] on the contents of two files.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, Error> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
        };
        Self::from_pem(&read(cert)?, &read(key)?)
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("chain_len", &self.chain.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Reads every `CERTIFICATE` block of a PEM bundle (Node's `ca` option), skipping other
/// blocks. Errors with [`Error::Config`] on malformed PEM or when there is none.
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Config(format!("certificate PEM: {e}")))?;
    if chain.is_empty() {
        return Err(Error::Config("no CERTIFICATE block in PEM".into()));
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PEM without a certificate, or without a key, is a configuration error; Debug hides the
    /// key.
    #[test]
    fn pem_without_blocks_is_config_error() {
        assert!(matches!(certificates_from_pem(b""), Err(Error::Config(_))));
        assert!(matches!(
            certificates_from_pem(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"),
            Err(Error::Config(_))
        ));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["a.test".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert!(matches!(
            Identity::from_pem(cert.pem().as_bytes(), b"no key here"),
            Err(Error::Config(_))
        ));
        let identity =
            Identity::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap();
        assert_eq!(identity.chain.len(), 1);
        let shown = format!("{identity:?}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(!shown.contains(&format!("{:?}", key.serialize_der())));
    }

    /// A CA bundle yields every certificate in order, skipping other blocks; files on disk
    /// read the same as text.
    #[test]
    fn bundle_and_files_read_every_certificate() {
        let make = |name: &str| {
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
                .unwrap()
                .self_signed(&key)
                .unwrap();
            (cert, key)
        };
        let (a, a_key) = make("a.test");
        let (b, _) = make("b.test");
        let bundle = format!("{}{}{}", a.pem(), a_key.serialize_pem(), b.pem());
        let certs = certificates_from_pem(bundle.as_bytes()).unwrap();
        assert_eq!(certs, vec![a.der().clone(), b.der().clone()]);

        let dir = std::env::temp_dir().join(format!("sansnet-tls-pem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, format!("{}{}", a.pem(), b.pem())).unwrap();
        std::fs::write(&key_path, a_key.serialize_pem()).unwrap();
        let identity = Identity::from_pem_files(&cert_path, &key_path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(identity.chain, certs);
        assert_eq!(identity.key.secret_der(), a_key.serialize_der());
    }

    /// Files that do not exist are a configuration error naming the path.
    #[test]
    fn missing_files_are_config_errors() {
        let err = Identity::from_pem_files(Path::new("/nonexistent/c.pem"), Path::new("k.pem"))
            .unwrap_err();
        assert!(matches!(&err, Error::Config(why) if why.contains("/nonexistent/c.pem")));
    }
}
