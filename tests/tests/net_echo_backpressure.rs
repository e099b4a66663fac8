//! 16 MiB of random bytes through a TCP echo server on the driver, with a reader that
//! stops reading: backpressure must engage on both sides, and nothing may be lost or
//! reordered.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use common::{loopback_any, next, random_bytes, sha256};
use sansnet_mio::{Event, EventLoop, SocketId};
use sansnet_tcp::{Address, ServerConfig, ServerEvent, SocketConfig, SocketEvent};

const TOTAL: usize = 16 << 20;
const CHUNK: usize = 64 << 10;

/// Write-side bookkeeping: how often `write` said false and how often `drain` answered it.
///
/// Events reach the application a little after the machine emits them, so a second `write`
/// may return false before the `drain` of the first arrives; then two `drain`s follow. What
/// must hold is that `drain`s never outnumber the `false`s before them (Node docs `net.md` ›
/// `Event: 'drain'`) and that the last `false` is answered.
#[derive(Debug, Default)]
struct Pressure {
    falses: usize,
    drains: usize,
    waiting_for_drain: bool,
}

impl Pressure {
    fn wrote(&mut self, below_mark: bool) {
        if !below_mark {
            self.falses += 1;
            self.waiting_for_drain = true;
        }
    }

    fn drained(&mut self) {
        assert!(
            self.drains < self.falses,
            "more drains than writes returning false (Node docs net.md › Event: 'drain')"
        );
        self.waiting_for_drain = false;
        self.drains += 1;
    }
}

/// Node docs `net.md` › `Event: 'data'`, `socket.write()`, `Event: 'drain'`: an echo server that
/// pauses its reads while its writes are above the high-water mark (`socket.pipe(socket)`), a
/// client that stops reading for a while: both `write()`s return false, `drain` follows each time,
/// and the echoed bytes hash equal.
#[test]
fn echo_16_mib_with_slow_reader_engages_backpressure_and_loses_nothing() {
    let data = random_bytes(TOTAL, 0x5eed);
    let mut ev = EventLoop::new().unwrap();
    let server = ev.listen(Address::Tcp(loopback_any()), ServerConfig::default());
    let address = match next(&mut ev, "listening") {
        Event::Server {
            event: ServerEvent::Listening { address },
            ..
        } => address,
        other => panic!("expected listening, got {other:?}"),
    };
    let client = ev.connect(address, SocketConfig::default());

    let mut sent = 0;
    let mut received = Vec::with_capacity(TOTAL);
    let mut client_pressure = Pressure::default();
    let mut server_pressure = Pressure::default();
    let mut accepted: Option<SocketId> = None;
    // The client stops reading after its first 256 KiB until the server's writes back up.
    let mut client_paused = false;
    let mut paused_once = false;
    let mut client_events = Vec::new();

    let pump = |ev: &mut EventLoop, sent: &mut usize, pressure: &mut Pressure| {
        while *sent < TOTAL && !pressure.waiting_for_drain {
            let end = (*sent + CHUNK).min(TOTAL);
            let below = ev.write(client, data.slice(*sent..end)).unwrap();
            *sent = end;
            if *sent == TOTAL {
                // `end()` follows at once: an ending socket owes no `drain` (Node's
                // `afterWrite`), so the last write's answer is not waited for.
                pressure.falses += usize::from(!below);
                ev.end(client, None).unwrap();
            } else {
                pressure.wrote(below);
            }
        }
    };

    loop {
        match next(&mut ev, "echo traffic") {
            Event::Server {
                event: ServerEvent::Connection { id },
                ..
            } => {
                accepted = Some(SocketId::from(id));
            }
            Event::Socket { socket, event } if socket == client => match event {
                SocketEvent::Connect => pump(&mut ev, &mut sent, &mut client_pressure),
                SocketEvent::Ready => {}
                SocketEvent::Data(bytes) => {
                    received.extend_from_slice(&bytes);
                    if !paused_once && received.len() >= 256 << 10 {
                        ev.pause(client);
                        client_paused = true;
                        paused_once = true;
                    }
                }
                SocketEvent::Drain => {
                    client_pressure.drained();
                    pump(&mut ev, &mut sent, &mut client_pressure);
                }
                SocketEvent::Close { had_error } => {
                    assert!(!had_error);
                    client_events.push(SocketEvent::Close { had_error });
                    break;
                }
                other => client_events.push(other),
            },
            Event::Socket { socket, event } => {
                assert_eq!(
                    Some(socket),
                    accepted,
                    "events only from the accepted socket"
                );
                match event {
                    SocketEvent::Data(bytes) => {
                        let below = ev.write(socket, bytes).unwrap();
                        server_pressure.wrote(below);
                        if !below {
                            ev.pause(socket);
                        }
                    }
                    SocketEvent::Drain => {
                        server_pressure.drained();
                        ev.resume(socket);
                    }
                    SocketEvent::End | SocketEvent::Finish => {}
                    SocketEvent::Close { had_error } => assert!(!had_error),
                    other => panic!("unexpected server-side event {other:?}"),
                }
            }
            other => panic!("unexpected event {other:?}"),
        }
        if client_paused && server_pressure.falses > 0 && client_pressure.falses > 0 {
            client_paused = false;
            ev.resume(client);
        }
    }

    assert_eq!(received.len(), TOTAL, "every byte came back");
    assert_eq!(sha256(&received), sha256(&data), "in order, unchanged");
    assert!(
        server_pressure.falses > 0,
        "the echo's write() returned false at the mark"
    );
    assert!(
        client_pressure.falses > 0,
        "the client's write() returned false at the mark"
    );
    assert!(!server_pressure.waiting_for_drain && !client_pressure.waiting_for_drain);
    assert!(server_pressure.drains > 0 && client_pressure.drains > 0);
    assert_eq!(
        client_events,
        vec![
            SocketEvent::Finish,
            SocketEvent::End,
            SocketEvent::Close { had_error: false }
        ]
    );
    ev.close_server(server).unwrap();
}
