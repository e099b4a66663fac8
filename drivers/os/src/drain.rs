//! The connection stack's drain rule over an OS stream socket: the one round every driver
//! repeats until nothing moves (`sansnet_stack::Connection` states the rule).

use std::io::{self, IoSlice};
use std::time::{Instant, SystemTime};

use sansnet_core::Action;
use sansnet_stack::Connection;

/// How many slices one vectored write gathers.
pub const MAX_SLICES: usize = 64;

/// A stream socket as the drain rule uses it: non-blocking calls that return `WouldBlock`
/// when the OS has nothing to give or no room, as `std::io::Read`/`Write` do on a
/// non-blocking socket (and as rustls's `read_tls`/`write_tls` take them).
pub trait Transport {
    /// One `read(2)`: `Ok(0)` at the peer's FIN.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// One vectored write (see [`crate::socket::send_vectored`]).
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Carries out a link action of the stack: `Shutdown` (FIN), `Close` (stop polling and
    /// close; `reset`: RST), the socket options (see [`crate::socket::apply`]).
    fn apply(&mut self, action: Action) -> io::Result<()>;
}

/// What one read came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// This many bytes went to the stack.
    Bytes(usize),
    /// The peer's FIN went to the stack.
    Eof,
    /// The OS had nothing (`WouldBlock`): wait for readability.
    Blocked,
    /// The read failed; the stack has the error and ends the connection.
    Failed,
}

/// What one [`round`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Bytes, actions, input or state moved: run another round (after handing the events
    /// on).
    pub moved: bool,
    /// The read, if the stack wanted one and the application had caught up.
    pub read: Option<Read>,
}

/// One round of the drain rule: read once into `buf` if the stack wants to read and the
/// application took every earlier event (`caught_up`), drive the stack, write what it offers
/// (so what the drive moved into the socket goes out in the same round), then carry out its
/// actions. The caller hands each `poll_event` on and repeats while anything moved. An OS
/// failure goes to the stack, which ends the connection with it. Before a read, an HTTP
/// server's `Date` is brought up to the wall clock (read once a second:
/// `Connection::refresh_date`).
#[inline]
pub fn round(
    conn: &mut Connection,
    now: Instant,
    io: &mut impl Transport,
    buf: &mut [u8],
    caught_up: bool,
) -> Round {
    let read = (caught_up && conn.wants_read() && !buf.is_empty()).then(|| {
        conn.refresh_date(now, SystemTime::now);
        read(conn, now, io, buf)
    });
    let mut moved = matches!(read, Some(Read::Bytes(_) | Read::Eof | Read::Failed));
    moved |= conn.drive(now, caught_up);
    moved |= flush(conn, now, io);
    while let Some(action) = conn.poll_action() {
        moved = true;
        if let Err(e) = io.apply(action) {
            conn.handle_io_error(now, e.kind());
        }
    }
    Round { moved, read }
}

/// Writes what the stack offers until it is empty or the OS would block; returns whether
/// anything moved.
#[inline]
pub fn flush(conn: &mut Connection, now: Instant, io: &mut impl Transport) -> bool {
    let mut moved = false;
    while conn.wants_write() {
        let result = {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let n = conn.transmit_chunks(&mut slices);
            io.write_vectored(&slices[..n])
        };
        match result {
            // The OS took nothing and said no error: wait for writability as if blocked.
            Ok(0) => break,
            Ok(n) => {
                conn.advance_transmit(now, n);
                moved = true;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => {
                conn.handle_io_error(now, e.kind());
                return true;
            }
        }
    }
    moved
}

/// Reads once into `buf` and hands the stack what arrived (an interrupted call is retried).
#[inline]
pub fn read(conn: &mut Connection, now: Instant, io: &mut impl Transport, buf: &mut [u8]) -> Read {
    loop {
        match io.read(buf) {
            Ok(0) => {
                conn.handle_eof(now);
                return Read::Eof;
            }
            Ok(n) => {
                conn.handle_input(now, &buf[..n]);
                return Read::Bytes(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Read::Blocked,
            Err(e) => {
                conn.handle_io_error(now, e.kind());
                return Read::Failed;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use sansnet_stack::Event;
    use sansnet_tcp::{SocketConfig, SocketEvent};

    use super::*;

    /// A scripted transport: reads come from `input`, writes take at most `room` bytes each.
    #[derive(Default)]
    struct Script {
        input: VecDeque<io::Result<Vec<u8>>>,
        room: usize,
        written: Vec<u8>,
        actions: Vec<Action>,
    }

    impl Transport for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.input.pop_front() {
                Some(Ok(data)) => {
                    buf[..data.len()].copy_from_slice(&data);
                    Ok(data.len())
                }
                Some(Err(e)) => Err(e),
                None => Err(io::ErrorKind::WouldBlock.into()),
            }
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let all: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            let n = all.len().min(self.room);
            self.written.extend_from_slice(&all[..n]);
            Ok(n)
        }
        fn apply(&mut self, action: Action) -> io::Result<()> {
            self.actions.push(action);
            Ok(())
        }
    }

    fn drain(conn: &mut Connection, io: &mut Script, caught_up: bool) -> Vec<Event> {
        let now = Instant::now();
        let mut events = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let round = round(conn, now, io, &mut buf, caught_up);
            let before = events.len();
            events.extend(std::iter::from_fn(|| conn.poll_event()));
            if !round.moved && events.len() == before {
                return events;
            }
        }
    }

    #[test]
    fn short_writes_deliver_every_byte_in_order_then_the_fin() {
        let now = Instant::now();
        let mut conn = Connection::accepted(now, SocketConfig::default());
        let data: Vec<u8> = (0..=255).collect();
        conn.socket_mut().write(now, data.clone().into()).unwrap();
        conn.socket_mut().end(now, None).unwrap();
        let mut io = Script {
            room: 7,
            ..Script::default()
        };
        drain(&mut conn, &mut io, true);
        assert_eq!(io.written, data);
        assert_eq!(io.actions, [Action::Shutdown]);
    }

    #[test]
    fn a_blocked_socket_keeps_the_bytes_for_later() {
        let now = Instant::now();
        let mut conn = Connection::accepted(now, SocketConfig::default());
        conn.socket_mut().write(now, b"later"[..].into()).unwrap();
        let mut io = Script::default();
        drain(&mut conn, &mut io, true);
        assert!(io.written.is_empty());
        assert!(conn.wants_write());
        io.room = 100;
        drain(&mut conn, &mut io, true);
        assert_eq!(io.written, b"later");
    }

    #[test]
    fn reads_wait_until_the_application_caught_up_and_a_read_error_ends_the_socket() {
        let now = Instant::now();
        let mut conn = Connection::accepted(now, SocketConfig::default());
        let mut io = Script::default();
        io.input.push_back(Ok(b"ping".to_vec()));
        io.input
            .push_back(Err(io::ErrorKind::ConnectionReset.into()));
        assert!(
            drain(&mut conn, &mut io, false).is_empty(),
            "read while behind"
        );
        let events = drain(&mut conn, &mut io, true);
        assert!(matches!(&events[0], Event::Socket(SocketEvent::Data(d)) if &d[..] == b"ping"));
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Socket(SocketEvent::Error(_))))
        );
        assert!(matches!(
            events.last(),
            Some(Event::Socket(SocketEvent::Close { .. }))
        ));
    }
}
