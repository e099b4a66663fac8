//! The tokio driver (`sansnet-tokio`) against real peers: curl and Node's `http` client
//! against `serve`, our `Client` against Node's `http` server, and `Server::close`, on the
//! current-thread and the multi-thread runtime.
//!
//! Each test serves on 127.0.0.1 port 0 and runs its peer with a time limit; a missing peer
//! fails the test (`peers::*` panics), it never skips.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::future::Future;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{PeerOutput, random_bytes, run_bounded, sha256, start_node_http_server};
use sansnet_http1::{ClientRequest, Origin};
use sansnet_stack::Acceptor;
use sansnet_tcp::SocketConfig;
use sansnet_testkit::peers;
use sansnet_tokio::{Client, Request, Response, Server, serve, serve_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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
fn run<F: Future<Output = ()>>(flavor: Flavor, test: F) {
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
            .expect("the test ran out of time");
    });
}

/// The test server: `/hello` says hello world, `/echo` echoes the body, `/slow` answers after
/// 300 ms, `/stream` streams three chunks, `/panic` panics.
async fn handler(mut request: Request) -> Response {
    match request.target() {
        "/hello" | "/hello?second" => Response::new(200)
            .header("Content-Type", "text/plain")
            .body("hello world"),
        "/echo" => match request.body_mut().bytes().await {
            Ok(body) => Response::new(200).body(body),
            Err(_) => Response::new(400),
        },
        "/panic" => panic!("a handler that panics (the test expects this message)"),
        // Refuses an upload without reading it.
        "/refuse" => Response::new(413).body("too large"),
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Response::new(200).body("slow done")
        }
        "/stream" => {
            let (response, body) = Response::new(200).streaming();
            tokio::spawn(async move {
                for part in ["one ", "two ", "three"] {
                    body.send(part).await.unwrap();
                }
            });
            response
        }
        _ => Response::new(404).body("not found"),
    }
}

async fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve(listener, handler).unwrap()
}

fn url(server: &Server, path: &str) -> String {
    format!("http://{}{path}", server.local_addr())
}

/// Runs curl with `args` on the blocking pool; fails the test unless it exits 0.
async fn curl(args: Vec<String>) -> PeerOutput {
    tokio::task::spawn_blocking(move || {
        let out = run_bounded(
            Command::new(peers::curl())
                .args(["-q", "--noproxy", "*", "--max-time", "30", "-sS"])
                .args(&args),
            PEER_TIMEOUT,
            "curl",
        );
        assert!(
            out.status.success(),
            "curl {args:?} failed ({})\nstderr:\n{}",
            out.status,
            out.stderr
        );
        out
    })
    .await
    .unwrap()
}

/// RFC 9112 §9.3 (docs/node-semantics.md#http-persistence): two URLs in one curl run share
/// one kept-alive connection.
fn keep_alive(flavor: Flavor) {
    run(flavor, async {
        let server = start().await;
        let out = curl(vec![
            "-v".into(),
            url(&server, "/hello"),
            url(&server, "/hello?second"),
        ])
        .await;
        assert_eq!(out.stdout_text(), "hello worldhello world");
        assert!(
            out.stderr.contains("Re-using existing connection"),
            "curl must reuse the connection; stderr:\n{}",
            out.stderr
        );
        assert_eq!(
            out.stderr.matches("Connected to").count(),
            1,
            "{}",
            out.stderr
        );
        server.close().await;
    });
}

#[test]
fn tokio_curl_keep_alive_current_thread() {
    keep_alive(Flavor::CurrentThread);
}

#[test]
fn tokio_curl_keep_alive_multi_thread() {
    keep_alive(Flavor::MultiThread);
}

/// Uploads 1 MiB to `/echo` with the extra `headers`; the echo must match byte for byte.
async fn upload(server: &Server, name: &str, headers: &[&str]) -> PeerOutput {
    let body = random_bytes(1 << 20, 7);
    let file = common::temp_file(name, &body);
    let mut args = vec![
        "-v".to_owned(),
        "--data-binary".to_owned(),
        format!("@{}", file.display()),
    ];
    for header in headers {
        args.extend(["-H".to_owned(), (*header).to_owned()]);
    }
    args.push(url(server, "/echo"));
    let out = curl(args).await;
    let _ = std::fs::remove_file(&file);
    assert_eq!(out.stdout.len(), body.len(), "the whole body echoed");
    assert_eq!(
        sha256(&out.stdout),
        sha256(&body),
        "the body echoed unchanged"
    );
    out
}

/// RFC 9112 §7.1: a chunked upload, decoded and echoed whole.
#[test]
fn tokio_curl_chunked_upload() {
    run(Flavor::CurrentThread, async {
        let server = start().await;
        let out = upload(&server, "tokio-chunked", &["Transfer-Encoding: chunked"]).await;
        assert!(
            out.stderr.contains("> Transfer-Encoding: chunked"),
            "{}",
            out.stderr
        );
        server.close().await;
    });
}

/// Node docs `http.md` › `response.writeContinue()`: `Expect: 100-continue` gets one
/// `100 Continue` when the handler reads the body, which is then echoed.
#[test]
fn tokio_curl_expect_continue() {
    run(Flavor::MultiThread, async {
        let server = start().await;
        let out = upload(&server, "tokio-continue", &["Expect: 100-continue"]).await;
        assert_eq!(
            out.stderr.matches("< HTTP/1.1 100 Continue").count(),
            1,
            "one 100 Continue, sent when the handler reads the body:\n{}",
            out.stderr
        );
        server.close().await;
    });
}

/// Node docs `http.md` › `Event: 'checkContinue'`: a handler that answers without reading
/// the body sends no `100 Continue`; curl sends no body and gets the final answer, and the
/// connection closes after it.
#[test]
fn tokio_curl_expect_continue_refused() {
    run(Flavor::CurrentThread, async {
        let server = start().await;
        let file = common::temp_file("tokio-refused", &random_bytes(1 << 20, 5));
        let out = curl(vec![
            "-v".into(),
            "-H".into(),
            "Expect: 100-continue".into(),
            "--data-binary".into(),
            format!("@{}", file.display()),
            url(&server, "/refuse"),
        ])
        .await;
        let _ = std::fs::remove_file(&file);
        assert_eq!(out.stdout_text(), "too large");
        assert!(out.stderr.contains("< HTTP/1.1 413"), "{}", out.stderr);
        assert!(!out.stderr.contains("100 Continue"), "{}", out.stderr);
        assert!(out.stderr.contains("< Connection: close"), "{}", out.stderr);
        server.close().await;
    });
}

/// A streamed response body: chunked, every chunk in order.
#[test]
fn tokio_curl_streamed_response() {
    run(Flavor::CurrentThread, async {
        let server = start().await;
        let out = curl(vec!["-v".into(), url(&server, "/stream")]).await;
        assert_eq!(out.stdout_text(), "one two three");
        assert!(
            out.stderr.contains("< Transfer-Encoding: chunked"),
            "{}",
            out.stderr
        );
        server.close().await;
    });
}

/// The Node client: a keep-alive agent with one socket, three GETs and a POST on it.
const NODE_CLIENT: &str = r"
const http = require('node:http');
const port = Number(process.argv[1]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve([res.statusCode, Buffer.concat(chunks).toString(), req.reusedSocket]));
    });
    req.on('error', reject);
    req.end(body);
  });
}
(async () => {
  const out = [];
  for (const path of ['/hello', '/hello', '/missing']) out.push(await request('GET', path));
  out.push(await request('POST', '/echo', 'x'.repeat(100000)));
  out[3][1] = out[3][1].length;
  agent.destroy();
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
";

/// Node's `http` client against `serve`: statuses, bodies, and `reusedSocket` from the
/// second request on (RFC 9112 §9.3).
fn node_client(flavor: Flavor) {
    run(flavor, async {
        let server = start().await;
        let port = server.local_addr().port().to_string();
        let out = tokio::task::spawn_blocking(move || {
            run_bounded(
                Command::new(peers::node()).args(["-e", NODE_CLIENT, &port]),
                PEER_TIMEOUT,
                "the Node http client",
            )
        })
        .await
        .unwrap();
        assert!(out.status.success(), "node failed: {}", out.stderr);
        assert_eq!(
            out.stdout_text().trim(),
            r#"[[200,"hello world",false],[200,"hello world",true],[404,"not found",true],[200,100000,true]]"#
        );
        server.close().await;
    });
}

#[test]
fn tokio_node_client_current_thread() {
    node_client(Flavor::CurrentThread);
}

#[test]
fn tokio_node_client_multi_thread() {
    node_client(Flavor::MultiThread);
}

/// Our `Client` against Node's `http` server: `/n` counts the requests of the socket, so
/// 1, 2, 3 shows one kept-alive connection; a POST body is echoed whole.
fn node_server(flavor: Flavor) {
    let node = start_node_http_server(&[]);
    let port = node.port;
    run(flavor, async move {
        let client = Client::new();
        for expected in ["1", "2", "3"] {
            let mut response = client
                .get(&format!("http://127.0.0.1:{port}/n"))
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.bytes().await.unwrap(), expected.as_bytes());
        }
        let body = random_bytes(300_000, 3);
        let mut response = client
            .request(
                Origin::new("http", "127.0.0.1", port),
                ClientRequest::new("POST", "/echo"),
                Some(body.clone()),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.header("content-length"),
            Some(body.len().to_string().as_bytes())
        );
        let echoed: Bytes = response.bytes().await.unwrap();
        assert_eq!(sha256(&echoed), sha256(&body));
    });
    let _ = node.stop();
}

#[test]
fn tokio_client_node_server_current_thread() {
    node_server(Flavor::CurrentThread);
}

#[test]
fn tokio_client_node_server_multi_thread() {
    node_server(Flavor::MultiThread);
}

/// Reads until the peer closes; fails after 10 s.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut all))
        .await
        .expect("the server must close the connection")
        .unwrap();
    String::from_utf8_lossy(&all).into_owned()
}

/// Reads one response that ends with `hello world` (a `/hello` answer on a kept connection).
async fn read_hello(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let mut buf = [0u8; 1024];
    while !all.ends_with(b"hello world") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer to GET /hello")
            .unwrap();
        assert!(n > 0, "the server closed instead of answering: {all:?}");
        all.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&all).into_owned()
}

/// Node docs `http.md` › `server.keepAliveTimeout`: an idle keep-alive connection closes once
/// the timeout (300 ms here) has passed since its last response, and every request pushes the
/// deadline back: three requests 200 ms apart are all answered on the connection (past the
/// first and second deadlines), which then closes about 300 ms after the third answer.
fn keep_alive_timeout(flavor: Flavor) {
    run(flavor, async {
        let http = sansnet_http1::ServerConfig {
            keep_alive_timeout: Some(Duration::from_millis(300)),
            ..sansnet_http1::ServerConfig::default()
        };
        let acceptor = Acceptor::new(SocketConfig::default()).with_http(http);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve_with(listener, acceptor, handler).unwrap();
        let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
        for round in 0..3 {
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            tcp.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let answer = read_hello(&mut tcp).await;
            assert!(
                answer.starts_with("HTTP/1.1 200"),
                "round {round}: {answer}"
            );
        }
        let answered = Instant::now();
        let rest = read_to_close(&mut tcp).await;
        let idle = answered.elapsed();
        assert!(rest.is_empty(), "nothing more than the answers: {rest:?}");
        assert!(
            idle >= Duration::from_millis(250) && idle < Duration::from_secs(2),
            "closed {idle:?} after the last answer, not about 300 ms"
        );
        server.close().await;
    });
}

#[test]
fn tokio_keep_alive_timeout_current_thread() {
    keep_alive_timeout(Flavor::CurrentThread);
}

#[test]
fn tokio_keep_alive_timeout_multi_thread() {
    keep_alive_timeout(Flavor::MultiThread);
}

/// Three pipelined requests, the first answered late and the second by a handler that panics:
/// the panic answers 500 for its request alone, and the answers leave in the order of the
/// requests (RFC 9112 §9.3.2), the slow one first.
fn pipelined_panic(flavor: Flavor) {
    run(flavor, async {
        let server = start().await;
        let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
        let requests = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n\
                        GET /panic HTTP/1.1\r\nHost: x\r\n\r\n\
                        GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        tcp.write_all(requests.as_bytes()).await.unwrap();
        let all = read_to_close(&mut tcp).await;
        let statuses: Vec<&str> = all
            .match_indices("HTTP/1.1 ")
            .map(|(at, _)| &all[at + 9..at + 12])
            .collect();
        assert_eq!(statuses, ["200", "500", "200"], "the answers:\n{all}");
        let (slow, hello) = (all.find("slow done"), all.find("hello world"));
        assert!(slow.is_some() && slow < hello, "the answers:\n{all}");
        server.close().await;
    });
}

#[test]
fn tokio_pipelined_panic_current_thread() {
    pipelined_panic(Flavor::CurrentThread);
}

#[test]
fn tokio_pipelined_panic_multi_thread() {
    pipelined_panic(Flavor::MultiThread);
}

/// docs/node-semantics.md#http-server-close: `close` stops accepting, closes an idle
/// keep-alive connection at once, and lets a request in flight finish with
/// `Connection: close`.
fn graceful_close(flavor: Flavor) {
    run(flavor, async {
        let server = start().await;
        let addr = server.local_addr();
        // An idle keep-alive connection, after one exchange.
        let mut idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut first = vec![0; 4096];
        let n = idle.read(&mut first).await.unwrap();
        assert!(String::from_utf8_lossy(&first[..n]).ends_with("hello world"));
        // A request in flight.
        let mut busy = TcpStream::connect(addr).await.unwrap();
        busy.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let closing = tokio::spawn(server.close());
        assert_eq!(
            read_to_close(&mut idle).await,
            "",
            "the idle connection closes"
        );
        let answer = read_to_close(&mut busy).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
        assert!(answer.ends_with("slow done"), "{answer}");
        // As a client does on the server's FIN: close too; the server's sockets then close
        // and `close` resolves.
        drop((idle, busy));
        closing.await.unwrap();
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "no connection is accepted after close"
        );
    });
}

#[test]
fn tokio_graceful_close_current_thread() {
    graceful_close(Flavor::CurrentThread);
}

#[test]
fn tokio_graceful_close_multi_thread() {
    graceful_close(Flavor::MultiThread);
}

/// The README's tokio example is the crate doctest of `drivers/tokio/src/lib.rs`, which runs.
#[test]
fn tokio_readme_example_is_the_doctest() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lib = std::fs::read_to_string(root.join("drivers/tokio/src/lib.rs")).unwrap();
    let doc: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .collect();
    let start = doc
        .iter()
        .position(|line| line.starts_with("use sansnet_tokio::"))
        .unwrap();
    let len = doc[start..].iter().position(|line| *line == "```").unwrap();
    let example = doc[start..start + len].join("\n");
    assert!(example.lines().count() < 25, "under 25 lines");
    assert!(
        readme.contains(&format!("```rust\n{example}\n```")),
        "README.md must show the doctest:\n{example}"
    );
}

/// A refused connect fails the request with `ECONNREFUSED` (Node's `'error'` on the request),
/// and a name that does not resolve with `ENOTFOUND`; neither hangs.
#[test]
fn tokio_client_errors() {
    let (_guard, refused) = common::refused_address();
    run(Flavor::CurrentThread, async move {
        let client = Client::new();
        let error = client.get(&format!("http://{refused}/")).await.unwrap_err();
        let sansnet_tokio::RequestError::Failed(error) = error else {
            panic!("a failed request, not {error:?}");
        };
        assert_eq!(error.code(), "ECONNREFUSED");
        let error = client
            .get("http://no-such-host.invalid/")
            .await
            .unwrap_err();
        let sansnet_tokio::RequestError::Failed(error) = error else {
            panic!("a failed request, not {error:?}");
        };
        assert_eq!(error.code(), "ENOTFOUND");
        let sansnet_tokio::RequestError::Http(error) = client.get("ftp://x/").await.unwrap_err()
        else {
            panic!("a refused URL");
        };
        assert_eq!(error.code(), "ERR_INVALID_PROTOCOL");
    });
}

/// The Node client of the hand-over test: an `Upgrade` request and a `CONNECT`, each then
/// sending `ping-pong` raw and reading it back.
const NODE_UPGRADE: &str = r"
const http = require('node:http');
const port = Number(process.argv[1]);
function handOver(options, event) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, ...options });
    req.on(event, (res, socket, head) => {
      let got = head.toString();
      socket.on('data', (d) => {
        got += d;
        if (got.length >= 9) { socket.destroy(); resolve([res.statusCode, got]); }
      });
      socket.write('ping-pong');
    });
    req.on('error', reject);
    req.end();
  });
}
(async () => {
  const up = await handOver({ path: '/up', headers: { Connection: 'Upgrade', Upgrade: 'echo' } }, 'upgrade');
  const tunnel = await handOver({ method: 'CONNECT', path: 'example.com:443' }, 'connect');
  console.log(JSON.stringify([up, tunnel]));
})().catch((e) => { console.error(e); process.exit(1); });
";

/// Takes the connection of an `Upgrade` or `CONNECT` request over: answers 101 or 200 raw,
/// then echoes every byte.
async fn hand_over(mut request: Request) -> Response {
    use sansnet_tcp::SocketEvent;
    use sansnet_tokio::{Event, Upgraded};
    let Some(upgraded) = request.take_upgrade() else {
        return Response::new(400);
    };
    let answer: &'static [u8] = if request.method() == "CONNECT" {
        b"HTTP/1.1 200 Connection Established\r\n\r\n"
    } else {
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"
    };
    tokio::spawn(async move {
        let Upgraded { mut socket, head } = upgraded;
        let now = Instant::now();
        let raw = socket.conn_mut().socket_mut();
        raw.write(now, Bytes::from_static(answer)).unwrap();
        if !head.is_empty() {
            raw.write(now, head).unwrap();
        }
        while let Some(event) = socket.next_event().await {
            let (raw, now) = (socket.conn_mut().socket_mut(), Instant::now());
            match event {
                Event::Socket(SocketEvent::Data(data)) => drop(raw.write(now, data)),
                // The socket is half-open, as an `http.Server`'s is in Node: the handler ends
                // its side when the client ended its own (Node docs `net.md` ›
                // `allowHalfOpen`).
                Event::Socket(SocketEvent::End) => drop(raw.end(now, None)),
                _ => {}
            }
        }
    });
    Response::new(101)
}

/// A server with an `'upgrade'` listener (and a `'connect'` one when `connect`) whose handler
/// is `handler`.
async fn upgrade_server<F>(connect: bool, handler: fn(Request) -> F) -> Server
where
    F: Future<Output = Response> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = sansnet_http1::ServerConfig {
        upgrade: true,
        connect,
        ..sansnet_http1::ServerConfig::default()
    };
    let acceptor = Acceptor::new(SocketConfig::default()).with_http(http);
    serve_with(listener, acceptor, handler).unwrap()
}

/// Node docs `http.md` › `Event: 'upgrade'`, `Event: 'connect'`: with those listeners
/// (`ServerConfig::upgrade`, `connect`), the handler takes the connection over and Node's
/// client gets its `'upgrade'` and `'connect'` with a working raw socket.
fn upgrade_and_connect(flavor: Flavor) {
    run(flavor, async {
        let server = upgrade_server(true, hand_over).await;
        let port = server.local_addr().port().to_string();
        let out = tokio::task::spawn_blocking(move || {
            run_bounded(
                Command::new(peers::node()).args(["-e", NODE_UPGRADE, &port]),
                PEER_TIMEOUT,
                "the Node http client",
            )
        })
        .await
        .unwrap();
        assert!(out.status.success(), "node failed: {}", out.stderr);
        assert_eq!(
            out.stdout_text().trim(),
            r#"[[101,"ping-pong"],[200,"ping-pong"]]"#
        );
        server.close().await;
    });
}

#[test]
fn tokio_upgrade_and_connect_current_thread() {
    upgrade_and_connect(Flavor::CurrentThread);
}

#[test]
fn tokio_upgrade_and_connect_multi_thread() {
    upgrade_and_connect(Flavor::MultiThread);
}

/// docs/node-semantics.md#http-server-close: a connection handed over to its handler is still
/// one of the server's: `close()` resolves only once it closed (Node's `server.close()` waits
/// for every connection of the `net.Server`).
#[test]
fn tokio_close_waits_for_an_upgraded_connection() {
    run(Flavor::CurrentThread, async {
        let server = upgrade_server(false, hand_over).await;
        let mut client = TcpStream::connect(server.local_addr()).await.unwrap();
        let upgrade = "GET /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n";
        client.write_all(upgrade.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        while !answer.ends_with(b"\r\n\r\n") {
            answer.push(client.read_u8().await.unwrap());
        }
        assert!(answer.starts_with(b"HTTP/1.1 101 "), "{answer:?}");
        let closing = tokio::spawn(server.close());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !closing.is_finished(),
            "close() waits for the upgraded connection"
        );
        client.write_all(b"ping").await.unwrap();
        let mut echoed = [0; 4];
        client.read_exact(&mut echoed).await.unwrap();
        assert_eq!(
            &echoed, b"ping",
            "the upgraded connection still works while closing"
        );
        client.shutdown().await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), closing)
            .await
            .unwrap()
            .unwrap();
    });
}

/// Node's `ws` client: opens `ws://127.0.0.1:PORT/`, sends a text and a 100 KB binary
/// message, prints what came back and the close code.
const NODE_WS: &str = r"
const WebSocket = require('ws');
const ws = new WebSocket('ws://127.0.0.1:' + process.argv[1] + '/', { perMessageDeflate: true });
const got = [];
ws.on('open', () => { ws.send('hello'); ws.send(Buffer.alloc(100000, 7)); });
ws.on('message', (data, binary) => {
  got.push(binary ? data.length : data.toString());
  if (got.length === 2) ws.close(1000, 'done');
});
ws.on('close', (code) => console.log(JSON.stringify({ got, code, deflate: ws.extensions })));
ws.on('error', (e) => { console.error(e); process.exit(1); });
";

/// Starts a WebSocket (permessage-deflate when offered) on a connection handed over, and
/// echoes every message: the stack's machines, set up through the `Socket`.
async fn ws_echo(mut request: Request) -> Response {
    use sansnet_tokio::{Event, Upgraded};
    use sansnet_ws::WsEvent;
    let Some(Upgraded { mut socket, head }) = request.take_upgrade() else {
        return Response::new(400);
    };
    let upgrade = request.head();
    let config = sansnet_ws::Config::default();
    let accepted = socket
        .conn_mut()
        .accept_ws(Instant::now(), upgrade, head, &[], config);
    accepted.unwrap();
    tokio::spawn(async move {
        while let Some(event) = socket.next_event().await {
            if let Event::Ws(WsEvent::Message(message)) = event
                && let Some(ws) = socket.conn_mut().ws_mut()
            {
                let _ = ws.send(Instant::now(), message);
            }
        }
    });
    Response::new(101)
}

/// RFC 6455 §4.2.2, RFC 7692: Node's `ws` client against a WebSocket started on an
/// `Upgraded` connection: a text and a binary message echoed, permessage-deflate agreed, a
/// clean 1000 close.
#[test]
fn tokio_ws_node_client() {
    run(Flavor::MultiThread, async {
        let server = upgrade_server(false, ws_echo).await;
        let port = server.local_addr().port().to_string();
        let out = tokio::task::spawn_blocking(move || {
            run_bounded(
                Command::new(peers::node())
                    .env("NODE_PATH", peers::node_ws())
                    .args(["-e", NODE_WS, &port]),
                PEER_TIMEOUT,
                "the Node ws client",
            )
        })
        .await
        .unwrap();
        assert!(out.status.success(), "node failed: {}", out.stderr);
        assert_eq!(
            out.stdout_text().trim(),
            r#"{"got":["hello",100000],"code":1000,"deflate":"permessage-deflate"}"#
        );
        server.close().await;
    });
}
