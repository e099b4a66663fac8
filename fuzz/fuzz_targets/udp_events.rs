//! Fuzzes `sansnet_udp::Socket` with arbitrary sequences of commands and driver inputs,
//! draining per the contract after each and asserting the invariants: no panic, failed
//! commands change nothing, nothing leaves before the bind or over the size limit, the queue
//! stays bounded, every accepted send gets exactly one `Sent`, `Close` comes once and last,
//! socket options are requested only while bound.
#![no_main]

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sansnet_udp::{
    Action, Datagram, Error, Family, MulticastInterface, SendId, Socket, SocketConfig, SocketEvent,
    SocketOption,
};

/// Payloads are slices of this, so large datagrams cost no allocation.
static ZEROS: [u8; 65_600] = [0; 65_600];

/// Error kinds the driver may report.
const KINDS: [ErrorKind; 6] = [
    ErrorKind::AddrInUse,
    ErrorKind::AddrNotAvailable,
    ErrorKind::PermissionDenied,
    ErrorKind::ConnectionRefused,
    ErrorKind::HostUnreachable,
    ErrorKind::Other,
];

/// The socket's settings and what happens to it.
#[derive(Debug, Arbitrary)]
struct Input {
    v6: bool,
    max_queued: u8,
    max_size: Option<u16>,
    ops: Vec<Op>,
}

/// One command or driver input.
#[derive(Debug, Arbitrary)]
enum Op {
    Bind(Option<Peer>),
    Send {
        len: u16,
        offset: u16,
        length: u16,
        port: u16,
        address: Option<Peer>,
    },
    Connect(Peer),
    Disconnect,
    Close,
    Bound(u16),
    BindError(u8),
    Connected,
    Datagram {
        len: u16,
        from: Peer,
    },
    Complete {
        pick: u8,
        error: Option<u8>,
    },
    IoError(u8),
    Wait(u16),
    /// A socket option command: `which` picks it, the rest are its arguments.
    SetOption {
        which: u8,
        flag: bool,
        value: u32,
        group: Peer,
        source: Peer,
        interface: Option<Peer>,
    },
    /// The driver reports an option's failure.
    OptionError(u8),
}

/// A small address space, so connected-peer filtering is hit often.
#[derive(Debug, Arbitrary)]
struct Peer {
    v6: bool,
    host: u8,
    port: u8,
}

impl Peer {
    /// An interface: IPv4 by address, IPv6 by index.
    fn interface(&self) -> MulticastInterface {
        if self.v6 {
            MulticastInterface::V6(u32::from(self.host))
        } else {
            MulticastInterface::V4(Ipv4Addr::new(127, 0, 0, self.host))
        }
    }

    /// A group address: multicast unless `port` is odd.
    fn group(&self) -> IpAddr {
        let unicast = self.port % 2 == 1;
        match (self.v6, unicast) {
            (false, false) => IpAddr::V4(Ipv4Addr::new(239, 255, 0, self.host)),
            (true, false) => IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
            (false, true) | (true, true) => self.addr().ip(),
        }
    }

    fn addr(&self) -> SocketAddr {
        let host = self.host % 3;
        let ip = if self.v6 {
            IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, u16::from(host)))
        } else {
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, host))
        };
        SocketAddr::new(ip, u16::from(self.port % 4))
    }
}

fn payload(len: u16) -> Bytes {
    Bytes::from_static(&ZEROS[..usize::from(len).min(ZEROS.len())])
}

fn kind(index: u8) -> ErrorKind {
    KINDS[usize::from(index) % KINDS.len()]
}

struct Checker {
    socket: Socket,
    max_queued: usize,
    max_size: usize,
    now: Instant,
    accepted: BTreeSet<SendId>,
    reported: BTreeSet<SendId>,
    held: Vec<Datagram>,
    close_event: bool,
    close_action: bool,
}

impl Checker {
    fn new(input: &Input) -> Self {
        let family = if input.v6 { Family::Udp6 } else { Family::Udp4 };
        let mut config = SocketConfig::new(family);
        config.max_queued_datagrams = usize::from(input.max_queued % 16);
        if let Some(max_size) = input.max_size {
            config.max_datagram_size = usize::from(max_size);
        }
        Self {
            max_queued: config.max_queued_datagrams,
            max_size: config.max_datagram_size,
            socket: Socket::new(config),
            now: Instant::now(),
            accepted: BTreeSet::new(),
            reported: BTreeSet::new(),
            held: Vec::new(),
            close_event: false,
            close_action: false,
        }
    }

    /// Runs a command; on `Err` the socket must be unchanged.
    fn command<T>(
        &mut self,
        run: impl FnOnce(&mut Socket, Instant) -> Result<T, Error>,
    ) -> Option<T> {
        let before = format!("{:?}", self.socket);
        match run(&mut self.socket, self.now) {
            Ok(value) => Some(value),
            Err(error) => {
                assert_eq!(
                    format!("{:?}", self.socket),
                    before,
                    "a failed command changed state"
                );
                assert!(
                    matches!(error, Error::Usage(_)),
                    "commands fail only with usage errors"
                );
                None
            }
        }
    }

    fn apply(&mut self, op: &Op) {
        let now = self.now;
        match op {
            Op::Bind(address) => {
                self.command(|s, now| s.bind(now, address.as_ref().map(Peer::addr)));
            }
            Op::Send {
                len,
                offset,
                length,
                port,
                address,
            } => {
                let data = payload(*len);
                let ip = address.as_ref().map(|peer| peer.addr().ip());
                let sent = self.command(|s, now| {
                    s.send(
                        now,
                        data,
                        usize::from(*offset),
                        usize::from(*length),
                        *port,
                        ip,
                    )
                });
                if let Some(id) = sent {
                    assert!(self.accepted.insert(id), "send ids are unique");
                }
            }
            Op::Connect(peer) => {
                self.command(|s, now| s.connect(now, peer.addr()));
            }
            Op::Disconnect => {
                self.command(Socket::disconnect);
            }
            Op::Close => {
                self.command(Socket::close);
            }
            Op::Bound(port) => {
                let local = SocketAddr::new(self.socket.family().loopback(), *port);
                self.socket.handle_bound(now, local);
            }
            Op::BindError(index) => self.socket.handle_bind_error(now, kind(*index)),
            Op::Connected => self.socket.handle_connected(now),
            Op::Datagram { len, from } => {
                self.socket.handle_datagram(now, payload(*len), from.addr());
            }
            Op::Complete { pick, error } => {
                if !self.held.is_empty() {
                    let datagram = self.held.remove(usize::from(*pick) % self.held.len());
                    let result = match error {
                        Some(index) => Err(kind(*index)),
                        None => Ok(datagram.data.len()),
                    };
                    self.socket.handle_sent(now, datagram.id, result);
                }
            }
            Op::IoError(index) => self.socket.handle_io_error(now, kind(*index)),
            Op::Wait(millis) => self.now += Duration::from_millis(u64::from(*millis)),
            Op::SetOption {
                which,
                flag,
                value,
                group,
                source,
                interface,
            } => {
                let (flag, value) = (*flag, *value);
                let (group, source) = (group.group(), source.addr().ip());
                let interface = interface.as_ref().map(Peer::interface);
                let size = usize::try_from(value).unwrap_or(usize::MAX);
                self.command(|s, now| match which % 11 {
                    0 => s.set_broadcast(now, flag),
                    1 => s.set_ttl(now, value % 300),
                    2 => s.set_multicast_ttl(now, value % 300),
                    3 => s.set_multicast_loopback(now, flag),
                    4 => s.set_multicast_interface(
                        now,
                        interface.unwrap_or(MulticastInterface::V6(0)),
                    ),
                    5 => s.add_membership(now, group, interface),
                    6 => s.drop_membership(now, group, interface),
                    7 => s.add_source_specific_membership(now, source, group, interface),
                    8 => s.drop_source_specific_membership(now, source, group, interface),
                    9 => s.set_recv_buffer_size(now, size),
                    _ => s.set_send_buffer_size(now, size),
                });
            }
            Op::OptionError(index) => {
                let option = SocketOption::Broadcast(true);
                self.socket.handle_option_error(now, option, kind(*index));
            }
        }
        self.drain();
    }

    /// Drains transmit, then actions, then events, checking each.
    fn drain(&mut self) {
        while let Some(datagram) = self.socket.poll_transmit() {
            assert!(
                self.socket.local_address().is_some(),
                "transmit before bound"
            );
            assert!(
                datagram.data.len() <= self.max_size,
                "oversize datagram on the wire"
            );
            assert!(
                self.accepted.contains(&datagram.id),
                "transmit of an unknown send"
            );
            assert!(
                !self.reported.contains(&datagram.id),
                "transmit of a finished send"
            );
            self.held.push(datagram);
        }
        while let Some(action) = self.socket.poll_action() {
            assert!(!self.close_action, "action after Action::Close: {action:?}");
            if let Action::SetOption(option) = action {
                assert!(
                    self.socket.local_address().is_some(),
                    "{option:?} requested while not bound"
                );
            }
            self.close_action = action == Action::Close;
        }
        while let Some(event) = self.socket.poll_event() {
            assert!(!self.close_event, "event after Close: {event:?}");
            match event {
                SocketEvent::Sent { id, .. } => {
                    assert!(self.accepted.contains(&id), "Sent for an unknown send");
                    assert!(self.reported.insert(id), "second Sent for {id:?}");
                }
                SocketEvent::Message { data, rinfo } => {
                    assert_eq!(data.len(), rinfo.size);
                    assert!(self.socket.wants_read(), "message while not reading");
                }
                SocketEvent::Close => self.close_event = true,
                _ => {}
            }
        }
        assert!(
            self.socket.queued_datagrams() <= self.max_queued,
            "queue over its bound"
        );
        assert_eq!(self.close_event, self.socket.is_closed());
        assert_eq!(self.socket.poll_timeout(), None);
    }

    /// Closes if still open; then every accepted send has had exactly one result.
    fn finish(&mut self) {
        if !self.socket.is_closed() {
            assert!(
                self.command(Socket::close).is_some(),
                "an open socket closes"
            );
            self.drain();
        }
        assert!(self.close_event && self.close_action);
        assert_eq!(
            self.accepted, self.reported,
            "a send without exactly one Sent"
        );
        assert_eq!(self.socket.queued_datagrams(), 0);
    }
}

fuzz_target!(|input: Input| {
    let mut checker = Checker::new(&input);
    for op in &input.ops {
        checker.apply(op);
    }
    checker.finish();
});
