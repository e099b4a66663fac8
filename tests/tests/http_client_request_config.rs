//! Each pooled request runs with its own `ClientConfig` (`RequestOptions::client`): its
//! `continue_timeout` applies though it sets no `timeout`, and a `timeout` one request set
//! does not follow the connection to the next request (Node docs: http.md ›
//! http.request(options[, callback]): `timeout` is an option of the request).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::until;
use sansnet_http1::{AgentConfig, ClientConfig, ClientRequest, Origin, PoolRequestId};
use sansnet_mio::{ClientRequestEvent, Event, EventLoop, RequestOptions};

/// Reads one request head from `tcp`; returns it.
fn read_head(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tcp.read(&mut byte).unwrap();
        assert!(n > 0, "the client closed mid-head: {head:?}");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// A keep-alive server on one connection: `/up` reads its 5-byte body (never sending
/// `100 Continue`) and reports how long after the head the body came; `/slow` answers after
/// 600 ms; everything else at once.
fn server(listener: TcpListener, report: mpsc::Sender<Duration>) {
    let (mut tcp, _) = listener.accept().unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    loop {
        let mut first = [0u8; 1];
        if tcp.read(&mut first).unwrap_or(0) == 0 {
            return;
        }
        let head = format!("{}{}", first[0] as char, read_head(&mut tcp));
        if head.starts_with("POST /up ") {
            let start = Instant::now();
            let mut body = [0u8; 5];
            if tcp.read_exact(&mut body).is_err() {
                // No body within 5 s: the client is still holding it for `100 Continue`.
                return;
            }
            report.send(start.elapsed()).unwrap();
        } else if head.starts_with("GET /slow ") {
            std::thread::sleep(Duration::from_millis(600));
        }
        tcp.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .unwrap();
    }
}

/// Runs one request to `port` with `config` and returns its events, up to `Close`.
fn exchange(
    ev: &mut EventLoop,
    port: u16,
    request: ClientRequest,
    body: Option<Bytes>,
    config: ClientConfig,
) -> Vec<ClientRequestEvent> {
    let options = RequestOptions {
        client: config,
        ..RequestOptions::default()
    };
    let id: PoolRequestId =
        ev.http_request(Origin::new("http", "127.0.0.1", port), request, options);
    ev.http_end(id, body).unwrap();
    let mut events = Vec::new();
    until(
        ev,
        "the request's close",
        |event| match event {
            Event::HttpClient { request, event } if *request == id => {
                events.push(event.clone());
                matches!(event, ClientRequestEvent::Close).then_some(())
            }
            _ => None,
        },
        |_, _| {},
    );
    events
}

#[test]
fn each_pooled_request_runs_with_its_own_client_config() {
    let listener = TcpListener::bind(common::loopback_any()).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    let server = std::thread::spawn(move || server(listener, tx));
    let mut ev = EventLoop::new().unwrap();
    // Node's `http.globalAgent` keeps connections alive (Node 19 and later).
    ev.set_agent(AgentConfig {
        keep_alive: true,
        ..AgentConfig::default()
    });

    // A `continue_timeout` without a `timeout`: the body goes after 200 ms of silence.
    let upload = ClientRequest::new("POST", "/up")
        .header("Expect", "100-continue")
        .header("Content-Length", "5");
    let config = ClientConfig {
        continue_timeout: Some(Duration::from_millis(200)),
        ..ClientConfig::default()
    };
    let events = exchange(
        &mut ev,
        port,
        upload,
        Some(Bytes::from_static(b"hello")),
        config,
    );
    let waited = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the body never came: the request's continue_timeout was not applied");
    assert!(
        waited >= Duration::from_millis(150),
        "the body came {waited:?} after the head, before continue_timeout"
    );
    assert!(
        matches!(&events[1], ClientRequestEvent::Response(r) if r.status == 200),
        "{events:?}"
    );

    // A `timeout` on one request, then a request without one on the same connection that
    // waits 600 ms for its answer: no `timeout` event for the second.
    let quick = ClientConfig {
        timeout: Some(Duration::from_millis(300)),
        ..ClientConfig::default()
    };
    let events = exchange(&mut ev, port, ClientRequest::new("GET", "/"), None, quick);
    assert!(
        matches!(&events[1], ClientRequestEvent::Response(r) if r.status == 200),
        "{events:?}"
    );
    let events = exchange(
        &mut ev,
        port,
        ClientRequest::new("GET", "/slow"),
        None,
        ClientConfig::default(),
    );
    assert!(
        matches!(&events[0], ClientRequestEvent::Socket { reused: true, .. }),
        "the second request reuses the connection: {events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ClientRequestEvent::Timeout)),
        "the first request's timeout followed the connection: {events:?}"
    );
    drop(ev);
    server.join().unwrap();
}
