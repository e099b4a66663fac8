//! What the WebSocket machine tells the application and the driver.

use bytes::Bytes;

use crate::Error;

/// Which end of the connection this machine is (RFC 6455 §5.1: clients mask, servers don't).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end that accepted the connection.
    Server,
    /// The end that opened it.
    Client,
}

/// `readyState` (WHATWG WebSocket, docs/node-semantics.md#ws-ready-state-order); it never goes
/// back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReadyState {
    /// 0: the opening handshake is in progress (driver-side; a machine starts `Open`).
    Connecting,
    /// 1: messages flow.
    Open,
    /// 2: a Close frame was sent or received; the closing handshake is in progress.
    Closing,
    /// 3: the connection is closed.
    Closed,
}

/// A whole message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message; the bytes are valid UTF-8.
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// A text message from a string.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(Bytes::from(text.into()))
    }

    /// The payload bytes.
    pub fn data(&self) -> &Bytes {
        match self {
            Self::Text(data) | Self::Binary(data) => data,
        }
    }

    /// The text of a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(data) => std::str::from_utf8(data).ok(),
            Self::Binary(_) => None,
        }
    }
}

/// What [`Connection::handle_input_with`](crate::Connection::handle_input_with) hands the
/// application, in the order the peer sent it: a whole message lent from the read buffer when
/// it was there whole, any other event owned.
///
/// A lent message is `'message'` as [`WsEvent::Message`] would carry it (unmasked, text checked
/// as UTF-8), but borrowed: no `Bytes` is split off the buffer for it, and the bytes are
/// consumed when the callback returns. Messages the read buffer does not hold whole in one
/// frame (fragmented, compressed, or not yet all read when their frame began) are assembled
/// and arrive owned, as [`Received::Event`] with a [`WsEvent::Message`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Received<'a> {
    /// `'message'` with a text message lent from the read buffer (valid UTF-8).
    Text(&'a str),
    /// `'message'` with a binary message lent from the read buffer.
    Binary(&'a [u8]),
    /// Any other event, owned, as [`Connection::poll_event`](crate::Connection::poll_event)
    /// would return it.
    Event(WsEvent),
}

impl Received<'_> {
    /// The event owned: a lent message is copied into a [`WsEvent::Message`].
    pub fn into_event(self) -> WsEvent {
        match self {
            Self::Text(text) => {
                WsEvent::Message(Message::Text(Bytes::copy_from_slice(text.as_bytes())))
            }
            Self::Binary(data) => WsEvent::Message(Message::Binary(Bytes::copy_from_slice(data))),
            Self::Event(event) => event,
        }
    }
}

/// An event of a [`Connection`](crate::Connection), named after the `ws` package's events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsEvent {
    /// `'message'`: a whole message (text already checked as UTF-8).
    Message(Message),
    /// A piece of a data frame (only with `Config::streaming`): `text` says which kind of
    /// message it belongs to, `fin` marks the message's last piece.
    Fragment {
        /// Whether the message is text.
        text: bool,
        /// The bytes, unmasked.
        data: Bytes,
        /// The last piece of the message.
        fin: bool,
    },
    /// `'ping'`: a Ping arrived (already answered with a Pong when `auto_pong`).
    Ping(Bytes),
    /// `'pong'`: a Pong arrived (solicited or not, RFC 6455 §5.5.3).
    Pong(Bytes),
    /// `'error'`: the peer broke the protocol; the Close frame with the matching code is
    /// already queued and `Close` follows.
    Error(Error),
    /// `'drain'`: the queued bytes fell below the high-water mark after `send` returned false.
    Drain,
    /// `'close'`: the connection is closed, always last. `code` is 1005 when the peer's Close
    /// had no status and 1006 when no Close frame was received (RFC 6455 §7.1.5).
    Close {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
        /// Whether the closing handshake completed.
        was_clean: bool,
    },
}

/// What the WebSocket machine asks of the socket beneath it: the contract's one
/// [`sansnet_core::Action`]. It offers `Shutdown` (end TCP after the closing handshake) once
/// every frame before it was taken from its queue, and `Close { reset: false }` (close TCP now)
/// at once.
pub use sansnet_core::Action;
