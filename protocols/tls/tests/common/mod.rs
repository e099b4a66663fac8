//! Test kit for sansnet-tls: a test PKI made with rcgen, and an in-memory pair of
//! [`TlsConnection`]s that shuttles ciphertext (optionally split) until both are quiet.
#![allow(dead_code, reason = "each test file uses a different part of the kit")]

use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::CertificateDer;
use sansnet_tls::{
    ClientAuth, ClientOptions, Identity, ServerOptions, TlsConnection, TlsEvent,
    rustls::{ClientConfig, ServerConfig},
};

/// A certificate authority that issues leaf certificates.
pub(crate) struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// The CA's self-signed certificate (what a peer trusts).
    pub(crate) cert: CertificateDer<'static>,
}

impl Ca {
    /// A fresh root CA named `name`.
    pub(crate) fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            cert: cert.der().clone(),
        }
    }

    /// A leaf for `names` (DNS names or IP literals), valid now, for servers and clients.
    pub(crate) fn leaf(&self, names: &[&str]) -> Identity {
        self.leaf_with(names, |_| {})
    }

    /// A leaf whose parameters `edit` may change (dates, usages), read back through PEM.
    pub(crate) fn leaf_with(
        &self,
        names: &[&str],
        edit: impl FnOnce(&mut CertificateParams),
    ) -> Identity {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("client"),
        );
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        edit(&mut params);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Identity::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap()
    }
}

/// Server and client configurations that trust one CA, for `host`.
pub(crate) struct Setup {
    pub(crate) ca: Ca,
    pub(crate) server: ServerOptions,
    pub(crate) client: ClientOptions,
}

impl Setup {
    /// A server certified for `names` by a fresh CA, and a client trusting that CA.
    pub(crate) fn new(names: &[&str]) -> Self {
        let ca = Ca::new("sansnet test CA");
        let server = ServerOptions::new(ca.leaf(names));
        let client = ClientOptions {
            ca: Some(vec![ca.cert.clone()]),
            ..Default::default()
        };
        Self { ca, server, client }
    }

    /// Requires client certificates from the setup's CA.
    pub(crate) fn require_client_cert(mut self) -> Self {
        self.server.client_auth = ClientAuth::Required(vec![self.ca.cert.clone()]);
        self
    }

    pub(crate) fn pair(&self, host: &str) -> Pair {
        Pair::new(
            self.server.build().unwrap(),
            self.client.build().unwrap(),
            host,
        )
    }
}

/// A client and a server session wired together in memory.
pub(crate) struct Pair {
    pub(crate) client: TlsConnection,
    pub(crate) server: TlsConnection,
    pub(crate) now: Instant,
    /// Ciphertext on its way to the server / client, not yet consumed.
    pub(crate) to_server: BytesMut,
    pub(crate) to_client: BytesMut,
    /// Every flight delivered so far, per direction (to seed the fuzzer, to check splits).
    pub(crate) client_flights: Vec<Vec<u8>>,
    pub(crate) server_flights: Vec<Vec<u8>>,
}

impl Pair {
    pub(crate) fn new(server: Arc<ServerConfig>, client: Arc<ClientConfig>, host: &str) -> Self {
        let now = Instant::now();
        let mut pair = Self {
            client: TlsConnection::client(client, host).unwrap(),
            server: TlsConnection::server(server).unwrap(),
            now,
            to_server: BytesMut::new(),
            to_client: BytesMut::new(),
            client_flights: Vec::new(),
            server_flights: Vec::new(),
        };
        pair.client.handle_timeout(now);
        pair.server.handle_timeout(now);
        pair
    }

    /// Moves ciphertext both ways until neither side has any to send; every delivery is cut
    /// at `split` (when shorter) into two `handle_input` calls. Fails after 100 rounds.
    pub(crate) fn drive_split(&mut self, split: usize) {
        for _ in 0..100 {
            let c = transmit(&mut self.client);
            let s = transmit(&mut self.server);
            if c.is_empty() && s.is_empty() {
                return;
            }
            if !c.is_empty() {
                self.client_flights.push(c.clone());
                deliver(&mut self.server, &mut self.to_server, &c, split, self.now);
            }
            if !s.is_empty() {
                self.server_flights.push(s.clone());
                deliver(&mut self.client, &mut self.to_client, &s, split, self.now);
            }
        }
        panic!("pair did not go quiet in 100 rounds");
    }

    /// [`Pair::drive_split`] without splits.
    pub(crate) fn drive(&mut self) {
        self.drive_split(usize::MAX);
    }
}

/// Everything `conn` has to send, as one buffer.
pub(crate) fn transmit(conn: &mut TlsConnection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = conn.poll_transmit() {
        assert!(!chunk.is_empty(), "poll_transmit gave an empty chunk");
        out.extend_from_slice(&chunk);
    }
    out
}

/// Appends `bytes` to `pending` in two pieces cut at `split`, calling `handle_input` after
/// each; what the connection leaves stays in `pending`.
pub(crate) fn deliver(
    conn: &mut TlsConnection,
    pending: &mut BytesMut,
    bytes: &[u8],
    split: usize,
    now: Instant,
) {
    let cut = split.min(bytes.len());
    for piece in [&bytes[..cut], &bytes[cut..]] {
        pending.extend_from_slice(piece);
        conn.handle_input(now, pending);
    }
}

/// Every pending event.
pub(crate) fn events(conn: &mut TlsConnection) -> Vec<TlsEvent> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// Every pending plaintext byte.
pub(crate) fn plaintext(conn: &mut TlsConnection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = conn.read_plaintext() {
        out.extend_from_slice(&chunk);
    }
    out
}

/// The only error among `events`, if any (and checks there is at most one).
pub(crate) fn error_of(events: &[TlsEvent]) -> Option<sansnet_tls::Error> {
    let errors: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            TlsEvent::Error(error) => Some(error.clone()),
            _ => None,
        })
        .collect();
    assert!(errors.len() <= 1, "more than one error: {errors:?}");
    errors.into_iter().next()
}

/// Whether `events` hold a `SecureConnect`.
pub(crate) fn connected(events: &[TlsEvent]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, TlsEvent::SecureConnect(_)))
}
