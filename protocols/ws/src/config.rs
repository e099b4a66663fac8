//! Settings of a WebSocket connection, each with the `ws` package's default.

use std::time::Duration;

use crate::DeflateConfig;

/// Options of a WebSocket connection (`new WebSocket.Server(options)` / `new WebSocket(url,
/// options)` in the `ws` package).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `maxPayload` (100 MiB): a larger message fails the connection with 1009 (RFC 6455 §7.4.1).
    pub max_payload: usize,
    /// `autoPong` (true): a Ping is answered with a Pong carrying its data (RFC 6455 §5.5.2).
    pub auto_pong: bool,
    /// How long to wait for the peer's part of the closing handshake before closing TCP
    /// (`ws`: 30 s).
    pub close_timeout: Duration,
    /// Queued bytes at which `send` returns false (16 KiB, like a socket's high-water mark).
    pub high_water_mark: usize,
    /// Deliver data frames as they come (`Fragment` events) instead of whole messages; the
    /// size limit then applies per frame. A text piece is checked before it is delivered, so
    /// with invalid UTF-8 the valid pieces that arrived in earlier reads have been delivered
    /// before the `Error`: in this mode, how the bytes were split shows.
    pub streaming: bool,
    /// Stop after each whole message and leave the rest of the input in the buffer, so that
    /// the application can answer the message before later frames are read (the `ws` package
    /// gets the same effect by emitting `'message'` in the middle of parsing). A driver that
    /// sets this calls `handle_input` again once the application has taken the events.
    pub message_at_a_time: bool,
    /// `perMessageDeflate`: what a handshake offers or accepts (RFC 7692). On by default with
    /// the crate's `deflate` feature (the `ws` package's server default is off; browsers,
    /// `ws` clients and Python's `websockets` all offer it). The agreed parameters reach a
    /// connection through [`Connection::with_deflate`](crate::Connection::with_deflate).
    pub deflate: DeflateConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_payload: 100 * 1024 * 1024,
            auto_pong: true,
            close_timeout: Duration::from_secs(30),
            high_water_mark: 16 * 1024,
            streaming: false,
            message_at_a_time: false,
            deflate: DeflateConfig::default(),
        }
    }
}
