//! `server.close()` on an HTTP server with an idle keep-alive connection: the server ends the
//! connection at once, and once the client closes too the server's `'close'` follows, without
//! anyone destroying the half-open socket (docs/node-semantics.md#http-server-close-idle,
//! #http-lingering-close).
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sansnet_http1::{Response, ServerEvent as HttpEvent};
use sansnet_mio::{Event, EventLoop};
use sansnet_tcp::{Address, ServerConfig, ServerEvent};

const BOUND: Duration = Duration::from_secs(10);

/// The client: one keep-alive `GET`, its whole response, a note that it is idle, then reads
/// until the server's FIN and closes its side.
fn client(addr: SocketAddr, idle: mpsc::Sender<()>) -> Duration {
    let mut stream = TcpStream::connect_timeout(&addr, BOUND).unwrap();
    stream.set_read_timeout(Some(BOUND)).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    while !response.ends_with(b"\r\n\r\nok") {
        let n = stream.read(&mut buf).unwrap();
        assert_ne!(n, 0, "the response was cut: {response:?}");
        response.extend_from_slice(&buf[..n]);
    }
    idle.send(()).unwrap();
    let asked = Instant::now();
    assert_eq!(stream.read(&mut buf).unwrap(), 0, "EOF after close()");
    asked.elapsed()
}

/// The idle connection ends at `close()`; the client closes on that EOF; the server's `Close`
/// comes promptly, with the socket closed by the FINs of both sides, not by a destroy.
#[test]
fn close_ends_an_idle_keep_alive_connection_and_closes_on_the_peer_fin() {
    let mut ev = EventLoop::new().unwrap();
    let server = ev.listen_http(
        Address::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))),
        ServerConfig::default(),
        sansnet_http1::ServerConfig::default(),
    );
    let (idle_tx, idle_rx) = mpsc::channel();
    let mut client_thread = None;
    let mut closed_at = None;
    let deadline = Instant::now() + BOUND;
    while closed_at.is_none() {
        assert!(
            Instant::now() < deadline,
            "no server close within {BOUND:?}"
        );
        if client_thread.is_some() && idle_rx.try_recv().is_ok() {
            ev.close_server(server).unwrap();
        }
        let Some(event) = ev.next_event(Some(Duration::from_millis(10))).unwrap() else {
            continue;
        };
        match event {
            Event::Server {
                event:
                    ServerEvent::Listening {
                        address: Address::Tcp(addr),
                    },
                ..
            } => {
                let idle_tx = idle_tx.clone();
                client_thread = Some(std::thread::spawn(move || client(addr, idle_tx)));
            }
            Event::Http {
                socket,
                event: HttpEvent::Request(request),
            } => {
                ev.respond(
                    socket,
                    request.id,
                    Response::new(200),
                    Bytes::from_static(b"ok"),
                )
                .unwrap();
            }
            Event::Server {
                event: ServerEvent::Close,
                ..
            } => closed_at = Some(Instant::now()),
            _ => {}
        }
    }
    let eof_after = client_thread.unwrap().join().unwrap();
    assert!(
        eof_after < Duration::from_secs(1),
        "the idle connection ended {eof_after:?} after close()"
    );
}
