//! TLS session resumption against real peers on loopback (Node docs `tls.md` ›
//! `Session resumption`, Node docs `tls.md` › `tlsSocket.isSessionReused()`, Node docs
//! `https.md` › `new Agent([options])` (`maxCachedSessions`)):
//!
//! - as the server (`EventLoop::listen_https` in the test, with the default session tickets):
//!   `openssl s_client` resumes, with `-reconnect` over TLS 1.2 and with `-sess_out`/`-sess_in`
//!   across two runs over TLS 1.3 (`-reconnect` drops each TLS 1.3 connection before the
//!   server's ticket has been read, so every reconnect there is `New`); Node's `https` client on
//!   `new https.Agent({keepAlive: false})` reports `isSessionReused()` on its second and third
//!   requests, over TLS 1.3 and 1.2. Our server reports the same in `Secure` and `tls_info`.
//! - as the client (the `https:` agent and `connect_tls`): a second connection to Node's
//!   `https` and `tls` servers resumes, by `tls_info`/`Secure` on our side and by Node's
//!   `isSessionReused()` on its side.
//!
//! A missing peer fails the test; it never skips.
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
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{
    Json, WAIT, client_body, client_exchange, client_socket, client_status, peer_report,
    run_bounded, start_peer_server, until,
};
use sansnet_http1::{AgentConfig, ClientRequest, Origin, Response, ServerEvent};
use sansnet_mio::{Event, EventLoop, SocketId};
use sansnet_tcp::{Address, SocketConfig, SocketEvent};
use sansnet_testkit::certs::{PemDir, TestCa, Usage};
use sansnet_testkit::peers;
use sansnet_tls::{ClientOptions, Identity, ServerOptions};

/// How long one peer command may run.
const PEER_TIMEOUT: Duration = Duration::from_secs(60);

// ---- helpers ----------------------------------------------------------------------------

/// A CA and a server certificate for `localhost` and `127.0.0.1`, written as PEM files.
struct Pki {
    /// Keeps the files until the test ends.
    dir: PemDir,
    ca: PathBuf,
    server: (PathBuf, PathBuf),
    ca_pem: String,
}

fn pki(name: &str) -> Pki {
    let ca = TestCa::new("sansnet test CA");
    let dir = PemDir::new(name);
    let server = ca.leaf(&["localhost", "127.0.0.1"], Usage::Server);
    Pki {
        ca: dir.write("ca.pem", &ca.cert_pem),
        server: (
            dir.write("server.pem", &server.chain_pem),
            dir.write("server.key", &server.key_pem),
        ),
        ca_pem: ca.cert_pem.clone(),
        dir,
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// `https.createServer` on 127.0.0.1 port 0 (`listen_https`) with the PKI's certificate, ALPN
/// `http/1.1` and the default session settings (tickets on); returns its port.
fn https_server(ev: &mut EventLoop, pki: &Pki) -> u16 {
    let identity = Identity::from_pem_files(&pki.server.0, &pki.server.1).unwrap();
    let mut options = ServerOptions::new(identity);
    options.alpn = vec![b"http/1.1".to_vec()];
    assert!(options.session_tickets, "tickets are on by default");
    let _server = ev.listen_https(
        Address::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))),
        sansnet_tcp::ServerConfig::default(),
        sansnet_http1::ServerConfig::default(),
        options.build().unwrap(),
    );
    until(
        ev,
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
    )
}

/// Runs the event loop, answering every request to the HTTPS server with `reused=BOOL` (what
/// `tls_info` says of its connection), until `done` delivers the peer's outcome; returns it with
/// the `session_reused` of every `Secure` the server reported, in order.
fn serve<T>(ev: &mut EventLoop, done: &Receiver<T>) -> (T, Vec<bool>) {
    let deadline = Instant::now() + WAIT;
    let mut secure = Vec::new();
    let mut handle = |ev: &mut EventLoop, event: Event| match event {
        Event::Secure { info, .. } => secure.push(info.session_reused),
        Event::Http {
            socket,
            event: ServerEvent::End { id, .. },
        } => {
            let reused = ev
                .tls_info(socket)
                .expect("secure before a request")
                .session_reused;
            ev.respond(
                socket,
                id,
                Response::new(200),
                Bytes::from(format!("reused={reused}")),
            )
            .unwrap();
        }
        _ => {}
    };
    loop {
        if let Ok(out) = done.try_recv() {
            while let Ok(Some(event)) = ev.next_event(Some(Duration::from_millis(50))) {
                handle(ev, event);
            }
            return (out, secure);
        }
        assert!(Instant::now() < deadline, "the peer did not finish");
        if let Some(event) = ev.next_event(Some(Duration::from_millis(20))).unwrap() {
            handle(ev, event);
        }
    }
}

/// Runs `peer` on a thread while [`serve`] runs the event loop.
fn with_peer<T: Send + 'static>(
    ev: &mut EventLoop,
    peer: impl FnOnce() -> T + Send + 'static,
) -> (T, Vec<bool>) {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(peer());
    });
    serve(ev, &done_rx)
}

/// `openssl s_client` against `127.0.0.1:port` with `args`; with `input`, sends it and waits
/// for the server to close (`-ign_eof`), without, ends at once after the handshake(s).
/// Returns stdout and stderr together, after checking it exited with success.
fn s_client(port: u16, args: &[String], input: Option<&str>) -> String {
    let mut command = Command::new(peers::openssl());
    command
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(args);
    if input.is_some() {
        command.arg("-ign_eof");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start openssl s_client");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin
        .write_all(input.unwrap_or("").as_bytes())
        .expect("write to openssl s_client");
    drop(stdin);
    let deadline = Instant::now() + PEER_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("wait for openssl") {
            let out = child.wait_with_output().expect("openssl output");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(status.success(), "openssl s_client failed: {text}");
            return text;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("openssl s_client ran longer than {PEER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `New, ...` / `Reused, ...` lines s_client prints after each handshake, as `New` or
/// `Reused` with the protocol, e.g. `Reused TLSv1.3`.
fn handshake_kinds(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let (kind, rest) = line.split_once(", ")?;
            let protocol = rest.split(',').next()?;
            matches!(kind, "New" | "Reused").then(|| format!("{kind} {protocol}"))
        })
        .collect()
}

const GET_CLOSE: &str = "GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// Starts `tests/peers/tls_node_server.mjs`; returns it with its HTTPS and TLS ports.
fn node_tls_server(pki: &Pki) -> (common::PeerServer, u16, u16) {
    let mut command = Command::new(peers::node());
    command
        .arg(peers::scripts_dir().join("tls_node_server.mjs"))
        .arg(&pki.server.0)
        .arg(&pki.server.1);
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

/// One `GET /facts` to Node's `https` server on the agent; returns the socket it went out on
/// and Node's facts about that connection.
fn get_facts(ev: &mut EventLoop, port: u16) -> (SocketId, Json) {
    let mut request = ClientRequest::new("GET", "/facts");
    request.headers.append("Host", format!("localhost:{port}"));
    let id = ev.http_request(
        Origin::new("https", "localhost", port),
        request,
        sansnet_mio::RequestOptions::default(),
    );
    ev.http_end(id, None).unwrap();
    let exchange = client_exchange(ev, &[id]);
    let events = exchange.of(id);
    assert_eq!(client_status(events), Some(200), "{events:?}");
    let (socket, _) = client_socket(events).expect("a Socket event");
    let facts = Json::parse(std::str::from_utf8(&client_body(events)).unwrap()).unwrap();
    (socket, facts)
}

// ---- sansnet as the server --------------------------------------------------------------

/// `openssl s_client` against our HTTPS server: over TLS 1.2, `-reconnect` reports one `New`
/// handshake and five `Reused` ones (session tickets, RFC 5077); over TLS 1.3, a run that saved
/// its session with `-sess_out` is followed by one that offers it with `-sess_in` and reports
/// `Reused, TLSv1.3` (a ticket, RFC 8446 §4.6.1). Our server's `Secure` events and `tls_info`
/// say the same.
#[test]
fn openssl_s_client_resumes_against_our_https_server() {
    let pki = pki("resume-openssl");
    let mut ev = EventLoop::new().unwrap();
    let port = https_server(&mut ev, &pki);
    let base = |extra: &[&str]| {
        let mut args: Vec<String> = ["-servername", "localhost", "-CAfile", path(&pki.ca)]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };

    let args = base(&["-tls1_2", "-reconnect"]);
    let (text, secure) = with_peer(&mut ev, move || s_client(port, &args, None));
    let mut expected = vec!["New TLSv1.2".to_owned()];
    expected.extend(std::iter::repeat_n("Reused TLSv1.2".to_owned(), 5));
    assert_eq!(handshake_kinds(&text), expected, "{text}");
    assert_eq!(secure, [false, true, true, true, true, true]);

    let session = pki.dir.path().join("tls13-session.pem");
    let session_path = path(&session).to_owned();
    let args = base(&["-tls1_3", "-sess_out", &session_path]);
    let (text, secure) = with_peer(&mut ev, move || s_client(port, &args, Some(GET_CLOSE)));
    assert_eq!(handshake_kinds(&text), ["New TLSv1.3"], "{text}");
    assert!(text.contains("reused=false"), "{text}");
    assert_eq!(secure, [false]);
    assert!(session.is_file(), "s_client saved the session");

    let args = base(&["-tls1_3", "-sess_in", &session_path]);
    let (text, secure) = with_peer(&mut ev, move || s_client(port, &args, Some(GET_CLOSE)));
    assert_eq!(handshake_kinds(&text), ["Reused TLSv1.3"], "{text}");
    assert!(text.contains("reused=true"), "our server agrees: {text}");
    assert_eq!(secure, [true]);
}

/// Node's `https` client with `new https.Agent({keepAlive: false})` (so a new connection per
/// request, and the default `maxCachedSessions` of 100) makes three requests to our HTTPS
/// server: `res.socket.isSessionReused()` is false on the first and true on the next two, over
/// TLS 1.3 and over TLS 1.2 (`maxVersion`); our server answers each with its own
/// `session_reused`, which agrees.
#[test]
fn node_https_agent_resumes_against_our_https_server() {
    let pki = pki("resume-node-client");
    let mut ev = EventLoop::new().unwrap();
    let port = https_server(&mut ev, &pki);
    let script = r#"
        const https = require("node:https");
        const fs = require("node:fs");
        const [port, ca] = process.argv.slice(1);
        setTimeout(() => { console.error("watchdog"); process.exit(3); }, 30000).unref();
        const get = (agent, maxVersion) => new Promise((resolve, reject) => {
            const req = https.get({ host: "127.0.0.1", servername: "localhost", port: Number(port),
                path: "/", ca: fs.readFileSync(ca), agent, maxVersion }, (res) => {
                const facts = { status: res.statusCode, reused: res.socket.isSessionReused(),
                    protocol: res.socket.getProtocol(), localPort: res.socket.localPort };
                const chunks = [];
                res.on("data", (c) => chunks.push(c));
                res.on("end", () => resolve({ ...facts, body: Buffer.concat(chunks).toString() }));
            });
            req.on("error", reject);
        });
        (async () => {
            const report = {};
            for (const maxVersion of ["TLSv1.3", "TLSv1.2"]) {
                const agent = new https.Agent({ keepAlive: false });
                const results = [];
                for (let i = 0; i < 3; i++) results.push(await get(agent, maxVersion));
                report[maxVersion] = { results, maxCachedSessions: agent.maxCachedSessions };
            }
            console.log(JSON.stringify(report));
        })().catch((e) => { console.error(e.code || e.message); process.exit(1); });
    "#;
    let node = peers::node();
    let ca = pki.ca.clone();
    let (out, secure) = with_peer(&mut ev, move || {
        run_bounded(
            Command::new(node)
                .args(["-e", script, &port.to_string()])
                .arg(&ca),
            PEER_TIMEOUT,
            "the Node https client",
        )
    });
    let report = peer_report(&out, "the Node https client");
    for version in ["TLSv1.3", "TLSv1.2"] {
        let run = report.get(version);
        assert_eq!(run.get("maxCachedSessions").num(), 100, "Node's default");
        let results = run.get("results").arr();
        assert_eq!(results.len(), 3);
        let ports: Vec<u64> = results.iter().map(|r| r.get("localPort").num()).collect();
        assert!(
            ports[0] != ports[1] && ports[1] != ports[2],
            "a new connection per request: {ports:?}"
        );
        for (i, result) in results.iter().enumerate() {
            let reused = i > 0;
            assert_eq!(result.get("status").num(), 200);
            assert_eq!(result.get("protocol").str(), version);
            assert_eq!(
                result.get("reused").bool(),
                reused,
                "{version} request {i}: isSessionReused()"
            );
            assert_eq!(
                result.get("body").str(),
                format!("reused={reused}"),
                "{version} request {i}: our server's tls_info"
            );
        }
    }
    assert_eq!(secure, [false, true, true, false, true, true]);
}

// ---- sansnet as the client ----------------------------------------------------------------

/// Our `https:` agent and `connect_tls` against Node's `https` and `tls` servers: the second
/// connection resumes the first one's session, which `tls_info` (and `Secure`) report on our
/// side and `tlsSocket.isSessionReused()` on Node's. The agent's connections share the session
/// cache of the configuration given to `set_https_config`, also across a change of agent and
/// with keep-alive off, where every connection resumes while a ticket is left (see
/// `ClientOptions::max_cached_sessions` for how that differs from Node's client).
#[test]
fn our_agent_and_connect_tls_resume_against_node() {
    let pki = pki("resume-node-server");
    let (server, https, tls_port) = node_tls_server(&pki);
    let mut ev = EventLoop::new().unwrap();
    let ca = sansnet_tls::certificates_from_pem(pki.ca_pem.as_bytes()).unwrap();
    let https_tls = ClientOptions {
        ca: Some(ca),
        alpn: vec![b"http/1.1".to_vec()],
        ..ClientOptions::default()
    }
    .build()
    .unwrap();
    ev.set_https_config(https_tls);
    // A keep-alive agent keeps the socket (and its `tls_info`) after the response; destroying
    // it makes the next request open a new connection.
    ev.set_agent(AgentConfig {
        keep_alive: true,
        ..AgentConfig::default()
    });
    let (first, facts) = get_facts(&mut ev, https);
    assert_eq!(facts.get("protocol").str(), "TLSv1.3");
    assert!(!facts.get("reused").bool(), "Node: a full handshake first");
    let info = ev.tls_info(first).expect("the pooled socket is open");
    assert!(!info.session_reused, "ours: a full handshake first");
    ev.destroy(first);
    let (second, facts) = get_facts(&mut ev, https);
    assert_ne!(second, first, "a new connection");
    assert!(
        facts.get("reused").bool(),
        "Node: tlsSocket.isSessionReused() on the second connection"
    );
    let info = ev.tls_info(second).expect("the pooled socket is open");
    assert!(info.session_reused, "ours: tls_info says resumed");
    assert_eq!(info.server_name.as_deref(), Some("localhost"));
    assert_eq!(
        info.peer_certificates.len(),
        2,
        "the resumed session's chain"
    );

    // Keep-alive off (one connection per request). Node's server issued two tickets on the
    // full handshake and issues none on a resumed one (OpenSSL sends new tickets on a resumed
    // TLS 1.3 connection only when its ticket key asks for renewal), and rustls offers each
    // TLS 1.3 ticket once (RFC 8446 §C.4), so after two resumptions the next connection is a
    // full handshake again, which brings two new tickets. (Node's own client would resume all
    // four: it offers its one cached session again and again.)
    ev.set_agent(AgentConfig::default());
    let reused: Vec<bool> = (0..4)
        .map(|_| {
            let (socket, facts) = get_facts(&mut ev, https);
            assert_ne!(socket, second);
            facts.get("reused").bool()
        })
        .collect();
    assert_eq!(
        reused,
        [true, false, true, true],
        "Node: resumed while our client has a ticket"
    );

    // `tls.connect` twice with one configuration to Node's `tls` echo server. (A configuration
    // of its own: the agent's cache holds tickets of Node's `https` server for `localhost`,
    // which the `tls` server, with other ticket keys, would decline.)
    let tls = ClientOptions {
        ca: Some(sansnet_tls::certificates_from_pem(pki.ca_pem.as_bytes()).unwrap()),
        ..ClientOptions::default()
    }
    .build()
    .unwrap();
    let address = Address::Tcp(SocketAddr::from(([127, 0, 0, 1], tls_port)));
    let mut reused = Vec::new();
    for round in 0..2 {
        let socket = ev.connect_tls(
            address.clone(),
            SocketConfig::default(),
            tls.clone(),
            "localhost",
        );
        ev.write(socket, Bytes::from_static(b"ping")).unwrap();
        let info = until(
            &mut ev,
            "Secure on the raw TLS socket",
            |event| match event {
                Event::Secure { socket: s, info } if *s == socket => Some(info.clone()),
                _ => None,
            },
            |_, _| {},
        );
        assert_eq!(ev.tls_info(socket), Some(&*info));
        reused.push(info.session_reused);
        // The echo comes after the server's tickets: read it, then end.
        let echoed = common::socket_data(&mut ev, socket, 4, "the TLS echo");
        assert_eq!(echoed, b"ping", "round {round}");
        ev.end(socket, None).unwrap();
        until(
            &mut ev,
            "the close",
            |event| match event {
                Event::Socket {
                    socket: s,
                    event: SocketEvent::Close { .. },
                } if *s == socket => Some(()),
                _ => None,
            },
            |_, _| {},
        );
    }
    assert_eq!(
        reused,
        [false, true],
        "ours: connect_tls resumed the second time"
    );
    let log = server.stop();
    let node_reused: Vec<bool> = log
        .lines()
        .filter_map(|line| line.strip_prefix("tls secureConnection "))
        .map(|json| Json::parse(json).unwrap().get("reused").bool())
        .collect();
    assert_eq!(
        node_reused,
        [false, true],
        "Node's tls server: isSessionReused() agrees\n{log}"
    );
}
