//! The opening handshake, both roles (RFC 6455 §4): the server's checks and 101, the client's
//! request and its checks of the 101.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::{BufMut, Bytes, BytesMut};
use sansnet_http1::{ClientRequest, Request, ResponseHead, Version};
use sha1::{Digest, Sha1};

use crate::deflate::{self, Agreed, DeflateConfig};
use crate::{Entropy, HandshakeError};

/// The GUID of RFC 6455 §1.3.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for `key`: base64(SHA-1(key + GUID)) (RFC 6455 §1.3).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

/// A handshake the server accepted: the 101 to send first, and the chosen subprotocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The `101 Switching Protocols` response, ready to write.
    pub response: Bytes,
    /// The subprotocol chosen from the client's list, if any.
    pub protocol: Option<String>,
    /// The agreed permessage-deflate parameters, if the extension was accepted; hand them to
    /// [`Connection::with_deflate`](crate::Connection::with_deflate).
    pub deflate: Option<Agreed>,
}

/// A handshake the server refused: the reason and the response to write before closing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Why.
    pub error: HandshakeError,
    /// `400 Bad Request`, or `426 Upgrade Required` with `Sec-WebSocket-Version: 13`.
    pub response: Bytes,
}

/// The server side: checks an upgrade request (docs/node-semantics.md#ws-server-request-check to
/// #ws-subprotocol-select) and builds the 101, choosing the first of `protocols` (the server's
/// preference order) that the client offered. Extensions offered by the client are declined;
/// [`accept_with`] negotiates permessage-deflate.
pub fn accept(request: &Request, protocols: &[&str]) -> Result<Accepted, Rejected> {
    accept_with(request, protocols, &DeflateConfig::disabled())
}

/// [`accept`], and permessage-deflate agreed to per `deflate` (RFC 7692 §5, §7.1): the first
/// offer in the request's `Sec-WebSocket-Extensions` that the settings can honour is answered
/// in the 101 (see [`deflate::negotiate`]); other extensions are declined.
pub fn accept_with(
    request: &Request,
    protocols: &[&str],
    deflate: &DeflateConfig,
) -> Result<Accepted, Rejected> {
    check(request).map_err(reject)?;
    let key = request.headers.get("sec-websocket-key").unwrap_or_default();
    let offered: Vec<String> = request
        .headers
        .get_all("sec-websocket-protocol")
        .flat_map(tokens)
        .collect();
    let protocol = protocols
        .iter()
        .find(|p| offered.iter().any(|o| o == *p))
        .map(|p| (*p).to_string());
    let mut out = BytesMut::with_capacity(160);
    out.put_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n");
    out.put_slice(b"Connection: Upgrade\r\nSec-WebSocket-Accept: ");
    out.put_slice(accept_key(trim(key)).as_bytes());
    out.put_slice(b"\r\n");
    if let Some(protocol) = &protocol {
        out.put_slice(b"Sec-WebSocket-Protocol: ");
        out.put_slice(protocol.as_bytes());
        out.put_slice(b"\r\n");
    }
    let agreed = deflate::negotiate(deflate, request.headers.get_all("sec-websocket-extensions"));
    if let Some((_, answer)) = &agreed {
        out.put_slice(b"Sec-WebSocket-Extensions: ");
        out.put_slice(answer.as_bytes());
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
    Ok(Accepted {
        response: out.freeze(),
        protocol,
        deflate: agreed.map(|(agreed, _)| agreed),
    })
}

fn check(request: &Request) -> Result<(), HandshakeError> {
    if &request.method[..] != b"GET" {
        return Err(HandshakeError::MethodNotGet);
    }
    if request.version != Version::Http11 {
        return Err(HandshakeError::VersionNotHttp11);
    }
    if !request.headers.contains("host") {
        return Err(HandshakeError::MissingHost);
    }
    if !request
        .headers
        .get_all("upgrade")
        .any(|v| has_token(v, "websocket"))
    {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !request
        .headers
        .get_all("connection")
        .any(|v| has_token(v, "upgrade"))
    {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    let version = request.headers.get("sec-websocket-version").map(trim);
    if version != Some(&b"13"[..]) {
        return Err(HandshakeError::UnsupportedVersion);
    }
    let key = request
        .headers
        .get("sec-websocket-key")
        .ok_or(HandshakeError::InvalidKey)?;
    let decoded = STANDARD
        .decode(trim(key))
        .map_err(|_| HandshakeError::InvalidKey)?;
    if decoded.len() != 16 {
        return Err(HandshakeError::InvalidKey);
    }
    Ok(())
}

fn reject(error: HandshakeError) -> Rejected {
    let response: &[u8] = match error {
        HandshakeError::UnsupportedVersion => {
            b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        }
        _ => b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    };
    Rejected {
        error,
        response: Bytes::from_static(response),
    }
}

/// The client side: a fresh key (RFC 6455 §4.1) and the checks of the server's answer.
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    key: String,
    protocols: Vec<String>,
    deflate: DeflateConfig,
}

/// What a verified 101 agreed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The subprotocol the server chose, if any.
    pub protocol: Option<String>,
    /// The agreed permessage-deflate parameters, if the server accepted the offer; hand them to
    /// [`Connection::with_deflate`](crate::Connection::with_deflate).
    pub deflate: Option<Agreed>,
}

impl ClientHandshake {
    /// A handshake with a key of 16 random bytes from `entropy`, offering `protocols`.
    pub fn new(entropy: &mut dyn Entropy, protocols: &[&str]) -> Self {
        let mut nonce = [0u8; 16];
        entropy.fill(&mut nonce);
        Self {
            key: STANDARD.encode(nonce),
            protocols: protocols.iter().map(|p| (*p).to_string()).collect(),
            deflate: DeflateConfig::disabled(),
        }
    }

    /// Offers permessage-deflate per `deflate` (RFC 7692 §5; nothing when it is disabled).
    pub fn with_deflate(mut self, deflate: DeflateConfig) -> Self {
        self.deflate = deflate;
        self
    }

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The upgrade request for `path` on `host` (`host[:port]` as in the URL).
    pub fn request(&self, host: &str, path: &str) -> ClientRequest {
        let mut request = ClientRequest::new("GET", path.to_string())
            .header("Host", host.to_string())
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Key", self.key.clone())
            .header("Sec-WebSocket-Version", "13");
        if !self.protocols.is_empty() {
            request = request.header("Sec-WebSocket-Protocol", self.protocols.join(", "));
        }
        if let Some(offer) = deflate::offer(&self.deflate) {
            request = request.header("Sec-WebSocket-Extensions", offer);
        }
        request
    }

    /// Checks the server's answer (docs/node-semantics.md#ws-non-101 to #ws-client-unoffered);
    /// returns the chosen subprotocol.
    pub fn verify(&self, response: &ResponseHead) -> Result<Option<String>, HandshakeError> {
        self.open(response).map(|opened| opened.protocol)
    }

    /// Checks the server's answer (docs/node-semantics.md#ws-non-101 to #ws-client-unoffered, and
    /// the extension's answer: RFC 7692 §7); returns the chosen subprotocol and the agreed
    /// permessage-deflate parameters.
    pub fn open(&self, response: &ResponseHead) -> Result<Opened, HandshakeError> {
        if response.status != 101 {
            return Err(HandshakeError::NotSwitching(response.status));
        }
        let upgrade = response
            .headers
            .get_all("upgrade")
            .any(|v| has_token(v, "websocket"));
        let connection = response
            .headers
            .get_all("connection")
            .any(|v| has_token(v, "upgrade"));
        if !upgrade || !connection {
            return Err(HandshakeError::InvalidUpgradeResponse);
        }
        let accept = response.headers.get("sec-websocket-accept").map(trim);
        if accept != Some(accept_key(self.key.as_bytes()).as_bytes()) {
            return Err(HandshakeError::AcceptMismatch);
        }
        let deflate = deflate::accept_answer(
            &self.deflate,
            response.headers.get_all("sec-websocket-extensions"),
        )?;
        let protocol = match response.headers.get("sec-websocket-protocol") {
            None => None,
            Some(value) => {
                let chosen = String::from_utf8_lossy(trim(value)).into_owned();
                if !self.protocols.contains(&chosen) {
                    return Err(HandshakeError::UnrequestedProtocolOrExtension);
                }
                Some(chosen)
            }
        };
        Ok(Opened { protocol, deflate })
    }
}

fn trim(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &value[start..end]
}

fn tokens(value: &[u8]) -> impl Iterator<Item = String> + '_ {
    value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|t| !t.is_empty())
        .map(|t| String::from_utf8_lossy(t).into_owned())
}

fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/node-semantics.md#ws-accept: RFC 6455 §1.3's own example.
    #[test]
    fn accept_key_matches_the_rfc_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
