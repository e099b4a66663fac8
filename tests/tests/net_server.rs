//! `net.Server` over loopback: bind errors, `close()` waiting for connections,
//! `maxConnections`, refused connects and idle timeouts.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{loopback_any, next};
use sansnet_mio::{Event, EventLoop, ServerId, SocketId};
use sansnet_tcp::{Address, Error, ServerConfig, ServerEvent, SocketConfig, SocketEvent};

fn listen(ev: &mut EventLoop, config: ServerConfig) -> (ServerId, Address) {
    let server = ev.listen(Address::Tcp(loopback_any()), config);
    match next(ev, "listening") {
        Event::Server {
            server: id,
            event: ServerEvent::Listening { address },
        } => {
            assert_eq!(id, server);
            (server, address)
        }
        other => panic!("expected listening, got {other:?}"),
    }
}

/// Node docs `net.md` › `Event: 'error'`: a second `listen` on a port in use emits `error`
/// (EADDRINUSE), no `listening` and no `close`.
#[test]
fn second_listen_on_used_port_emits_eaddrinuse() {
    let mut ev = EventLoop::new().unwrap();
    let (first, address) = listen(&mut ev, ServerConfig::default());
    let second = ev.listen(address, ServerConfig::default());
    match next(&mut ev, "bind error") {
        Event::Server {
            server,
            event: ServerEvent::Error(error),
        } => {
            assert_eq!(server, second);
            assert_eq!(error, Error::Io(ErrorKind::AddrInUse));
            assert_eq!(error.code(), "EADDRINUSE");
        }
        other => panic!("expected error, got {other:?}"),
    }
    ev.close_server(first).unwrap();
    assert_eq!(
        next(&mut ev, "close of the first server"),
        Event::Server {
            server: first,
            event: ServerEvent::Close
        }
    );
    assert_eq!(
        ev.next_event(Some(Duration::from_millis(50))).unwrap(),
        None,
        "nothing else"
    );
}

/// docs/node-semantics.md#net-server-close, #net-server-close-callback: `close()` stops accepting
/// at once but `close` waits for the open connection; a second `close()` is
/// `ERR_SERVER_NOT_RUNNING`.
#[test]
fn close_waits_for_open_connections() {
    let mut ev = EventLoop::new().unwrap();
    let (server, address) = listen(&mut ev, ServerConfig::default());
    let client = ev.connect(address.clone(), SocketConfig::default());
    let accepted = loop {
        if let Event::Server {
            event: ServerEvent::Connection { id },
            ..
        } = next(&mut ev, "conn")
        {
            break SocketId::from(id);
        }
    };
    ev.close_server(server).unwrap();
    assert_eq!(
        ev.close_server(server).unwrap_err().code(),
        "ERR_SERVER_NOT_RUNNING"
    );
    assert_eq!(ev.server(server).map(|s| s.connections()), Some(1));
    // New connections are refused now.
    let late = ev.connect(address, SocketConfig::default());
    let mut late_error = None;
    let mut saw_server_close_early = false;
    let deadline = Instant::now() + Duration::from_millis(300);
    while Instant::now() < deadline {
        match ev.next_event(Some(Duration::from_millis(50))).unwrap() {
            Some(Event::Socket {
                socket,
                event: SocketEvent::Error(error),
            }) if socket == late => {
                late_error = Some(error);
            }
            Some(Event::Server {
                event: ServerEvent::Close,
                ..
            }) => saw_server_close_early = true,
            _ => {}
        }
    }
    assert_eq!(late_error.map(|e| e.code()), Some("ECONNREFUSED"));
    assert!(
        !saw_server_close_early,
        "close must wait for the open connection"
    );
    ev.write(client, Bytes::from_static(b"last")).unwrap();
    ev.end(client, None).unwrap();
    let mut order = Vec::new();
    loop {
        match next(&mut ev, "server close") {
            Event::Socket {
                socket,
                event: SocketEvent::Close { .. },
            } if socket == accepted => {
                order.push("accepted socket closed");
            }
            Event::Server {
                event: ServerEvent::Close,
                ..
            } => {
                order.push("server closed");
                break;
            }
            _ => {}
        }
    }
    assert_eq!(order, vec!["accepted socket closed", "server closed"]);
}

/// Node docs `net.md` › `server.maxConnections`: at `maxConnections` a further connection is closed
/// on accept and `drop` is emitted.
#[test]
fn max_connections_drops_the_extra_connection() {
    let mut ev = EventLoop::new().unwrap();
    let mut config = ServerConfig::default();
    config.max_connections = Some(1);
    let (server, address) = listen(&mut ev, config);
    let first = ev.connect(address.clone(), SocketConfig::default());
    loop {
        if let Event::Server {
            event: ServerEvent::Connection { .. },
            ..
        } = next(&mut ev, "1st")
        {
            break;
        }
    }
    let second = ev.connect(address, SocketConfig::default());
    let mut dropped = false;
    let mut second_closed = false;
    while !(dropped && second_closed) {
        match next(&mut ev, "drop") {
            Event::Server {
                event: ServerEvent::Drop,
                ..
            } => dropped = true,
            Event::Server {
                event: ServerEvent::Connection { .. },
                ..
            } => {
                panic!("the second connection must not be accepted")
            }
            Event::Socket {
                socket,
                event: SocketEvent::Close { .. },
            } if socket == second => {
                second_closed = true;
            }
            _ => {}
        }
    }
    assert_eq!(ev.server(server).map(|s| s.connections()), Some(1));
    ev.destroy(first);
}

/// Node docs `net.md` › `socket.connect()`: connecting to a port nobody listens on emits `error`
/// (ECONNREFUSED) and then `close(true)`, with no `connect`.
#[test]
fn refused_connect_emits_error_then_close() {
    let (_guard, port) = common::refused_address();
    let mut ev = EventLoop::new().unwrap();
    let socket = ev.connect(Address::Tcp(port), SocketConfig::default());
    let first = next(&mut ev, "error");
    let Event::Socket {
        socket: id,
        event: SocketEvent::Error(error),
    } = first
    else {
        panic!("expected error, got {first:?}")
    };
    assert_eq!(id, socket);
    assert_eq!(error.code(), "ECONNREFUSED");
    assert_eq!(
        next(&mut ev, "close"),
        Event::Socket {
            socket,
            event: SocketEvent::Close { had_error: true }
        }
    );
}

/// Node docs `net.md` › `socket.setTimeout()`: over a real connection, `timeout` fires after the
/// idle time and the socket stays usable: it still echoes afterwards.
#[test]
fn idle_timeout_fires_and_socket_stays_open() {
    let mut ev = EventLoop::new().unwrap();
    let (server, address) = listen(&mut ev, ServerConfig::default());
    let client = ev.connect(address, SocketConfig::default());
    ev.set_timeout(client, Some(Duration::from_millis(100)));
    let started = Instant::now();
    loop {
        match next(&mut ev, "timeout") {
            Event::Socket {
                socket,
                event: SocketEvent::Timeout,
            } if socket == client => break,
            Event::Socket {
                event: SocketEvent::Close { .. },
                ..
            } => panic!("timeout closed"),
            _ => {}
        }
    }
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "not before the idle time"
    );
    ev.set_timeout(client, None);
    ev.write(client, Bytes::from_static(b"after timeout"))
        .unwrap();
    loop {
        match next(&mut ev, "data after timeout") {
            Event::Socket {
                socket,
                event: SocketEvent::Data(data),
            } if socket != client => {
                assert_eq!(&data[..], b"after timeout");
                break;
            }
            Event::Socket {
                event: SocketEvent::Timeout,
                ..
            } => panic!("timeout was disabled"),
            _ => {}
        }
    }
    ev.destroy(client);
    ev.close_server(server).unwrap();
}
