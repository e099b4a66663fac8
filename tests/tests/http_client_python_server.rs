//! sansnet's HTTP client against Python's `http.server` (HTTP/1.0 responses): a file served
//! with `Content-Length` by `python3 -m http.server`, a 404, and a close-delimited body from
//! `tests/peers/http_server_close.py`; no HTTP/1.0 connection is reused.
//!
//! Every test starts its own Python server on port 0 and its own `EventLoop`; every wait is
//! bounded by `common::WAIT`. A missing python3 fails the test (`peers::python` panics).
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::process::Command;

use common::{
    Json, PeerServer, assert_success_order, client_body, client_exchange, client_socket,
    client_status, random_bytes, sha256, start_peer_server, until_true,
};
use sansnet_http1::{AgentConfig, ClientRequest, Origin, PoolRequestId, ResponseBody, Version};
use sansnet_mio::{ClientRequestEvent, EventLoop, RequestOptions};
use sansnet_testkit::peers;

/// A keep-alive agent: whatever does not get reused is the server's (HTTP/1.0's) doing.
fn client_loop() -> EventLoop {
    let mut ev = EventLoop::new().unwrap();
    ev.set_agent(AgentConfig {
        keep_alive: true,
        max_sockets: Some(2),
        ..AgentConfig::default()
    });
    ev
}

/// `GET path` to `server`, ended at once; its events up to `Close`.
fn get(ev: &mut EventLoop, server: &PeerServer, path: &str) -> Vec<ClientRequestEvent> {
    let origin = Origin::new("http", "127.0.0.1", server.port);
    let id: PoolRequestId = ev.http_request(
        origin,
        ClientRequest::new("GET", path.to_owned()),
        RequestOptions::default(),
    );
    ev.http_end(id, None).unwrap();
    client_exchange(ev, &[id]).requests.remove(&id).unwrap()
}

fn response(events: &[ClientRequestEvent]) -> sansnet_http1::ResponseHead {
    events
        .iter()
        .find_map(|e| match e {
            ClientRequestEvent::Response(head) => Some(head.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Response: {events:?}"))
}

fn header<'a>(head: &'a sansnet_http1::ResponseHead, name: &str) -> Option<&'a [u8]> {
    head.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v)
}

/// `python3 -m http.server --bind 127.0.0.1 0 --directory DIR`, port read from its
/// "Serving HTTP on 127.0.0.1 port N" line.
fn start_python_http_server(dir: &std::path::Path) -> PeerServer {
    start_peer_server(
        Command::new(peers::python())
            .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"])
            .arg("--directory")
            .arg(dir)
            .current_dir(dir),
        "python3 -m http.server",
        |line| {
            let rest = line.strip_prefix("Serving HTTP on 127.0.0.1 port ")?;
            rest.split_whitespace().next()?.parse().ok()
        },
    )
}

/// docs/node-semantics.md#http-client-bodiless (framing by `Content-Length`), Node source
/// `lib/_http_client.js` › `responseOnEnd` (an HTTP/1.0 response without keep-alive: the client
/// closes the socket after it and never reuses it, even with a keep-alive agent); the file comes
/// back byte for byte, and a missing file is a 404 on a new socket.
#[test]
fn http10_file_then_404_never_reuses() {
    let dir = std::env::temp_dir().join(format!("sansnet-{}-pyhttp", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = random_bytes(300 * 1024, 128);
    std::fs::write(dir.join("data.bin"), &file).unwrap();
    let server = start_python_http_server(&dir);
    let mut ev = client_loop();

    let events = get(&mut ev, &server, "/data.bin");
    assert_success_order(&events, "GET /data.bin");
    let head = response(&events);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.version,
        Version::Http10,
        "python's http.server speaks 1.0"
    );
    assert!(
        !head.keep_alive,
        "Node source lib/_http_client.js › responseOnEnd: HTTP/1.0 without keep-alive"
    );
    assert_eq!(head.body, ResponseBody::ContentLength(file.len() as u64));
    let body = client_body(&events);
    assert_eq!(body.len(), file.len());
    assert_eq!(sha256(&body), sha256(&file), "the file, byte for byte");
    let (first, reused) = client_socket(&events).unwrap();
    assert!(!reused);
    until_true(&mut ev, "the HTTP/1.0 socket to close", |ev, _| {
        ev.socket(first).is_none()
    });
    assert_eq!(
        ev.agent().total_sockets(),
        0,
        "Node source lib/_http_client.js › responseOnEnd: the 1.0 connection is not pooled"
    );

    let events = get(&mut ev, &server, "/missing.txt");
    assert_success_order(&events, "GET /missing.txt");
    assert_eq!(client_status(&events), Some(404));
    let head = response(&events);
    let length: usize = std::str::from_utf8(header(&head, "content-length").unwrap())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        client_body(&events).len(),
        length,
        "the 404 page is complete"
    );
    let (second, reused) = client_socket(&events).unwrap();
    assert!(
        !reused && second != first,
        "Node source lib/_http_client.js › responseOnEnd: a new connection for the next request: {events:?}"
    );
    let log = server.stop();
    assert!(
        log.contains("\"GET /data.bin HTTP/1.1\" 200") && log.contains("404"),
        "the server logged both requests:\n{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// RFC 9112 §9.8 (a close-delimited body ends when the server closes: all 100 000 bytes, then
/// `End`), Node source `lib/_http_client.js` › `responseOnEnd` (that connection is not reused: the
/// next request opens another).
#[test]
fn http10_close_delimited_body_ends_at_close() {
    let script = peers::scripts_dir().join("http_server_close.py");
    let server = start_peer_server(
        Command::new(peers::python()).arg(script),
        "tests/peers/http_server_close.py",
        |line| {
            let json = Json::parse(line).ok()?;
            u16::try_from(json.get("port").num()).ok()
        },
    );
    let mut ev = client_loop();
    let events = get(&mut ev, &server, "/stream?n=100000");
    assert_success_order(&events, "GET /stream");
    let head = response(&events);
    assert_eq!(head.status, 200);
    assert_eq!(head.version, Version::Http10);
    assert_eq!(
        head.body,
        ResponseBody::UntilClose,
        "no Content-Length: close-delimited"
    );
    let body = client_body(&events);
    let expected: Vec<u8> = b"0123456789"
        .iter()
        .copied()
        .cycle()
        .take(100_000)
        .collect();
    assert_eq!(body.len(), expected.len(), "RFC 9112 §9.8: the whole body");
    assert_eq!(body, expected);
    let (first, _) = client_socket(&events).unwrap();

    let events = get(&mut ev, &server, "/nothing");
    assert_success_order(&events, "GET /nothing");
    assert_eq!(client_status(&events), Some(404));
    let (second, reused) = client_socket(&events).unwrap();
    assert!(
        !reused && second != first,
        "Node source lib/_http_client.js › responseOnEnd: a new connection: {events:?}"
    );
    drop(server.stop());
}
