//! Half-open TCP over loopback, both ways: `allowHalfOpen` keeps the socket writable after
//! the peer's FIN; the default ends our side once the queue is flushed.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use bytes::Bytes;
use common::{loopback_any, next};
use sansnet_mio::{Event, EventLoop, ServerId, SocketId};
use sansnet_tcp::{Address, ServerConfig, ServerEvent, SocketConfig, SocketEvent};

fn half_open() -> SocketConfig {
    let mut config = SocketConfig::default();
    config.allow_half_open = true;
    config
}

/// A server with `socket` as its sockets' config, its address, and a connected client.
fn setup(server_socket: SocketConfig, client: SocketConfig) -> (EventLoop, ServerId, SocketId) {
    let mut ev = EventLoop::new().unwrap();
    let mut config = ServerConfig::default();
    config.socket = server_socket;
    let server = ev.listen(Address::Tcp(loopback_any()), config);
    let Event::Server {
        event: ServerEvent::Listening { address },
        ..
    } = next(&mut ev, "listen")
    else {
        panic!("expected listening")
    };
    let client = ev.connect(address, client);
    (ev, server, client)
}

/// Collects every socket event until both sockets closed, keyed client/server.
fn run(ev: &mut EventLoop, client: SocketId) -> (Vec<SocketEvent>, Vec<SocketEvent>) {
    let mut client_events = Vec::new();
    let mut server_events = Vec::new();
    let mut closed = 0;
    while closed < 2 {
        match next(ev, "half-open traffic") {
            Event::Socket { socket, event } => {
                if matches!(event, SocketEvent::Close { .. }) {
                    closed += 1;
                }
                if socket == client {
                    &mut client_events
                } else {
                    &mut server_events
                }
                .push(event);
            }
            Event::Server { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    (merge_data(client_events), merge_data(server_events))
}

/// Adjacent `Data` events merged, so the comparison does not depend on chunking.
fn merge_data(events: Vec<SocketEvent>) -> Vec<SocketEvent> {
    let mut merged: Vec<SocketEvent> = Vec::new();
    for event in events {
        match (merged.last_mut(), event) {
            (Some(SocketEvent::Data(prev)), SocketEvent::Data(more)) => {
                *prev = [prev.as_ref(), more.as_ref()].concat().into();
            }
            (_, event) => merged.push(event),
        }
    }
    merged
}

/// Node docs `net.md` › `Event: 'end'`, `socket.end()`: the client ends after "question"; the
/// half-open server gets `end`, still writes "answer", then ends; the client, ended first, still
/// receives it.
#[test]
fn half_open_server_writes_after_peer_fin() {
    let (mut ev, server, client) = setup(half_open(), SocketConfig::default());
    let mut client_events = Vec::new();
    let mut server_events = Vec::new();
    let mut closed = 0;
    while closed < 2 {
        match next(&mut ev, "half-open exchange") {
            Event::Socket { socket, event } if socket == client => {
                if event == SocketEvent::Connect {
                    ev.end(client, Some(Bytes::from_static(b"question")))
                        .unwrap();
                }
                closed += usize::from(matches!(event, SocketEvent::Close { .. }));
                client_events.push(event);
            }
            Event::Socket { socket, event } => {
                if event == SocketEvent::End {
                    // Writable after the peer's FIN (Node docs `net.md` › `Event: 'end'`).
                    assert_eq!(ev.write(socket, Bytes::from_static(b"answer")), Ok(true));
                    ev.end(socket, None).unwrap();
                }
                closed += usize::from(matches!(event, SocketEvent::Close { .. }));
                server_events.push(event);
            }
            Event::Server { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        merge_data(client_events),
        vec![
            SocketEvent::Connect,
            SocketEvent::Ready,
            SocketEvent::Finish,
            SocketEvent::Data(Bytes::from_static(b"answer")),
            SocketEvent::End,
            SocketEvent::Close { had_error: false },
        ]
    );
    assert_eq!(
        merge_data(server_events),
        vec![
            SocketEvent::Data(Bytes::from_static(b"question")),
            SocketEvent::End,
            SocketEvent::Finish,
            SocketEvent::Close { had_error: false },
        ]
    );
    ev.close_server(server).unwrap();
}

/// docs/node-semantics.md#net-end-closes-by-default, #net-close-order: by default the server, on
/// the client's FIN, flushes what it wrote in answer to `data` and ends its side: `end` -> `finish`
/// -> `close(false)`; a half-open client keeps its side open until it ends it.
#[test]
fn default_server_ends_its_side_after_peer_fin() {
    let (mut ev, server, client) = setup(SocketConfig::default(), half_open());
    let mut client_events = Vec::new();
    let mut server_events = Vec::new();
    let mut closed = 0;
    while closed < 2 {
        match next(&mut ev, "default exchange") {
            Event::Socket { socket, event } if socket == client => {
                match &event {
                    SocketEvent::Connect => {
                        ev.end(client, Some(Bytes::from_static(b"ping"))).unwrap();
                    }
                    SocketEvent::End => {
                        // Half-open client: its side was already ended; nothing to write.
                    }
                    _ => {}
                }
                closed += usize::from(matches!(event, SocketEvent::Close { .. }));
                client_events.push(event);
            }
            Event::Socket { socket, event } => {
                if let SocketEvent::Data(data) = &event {
                    ev.write(socket, data.clone()).unwrap();
                }
                closed += usize::from(matches!(event, SocketEvent::Close { .. }));
                server_events.push(event);
            }
            Event::Server { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        merge_data(server_events),
        vec![
            SocketEvent::Data(Bytes::from_static(b"ping")),
            SocketEvent::End,
            SocketEvent::Finish,
            SocketEvent::Close { had_error: false },
        ]
    );
    assert_eq!(
        merge_data(client_events),
        vec![
            SocketEvent::Connect,
            SocketEvent::Ready,
            SocketEvent::Finish,
            SocketEvent::Data(Bytes::from_static(b"ping")),
            SocketEvent::End,
            SocketEvent::Close { had_error: false },
        ]
    );
    ev.close_server(server).unwrap();
}

/// Node docs `net.md` › `Event: 'end'`: a half-open client keeps writing after the server's FIN,
/// and the server (also half-open) reads it before the client ends.
#[test]
fn half_open_client_writes_after_server_fin() {
    let (mut ev, server, client) = setup(half_open(), half_open());
    let mut accepted = None;
    loop {
        match next(&mut ev, "server fin") {
            Event::Server {
                event: ServerEvent::Connection { id },
                ..
            } => {
                let socket = SocketId::from(id);
                accepted = Some(socket);
                ev.end(socket, Some(Bytes::from_static(b"bye from server")))
                    .unwrap();
            }
            Event::Socket {
                socket,
                event: SocketEvent::End,
            } if socket == client => {
                ev.write(client, Bytes::from_static(b"still talking"))
                    .unwrap();
                ev.end(client, None).unwrap();
                break;
            }
            _ => {}
        }
    }
    let (client_events, server_events) = run(&mut ev, client);
    assert!(accepted.is_some());
    assert_eq!(
        client_events,
        vec![SocketEvent::Finish, SocketEvent::Close { had_error: false }]
    );
    assert_eq!(
        server_events,
        vec![
            SocketEvent::Data(Bytes::from_static(b"still talking")),
            SocketEvent::End,
            SocketEvent::Close { had_error: false },
        ]
    );
    ev.close_server(server).unwrap();
}
