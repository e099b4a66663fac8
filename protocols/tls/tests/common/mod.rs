//! Test kit for sansnet-tls: a test PKI made with rcgen, and an in-memory pair of
//! [`TlsConnection`]s that shuttles ciphertext (optionally split) until both are quiet.
#![allow(dead_code, reason = "each test file uses a different part of the kit")]

use std::io::IoSlice;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::CertificateDer;
use sansnet_http1::{
    ClientConnection, ClientEvent, ClientRequest, Response, ServerConnection, ServerEvent,
};
use sansnet_tls::{
    ClientAuth, ClientOptions, Identity, ServerOptions, TlsConnection, TlsEvent,
    rustls::{ClientConfig, RootCertStore, ServerConfig, version},
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
    /// The client offers TLS 1.2 only.
    pub(crate) tls12: bool,
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
        Self {
            ca,
            server,
            client,
            tls12: false,
        }
    }

    /// The client configuration: from the options, or TLS 1.2 only with the setup's CA.
    pub(crate) fn client_config(&self) -> Arc<ClientConfig> {
        if !self.tls12 {
            return self.client.build().unwrap();
        }
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.cert.clone()).unwrap();
        let config = ClientConfig::builder_with_provider(sansnet_tls::provider())
            .with_protocol_versions(&[&version::TLS12])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }

    /// Requires client certificates from the setup's CA.
    pub(crate) fn require_client_cert(mut self) -> Self {
        self.server.client_auth = ClientAuth::Required(vec![self.ca.cert.clone()]);
        self
    }

    pub(crate) fn pair(&self, host: &str) -> Pair {
        Pair::new(self.server.build().unwrap(), self.client_config(), host)
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
    /// Whether a delivery was ever held back because plaintext was full.
    pub(crate) held_back: bool,
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
            held_back: false,
        };
        pair.client.handle_timeout(now);
        pair.server.handle_timeout(now);
        pair
    }

    /// Moves ciphertext both ways until neither side has any to send, each delivery cut into
    /// `handle_input` calls as `split` says. Fails after 100 rounds.
    pub(crate) fn drive_with(&mut self, split: &Split) {
        for _ in 0..100 {
            // Ciphertext left over while plaintext was full goes in first, as a driver does
            // after the plaintext was read.
            if !self.to_server.is_empty() {
                self.server.handle_input(self.now, &mut self.to_server);
            }
            if !self.to_client.is_empty() {
                self.client.handle_input(self.now, &mut self.to_client);
            }
            let c = transmit(&mut self.client);
            let s = transmit(&mut self.server);
            if c.is_empty() && s.is_empty() {
                return;
            }
            self.held_back |= !self.to_server.is_empty() || !self.to_client.is_empty();
            if !c.is_empty() {
                deliver(&mut self.server, &mut self.to_server, &c, split, self.now);
                self.client_flights.push(c);
            }
            if !s.is_empty() {
                deliver(&mut self.client, &mut self.to_client, &s, split, self.now);
                self.server_flights.push(s);
            }
            self.held_back |= !self.to_server.is_empty() || !self.to_client.is_empty();
        }
        panic!("pair did not go quiet in 100 rounds");
    }

    /// [`Pair::drive_with`], every delivery cut in two at `at` (when shorter).
    pub(crate) fn drive_split(&mut self, at: usize) {
        self.drive_with(&Split::At(at));
    }

    /// [`Pair::drive_with`] without splits.
    pub(crate) fn drive(&mut self) {
        self.drive_with(&Split::Whole);
    }
}

/// How a delivery of ciphertext is cut into `handle_input` calls.
#[derive(Debug, Clone)]
pub(crate) enum Split {
    /// One call.
    Whole,
    /// Two calls, cut at this offset (one call when the delivery is shorter).
    At(usize),
    /// Pieces of these sizes in turn (cycling; zero sizes count as one).
    Sizes(Vec<usize>),
}

impl Split {
    /// `bytes` cut into pieces.
    pub(crate) fn pieces<'a>(&self, bytes: &'a [u8]) -> Vec<&'a [u8]> {
        match self {
            Self::Whole => vec![bytes],
            Self::At(at) => {
                let (a, b) = bytes.split_at((*at).min(bytes.len()));
                vec![a, b]
            }
            Self::Sizes(sizes) if sizes.is_empty() => vec![bytes],
            Self::Sizes(sizes) => {
                let mut out = Vec::new();
                let mut rest = bytes;
                for size in sizes.iter().cycle() {
                    if rest.is_empty() {
                        break;
                    }
                    let (a, b) = rest.split_at((*size).max(1).min(rest.len()));
                    out.push(a);
                    rest = b;
                }
                out
            }
        }
    }
}

/// Everything `conn` has to send, as one buffer.
pub(crate) fn transmit(conn: &mut TlsConnection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = conn.poll_transmit(Instant::now()) {
        assert!(!chunk.is_empty(), "poll_transmit gave an empty chunk");
        out.extend_from_slice(&chunk);
    }
    out
}

/// Appends `bytes` to `pending` in the pieces `split` makes, calling `handle_input` after
/// each; what the connection leaves stays in `pending`.
pub(crate) fn deliver(
    conn: &mut TlsConnection,
    pending: &mut BytesMut,
    bytes: &[u8],
    split: &Split,
    now: Instant,
) {
    for piece in split.pieces(bytes) {
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

/// What both sides of an HTTPS exchange saw: TLS events and HTTP events.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Transcript {
    pub(crate) client_tls: Vec<TlsEvent>,
    pub(crate) server_tls: Vec<TlsEvent>,
    pub(crate) server_http: Vec<ServerEvent>,
    pub(crate) client_http: Vec<ClientEvent>,
    /// Ciphertext the client sent (its flights, concatenated), for fuzz seeds.
    pub(crate) client_wire: Vec<u8>,
    /// Whether ciphertext was ever held back because plaintext was full.
    pub(crate) held_back: bool,
}

/// The body the test server answers every request with.
pub(crate) const RESPONSE_BODY: &[u8] = b"hello over tls";

/// One HTTPS exchange through the stack: an HTTP client machine over a TLS client, an HTTP
/// server machine over a TLS server; the client POSTs, the server answers when the body has
/// ended, then the client sends `close_notify`, and the server's HTTP machine sees the end.
/// Every ciphertext delivery is cut as `split` says.
pub(crate) fn https_exchange(setup: &Setup, split: &Split) -> Transcript {
    https_exchange_with(setup, split, Bytes::from_static(RESPONSE_BODY))
}

/// [`https_exchange`] with the server answering `body`.
pub(crate) fn https_exchange_with(setup: &Setup, split: &Split, body: Bytes) -> Transcript {
    let mut pair = setup.pair("example.test");
    let now = pair.now;
    let mut http_c = ClientConnection::new(now, sansnet_http1::ClientConfig::default());
    let mut http_s = ServerConnection::new(
        now,
        sansnet_http1::ServerConfig {
            send_date: false,
            ..Default::default()
        },
    );
    let request = ClientRequest::new("POST", "/echo").header("Host", "example.test");
    let id = http_c.send_request(now, request).unwrap();
    http_c
        .end(now, id, Some(Bytes::from_static(b"ping over tls")))
        .unwrap();
    let mut t = Transcript::default();
    let (mut s_buf, mut c_buf) = (BytesMut::new(), BytesMut::new());
    let mut closing = false;
    for _ in 0..200 {
        let mut moved = false;
        while let Some(chunk) = http_c.pop_transmit(now) {
            assert_eq!(pair.client.write(Instant::now(), &chunk), chunk.len());
            moved = true;
        }
        // Two flights of response before the client reads: enough to fill its plaintext.
        moved |= write_response(&mut http_s, &mut pair.server, now);
        pair.drive_with(split);
        moved |= write_response(&mut http_s, &mut pair.server, now);
        moved |= pair.client.wants_write() || pair.server.wants_write();
        moved |= !pair.to_client.is_empty() || !pair.to_server.is_empty();
        pair.drive_with(split);
        t.client_tls.extend(events(&mut pair.client));
        let server_tls = events(&mut pair.server);
        let server_ended = server_tls.contains(&TlsEvent::End);
        t.server_tls.extend(server_tls);
        let s_plain = plaintext(&mut pair.server);
        if !s_plain.is_empty() {
            moved = true;
            s_buf.extend_from_slice(&s_plain);
            http_s.handle_input(now, &mut s_buf);
        }
        if server_ended {
            moved = true;
            http_s.handle_eof(now);
        }
        while let Some(event) = http_s.poll_event() {
            if let ServerEvent::End { id, .. } = &event {
                http_s
                    .respond(now, *id, Response::new(200), body.clone())
                    .unwrap();
            }
            t.server_http.push(event);
        }
        let c_plain = plaintext(&mut pair.client);
        if !c_plain.is_empty() {
            moved = true;
            c_buf.extend_from_slice(&c_plain);
            http_c.handle_input(now, &mut c_buf);
        }
        t.client_http
            .extend(std::iter::from_fn(|| http_c.poll_event()));
        if !moved {
            if closing {
                t.client_wire = pair.client_flights.concat();
                t.held_back = pair.held_back;
                return t;
            }
            pair.client.close(Instant::now());
            closing = true;
        }
    }
    panic!("HTTPS exchange did not finish in 200 rounds");
}

/// Moves the HTTP server's response bytes into TLS as far as TLS takes them (partial writes
/// advance the HTTP machine by what was taken); true when anything moved.
fn write_response(http: &mut ServerConnection, tls: &mut TlsConnection, now: Instant) -> bool {
    let mut moved = false;
    loop {
        let (taken, full) = {
            let mut slices = [IoSlice::new(&[]); 8];
            let n = http.transmit_chunks(&mut slices);
            let mut taken = 0;
            let mut full = false;
            for slice in &slices[..n] {
                let written = tls.write(Instant::now(), slice);
                taken += written;
                if written < slice.len() {
                    full = true;
                    break;
                }
            }
            (taken, full || n == 0)
        };
        if taken > 0 {
            http.advance_transmit(now, taken);
            moved = true;
        }
        if full || taken == 0 {
            return moved;
        }
    }
}
