//! A CONNECT or Upgrade request pipelined behind other requests takes the connection over
//! only once every earlier response is complete: the earlier responses go out first, and the
//! events are the same however the reads cut the bytes (RFC 9112 §9.3.2: responses in the
//! order of their requests; the transport then belongs to the application, Node docs
//! `http.md` › `Event: 'connect'`, `Event: 'upgrade'`).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sansnet_http1::{Action, Response, ServerConfig, ServerConnection, ServerEvent};

const PIPELINED: &[u8] = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n\
POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz\
CONNECT h:1 HTTP/1.1\r\nHost: h\r\n\r\ntunnel bytes";

/// Feeds `input` in `pieces`, answering each request at its end, as an application would;
/// returns the events (as text), the bytes written before the hand-over, and the bytes the
/// application got with the `Connect` event.
fn run(pieces: &[&[u8]]) -> (Vec<String>, Vec<u8>, Bytes) {
    let now = Instant::now();
    let config = ServerConfig {
        connect: true,
        upgrade: true,
        send_date: false,
        ..ServerConfig::default()
    };
    let mut conn = ServerConnection::new(now, config);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let mut wire = Vec::new();
    let mut tunnel_head = Bytes::new();
    let mut handed_over = false;
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            if conn.wants_read() {
                conn.handle_input(now, &mut buf);
            }
            let mut moved = false;
            while let Some(event) = conn.poll_event() {
                moved = true;
                match event {
                    ServerEvent::End { id, .. } => {
                        events.push(format!("end {}", id.0));
                        let body = Bytes::from(format!("answer {}", id.0));
                        // Err for the CONNECT request, which is not answered here.
                        let _ = conn.respond(now, id, Response::new(200), body);
                    }
                    ServerEvent::Connect { request, head } => {
                        events.push(format!("connect {}", request.id.0));
                        tunnel_head = head;
                    }
                    ServerEvent::Request(request) => {
                        events.push(format!("request {}", request.id.0))
                    }
                    ServerEvent::Data { .. } => {}
                    other => events.push(format!("{other:?}")),
                }
            }
            while let Some(chunk) = conn.pop_transmit(now) {
                assert!(!handed_over, "bytes after the hand-over");
                moved = true;
                wire.extend_from_slice(&chunk);
            }
            while let Some(action) = conn.poll_action() {
                moved = true;
                assert_eq!(action, Action::HandOver);
                handed_over = true;
            }
            if !moved {
                break;
            }
        }
    }
    assert!(handed_over, "the connection was handed over");
    (events, wire, tunnel_head)
}

#[test]
fn connect_behind_pipelined_requests_waits_for_their_responses() {
    let (events, wire, head) = run(&[PIPELINED]);
    assert_eq!(
        events,
        ["request 0", "end 0", "request 1", "end 1", "connect 2"]
    );
    let wire = String::from_utf8(wire).unwrap();
    assert_eq!(wire.matches("HTTP/1.1 200 OK").count(), 2, "{wire}");
    assert!(wire.ends_with("answer 1"), "{wire}");
    assert_eq!(head, Bytes::from_static(b"tunnel bytes"));
}

#[test]
fn the_same_whatever_the_cuts() {
    let whole = run(&[PIPELINED]);
    for cut in 1..PIPELINED.len() {
        let (a, b) = PIPELINED.split_at(cut);
        let (events, wire, head) = run(&[a, b]);
        assert_eq!((&events, &wire), (&whole.0, &whole.1), "cut at {cut}");
        // The bytes read past the head come with the event; later ones are the raw socket's.
        assert!(whole.2.starts_with(&head), "cut at {cut}");
    }
}
