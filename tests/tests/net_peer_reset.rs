//! Peers that reset a connection (RST, `SO_LINGER` 0) at any moment, over TLS and plain TCP:
//! the driver ends that socket once, with its error, and goes on serving everyone else
//! without using the CPU.
//!
//! A write that fails with `EPIPE` or `ECONNRESET` must end the socket with that error, as Node
//! does (`'error'` then `'close'` with `hadError`; Node docs: net.md › Event: 'error' and
//! Event: 'close'), never be retried in a loop. Under TLS the ciphertext waiting to go out (the
//! session tickets a TLS 1.3 server sends right after the handshake, RFC 8446 §4.6.1, or the
//! records of a large response) used to be retried forever after such a failure, one core at
//! 100% and no other connection served.
//!
//! - the demo after 50 resets right after the TLS handshake, 50 resets in the middle of a
//!   1 MiB upload to `/echo` and 50 resets after a WebSocket close frame on `/chat` (each over
//!   HTTPS and over plain HTTP), and after headless Chromium on its HTTPS chat page: idle
//!   afterwards (under 50 ms of CPU in one second), answering plain HTTP and HTTPS, and ending
//!   with exit status 0 on SIGTERM;
//! - `EventLoop::listen_tls` in this process: each reset socket reports one `error` and one
//!   `close(true)`, and nothing after it;
//! - our `https://` and `wss://` clients against a server that resets in the middle of an
//!   upload: the request or WebSocket fails once with the reset, and the loop goes idle.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use common::start_http_demo;
use sansnet_http1::{ClientRequest, Origin};
use sansnet_mio::{ClientRequestEvent, Event, EventLoop};
use sansnet_tcp::{Address, SocketEvent};
use sansnet_testkit::certs::{TestCa, Usage};
use sansnet_tls::rustls::{self, ClientConnection, ServerConnection, StreamOwned};
use sansnet_tls::{ClientOptions, Identity, ServerOptions};

/// How many times each racy trigger is repeated.
const TRIES: usize = 50;
/// How long any socket operation of the test's own peers may block.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// The CPU time a server may use in one idle second.
const IDLE_CPU: Duration = Duration::from_millis(50);

// ---- helpers ----------------------------------------------------------------------------

/// CPU time (user + system) of process `pid`, or of one thread with `task`, from
/// `/proc/PID[/task/TID]/stat` (fields 14 and 15, in clock ticks of `USER_HZ`, 100 on Linux;
/// proc(5)).
fn cpu_time(stat: &Path) -> Duration {
    let text = std::fs::read_to_string(stat).unwrap_or_else(|e| panic!("{}: {e}", stat.display()));
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = &text[text.rfind(')').expect("stat has a command name") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// Asserts that whatever `stat` describes uses less than [`IDLE_CPU`] over one idle second.
fn assert_idle(stat: &Path, what: &str) {
    // Let work in flight (the last triggers' bytes) finish first.
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu_time(stat);
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_time(stat).saturating_sub(before);
    assert!(
        used < IDLE_CPU,
        "{what} used {used:?} of CPU in one idle second (a loop that makes no progress)"
    );
}

/// Closes `tcp` with RST instead of FIN (`SO_LINGER` 0), as a crashed or impatient peer does.
fn reset(tcp: TcpStream) {
    socket2::SockRef::from(&tcp)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(tcp);
}

fn tcp_connect(port: u16) -> TcpStream {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    tcp
}

/// A blocking rustls client to `127.0.0.1:port` (as `localhost`), handshake done.
fn tls_connect(
    port: u16,
    config: &Arc<rustls::ClientConfig>,
) -> StreamOwned<ClientConnection, TcpStream> {
    let name = "localhost".try_into().unwrap();
    let conn = ClientConnection::new(config.clone(), name).unwrap();
    let mut stream = StreamOwned::new(conn, tcp_connect(port));
    while stream.conn.is_handshaking() {
        if let Err(e) = stream.conn.complete_io(&mut stream.sock) {
            panic!("the server did not finish a TLS handshake within {IO_TIMEOUT:?}: {e}");
        }
    }
    stream
}

/// Client settings trusting the CA in `ca_file` (PEM).
fn trusting(ca_file: &Path) -> Arc<rustls::ClientConfig> {
    let pem = std::fs::read(ca_file).unwrap();
    ClientOptions {
        ca: Some(sansnet_tls::certificates_from_pem(&pem).unwrap()),
        alpn: vec![b"http/1.1".to_vec()],
        ..ClientOptions::default()
    }
    .build()
    .unwrap()
}

/// Reads until the end of an HTTP head (or the peer closes); returns what was read.
fn read_head(stream: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) | Err(_) => break,
            Ok(_) => head.push(byte[0]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// `GET /hello` on `stream`; returns the whole answer (the request asks for `close`).
fn get_hello(mut stream: impl Read + Write) -> String {
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    // A TLS peer that ends without `close_notify` is an error here; the answer is complete.
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// A CA, and server settings for `localhost` signed by it; returns (server, client) settings.
fn test_pki() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let ca = TestCa::new("sansnet reset test CA");
    let leaf = ca.leaf(&["localhost", "127.0.0.1"], Usage::Server);
    let identity = Identity::from_pem(leaf.chain_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap();
    let mut server = ServerOptions::new(identity);
    server.alpn = vec![b"http/1.1".to_vec()];
    let client = ClientOptions {
        ca: Some(sansnet_tls::certificates_from_pem(ca.cert_pem.as_bytes()).unwrap()),
        alpn: vec![b"http/1.1".to_vec()],
        ..ClientOptions::default()
    };
    (server.build().unwrap(), client.build().unwrap())
}

/// An event loop running on a thread of its own, so that a loop that spins cannot hang the
/// test: the test waits for its reports with a timeout and reads the thread's CPU time.
struct LoopThread<R> {
    reports: Receiver<R>,
    stop: Arc<AtomicBool>,
    /// `/proc/self/task/TID/stat` of the loop's thread.
    stat: PathBuf,
    handle: Option<JoinHandle<()>>,
}

impl<R: Send + 'static> LoopThread<R> {
    /// Runs `setup` once, then `on_event` for every event until told to stop.
    fn spawn(
        setup: impl FnOnce(&mut EventLoop, &Sender<R>) + Send + 'static,
        mut on_event: impl FnMut(&mut EventLoop, Event, &Sender<R>) + Send + 'static,
    ) -> Self {
        let (tx, reports) = channel();
        let (stat_tx, stat_rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let handle = std::thread::spawn(move || {
            let task = std::fs::read_link("/proc/thread-self").unwrap();
            stat_tx
                .send(Path::new("/proc").join(task).join("stat"))
                .unwrap();
            let mut ev = EventLoop::new().unwrap();
            setup(&mut ev, &tx);
            while !stopped.load(Ordering::Relaxed) {
                match ev.next_event(Some(Duration::from_millis(50))).unwrap() {
                    Some(event) => on_event(&mut ev, event, &tx),
                    // `None` comes at once when nothing is left in the loop: wait here instead.
                    None => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        });
        let stat = stat_rx.recv_timeout(IO_TIMEOUT).unwrap();
        Self {
            reports,
            stop,
            stat,
            handle: Some(handle),
        }
    }

    /// The next report, or a failure that says whether the loop is spinning.
    fn next(&self, what: &str) -> R {
        match self.reports.recv_timeout(common::WAIT) {
            Ok(report) => report,
            Err(e) => {
                let before = cpu_time(&self.stat);
                std::thread::sleep(Duration::from_secs(1));
                let used = cpu_time(&self.stat).saturating_sub(before);
                panic!("no {what} ({e}); the loop used {used:?} of CPU in the last second")
            }
        }
    }
}

impl<R> Drop for LoopThread<R> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // A loop stuck in a spin never sees the flag: leave its thread behind rather than
        // hang the test (the assertion that found it has already failed).
        if let Some(handle) = self.handle.take()
            && !std::thread::panicking()
        {
            handle.join().unwrap();
        }
    }
}

/// The port of the first `Listening` event of a server.
fn listening_port(event: &Event) -> Option<u16> {
    match event {
        Event::Server {
            event:
                sansnet_tcp::ServerEvent::Listening {
                    address: Address::Tcp(a),
                },
            ..
        } => Some(a.port()),
        _ => None,
    }
}

// ---- the demo ---------------------------------------------------------------------------

/// A connection of the test's own client to the demo, plain or TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Conn {
    /// Ends the connection with RST.
    fn reset(self) {
        reset(match self {
            Self::Plain(tcp) => tcp,
            Self::Tls(stream) => stream.sock,
        });
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.read(buf),
            Self::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.write(buf),
            Self::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(tcp) => tcp.flush(),
            Self::Tls(stream) => stream.flush(),
        }
    }
}

/// The demo's HTTP and HTTPS ports and the settings that trust its certificate.
struct Demo {
    http: u16,
    https: u16,
    config: Arc<rustls::ClientConfig>,
}

impl Demo {
    fn open(&self, tls: bool) -> Conn {
        if tls {
            Conn::Tls(Box::new(tls_connect(self.https, &self.config)))
        } else {
            Conn::Plain(tcp_connect(self.http))
        }
    }
}

/// Starts the demo, runs `trigger` against it `tries` times, then checks that it uses no
/// CPU, answers `GET /hello` over plain HTTP and over HTTPS, and ends with exit status 0 on
/// SIGTERM.
fn demo_survives(name: &str, tries: usize, trigger: impl Fn(&Demo)) {
    let mut demo = start_http_demo(name);
    let pid = demo.guard.child.id();
    let stat = PathBuf::from(format!("/proc/{pid}/stat"));
    let ports = Demo {
        http: demo.port,
        https: demo.https_port,
        config: trusting(&demo.ca_file),
    };
    for _ in 0..tries {
        trigger(&ports);
    }
    assert_idle(&stat, &format!("the demo after {name}"));

    let plain = get_hello(ports.open(false));
    assert!(
        plain.starts_with("HTTP/1.1 200") && plain.contains("hello"),
        "plain GET /hello after {name}:\n{plain}"
    );
    let secure = get_hello(ports.open(true));
    assert!(
        secure.starts_with("HTTP/1.1 200") && secure.contains("hello"),
        "HTTPS GET /hello after {name}:\n{secure}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success(), "kill -TERM {pid}");
    let status = demo.guard.wait_timeout(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "SIGTERM must end the demo with exit status 0 after {name}, got {status:?}"
    );
}

/// `POST /echo` announcing 4 MiB, 1 MiB of it sent, then a reset without reading: the echo
/// the demo writes meets the reset.
fn upload_then_reset(mut conn: Conn) {
    let head = "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4194304\r\n\r\n";
    conn.write_all(head.as_bytes()).unwrap();
    let chunk = [b'x'; 64 * 1024];
    for _ in 0..16 {
        // The demo echoes what it reads and this side never reads: once the buffers fill, a
        // write may block until its timeout. Reset then all the same.
        if conn.write_all(&chunk).is_err() {
            break;
        }
    }
    conn.reset();
}

/// A WebSocket on `/chat`, a masked close frame (1001), then a reset: the close echo the demo
/// writes meets the reset.
fn close_frame_then_reset(mut conn: Conn) {
    conn.write_all(
        b"GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
          Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
          Sec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let head = read_head(&mut conn);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // A masked close frame, code 1001 (RFC 6455 §5.5.1): 0x88, mask bit and length 2.
    let mask = [1u8, 2, 3, 4];
    let code = 1001u16.to_be_bytes();
    conn.write_all(&[
        0x88,
        0x82,
        mask[0],
        mask[1],
        mask[2],
        mask[3],
        code[0] ^ mask[0],
        code[1] ^ mask[1],
    ])
    .unwrap();
    conn.reset();
}

/// A TLS 1.3 handshake, then a reset before sending anything: the server's session tickets
/// (RFC 8446 §4.6.1), written right after the handshake, meet the reset.
#[test]
fn demo_survives_resets_right_after_the_handshake() {
    demo_survives("resets right after the handshake", TRIES, |demo| {
        demo.open(true).reset();
    });
}

/// Resets in the middle of an upload to `/echo`, over HTTPS.
#[test]
fn demo_survives_resets_in_the_middle_of_an_https_upload() {
    demo_survives("resets in the middle of an HTTPS upload", TRIES, |demo| {
        upload_then_reset(demo.open(true));
    });
}

/// Resets in the middle of an upload to `/echo`, over plain HTTP.
#[test]
fn demo_survives_resets_in_the_middle_of_an_http_upload() {
    demo_survives("resets in the middle of an HTTP upload", TRIES, |demo| {
        upload_then_reset(demo.open(false));
    });
}

/// Resets after a WebSocket close frame on `wss://…/chat`.
#[test]
fn demo_survives_resets_after_a_wss_close_frame() {
    demo_survives("resets after a wss close frame", TRIES, |demo| {
        close_frame_then_reset(demo.open(true));
    });
}

/// Resets after a WebSocket close frame on `ws://…/chat`.
#[test]
fn demo_survives_resets_after_a_ws_close_frame() {
    demo_survives("resets after a ws close frame", TRIES, |demo| {
        close_frame_then_reset(demo.open(false));
    });
}

// ---- listen_tls in this process -----------------------------------------------------------

/// What the server loop saw of one connection.
#[derive(Debug, Default)]
struct Seen {
    errors: Vec<String>,
    closes: Vec<bool>,
    after_close: Vec<String>,
}

/// Each connection reset right after the handshake, or while the server writes 1 MiB to
/// it, is reported with exactly one `error` (the reset: `ECONNRESET` or `EPIPE`) and one
/// `close(true)`, nothing after; the loop then idles and a new client is served.
#[test]
fn listen_tls_reports_each_reset_once_and_idles() {
    let (server_tls, client_tls) = test_pki();
    let server = LoopThread::spawn(
        move |ev, _| {
            ev.listen_tls(
                Address::Tcp(common::loopback_any()),
                sansnet_tcp::ServerConfig::default(),
                server_tls,
            );
        },
        {
            let mut seen: HashMap<sansnet_mio::SocketId, Seen> = HashMap::new();
            move |ev, event, tx: &Sender<(Option<u16>, Vec<Seen>)>| {
                if let Some(port) = listening_port(&event) {
                    tx.send((Some(port), Vec::new())).unwrap();
                    return;
                }
                let Event::Socket { socket, event } = event else {
                    return;
                };
                let entry = seen.entry(socket).or_default();
                if !entry.closes.is_empty() {
                    entry.after_close.push(format!("{event:?}"));
                }
                match event {
                    // A client that says "flood": 1 MiB comes back, which it will not read.
                    SocketEvent::Data(data) if data.starts_with(b"flood") => {
                        let _ = ev.write(socket, Bytes::from(vec![b'y'; 1 << 20]));
                    }
                    SocketEvent::Data(data) if data.starts_with(b"report") => {
                        let _ = ev.write(socket, Bytes::from_static(b"ok"));
                        let _ = ev.end(socket, None);
                        let done = std::mem::take(&mut seen);
                        tx.send((None, done.into_values().collect())).unwrap();
                    }
                    SocketEvent::Error(error) => entry.errors.push(error.code().to_owned()),
                    SocketEvent::Close { had_error } => entry.closes.push(had_error),
                    _ => {}
                }
            }
        },
    );
    let port = server.next("listening").0.unwrap();

    for i in 0..TRIES {
        let mut stream = tls_connect(port, &client_tls);
        if i % 2 == 1 {
            stream.write_all(b"flood").unwrap();
            let mut some = [0u8; 1024];
            stream.read_exact(&mut some).unwrap();
        }
        reset(stream.sock);
    }
    assert_idle(&server.stat, "the listen_tls loop after the resets");

    let mut last = tls_connect(port, &client_tls);
    last.write_all(b"report").unwrap();
    let mut ok = [0u8; 2];
    last.read_exact(&mut ok).unwrap();
    assert_eq!(&ok, b"ok", "a new client is served after the resets");
    let (_, seen) = server.next("the report");
    let reset_ones: Vec<&Seen> = seen.iter().filter(|s| !s.closes.is_empty()).collect();
    assert_eq!(
        reset_ones.len(),
        TRIES,
        "every reset socket closed: {seen:?}"
    );
    for s in reset_ones {
        assert_eq!(s.closes, [true], "one close(true) per socket: {s:?}");
        assert_eq!(s.errors.len(), 1, "one error per socket: {s:?}");
        assert!(
            ["ECONNRESET", "EPIPE"].contains(&s.errors[0].as_str()),
            "the reset's own error: {s:?}"
        );
        assert!(s.after_close.is_empty(), "nothing after close: {s:?}");
    }
}

// ---- our clients --------------------------------------------------------------------------

/// A blocking TLS server on a thread: accepts `count` connections; for each, finishes the
/// handshake, reads `before_reset` bytes (answering a WebSocket upgrade first if one comes),
/// then resets it.
fn resetting_server(
    tls: Arc<rustls::ServerConfig>,
    count: usize,
    before_reset: usize,
) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        for _ in 0..count {
            let (tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            tcp.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
            let conn = ServerConnection::new(tls.clone()).unwrap();
            let mut stream = StreamOwned::new(conn, tcp);
            let head = read_head(&mut stream);
            if head.contains("Upgrade: websocket") {
                let key = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                    .unwrap();
                let accept = sansnet_ws::handshake::accept_key(key.trim().as_bytes());
                let answer = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                     Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                );
                let _ = stream.write_all(answer.as_bytes());
            }
            let mut left = before_reset;
            let mut buf = vec![0u8; 16 * 1024];
            while left > 0 {
                match stream.read(&mut buf[..left.min(16 * 1024)]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left -= n,
                }
            }
            reset(stream.sock);
        }
    });
    (port, handle)
}

/// Our `https://` client uploading 8 MiB to a server that resets after 256 KiB: every
/// request fails once with the reset, closes, and the loop goes idle.
#[test]
fn https_client_upload_reset_by_the_server() {
    let (server_tls, client_tls) = test_pki();
    let tries = 10;
    let (port, server) = resetting_server(server_tls, tries, 256 * 1024);
    let client = LoopThread::spawn(
        move |ev, _| {
            ev.set_https_config(client_tls);
            let body = Bytes::from(vec![b'u'; 8 << 20]);
            for _ in 0..tries {
                let request = ClientRequest::new("POST", "/upload".to_owned());
                let id = ev.http_request(
                    Origin::new("https", "localhost", port),
                    request,
                    sansnet_mio::RequestOptions {
                        one_off: true,
                        ..sansnet_mio::RequestOptions::default()
                    },
                );
                ev.http_end(id, Some(body.clone())).unwrap();
            }
        },
        |_, event, tx: &Sender<String>| {
            if let Event::HttpClient { event, .. } = event {
                match event {
                    ClientRequestEvent::Error(e) => tx.send(format!("error {}", e.code())).unwrap(),
                    ClientRequestEvent::Close => tx.send("close".to_owned()).unwrap(),
                    ClientRequestEvent::Response(head) => {
                        tx.send(format!("response {}", head.status)).unwrap();
                    }
                    _ => {}
                }
            }
        },
    );
    let mut reports = Vec::new();
    while reports.iter().filter(|r| *r == "close").count() < tries {
        reports.push(client.next("the requests' close"));
    }
    server.join().unwrap();
    assert_idle(&client.stat, "our client's loop after the resets");
    let errors: Vec<&String> = reports.iter().filter(|r| r.starts_with("error")).collect();
    assert_eq!(errors.len(), tries, "one error per request: {reports:?}");
    for error in errors {
        assert!(
            error == "error ECONNRESET" || error == "error EPIPE",
            "the reset's own error: {reports:?}"
        );
    }
}

/// Our `wss://` client sending 64 KiB messages to a server that resets after 256 KiB: the
/// WebSocket reports its error and closes once, and the loop goes idle.
#[test]
fn wss_client_reset_by_the_server() {
    let (server_tls, client_tls) = test_pki();
    let (port, server) = resetting_server(server_tls, 1, 256 * 1024);
    let client = LoopThread::spawn(
        move |ev, _| {
            ev.set_https_config(client_tls);
            ev.ws_connect(
                Origin::new("https", "localhost", port),
                "/",
                &[],
                sansnet_ws::Config::default(),
            );
        },
        |ev, event, tx: &Sender<String>| match event {
            Event::WsOpen { socket, .. } => {
                tx.send("open".to_owned()).unwrap();
                let message = sansnet_ws::Message::Binary(Bytes::from(vec![b'w'; 64 * 1024]));
                for _ in 0..64 {
                    let _ = ev.ws_send(socket, message.clone());
                }
            }
            Event::WsOpenFailed { error, .. } => tx.send(format!("open failed {error}")).unwrap(),
            Event::Ws { event, .. } => match event {
                sansnet_ws::WsEvent::Error(e) => tx.send(format!("error {e}")).unwrap(),
                sansnet_ws::WsEvent::Close { code, .. } => {
                    tx.send(format!("close {code}")).unwrap()
                }
                _ => {}
            },
            _ => {}
        },
    );
    assert_eq!(client.next("open"), "open");
    let mut reports = Vec::new();
    while !reports.iter().any(|r: &String| r.starts_with("close")) {
        reports.push(client.next("the WebSocket's close"));
    }
    server.join().unwrap();
    assert_idle(&client.stat, "our wss client's loop after the reset");
    // RFC 6455 §7.1.5: no close frame came, so the close code is 1006.
    assert_eq!(reports.last().unwrap(), "close 1006", "{reports:?}");
    assert!(
        reports.len() <= 2,
        "at most one error before the one close: {reports:?}"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        client.reports.try_recv().is_err(),
        "nothing after the close: {reports:?}"
    );
}

/// Headless Chromium loads the demo's chat page over HTTPS (which opens `wss://…/chat`) and
/// exits: the connections it leaves behind must not make the demo spin (it did, at 100% CPU,
/// answering nobody and deaf to SIGTERM, three times in three before the fix).
#[test]
fn demo_survives_chromium_on_the_https_chat_page() {
    let browser = sansnet_testkit::peers::chromium();
    demo_survives("Chromium on the HTTPS chat page", 2, |demo| {
        let port = demo.https;
        let profile = std::env::temp_dir().join(format!(
            "sansnet-chromium-reset-{}-{port}",
            std::process::id()
        ));
        let shot = profile.join("page.png");
        std::fs::create_dir_all(&profile).unwrap();
        let out = common::run_bounded(
            Command::new(&browser)
                .args(common::CHROMIUM_FLAGS)
                .args([
                    "--ignore-certificate-errors",
                    "--window-size=800,600",
                    "--virtual-time-budget=3000",
                ])
                .arg(format!("--user-data-dir={}", profile.display()))
                .arg(format!("--screenshot={}", shot.display()))
                .arg(format!("https://localhost:{port}/")),
            Duration::from_secs(60),
            "headless Chromium",
        );
        assert!(out.status.success(), "Chromium failed: {}", out.status);
        assert!(shot.is_file(), "Chromium took no screenshot of the page");
        let _ = std::fs::remove_dir_all(&profile);
    });
}
