//! Node's `dgram.Socket` (UDP) as a sans-I/O state machine: [`Socket`].
//!
//! The crate opens no socket, reads no clock and starts no thread. It decides what a
//! `dgram.Socket` would do and says so: which datagrams to put on the wire, what to do to the
//! OS socket (bind, connect, close), and which events Node would emit. A driver (such as
//! `sansnet-mio`) owns the OS socket and moves datagrams and outcomes between it and the
//! machine.
//!
//! # The contract
//!
//! A [`Socket`] has four kinds of method:
//!
//! - **getters** ([`Socket::local_address`], [`Socket::remote_address`],
//!   [`Socket::is_closed`], [`Socket::queued_datagrams`], [`Socket::wants_read`]) change
//!   nothing;
//! - **inputs** (`handle_*`, with `now: Instant` first) report what the driver observed: a
//!   bind, a connect, an arriving datagram, a finished send, an OS error. They never fail;
//!   an input that does not fit the state is ignored;
//! - **commands** ([`Socket::bind`], [`Socket::send`], [`Socket::connect`],
//!   [`Socket::disconnect`], [`Socket::close`], and the socket options such as
//!   [`Socket::set_broadcast`] or [`Socket::add_membership`]) come from the application and
//!   return `Result<_, Error>`; on `Err` nothing changed (Node throws these synchronously);
//! - **outputs** (`poll_*`): [`Socket::poll_transmit`] gives datagrams to send,
//!   [`Socket::poll_action`] what to do to the OS socket, [`Socket::poll_event`] what to tell
//!   the application.
//!
//! **The drain rule**: after every input or command, drain `poll_transmit`, then
//! `poll_action`, then `poll_event`, each until `None`. Report every datagram taken from
//! `poll_transmit` with [`Socket::handle_sent`] and every [`Action`] with its `handle_*`
//! outcome. `now` must not go backwards; `dgram` has no timers, so
//! [`Socket::poll_timeout`] is always `None`.
//!
//! # Example
//!
//! Two sockets on an in-memory "network": the server binds explicitly, the client is bound
//! implicitly by its first `send()`. The driver's part is played by hand.
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::Instant;
//!
//! use bytes::Bytes;
//! use sansnet_udp::{Action, Family, RemoteInfo, Socket, SocketConfig, SocketEvent};
//!
//! let now = Instant::now();
//! let server_addr: SocketAddr = "127.0.0.1:41234".parse()?;
//!
//! // server.bind(41234, '127.0.0.1')
//! let mut server = Socket::new(SocketConfig::new(Family::Udp4));
//! server.bind(now, Some(server_addr))?;
//! assert_eq!(server.poll_action(), Some(Action::Bind(server_addr)));
//! server.handle_bound(now, server_addr); // the driver bound the OS socket
//! assert_eq!(server.poll_event(), Some(SocketEvent::Listening { address: server_addr }));
//!
//! // client.send(msg, 0, msg.length, 41234): no address means 127.0.0.1 (udp4).
//! let mut client = Socket::new(SocketConfig::default());
//! let msg = Bytes::from_static(b"hello");
//! let id = client.send(now, msg.clone(), 0, msg.len(), 41234, None)?;
//! assert_eq!(client.poll_transmit(), None); // waits for the implicit bind
//! assert_eq!(client.poll_action(), Some(Action::Bind("0.0.0.0:0".parse()?)));
//! let client_addr: SocketAddr = "127.0.0.1:50000".parse()?; // the port the OS picked
//! client.handle_bound(now, client_addr);
//! let datagram = client.poll_transmit().expect("bound, so the datagram leaves");
//! assert_eq!(datagram.destination, server_addr);
//!
//! // The driver sends it and reports the result; the server's driver receives it.
//! client.handle_sent(now, datagram.id, Ok(datagram.data.len()));
//! server.handle_datagram(now, datagram.data, client_addr);
//!
//! assert_eq!(client.poll_event(), Some(SocketEvent::Listening { address: client_addr }));
//! assert_eq!(client.poll_event(), Some(SocketEvent::Sent { id, result: Ok(5) }));
//! assert_eq!(
//!     server.poll_event(),
//!     Some(SocketEvent::Message {
//!         data: msg,
//!         rinfo: RemoteInfo {
//!             address: client_addr.ip(),
//!             family: Family::Udp4,
//!             port: 50000,
//!             size: 5,
//!         },
//!     })
//! );
//!
//! // server.close()
//! server.close(now)?;
//! assert_eq!(server.poll_action(), Some(Action::Close));
//! assert_eq!(server.poll_event(), Some(SocketEvent::Close));
//! assert_eq!(server.poll_event(), None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Node mapping
//!
//! | Node | sansnet-udp | default |
//! |---|---|---|
//! | `dgram.createSocket(type)` | [`Socket::new`]`(`[`SocketConfig::new`]`(`[`Family`]`))` | `'udp4'` |
//! | option `reuseAddr` | [`SocketConfig::reuse_address`] (the driver applies it) | `false` |
//! | the kernel's datagram limit | [`SocketConfig::max_datagram_size`] | 65507 (udp4), 65527 (udp6) |
//! | the send queue (unbounded in Node) | [`SocketConfig::max_queued_datagrams`] | 1024 |
//! | `socket.bind(port, address)` | [`Socket::bind`] then [`Action::Bind`] | `None`: `0.0.0.0:0` / `[::]:0` |
//! | `socket.send(msg, offset, length, port, address)` | [`Socket::send`] returns a [`SendId`] | address: `127.0.0.1` / `::1` |
//! | the `send()` callback (`'error'` when none is given, Node docs `dgram.md` › `socket.send()`) | [`SocketEvent::Sent`] | always reported; a Node-like API without a callback turns a failed `Sent` into `'error'` |
//! | `socket.connect(port, address)` | [`Socket::connect`] then [`Action::Connect`] | |
//! | `socket.disconnect()` | [`Socket::disconnect`] then [`Action::Disconnect`] | |
//! | `socket.close()` | [`Socket::close`] then [`Action::Close`] | |
//! | `socket.address()` | [`Socket::local_address`] | |
//! | `socket.remoteAddress()` | [`Socket::remote_address`] | |
//! | `socket.getSendQueueCount()` | [`Socket::queued_datagrams`] | |
//! | `socket.setBroadcast(flag)` | [`Socket::set_broadcast`] then [`Action::SetOption`]`(`[`SocketOption::Broadcast`]`)` | off |
//! | `socket.setTTL(ttl)` (1..=255) | [`Socket::set_ttl`] then [`SocketOption::Ttl`] | the kernel's (64) |
//! | `socket.setMulticastTTL(ttl)` (0..=255) | [`Socket::set_multicast_ttl`] then [`SocketOption::MulticastTtl`] | 1 |
//! | `socket.setMulticastLoopback(flag)` | [`Socket::set_multicast_loopback`] then [`SocketOption::MulticastLoopback`] | on |
//! | `socket.setMulticastInterface(iface)` | [`Socket::set_multicast_interface`] with a [`MulticastInterface`] (IPv4 address, or IPv6 interface index for `'::%scope'`) | the kernel's choice |
//! | `socket.addMembership(group[, iface])` | [`Socket::add_membership`] then [`SocketOption::AddMembership`] | iface: the kernel's choice |
//! | `socket.dropMembership(group[, iface])` | [`Socket::drop_membership`] then [`SocketOption::DropMembership`] | |
//! | `socket.addSourceSpecificMembership(source, group[, iface])` | [`Socket::add_source_specific_membership`] then [`SocketOption::AddSourceSpecificMembership`] | |
//! | `socket.dropSourceSpecificMembership(source, group[, iface])` | [`Socket::drop_source_specific_membership`] then [`SocketOption::DropSourceSpecificMembership`] | |
//! | `socket.setRecvBufferSize(size)` / `setSendBufferSize(size)` | [`Socket::set_recv_buffer_size`] / [`Socket::set_send_buffer_size`] then [`SocketOption::RecvBufferSize`] / [`SocketOption::SendBufferSize`] | the kernel's |
//! | `socket.getRecvBufferSize()` / `getSendBufferSize()` | read from the OS socket by the driver (`sansnet-mio`: `EventLoop::udp_recv_buffer_size`) | |
//! | an option the OS refuses (Node throws it from the method) | [`Socket::handle_option_error`] then [`SocketEvent::Error`]`(`[`Error::SocketOption`]`)` | |
//! | event `'listening'` | [`SocketEvent::Listening`] | |
//! | event `'connect'` | [`SocketEvent::Connect`] | |
//! | event `'message'(msg, rinfo)` | [`SocketEvent::Message`] with [`RemoteInfo`] | |
//! | event `'error'` | [`SocketEvent::Error`] | |
//! | event `'close'` | [`SocketEvent::Close`] | |
//!
//! # Features
//!
//! None: the crate has no cargo features, and its one dependency is `bytes`.
//!
//! # Errors
//!
//! One type, [`Error`], with Node's code in [`Error::code`]. The caller's mistakes are
//! [`Error::Usage`] ([`UsageError`]), returned by commands and changing nothing:
//! `ERR_SOCKET_ALREADY_BOUND`, `ERR_BUFFER_OUT_OF_BOUNDS`, `ERR_SOCKET_BAD_PORT`,
//! `ERR_SOCKET_DGRAM_IS_CONNECTED`, `ERR_SOCKET_DGRAM_NOT_CONNECTED`,
//! `ERR_SOCKET_DGRAM_NOT_RUNNING`, and for the socket options `EBADF` (not bound yet),
//! `EINVAL` (TTL out of range, a group that is not multicast, mixed families), `ENOPROTOOPT`
//! (IPv6 on udp4), `ERR_SOCKET_BAD_BUFFER_SIZE` and `ERR_SOCKET_BUFFER_SIZE`, each checked as
//! Node 20 does. What Node reports later arrives as an event:
//! a send's failure in its [`SocketEvent::Sent`] ([`Error::MessageTooLarge`] for `EMSGSIZE`,
//! [`Error::SendQueueFull`] for `ENOBUFS`, [`Error::Io`] from the OS, or
//! `ERR_SOCKET_DGRAM_NOT_RUNNING` when `close()` dropped it), and bind, connect and
//! socket-level failures in [`SocketEvent::Error`], as are the options the OS refuses
//! ([`Error::SocketOption`]: Node throws those from the method, but the driver applies an
//! option only after the command returned).
//!
//! # Limits
//!
//! - [`SocketConfig::max_datagram_size`]: 65507 bytes for udp4, 65527 for udp6 (Node docs
//!   `dgram.md` › `Note about UDP datagram size`).
//! - [`SocketConfig::max_queued_datagrams`]: 1024 datagrams awaiting their result; Node has
//!   no such bound. Actions are bounded by the state (at most a bind, a connect and a
//!   disconnect between two drains) plus one per option command, and events by the calls
//!   that cause them.
//! - Not modelled: `ref`/`unref`, DNS lookups (addresses are already resolved), interface
//!   names (an IPv6 scope is given as its index), the `recvBufferSize`/`sendBufferSize`
//!   options of `createSocket`, and the `send()` forms taking a list of buffers.
//! - Options before the bind: Node lets libuv bind an unbound socket to `0.0.0.0:0` inside
//!   `addMembership()` (no `'listening'`, and a later `bind()` fails with `EINVAL`); here
//!   every option needs [`SocketEvent::Listening`] first and gives `EBADF` (buffer sizes:
//!   `ERR_SOCKET_BUFFER_SIZE`) before it.
//!
//! # Panics
//!
//! Never, on any input or sequence of calls; a panic is a bug.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod config;
mod error;
mod event;
mod option;
mod socket;
mod state;

#[cfg(test)]
mod tests;

pub use config::{Family, SocketConfig};
pub use error::{Error, UsageError};
pub use event::{Action, Datagram, RemoteInfo, SendId, SocketEvent};
pub use option::{MulticastInterface, SocketOption};
pub use socket::Socket;
