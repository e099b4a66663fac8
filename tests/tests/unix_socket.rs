//! Unix domain sockets through the driver: echo, the socket file's life, and a stale file.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use common::{next, random_bytes, sha256, unix_path};
use sansnet_mio::{Event, EventLoop};
use sansnet_tcp::{Address, Error, ServerConfig, ServerEvent, SocketConfig, SocketEvent};

/// docs/node-semantics.md#unix-path-length, #unix-unlink-on-close: `listen(path)` serves on a Unix
/// socket; 1 MiB echoes back unchanged; the server unlinks the file it created on `close()`.
#[test]
fn unix_echo_and_unlink_on_close() {
    let path = unix_path("echo");
    let data = random_bytes(1 << 20, 7);
    let mut ev = EventLoop::new().unwrap();
    let server = ev.listen(Address::Unix(path.clone()), ServerConfig::default());
    match next(&mut ev, "listening") {
        Event::Server {
            event: ServerEvent::Listening { address },
            ..
        } => {
            assert_eq!(address, Address::Unix(path.clone()));
        }
        other => panic!("expected listening, got {other:?}"),
    }
    assert!(path.exists(), "the socket file exists while listening");
    let client = ev.connect(Address::Unix(path.clone()), SocketConfig::default());
    let mut received = Vec::new();
    loop {
        match next(&mut ev, "unix echo") {
            Event::Socket {
                socket,
                event: SocketEvent::Connect,
            } if socket == client => {
                ev.end(client, Some(data.clone())).unwrap();
            }
            Event::Socket { socket, event } if socket == client => match event {
                SocketEvent::Data(bytes) => received.extend_from_slice(&bytes),
                SocketEvent::Close { had_error } => {
                    assert!(!had_error);
                    break;
                }
                _ => {}
            },
            Event::Socket {
                socket,
                event: SocketEvent::Data(bytes),
            } => {
                ev.write(socket, bytes).unwrap();
            }
            _ => {}
        }
    }
    assert_eq!(sha256(&received), sha256(&data));
    ev.close_server(server).unwrap();
    loop {
        if let Event::Server {
            event: ServerEvent::Close,
            ..
        } = next(&mut ev, "server close")
        {
            break;
        }
    }
    assert!(!path.exists(), "close() unlinks the socket file");
}

/// docs/node-semantics.md#unix-unlink-on-close: a stale socket file left by a crashed server makes
/// `listen` fail with EADDRINUSE.
#[test]
fn stale_socket_file_gives_eaddrinuse() {
    let path = unix_path("stale");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists(), "the crashed server's file stays behind");
    let mut ev = EventLoop::new().unwrap();
    ev.listen(Address::Unix(path.clone()), ServerConfig::default());
    match next(&mut ev, "error") {
        Event::Server {
            event: ServerEvent::Error(error),
            ..
        } => {
            assert_eq!(error, Error::Io(std::io::ErrorKind::AddrInUse));
        }
        other => panic!("expected EADDRINUSE, got {other:?}"),
    }
    std::fs::remove_file(&path).unwrap();
}

/// docs/node-semantics.md#unix-path-length: a path longer than `sun_path` (107 bytes on Linux) is
/// an error, not a crash.
#[test]
fn overlong_path_is_an_error() {
    let path = std::env::temp_dir().join("x".repeat(120));
    let mut ev = EventLoop::new().unwrap();
    ev.listen(Address::Unix(path), ServerConfig::default());
    match next(&mut ev, "error") {
        Event::Server {
            event: ServerEvent::Error(error),
            ..
        } => {
            assert_eq!(error.code(), "ENAMETOOLONG");
        }
        other => panic!("expected an error, got {other:?}"),
    }
}
