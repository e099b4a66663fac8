//! The demo's TLS certificate: the files given with `--cert`/`--key`, or, without them, a CA
//! and a `localhost` certificate made at start (rcgen), with the CA certificate written to a
//! PEM file for clients to trust (`curl --cacert`, Node's `ca`, Python's `cafile`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use sansnet_tls::rustls::ServerConfig;
use sansnet_tls::{ClientAuth, Identity, ServerOptions};

/// The HTTPS server's TLS settings, and the CA file written when the demo made its own.
pub(crate) struct Certificate {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) ca_file: Option<PathBuf>,
}

/// Loads `cert`/`key`, or makes a CA and a localhost certificate and writes the CA to
/// `ca_file`. The server offers ALPN `http/1.1`, as Node's HTTPS server does. With
/// `client_ca` it requires a client certificate signed by one of those CAs (Node's
/// `requestCert: true` with `rejectUnauthorized: true`).
pub(crate) fn certificate(
    files: Option<(&Path, &Path)>,
    ca_file: &Path,
    client_ca: Option<&Path>,
) -> Result<Certificate, String> {
    let (identity, written) = match files {
        Some((cert, key)) => (
            Identity::from_pem_files(cert, key).map_err(|e| format!("--cert/--key: {e}"))?,
            None,
        ),
        None => {
            let (identity, ca_pem) =
                generate().map_err(|e| format!("making a certificate: {e}"))?;
            std::fs::write(ca_file, ca_pem)
                .map_err(|e| format!("writing {}: {e}", ca_file.display()))?;
            (identity, Some(ca_file.to_path_buf()))
        }
    };
    let mut options = ServerOptions::new(identity);
    options.alpn = vec![b"http/1.1".to_vec()];
    if let Some(path) = client_ca {
        let pem =
            std::fs::read(path).map_err(|e| format!("--client-ca {}: {e}", path.display()))?;
        let roots = sansnet_tls::certificates_from_pem(&pem)
            .map_err(|e| format!("--client-ca {}: {e}", path.display()))?;
        options.client_auth = ClientAuth::Required(roots);
    }
    let config = options.build().map_err(|e| format!("TLS settings: {e}"))?;
    Ok(Certificate {
        config,
        ca_file: written,
    })
}

/// A CA and a certificate it signed for `localhost`, `127.0.0.1` and `::1`; returns that
/// certificate (with the CA after it in the chain) and its key, and the CA certificate's PEM.
fn generate() -> Result<(Identity, String), Box<dyn std::error::Error>> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "sansnet demo CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf.signed_by(&key, &issuer)?;

    let chain = format!("{}{}", cert.pem(), ca_cert.pem());
    let identity = Identity::from_pem(chain.as_bytes(), key.serialize_pem().as_bytes())?;
    Ok((identity, ca_cert.pem()))
}
