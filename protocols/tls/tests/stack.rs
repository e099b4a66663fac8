//! The TLS machine stacked under the HTTP and WebSocket machines: requests, responses and
//! messages through encryption, and chunking invariance through the whole stack (the same
//! events for the ciphertext cut at every byte).
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::time::Instant;

use bytes::BytesMut;
use common::{
    RESPONSE_BODY, Setup, Split, Transcript, events, https_exchange, https_exchange_with, plaintext,
};
use sansnet_http1::{ClientEvent, ServerEvent};
use sansnet_tls::{Protocol, TlsEvent};
use sansnet_ws::{Config, Connection, Message, Role, WsEvent};

fn check_https(t: &Transcript) {
    assert!(
        matches!(&t.client_tls[..], [TlsEvent::SecureConnect(_)]),
        "{:?}",
        t.client_tls
    );
    assert!(
        matches!(
            &t.server_tls[..],
            [TlsEvent::SecureConnect(_), TlsEvent::End]
        ),
        "{:?}",
        t.server_tls
    );
    let ServerEvent::Request(request) = &t.server_http[0] else {
        panic!("{:?}", t.server_http)
    };
    assert_eq!(&request.method[..], b"POST");
    assert_eq!(&request.target[..], b"/echo");
    let body: Vec<u8> = t
        .server_http
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Data { data, .. } => Some(data.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(body, b"ping over tls");
    assert!(
        t.server_http
            .iter()
            .any(|e| matches!(e, ServerEvent::End { .. }))
    );
    let ClientEvent::Response(response) = &t.client_http[0] else {
        panic!("{:?}", t.client_http)
    };
    assert_eq!(response.status, 200);
    let body: Vec<u8> = t
        .client_http
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Data { data, .. } => Some(data.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(body, RESPONSE_BODY);
    assert!(
        t.client_http
            .iter()
            .any(|e| matches!(e, ClientEvent::End { .. }))
    );
}

/// An HTTP request and its response through TLS: the server's HTTP machine reads the
/// request from the TLS server's plaintext, the client's reads the response (Node docs `https.md` ›
/// `Class: https.Server`), and the client's `close_notify` ends the server's input (RFC 9112 §9.8).
#[test]
fn https_request_response_through_tls() {
    let setup = Setup::new(&["example.test"]);
    let t = https_exchange(&setup, &Split::Whole);
    check_https(&t);
}

/// Chunking invariance through the stack: every delivery of ciphertext, in both directions,
/// cut at every byte offset up to the longest flight, gives the same TLS and HTTP events as
/// whole delivery.
#[test]
fn https_ciphertext_split_at_every_byte() {
    let setup = Setup::new(&["example.test"]);
    let whole = https_exchange(&setup, &Split::Whole);
    check_https(&whole);
    let longest = {
        let mut pair = setup.pair("example.test");
        pair.client.write(Instant::now(), b"x");
        pair.drive();
        pair.client_flights
            .iter()
            .chain(&pair.server_flights)
            .map(Vec::len)
            .max()
            .unwrap()
    };
    assert!(
        longest > 500,
        "the server's first flight holds a certificate: {longest}"
    );
    for at in 0..=longest {
        let split = https_exchange(&setup, &Split::At(at));
        assert_eq!(split.client_tls, whole.client_tls, "cut at {at}");
        assert_eq!(split.server_tls, whole.server_tls, "cut at {at}");
        assert_eq!(split.server_http, whole.server_http, "cut at {at}");
        assert_eq!(split.client_http, whole.client_http, "cut at {at}");
    }
}

/// The same with TLS 1.2 (other flights: ChangeCipherSpec, the client's Finished first): every
/// cut of every delivery gives the same events as whole delivery.
#[test]
fn https_tls12_ciphertext_split_at_every_byte() {
    let mut setup = Setup::new(&["example.test"]);
    setup.tls12 = true;
    let whole = https_exchange(&setup, &Split::Whole);
    check_https(&whole);
    let Some(TlsEvent::SecureConnect(info)) = whole.client_tls.first() else {
        panic!("{:?}", whole.client_tls)
    };
    assert_eq!(info.protocol, Protocol::Tls12);
    let longest = {
        let mut pair = setup.pair("example.test");
        pair.drive();
        pair.server_flights.iter().map(Vec::len).max().unwrap()
    };
    for at in 0..=longest {
        let split = https_exchange(&setup, &Split::At(at));
        assert_eq!(split.client_tls, whole.client_tls, "cut at {at}");
        assert_eq!(split.server_tls, whole.server_tls, "cut at {at}");
        assert_eq!(split.server_http, whole.server_http, "cut at {at}");
        assert_eq!(split.client_http, whole.client_http, "cut at {at}");
    }
}

/// Byte-at-a-time delivery of every flight gives the same events too.
#[test]
fn https_ciphertext_byte_at_a_time() {
    let setup = Setup::new(&["example.test"]);
    let whole = https_exchange(&setup, &Split::Whole);
    let bytewise = https_exchange(&setup, &Split::Sizes(vec![1]));
    assert_eq!(bytewise.client_tls, whole.client_tls);
    assert_eq!(bytewise.server_tls, whole.server_tls);
    assert_eq!(bytewise.server_http, whole.server_http);
    assert_eq!(bytewise.client_http, whole.client_http);
}

/// A response body larger than the plaintext limit flows through: the TLS server's ciphertext
/// waits in the client's buffer while plaintext is unread, and all of it arrives in order.
#[test]
fn https_large_response_through_read_limit() {
    let setup = Setup::new(&["example.test"]);
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let t = https_exchange_with(&setup, &Split::Sizes(vec![5000, 17]), body.clone().into());
    let received: Vec<u8> = t
        .client_http
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Data { data, .. } => Some(data.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(
        t.held_back,
        "the plaintext limit never held ciphertext back"
    );
    assert_eq!(received.len(), body.len());
    assert!(received == body);
    assert!(
        t.client_http
            .iter()
            .any(|e| matches!(e, ClientEvent::End { .. }))
    );
}

/// WebSocket messages both ways through TLS: the `ws` machines' frames go in as plaintext,
/// come out of the peer's TLS session intact, and the closing handshake completes.
#[test]
fn websocket_messages_through_tls() {
    let setup = Setup::new(&["example.test"]);
    let mut pair = setup.pair("example.test");
    pair.drive();
    assert!(matches!(
        events(&mut pair.client)[..],
        [TlsEvent::SecureConnect(_)]
    ));
    let now = Instant::now();
    let mut counter = 0u8;
    let entropy = move |buf: &mut [u8]| {
        for b in buf {
            counter = counter.wrapping_add(41);
            *b = counter;
        }
    };
    let mut ws_c = Connection::new(Role::Client, Config::default(), Box::new(entropy));
    let mut ws_s = Connection::new(Role::Server, Config::default(), Box::new(|_: &mut [u8]| {}));

    // Messages both ways through TLS; the server echoes each one.
    let big = "x".repeat(40_000);
    ws_c.send(now, Message::text("hello")).unwrap();
    ws_c.send(now, Message::text(big.clone())).unwrap();
    let mut s_buf = BytesMut::new();
    let mut c_buf = BytesMut::new();
    let mut server_events = Vec::new();
    let mut client_events = Vec::new();
    let mut client_tls_events = Vec::new();
    let mut closed = false;
    for _ in 0..20 {
        while let Some(frame) = ws_c.pop_transmit(now) {
            assert_eq!(pair.client.write(Instant::now(), &frame), frame.len());
        }
        while let Some(frame) = ws_s.pop_transmit(now) {
            assert_eq!(pair.server.write(Instant::now(), &frame), frame.len());
        }
        // The server's WebSocket machine ends the transport: TLS sends close_notify.
        if ws_s.poll_action().is_some() {
            pair.server.close(Instant::now());
        }
        pair.drive_with(&Split::Sizes(vec![1000, 7, 333]));
        s_buf.extend_from_slice(&plaintext(&mut pair.server));
        ws_s.handle_input(now, &mut s_buf);
        while let Some(event) = ws_s.poll_event() {
            if let WsEvent::Message(message) = &event {
                ws_s.send(now, message.clone()).unwrap();
            }
            // `Drain` (after the big message filled the queue) is not under test here.
            if event != WsEvent::Drain {
                server_events.push(event);
            }
        }
        c_buf.extend_from_slice(&plaintext(&mut pair.client));
        ws_c.handle_input(now, &mut c_buf);
        let tls_events = events(&mut pair.client);
        if tls_events.contains(&TlsEvent::End) {
            ws_c.handle_eof(now);
        }
        client_tls_events.extend(tls_events);
        client_events
            .extend(std::iter::from_fn(|| ws_c.poll_event()).filter(|e| *e != WsEvent::Drain));
        if client_events.len() == 2 && !closed {
            ws_c.close(now, Some(1000), "done").unwrap();
            closed = true;
        }
        if matches!(client_events.last(), Some(WsEvent::Close { .. })) {
            break;
        }
    }
    let kinds = |events: &[WsEvent]| {
        events
            .iter()
            .map(|e| match e {
                WsEvent::Message(m) => format!("Message({} bytes)", m.data().len()),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(server_events.len(), 3, "{:?}", kinds(&server_events));
    assert_eq!(server_events[0], WsEvent::Message(Message::text("hello")));
    assert!(server_events[1] == WsEvent::Message(Message::text(big.clone())));
    assert!(
        matches!(&server_events[2], WsEvent::Close { code: 1000, reason, was_clean: true } if reason == "done"),
        "{:?}",
        kinds(&server_events)
    );
    assert_eq!(client_events.len(), 3, "{:?}", kinds(&client_events));
    assert_eq!(client_events[0], WsEvent::Message(Message::text("hello")));
    assert!(client_events[1] == WsEvent::Message(Message::text(big)));
    assert!(
        matches!(
            client_events[2],
            WsEvent::Close {
                code: 1000,
                was_clean: true,
                ..
            }
        ),
        "{:?}",
        kinds(&client_events)
    );
    assert_eq!(client_tls_events, vec![TlsEvent::End]);
}
