//! permessage-deflate (RFC 7692) negotiation: the settings ([`DeflateConfig`]), the offer a
//! client makes, the server's choice among the client's offers, the client's check of the
//! answer, and the agreed parameters ([`Agreed`]) a [`Connection`](crate::Connection) runs
//! with.
//!
//! `Sec-WebSocket-Extensions` is parsed with the grammar of RFC 6455 §9.1 (`token` names,
//! `token` or quoted `token` values). Every function here is total: malformed text is a
//! declined offer (server) or a failed handshake (client), never a panic.
//!
//! # Example
//!
//! ```
//! use std::time::Instant;
//!
//! use bytes::BytesMut;
//! use sansnet_ws::deflate::{accept_answer, negotiate, offer};
//! use sansnet_ws::{Config, Connection, DeflateConfig, Message, Role, WsEvent};
//!
//! let settings = DeflateConfig::default();
//! // The client's offer, the server's choice and answer, the client's check of the answer.
//! let offered = offer(&settings).unwrap();
//! assert_eq!(offered, "permessage-deflate; client_max_window_bits");
//! let (server_side, answer) = negotiate(&settings, [offered.as_bytes()]).unwrap();
//! assert_eq!(answer, "permessage-deflate");
//! let client_side = accept_answer(&settings, [answer.as_bytes()]).unwrap();
//!
//! let now = Instant::now();
//! let mut server = Connection::new(Role::Server, Config::default(), Box::new(|_: &mut [u8]| {}))
//!     .with_deflate(Some(server_side));
//! let mut client = Connection::new(Role::Client, Config::default(), Box::new(|b: &mut [u8]| {
//!     b.fill(7)
//! }))
//! .with_deflate(client_side);
//!
//! let text = "to be or not to be, ".repeat(100); // 2000 bytes, over the 1024-byte threshold
//! server.send(now, Message::text(text.clone())).unwrap();
//! let mut wire = BytesMut::new();
//! while let Some(chunk) = server.pop_transmit(now) {
//!     wire.extend_from_slice(&chunk);
//! }
//! assert_eq!(wire[0], 0xC1); // FIN, RSV1 (compressed), text
//! assert!(wire.len() < 100);
//! client.handle_input(now, &mut wire);
//! assert_eq!(client.poll_event(), Some(WsEvent::Message(Message::text(text))));
//! ```
//!
//! # Window bits
//!
//! Windows of 9 to 15 bits are honoured as agreed. zlib (and so zlib-rs) cannot deflate a raw
//! stream with an 8-bit (256-byte) window: it rejects raw `windowBits` 8, and Node's `zlib`
//! raises it to 9. The `ws` package agrees to `server_max_window_bits=8` (answering
//! `permessage-deflate; server_max_window_bits=8`, checked against `ws` 8.23.0) and then
//! deflates with 9 bits. That is still RFC-correct, because zlib never looks further back
//! than `w_size - MIN_LOOKAHEAD` (512 - 262 = 250 bytes with 9 bits), so every match fits a
//! 256-byte window; a peer inflating with a true 8-bit window (Python's `zlib` with `wbits=-8`)
//! decodes it. We do the same: an agreed 8 is accepted and compressed with 9 bits. Inflating
//! uses at least 9 bits (flate2's minimum), which decodes everything an 8-bit sender makes.

use crate::HandshakeError;

/// The extension's name (RFC 7692 §7).
pub const EXTENSION: &str = "permessage-deflate";

/// permessage-deflate settings (`perMessageDeflate` of the `ws` package), for either role.
///
/// A server agrees to the first offer it can honour; a client offers these parameters and
/// checks the server's answer against them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Offer (client) or accept (server) the extension. Default: true when the crate's
    /// `deflate` feature is on (it is by default); without the feature nothing is negotiated.
    pub enabled: bool,
    /// Messages shorter than this many bytes go uncompressed (`threshold`, 1024 in `ws`).
    pub threshold: usize,
    /// The zlib compression level, 0 (none) to 9 (best); default 6 (`Z_DEFAULT_COMPRESSION`).
    pub level: u32,
    /// Ask for (client) or impose (server) `server_no_context_takeover` (RFC 7692 §7.1.1.1):
    /// the server's compressor is reset after every message. Default false.
    pub server_no_context_takeover: bool,
    /// Ask for (client, a promise not to use context takeover) or impose (server)
    /// `client_no_context_takeover` (RFC 7692 §7.1.1.2). Default false.
    pub client_no_context_takeover: bool,
    /// The largest LZ77 window the server may compress with, 8 to 15 (RFC 7692 §7.1.2.1);
    /// `None` for no limit (15). A client sends it as `server_max_window_bits`; a server
    /// answers with the smaller of this and the offer's value.
    pub server_max_window_bits: Option<u8>,
    /// The largest window the client may compress with, 8 to 15 (RFC 7692 §7.1.2.2); `None`
    /// for no limit. A client always offers `client_max_window_bits` (with this value if
    /// set), so a server may choose; a server with a limit declines offers without it.
    pub client_max_window_bits: Option<u8>,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            enabled: cfg!(feature = "deflate"),
            threshold: 1024,
            level: 6,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: None,
        }
    }
}

impl DeflateConfig {
    /// The settings with the extension off: nothing offered, every offer declined.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Whether negotiation may agree to the extension at all.
    fn active(&self) -> bool {
        self.enabled && cfg!(feature = "deflate")
    }
}

/// The agreed parameters of RFC 7692 §7.1, from both ends' point of view, plus the local
/// compression settings a [`Connection`](crate::Connection) needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// The server resets its compressor after every message (§7.1.1.1).
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message (§7.1.1.2).
    pub client_no_context_takeover: bool,
    /// The server's LZ77 window, 8 to 15 bits (§7.1.2.1).
    pub server_max_window_bits: u8,
    /// The client's LZ77 window, 8 to 15 bits (§7.1.2.2).
    pub client_max_window_bits: u8,
    /// Messages shorter than this go uncompressed (local setting).
    pub threshold: usize,
    /// The local compression level (0-9).
    pub level: u32,
}

/// One parsed parameter of an offer or answer: its name and its value, if any.
type Param<'a> = (&'a str, Option<&'a str>);

/// The parameters of one offer or answer, checked against RFC 7692 §7.1 (no unknown, repeated
/// or invalid parameter). `client_max_window_bits` is `Some(None)` when present without value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: Option<Option<u8>>,
}

impl Params {
    /// Checks one offer's or answer's parameters; `None` when one is unknown, repeated or has
    /// an invalid value (RFC 7692 §7: such an offer is declined, such an answer fails).
    fn parse(params: &[Param<'_>]) -> Option<Self> {
        let mut out = Self::default();
        let mut seen = [false; 4];
        for &(name, value) in params {
            let slot = match name {
                "server_no_context_takeover" => 0,
                "client_no_context_takeover" => 1,
                "server_max_window_bits" => 2,
                "client_max_window_bits" => 3,
                _ => return None,
            };
            if std::mem::replace(&mut seen[slot], true) {
                return None;
            }
            match (slot, value) {
                (0, None) => out.server_no_context_takeover = true,
                (1, None) => out.client_no_context_takeover = true,
                (2, Some(v)) => out.server_max_window_bits = Some(window_bits(v)?),
                (3, None) => out.client_max_window_bits = Some(None),
                (3, Some(v)) => out.client_max_window_bits = Some(Some(window_bits(v)?)),
                _ => return None,
            }
        }
        Some(out)
    }
}

/// A window-bits value: `%x38-39 / "1" %x30-35` (RFC 7692 §7.1.2.1), so no leading zeros.
fn window_bits(value: &str) -> Option<u8> {
    match value.as_bytes() {
        [d @ b'8'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Some(10 + d - b'0'),
        _ => None,
    }
}

/// `tchar` of RFC 9110 §5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn token(s: &str) -> Option<&str> {
    (!s.is_empty() && s.bytes().all(is_tchar)).then_some(s)
}

/// The extensions of one `Sec-WebSocket-Extensions` value (RFC 6455 §9.1), in order; an
/// element that breaks the grammar is `None`.
fn extensions(value: &[u8]) -> impl Iterator<Item = Option<(&str, Vec<Param<'_>>)>> {
    let text = std::str::from_utf8(value).ok();
    text.into_iter()
        .flat_map(|t| t.split(','))
        .filter(|e| !e.trim().is_empty())
        .map(|element| {
            let mut parts = element.split(';').map(str::trim);
            let name = token(parts.next()?)?;
            let mut params = Vec::new();
            for part in parts {
                let (key, value) = match part.split_once('=') {
                    None => (token(part)?, None),
                    Some((k, v)) => {
                        let v = v.trim();
                        let v = v
                            .strip_prefix('"')
                            .and_then(|q| q.strip_suffix('"'))
                            .unwrap_or(v);
                        (token(k.trim())?, Some(token(v)?))
                    }
                };
                params.push((key, value));
            }
            Some((name, params))
        })
}

/// The server's side (RFC 7692 §5, §7.1): picks the first permessage-deflate offer among
/// `headers` (every `Sec-WebSocket-Extensions` value, in order) that `config` can honour and
/// returns the agreed parameters with the response header's value. Offers with an unknown,
/// repeated or invalid parameter are declined (RFC 7692 §7.1, §7), as is an offer without
/// `client_max_window_bits` when `config` limits the client's window (§7.1.2.2,
/// docs/node-semantics.md#deflate-client-window).
pub fn negotiate<'a>(
    config: &DeflateConfig,
    headers: impl IntoIterator<Item = &'a [u8]>,
) -> Option<(Agreed, String)> {
    if !config.active() {
        return None;
    }
    headers
        .into_iter()
        .flat_map(extensions)
        .flatten()
        .filter(|(name, _)| name.eq_ignore_ascii_case(EXTENSION))
        .find_map(|(_, params)| answer(config, Params::parse(&params)?))
}

/// The answer to one valid offer, or `None` to decline it.
fn answer(config: &DeflateConfig, offer: Params) -> Option<(Agreed, String)> {
    let mut response = String::from(EXTENSION);
    let server_nct = offer.server_no_context_takeover || config.server_no_context_takeover;
    if server_nct {
        response.push_str("; server_no_context_takeover");
    }
    let client_nct = config.client_no_context_takeover;
    if client_nct {
        response.push_str("; client_no_context_takeover");
    }
    let ours = config.server_max_window_bits.map_or(15, |b| b.clamp(8, 15));
    let server_bits = offer.server_max_window_bits.map_or(ours, |b| b.min(ours));
    if offer.server_max_window_bits.is_some() || server_bits < 15 {
        response.push_str(&format!("; server_max_window_bits={server_bits}"));
    }
    let limit = config.client_max_window_bits.map(|b| b.clamp(8, 15));
    let client_bits = match (offer.client_max_window_bits, limit) {
        // The server may not ask for a limit the client did not offer to take (§7.1.2.2).
        (None, Some(limit)) if limit < 15 => return None,
        (None, _) => 15,
        (Some(None), None) => 15,
        (Some(offered), limit) => {
            let bits = offered.unwrap_or(15).min(limit.unwrap_or(15));
            response.push_str(&format!("; client_max_window_bits={bits}"));
            bits
        }
    };
    // The offer's `client_no_context_takeover` is only a hint (§7.1.1.2): peers that offer it
    // and are not asked for it in the answer (the Autobahn suite's client, for one) keep their
    // context, so the server resets its inflater only when its answer asked for the reset.
    let agreed = Agreed {
        server_no_context_takeover: server_nct,
        client_no_context_takeover: client_nct,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
        threshold: config.threshold,
        level: config.level,
    };
    Some((agreed, response))
}

/// The client's offer (RFC 7692 §5): `permessage-deflate; client_max_window_bits` plus the
/// parameters `config` asks for; `None` when the extension is off.
pub fn offer(config: &DeflateConfig) -> Option<String> {
    if !config.active() {
        return None;
    }
    let mut offer = String::from(EXTENSION);
    if config.server_no_context_takeover {
        offer.push_str("; server_no_context_takeover");
    }
    if config.client_no_context_takeover {
        offer.push_str("; client_no_context_takeover");
    }
    if let Some(bits) = config.server_max_window_bits {
        offer.push_str(&format!("; server_max_window_bits={}", bits.clamp(8, 15)));
    }
    match config.client_max_window_bits {
        Some(bits) => offer.push_str(&format!("; client_max_window_bits={}", bits.clamp(8, 15))),
        None => offer.push_str("; client_max_window_bits"),
    }
    Some(offer)
}

/// The client's check of the server's answer (RFC 7692 §7.1, §7): `headers` are the
/// response's `Sec-WebSocket-Extensions` values. No header: no extension. Otherwise exactly one
/// permessage-deflate with valid, unrepeated parameters that honour `config`'s offer, or the
/// handshake fails with [`HandshakeError::InvalidExtensionResponse`].
pub fn accept_answer<'a>(
    config: &DeflateConfig,
    headers: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Option<Agreed>, HandshakeError> {
    let invalid = HandshakeError::InvalidExtensionResponse;
    let mut answers = headers.into_iter().flat_map(extensions);
    let Some(first) = answers.next() else {
        return Ok(None);
    };
    if !config.active() {
        return Err(HandshakeError::UnrequestedProtocolOrExtension);
    }
    let (name, params) = first.ok_or(invalid)?;
    if !name.eq_ignore_ascii_case(EXTENSION) {
        return Err(HandshakeError::UnrequestedProtocolOrExtension);
    }
    if answers.next().is_some() {
        return Err(invalid);
    }
    let answer = Params::parse(&params).ok_or(invalid)?;
    if config.server_no_context_takeover && !answer.server_no_context_takeover {
        return Err(invalid);
    }
    let server_bits = match (config.server_max_window_bits, answer.server_max_window_bits) {
        (Some(asked), Some(got)) if got > asked.clamp(8, 15) => return Err(invalid),
        (Some(_), None) => return Err(invalid),
        (_, got) => got.unwrap_or(15),
    };
    let client_bits = match answer.client_max_window_bits {
        // The answer's client_max_window_bits must carry a value (§7.1.2.2).
        Some(None) => return Err(invalid),
        Some(Some(got)) => {
            if config
                .client_max_window_bits
                .is_some_and(|asked| got > asked)
            {
                return Err(invalid);
            }
            got
        }
        None => config.client_max_window_bits.map_or(15, |b| b.clamp(8, 15)),
    };
    Ok(Some(Agreed {
        server_no_context_takeover: answer.server_no_context_takeover,
        client_no_context_takeover: answer.client_no_context_takeover
            || config.client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
        threshold: config.threshold,
        level: config.level,
    }))
}

#[cfg(all(test, feature = "deflate"))]
mod tests {
    use super::*;

    fn server(config: &DeflateConfig, header: &str) -> Option<(Agreed, String)> {
        negotiate(config, [header.as_bytes()])
    }

    fn client(config: &DeflateConfig, header: &str) -> Result<Option<Agreed>, HandshakeError> {
        accept_answer(config, [header.as_bytes()])
    }

    fn agreed(server_nct: bool, client_nct: bool, sbits: u8, cbits: u8) -> Agreed {
        Agreed {
            server_no_context_takeover: server_nct,
            client_no_context_takeover: client_nct,
            server_max_window_bits: sbits,
            client_max_window_bits: cbits,
            threshold: 1024,
            level: 6,
        }
    }

    /// RFC 7692 §5, §7.1: a bare offer is accepted with a bare answer and 15-bit windows.
    #[test]
    fn server_bare_offer_accepted() {
        let cfg = DeflateConfig::default();
        assert_eq!(
            server(&cfg, "permessage-deflate"),
            Some((agreed(false, false, 15, 15), "permessage-deflate".into()))
        );
    }

    /// RFC 7692 §7.1.2.2: the browser's offer (`client_max_window_bits` without a value) is
    /// accepted; without a local limit the answer leaves the client at 15 bits.
    #[test]
    fn server_browser_offer_accepted() {
        let cfg = DeflateConfig::default();
        let got = server(&cfg, "permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(
            got,
            (agreed(false, false, 15, 15), "permessage-deflate".into())
        );
    }

    /// RFC 7692 §7.1.1.1, §7.1.1.2: both no-context-takeover parameters are accepted; the
    /// client's one is a hint, neither answered nor relied on (the inflater keeps its window).
    #[test]
    fn server_no_context_takeover_params() {
        let cfg = DeflateConfig::default();
        let (a, r) = server(
            &cfg,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        )
        .unwrap();
        assert_eq!(a, agreed(true, false, 15, 15));
        assert_eq!(r, "permessage-deflate; server_no_context_takeover");
        let imposed = DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..DeflateConfig::default()
        };
        let (a, r) = server(&imposed, "permessage-deflate").unwrap();
        assert_eq!(a, agreed(true, true, 15, 15));
        assert_eq!(
            r,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
    }

    /// RFC 7692 §7.1.2.1: `server_max_window_bits` is answered with the same or a smaller value.
    #[test]
    fn server_max_window_bits_answered() {
        let cfg = DeflateConfig::default();
        let (a, r) = server(&cfg, "permessage-deflate; server_max_window_bits=10").unwrap();
        assert_eq!(a.server_max_window_bits, 10);
        assert_eq!(r, "permessage-deflate; server_max_window_bits=10");
        let small = DeflateConfig {
            server_max_window_bits: Some(9),
            ..DeflateConfig::default()
        };
        let (a, r) = server(&small, "permessage-deflate; server_max_window_bits=12").unwrap();
        assert_eq!(a.server_max_window_bits, 9);
        assert_eq!(r, "permessage-deflate; server_max_window_bits=9");
        // The server may limit itself even when the offer did not ask.
        let (a, r) = server(&small, "permessage-deflate").unwrap();
        assert_eq!(a.server_max_window_bits, 9);
        assert_eq!(r, "permessage-deflate; server_max_window_bits=9");
        // 8 is agreed (and kept: see the module doc on window bits).
        let (a, _) = server(&cfg, "permessage-deflate; server_max_window_bits=8").unwrap();
        assert_eq!(a.server_max_window_bits, 8);
    }

    /// RFC 7692 §7.1.2.2, docs/node-semantics.md#deflate-client-window: `client_max_window_bits` is
    /// answered only when offered; a server that limits the client declines offers without it.
    #[test]
    fn server_client_max_window_bits_only_when_offered() {
        let cfg = DeflateConfig::default();
        let (a, r) = server(&cfg, "permessage-deflate; client_max_window_bits=11").unwrap();
        assert_eq!(a.client_max_window_bits, 11);
        assert_eq!(r, "permessage-deflate; client_max_window_bits=11");
        let limit = DeflateConfig {
            client_max_window_bits: Some(10),
            ..DeflateConfig::default()
        };
        let (a, r) = server(&limit, "permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(a.client_max_window_bits, 10);
        assert_eq!(r, "permessage-deflate; client_max_window_bits=10");
        assert_eq!(server(&limit, "permessage-deflate"), None);
    }

    /// RFC 7692 §7, docs/node-semantics.md#deflate-bad-offer: unknown, repeated and invalid
    /// parameters decline the offer; the next acceptable offer is taken (§5: the first the server
    /// can accept).
    #[test]
    fn server_bad_offers_declined() {
        let cfg = DeflateConfig::default();
        for bad in [
            "permessage-deflate; foo",
            "permessage-deflate; foo=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover=x",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; server_max_window_bits=abc",
            "permessage-deflate; client_max_window_bits=0",
            "permessage-deflate; client_max_window_bits=9; client_max_window_bits",
            "permessage-deflate; =3",
            "x-webkit-deflate-frame",
            "",
        ] {
            assert_eq!(server(&cfg, bad), None, "{bad:?}");
        }
        let (a, r) = server(
            &cfg,
            "permessage-deflate; foo, permessage-deflate; server_max_window_bits=\"12\"",
        )
        .unwrap();
        assert_eq!(a.server_max_window_bits, 12);
        assert_eq!(r, "permessage-deflate; server_max_window_bits=12");
        // Offers spread over several header lines are considered in order.
        let (a, _) = negotiate(
            &cfg,
            [
                &b"foo"[..],
                b"permessage-deflate; server_no_context_takeover",
                b"permessage-deflate",
            ],
        )
        .unwrap();
        assert!(a.server_no_context_takeover);
    }

    /// The extension off: nothing offered, nothing accepted.
    #[test]
    fn disabled_offers_and_accepts_nothing() {
        let off = DeflateConfig::disabled();
        assert_eq!(server(&off, "permessage-deflate"), None);
        assert_eq!(offer(&off), None);
        assert_eq!(
            client(&off, "permessage-deflate"),
            Err(HandshakeError::UnrequestedProtocolOrExtension)
        );
    }

    /// RFC 7692 §5, §7.1.2.2: the client's offer carries `client_max_window_bits` and what the
    /// settings ask for.
    #[test]
    fn client_offer_text() {
        assert_eq!(
            offer(&DeflateConfig::default()).unwrap(),
            "permessage-deflate; client_max_window_bits"
        );
        let all = DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(12),
            ..DeflateConfig::default()
        };
        assert_eq!(
            offer(&all).unwrap(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=12"
        );
    }

    /// RFC 7692 §7.1: the client takes a valid answer's parameters.
    #[test]
    fn client_accepts_valid_answers() {
        let cfg = DeflateConfig::default();
        assert_eq!(
            client(&cfg, "permessage-deflate"),
            Ok(Some(agreed(false, false, 15, 15)))
        );
        assert_eq!(
            client(
                &cfg,
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=9; client_max_window_bits=10"
            ),
            Ok(Some(agreed(true, true, 9, 10)))
        );
        assert_eq!(accept_answer(&cfg, []), Ok(None));
    }

    /// RFC 7692 §7, docs/node-semantics.md#deflate-bad-offer: an answer with an unknown, repeated
    /// or invalid parameter, more than one extension, or one that does not honour the offer fails
    /// the handshake.
    #[test]
    fn client_rejects_bad_answers() {
        let cfg = DeflateConfig::default();
        let invalid = Err(HandshakeError::InvalidExtensionResponse);
        for bad in [
            "permessage-deflate; foo",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; server_max_window_bits=20",
            "permessage-deflate, permessage-deflate",
            "permessage-deflate; a b",
        ] {
            assert_eq!(client(&cfg, bad), invalid, "{bad:?}");
        }
        assert_eq!(
            client(&cfg, "x-unknown"),
            Err(HandshakeError::UnrequestedProtocolOrExtension)
        );
        let asked = DeflateConfig {
            server_no_context_takeover: true,
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(10),
            ..DeflateConfig::default()
        };
        for bad in [
            "permessage-deflate; server_max_window_bits=10",
            "permessage-deflate; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; \
             client_max_window_bits=11",
        ] {
            assert_eq!(client(&asked, bad), invalid, "{bad:?}");
        }
        assert_eq!(
            client(
                &asked,
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"
            ),
            Ok(Some(agreed(true, false, 10, 10)))
        );
    }
}
