//! Server scenarios: Node's `net.Server` rules (docs/node-semantics.md#net-listen-async to
//! #net-max-connections).

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Instant;

use crate::{
    Address, Admission, ConnectionId, Error, Server, ServerAction, ServerConfig, ServerEvent,
    UsageError,
};

fn addr(port: u16) -> Address {
    Address::Tcp(SocketAddr::from(([127, 0, 0, 1], port)))
}

fn events(server: &mut Server) -> Vec<ServerEvent> {
    std::iter::from_fn(|| server.poll_event()).collect()
}

fn listening(config: ServerConfig) -> (Server, Instant) {
    let now = Instant::now();
    let mut server = Server::new(config);
    server.listen(now, addr(0)).unwrap();
    server.handle_listening(now, addr(4321));
    let _ = events(&mut server);
    while server.poll_action().is_some() {}
    (server, now)
}

/// Node docs `net.md` › `server.listen()`, `server.address()`: `listening` comes from the driver's
/// report, never from `listen()` itself, and carries the bound address; `address()` is `None`
/// before and after.
#[test]
fn idle_listen_emits_listening_only_after_bind() {
    let now = Instant::now();
    let mut server = Server::new(ServerConfig::default());
    server.listen(now, addr(0)).unwrap();
    assert!(
        events(&mut server).is_empty(),
        "listening is never emitted inside listen()"
    );
    assert_eq!(
        server.poll_action(),
        Some(ServerAction::Listen {
            address: addr(0),
            backlog: 511,
            reuse_port: false,
        })
    );
    assert_eq!(server.address(), None);
    server.handle_listening(now, addr(4321));
    assert_eq!(
        events(&mut server),
        vec![ServerEvent::Listening {
            address: addr(4321)
        }]
    );
    assert_eq!(server.address(), Some(&addr(4321)));
    server.close(now).unwrap();
    assert_eq!(server.address(), None);
}

/// Node docs `net.md` › `Event: 'error'`: a bind failure emits `error` and no `listening` or
/// `close`; listen may be called again.
#[test]
fn binding_error_emits_error_and_allows_listen_again() {
    let now = Instant::now();
    let mut server = Server::new(ServerConfig::default());
    server.listen(now, addr(80)).unwrap();
    server.handle_listen_error(now, ErrorKind::AddrInUse);
    let events_now = events(&mut server);
    assert_eq!(
        events_now,
        vec![ServerEvent::Error(Error::Io(ErrorKind::AddrInUse))]
    );
    let ServerEvent::Error(error) = &events_now[0] else {
        unreachable!()
    };
    assert_eq!(error.code(), "EADDRINUSE");
    assert_eq!(server.listen(now, addr(81)), Ok(()));
}

/// Node docs `net.md` › `server.listen()`: `listen()` twice is `ERR_SERVER_ALREADY_LISTEN` and
/// changes nothing.
#[test]
fn listening_listen_again_is_an_error() {
    let (mut server, now) = listening(ServerConfig::default());
    let err = server.listen(now, addr(1)).unwrap_err();
    assert_eq!(err.code(), "ERR_SERVER_ALREADY_LISTEN");
    assert!(server.is_listening());
    assert_eq!(server.poll_action(), None);
}

/// Node docs `net.md` › `Event: 'connection'`: `connection` once per accepted socket;
/// `getConnections()` counts them.
#[test]
fn listening_accept_emits_connection_per_socket() {
    let (mut server, now) = listening(ServerConfig::default());
    assert_eq!(
        server.handle_accept(now, ConnectionId(1)),
        Admission::Accept
    );
    assert_eq!(
        server.handle_accept(now, ConnectionId(2)),
        Admission::Accept
    );
    assert_eq!(
        events(&mut server),
        vec![
            ServerEvent::Connection {
                id: ConnectionId(1)
            },
            ServerEvent::Connection {
                id: ConnectionId(2)
            }
        ]
    );
    assert_eq!(server.connections(), 2);
}

/// Node docs `net.md` › `server.close()`: `close()` stops accepting at once and `close` comes only
/// after the last connection has closed.
#[test]
fn closing_waits_for_every_connection() {
    let (mut server, now) = listening(ServerConfig::default());
    server.handle_accept(now, ConnectionId(1));
    server.handle_accept(now, ConnectionId(2));
    let _ = events(&mut server);
    server.close(now).unwrap();
    assert_eq!(server.poll_action(), Some(ServerAction::CloseListener));
    assert_eq!(server.handle_accept(now, ConnectionId(3)), Admission::Drop);
    server.handle_connection_closed(now, ConnectionId(1));
    assert!(
        events(&mut server).is_empty(),
        "one connection is still open"
    );
    server.handle_connection_closed(now, ConnectionId(99));
    assert!(events(&mut server).is_empty(), "unknown ids are ignored");
    server.handle_connection_closed(now, ConnectionId(2));
    assert_eq!(events(&mut server), vec![ServerEvent::Close]);
}

/// Node docs `net.md` › `server.close()`: with no connections, `close` follows `close()` at once.
#[test]
fn listening_close_without_connections_closes_at_once() {
    let (mut server, now) = listening(ServerConfig::default());
    server.close(now).unwrap();
    assert_eq!(events(&mut server), vec![ServerEvent::Close]);
}

/// Node docs `net.md` › `server.close()`: `close()` on a server that is not running is
/// `ERR_SERVER_NOT_RUNNING`.
#[test]
fn idle_close_is_not_running() {
    let now = Instant::now();
    let mut server = Server::new(ServerConfig::default());
    assert_eq!(
        server.close(now),
        Err(Error::Usage(UsageError::ServerNotRunning))
    );
    let (mut server, now) = listening(ServerConfig::default());
    server.handle_accept(now, ConnectionId(1));
    server.close(now).unwrap();
    assert_eq!(
        server.close(now),
        Err(Error::Usage(UsageError::ServerNotRunning))
    );
}

/// Node docs `net.md` › `server.listen(options[, callback])` (`reusePort`): the setting reaches
/// the driver in the listen action, with the backlog.
#[test]
fn idle_listen_with_reuse_port_asks_the_driver_for_it() {
    let now = Instant::now();
    let mut server = Server::new(ServerConfig {
        reuse_port: true,
        backlog: 7,
        ..ServerConfig::default()
    });
    server.listen(now, addr(8080)).unwrap();
    assert_eq!(
        server.poll_action(),
        Some(ServerAction::Listen {
            address: addr(8080),
            backlog: 7,
            reuse_port: true,
        })
    );
}

/// Node docs `net.md` › `server.maxConnections`: at `maxConnections` further connections are
/// dropped with `drop`; zero drops all.
#[test]
fn listening_max_connections_drops_extra() {
    let config = ServerConfig {
        max_connections: Some(1),
        ..ServerConfig::default()
    };
    let (mut server, now) = listening(config);
    assert_eq!(
        server.handle_accept(now, ConnectionId(1)),
        Admission::Accept
    );
    assert_eq!(server.handle_accept(now, ConnectionId(2)), Admission::Drop);
    assert_eq!(
        events(&mut server),
        vec![
            ServerEvent::Connection {
                id: ConnectionId(1)
            },
            ServerEvent::Drop
        ]
    );
    server.handle_connection_closed(now, ConnectionId(1));
    assert_eq!(
        server.handle_accept(now, ConnectionId(3)),
        Admission::Accept
    );
    server.set_max_connections(Some(0));
    assert_eq!(server.handle_accept(now, ConnectionId(4)), Admission::Drop);
}
