//! Real peers against the tokio driver (docs/node-semantics.md#tls for the TLS part):
//!
//! - Python's h11 (which raises on any protocol violation) as the client of `serve`, with the
//!   script the mio driver's test runs (tests/peers/http_h11_client.py), on both runtimes;
//! - Node's `http` server as the server of our `Client`: headers as Node sees them,
//!   keep-alive, the retry of an idempotent request whose reused connection closed unanswered,
//!   a 1 MiB upload echoed;
//! - `openssl s_client` and Node's `https` against `serve_with` over TLS, and with mutual TLS
//!   (client certificates required): a good certificate gets its answer, none or one from
//!   another CA fails the handshake.
//!
//! A missing peer is installed on first use (`sansnet_testkit::peers`) or fails the test; it
//! never skips.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use common::tokio_runtime as runtime;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use common::{peer_report, random_bytes, run_bounded, sha256, start_node_http_server};
use sansnet_http1::{ClientRequest, Origin, ServerConfig};
use sansnet_stack::Acceptor;
use sansnet_tcp::SocketConfig;
use sansnet_testkit::certs::{PemDir, TestCa, Usage};
use sansnet_testkit::peers;
use sansnet_tls::{ClientAuth, Identity, ServerOptions};
use sansnet_tokio::{Client, Request, Response, Server, serve, serve_with};
use tokio::net::TcpListener;

/// How long one peer may run.
const PEER_TIMEOUT: Duration = Duration::from_secs(60);

/// The routes the h11 script expects of the demo: `/hello`; `/echo` echoes a body of known
/// length whole (`Content-Length`) and streams one of unknown length back (chunked).
async fn routes(mut request: Request) -> Response {
    match request.target() {
        "/hello" => Response::new(200)
            .header("Content-Type", "text/plain")
            .body("hello world"),
        "/echo" if request.header("content-length").is_some() => {
            match request.body_mut().bytes().await {
                Ok(body) => Response::new(200).body(body),
                Err(_) => Response::new(400),
            }
        }
        "/echo" => {
            let (response, sender) = Response::new(200).streaming();
            let mut body = request.into_body();
            tokio::spawn(async move {
                while let Ok(Some(chunk)) = body.chunk().await {
                    if sender.send(chunk).await.is_err() {
                        break;
                    }
                }
            });
            response
        }
        _ => Response::new(404).body("not found"),
    }
}

/// docs/node-semantics.md#http-persistence, #http-keepalive-header, #http-auto-content-length,
/// #http-auto-chunked, Node docs `http.md` › `Event: 'checkContinue'`, RFC 9112 §6.3 item 3,
/// RFC 9112 §9.3: h11 as the client of `serve`, five exchanges on one connection (the same
/// checks as `http_h11_client.rs` makes of the mio demo). h11 raising on any response fails
/// the script.
fn h11_client_against_serve(multi: bool) {
    let python = peers::python_h11();
    runtime(multi).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve(listener, routes).unwrap();
        let port = server.local_addr().port().to_string();
        let out = tokio::task::spawn_blocking(move || {
            run_bounded(
                Command::new(python)
                    .arg(peers::scripts_dir().join("http_h11_client.py"))
                    .arg(port),
                PEER_TIMEOUT,
                "the h11 client",
            )
        })
        .await
        .unwrap();
        let report = peer_report(&out, "the h11 client");

        let get = report.get("get");
        assert_eq!(get.get("status").num(), 200);
        assert_eq!(get.get("body").str(), "hello world");
        assert_eq!(
            get.get("keep_alive").str(),
            "timeout=5",
            "docs/node-semantics.md#http-keepalive-header"
        );

        let chunked = report.get("chunked");
        assert_eq!(chunked.get("status").num(), 200);
        assert_eq!(
            chunked.get("received_bytes").num(),
            chunked.get("sent_bytes").num()
        );
        assert!(chunked.get("same_sha256").bool(), "RFC 9112 §6.3 item 3");
        assert_eq!(
            chunked.get("transfer_encoding").str(),
            "chunked",
            "docs/node-semantics.md#http-auto-chunked"
        );

        let fixed = report.get("content_length");
        assert_eq!(fixed.get("status").num(), 200);
        assert_eq!(fixed.get("received_bytes").num(), 100_000);
        assert!(fixed.get("same_sha256").bool());
        assert_eq!(
            fixed.get("content_length").str(),
            "100000",
            "docs/node-semantics.md#http-auto-content-length"
        );

        let expect = report.get("expect_continue");
        assert!(
            expect.get("got_100_before_body").bool(),
            "Node docs http.md › Event: 'checkContinue': the 100 comes before the body"
        );
        assert!(expect.get("other_informational").arr().is_empty());
        assert_eq!(expect.get("status").num(), 200);
        assert!(expect.get("same_sha256").bool());

        let close = report.get("close");
        assert_eq!(close.get("status").num(), 200);
        assert_eq!(close.get("body").str(), "hello world");
        assert_eq!(close.get("connection").str(), "close", "RFC 9112 §9.3");
        assert!(close.get("saw_connection_closed").bool(), "RFC 9112 §9.3");
        assert_eq!(close.get("their_state").str(), "CLOSED");

        tokio::time::timeout(Duration::from_secs(10), server.close())
            .await
            .unwrap();
    });
}

#[test]
fn tokio_peers_h11_client_current_thread() {
    h11_client_against_serve(false);
}

#[test]
fn tokio_peers_h11_client_multi_thread() {
    h11_client_against_serve(true);
}

/// Node docs `http.md` › `http.request()` (`Host` and `Connection` added as Node adds them),
/// `Class: http.Agent` (`keepAlive`), `request.reusedSocket` (an idempotent request retried on
/// a fresh connection when its reused one closed unanswered): our `Client` against Node's
/// `http` server (tests/peers/http_server.mjs).
#[test]
fn tokio_peers_client_against_node_http_server() {
    let node = start_node_http_server(&[]);
    let port = node.port;
    runtime(false).block_on(async move {
        let client = Client::new();
        let origin = Origin::new("http", "127.0.0.1", port);
        let url = |path: &str| format!("http://127.0.0.1:{port}{path}");

        let mut response = client.get(&url("/headers")).await.unwrap();
        assert_eq!(response.status(), 200);
        let headers = String::from_utf8(response.bytes().await.unwrap().to_vec()).unwrap();
        let headers = common::Json::parse(&headers).unwrap();
        assert_eq!(headers.get("host").str(), format!("127.0.0.1:{port}"));
        assert_eq!(headers.get("connection").str(), "keep-alive");

        // The same kept-alive socket carries the next requests: Node counts 2 and 3.
        for expected in ["2", "3"] {
            let mut response = client.get(&url("/n")).await.unwrap();
            assert_eq!(response.bytes().await.unwrap(), expected.as_bytes());
        }
        // Node destroys the reused socket without answering; the agent retries the GET on a
        // fresh connection, whose first request it is.
        let mut response = client.get(&url("/drop-if-reused")).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap(), "1".as_bytes());

        let body = random_bytes(1 << 20, 31);
        let mut response = client
            .request(
                origin,
                ClientRequest::new("PUT", "/upload"),
                Some(body.clone()),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let echoed: Bytes = response.bytes().await.unwrap();
        assert_eq!(echoed.len(), body.len());
        assert_eq!(sha256(&echoed), sha256(&body));
    });
    let _ = node.stop();
}

// ---- TLS: serve_with under openssl s_client and Node's https --------------------------

/// A CA, the server's `localhost` certificate, a client certificate from the same CA and one
/// from another CA, as PEM files.
struct Pki {
    dir: PemDir,
    ca_pem: String,
    server: Identity,
    client: (String, String),
    stranger: (String, String),
}

impl Pki {
    fn new(name: &str) -> Self {
        let ca = TestCa::new("sansnet tokio peers CA");
        let other = TestCa::new("some other CA");
        let server = ca.leaf(&["localhost"], Usage::Server);
        let client = ca.leaf(&["client.test"], Usage::Client);
        let stranger = other.leaf(&["stranger.test"], Usage::Client);
        let dir = PemDir::new(name);
        let file = |name: &str, pem: &str| dir.write(name, pem).display().to_string();
        let pki_client = (
            file("client.pem", &client.chain_pem),
            file("client.key", &client.key_pem),
        );
        let pki_stranger = (
            file("stranger.pem", &stranger.chain_pem),
            file("stranger.key", &stranger.key_pem),
        );
        file("ca.pem", &ca.cert_pem);
        Self {
            server: Identity::from_pem(server.chain_pem.as_bytes(), server.key_pem.as_bytes())
                .unwrap(),
            ca_pem: ca.cert_pem,
            client: pki_client,
            stranger: pki_stranger,
            dir,
        }
    }

    fn ca_file(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }
}

/// `https.createServer({cert, key, ALPNProtocols, [requestCert, rejectUnauthorized, ca]})`:
/// `serve_with` a TLS acceptor answering `hello world` and the request-target; with `mutual`,
/// client certificates from the test CA are required (Node docs `tls.md` ›
/// `tls.createServer()` (`requestCert`)).
async fn https_server(pki: &Pki, mutual: bool) -> Server {
    let mut options = ServerOptions::new(pki.server.clone());
    options.alpn = vec![b"http/1.1".to_vec()];
    if mutual {
        let roots = sansnet_tls::certificates_from_pem(pki.ca_pem.as_bytes()).unwrap();
        options.client_auth = ClientAuth::Required(roots);
    }
    let acceptor = Acceptor::new(SocketConfig::default())
        .with_tls(options.build().unwrap())
        .with_http(ServerConfig::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve_with(listener, acceptor, |request: Request| async move {
        Response::new(200).body(format!("hello world {}", request.target()))
    })
    .unwrap()
}

/// `openssl s_client` against `127.0.0.1:port` with `args`, sending `input` and waiting for
/// the server to close (`-ign_eof`); returns whether it exited 0, and its stdout and stderr.
fn s_client(port: u16, args: &[&str], input: &str) -> (bool, String) {
    let mut child = Command::new(peers::openssl())
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-ign_eof", "-servername", "localhost"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let deadline = std::time::Instant::now() + PEER_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return (status.success(), text);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("openssl s_client ran longer than {PEER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

const GET_CLOSE: &str = "GET /s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// RFC 8446 and RFC 7301 §3.1 (ALPN), RFC 9112 §9.3: `openssl s_client` verifies
/// `serve_with`'s certificate against the test CA, negotiates TLS 1.3 (and 1.2 when asked)
/// with ALPN `http/1.1`, and gets its answer before the server closes.
#[test]
fn tokio_peers_openssl_against_serve_with() {
    let pki = Pki::new("tokio-peers-openssl");
    let ca = pki.ca_file();
    runtime(false).block_on(async {
        let server = https_server(&pki, false).await;
        let port = server.local_addr().port();
        for version in ["-tls1_3", "-tls1_2"] {
            let ca = ca.clone();
            let (ok, text) = tokio::task::spawn_blocking(move || {
                s_client(
                    port,
                    &["-CAfile", &ca, "-alpn", "http/1.1", version],
                    GET_CLOSE,
                )
            })
            .await
            .unwrap();
            assert!(ok, "s_client {version}:\n{text}");
            assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
            assert!(text.contains("ALPN protocol: http/1.1"), "{text}");
            let protocol = if version == "-tls1_3" {
                "TLSv1.3"
            } else {
                "TLSv1.2"
            };
            assert!(text.contains(protocol), "{version}: {text}");
            assert!(text.contains("hello world /s"), "{text}");
        }
        tokio::time::timeout(Duration::from_secs(10), server.close())
            .await
            .unwrap();
    });
    drop(pki);
}

/// Node docs `tls.md` › `tls.createServer()` (`requestCert`): `serve_with` requiring client
/// certificates from the test CA: `openssl s_client -cert/-key` with a good one gets its
/// answer; without one the handshake ends with `certificate required`, with one from another
/// CA with `unknown ca` (or `bad certificate`), and no answer comes.
#[test]
fn tokio_peers_openssl_mutual_tls() {
    let pki = Pki::new("tokio-peers-openssl-mtls");
    let ca = pki.ca_file();
    runtime(false).block_on(async {
        let server = https_server(&pki, true).await;
        let port = server.local_addr().port();
        let run = |args: Vec<String>| {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                s_client(port, &args, GET_CLOSE)
            })
        };
        let base = ["-CAfile".to_owned(), ca.clone()];
        let with = |(cert, key): &(String, String)| {
            let mut args = base.to_vec();
            args.extend([
                "-cert".to_owned(),
                cert.clone(),
                "-key".to_owned(),
                key.clone(),
            ]);
            args
        };

        let (ok, text) = run(with(&pki.client)).await.unwrap();
        assert!(ok, "s_client with a good client certificate:\n{text}");
        assert!(text.contains("hello world /s"), "{text}");

        let (_, text) = run(base.to_vec()).await.unwrap();
        assert!(
            !text.contains("hello world"),
            "no certificate, no answer\n{text}"
        );
        assert!(text.contains("certificate required"), "{text}");

        let (_, text) = run(with(&pki.stranger)).await.unwrap();
        assert!(
            !text.contains("hello world"),
            "a stranger's certificate\n{text}"
        );
        assert!(
            text.contains("unknown ca") || text.contains("bad certificate"),
            "{text}"
        );
        tokio::time::timeout(Duration::from_secs(10), server.close())
            .await
            .unwrap();
    });
    drop(pki);
}

/// Node's `https` client: GET `/a` and `/b` on one keep-alive agent with a client
/// certificate, GET `/c` without one, GET `/d` with one from another CA, each offering ALPN
/// `http/1.1`; prints one JSON line.
const NODE_HTTPS_CLIENT: &str = r"
const https = require('node:https');
const fs = require('node:fs');
const [port, caFile, certFile, keyFile, otherCert, otherKey] = process.argv.slice(1);
const ca = fs.readFileSync(caFile);
const get = (path, options) => new Promise((resolve) => {
  const req = https.get({ host: 'localhost', port: Number(port), path, ca, ALPNProtocols: ['http/1.1'],
    ...options }, (res) => {
    const facts = { protocol: res.socket.getProtocol(), alpn: res.socket.alpnProtocol,
      authorized: res.socket.authorized };
    const chunks = [];
    res.on('data', (d) => chunks.push(d));
    res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(),
      reused: req.reusedSocket, ...facts }));
  });
  req.on('error', (e) => resolve({ error: String(e.code || e.message) }));
});
setTimeout(() => { console.error('watchdog fired'); process.exit(3); }, 40000).unref();
(async () => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const cert = fs.readFileSync(certFile);
  const key = fs.readFileSync(keyFile);
  const report = {
    first: await get('/a', { agent, cert, key }),
    second: await get('/b', { agent, cert, key }),
    none: await get('/c', { agent: false }),
    stranger: await get('/d', { agent: false, cert: fs.readFileSync(otherCert),
      key: fs.readFileSync(otherKey) }),
  };
  agent.destroy();
  console.log(JSON.stringify(report));
})();
";

/// Node docs `https.md` › `https.request()` (`ca`, `cert`, `key`), `tls.md` ›
/// `tls.createServer()` (`requestCert`): Node's `https` client against `serve_with` requiring
/// client certificates: with one, two requests on one TLS 1.3 connection (ALPN `http/1.1`,
/// the server verified); without one, or with one from another CA, the request fails.
#[test]
fn tokio_peers_node_https_mutual_tls() {
    let pki = Pki::new("tokio-peers-node-mtls");
    let ca = pki.ca_file();
    let (cert, key) = pki.client.clone();
    let (other_cert, other_key) = pki.stranger.clone();
    runtime(true).block_on(async {
        let server = https_server(&pki, true).await;
        let port = server.local_addr().port().to_string();
        let out = tokio::task::spawn_blocking(move || {
            run_bounded(
                Command::new(peers::node()).args([
                    "-e",
                    NODE_HTTPS_CLIENT,
                    &port,
                    &ca,
                    &cert,
                    &key,
                    &other_cert,
                    &other_key,
                ]),
                PEER_TIMEOUT,
                "the Node https client",
            )
        })
        .await
        .unwrap();
        let report = peer_report(&out, "the Node https client");
        for (name, path, reused) in [("first", "/a", false), ("second", "/b", true)] {
            let answer = report.get(name);
            assert_eq!(answer.get("status").num(), 200, "{name}");
            assert_eq!(answer.get("body").str(), format!("hello world {path}"));
            assert_eq!(answer.get("reused").bool(), reused, "{name}: keep-alive");
            assert_eq!(answer.get("protocol").str(), "TLSv1.3");
            assert_eq!(answer.get("alpn").str(), "http/1.1");
            assert!(answer.get("authorized").bool(), "{name}: verified");
        }
        let none = report.get("none").get("error").str();
        assert!(none.contains("CERTIFICATE_REQUIRED"), "{none}");
        let stranger = report.get("stranger").get("error").str();
        assert!(
            stranger.contains("UNKNOWN_CA") || stranger.contains("BAD_CERTIFICATE"),
            "{stranger}"
        );
        tokio::time::timeout(Duration::from_secs(10), server.close())
            .await
            .unwrap();
    });
    drop(pki);
}
