//! TLS, HTTPS and WSS against real peers on loopback (docs/node-semantics.md#tls):
//!
//! - as the server (the demo's `--https` listener): `curl --cacert`, `openssl s_client`
//!   (ALPN, TLS 1.2 and 1.3, an ALPN mismatch), Node's `https`/`tls` and the `ws` package,
//!   Python's `ssl` with `websockets`; mutual TLS with `openssl s_client -cert/-key` and
//!   `curl --cert/--key` against the demo started with `--client-ca`;
//! - as the client (`EventLoop::http_request` to `https:`, `connect_tls`, `ws_connect` to
//!   `wss:`): Node's `https` and `tls` servers, with and without a required client
//!   certificate, and Python's `websockets` over `ssl`; a wrong CA and a wrong host name give
//!   their typed errors.
//!
//! Certificates are made in the test (`sansnet_testkit::certs`) or by the demo (its
//! `ca-cert` file). A missing peer fails the test; it never skips.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{
    Json, PeerOutput, WAIT, client_body, client_exchange, client_status, peer_report, run_bounded,
    start_http_demo, start_peer_server, until,
};
use sansnet_http1::{ClientRequest, Origin};
use sansnet_mio::{ClientError, ClientRequestEvent, Event, EventLoop};
use sansnet_tcp::{Address, SocketConfig, SocketEvent};
use sansnet_testkit::certs::{Leaf, PemDir, TestCa, Usage};
use sansnet_testkit::peers;
use sansnet_tls::{ClientOptions, Identity};

/// How long one peer command may run.
const PEER_TIMEOUT: Duration = Duration::from_secs(60);

// ---- helpers ----------------------------------------------------------------------------

/// `openssl s_client` against `127.0.0.1:port` with `args`, sending `input` then waiting for
/// the server to close (`-ign_eof`); returns stdout and stderr together.
fn s_client(port: u16, args: &[&str], input: &str) -> (bool, String) {
    let mut child = Command::new(peers::openssl())
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-ign_eof",
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start openssl s_client");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("write to openssl s_client");
    let deadline = std::time::Instant::now() + PEER_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("wait for openssl") {
            let out = child.wait_with_output().expect("openssl output");
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

const GET_HELLO: &str = "GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

fn curl(args: &[&str]) -> PeerOutput {
    run_bounded(
        Command::new(peers::curl())
            .args(["-sS", "--max-time", "30"])
            .args(args),
        PEER_TIMEOUT,
        "curl",
    )
}

/// A CA, a server certificate for `localhost` and `127.0.0.1`, a client certificate from the
/// same CA, and one from another CA; all written as PEM files.
struct Pki {
    dir: PemDir,
    ca: PathBuf,
    server: (PathBuf, PathBuf),
    client: (PathBuf, PathBuf),
    stranger: (PathBuf, PathBuf),
    client_leaf: Leaf,
    ca_pem: String,
}

fn pki(name: &str) -> Pki {
    let ca = TestCa::new("sansnet test CA");
    let other = TestCa::new("some other CA");
    let dir = PemDir::new(name);
    let server = ca.leaf(&["localhost", "127.0.0.1"], Usage::Server);
    let client = ca.leaf(&["client.test"], Usage::Client);
    let stranger = other.leaf(&["stranger.test"], Usage::Client);
    Pki {
        ca: dir.write("ca.pem", &ca.cert_pem),
        server: (
            dir.write("server.pem", &server.chain_pem),
            dir.write("server.key", &server.key_pem),
        ),
        client: (
            dir.write("client.pem", &client.chain_pem),
            dir.write("client.key", &client.key_pem),
        ),
        stranger: (
            dir.write("stranger.pem", &stranger.chain_pem),
            dir.write("stranger.key", &stranger.key_pem),
        ),
        client_leaf: client,
        ca_pem: ca.cert_pem.clone(),
        dir,
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// Client TLS settings trusting `ca_pem`, offering ALPN `http/1.1`, with an optional client
/// certificate.
fn client_tls(ca_pem: &str, identity: Option<&Leaf>) -> Arc<sansnet_tls::rustls::ClientConfig> {
    let mut options = ClientOptions {
        ca: Some(sansnet_tls::certificates_from_pem(ca_pem.as_bytes()).unwrap()),
        alpn: vec![b"http/1.1".to_vec()],
        ..ClientOptions::default()
    };
    if let Some(leaf) = identity {
        options.identity =
            Some(Identity::from_pem(leaf.chain_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap());
    }
    options.build().unwrap()
}

/// Starts `tests/peers/tls_node_server.mjs`; returns it with its HTTPS and TLS ports.
fn node_tls_server(pki: &Pki, client_ca: bool) -> (common::PeerServer, u16, u16) {
    let mut command = Command::new(peers::node());
    command
        .arg(peers::scripts_dir().join("tls_node_server.mjs"))
        .arg(&pki.server.0)
        .arg(&pki.server.1);
    if client_ca {
        command.arg(&pki.ca);
    }
    let tls_port = Arc::new(std::sync::Mutex::new(0u16));
    let seen = tls_port.clone();
    let server = start_peer_server(&mut command, "the Node https/tls server", move |line| {
        let json = Json::parse(line).ok()?;
        *seen.lock().unwrap() = u16::try_from(json.get("tls").num()).ok()?;
        u16::try_from(json.get("https").num()).ok()
    });
    let tls = *tls_port.lock().unwrap();
    let https = server.port;
    (server, https, tls)
}

fn get(ev: &mut EventLoop, port: u16, path: &str) -> sansnet_http1::PoolRequestId {
    let mut request = ClientRequest::new("GET", path.to_owned());
    request.headers.append("Host", format!("localhost:{port}"));
    let id = ev.http_request(
        Origin::new("https", "localhost", port),
        request,
        sansnet_mio::RequestOptions::default(),
    );
    ev.http_end(id, None).unwrap();
    id
}

// ---- sansnet as the server: the demo --------------------------------------------------

/// Node docs `https.md` › `Class: https.Server` (HTTPS is HTTP over TLS),
/// docs/node-semantics.md#tls-alpn-mismatch, #node20-alpn-mismatch (ALPN), Node docs `tls.md` ›
/// `tls.connect()` (`servername`): curl and openssl s_client verify the demo's generated
/// certificate with its printed CA file and talk HTTP/1.1 over TLS 1.3 and 1.2; an ALPN offer
/// without `http/1.1` ends in `no_application_protocol`.
#[test]
fn curl_and_openssl_against_the_demo() {
    let demo = start_http_demo("tls-curl-openssl");
    let ca = path(&demo.ca_file).to_owned();

    let out = curl(&[
        "--cacert",
        &ca,
        "-w",
        "\n%{http_version} %{ssl_verify_result}",
        &demo.https_url("/hello"),
    ]);
    assert!(out.status.success(), "curl failed: {}", out.stderr);
    assert_eq!(out.stdout_text(), "hello world\n1.1 0");

    let upload = common::random_bytes(1 << 20, 7);
    let file = common::temp_file("tls-upload", &upload);
    let out = curl(&[
        "--cacert",
        &ca,
        "--data-binary",
        &format!("@{}", file.display()),
        &demo.https_url("/echo"),
    ]);
    let _ = std::fs::remove_file(&file);
    assert!(out.status.success(), "curl upload failed: {}", out.stderr);
    assert_eq!(
        common::sha256(&out.stdout),
        common::sha256(&upload),
        "the 1 MiB echo over TLS"
    );

    // Without the CA, curl refuses the certificate (exit 60): verification is real.
    let out = curl(&[&demo.https_url("/hello")]);
    assert_eq!(
        out.status.code(),
        Some(60),
        "curl without --cacert: {}",
        out.stderr
    );

    let (ok, text) = s_client(
        demo.https_port,
        &[
            "-servername",
            "localhost",
            "-CAfile",
            &ca,
            "-alpn",
            "http/1.1",
        ],
        GET_HELLO,
    );
    assert!(ok, "openssl s_client failed:\n{text}");
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
    assert!(
        text.contains("ALPN protocol: http/1.1"),
        "RFC 7301 §3.2: ALPN picked\n{text}"
    );
    assert!(text.contains("TLSv1.3"), "{text}");
    assert!(text.contains("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("hello world"), "{text}");

    let (ok, text) = s_client(
        demo.https_port,
        &["-servername", "localhost", "-CAfile", &ca, "-tls1_2"],
        GET_HELLO,
    );
    assert!(ok, "openssl s_client -tls1_2 failed:\n{text}");
    assert!(
        text.contains("Protocol  : TLSv1.2"),
        "TLS 1.2 works too\n{text}"
    );
    assert!(text.contains("hello world"), "{text}");

    let (_, text) = s_client(
        demo.https_port,
        &["-servername", "localhost", "-CAfile", &ca, "-alpn", "h2"],
        GET_HELLO,
    );
    assert!(
        text.contains("no application protocol"),
        "docs/node-semantics.md#tls-alpn-mismatch, #node20-alpn-mismatch: no common ALPN protocol ends the handshake with no_application_protocol\n{text}"
    );
    assert!(!text.contains("hello world"), "{text}");
}

/// docs/node-semantics.md#tls-secure-connection, #tls-secure-connect, #https-server: Node's `https`
/// (a keep-alive Agent: one TLS session for three requests), a 256 KiB upload, `ws` over `wss://`,
/// `tls.connect` by hand, and a request without the CA that Node refuses
/// (`SELF_SIGNED_CERT_IN_CHAIN`).
#[test]
fn node_https_tls_and_ws_clients_against_the_demo() {
    let demo = start_http_demo("tls-node-client");
    let out = run_bounded(
        Command::new(peers::node())
            .env("NODE_PATH", peers::node_ws())
            .arg(peers::scripts_dir().join("tls_node_client.mjs"))
            .arg(demo.https_port.to_string())
            .arg(&demo.ca_file),
        PEER_TIMEOUT,
        "the Node TLS client",
    );
    let report = peer_report(&out, "the Node TLS client");
    let keep_alive = report.get("keep_alive");
    assert_eq!(keep_alive.get("statuses").nums(), [200; 3]);
    assert_eq!(keep_alive.get("bodies").strs(), ["hello world"; 3]);
    assert_eq!(keep_alive.get("reused").bools(), [false, true, true]);
    assert_eq!(keep_alive.get("distinct_local_ports").num(), 1);
    assert_eq!(keep_alive.get("protocol").str(), "TLSv1.3");
    assert!(
        keep_alive.get("authorized").bool(),
        "Node verified the chain"
    );

    let echo = report.get("echo");
    assert_eq!(echo.get("status").num(), 200);
    assert_eq!(echo.get("received").num(), 256 * 1024);
    assert!(echo.get("same_sha256").bool());

    let wss = report.get("wss");
    assert_eq!(
        wss.get("messages").strs(),
        ["text:hello over wss", "binary:000102ff"],
        "WebSocket echo over TLS"
    );
    assert_eq!(wss.get("close_code").num(), 1000);

    assert_eq!(
        report.get("untrusted").get("error").str(),
        "SELF_SIGNED_CERT_IN_CHAIN",
        "Node docs tls.md › Event: 'secureConnect': without the CA Node rejects the demo's certificate"
    );

    let raw = report.get("raw");
    assert_eq!(raw.get("status_line").str(), "HTTP/1.1 200 OK");
    assert_eq!(raw.get("body").str(), "hello world");
    assert!(raw.get("authorized").bool());
}

/// Python's `ssl` module with `websockets` as a `wss://` client of the demo's `/ws` echo.
#[test]
fn python_websockets_over_wss_against_the_demo() {
    let demo = start_http_demo("tls-python-client");
    let out = run_bounded(
        Command::new(peers::python_websockets())
            .arg(peers::scripts_dir().join("tls_python_ws.py"))
            .arg("client")
            .arg(demo.https_port.to_string())
            .arg(&demo.ca_file),
        PEER_TIMEOUT,
        "the Python wss client",
    );
    let report = peer_report(&out, "the Python wss client");
    assert_eq!(report.get("text").str(), "hello from python over wss");
    assert_eq!(report.get("binary_len").num(), 16384);
    assert!(report.get("binary_ok").bool());
    assert_eq!(report.get("version").str(), "TLSv1.3");
    assert_eq!(report.get("close_code").num(), 1000);
}

/// Node docs `tls.md` › `tls.createServer()` (`requestCert`): the demo with `--client-ca` requires
/// a client certificate from that CA: `openssl s_client -cert/-key` and `curl --cert/--key` with a
/// good one get their answer; without one, or with one from another CA, the handshake fails with
/// the matching alert.
#[test]
fn mutual_tls_with_openssl_and_curl() {
    let pki = pki("mtls-demo");
    let unix = common::unix_path("mtls-demo");
    let mut command = Command::new(common::demo_binary());
    command
        .args([
            "--tcp",
            "127.0.0.1:0",
            "--udp",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ])
        .args(["--https", "127.0.0.1:0", "--unix"])
        .arg(&unix)
        .arg("--cert")
        .arg(&pki.server.0)
        .arg("--key")
        .arg(&pki.server.1)
        .arg("--client-ca")
        .arg(&pki.ca);
    let demo = start_peer_server(&mut command, "the demo with --client-ca", |line| {
        let rest = line.strip_prefix("listening https ")?;
        rest.parse::<SocketAddr>().ok().map(|a| a.port())
    });
    let port = demo.port;
    let ca = path(&pki.ca);

    let (ok, text) = s_client(
        port,
        &[
            "-servername",
            "localhost",
            "-CAfile",
            ca,
            "-cert",
            path(&pki.client.0),
            "-key",
            path(&pki.client.1),
        ],
        GET_HELLO,
    );
    assert!(ok, "s_client with a good client certificate:\n{text}");
    assert!(text.contains("hello world"), "{text}");

    let (_, text) = s_client(
        port,
        &["-servername", "localhost", "-CAfile", ca],
        GET_HELLO,
    );
    assert!(
        !text.contains("hello world"),
        "Node docs tls.md › tls.createServer() (requestCert): no client certificate, no answer\n{text}"
    );
    assert!(text.contains("certificate required"), "{text}");

    let (_, text) = s_client(
        port,
        &[
            "-servername",
            "localhost",
            "-CAfile",
            ca,
            "-cert",
            path(&pki.stranger.0),
            "-key",
            path(&pki.stranger.1),
        ],
        GET_HELLO,
    );
    assert!(
        !text.contains("hello world"),
        "a stranger's certificate\n{text}"
    );
    assert!(
        text.contains("unknown ca") || text.contains("bad certificate"),
        "Node docs tls.md › tls.createServer() (requestCert): refused with unknown_ca\n{text}"
    );

    let url = format!("https://localhost:{port}/hello");
    let out = curl(&[
        "--cacert",
        ca,
        "--cert",
        path(&pki.client.0),
        "--key",
        path(&pki.client.1),
        &url,
    ]);
    assert!(out.status.success(), "curl --cert: {}", out.stderr);
    assert_eq!(out.stdout_text(), "hello world");
    let out = curl(&["--cacert", ca, &url]);
    assert!(
        !out.status.success(),
        "curl without a client certificate must fail"
    );
    drop(pki.dir);
    let _ = std::fs::remove_file(unix);
}

// ---- sansnet as the client ------------------------------------------------------------

/// docs/node-semantics.md#tls-secure-connect, #tls-sni, #https-server: our HTTPS client and
/// `connect_tls` against Node's `https` and `tls` servers: the answers arrive, `Secure` reports TLS
/// 1.3, ALPN `http/1.1`, the SNI name and the server's certificate; a CA that did not sign the
/// server's certificate gives `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, a host name it does not carry
/// `ERR_TLS_CERT_ALTNAME_INVALID`.
#[test]
fn our_client_against_node_https_and_tls_servers() {
    let pki = pki("node-tls-server");
    let (server, https, tls_port) = node_tls_server(&pki, false);
    let mut ev = EventLoop::new().unwrap();
    ev.set_https_config(client_tls(&pki.ca_pem, None));

    let hello = get(&mut ev, https, "/facts");
    let mut post = ClientRequest::new("POST", "/");
    post.headers.append("Host", format!("localhost:{https}"));
    let upload = common::random_bytes(100_000, 3);
    let echo = ev.http_request(
        Origin::new("https", "localhost", https),
        post,
        sansnet_mio::RequestOptions::default(),
    );
    ev.http_write(echo, upload.clone()).unwrap();
    ev.http_end(echo, None).unwrap();
    let exchange = client_exchange(&mut ev, &[hello, echo]);
    assert_eq!(
        client_status(exchange.of(hello)),
        Some(200),
        "{:?}",
        exchange.of(hello)
    );
    let facts =
        Json::parse(std::str::from_utf8(&client_body(exchange.of(hello))).unwrap()).unwrap();
    assert_eq!(facts.get("path").str(), "/facts");
    assert_eq!(
        facts.get("servername").str(),
        "localhost",
        "Node docs tls.md › tls.connect() (servername): SNI sent"
    );
    assert_eq!(
        facts.get("alpn").str(),
        "http/1.1",
        "ALPN offered and picked"
    );
    assert_eq!(facts.get("protocol").str(), "TLSv1.3");
    assert_eq!(
        client_body(exchange.of(echo)),
        upload.to_vec(),
        "100 KB echoed"
    );

    // A raw TLS socket: Secure, then the echo.
    let tls = ClientOptions {
        ca: Some(sansnet_tls::certificates_from_pem(pki.ca_pem.as_bytes()).unwrap()),
        alpn: vec![b"http/1.1".to_vec()],
        ..ClientOptions::default()
    }
    .build()
    .unwrap();
    let address = Address::Tcp(SocketAddr::from(([127, 0, 0, 1], tls_port)));
    let socket = ev.connect_tls(
        address.clone(),
        SocketConfig::default(),
        tls.clone(),
        "localhost",
    );
    ev.write(socket, Bytes::from_static(b"ping over tls"))
        .unwrap();
    let info = until(
        &mut ev,
        "Secure on the raw TLS socket",
        |event| match event {
            Event::Secure { socket: s, info } if *s == socket => Some(info.clone()),
            _ => None,
        },
        |_, _| {},
    );
    assert_eq!(info.protocol.to_string(), "TLSv1.3");
    assert_eq!(info.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(info.server_name.as_deref(), Some("localhost"));
    assert_eq!(
        info.peer_certificates.len(),
        2,
        "leaf and CA, as the server sent them"
    );
    assert_eq!(ev.tls_info(socket), Some(&*info));
    let echoed = common::socket_data(&mut ev, socket, 13, "the TLS echo");
    assert_eq!(echoed, b"ping over tls");
    ev.end(socket, None).unwrap();
    until(
        &mut ev,
        "the close after close_notify both ways",
        |event| match event {
            Event::Socket {
                socket: s,
                event: SocketEvent::Close { had_error },
            } if *s == socket => Some(*had_error),
            Event::Socket {
                socket: s,
                event: SocketEvent::Error(e),
            } if *s == socket => {
                panic!("RFC 9112 §9.8: a clean close_notify end is no error: {e}")
            }
            _ => None,
        },
        |_, _| {},
    );

    // A CA that did not sign the server's certificate.
    let wrong = TestCa::new("not the server's CA");
    let stranger_tls = client_tls(&wrong.cert_pem, None);
    let socket = ev.connect_tls(
        address.clone(),
        SocketConfig::default(),
        stranger_tls,
        "localhost",
    );
    assert_eq!(
        socket_error(&mut ev, socket),
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
    );
    // A host name the certificate does not carry.
    let socket = ev.connect_tls(address, SocketConfig::default(), tls, "elsewhere.test");
    assert_eq!(
        socket_error(&mut ev, socket),
        "ERR_TLS_CERT_ALTNAME_INVALID"
    );
    let log = server.stop();
    assert!(
        log.contains("tlsClientError"),
        "Node saw the refused handshakes:\n{log}"
    );
}

/// The code of the `Error` event socket `socket` ends with, and its `Close` with
/// `had_error`.
fn socket_error(ev: &mut EventLoop, socket: sansnet_mio::SocketId) -> String {
    let mut code = None;
    until(
        ev,
        "the TLS error and the close",
        |event| match event {
            Event::Socket {
                socket: s,
                event: SocketEvent::Close { had_error },
            } if *s == socket => {
                assert!(had_error, "a TLS failure closes with had_error");
                Some(())
            }
            _ => None,
        },
        |_, event| match event {
            Event::Socket {
                socket: s,
                event: SocketEvent::Error(e),
            } if s == socket => {
                code = Some(e.code().to_owned());
            }
            Event::Secure { socket: s, .. } if s == socket => {
                panic!(
                    "Node docs tls.md › Event: 'secureConnect': no secureConnect for a certificate that does not verify"
                )
            }
            _ => {}
        },
    );
    code.expect("an Error event before Close")
}

/// Node docs `tls.md` › `tls.createServer()` (`requestCert`): a Node `https` server that requires a
/// client certificate answers our client presenting one from its CA (Node reports it authorized,
/// with its CN), and refuses one without (the request fails with a TLS error).
#[test]
fn our_client_with_mutual_tls_against_node() {
    let pki = pki("node-mtls");
    let (server, https, _) = node_tls_server(&pki, true);
    let mut ev = EventLoop::new().unwrap();
    ev.set_https_config(client_tls(&pki.ca_pem, Some(&pki.client_leaf)));
    let hello = get(&mut ev, https, "/mtls");
    let exchange = client_exchange(&mut ev, &[hello]);
    assert_eq!(
        client_status(exchange.of(hello)),
        Some(200),
        "{:?}",
        exchange.of(hello)
    );
    let facts =
        Json::parse(std::str::from_utf8(&client_body(exchange.of(hello))).unwrap()).unwrap();
    assert!(
        facts.get("authorized").bool(),
        "Node verified our client certificate"
    );
    assert_eq!(facts.get("client_cn").str(), "client.test");

    let mut ev = EventLoop::new().unwrap();
    ev.set_https_config(client_tls(&pki.ca_pem, None));
    let refused = get(&mut ev, https, "/mtls");
    let exchange = client_exchange(&mut ev, &[refused]);
    let error = exchange
        .of(refused)
        .iter()
        .find_map(|e| match e {
            ClientRequestEvent::Error(error) => Some(error.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no error: {:?}", exchange.of(refused)));
    assert!(
        matches!(&error, ClientError::Tls(tls) if tls.to_string().contains("certificate_required")),
        "Node docs tls.md › tls.createServer() (requestCert): refused at the TLS layer with the certificate_required alert, got {error:?}"
    );
    server.stop();
}

/// Our `wss://` client (`ws_connect` with an `https` origin) against Python's `websockets`
/// over `ssl`: open, a text and a binary echo, a clean close.
#[test]
fn our_wss_client_against_python_websockets() {
    let pki = pki("python-wss");
    let mut command = Command::new(peers::python_websockets());
    command
        .arg(peers::scripts_dir().join("tls_python_ws.py"))
        .arg("server")
        .arg(&pki.server.0)
        .arg(&pki.server.1);
    let server = start_peer_server(&mut command, "the Python wss server", |line| {
        u16::try_from(Json::parse(line).ok()?.get("port").num()).ok()
    });
    let mut ev = EventLoop::new().unwrap();
    ev.set_https_config(client_tls(&pki.ca_pem, None));
    let request = ev.ws_connect(
        Origin::new("https", "localhost", server.port),
        "/",
        &[],
        sansnet_ws::Config::default(),
    );
    let socket = until(
        &mut ev,
        "WsOpen",
        |event| match event {
            Event::WsOpen {
                request: r, socket, ..
            } if *r == request => Some(*socket),
            Event::WsOpenFailed { request: r, error } if *r == request => {
                panic!("wss open failed: {error}")
            }
            _ => None,
        },
        |_, _| {},
    );
    ev.ws_send(socket, sansnet_ws::Message::text("hello over wss"))
        .unwrap();
    ev.ws_send(
        socket,
        sansnet_ws::Message::Binary(Bytes::from(vec![7u8; 70_000])),
    )
    .unwrap();
    let mut got = Vec::new();
    until(
        &mut ev,
        "two echoes",
        |event| match event {
            Event::Ws {
                socket: s,
                event: sansnet_ws::WsEvent::Message(m),
            } if *s == socket => {
                got.push(m.clone());
                (got.len() == 2).then_some(())
            }
            _ => None,
        },
        |_, _| {},
    );
    assert_eq!(got[0], sansnet_ws::Message::text("hello over wss"));
    assert_eq!(
        got[1],
        sansnet_ws::Message::Binary(Bytes::from(vec![7u8; 70_000]))
    );
    ev.ws_close(socket, Some(1000), "bye").unwrap();
    let code = until(
        &mut ev,
        "the close",
        |event| match event {
            Event::Ws {
                socket: s,
                event:
                    sansnet_ws::WsEvent::Close {
                        code, was_clean, ..
                    },
            } if *s == socket => Some((*code, *was_clean)),
            _ => None,
        },
        |_, _| {},
    );
    assert_eq!(code, (1000, true));
    let _ = WAIT;
    server.stop();
}

/// The `fetch` example over `https://`: `--cacert` verifies the demo's certificate and the
/// answer arrives, on one connection for two URLs; without the CA it fails with the
/// verification error; `-k` goes through with a loud warning.
#[test]
fn fetch_example_over_https() {
    let demo = start_http_demo("tls-fetch");
    let fetch = common::fetch_binary();
    let hello = demo.https_url("/hello");
    let out = run_bounded(
        Command::new(&fetch)
            .arg("-v")
            .arg("--cacert")
            .arg(&demo.ca_file)
            .args([&hello, &hello]),
        PEER_TIMEOUT,
        "fetch --cacert",
    );
    assert!(
        out.status.success(),
        "fetch --cacert failed: {}",
        out.stderr
    );
    assert_eq!(out.stdout_text(), "hello worldhello world");
    assert!(
        out.stderr.contains("reused"),
        "the second request reuses the TLS connection:\n{}",
        out.stderr
    );

    let out = run_bounded(Command::new(&fetch).arg(&hello), PEER_TIMEOUT, "fetch");
    assert!(!out.status.success(), "no CA: must fail");
    assert!(
        out.stderr.contains("UNABLE_TO_VERIFY_LEAF_SIGNATURE"),
        "Node docs tls.md › Event: 'secureConnect': the verification error is named:\n{}",
        out.stderr
    );

    let out = run_bounded(
        Command::new(&fetch).args(["-k", &hello]),
        PEER_TIMEOUT,
        "fetch -k",
    );
    assert!(out.status.success(), "fetch -k failed: {}", out.stderr);
    assert_eq!(out.stdout_text(), "hello world");
    assert!(out.stderr.contains("WARNING"), "-k warns: {}", out.stderr);
}

/// `tls.createServer` (`EventLoop::listen_tls`): a TLS echo server in the test, with Node's
/// `tls.connect` and `openssl s_client` as clients. Node docs `tls.md` ›
/// `Event: 'secureConnection'`: the TCP `Connection` comes first, then `Secure`
/// (`'secureConnection'`) with the SNI name and ALPN the client sent; the bytes echo back;
/// `close_notify` ends each side cleanly.
#[test]
fn node_and_openssl_tls_clients_against_listen_tls() {
    let pki = pki("listen-tls");
    let server_leaf = Identity::from_pem_files(&pki.server.0, &pki.server.1).unwrap();
    let mut options = sansnet_tls::ServerOptions::new(server_leaf);
    options.alpn = vec![b"echo/1".to_vec()];
    let mut ev = EventLoop::new().unwrap();
    let server = ev.listen_tls(
        Address::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))),
        sansnet_tcp::ServerConfig::default(),
        options.build().unwrap(),
    );
    let port = until(
        &mut ev,
        "listening",
        |event| match event {
            Event::Server {
                event:
                    sansnet_tcp::ServerEvent::Listening {
                        address: Address::Tcp(a),
                    },
                ..
            } => Some(a.port()),
            _ => None,
        },
        |_, _| {},
    );
    let _ = server;

    let script = r#"
        const tls = require("node:tls");
        const fs = require("node:fs");
        const [port, ca] = process.argv.slice(1);
        const socket = tls.connect({ host: "127.0.0.1", port: Number(port), servername: "localhost",
            ca: fs.readFileSync(ca), ALPNProtocols: ["echo/1"] }, () => {
            socket.end("echo me over tls");
        });
        const chunks = [];
        socket.on("data", (c) => chunks.push(c));
        socket.on("end", () => console.log(JSON.stringify({ echoed: Buffer.concat(chunks).toString(),
            alpn: socket.alpnProtocol, authorized: socket.authorized, protocol: socket.getProtocol() })));
        socket.on("error", (e) => { console.error(e.code || e.message); process.exit(1); });
        setTimeout(() => process.exit(3), 20000).unref();
    "#;
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let node = peers::node();
    let ca = pki.ca.clone();
    std::thread::spawn(move || {
        let out = run_bounded(
            Command::new(node)
                .args(["-e", script, &port.to_string()])
                .arg(&ca),
            PEER_TIMEOUT,
            "the Node tls client",
        );
        let _ = done_tx.send(out);
    });
    let mut order = Vec::new();
    let out = serve_echo(&mut ev, &done_rx, &mut order, false);
    let report = peer_report(&out, "the Node tls client");
    assert_eq!(report.get("echoed").str(), "echo me over tls");
    assert_eq!(report.get("alpn").str(), "echo/1");
    assert!(report.get("authorized").bool());
    assert_eq!(report.get("protocol").str(), "TLSv1.3");
    assert_eq!(
        order,
        [
            "connection",
            "secure localhost echo/1",
            "data",
            "end",
            "close"
        ],
        "Node docs tls.md › Event: 'secureConnection': connection, then secureConnection, then the data"
    );

    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let ca = path(&pki.ca).to_owned();
    std::thread::spawn(move || {
        let _ = done_tx.send(s_client(
            port,
            &[
                "-servername",
                "localhost",
                "-CAfile",
                &ca,
                "-alpn",
                "echo/1",
                "-quiet",
            ],
            "echo through openssl\n",
        ));
    });
    let mut order = Vec::new();
    let (ok, text) = serve_echo(&mut ev, &done_rx, &mut order, true);
    assert!(ok, "openssl s_client: {text}");
    assert!(text.contains("echo through openssl"), "{text}");
    assert_eq!(order[..2], ["connection", "secure localhost echo/1"]);
}

/// Serves a TLS echo (each `data` written back, `end` answered with `end`) until `done`
/// delivers the client's outcome; records what happened on the server's side in `order`.
fn serve_echo<T>(
    ev: &mut EventLoop,
    done: &std::sync::mpsc::Receiver<T>,
    order: &mut Vec<String>,
    end_after_data: bool,
) -> T {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Ok(out) = done.try_recv() {
            // Let the last events (close) arrive.
            while let Ok(Some(event)) = ev.next_event(Some(Duration::from_millis(50))) {
                record(ev, event, order, end_after_data);
            }
            return out;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the TLS client did not finish"
        );
        if let Some(event) = ev.next_event(Some(Duration::from_millis(20))).unwrap() {
            record(ev, event, order, end_after_data);
        }
    }
}

/// With `end_after_data` the server ends each connection after its first echo (for
/// `s_client`, which never ends its side).
fn record(ev: &mut EventLoop, event: Event, order: &mut Vec<String>, end_after_data: bool) {
    match event {
        Event::Server {
            event: sansnet_tcp::ServerEvent::Connection { .. },
            ..
        } => {
            order.push("connection".into());
        }
        Event::Secure { info, .. } => order.push(format!(
            "secure {} {}",
            info.server_name.as_deref().unwrap_or("-"),
            String::from_utf8_lossy(info.alpn.as_deref().unwrap_or(b"-"))
        )),
        Event::Socket { socket, event } => match event {
            SocketEvent::Data(data) => {
                if order.last().map(String::as_str) != Some("data") {
                    order.push("data".into());
                }
                let _ = ev.write(socket, data);
                if end_after_data {
                    let _ = ev.end(socket, None);
                }
            }
            SocketEvent::End => {
                order.push("end".into());
                // Not half-open: the socket ends itself after the peer's end, as in Node.
                let _ = ev.end(socket, None);
            }
            SocketEvent::Close { had_error } => {
                order.push(
                    if had_error {
                        "close with error"
                    } else {
                        "close"
                    }
                    .into(),
                );
            }
            SocketEvent::Error(e) => order.push(format!("error {}", e.code())),
            _ => {}
        },
        _ => {}
    }
}

/// Node docs `tls.md` › `tls.createServer()` (`handshakeTimeout`): a TCP client that connects to a
/// TLS server and never says hello is cut off when the server's `handshakeTimeout` runs out: the
/// server's socket ends with `ERR_TLS_HANDSHAKE_TIMEOUT`, the client sees the connection close, and
/// no `Secure` comes.
#[test]
fn silent_client_hits_the_handshake_timeout() {
    let pki = pki("handshake-timeout");
    let identity = Identity::from_pem_files(&pki.server.0, &pki.server.1).unwrap();
    let mut ev = EventLoop::new().unwrap();
    let server = ev.listen_tls(
        Address::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))),
        sansnet_tcp::ServerConfig::default(),
        sansnet_tls::ServerOptions::new(identity).build().unwrap(),
    );
    ev.set_handshake_timeout(server, Duration::from_millis(300));
    let port = until(
        &mut ev,
        "listening",
        |event| match event {
            Event::Server {
                event:
                    sansnet_tcp::ServerEvent::Listening {
                        address: Address::Tcp(a),
                    },
                ..
            } => Some(a.port()),
            _ => None,
        },
        |_, _| {},
    );
    let started = std::time::Instant::now();
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut order = Vec::new();
    until(
        &mut ev,
        "the server closing the silent connection",
        |event| match event {
            Event::Socket {
                event: SocketEvent::Close { .. },
                ..
            } => Some(()),
            _ => None,
        },
        |ev, event| record(ev, event, &mut order, false),
    );
    let waited = started.elapsed();
    assert_eq!(
        order,
        ["connection", "error ERR_TLS_HANDSHAKE_TIMEOUT"],
        "Node docs tls.md › tls.createServer() (handshakeTimeout): the timeout, and no secureConnection"
    );
    assert!(
        waited >= Duration::from_millis(300),
        "not before the timeout: {waited:?}"
    );
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 16];
    let n = std::io::Read::read(&mut silent, &mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the client sees the connection end");
}
