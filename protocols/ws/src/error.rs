//! The one error type of `sansnet-ws`, grouped by whose fault it is.

use std::fmt;

/// Everything that can go wrong on a WebSocket.
///
/// The peer's faults ([`Error::Protocol`], [`Error::Handshake`]) arrive as events with the
/// Close frame already queued ([`Error::close_code`]); the caller's ([`Error::Usage`]) come
/// back as `Err` from commands and change nothing.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The peer broke RFC 6455 after the handshake.
    Protocol(ProtocolError),
    /// The opening handshake failed.
    Handshake(HandshakeError),
    /// A command was called in a state that does not allow it.
    Usage(UsageError),
}

/// A peer's framing or protocol fault; each fails the connection with its close code.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// An unmasked frame from a client (RFC 6455 §5.1): 1002.
    UnmaskedFrameFromClient,
    /// A masked frame from a server (RFC 6455 §5.1): 1002.
    MaskedFrameFromServer,
    /// RSV1-3 set without an extension that defines them (§5.2), or RSV1 on a continuation or
    /// control frame under permessage-deflate (RFC 7692 §6,
    /// docs/node-semantics.md#deflate-rsv1): 1002.
    ReservedBitsSet,
    /// A reserved opcode (§5.2): 1002.
    ReservedOpcode,
    /// A 64-bit length with the top bit set (§5.2): 1002.
    InvalidLength,
    /// A control frame over 125 bytes (§5.5): 1002.
    ControlFrameTooLarge,
    /// A fragmented control frame (§5.5): 1002.
    FragmentedControlFrame,
    /// A continuation with no message open (§5.4): 1002.
    UnexpectedContinuation,
    /// A new data frame while a fragmented message is open (§5.4): 1002.
    ExpectedContinuation,
    /// A text message or close reason that is not UTF-8 (§8.1): 1007.
    InvalidUtf8,
    /// A close payload of 1 byte (§5.5.1): 1002.
    InvalidClosePayload,
    /// A close code that may not be sent (§7.4): 1002.
    InvalidCloseCode,
    /// A message over `max_payload` (§7.4.1), counted after inflating for a compressed one
    /// (RFC 7692 §8, docs/node-semantics.md#deflate-bomb): 1009.
    MessageTooBig,
    /// A compressed message that is not a valid DEFLATE stream (RFC 7692 §7.2.2): 1007, as
    /// the `ws` package answers.
    InvalidCompressedData,
    /// The TCP connection ended without a closing handshake (1006, never sent).
    AbnormalClosure,
}

/// Why an opening handshake failed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// Not `GET` (§4.2.1): 400 (405 would also do; `ws` answers 400).
    MethodNotGet,
    /// Not HTTP/1.1 or later (§4.2.1): 400.
    VersionNotHttp11,
    /// No `Host` (§4.2.1 item 2): 400.
    MissingHost,
    /// `Upgrade` does not contain `websocket` (§4.2.1): 400.
    MissingUpgrade,
    /// `Connection` does not contain `upgrade` (§4.2.1): 400.
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Version` is not 13 (§4.2.2): 426 with `Sec-WebSocket-Version: 13`.
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` missing or not 16 bytes of base64 (§4.2.1): 400.
    InvalidKey,
    /// The server did not answer 101 (§4.1); the status is kept.
    NotSwitching(u16),
    /// The 101 lacks `Upgrade: websocket` or `Connection: upgrade` (§4.1).
    InvalidUpgradeResponse,
    /// `Sec-WebSocket-Accept` does not match the key (§4.1).
    AcceptMismatch,
    /// The server chose a subprotocol or extension the client did not offer (§4.1).
    UnrequestedProtocolOrExtension,
    /// The server's permessage-deflate answer has an unknown, repeated or invalid parameter,
    /// more than one extension, or does not honour the offer (RFC 7692 §7,
    /// docs/node-semantics.md#deflate-bad-offer).
    InvalidExtensionResponse,
}

/// What the caller got wrong.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageError {
    /// `close()` with a code other than 1000 or 3000-4999 (WHATWG `InvalidAccessError`).
    InvalidCloseCode,
    /// A close reason over 123 bytes (WHATWG `SyntaxError`).
    CloseReasonTooLong,
    /// A ping or pong payload over 125 bytes.
    ControlPayloadTooLarge,
    /// The connection is closed.
    Closed,
}

impl Error {
    /// The close code this error puts on the wire (1002, 1007, 1009), or 1006 for an abnormal
    /// closure; `None` for handshake and usage errors.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Self::Protocol(p) => Some(p.close_code()),
            Self::Handshake(_) | Self::Usage(_) => None,
        }
    }

    /// The status a server answers a failed handshake with (400 or 426).
    pub fn status_hint(&self) -> Option<u16> {
        match self {
            Self::Handshake(HandshakeError::UnsupportedVersion) => Some(426),
            Self::Handshake(HandshakeError::NotSwitching(_))
            | Self::Handshake(HandshakeError::InvalidUpgradeResponse)
            | Self::Handshake(HandshakeError::AcceptMismatch)
            | Self::Handshake(HandshakeError::UnrequestedProtocolOrExtension)
            | Self::Handshake(HandshakeError::InvalidExtensionResponse) => None,
            Self::Handshake(_) => Some(400),
            Self::Protocol(_) | Self::Usage(_) => None,
        }
    }
}

impl ProtocolError {
    /// The close code for this fault (RFC 6455 §7.4.1).
    pub fn close_code(self) -> u16 {
        match self {
            Self::InvalidUtf8 | Self::InvalidCompressedData => 1007,
            Self::MessageTooBig => 1009,
            Self::AbnormalClosure => 1006,
            _ => 1002,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(p) => write!(f, "{p:?} (close {})", p.close_code()),
            Self::Handshake(h) => write!(f, "handshake failed: {h:?}"),
            Self::Usage(u) => write!(f, "{u:?}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ProtocolError> for Error {
    fn from(p: ProtocolError) -> Self {
        Self::Protocol(p)
    }
}

impl From<HandshakeError> for Error {
    fn from(h: HandshakeError) -> Self {
        Self::Handshake(h)
    }
}

impl From<UsageError> for Error {
    fn from(u: UsageError) -> Self {
        Self::Usage(u)
    }
}
