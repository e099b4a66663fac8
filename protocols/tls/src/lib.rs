//! TLS as Node's `tls` module does it (`tls.createServer`, `tls.connect`), built on rustls and
//! shaped like every other sansnet machine so that it stacks: ciphertext from the transport
//! goes in, plaintext comes out for the inner machine (HTTP, WebSocket, or a raw `net`
//! socket), and the inner machine's bytes go back out encrypted.
//!
//! The crate opens no socket and reads no clock: time comes in as `now`. (rustls itself reads
//! the system clock to check certificate dates, and the OS random source for key exchange.)
//!
//! ```text
//!  transport ──ciphertext──▶ handle_input ─┐          ┌─▶ read_plaintext ──▶ inner machine
//!                                          TlsConnection
//!  transport ◀──ciphertext── poll_transmit ┘          └── write ◀────────── inner machine
//! ```
//!
//! # Crypto provider: `ring`
//!
//! rustls needs a crypto provider. This crate uses rustls's `ring` provider, because `ring`
//! builds with the C compiler alone, which every machine and CI run here has; `aws-lc-rs`
//! (rustls's default) needs cmake and clang (or a prebuilt NASM) to build its C library. Both
//! offer the same suites: TLS 1.3 and 1.2 with AES-GCM and ChaCha20-Poly1305, X25519 and the
//! NIST curves. The configurations built by [`ServerOptions`] and [`ClientOptions`] use it;
//! callers may also build their own rustls configurations with any provider.
//!
//! # The contract
//!
//! The contract is the one of every sansnet machine, written down once in `sansnet-core`'s
//! crate docs: [`TlsConnection`] implements `sansnet_core::Machine`, and its actions are
//! `sansnet_core::Action`. In this crate:
//!
//! [`TlsConnection`] sorts its methods into getters, inputs ([`TlsConnection::handle_input`],
//! [`TlsConnection::handle_eof`], [`TlsConnection::handle_timeout`]; `now` first, never
//! fail), commands ([`TlsConnection::write`], [`TlsConnection::close`]) and outputs
//! ([`TlsConnection::poll_transmit`], [`TlsConnection::poll_event`],
//! [`TlsConnection::read_plaintext`], [`TlsConnection::poll_timeout`]). A driver loop:
//!
//! 1. when the transport is accepted or connected, `handle_timeout(now)` starts the
//!    handshake clock;
//! 2. bytes read from the transport go to `handle_input(now, &mut buf)`; a FIN to
//!    `handle_eof(now)`; the timer at `poll_timeout()` to `handle_timeout(now)`;
//! 3. after each: write out every `poll_transmit(now)`; hand each `poll_event()` on; feed every
//!    `read_plaintext()` chunk to the inner machine's `handle_input`; pass the inner
//!    machine's transmit chunks to `write` (advancing the inner machine by what it took);
//!    re-arm the timer from `poll_timeout()`;
//! 4. after [`TlsEvent::Error`], flush `poll_transmit` (an alert) and close the transport.
//!
//! Events and plaintext do not depend on how the ciphertext was split.
//!
//! # Example
//!
//! A client and a server in memory, with a certificate made on the spot:
//!
//! ```
//! use std::time::Instant;
//!
//! use bytes::BytesMut;
//! use sansnet_tls::{ClientOptions, Identity, Protocol, ServerOptions, TlsConnection, TlsEvent};
//!
//! let key = rcgen::KeyPair::generate().unwrap();
//! let cert = rcgen::CertificateParams::new(vec!["example.test".into()])
//!     .unwrap()
//!     .self_signed(&key)
//!     .unwrap();
//! let identity = Identity::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap();
//! let server_config = ServerOptions::new(identity).build().unwrap();
//! let client_options = ClientOptions { ca: Some(vec![cert.der().clone()]), ..Default::default() };
//!
//! let now = Instant::now();
//! let mut client = TlsConnection::client(client_options.build().unwrap(), "example.test").unwrap();
//! let mut server = TlsConnection::server(server_config).unwrap();
//! assert_eq!(client.write(Instant::now(), b"hello"), 5); // held until the handshake is done
//!
//! // Move ciphertext one way: all `from` has to send, into `to`.
//! fn pipe(from: &mut TlsConnection, to: &mut TlsConnection, now: Instant) {
//!     let mut wire = BytesMut::new();
//!     while let Some(chunk) = from.poll_transmit(Instant::now()) {
//!         wire.extend_from_slice(&chunk);
//!     }
//!     to.handle_input(now, &mut wire);
//! }
//! while client.wants_write() || server.wants_write() {
//!     pipe(&mut client, &mut server, now);
//!     pipe(&mut server, &mut client, now);
//! }
//! let Some(TlsEvent::SecureConnect(info)) = client.poll_event() else { panic!() };
//! assert_eq!(info.protocol, Protocol::Tls13);
//! assert!(matches!(server.poll_event(), Some(TlsEvent::SecureConnect(_))));
//! assert_eq!(server.info().unwrap().server_name.as_deref(), Some("example.test"));
//! assert_eq!(server.read_plaintext().as_deref(), Some(&b"hello"[..]));
//! ```
//!
//! # Node mapping
//!
//! | Node | here | default |
//! |---|---|---|
//! | `'secureConnect'` / `'secureConnection'` | [`TlsEvent::SecureConnect`] | |
//! | `'end'` after `close_notify` | [`TlsEvent::End`] | |
//! | `'error'` / `'tlsClientError'` | [`TlsEvent::Error`] | |
//! | `getProtocol()`, `getCipher()`, `alpnProtocol`, `servername`, `getPeerCertificate()` | [`HandshakeInfo`] | |
//! | `isSessionReused()` | [`HandshakeInfo::session_reused`] | |
//! | `https.Agent` `maxCachedSessions` (the client's session cache) | [`ClientOptions::max_cached_sessions`], kept in the built configuration | 100 |
//! | session tickets (`secureOptions: SSL_OP_NO_TICKET` turns them off) | [`ServerOptions::session_tickets`] | on |
//! | `'newSession'` / `'resumeSession'` (session IDs) | [`ServerOptions::session_cache`], built in | 256 sessions |
//! | `cert`, `key`, `ca` (PEM) | [`Identity::from_pem`], [`certificates_from_pem`] | |
//! | `SNICallback` / `addContext` | [`ServerOptions::sni`] | |
//! | `ALPNProtocols` | [`ServerOptions::alpn`], [`ClientOptions::alpn`] | none |
//! | `requestCert`, `rejectUnauthorized` (server) | [`ClientAuth`] | no client certificates |
//! | `rejectUnauthorized: false` (client) | [`ClientOptions::insecure_skip_verify`] | false |
//! | `servername` (SNI) | the `host` of [`TlsConnection::client`] | none for an IP |
//! | `handshakeTimeout` | [`TlsConnection::set_handshake_timeout`] | 120 s |
//! | `socket.end()` | [`TlsConnection::close`] (`close_notify`) | |
//!
//! # Session resumption
//!
//! As in Node (Node docs `tls.md` › `Session resumption`), a server issues session tickets and a
//! client remembers the sessions of up to 100 servers, so the second connection between them
//! resumes (one round trip less on TLS 1.2, no certificate exchange or signature on either)
//! and both sides report [`HandshakeInfo::session_reused`]. Both caches (and the ticket keys)
//! live in the built rustls configurations: build each once and share it, as the driver does.
//! The client's cache is keyed by server name, where Node's agent keys by its whole agent name
//! (see [`ClientOptions::max_cached_sessions`]).
//!
//! # Features
//!
//! None: the crate has no cargo features. It builds rustls with its `ring` provider (see
//! above), `std` and TLS 1.2, and depends on `webpki-roots` for
//! [`ClientOptions::with_mozilla_roots`].
//!
//! # Errors
//!
//! One type, [`Error`], with [`Error::code`] giving Node's `err.code`. Peer faults and
//! certificate verdicts arrive as [`TlsEvent::Error`], once, with the alert already queued;
//! configuration faults are `Err` from the builders and constructors.
//!
//! # Limits
//!
//! At most [`READ_LIMIT`] (64 KiB, plus a read's worth) of plaintext waits to be read before
//! `handle_input` leaves ciphertext unconsumed; at most [`WRITE_LIMIT`] (64 KiB, plus one
//! write's records) of ciphertext waits for the transport, and rustls holds at most 64 KiB of
//! plaintext before the handshake finishes; beyond them `write` takes less.
//!
//! # Panics
//!
//! Never, on any input; a panic is a bug.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod config;
mod connection;
mod error;
mod event;
mod pem;

pub use config::{
    ClientAuth, ClientOptions, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_CACHED_SESSIONS,
    DEFAULT_SERVER_SESSION_CACHE, ServerOptions, provider,
};
pub use connection::{READ_LIMIT, TlsConnection, WRITE_LIMIT};
pub use error::Error;
pub use event::{HandshakeInfo, Protocol, TlsEvent};
pub use pem::{Identity, certificates_from_pem};
pub use rustls;
