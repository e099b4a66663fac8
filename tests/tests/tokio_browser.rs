//! A real browser as a WebSocket client of sansnet-tokio: headless Chromium loads the page of
//! the `tokio-chat` example (drivers/tokio/examples/tokio-chat.rs: the mio demo's page and
//! `/chat` room on `serve_with` and `accept_ws`, tokio's current-thread runtime), whose script
//! opens `ws://HOST/chat` and sends `?say=TEXT`; the broadcast comes back into the page's DOM
//! and reaches a Node `ws` client on the same chat (RFC 6455 §4-§5;
//! docs/node-semantics.md#ws-handshake, #ws-masking, #ws-fragmentation to
//! #ws-any-fragmentation). Chromium offers permessage-deflate and the page shows
//! `WebSocket.extensions`: `accept_ws` must have agreed to it (RFC 7692 §7.1), and Chromium
//! compresses what it sends. The same run against the mio demo is `ws_browser.rs`; both are
//! `common::browser`.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use common::browser::chromium_chat_round_trip;
use common::start_tokio_chat;

/// docs/node-semantics.md#ws-handshake, #ws-masking, #ws-ping-pong: Chromium's own WebSocket
/// client opens `/chat` on the `tokio-chat` example, sends the page's `?say=` text, and gets
/// the broadcast back into `#log`; a Node `ws` client connected to `/chat` beforehand
/// receives the browser's message too.
#[test]
fn tokio_chromium_chat_page_round_trip() {
    let chat = start_tokio_chat();
    chromium_chat_round_trip(chat.port, "the tokio-chat example");
}
