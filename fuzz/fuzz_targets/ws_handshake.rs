//! Fuzz the WebSocket opening handshake: random request heads through `sansnet_http1`'s
//! `ServerConnection` (with `upgrade`) and `sansnet_ws::handshake::accept` on each upgrade
//! request; random response heads through a `ClientConnection` and `ClientHandshake::verify`.
//! No panic; an accepted request's 101 carries the right accept value; a refusal is 400/426.
#![no_main]

use std::time::Instant;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use sansnet_http1::{
    ClientConfig, ClientConnection, ClientEvent, ServerConfig, ServerConnection, ServerEvent,
};
use sansnet_ws::handshake::{ClientHandshake, accept, accept_key};

fn server_side(bytes: &[u8], protocols: &[&str]) {
    let now = Instant::now();
    let config = ServerConfig {
        upgrade: true,
        send_date: false,
        ..ServerConfig::default()
    };
    let mut conn = ServerConnection::new(now, config);
    let mut buf = BytesMut::from(bytes);
    conn.handle_input(now, &mut buf);
    while let Some(event) = conn.poll_event() {
        let request = match event {
            ServerEvent::Upgrade { request, .. } | ServerEvent::Request(request) => request,
            _ => continue,
        };
        match accept(&request, protocols) {
            Ok(accepted) => {
                let key = request.headers.get("sec-websocket-key").unwrap_or_default();
                let key = String::from_utf8_lossy(key);
                let want = accept_key(key.trim().as_bytes());
                let text = String::from_utf8_lossy(&accepted.response);
                assert!(text.starts_with("HTTP/1.1 101 "), "{text}");
                assert!(text.contains(&want), "{text} lacks {want}");
                if let Some(protocol) = &accepted.protocol {
                    assert!(protocols.contains(&protocol.as_str()));
                }
            }
            Err(rejected) => {
                assert!(
                    rejected.response.starts_with(b"HTTP/1.1 400 ")
                        || rejected.response.starts_with(b"HTTP/1.1 426 "),
                    "{:?}",
                    rejected
                );
            }
        }
    }
}

fn client_side(bytes: &[u8], nonce: u8) {
    let now = Instant::now();
    let mut entropy = move |buf: &mut [u8]| buf.fill(nonce);
    let handshake = ClientHandshake::new(&mut entropy, &["chat", "v2"]);
    let mut conn = ClientConnection::new(now, ClientConfig::default());
    let Ok(id) = conn.send_request(now, handshake.request("example.com", "/chat")) else {
        return;
    };
    let _ = conn.end(now, id, None);
    while conn.pop_transmit(now).is_some() {}
    // The accept value the fuzzer would have to guess is put in front when asked.
    let mut buf = BytesMut::new();
    if nonce & 1 == 1 {
        buf.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: ");
        buf.extend_from_slice(accept_key(handshake.key().as_bytes()).as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    buf.extend_from_slice(bytes);
    conn.handle_input(now, &mut buf);
    conn.handle_eof(now);
    while let Some(event) = conn.poll_event() {
        let head = match event {
            ClientEvent::Upgrade { response, .. }
            | ClientEvent::Response(response)
            | ClientEvent::Information(response) => response,
            _ => continue,
        };
        if let Ok(protocol) = handshake.verify(&head) {
            assert_eq!(head.status, 101);
            if let Some(protocol) = protocol {
                assert!(protocol == "chat" || protocol == "v2", "{protocol}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&bits, rest)) = data.split_first() else {
        return;
    };
    let protocols: &[&str] = match bits % 3 {
        0 => &[],
        1 => &["chat"],
        _ => &["superchat", "chat", "v2.json"],
    };
    server_side(rest, protocols);
    client_side(rest, bits);
});
