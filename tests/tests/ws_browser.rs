//! A real browser as a WebSocket client of the mio demo: headless Chromium loads the demo's
//! page, whose script opens `ws://HOST/chat` and sends `?say=TEXT`; the broadcast comes back
//! into the page's DOM and reaches a Node `ws` client on the same chat (RFC 6455 §4-§5;
//! docs/node-semantics.md#ws-handshake, #ws-masking, #ws-fragmentation to
//! #ws-any-fragmentation). Chromium offers permessage-deflate and the page shows
//! `WebSocket.extensions`: the demo must have agreed to it (RFC 7692 §7.1), and Chromium
//! compresses what it sends. The same run against sansnet-tokio is `tokio_browser.rs`; both
//! are `common::browser`.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use common::browser::chromium_chat_round_trip;
use common::start_http_demo;

/// docs/node-semantics.md#ws-handshake, #ws-masking, #ws-ping-pong: Chromium's own WebSocket client
/// opens `/chat` on the demo, sends the page's `?say=` text, and gets the broadcast back into
/// `#log`; a Node `ws` client connected to `/chat` beforehand receives the browser's message too.
#[test]
fn chromium_chat_page_round_trip() {
    let demo = start_http_demo("ws_browser");
    chromium_chat_round_trip(demo.port, "the demo");
}
