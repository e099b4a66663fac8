//! Running a `sansnet_udp` machine over an OS datagram socket (binding and options:
//! `sansnet_os::udp`; an option the OS refuses goes back to the machine, which emits it as
//! `'error'`).

use std::collections::VecDeque;
use std::io;
use std::time::Instant;

use mio::net::UdpSocket;
use mio::{Interest, Registry};
use sansnet_os::udp::{self, Datagrams};
use sansnet_udp::{Action, Socket, SocketEvent};

use crate::event::{Event, UdpId, token};

/// One datagram socket: its machine and, once bound, its OS socket.
#[derive(Debug)]
pub(crate) struct UdpEntry {
    pub(crate) machine: Socket,
    socket: Option<UdpSocket>,
    pub(crate) readable: bool,
    datagrams: Datagrams,
}

impl UdpEntry {
    pub(crate) fn new(machine: Socket) -> Self {
        Self {
            machine,
            socket: None,
            readable: false,
            datagrams: Datagrams::default(),
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
            if let Some(socket) = &self.socket {
                let machine = &mut self.machine;
                moved |= self
                    .datagrams
                    .transmit(machine, now, |d, to| socket.send_to(d, to));
                let (received, more) =
                    self.datagrams
                        .receive(machine, now, &mut self.readable, |b| socket.recv_from(b));
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
                let reuse = self.machine.config().reuse_address;
                let bound = udp::bind(address, reuse).and_then(|socket| {
                    let mut socket = UdpSocket::from_std(socket);
                    let both = Interest::READABLE | Interest::WRITABLE;
                    registry.register(&mut socket, token(id.0), both)?;
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
                self.datagrams.clear();
            }
            Action::SetOption(option) => {
                let result = match &self.socket {
                    Some(socket) => udp::set_option(socket, option),
                    None => Err(io::Error::from_raw_os_error(libc::EBADF)),
                };
                if let Err(e) = result {
                    self.machine.handle_option_error(now, option, e.kind());
                }
            }
            _ => {}
        }
    }

    /// `getRecvBufferSize()` (`recv`) or `getSendBufferSize()`: `SO_RCVBUF` or `SO_SNDBUF`
    /// as the OS reports it (Linux doubles the size set).
    pub(crate) fn buffer_size(&self, recv: bool) -> Result<usize, sansnet_udp::Error> {
        self.machine.check_get_buffer_size()?;
        let socket = self
            .socket
            .as_ref()
            .ok_or(sansnet_udp::UsageError::NotRunning)?;
        udp::buffer_size(socket, recv).map_err(|e| sansnet_udp::Error::Io(e.kind()))
    }
}
