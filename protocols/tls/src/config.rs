//! Server and client options in Node's terms (`cert`/`key`, `SNICallback`-style extra
//! certificates, `ALPNProtocols`, `requestCert`/`rejectUnauthorized`, `ca`,
//! `handshakeTimeout`), built into rustls configurations on the `ring` provider.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{
    ClientHello, NoServerSessionStorage, ResolvesServerCert, ServerSessionMemoryCache,
    WebPkiClientVerifier,
};
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore, ServerConfig,
    SignatureScheme,
};

use crate::{Error, Identity};

/// Node's default `handshakeTimeout`: 120 s (Node docs `tls.md` › `tls.createServer()`
/// (`handshakeTimeout`)).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(120);

/// Node's default `maxCachedSessions` of an `https.Agent`: 100 TLS sessions (Node docs `https.md`
/// › `new Agent([options])` (`maxCachedSessions`)).
pub const DEFAULT_MAX_CACHED_SESSIONS: usize = 100;

/// How many sessions a server remembers by default for stateful resumption (TLS 1.2 session
/// IDs, RFC 5246 §7.4.1.2): rustls's default of 256.
pub const DEFAULT_SERVER_SESSION_CACHE: usize = 256;

/// How many TLS 1.3 tickets rustls's client cache keeps per server name (rustls 0.23
/// `src/client/handy.rs`, `MAX_TLS13_TICKETS_PER_SERVER`): its size counts tickets, so a cache
/// for `n` server names is asked for `n` times this many.
const RUSTLS_TICKETS_PER_SERVER: usize = 8;

/// The crypto provider every configuration here uses: rustls's `ring` backend.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Whether a server asks for, and checks, client certificates (mutual TLS; Node docs `tls.md` ›
/// `tls.createServer()` (`requestCert`)).
#[derive(Debug, Clone, Default)]
pub enum ClientAuth {
    /// Node's default (`requestCert: false`): no certificate is asked for.
    #[default]
    None,
    /// `requestCert: true, rejectUnauthorized: false`, roughly: a certificate is asked for and
    /// verified against these CAs if sent, but a client without one is accepted. (Node also
    /// accepts an unverifiable one and marks it unauthorized; here a bad one is refused.)
    Optional(Vec<CertificateDer<'static>>),
    /// `requestCert: true, rejectUnauthorized: true`: a client must present a certificate that
    /// chains to one of these CAs, or the handshake fails ([`Error::CertificateRequired`],
    /// [`Error::UnknownIssuer`], ...).
    Required(Vec<CertificateDer<'static>>),
}

/// A TLS server's settings (Node `tls.createServer` options).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The default certificate and key (`cert`, `key`): served for an unknown or absent SNI.
    pub identity: Identity,
    /// Further certificates by SNI host name (Node `addContext(hostname, ...)`): exact names,
    /// or `*.example.com` for one leftmost label; compared without regard to ASCII case.
    pub sni: Vec<(String, Identity)>,
    /// `ALPNProtocols`, in preference order; empty: no ALPN. (Node's `https.Server` uses
    /// `http/1.1`.) A client offering ALPN with nothing in common gets the
    /// `no_application_protocol` alert (RFC 7301 §3.2).
    pub alpn: Vec<Vec<u8>>,
    /// Client certificates (`requestCert`, `rejectUnauthorized`, `ca`).
    pub client_auth: ClientAuth,
    /// `handshakeTimeout` (default 120 s; Node docs `tls.md` › `tls.createServer()`
    /// (`handshakeTimeout`)). Not part of the rustls configuration: give it to each connection with
    /// [`TlsConnection::set_handshake_timeout`](crate::TlsConnection::set_handshake_timeout).
    pub handshake_timeout: Duration,
    /// Issue session tickets (RFC 8446 §4.6.1 for TLS 1.3, RFC 5077 for TLS 1.2), so that a
    /// returning client resumes without a full handshake; on by default, as Node's server
    /// issues them (Node docs `tls.md` › `Session resumption` › `Session tickets`). `false` is
    /// Node's `secureOptions: SSL_OP_NO_TICKET`. The ticket keys are random per
    /// [`build`](Self::build) and rotate every 6 hours (rustls's `ring` `Ticketer`); tickets
    /// say they live 12 hours, where Node's say `sessionTimeout` (300 s).
    pub session_tickets: bool,
    /// How many sessions the server remembers itself for stateful resumption: TLS 1.2 session
    /// IDs (RFC 5246 §7.4.1.2), and TLS 1.3 resumption when `session_tickets` is off
    /// (default [`DEFAULT_SERVER_SESSION_CACHE`]; 0: none). Node keeps no such cache of its own
    /// and resumes session IDs only through its `'newSession'`/`'resumeSession'` events (Node
    /// docs `tls.md` › `Session resumption` › `Session identifiers`). With both this at 0 and
    /// `session_tickets` off, every handshake is a full one.
    pub session_cache: usize,
}

impl ServerOptions {
    /// A server with one certificate, no SNI extras, no ALPN, no client certificates, the
    /// 120 s handshake timeout, session tickets on and a session cache of
    /// [`DEFAULT_SERVER_SESSION_CACHE`].
    pub fn new(identity: Identity) -> Self {
        Self {
            identity,
            sni: Vec::new(),
            alpn: Vec::new(),
            client_auth: ClientAuth::None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            session_tickets: true,
            session_cache: DEFAULT_SERVER_SESSION_CACHE,
        }
    }

    /// Builds the rustls configuration: TLS 1.2 and 1.3, rustls's safe default suites, and
    /// session resumption as `session_tickets` and `session_cache` say. Connections resume
    /// sessions of earlier connections on the same configuration only: build once per server
    /// and share the result.
    ///
    /// Errors with [`Error::Config`] when a key does not match its certificate, a chain is
    /// empty, client authentication has no usable CA, or the ticket keys cannot be made.
    pub fn build(&self) -> Result<Arc<ServerConfig>, Error> {
        let provider = provider();
        let certified = |identity: &Identity| {
            if identity.chain.is_empty() {
                return Err(Error::Config("empty certificate chain".into()));
            }
            CertifiedKey::from_der(identity.chain.clone(), identity.key.clone_key(), &provider)
                .map(Arc::new)
                .map_err(|e| Error::Config(format!("certificate and key: {e}")))
        };
        let resolver = SniResolver {
            default: certified(&self.identity)?,
            by_name: self
                .sni
                .iter()
                .map(|(name, identity)| Ok((name.to_ascii_lowercase(), certified(identity)?)))
                .collect::<Result<_, Error>>()?,
        };
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(e.to_string()))?;
        let builder = match &self.client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::Optional(cas) => {
                builder.with_client_cert_verifier(client_verifier(cas, &provider, false)?)
            }
            ClientAuth::Required(cas) => {
                builder.with_client_cert_verifier(client_verifier(cas, &provider, true)?)
            }
        };
        let mut config = builder.with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols.clone_from(&self.alpn);
        if self.session_tickets {
            config.ticketer = rustls::crypto::ring::Ticketer::new()
                .map_err(|e| Error::Config(format!("session ticket keys: {e}")))?;
        }
        config.session_storage = if self.session_cache == 0 {
            Arc::new(NoServerSessionStorage {})
        } else {
            ServerSessionMemoryCache::new(self.session_cache)
        };
        Ok(Arc::new(config))
    }
}

/// A TLS client's settings (Node `tls.connect` options).
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `ca`: the trusted roots. With `None` and `mozilla_roots` off nothing is trusted (no
    /// system store is read), so every server certificate fails with [`Error::UnknownIssuer`]
    /// (or [`Error::SelfSigned`]) unless `insecure_skip_verify` is set; the driver passes the
    /// CA it was given.
    pub ca: Option<Vec<CertificateDer<'static>>>,
    /// Also trust Mozilla's root certificates (the `webpki-roots` crate), the list Node
    /// bundles as its default CA store. Off by default; [`ClientOptions::with_mozilla_roots`]
    /// turns it on.
    pub mozilla_roots: bool,
    /// The client certificate for mutual TLS (`cert`, `key`), if any.
    pub identity: Option<Identity>,
    /// `ALPNProtocols`, in preference order; empty: no ALPN.
    pub alpn: Vec<Vec<u8>>,
    /// **Danger**: Node's `rejectUnauthorized: false`. The server's certificate is not checked
    /// at all (any issuer, any name, any dates): anyone on the path can read and change the
    /// traffic. Handshake signatures are still checked. For tests and pinned setups only.
    pub insecure_skip_verify: bool,
    /// The handshake timeout (default 120 s), given to each connection with
    /// [`TlsConnection::set_handshake_timeout`](crate::TlsConnection::set_handshake_timeout).
    pub handshake_timeout: Duration,
    /// `maxCachedSessions` (default [`DEFAULT_MAX_CACHED_SESSIONS`], 100; 0 disables
    /// resumption; Node docs `https.md` › `new Agent([options])` (`maxCachedSessions`)): how
    /// many servers' sessions the built configuration remembers, so that a new connection to
    /// one of them resumes (TLS 1.3 tickets, TLS 1.2 tickets or session IDs) instead of doing
    /// a full handshake. The cache lives in the built configuration and is shared by every
    /// connection made with it.
    ///
    /// Where this differs from Node's `https.Agent`: Node keys a session by the whole agent
    /// name (host, port, servername, `ca`, `cert` and the other TLS options) and keeps the
    /// newest one; rustls keys by the server name alone (the SNI host name, or the IP), so two
    /// ports of one host share an entry (the server there simply declines a ticket it did not
    /// issue), and keeps up to 8 TLS 1.3 tickets per name. The oldest name is dropped first
    /// when the cache is full, as in Node. rustls offers each TLS 1.3 ticket once (RFC 8446
    /// §C.4, so that connections cannot be linked by their ticket), where Node offers its one
    /// cached session again and again: against our server, which sends new tickets on every
    /// connection, that makes no difference, but an OpenSSL server (Node's included) sends two
    /// tickets after a full handshake and none after a resumed one, so there two connections
    /// resume and the third does a full handshake again.
    pub max_cached_sessions: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            ca: None,
            mozilla_roots: false,
            identity: None,
            alpn: Vec::new(),
            insecure_skip_verify: false,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_cached_sessions: DEFAULT_MAX_CACHED_SESSIONS,
        }
    }
}

impl ClientOptions {
    /// The defaults, trusting Mozilla's root certificates as Node does when no `ca` is
    /// given.
    pub fn with_mozilla_roots() -> Self {
        Self {
            mozilla_roots: true,
            ..Self::default()
        }
    }

    /// Builds the rustls configuration: TLS 1.2 and 1.3, rustls's safe default suites, and a
    /// session cache of `max_cached_sessions` servers. Build once and share the result (as the
    /// driver's `https:` agent does) so that connections resume each other's sessions.
    ///
    /// Errors with [`Error::Config`] when a CA certificate cannot be parsed or the client
    /// identity's key does not match its certificate.
    pub fn build(&self) -> Result<Arc<ClientConfig>, Error> {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(e.to_string()))?;
        let builder = if self.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoServerVerification { provider }))
        } else {
            let mut roots = RootCertStore::empty();
            if self.mozilla_roots {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            for ca in self.ca.iter().flatten() {
                roots
                    .add(ca.clone())
                    .map_err(|e| Error::Config(format!("CA certificate: {e}")))?;
            }
            let webpki = if roots.is_empty() {
                None
            } else {
                let verifier =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| Error::Config(format!("server verifier: {e}")))?;
                Some(verifier)
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ServerVerifier { webpki, provider }))
        };
        let mut config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some(identity) => builder
                .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
                .map_err(|e| Error::Config(format!("client certificate and key: {e}")))?,
        };
        config.alpn_protocols.clone_from(&self.alpn);
        config.resumption = if self.max_cached_sessions == 0 {
            Resumption::disabled()
        } else {
            Resumption::in_memory_sessions(
                self.max_cached_sessions
                    .saturating_mul(RUSTLS_TICKETS_PER_SERVER),
            )
        };
        Ok(Arc::new(config))
    }
}

fn client_verifier(
    cas: &[CertificateDer<'static>],
    provider: &Arc<CryptoProvider>,
    required: bool,
) -> Result<Arc<dyn ClientCertVerifier>, Error> {
    let mut roots = RootCertStore::empty();
    for ca in cas {
        roots
            .add(ca.clone())
            .map_err(|e| Error::Config(format!("client CA certificate: {e}")))?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let builder = if required {
        builder
    } else {
        builder.allow_unauthenticated()
    };
    builder
        .build()
        .map_err(|e| Error::Config(format!("client verifier: {e}")))
}

/// Picks the certificate for the SNI name the client sent; the default one otherwise.
#[derive(Debug)]
struct SniResolver {
    default: Arc<CertifiedKey>,
    /// Lowercased names, exact or `*.`-prefixed.
    by_name: Vec<(String, Arc<CertifiedKey>)>,
}

impl SniResolver {
    fn lookup(&self, sni: Option<&str>) -> Arc<CertifiedKey> {
        let Some(sni) = sni else {
            return self.default.clone();
        };
        let sni = sni.to_ascii_lowercase();
        let exact = self.by_name.iter().find(|(name, _)| *name == sni);
        let wildcard = || {
            let (_, parent) = sni.split_once('.')?;
            self.by_name
                .iter()
                .find(|(name, _)| name.strip_prefix("*.") == Some(parent))
        };
        exact
            .or_else(wildcard)
            .map_or_else(|| self.default.clone(), |(_, key)| key.clone())
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.lookup(client_hello.server_name()))
    }
}

/// The client's certificate check: webpki against the configured roots, except that an
/// unknown issuer on a lone self-signed leaf is reported as such (Node's
/// `DEPTH_ZERO_SELF_SIGNED_CERT`; the alert sent is then `certificate_unknown`).
#[derive(Debug)]
struct ServerVerifier {
    /// `None` when no root is configured: every chain has an unknown issuer.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

/// The marker error of a self-signed leaf with an unknown issuer.
#[derive(Debug)]
pub(crate) struct SelfSignedLeaf;

impl std::fmt::Display for SelfSignedLeaf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("self-signed certificate")
    }
}

impl std::error::Error for SelfSignedLeaf {}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match &self.webpki {
            Some(webpki) => webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        };
        match verdict {
            Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
                if intermediates.is_empty() && is_self_issued(end_entity) =>
            {
                Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                    OtherError(Arc::new(SelfSignedLeaf)),
                )))
            }
            other => other,
        }
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
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Whether a certificate's issuer name equals its subject name (self-issued, as OpenSSL's
/// `X509_check_issued` tests for `DEPTH_ZERO_SELF_SIGNED_CERT`). Reads just enough DER:
/// `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
/// serialNumber, signature, issuer, validity, subject, ... }, ... }` (RFC 5280 §4.1).
/// Malformed input is simply not self-issued.
fn is_self_issued(der: &[u8]) -> bool {
    fn parse(der: &[u8]) -> Option<bool> {
        let (0x30, certificate, _) = tlv(der)? else {
            return None;
        };
        let (0x30, tbs, _) = tlv(certificate)? else {
            return None;
        };
        let (tag, _, mut rest) = tlv(tbs)?;
        if tag == 0xa0 {
            (_, _, rest) = tlv(rest)?; // serialNumber after the explicit version
        }
        let (_, _, rest) = tlv(rest)?; // signature AlgorithmIdentifier
        let (0x30, issuer, rest) = tlv(rest)? else {
            return None;
        };
        let (_, _, rest) = tlv(rest)?; // validity
        let (0x30, subject, _) = tlv(rest)? else {
            return None;
        };
        Some(issuer == subject)
    }
    parse(der).unwrap_or(false)
}

/// One DER tag-length-value: the tag byte, the contents, and what follows. Single-byte tags
/// and lengths of up to four bytes, which is all a certificate uses.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let len = bytes
            .iter()
            .fold(0usize, |len, &b| (len << 8) | usize::from(b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// `rejectUnauthorized: false`: accepts any server certificate, still checks the handshake
/// signatures against it.
#[derive(Debug)]
struct NoServerVerification {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for NoServerVerification {
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
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(names: &[&str]) -> Identity {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .self_signed(&key)
            .unwrap();
        Identity::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap()
    }

    /// SNI lookup: exact names without regard to case, `*.` for one label, the default for
    /// unknown or absent names.
    #[test]
    fn sni_lookup_exact_wildcard_default() {
        let provider = provider();
        let key = |i: &Identity| {
            Arc::new(CertifiedKey::from_der(i.chain.clone(), i.key.clone_key(), &provider).unwrap())
        };
        let (d, a, w) = (
            identity(&["d.test"]),
            identity(&["a.test"]),
            identity(&["w.test"]),
        );
        let resolver = SniResolver {
            default: key(&d),
            by_name: vec![("a.test".into(), key(&a)), ("*.w.test".into(), key(&w))],
        };
        let leaf = |sni| resolver.lookup(sni).cert[0].clone();
        assert_eq!(leaf(Some("a.test")), a.chain[0]);
        assert_eq!(leaf(Some("A.Test")), a.chain[0]);
        assert_eq!(leaf(Some("x.w.test")), w.chain[0]);
        assert_eq!(leaf(Some("y.x.w.test")), d.chain[0]);
        assert_eq!(leaf(Some("w.test")), d.chain[0]);
        assert_eq!(leaf(Some("b.test")), d.chain[0]);
        assert_eq!(leaf(None), d.chain[0]);
    }

    /// A self-signed certificate is self-issued; one signed by a CA is not; malformed DER is
    /// not, and no prefix of a certificate panics.
    #[test]
    fn self_issued_detection() {
        let own = identity(&["self.test"]);
        assert!(is_self_issued(&own.chain[0]));
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "issuer");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["leaf.test".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        assert!(!is_self_issued(leaf.der()));
        for end in 0..own.chain[0].len() {
            assert!(!is_self_issued(&own.chain[0][..end]), "prefix {end}");
        }
        assert!(!is_self_issued(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]));
    }
}
