//! `Server`: a listening socket as Node's `net.Server` sees it.

use std::collections::{HashSet, VecDeque};
use std::io::ErrorKind;
use std::time::Instant;

use crate::state::ServerState;
use crate::{Address, ConnectionId, Error, ServerAction, ServerConfig, ServerEvent, UsageError};

/// A listening socket as Node's `net.Server`: it decides which accepted connections to keep,
/// counts them, and emits `'close'` only after `close()` and the last connection's close.
///
/// The driver owns the listening socket and the accepted sockets; for each accepted socket
/// it calls [`Server::handle_accept`] and, if admitted, runs a
/// [`Socket::accepted`](crate::Socket::accepted) machine for it, reporting its end with
/// [`Server::handle_connection_closed`].
#[derive(Debug)]
pub struct Server {
    state: ServerState,
    config: ServerConfig,
    connections: HashSet<ConnectionId>,
    events: VecDeque<ServerEvent>,
    actions: VecDeque<ServerAction>,
}

/// Whether an accepted connection is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Keep it: run a socket machine for it.
    Accept,
    /// Close it at once (`maxConnections` reached, or not listening).
    Drop,
}

impl Server {
    /// `net.createServer(options)`: a server that is not yet listening.
    pub fn new(config: ServerConfig) -> Self {
        Self {
            state: ServerState::Idle,
            config,
            connections: HashSet::new(),
            events: VecDeque::new(),
            actions: VecDeque::new(),
        }
    }

    // ---- commands -----------------------------------------------------------------------

    /// `server.listen(address)`: asks the driver to bind. `Listening` (or `Error`) follows
    /// from the driver's report, never from this call (Node docs `net.md` › `server.listen()`).
    /// Listening twice is `ERR_SERVER_ALREADY_LISTEN` (docs/node-semantics.md#net-listen-twice).
    pub fn listen(&mut self, _now: Instant, address: Address) -> Result<(), Error> {
        match self.state {
            ServerState::Idle => {}
            ServerState::Binding | ServerState::Listening(_) | ServerState::Closing => {
                return Err(UsageError::ServerAlreadyListening.into());
            }
        }
        self.state = ServerState::Binding;
        self.actions.push_back(ServerAction::Listen {
            address,
            backlog: self.config.backlog,
            reuse_port: self.config.reuse_port,
        });
        Ok(())
    }

    /// `server.close()`: stop accepting now; `Close` once every accepted connection has
    /// closed (docs/node-semantics.md#net-server-close). On a server that is not listening,
    /// `ERR_SERVER_NOT_RUNNING` (docs/node-semantics.md#net-server-close-callback).
    pub fn close(&mut self, _now: Instant) -> Result<(), Error> {
        match self.state {
            ServerState::Binding | ServerState::Listening(_) => {}
            ServerState::Idle | ServerState::Closing => {
                return Err(UsageError::ServerNotRunning.into());
            }
        }
        self.state = ServerState::Closing;
        self.actions.push_back(ServerAction::CloseListener);
        self.maybe_close();
        Ok(())
    }

    /// `server.maxConnections = n` (`None`: unlimited).
    pub fn set_max_connections(&mut self, max: Option<usize>) {
        self.config.max_connections = max;
    }

    // ---- inputs -------------------------------------------------------------------------

    /// The driver bound and listens on `address` (with the OS-chosen port): `Listening`.
    pub fn handle_listening(&mut self, _now: Instant, address: Address) {
        match self.state {
            ServerState::Binding => {
                self.state = ServerState::Listening(address.clone());
                self.events.push_back(ServerEvent::Listening { address });
            }
            ServerState::Idle | ServerState::Listening(_) | ServerState::Closing => {}
        }
    }

    /// Binding failed: `Error` and back to not listening, so `listen` may be called again
    /// (Node docs `net.md` › `Event: 'error'`). While closing (closed before the bind finished) the
    /// failure only ends it.
    pub fn handle_listen_error(&mut self, _now: Instant, kind: ErrorKind) {
        match self.state {
            ServerState::Binding => {
                self.state = ServerState::Idle;
                self.events.push_back(ServerEvent::Error(Error::Io(kind)));
            }
            ServerState::Idle | ServerState::Listening(_) | ServerState::Closing => {}
        }
    }

    /// The driver accepted a connection it names `id`: `Connection { id }` and
    /// [`Admission::Accept`], or `Drop` and [`Admission::Drop`] at `maxConnections`
    /// (Node docs `net.md` › `Event: 'connection'`, `server.maxConnections`). A connection accepted
    /// after `close()` is dropped without an event.
    pub fn handle_accept(&mut self, _now: Instant, id: ConnectionId) -> Admission {
        match self.state {
            ServerState::Listening(_) => {}
            ServerState::Idle | ServerState::Binding | ServerState::Closing => {
                return Admission::Drop;
            }
        }
        let full = self
            .config
            .max_connections
            .is_some_and(|max| self.connections.len() >= max);
        if full || self.connections.contains(&id) {
            self.events.push_back(ServerEvent::Drop);
            return Admission::Drop;
        }
        self.connections.insert(id);
        self.events.push_back(ServerEvent::Connection { id });
        Admission::Accept
    }

    /// An accepted connection closed (its socket emitted `Close`). Unknown ids are ignored.
    pub fn handle_connection_closed(&mut self, _now: Instant, id: ConnectionId) {
        if self.connections.remove(&id) {
            self.maybe_close();
        }
    }

    // ---- outputs ------------------------------------------------------------------------

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// The next thing the driver must do with the listening socket.
    pub fn poll_action(&mut self) -> Option<ServerAction> {
        self.actions.pop_front()
    }

    // ---- getters ------------------------------------------------------------------------

    /// `server.getConnections()`: accepted connections not yet closed.
    pub fn connections(&self) -> usize {
        self.connections.len()
    }

    /// `server.address()`: the bound address while listening, else `None`
    /// (docs/node-semantics.md#net-address).
    pub fn address(&self) -> Option<&Address> {
        match &self.state {
            ServerState::Listening(address) => Some(address),
            ServerState::Idle | ServerState::Binding | ServerState::Closing => None,
        }
    }

    /// `server.listening`.
    pub fn is_listening(&self) -> bool {
        matches!(self.state, ServerState::Listening(_))
    }

    /// The settings in force; accepted sockets start with `config().socket`.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    fn maybe_close(&mut self) {
        if self.state == ServerState::Closing && self.connections.is_empty() {
            self.state = ServerState::Idle;
            self.events.push_back(ServerEvent::Close);
        }
    }
}
