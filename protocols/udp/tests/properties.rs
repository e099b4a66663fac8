//! Property tests on the public API: arbitrary sequences of commands and inputs never panic,
//! `'close'` comes at most once and last, every accepted send gets exactly one result, failed
//! commands change nothing, and the queue stays within its bound.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use sansnet_udp::{Action, Datagram, Error, Family, SendId, Socket, SocketConfig, SocketEvent};

/// Peers the operations pick from, so connected-peer filtering gets exercised.
const PEERS: [&str; 4] = [
    "127.0.0.1:7000",
    "127.0.0.1:7001",
    "[::1]:7000",
    "10.0.0.1:0",
];
/// Error kinds the driver may report.
const KINDS: [ErrorKind; 4] = [
    ErrorKind::AddrInUse,
    ErrorKind::ConnectionRefused,
    ErrorKind::PermissionDenied,
    ErrorKind::Other,
];

/// One command or input.
#[derive(Debug, Clone)]
enum Op {
    Bind(Option<usize>),
    Send {
        len: usize,
        offset: usize,
        length: usize,
        port: u16,
        address: Option<usize>,
    },
    Connect(usize),
    Disconnect,
    Close,
    Bound(u16),
    BindError(usize),
    Connected,
    Datagram {
        len: usize,
        from: usize,
    },
    Complete {
        pick: usize,
        error: Option<usize>,
    },
    IoError(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        proptest::option::of(0..PEERS.len()).prop_map(Op::Bind),
        (
            0..24usize,
            0..26usize,
            0..26usize,
            0..3u16,
            proptest::option::of(0..PEERS.len())
        )
            .prop_map(|(len, offset, length, port, address)| Op::Send {
                len,
                offset,
                length,
                port,
                address
            }),
        (0..PEERS.len()).prop_map(Op::Connect),
        Just(Op::Disconnect),
        Just(Op::Close),
        (0..3u16).prop_map(Op::Bound),
        (0..KINDS.len()).prop_map(Op::BindError),
        Just(Op::Connected),
        (0..24usize, 0..PEERS.len()).prop_map(|(len, from)| Op::Datagram { len, from }),
        (any::<usize>(), proptest::option::of(0..KINDS.len()))
            .prop_map(|(pick, error)| Op::Complete { pick, error }),
        (0..KINDS.len()).prop_map(Op::IoError),
    ]
}

fn peer(index: usize) -> SocketAddr {
    PEERS[index].parse().expect("valid test address")
}

/// Drives one socket and checks the invariants after every step.
struct Checker {
    socket: Socket,
    max_queued: usize,
    max_size: usize,
    now: Instant,
    accepted: BTreeSet<SendId>,
    reported: BTreeSet<SendId>,
    held: Vec<Datagram>,
    closed_event: bool,
    close_action: bool,
}

impl Checker {
    fn new(family: Family, max_queued: usize, max_size: usize) -> Self {
        let mut config = SocketConfig::new(family);
        config.max_queued_datagrams = max_queued;
        config.max_datagram_size = max_size;
        Self {
            socket: Socket::new(config),
            max_queued,
            max_size,
            now: Instant::now(),
            accepted: BTreeSet::new(),
            reported: BTreeSet::new(),
            held: Vec::new(),
            closed_event: false,
            close_action: false,
        }
    }

    /// Runs a command; on `Err` the socket must be unchanged.
    fn command<T>(
        &mut self,
        run: impl FnOnce(&mut Socket, Instant) -> Result<T, Error>,
    ) -> Option<T> {
        let before = format!("{:?}", self.socket);
        let now = self.now;
        match run(&mut self.socket, now) {
            Ok(value) => Some(value),
            Err(error) => {
                assert_eq!(
                    format!("{:?}", self.socket),
                    before,
                    "failed command changed state"
                );
                assert!(!error.code().is_empty());
                None
            }
        }
    }

    fn apply(&mut self, op: Op) {
        self.now += Duration::from_millis(1);
        let now = self.now;
        match op {
            Op::Bind(address) => {
                self.command(|s, now| s.bind(now, address.map(peer)));
            }
            Op::Send {
                len,
                offset,
                length,
                port,
                address,
            } => {
                let data = Bytes::from(vec![7u8; len]);
                let ip = address.map(|i| -> IpAddr { peer(i).ip() });
                if let Some(id) = self.command(|s, now| s.send(now, data, offset, length, port, ip))
                {
                    assert!(self.accepted.insert(id), "send ids are unique");
                }
            }
            Op::Connect(index) => {
                self.command(|s, now| s.connect(now, peer(index)));
            }
            Op::Disconnect => {
                self.command(Socket::disconnect);
            }
            Op::Close => {
                self.command(Socket::close);
            }
            Op::Bound(port) => {
                let local = SocketAddr::new(self.socket.family().loopback(), 40000 + port);
                self.socket.handle_bound(now, local);
            }
            Op::BindError(kind) => self.socket.handle_bind_error(now, KINDS[kind]),
            Op::Connected => self.socket.handle_connected(now),
            Op::Datagram { len, from } => {
                self.socket
                    .handle_datagram(now, Bytes::from(vec![1u8; len]), peer(from));
            }
            Op::Complete { pick, error } => {
                if !self.held.is_empty() {
                    let datagram = self.held.remove(pick % self.held.len());
                    let result = match error {
                        Some(kind) => Err(KINDS[kind]),
                        None => Ok(datagram.data.len()),
                    };
                    self.socket.handle_sent(now, datagram.id, result);
                }
            }
            Op::IoError(kind) => self.socket.handle_io_error(now, KINDS[kind]),
        }
        self.drain();
    }

    /// Drains per the contract and checks every output.
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
            assert!(self.accepted.contains(&datagram.id));
            assert!(!self.reported.contains(&datagram.id));
            self.held.push(datagram);
        }
        while let Some(action) = self.socket.poll_action() {
            assert!(!self.close_action, "action after Action::Close: {action:?}");
            if action == Action::Close {
                self.close_action = true;
            }
        }
        while let Some(event) = self.socket.poll_event() {
            assert!(!self.closed_event, "event after Close: {event:?}");
            match event {
                SocketEvent::Sent { id, .. } => {
                    assert!(self.accepted.contains(&id), "Sent for an unknown id");
                    assert!(self.reported.insert(id), "second Sent for {id:?}");
                }
                SocketEvent::Close => {
                    assert!(self.socket.is_closed());
                    self.closed_event = true;
                }
                SocketEvent::Message { data, rinfo } => {
                    assert_eq!(data.len(), rinfo.size);
                    assert!(self.socket.wants_read());
                }
                _ => {}
            }
        }
        assert!(self.socket.queued_datagrams() <= self.max_queued);
        assert_eq!(self.socket.poll_timeout(), None);
        assert_eq!(self.closed_event, self.socket.is_closed());
    }

    /// Closes the socket if still open; then every accepted send must have its one result.
    fn finish(&mut self) {
        if !self.socket.is_closed() {
            self.command(Socket::close).expect("an open socket closes");
            self.drain();
        }
        assert!(self.closed_event && self.close_action);
        assert_eq!(
            self.accepted, self.reported,
            "every accepted send gets one Sent"
        );
        assert_eq!(self.socket.queued_datagrams(), 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary sequences never panic and keep every invariant (STYLE 3.6 property 2;
    /// docs/node-semantics.md#dgram-bind-error to #dgram-connect).
    #[test]
    fn arbitrary_sequences_keep_invariants(
        v6 in any::<bool>(),
        max_queued in 0..5usize,
        max_size in 0..20usize,
        ops in proptest::collection::vec(op(), 0..64),
    ) {
        let family = if v6 { Family::Udp6 } else { Family::Udp4 };
        let mut checker = Checker::new(family, max_queued, max_size);
        for op in ops {
            checker.apply(op);
        }
        checker.finish();
    }

    /// Node source `lib/dgram.js` › `sliceBuffer`: `send()` accepts exactly the slices inside the
    /// buffer and puts that slice on the wire.
    #[test]
    fn send_accepts_exactly_in_bounds_slices(
        len in 0..32usize,
        offset in 0..40usize,
        length in 0..40usize,
    ) {
        let mut socket = Socket::new(SocketConfig::default());
        let now = Instant::now();
        socket.bind(now, None).expect("binds");
        socket.handle_bound(now, "127.0.0.1:40000".parse().expect("valid"));
        let data: Bytes = (0..len).map(|i| u8::try_from(i).expect("small")).collect();
        let result = socket.send(now, data.clone(), offset, length, 9, None);
        if offset + length <= len {
            prop_assert!(result.is_ok());
            let datagram = socket.poll_transmit().expect("bound");
            prop_assert_eq!(datagram.data, data.slice(offset..offset + length));
        } else {
            prop_assert_eq!(result.map_err(|e| e.code()), Err("ERR_BUFFER_OUT_OF_BOUNDS"));
        }
    }
}
