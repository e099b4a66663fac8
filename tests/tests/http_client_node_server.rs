//! sansnet's HTTP client (the driver's `http_request` through its Agent) against Node's
//! `http` server (`tests/peers/http_server.mjs`): pooling under `max_sockets`, keep-alive
//! reuse, `Expect: 100-continue` both ways, Upgrade and CONNECT hand-over, `agent: false`,
//! a refused connection, and a server closing an idle kept-alive socket.
//!
//! Every test starts its own Node server on port 0 and its own `EventLoop`; every wait is
//! bounded by `common::WAIT`. A missing Node fails the test (`peers::node` panics).
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{
    Json, PeerServer, assert_success_order, client_body, client_exchange, client_socket,
    client_status, random_bytes, sha256, start_node_http_server, until_true,
};
use sansnet_http1::{AgentConfig, ClientRequest, Origin, PoolRequestId};
use sansnet_mio::{ClientRequestEvent, Event, EventLoop, RequestOptions, SocketId};
use sansnet_tcp::{Address, SocketEvent};

/// A loop whose agent keeps connections alive, at most 2 per origin.
fn client_loop() -> EventLoop {
    let mut ev = EventLoop::new().unwrap();
    ev.set_agent(AgentConfig {
        keep_alive: true,
        max_sockets: Some(2),
        ..AgentConfig::default()
    });
    ev
}

fn origin(server: &PeerServer) -> Origin {
    Origin::new("http", "127.0.0.1", server.port)
}

/// `GET path`, ended at once.
fn get(ev: &mut EventLoop, server: &PeerServer, path: &str) -> PoolRequestId {
    get_with(
        ev,
        server,
        ClientRequest::new("GET", path.to_owned()),
        false,
    )
}

fn get_with(
    ev: &mut EventLoop,
    server: &PeerServer,
    head: ClientRequest,
    one_off: bool,
) -> PoolRequestId {
    let options = RequestOptions {
        one_off,
        ..RequestOptions::default()
    };
    let id = ev.http_request(origin(server), head, options);
    ev.http_end(id, None).unwrap();
    id
}

/// One request's events, after waiting for its `Close`.
fn exchange_one(ev: &mut EventLoop, id: PoolRequestId) -> Vec<ClientRequestEvent> {
    let mut exchange = client_exchange(ev, &[id]);
    exchange.requests.remove(&id).unwrap()
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// Pulls events for `for_how_long` (keeping the loop turning), returning them.
fn idle(ev: &mut EventLoop, for_how_long: Duration) -> Vec<Event> {
    let until = Instant::now() + for_how_long;
    let mut seen = Vec::new();
    until_true(ev, "an idle pause", |_, event| {
        seen.extend(event);
        Instant::now() >= until
    });
    seen
}

/// Reads raw `Event::Socket` data of `socket` (after a hand-over) until `want` bytes
/// arrived, starting from `already` (the hand-over's `head` and anything collected).
fn read_raw(ev: &mut EventLoop, socket: SocketId, mut already: Vec<u8>, want: usize) -> Vec<u8> {
    until_true(ev, "raw data on the handed-over socket", |_, event| {
        if let Some(Event::Socket {
            socket: s,
            event: SocketEvent::Data(data),
        }) = event
            && s == socket
        {
            already.extend_from_slice(&data);
        }
        already.len() >= want
    });
    already
}

/// Raw data of `socket` among events already collected.
fn raw_data(events: &[Event], socket: SocketId) -> Vec<u8> {
    let mut out = Vec::new();
    for event in events {
        if let Event::Socket {
            socket: s,
            event: SocketEvent::Data(data),
        } = event
            && *s == socket
        {
            out.extend_from_slice(data);
        }
    }
    out
}

/// Node docs `http.md` › `http.request()` (each request: socket, response, data*, end, close), Node
/// source `lib/_http_agent.js` › `addRequest` (with `max_sockets: 2` ten requests issued at once
/// share exactly two connections; the rest wait), docs/node-semantics.md#agent-free-to-queue (a
/// freed connection goes to the next queued request).
#[test]
fn agent_ten_gets_at_once_use_two_sockets() {
    let server = start_node_http_server(&[]);
    let mut ev = client_loop();
    let ids: Vec<PoolRequestId> = (0..10).map(|_| get(&mut ev, &server, "/n")).collect();
    assert!(
        ev.agent().total_sockets() <= 2,
        "Node source lib/_http_agent.js › addRequest: at most max_sockets connections are opened, got {}",
        ev.agent().total_sockets()
    );
    let exchange = client_exchange(&mut ev, &ids);
    let mut per_socket: BTreeMap<SocketId, Vec<u64>> = BTreeMap::new();
    let mut reused = 0;
    for (i, id) in ids.iter().enumerate() {
        let events = exchange.of(*id);
        assert_success_order(events, &format!("request {i}"));
        assert_eq!(client_status(events), Some(200), "request {i}: {events:?}");
        let (socket, was_reused) = client_socket(events).unwrap();
        reused += usize::from(was_reused);
        let count: u64 = text(&client_body(events)).parse().unwrap();
        per_socket.entry(socket).or_default().push(count);
    }
    assert_eq!(
        per_socket.len(),
        2,
        "Node source lib/_http_agent.js › addRequest: exactly max_sockets = 2 distinct connections: {per_socket:?}"
    );
    assert_eq!(
        reused, 8,
        "docs/node-semantics.md#agent-free-to-queue: 2 new connections, 8 reused"
    );
    for (socket, mut counts) in per_socket {
        counts.sort_unstable();
        let expected: Vec<u64> = (1..=counts.len() as u64).collect();
        assert_eq!(
            counts, expected,
            "the server counted these requests on {socket:?}'s connection"
        );
    }
    assert!(ev.agent().total_sockets() <= 2);
    drop(server.stop());
}

/// docs/node-semantics.md#agent-free-event, #agent-pool-free (after each response the kept-alive
/// socket goes back to the pool and the next request takes it: `reused` is false, then true), Node
/// docs `http.md` › `new Agent()` (the agent sends `Connection: keep-alive` and `Host`).
#[test]
fn agent_sequential_gets_reuse_one_socket() {
    let server = start_node_http_server(&[]);
    let mut ev = client_loop();
    let mut sockets = Vec::new();
    for i in 1..=3 {
        let id = get(&mut ev, &server, "/n");
        let events = exchange_one(&mut ev, id);
        assert_success_order(&events, &format!("GET /n #{i}"));
        assert_eq!(
            text(&client_body(&events)),
            i.to_string(),
            "Node source lib/_http_client.js › responseKeepAlive: request {i} is the {i}th on the server's socket"
        );
        sockets.push(client_socket(&events).unwrap());
    }
    let first = sockets[0].0;
    assert_eq!(
        sockets,
        vec![(first, false), (first, true), (first, true)],
        "Node docs http.md › agent.maxFreeSockets: one connection, reused after the first request"
    );
    let id = get(&mut ev, &server, "/headers");
    let events = exchange_one(&mut ev, id);
    assert_success_order(&events, "GET /headers");
    assert_eq!(client_socket(&events), Some((first, true)));
    let headers = Json::parse(&text(&client_body(&events))).unwrap();
    assert_eq!(
        headers.get("connection").str(),
        "keep-alive",
        "Node docs http.md › new Agent()"
    );
    assert_eq!(
        headers.get("host").str(),
        format!("127.0.0.1:{}", server.port)
    );
    drop(server.stop());
}

/// Node docs `http.md` › `Event: 'information'` (`100 Continue` emits `Continue`, before the final
/// `Response`), RFC 9110 §10.1.1 (the head goes at once; the 256 KiB body is held until `Continue`
/// and then echoed intact).
#[test]
fn expect_continue_accepted_sends_body_after_continue() {
    let server = start_node_http_server(&[]);
    let mut ev = client_loop();
    let body = random_bytes(256 * 1024, 119);
    let head = ClientRequest::new("POST", "/continue-ok")
        .header("Content-Length", body.len().to_string())
        .header("Expect", "100-continue");
    let id = ev.http_request(origin(&server), head, RequestOptions::default());
    ev.http_write(id, body.clone()).unwrap();
    ev.http_end(id, None).unwrap();
    let events = exchange_one(&mut ev, id);
    let continue_at = events
        .iter()
        .position(|e| *e == ClientRequestEvent::Continue);
    let response_at = events
        .iter()
        .position(|e| matches!(e, ClientRequestEvent::Response(_)));
    let (Some(continue_at), Some(response_at)) = (continue_at, response_at) else {
        panic!(
            "Node docs http.md › Event: 'information': Continue and Response expected: {events:?}"
        );
    };
    assert!(
        continue_at < response_at,
        "Node docs http.md › Event: 'information': Continue comes before Response"
    );
    assert!(
        matches!(events[0], ClientRequestEvent::Socket { .. }),
        "{events:?}"
    );
    assert_eq!(client_status(&events), Some(200));
    assert_eq!(events.last(), Some(&ClientRequestEvent::Close));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ClientRequestEvent::Error(_))),
        "{events:?}"
    );
    let echoed = client_body(&events);
    assert_eq!(echoed.len(), body.len(), "the echo has the body's length");
    assert_eq!(
        sha256(&echoed),
        sha256(&body),
        "RFC 9110 §10.1.1: the echo matches"
    );
    drop(server.stop());
}

/// RFC 9110 §10.1.1 (a final response before `100 Continue`: the request completes with the 417, no
/// `Continue`, the held body is never sent, and the connection, which still owes the body,
/// is not reused: the next request gets a new socket).
#[test]
fn expect_continue_refused_417_without_body_or_reuse() {
    let server = start_node_http_server(&[]);
    let mut ev = client_loop();
    let body = random_bytes(256 * 1024, 120);
    let head = ClientRequest::new("POST", "/continue-no")
        .header("Content-Length", body.len().to_string())
        .header("Expect", "100-continue");
    let id = ev.http_request(origin(&server), head, RequestOptions::default());
    ev.http_write(id, body.clone()).unwrap();
    ev.http_end(id, None).unwrap();
    // Catch the `Socket` event first, while the connection is up, to learn its local port.
    let mut early = Vec::new();
    until_true(&mut ev, "the 417 request's Socket event", |_, event| {
        match event {
            Some(Event::HttpClient { request, event }) if request == id => early.push(event),
            Some(other) => panic!("unexpected event {other:?}"),
            None => {}
        }
        early
            .iter()
            .any(|e| matches!(e, ClientRequestEvent::Socket { .. }))
    });
    let (socket, reused) = client_socket(&early).unwrap();
    assert!(!reused);
    let Some(Address::Tcp(local)) = ev.local_address(socket) else {
        panic!("the request's socket has no local address");
    };
    let mut events = early;
    if events.last() != Some(&ClientRequestEvent::Close) {
        events.extend(exchange_one(&mut ev, id));
    }
    assert_success_order(&events, "POST /continue-no");
    assert_eq!(client_status(&events), Some(417), "{events:?}");
    assert!(
        !events.contains(&ClientRequestEvent::Continue),
        "RFC 9110 §10.1.1: no Continue was sent: {events:?}"
    );
    // Give a wrongly released body time to reach the server.
    let _ = idle(&mut ev, Duration::from_millis(300));
    let id = get(
        &mut ev,
        &server,
        &format!("/bytes-read?port={}", local.port()),
    );
    let next = exchange_one(&mut ev, id);
    assert_success_order(&next, "GET /bytes-read");
    let (next_socket, next_reused) = client_socket(&next).unwrap();
    assert!(
        !next_reused && next_socket != socket,
        "RFC 9110 §10.1.1: the connection owing the refused body is not reused: {next:?}"
    );
    let report = Json::parse(&text(&client_body(&next))).unwrap();
    assert!(
        report.get("known").bool(),
        "the server saw port {}",
        local.port()
    );
    let read = report.get("bytesRead").num();
    assert!(
        read < 4096,
        "RFC 9110 §10.1.1: only the head reached the server, not the {} byte body (it read {read})",
        body.len()
    );
    drop(server.stop());
}

/// Node docs `http.md` › `Event: 'upgrade'` (a 101 with `Upgrade` emits `Upgrade` with the response
/// and the socket, which leaves the pool and is raw: the bytes after the 101 head arrive in `head`
/// and then as socket data, and an echo round trip works on it).
#[test]
fn upgrade_101_hands_over_raw_socket() {
    let server = start_node_http_server(&[]);
    let mut ev = client_loop();
    let head = ClientRequest::new("GET", "/upgrade")
        .header("Connection", "Upgrade")
        .header("Upgrade", "foo");
    let id = get_with(&mut ev, &server, head, false);
    let exchange = client_exchange(&mut ev, &[id]);
    let events = exchange.of(id);
    let (socket, _) = client_socket(events).unwrap();
    let Some(ClientRequestEvent::Upgrade {
        socket: raw,
        response,
        head,
    }) = events
        .iter()
        .find(|e| matches!(e, ClientRequestEvent::Upgrade { .. }))
        .cloned()
    else {
        panic!("Node docs http.md › Event: 'upgrade': an Upgrade event: {events:?}");
    };
    assert_eq!(raw, socket, "the upgraded socket is the request's socket");
    assert_eq!(response.status, 101);
    assert!(
        response
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case(b"upgrade") && v == b"foo")
    );
    assert!(
        !events.iter().any(|e| matches!(
            e,
            ClientRequestEvent::Response(_) | ClientRequestEvent::Error(_)
        )),
        "Node docs http.md › Event: 'upgrade': no Response or Error: {events:?}"
    );
    assert_eq!(events.last(), Some(&ClientRequestEvent::Close));
    let mut already = head.to_vec();
    already.extend(raw_data(&exchange.others, raw));
    let greeting = read_raw(&mut ev, raw, already, b"hello-upgraded".len());
    assert_eq!(
        greeting, b"hello-upgraded",
        "Node docs http.md › Event: 'upgrade': head plus raw data is what the server wrote after the 101"
    );
    ev.write(raw, Bytes::from_static(b"ping over foo")).unwrap();
    let echo = read_raw(&mut ev, raw, Vec::new(), b"ping over foo".len());
    assert_eq!(echo, b"ping over foo", "the raw socket echoes");
    assert_eq!(
        ev.agent().total_sockets(),
        0,
        "Node docs http.md › Event: 'upgrade': the upgraded socket left the pool"
    );
    ev.destroy(raw);
    drop(server.stop());
}

/// Node docs `http.md` › `Event: 'connect'` (the response to CONNECT emits `Connect` with status
/// 200 and a raw socket; a tunnel round trip works on it).
#[test]
fn connect_200_opens_tunnel() {
    let server = start_node_http_server(&[]);
    let mut ev = client_loop();
    let head = ClientRequest::new("CONNECT", "127.0.0.1:9");
    let id = get_with(&mut ev, &server, head, false);
    let exchange = client_exchange(&mut ev, &[id]);
    let events = exchange.of(id);
    let Some(ClientRequestEvent::Connect {
        socket: raw,
        response,
        head,
    }) = events
        .iter()
        .find(|e| matches!(e, ClientRequestEvent::Connect { .. }))
        .cloned()
    else {
        panic!("Node docs http.md › Event: 'connect': a Connect event: {events:?}");
    };
    assert_eq!(client_socket(events).map(|s| s.0), Some(raw));
    assert_eq!(response.status, 200);
    assert_eq!(events.last(), Some(&ClientRequestEvent::Close));
    assert!(
        head.is_empty(),
        "nothing follows the 200 until we write: {head:?}"
    );
    ev.write(raw, Bytes::from_static(b"through the tunnel"))
        .unwrap();
    let already = raw_data(&exchange.others, raw);
    let echo = read_raw(&mut ev, raw, already, b"through the tunnel".len());
    assert_eq!(
        echo, b"through the tunnel",
        "Node docs http.md › Event: 'connect': the tunnel echoes"
    );
    ev.destroy(raw);
    drop(server.stop());
}

/// Node docs `http.md` › `Class: http.Agent` (`agent: false`: a fresh socket of its own,
/// `Connection: close`, closed after the response and never pooled; the next pooled request opens
/// another).
#[test]
fn one_off_request_closes_its_socket() {
    let server = start_node_http_server(&[]);
    let mut ev = client_loop();
    let id = get_with(
        &mut ev,
        &server,
        ClientRequest::new("GET", "/headers"),
        true,
    );
    let events = exchange_one(&mut ev, id);
    assert_success_order(&events, "one-off GET /headers");
    let (socket, reused) = client_socket(&events).unwrap();
    assert!(
        !reused,
        "Node docs http.md › Class: http.Agent: a fresh socket"
    );
    let headers = Json::parse(&text(&client_body(&events))).unwrap();
    assert_eq!(
        headers.get("connection").str(),
        "close",
        "Node docs http.md › Class: http.Agent"
    );
    until_true(&mut ev, "the one-off socket to close", |ev, _| {
        ev.socket(socket).is_none()
    });
    assert_eq!(
        ev.agent().total_sockets(),
        0,
        "Node docs http.md › Class: http.Agent: never pooled"
    );
    assert_eq!(ev.agent().free(&origin(&server)), 0);
    let id = get(&mut ev, &server, "/n");
    let events = exchange_one(&mut ev, id);
    assert_success_order(&events, "pooled GET /n after the one-off");
    let (next, reused) = client_socket(&events).unwrap();
    assert!(!reused && next != socket, "{events:?}");
    assert_eq!(text(&client_body(&events)), "1");
    drop(server.stop());
}

/// Node docs `http.md` › `http.request()` (a refused connect: `Error` with `ECONNREFUSED`, then
/// `Close`, and no `Response`).
#[test]
fn refused_connection_errors_then_closes() {
    let (_guard, refused) = common::refused_address();
    let port = refused.port();
    let mut ev = client_loop();
    let id = ev.http_request(
        Origin::new("http", "127.0.0.1", port),
        ClientRequest::new("GET", "/"),
        RequestOptions::default(),
    );
    ev.http_end(id, None).unwrap();
    let events = exchange_one(&mut ev, id);
    // Node emits `socket` first (Node docs `http.md` › `http.request()`); the driver may or may
    // not: allow either.
    let rest = match events.first() {
        Some(ClientRequestEvent::Socket { .. }) => &events[1..],
        _ => &events[..],
    };
    match rest {
        [ClientRequestEvent::Error(error), ClientRequestEvent::Close] => {
            assert_eq!(
                error.code(),
                "ECONNREFUSED",
                "Node docs http.md › http.request(): {error}"
            );
        }
        other => panic!(
            "Node docs http.md › http.request(): Error(ECONNREFUSED) then Close, got {other:?}"
        ),
    }
}

/// Node source `lib/_http_agent.js` › `removeSocket` (the server closes an idle kept-alive socket:
/// Node 20 with `keepAliveTimeout: 200` closes it about 1.2 s after the response; after 1.5 s idle
/// the next GET still succeeds, on a fresh connection, with no error).
#[test]
fn server_closed_idle_socket_next_get_succeeds() {
    let server = start_node_http_server(&["--keep-alive-timeout", "200"]);
    let mut ev = client_loop();
    let id = get(&mut ev, &server, "/n");
    let events = exchange_one(&mut ev, id);
    assert_success_order(&events, "first GET /n");
    let (first, _) = client_socket(&events).unwrap();
    let _ = idle(&mut ev, Duration::from_millis(1500));
    assert!(
        ev.socket(first).is_none(),
        "Node source lib/_http_agent.js › removeSocket: the socket the server closed left the pool"
    );
    let id = get(&mut ev, &server, "/n");
    let events = exchange_one(&mut ev, id);
    assert_success_order(&events, "GET /n after the server closed the idle socket");
    assert_eq!(client_status(&events), Some(200), "{events:?}");
    assert_eq!(
        text(&client_body(&events)),
        "1",
        "the answer came on a new server-side connection"
    );
    let (socket, reused) = client_socket(&events).unwrap();
    assert!(
        socket != first && !reused,
        "Node source lib/_http_agent.js › removeSocket: a fresh socket: {events:?}"
    );
    drop(server.stop());
}

/// Node source `lib/_http_agent.js` › `keepSocketAlive` (a response with `Keep-Alive: timeout=0`,
/// which Node 20 sends for `keepAliveTimeout: 200`, leaves N - 1 s <= 0, so the socket is not
/// pooled: the next request, even at once, gets a fresh socket).
#[test]
fn keep_alive_timeout_zero_hint_is_not_pooled() {
    let server = start_node_http_server(&["--keep-alive-timeout", "200"]);
    let mut ev = client_loop();
    let id = get(&mut ev, &server, "/n");
    let events = exchange_one(&mut ev, id);
    assert_success_order(&events, "first GET /n");
    let Some(ClientRequestEvent::Response(head)) = events
        .iter()
        .find(|e| matches!(e, ClientRequestEvent::Response(_)))
    else {
        panic!("a response: {events:?}");
    };
    assert!(
        head.headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case(b"keep-alive") && v == b"timeout=0"),
        "Node 20 announces Keep-Alive: timeout=0 for keepAliveTimeout 200: {head:?}"
    );
    let (first, _) = client_socket(&events).unwrap();
    let id = get(&mut ev, &server, "/n");
    let events = exchange_one(&mut ev, id);
    assert_success_order(&events, "second GET /n");
    let (socket, reused) = client_socket(&events).unwrap();
    assert!(
        socket != first && !reused,
        "Node source lib/_http_agent.js › keepSocketAlive: a socket whose server announced timeout=0 is not pooled; the second \
         request went on {socket:?} (first {first:?}), reused={reused}, server count {:?}",
        text(&client_body(&events))
    );
    drop(server.stop());
}

/// RFC 9112 §9.3.1 (the server destroys a reused kept-alive connection on receiving a GET, before
/// any response byte: the idempotent GET is retried on a fresh connection and succeeds, with
/// no error; its first `Socket` said `reused`).
#[test]
fn reused_socket_closed_before_response_retries_get() {
    let server = start_node_http_server(&[]);
    let mut ev = client_loop();
    let id = get(&mut ev, &server, "/n");
    let events = exchange_one(&mut ev, id);
    assert_success_order(&events, "first GET /n");
    let (first, _) = client_socket(&events).unwrap();
    let id = get(&mut ev, &server, "/drop-if-reused");
    let events = exchange_one(&mut ev, id);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ClientRequestEvent::Error(_))),
        "RFC 9112 §9.3.1: the retry hides the close: {events:?}"
    );
    let sockets: Vec<(SocketId, bool)> = events
        .iter()
        .filter_map(|e| match e {
            ClientRequestEvent::Socket { socket, reused } => Some((*socket, *reused)),
            _ => None,
        })
        .collect();
    assert_eq!(
        sockets.first(),
        Some(&(first, true)),
        "RFC 9112 §9.3.1: first sent on the reused socket"
    );
    let last = *sockets.last().unwrap();
    assert!(
        last.0 != first && !last.1,
        "RFC 9112 §9.3.1: retried on a fresh socket: {sockets:?}"
    );
    assert_eq!(client_status(&events), Some(200), "{events:?}");
    assert_eq!(text(&client_body(&events)), "1");
    assert_eq!(events.last(), Some(&ClientRequestEvent::Close));
    drop(server.stop());
}
