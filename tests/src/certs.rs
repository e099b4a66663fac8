//! Certificates made in the test (rcgen): a CA, server and client certificates it signs, and
//! their PEM files for real peers (`curl --cacert`, `openssl s_client -cert`, Node's `ca`).

#![allow(
    clippy::panic,
    clippy::expect_used,
    reason = "test fixtures: a certificate that cannot be made fails the test"
)]

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A certificate authority that signs certificates for tests.
#[derive(Debug)]
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM.
    pub cert_pem: String,
}

/// A certificate with its private key, PEM.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The certificate followed by its CA's certificate.
    pub chain_pem: String,
    /// The private key (PKCS#8).
    pub key_pem: String,
}

/// What a leaf certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A TLS server (`serverAuth`).
    Server,
    /// A TLS client (`clientAuth`), for mutual TLS.
    Client,
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Self {
        Self::with_key(name, KeyPair::generate().expect("generate a CA key"), None)
    }

    /// A CA with an Ed25519 key and a fixed serial number: the certificates it makes with
    /// [`TestCa::leaf_ed25519`] have the same length on every run (an ECDSA signature's DER
    /// length varies, and so does a random serial's), as the deterministic simulator needs.
    pub fn ed25519(name: &str) -> Self {
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("generate an Ed25519 key");
        Self::with_key(name, key, Some(1))
    }

    fn with_key(name: &str, key: KeyPair, serial: Option<u64>) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.serial_number = serial.map(rcgen::SerialNumber::from);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("self-sign the CA");
        Self {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `names` (DNS names or IP literals), signed by this CA.
    pub fn leaf(&self, names: &[&str], usage: Usage) -> Leaf {
        self.leaf_with(
            names,
            usage,
            KeyPair::generate().expect("generate a key"),
            None,
        )
    }

    /// [`TestCa::leaf`] with an Ed25519 key, whose signatures (RFC 8032) are deterministic
    /// and always 64 bytes, and a fixed serial number: from a CA made with
    /// [`TestCa::ed25519`], a handshake's bytes have the same lengths on every run.
    pub fn leaf_ed25519(&self, names: &[&str], usage: Usage) -> Leaf {
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("generate an Ed25519 key");
        self.leaf_with(names, usage, key, Some(2))
    }

    fn leaf_with(&self, names: &[&str], usage: Usage, key: KeyPair, serial: Option<u64>) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| (*n).to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("leaf params");
        params.serial_number = serial.map(rcgen::SerialNumber::from);
        let common_name = names.first().map_or("sansnet test client", String::as_str);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![match usage {
            Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        let cert = params.signed_by(&key, &self.issuer).expect("sign the leaf");
        Leaf {
            chain_pem: format!("{}{}", cert.pem(), self.cert_pem),
            key_pem: key.serialize_pem(),
        }
    }
}

/// Files holding PEM text, in a fresh folder removed on drop.
#[derive(Debug)]
pub struct PemDir {
    dir: PathBuf,
}

impl PemDir {
    /// A fresh folder under the temp dir, named after `name` and this process.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sansnet-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Self { dir }
    }

    /// Writes `pem` to `file` in the folder and returns its path.
    pub fn write(&self, file: &str, pem: &str) -> PathBuf {
        let path = self.dir.join(file);
        std::fs::write(&path, pem)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PemDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
