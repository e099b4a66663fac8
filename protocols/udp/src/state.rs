//! The socket's lifecycle: every state and every transition between them.
//!
//! Node keeps a `bindState` and a `connectState` side by side; here they are one enum, so the
//! peer exists only while bound (or as a request waiting for the bind).
//!
//! | from | stimulus | to | output | rule (`docs/node-semantics.md`) | test |
//! |---|---|---|---|---|---|
//! | `Unbound` | `bind(a)` | `Binding` | `Action::Bind(a)` | `#dgram-bind` | `unbound_bind_then_bound_listening` |
//! | `Unbound` | `send()` | `Binding` | `Action::Bind(any:0)` | `#dgram-implicit-bind` | `unbound_send_binds_implicitly_listening_before_sent` |
//! | `Unbound` | `connect(p)` | `Binding{p}` | `Action::Bind(any:0)` | `#dgram-connect` | `unbound_connect_binds_then_connects` |
//! | `Binding`, `Bound` | `bind()` | same | `Err(AlreadyBound)` | `#dgram-bind-error` | `bound_bind_again_already_bound` |
//! | `Binding` | `handle_bound(l)` | `Bound{l}` (`Connecting(p)` if asked) | `Listening`, then `Action::Connect(p)` | `#dgram-bind` | `unbound_bind_then_bound_listening` |
//! | `Binding` | `handle_bind_error(k)` | `Unbound` | `Error(Io(k))`, queued sends fail | `#dgram-bind-error` | `binding_bind_error_reports_and_allows_rebind` |
//! | `Binding` (no peer) | `connect(p)` | `Binding{p}` | — | `#dgram-connect` | `binding_connect_waits_for_bind` |
//! | `Bound` (disconnected) | `connect(p)` | `Bound{Connecting(p)}` | `Action::Connect(p)` | `#dgram-connect` | `bound_connect_then_connected_emits_connect` |
//! | `Binding{p}`, `Bound` (connecting, connected) | `connect()` | same | `Err(AlreadyConnected)` | `#dgram-connect` | `connected_connect_again_already_connected` |
//! | `Bound{Connecting(p)}` | `handle_connected` | `Bound{Connected(p)}` | `Connect` | `#dgram-connect` | `bound_connect_then_connected_emits_connect` |
//! | `Bound{Connecting(p)}` | `handle_io_error(k)` | `Bound` (disconnected) | `Error(Io(k))` | `#dgram-connect` | `connecting_io_error_reports_and_disconnects` |
//! | `Bound{Connected(p)}` | `disconnect()` | `Bound` (disconnected) | `Action::Disconnect` | `#dgram-connect` | `connected_disconnect_accepts_everyone_again` |
//! | any other | `disconnect()` | same | `Err(NotConnected)` | `#dgram-connect` | `unconnected_disconnect_not_connected` |
//! | not `Closed` | `close()` | `Closed` | pending sends fail, `Action::Close`, `Close` | `#dgram-close` | `bound_close_emits_close_last` |
//! | `Bound` | an option (`set_broadcast()`, `add_membership()`, ...) | same | `Action::SetOption` | `#dgram-options` | `bound_set_broadcast_requests_so_broadcast` |
//! | `Unbound`, `Binding` | an option | same | `Err(NotBound)` (`EBADF`; buffer sizes `ERR_SOCKET_BUFFER_SIZE`) | `#dgram-options`, `#dgram-buffer-size` | `unbound_options_ebadf` |
//! | `Bound` | `handle_option_error(o, k)` | same | `Error(SocketOption{o, k})` | `#dgram-options` | `option_error_emits_error_naming_the_method` |
//! | `Closed` | any command | `Closed` | `Err(NotRunning)` | `#dgram-close` | `closed_commands_not_running` |
//! | `Closed` | any input | `Closed` | nothing | `#dgram-close` | `closed_inputs_are_ignored` |
//!
//! Inputs that do not fit the state (`handle_bound` while not binding, `handle_connected`
//! while not connecting) are ignored: a driver bug must not corrupt the machine.

use std::net::SocketAddr;

use crate::error::UsageError;

/// Where the socket is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Created, no bind asked for yet.
    Unbound,
    /// `Action::Bind` was issued; waiting for the driver's outcome.
    Binding {
        /// A `connect()` made before the bind finished: it starts once bound.
        connect: Option<SocketAddr>,
    },
    /// Bound to `local`; datagrams flow.
    Bound {
        /// The address the OS bound.
        local: SocketAddr,
        /// The `connect()` association.
        peer: Peer,
    },
    /// `close()` was called; nothing happens any more.
    Closed,
}

/// The `connect()` association of a bound socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    /// Not connected: sends need a port, datagrams arrive from anyone.
    Disconnected,
    /// `Action::Connect` was issued; still not connected as far as `send()` is concerned,
    /// as in Node.
    Connecting(SocketAddr),
    /// Connected: sends go to this peer and only its datagrams arrive.
    Connected(SocketAddr),
}

/// What [`State::connect`] asks of the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectStep {
    /// The socket was unbound: issue an implicit `Action::Bind`; the connect follows the bind.
    Bind,
    /// The socket is binding: the connect follows the bind, nothing to do now.
    AwaitBind,
    /// The socket is bound: issue `Action::Connect`.
    Connect,
}

impl State {
    /// `bind()`: Unbound -> Binding.
    pub(crate) fn bind(&mut self) -> Result<(), UsageError> {
        match *self {
            Self::Unbound => {
                *self = Self::Binding { connect: None };
                Ok(())
            }
            Self::Binding { .. } | Self::Bound { .. } => Err(UsageError::AlreadyBound),
            Self::Closed => Err(UsageError::NotRunning),
        }
    }

    /// The implicit bind of `send()`: Unbound -> Binding; true if a bind must be issued.
    pub(crate) fn bind_implicitly(&mut self) -> bool {
        match *self {
            Self::Unbound => {
                *self = Self::Binding { connect: None };
                true
            }
            Self::Binding { .. } | Self::Bound { .. } | Self::Closed => false,
        }
    }

    /// `connect(peer)`: records the peer, binding first if needed.
    pub(crate) fn connect(&mut self, peer: SocketAddr) -> Result<ConnectStep, UsageError> {
        match *self {
            Self::Unbound => {
                *self = Self::Binding {
                    connect: Some(peer),
                };
                Ok(ConnectStep::Bind)
            }
            Self::Binding { connect: None } => {
                *self = Self::Binding {
                    connect: Some(peer),
                };
                Ok(ConnectStep::AwaitBind)
            }
            Self::Bound {
                local,
                peer: Peer::Disconnected,
            } => {
                *self = Self::Bound {
                    local,
                    peer: Peer::Connecting(peer),
                };
                Ok(ConnectStep::Connect)
            }
            Self::Binding { connect: Some(_) }
            | Self::Bound {
                peer: Peer::Connecting(_) | Peer::Connected(_),
                ..
            } => Err(UsageError::AlreadyConnected),
            Self::Closed => Err(UsageError::NotRunning),
        }
    }

    /// `disconnect()`: Connected -> Disconnected.
    pub(crate) fn disconnect(&mut self) -> Result<(), UsageError> {
        match *self {
            Self::Bound {
                local,
                peer: Peer::Connected(_),
            } => {
                *self = Self::Bound {
                    local,
                    peer: Peer::Disconnected,
                };
                Ok(())
            }
            Self::Unbound
            | Self::Binding { .. }
            | Self::Bound {
                peer: Peer::Disconnected | Peer::Connecting(_),
                ..
            } => Err(UsageError::NotConnected),
            Self::Closed => Err(UsageError::NotRunning),
        }
    }

    /// `close()`: anything but Closed -> Closed.
    pub(crate) fn close(&mut self) -> Result<(), UsageError> {
        match *self {
            Self::Unbound | Self::Binding { .. } | Self::Bound { .. } => {
                *self = Self::Closed;
                Ok(())
            }
            Self::Closed => Err(UsageError::NotRunning),
        }
    }

    /// `handle_bound(local)`: Binding -> Bound. `None` if the input does not apply; otherwise
    /// the peer to connect to now, if a `connect()` was waiting.
    pub(crate) fn bound(&mut self, local: SocketAddr) -> Option<Option<SocketAddr>> {
        match *self {
            Self::Binding { connect } => {
                let peer = match connect {
                    Some(peer) => Peer::Connecting(peer),
                    None => Peer::Disconnected,
                };
                *self = Self::Bound { local, peer };
                Some(connect)
            }
            Self::Unbound | Self::Bound { .. } | Self::Closed => None,
        }
    }

    /// `handle_bind_error`: Binding -> Unbound; false if the input does not apply.
    pub(crate) fn bind_failed(&mut self) -> bool {
        match *self {
            Self::Binding { .. } => {
                *self = Self::Unbound;
                true
            }
            Self::Unbound | Self::Bound { .. } | Self::Closed => false,
        }
    }

    /// `handle_connected`: Connecting -> Connected; false if the input does not apply.
    pub(crate) fn connected(&mut self) -> bool {
        match *self {
            Self::Bound {
                local,
                peer: Peer::Connecting(peer),
            } => {
                *self = Self::Bound {
                    local,
                    peer: Peer::Connected(peer),
                };
                true
            }
            Self::Unbound
            | Self::Binding { .. }
            | Self::Bound {
                peer: Peer::Disconnected | Peer::Connected(_),
                ..
            }
            | Self::Closed => false,
        }
    }

    /// A socket-level error while connecting: Connecting -> Disconnected; false otherwise.
    pub(crate) fn connect_failed(&mut self) -> bool {
        match *self {
            Self::Bound {
                local,
                peer: Peer::Connecting(_),
            } => {
                *self = Self::Bound {
                    local,
                    peer: Peer::Disconnected,
                };
                true
            }
            Self::Unbound
            | Self::Binding { .. }
            | Self::Bound {
                peer: Peer::Disconnected | Peer::Connected(_),
                ..
            }
            | Self::Closed => false,
        }
    }

    /// The bound local address.
    pub(crate) fn local(&self) -> Option<SocketAddr> {
        match *self {
            Self::Bound { local, .. } => Some(local),
            Self::Unbound | Self::Binding { .. } | Self::Closed => None,
        }
    }

    /// The connected peer (not a peer still connecting).
    pub(crate) fn connected_peer(&self) -> Option<SocketAddr> {
        match *self {
            Self::Bound {
                peer: Peer::Connected(peer),
                ..
            } => Some(peer),
            Self::Unbound
            | Self::Binding { .. }
            | Self::Bound {
                peer: Peer::Disconnected | Peer::Connecting(_),
                ..
            }
            | Self::Closed => None,
        }
    }

    /// Whether a datagram from `from` is delivered: bound, and from the peer if connected.
    pub(crate) fn accepts_from(&self, from: SocketAddr) -> bool {
        match *self {
            Self::Bound {
                peer: Peer::Connected(peer),
                ..
            } => peer == from,
            Self::Bound {
                peer: Peer::Disconnected | Peer::Connecting(_),
                ..
            } => true,
            Self::Unbound | Self::Binding { .. } | Self::Closed => false,
        }
    }

    /// Whether the socket is bound (and so reads and transmits).
    pub(crate) fn is_bound(&self) -> bool {
        match *self {
            Self::Bound { .. } => true,
            Self::Unbound | Self::Binding { .. } | Self::Closed => false,
        }
    }

    /// Whether `close()` was called.
    pub(crate) fn is_closed(&self) -> bool {
        match *self {
            Self::Closed => true,
            Self::Unbound | Self::Binding { .. } | Self::Bound { .. } => false,
        }
    }
}
