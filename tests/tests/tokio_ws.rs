//! sansnet-tokio's WebSocket against real peers on loopback: Python `websockets` and Node's
//! `ws` as clients of a server made with `accept_ws`, and as servers for `ws_connect`, on the
//! current-thread and the multi-thread runtime; over `wss://`, Python's `websockets` over
//! `ssl` in both roles. Every run negotiates permessage-deflate (RFC 7692) and shows that
//! compressed frames crossed the wire (the peer counts frames with RSV1, or its socket read
//! far fewer bytes than the compressible messages hold), echoes text and binary messages and
//! ends with a clean closing handshake, code 1000 (RFC 6455 §5.5.1, §7.1.2).
//!
//! Each test binds port 0 on 127.0.0.1 and runs its peer with a time limit; a missing peer
//! fails the test (`peers::*` panics), it never skips.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::future::Future;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{Json, PeerServer, peer_report, run_bounded, start_peer_server};
use sansnet_stack::{Acceptor, ClientError, WsOpenError};
use sansnet_testkit::certs::{PemDir, TestCa, Usage};
use sansnet_testkit::peers;
use sansnet_tokio::{
    CloseStatus, Message, Request, Response, Server, WsConnectError, WsEvent, WsOptions, accept_ws,
    serve, serve_with, ws_connect,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// How long one peer run may take.
const PEER_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one test's async part may take.
const TEST_TIMEOUT: Duration = Duration::from_secs(90);

/// The two runtimes a tokio user may have.
#[derive(Debug, Clone, Copy)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

/// Runs `test` on a fresh runtime of `flavor`, bounded by [`TEST_TIMEOUT`].
fn run<T, F: Future<Output = T>>(flavor: Flavor, test: F) -> T {
    let runtime = match flavor {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Flavor::MultiThread => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(2);
            builder
        }
    }
    .enable_all()
    .build()
    .unwrap();
    runtime.block_on(async {
        tokio::time::timeout(TEST_TIMEOUT, test)
            .await
            .expect("the test ran out of time")
    })
}

/// What our echo server saw of one WebSocket.
#[derive(Debug)]
struct Seen {
    deflate: bool,
    protocol: Option<String>,
    messages: usize,
    close: Option<CloseStatus>,
}

/// Our WebSocket echo server: `accept_ws` on every upgrade (permessage-deflate agreed when
/// offered, threshold 0 so that every echo is compressed; the first of the client's
/// subprotocols in `protocols`), each WebSocket reported on `seen` once it closed.
async fn start_echo_server(protocols: &[&str]) -> (Server, mpsc::UnboundedReceiver<Seen>) {
    start_echo_server_with(protocols, None).await
}

/// [`start_echo_server`], over TLS with `tls` (a `wss:` server) when given.
async fn start_echo_server_with(
    protocols: &[&str],
    tls: Option<Arc<sansnet_tls::rustls::ServerConfig>>,
) -> (Server, mpsc::UnboundedReceiver<Seen>) {
    let protocols: Vec<String> = protocols.iter().map(|p| (*p).to_owned()).collect();
    let (tx, seen) = mpsc::unbounded_channel();
    let http = sansnet_http1::ServerConfig {
        upgrade: true,
        ..sansnet_http1::ServerConfig::default()
    };
    let mut acceptor = Acceptor::new(sansnet_tcp::SocketConfig::default()).with_http(http);
    if let Some(tls) = tls {
        acceptor = acceptor.with_tls(tls);
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = serve_with(listener, acceptor, move |mut request: Request| {
        let tx = tx.clone();
        let protocols = protocols.clone();
        async move {
            let Some(upgraded) = request.take_upgrade() else {
                return Response::new(426);
            };
            let mut options = WsOptions::new(sansnet_ws::Config {
                deflate: sansnet_ws::DeflateConfig {
                    threshold: 0,
                    ..sansnet_ws::DeflateConfig::default()
                },
                ..sansnet_ws::Config::default()
            });
            options.protocols = protocols;
            let mut ws = accept_ws(upgraded, request.head(), &options).await.unwrap();
            tokio::spawn(async move {
                let deflate = ws.deflate();
                let protocol = ws.protocol().map(str::to_owned);
                let mut messages = 0;
                while let Some(message) = ws.recv().await {
                    messages += 1;
                    ws.send(message.unwrap()).await.unwrap();
                }
                let close = ws.close_status().cloned();
                let _ = tx.send(Seen {
                    deflate,
                    protocol,
                    messages,
                    close,
                });
            });
            Response::new(101)
        }
    })
    .unwrap();
    (server, seen)
}

/// Checks what our server saw of the peer's WebSocket: permessage-deflate agreed, `messages`
/// echoed, the peer's Close 1000 with a completed handshake.
async fn assert_seen(seen: &mut mpsc::UnboundedReceiver<Seen>, messages: usize) {
    let seen = seen.recv().await.unwrap();
    assert!(seen.deflate, "RFC 7692 §5: permessage-deflate not agreed");
    assert_eq!(seen.messages, messages);
    let close = seen.close.expect("a Close event");
    assert_eq!(
        (close.code, close.was_clean),
        (1000, true),
        "RFC 6455 §7.1.5: {close:?}"
    );
}

/// `python3 tests/peers/SCRIPT`, with `websockets` (installed on first use).
fn python_script(script: &str) -> Command {
    let mut command = Command::new(peers::python_websockets());
    command.arg(peers::scripts_dir().join(script));
    command
}

/// `node tests/peers/SCRIPT` with NODE_PATH pointing at the `ws` package.
fn node_script(script: &str) -> Command {
    let mut command = Command::new(peers::node());
    command
        .env("NODE_PATH", peers::node_ws())
        .arg(peers::scripts_dir().join(script));
    command
}

fn port_from_json(line: &str) -> Option<u16> {
    u16::try_from(Json::parse(line).ok()?.get("port").num()).ok()
}

/// Python `websockets` as a client of our server: text, a 1 MiB binary message, a message
/// in three fragments (RFC 6455 §5.4), a Ping answered with its data (§5.5.2), compressed
/// frames both ways, a clean close 1000.
fn python_client(flavor: Flavor) {
    run(flavor, async {
        let (server, mut seen) = start_echo_server(&[]).await;
        let url = format!("ws://{}/echo", server.local_addr());
        let out = tokio::task::spawn_blocking(move || {
            run_bounded(
                python_script("ws_python_client.py").arg(url),
                PEER_TIMEOUT,
                "the Python websockets client",
            )
        })
        .await
        .unwrap();
        let report = peer_report(&out, "the Python websockets client");
        assert_eq!(report.get("text").str(), "hello from python");
        assert_eq!(report.get("binary_len").num(), 1 << 20);
        assert!(report.get("binary_same").bool(), "the 1 MiB echo differs");
        assert_eq!(report.get("fragmented").str(), "frag-ment-ed");
        assert!(report.get("pong").bool(), "RFC 6455 §5.5.2: no Pong");
        assert_eq!(report.get("extensions").str(), "permessage-deflate");
        assert!(
            report.get("compressed_in").num() >= 3,
            "RFC 7692 §6: our echoes reached Python uncompressed"
        );
        assert_eq!(report.get("close_code").num(), 1000);
        assert_seen(&mut seen, 3).await;
        server.close().await;
    });
}

#[test]
fn tokio_ws_python_client_current_thread() {
    python_client(Flavor::CurrentThread);
}

#[test]
fn tokio_ws_python_client_multi_thread() {
    python_client(Flavor::MultiThread);
}

/// Node's `ws` as a client of our server: text stays text, a 1 MiB binary echo that crossed
/// the socket compressed, a Ping answered with its data, a clean close 1000.
fn node_client(flavor: Flavor) {
    run(flavor, async {
        let (server, mut seen) = start_echo_server(&[]).await;
        let url = format!("ws://{}/ws", server.local_addr());
        let out = tokio::task::spawn_blocking(move || {
            run_bounded(
                node_script("ws_node_client.mjs").arg("echo").arg(url),
                PEER_TIMEOUT,
                "the Node ws client",
            )
        })
        .await
        .unwrap();
        let report = peer_report(&out, "the Node ws client");
        assert_eq!(report.get("text").str(), "hello from node");
        assert!(!report.get("text_is_binary").bool());
        assert_eq!(report.get("binary_len").num(), 1 << 20);
        assert!(report.get("binary_same").bool(), "the 1 MiB echo differs");
        assert_eq!(report.get("pong").str(), "node ping", "RFC 6455 §5.5.2");
        assert_eq!(report.get("extensions").str(), "permessage-deflate");
        let read = report.get("bytes_read").num();
        assert!(read < 256 * 1024, "{read} bytes read for a 1 MiB echo");
        assert_eq!(report.get("close_code").num(), 1000);
        assert_seen(&mut seen, 2).await;
        server.close().await;
    });
}

#[test]
fn tokio_ws_node_client_current_thread() {
    node_client(Flavor::CurrentThread);
}

#[test]
fn tokio_ws_node_client_multi_thread() {
    node_client(Flavor::MultiThread);
}

/// 100 KiB of repetitive text: compresses to about a kilobyte.
fn compressible() -> Message {
    Message::text("sansnet permessage-deflate ".repeat(100 * 1024 / 27))
}

/// Our client against the echo server at `url`: permessage-deflate agreed, a text, a 300
/// KiB binary and a 100 KiB compressible text message echoed, a Ping answered, then a close
/// 1000 that completes cleanly (the server echoes our Close and closes TCP first, RFC 6455
/// §7.1.1).
async fn our_client(url: String, options: WsOptions) {
    let text = Message::text("hello from sansnet-tokio");
    let blob = Message::Binary(common::random_bytes(300 * 1024, 7));
    let mut ws = ws_connect(&url, &options).await.unwrap();
    assert!(
        ws.deflate(),
        "RFC 7692 §7.1: permessage-deflate was not agreed"
    );
    ws.send(text.clone()).await.unwrap();
    ws.send(blob.clone()).await.unwrap();
    ws.send(compressible()).await.unwrap();
    ws.command(|ws, now| ws.ping(now, Bytes::from_static(b"ping!")))
        .unwrap();
    let mut echoed = Vec::new();
    let mut pong = false;
    let mut drained = false;
    let mut closing = false;
    while let Some(event) = ws.next_event().await {
        match event {
            WsEvent::Message(message) => echoed.push(message),
            WsEvent::Drain => drained = true,
            WsEvent::Pong(data) => {
                assert_eq!(&data[..], b"ping!", "RFC 6455 §5.5.2");
                pong = true;
            }
            WsEvent::Error(error) => panic!("protocol error from the peer: {error}"),
            _ => {}
        }
        if echoed.len() == 3 && pong && !closing {
            closing = true;
            ws.close(1000, "sansnet done").await.unwrap();
        }
    }
    assert!(
        closing,
        "closed before the echoes: {} and pong {pong}",
        echoed.len()
    );
    // The 300 KiB message (random: deflate leaves it as large) went past the 16 KiB
    // high-water mark: `Drain` once it was written (the `ws` package's `bufferedAmount`
    // back under the mark).
    assert!(
        drained,
        "no Drain after the queue went past the high-water mark"
    );
    assert_eq!(
        ws.send(Message::text("late")).await,
        Err(sansnet_ws::UsageError::Closed.into()),
        "WHATWG WebSockets › send(): nothing is sent after the close"
    );
    assert_eq!(echoed[0], text);
    assert!(echoed[1] == blob, "the 300 KiB echo differs");
    assert!(echoed[2] == compressible(), "the compressible echo differs");
    let close = ws.close_status().unwrap();
    assert_eq!((close.code, close.was_clean), (1000, true), "{close:?}");
    assert_eq!(ws.recv().await, None, "nothing after the close");
}

/// The number after `key=` in a peer's log.
fn logged_number(log: &str, key: &str) -> Option<u64> {
    log.split(&format!("{key}="))
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Gives a peer server a moment to log the close it just finished, then stops it.
fn stop_after_close(server: PeerServer) -> String {
    std::thread::sleep(Duration::from_millis(500));
    server.stop()
}

/// `ws_connect` against Python's `websockets` server: the echoes, the Pong, a clean 1000,
/// and our two large messages compressed (RFC 7692 §6).
fn python_server(flavor: Flavor) {
    let server = start_peer_server(
        &mut python_script("ws_python_server.py"),
        "the Python websockets server",
        port_from_json,
    );
    let url = format!("ws://127.0.0.1:{}/", server.port);
    run(flavor, our_client(url, WsOptions::default()));
    let log = stop_after_close(server);
    assert!(
        log.contains("closed 1000"),
        "Python saw no Close 1000: {log}"
    );
    assert!(
        logged_number(&log, "compressed_in").is_some_and(|n| n >= 2),
        "Python saw no compressed frames from us: {log}"
    );
}

#[test]
fn tokio_ws_client_python_server_current_thread() {
    python_server(Flavor::CurrentThread);
}

#[test]
fn tokio_ws_client_python_server_multi_thread() {
    python_server(Flavor::MultiThread);
}

/// `ws_connect` against Node's `ws` server (perMessageDeflate on): the echoes, the Pong, a
/// clean 1000, and our compressible message compressed: `ws`'s socket read less than the
/// random 300 KiB plus 20 KiB.
fn node_server(flavor: Flavor) {
    let server = start_peer_server(
        &mut node_script("ws_node_server.mjs"),
        "the Node ws server",
        port_from_json,
    );
    let url = format!("ws://127.0.0.1:{}/", server.port);
    run(flavor, our_client(url, WsOptions::default()));
    let log = stop_after_close(server);
    assert!(log.contains("closed 1000"), "Node saw no Close 1000: {log}");
    assert!(log.contains("extensions=permessage-deflate"), "{log}");
    let read = logged_number(&log, "bytes_read").unwrap_or(u64::MAX);
    assert!(
        read < 320 * 1024,
        "{read} bytes read: not compressed\n{log}"
    );
}

#[test]
fn tokio_ws_client_node_server_current_thread() {
    node_server(Flavor::CurrentThread);
}

#[test]
fn tokio_ws_client_node_server_multi_thread() {
    node_server(Flavor::MultiThread);
}

/// `ws_connect` to a `wss://` URL (`WsOptions::tls` with a test CA, as
/// `Client::set_https_config`) against Python's `websockets` over `ssl`: TLS verified for
/// `localhost`, the echoes, permessage-deflate, a clean close 1000.
#[test]
fn tokio_wss_client_python_server() {
    let ca = TestCa::new("sansnet tokio wss CA");
    let leaf = ca.leaf(&["localhost", "127.0.0.1"], Usage::Server);
    let dir = PemDir::new("tokio-wss");
    let cert = dir.write("server.pem", &leaf.chain_pem);
    let key = dir.write("server.key", &leaf.key_pem);
    let server = start_peer_server(
        python_script("tls_python_ws.py")
            .arg("server")
            .arg(&cert)
            .arg(&key),
        "the Python wss server",
        port_from_json,
    );
    let tls = sansnet_tls::ClientOptions {
        ca: Some(sansnet_tls::certificates_from_pem(ca.cert_pem.as_bytes()).unwrap()),
        ..sansnet_tls::ClientOptions::default()
    }
    .build()
    .unwrap();
    let options = WsOptions {
        tls: Some(tls),
        ..WsOptions::default()
    };
    let url = format!("wss://localhost:{}/", server.port);
    run(Flavor::MultiThread, our_client(url.clone(), options));
    let log = stop_after_close(server);
    assert!(
        log.contains("closed 1000"),
        "Python saw no Close 1000: {log}"
    );

    // The same server, without the test CA: Mozilla's roots do not know it.
    let server = start_peer_server(
        python_script("tls_python_ws.py")
            .arg("server")
            .arg(&cert)
            .arg(&key),
        "the Python wss server",
        port_from_json,
    );
    let url = format!("wss://localhost:{}/", server.port);
    let error = run(Flavor::CurrentThread, async move {
        ws_connect(&url, &WsOptions::default()).await.unwrap_err()
    });
    let WsConnectError::Open(WsOpenError::Request(ClientError::Tls(error))) = &error else {
        panic!("a TLS failure, not {error:?}");
    };
    assert_eq!(error.code(), "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "{error}");
    drop(server);
}

/// A `wss:` server: `accept_ws` on a TLS `Acceptor` (`sansnet-tls` beneath the same stack),
/// with Python's `websockets` over `ssl` as its client (a text and a 16 KiB binary echo,
/// TLS 1.3 verified against the test CA for `localhost`, a clean close 1000).
#[test]
fn tokio_wss_python_client() {
    let ca = TestCa::new("sansnet tokio wss server CA");
    let leaf = ca.leaf(&["localhost"], Usage::Server);
    let dir = PemDir::new("tokio-wss-server");
    let ca_file = dir.write("ca.pem", &ca.cert_pem);
    let identity =
        sansnet_tls::Identity::from_pem(leaf.chain_pem.as_bytes(), leaf.key_pem.as_bytes())
            .unwrap();
    let tls = sansnet_tls::ServerOptions::new(identity).build().unwrap();
    run(Flavor::MultiThread, async move {
        let (server, mut seen) = start_echo_server_with(&[], Some(tls)).await;
        let port = server.local_addr().port().to_string();
        let out = tokio::task::spawn_blocking(move || {
            run_bounded(
                python_script("tls_python_ws.py")
                    .arg("client")
                    .arg(port)
                    .arg(ca_file),
                PEER_TIMEOUT,
                "the Python wss client",
            )
        })
        .await
        .unwrap();
        let report = peer_report(&out, "the Python wss client");
        assert_eq!(report.get("text").str(), "hello from python over wss");
        assert_eq!(report.get("binary_len").num(), 16384);
        assert!(report.get("binary_ok").bool());
        assert_eq!(report.get("version").str(), "TLSv1.3");
        assert_eq!(report.get("close_code").num(), 1000);
        assert_seen(&mut seen, 2).await;
        server.close().await;
    });
}

/// `ws_connect` fails with typed errors: `ECONNREFUSED` and `ENOTFOUND` (Node's `'error'`
/// codes), a server that answers 404 instead of 101 (RFC 6455 §4.1: the `ws` package's
/// `Unexpected server response: 404`), and a URL that is not `ws:` or `wss:`.
#[test]
fn tokio_ws_connect_errors() {
    let (_guard, refused) = common::refused_address();
    run(Flavor::CurrentThread, async move {
        let error = ws_connect(&format!("ws://{refused}/"), &WsOptions::default())
            .await
            .unwrap_err();
        let WsConnectError::Open(WsOpenError::Request(error)) = &error else {
            panic!("a failed request, not {error:?}");
        };
        assert_eq!(error.code(), "ECONNREFUSED");
        let error = ws_connect("ws://no-such-host.invalid/", &WsOptions::default())
            .await
            .unwrap_err();
        let WsConnectError::Open(WsOpenError::Request(error)) = &error else {
            panic!("a failed request, not {error:?}");
        };
        assert_eq!(error.code(), "ENOTFOUND");

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve(listener, |_| async { Response::new(404).body("no") }).unwrap();
        let url = format!("ws://{}/", server.local_addr());
        let error = ws_connect(&url, &WsOptions::default()).await.unwrap_err();
        assert_eq!(
            error,
            WsConnectError::Open(WsOpenError::Handshake(
                sansnet_ws::HandshakeError::NotSwitching(404)
            ))
        );
        server.close().await;

        let error = ws_connect("ftp://127.0.0.1/", &WsOptions::default())
            .await
            .unwrap_err();
        let WsConnectError::InvalidUrl(error) = error else {
            panic!("a refused URL, not {error:?}");
        };
        assert_eq!(error.code(), "ERR_INVALID_PROTOCOL");
    });
}

/// RFC 6455 §4.2.1, §4.4: `accept_ws` refuses an upgrade without `Sec-WebSocket-Key` with 400
/// and one of version 12 with 426 and `Sec-WebSocket-Version: 13`, each with a typed error,
/// then the connection closes.
#[test]
fn tokio_ws_accept_refuses_bad_handshakes() {
    run(Flavor::MultiThread, async {
        let (tx, mut errors) = mpsc::unbounded_channel();
        let http = sansnet_http1::ServerConfig {
            upgrade: true,
            ..sansnet_http1::ServerConfig::default()
        };
        let acceptor = Acceptor::new(sansnet_tcp::SocketConfig::default()).with_http(http);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve_with(listener, acceptor, move |mut request: Request| {
            let tx = tx.clone();
            async move {
                let upgraded = request.take_upgrade().unwrap();
                let result = accept_ws(upgraded, request.head(), &WsOptions::default()).await;
                let _ = tx.send(result.err());
                Response::new(101)
            }
        })
        .unwrap();
        let exchange = |extra: &'static str| {
            let addr = server.local_addr();
            async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let head = format!(
                    "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
                     Connection: Upgrade\r\n{extra}\r\n"
                );
                stream.write_all(head.as_bytes()).await.unwrap();
                let mut answer = String::new();
                stream.read_to_string(&mut answer).await.unwrap();
                answer
            }
        };
        let answer = exchange("Sec-WebSocket-Version: 13\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer:?}");
        assert_eq!(
            errors.recv().await.unwrap(),
            Some(sansnet_ws::HandshakeError::InvalidKey.into())
        );
        let answer = exchange(
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 426 "), "{answer:?}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("\r\nsec-websocket-version: 13\r\n"),
            "{answer:?}"
        );
        assert_eq!(
            errors.recv().await.unwrap(),
            Some(sansnet_ws::HandshakeError::UnsupportedVersion.into())
        );
        server.close().await;
    });
}

/// Both ends of the crate: our client against our server on the multi-thread runtime, with
/// subprotocols (RFC 6455 §4.2.2: the server picks one the client offered, here the first of
/// its own list, and both ends see it) on top of the echoes and the clean close.
#[test]
fn tokio_ws_our_client_against_our_server_multi_thread() {
    run(Flavor::MultiThread, async {
        let (server, mut seen) = start_echo_server(&["d", "c", "b"]).await;
        let url = format!("ws://{}/", server.local_addr());
        let options = WsOptions {
            protocols: vec!["a".into(), "b".into(), "c".into()],
            ..WsOptions::default()
        };
        let mut ws = ws_connect(&url, &options).await.unwrap();
        assert_eq!(ws.protocol(), Some("c"));
        ws.close(1000, "").await.unwrap();
        drop(ws);
        let first = seen.recv().await.unwrap();
        assert_eq!(first.protocol.as_deref(), Some("c"));

        our_client(url, WsOptions::default()).await;
        let seen = seen.recv().await.unwrap();
        assert!(seen.deflate);
        assert_eq!((seen.messages, seen.protocol), (3, None));
        let close = seen.close.unwrap();
        assert_eq!((close.code, close.was_clean), (1000, true));
        server.close().await;
    });
}

/// RFC 6455 §5.2 (Autobahn case 3.2 in one read): a message, then a frame with a reserved bit
/// set, arrive in the write of the 101. The client gets the message and answers it before the
/// protocol error: nothing after a message is decoded before its application took it.
#[test]
fn tokio_ws_client_answers_a_message_before_a_later_protocol_error() {
    run(Flavor::CurrentThread, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                head.push(stream.read_u8().await.unwrap());
            }
            let head = String::from_utf8(head).unwrap();
            let key = head
                .lines()
                .filter_map(|line| line.split_once(": "))
                .find(|(name, _)| name.eq_ignore_ascii_case("sec-websocket-key"))
                .map(|(_, key)| key)
                .unwrap();
            let accept = sansnet_ws::handshake::accept_key(key.as_bytes());
            let mut out = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            )
            .into_bytes();
            // A text "hello", then an empty text frame with RSV2 set.
            out.extend_from_slice(b"\x81\x05hello\xa1\x00");
            stream.write_all(&out).await.unwrap();
            // Back: the echo (masked), then a Close frame (masked) with 1002.
            let mut frames = [vec![0u8; 11], vec![0u8; 8]];
            for frame in &mut frames {
                stream.read_exact(frame).await.unwrap();
                let mask = [frame[2], frame[3], frame[4], frame[5]];
                for (i, byte) in frame[6..].iter_mut().enumerate() {
                    *byte ^= mask[i % 4];
                }
            }
            frames
        });
        let mut ws = ws_connect(&url, &WsOptions::default()).await.unwrap();
        let message = ws.recv().await.unwrap().unwrap();
        assert_eq!(message, Message::text("hello"));
        ws.send(message).await.unwrap();
        assert!(
            ws.recv().await.unwrap().is_err(),
            "the reserved bit is an error"
        );
        let [echo, close] = tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (echo[0], echo[1] & 0x7f, &echo[6..]),
            (0x81, 5, &b"hello"[..])
        );
        assert_eq!(
            (close[0], close[1] & 0x7f, &close[6..]),
            (0x88, 2, &[0x03, 0xea][..])
        );
    });
}

/// RFC 6455 §7.1.1 (the server closes TCP first) and docs/node-semantics.md#http-server-close:
/// our client's `recv` gives `None` only once the connection closed too, so a client that
/// keeps its `WebSocket` afterwards holds nothing open: the server's `close()`, which waits
/// for the upgraded connection, resolves.
#[test]
fn tokio_ws_kept_after_its_close_holds_nothing_open() {
    run(Flavor::CurrentThread, async {
        let (server, mut seen) = start_echo_server(&[]).await;
        let url = format!("ws://{}/", server.local_addr());
        let mut ws = ws_connect(&url, &WsOptions::default()).await.unwrap();
        ws.send(Message::text("hello")).await.unwrap();
        assert_eq!(ws.recv().await, Some(Ok(Message::text("hello"))));
        ws.close(1000, "done").await.unwrap();
        assert_eq!(ws.recv().await, None);
        let status = ws.close_status().cloned();
        assert_eq!(status.map(|s| (s.code, s.was_clean)), Some((1000, true)));
        assert_seen(&mut seen, 1).await;
        tokio::time::timeout(Duration::from_secs(10), server.close())
            .await
            .unwrap();
        drop(ws);
    });
}
