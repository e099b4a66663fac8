//! Running a `sansnet_udp` machine over an OS datagram socket.
//!
//! `connect()` is kept in the machine, which filters datagrams by peer and addresses sends to
//! it; the OS socket stays unconnected, so `disconnect()` needs no `AF_UNSPEC` connect.

use std::collections::VecDeque;
use std::io;
use std::time::Instant;

use bytes::BytesMut;
use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};
use sansnet_udp::{Action, Datagram, Socket, SocketEvent};

use crate::{Event, UdpId};

/// The largest UDP payload, so no datagram is ever truncated on receive.
const MAX_DATAGRAM: usize = 64 * 1024;
/// Datagrams one socket may receive per service before others get a turn.
const RECV_BUDGET: usize = 64;

/// One datagram socket: its machine and, once bound, its OS socket.
#[derive(Debug)]
pub(crate) struct UdpEntry {
    pub(crate) machine: Socket,
    socket: Option<UdpSocket>,
    pub(crate) readable: bool,
    /// A datagram the OS would not take yet (`WouldBlock`); sent before any other.
    blocked: Option<Datagram>,
    recv_buf: BytesMut,
}

impl UdpEntry {
    pub(crate) fn new(machine: Socket) -> Self {
        Self {
            machine,
            socket: None,
            readable: false,
            blocked: None,
            recv_buf: BytesMut::new(),
        }
    }

    /// One drain-rule round, repeated until nothing moves; returns (closed, again).
    pub(crate) fn service(
        &mut self,
        id: UdpId,
        now: Instant,
        registry: &Registry,
        out: &mut VecDeque<Event>,
    ) -> (bool, bool) {
        let mut closed = false;
        let mut again = false;
        loop {
            let mut moved = false;
            while let Some(action) = self.machine.poll_action() {
                moved = true;
                self.apply(id, now, action, registry);
            }
            moved |= self.transmit(now);
            if self.machine.wants_read() {
                let (received, more) = self.receive(now);
                moved |= received;
                again |= more;
            }
            while let Some(event) = self.machine.poll_event() {
                moved = true;
                closed |= matches!(event, SocketEvent::Close);
                out.push_back(Event::Udp { socket: id, event });
            }
            if !moved {
                return (closed, again && !closed);
            }
        }
    }

    fn apply(&mut self, id: UdpId, now: Instant, action: Action, registry: &Registry) {
        match action {
            Action::Bind(address) => {
                let bound = crate::net::bind_udp(address, self.machine.config().reuse_address)
                    .and_then(|mut socket| {
                        let token = Token(crate::event_loop::token(id.0));
                        registry.register(
                            &mut socket,
                            token,
                            Interest::READABLE | Interest::WRITABLE,
                        )?;
                        let local = socket.local_addr()?;
                        Ok((socket, local))
                    });
                match bound {
                    Ok((socket, local)) => {
                        self.socket = Some(socket);
                        self.readable = true;
                        self.machine.handle_bound(now, local);
                    }
                    Err(e) => self.machine.handle_bind_error(now, e.kind()),
                }
            }
            Action::Connect(_) => self.machine.handle_connected(now),
            Action::Close => {
                if let Some(mut socket) = self.socket.take() {
                    let _ = mio::event::Source::deregister(&mut socket, registry);
                }
                self.blocked = None;
            }
            _ => {}
        }
    }

    fn transmit(&mut self, now: Instant) -> bool {
        let mut moved = false;
        let Some(socket) = &self.socket else {
            return false;
        };
        while let Some(datagram) = self.blocked.take().or_else(|| self.machine.poll_transmit()) {
            match socket.send_to(&datagram.data, datagram.destination) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.blocked = Some(datagram);
                    break;
                }
                result => {
                    moved = true;
                    self.machine
                        .handle_sent(now, datagram.id, result.map_err(|e| e.kind()));
                }
            }
        }
        moved
    }

    /// Receives until the OS would block or the budget is spent; returns (moved, more).
    fn receive(&mut self, now: Instant) -> (bool, bool) {
        let mut moved = false;
        let Some(socket) = &self.socket else {
            return (false, false);
        };
        for _ in 0..RECV_BUDGET {
            if !self.readable || !self.machine.wants_read() {
                return (moved, false);
            }
            self.recv_buf.resize(MAX_DATAGRAM, 0);
            match socket.recv_from(&mut self.recv_buf) {
                Ok((n, from)) => {
                    let data = self.recv_buf.split_to(n).freeze();
                    self.machine.handle_datagram(now, data, from);
                    moved = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.machine.handle_io_error(now, e.kind());
                    return (true, false);
                }
            }
        }
        (moved, self.readable)
    }
}
