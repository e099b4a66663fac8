//! Socket scenarios: Node's event order for every rule of `net.Socket`
//! (docs/node-semantics.md#net-socket).

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::harness::{
    Pair, RESET, actions, assert_events, events, flush, pattern, socket_established,
};
use crate::{Action, Error, ReadyState, Socket, SocketConfig, SocketEvent, UsageError};

fn half_open() -> SocketConfig {
    SocketConfig {
        allow_half_open: true,
        ..SocketConfig::default()
    }
}

/// Node docs `net.md` › `Event: 'connect'`: a client socket emits `connect`, then `ready`, when the
/// connection is up.
#[test]
fn connecting_connected_emits_connect_then_ready() {
    let now = Instant::now();
    let mut socket = Socket::connect(now, SocketConfig::default());
    assert_eq!(socket.ready_state(), ReadyState::Opening);
    assert!(!socket.wants_read());
    socket.handle_connected(now);
    assert_eq!(
        events(&mut socket),
        vec![SocketEvent::Connect, SocketEvent::Ready]
    );
    assert_eq!(socket.ready_state(), ReadyState::Open);
    assert!(socket.wants_read());
}

/// Node docs `net.md` › `socket.connect()`: a refused connect emits `error` (ECONNREFUSED) instead
/// of `connect`, then `close(true)`.
#[test]
fn connecting_refused_emits_error_then_close_had_error() {
    let now = Instant::now();
    let mut socket = Socket::connect(now, SocketConfig::default());
    socket.handle_io_error(now, ErrorKind::ConnectionRefused);
    let events = events(&mut socket);
    assert_eq!(
        events,
        vec![
            SocketEvent::Error(Error::Io(ErrorKind::ConnectionRefused)),
            SocketEvent::Close { had_error: true }
        ]
    );
    let SocketEvent::Error(error) = &events[0] else {
        unreachable!()
    };
    assert_eq!(error.code(), "ECONNREFUSED");
    assert_eq!(actions(&mut socket), vec![Action::Close { reset: false }]);
}

/// Node source `lib/net.js` › `_writeGeneric`: bytes written while connecting are queued and leave
/// after `connect`.
#[test]
fn connecting_write_queues_until_connected() {
    let now = Instant::now();
    let mut socket = Socket::connect(now, SocketConfig::default());
    assert_eq!(socket.write(now, Bytes::from_static(b"early")), Ok(true));
    assert!(
        flush(&mut socket, now).is_empty(),
        "nothing may leave before connect"
    );
    assert_eq!(socket.buffer_size(), 5);
    socket.handle_connected(now);
    assert_eq!(flush(&mut socket, now), b"early");
    assert_eq!(socket.buffer_size(), 0);
}

/// Node docs `net.md` › `Event: 'data'`: `data` delivers bytes in order; the same bytes in any
/// chunking give the same stream, and each read is one `data` event split off without copying.
#[test]
fn established_reads_emit_data_in_order() {
    let (mut socket, now) = socket_established(SocketConfig::default());
    let mut buf = BytesMut::from(&b"abc"[..]);
    let ptr = buf.as_ptr();
    socket.handle_input(now, &mut buf);
    assert!(buf.is_empty());
    let mut buf2 = BytesMut::from(&b"de"[..]);
    socket.handle_input(now, &mut buf2);
    let events = events(&mut socket);
    assert_eq!(
        events,
        vec![
            SocketEvent::Data(Bytes::from_static(b"abc")),
            SocketEvent::Data(Bytes::from_static(b"de"))
        ]
    );
    let SocketEvent::Data(first) = &events[0] else {
        unreachable!()
    };
    assert_eq!(
        first.as_ptr(),
        ptr,
        "data is split from the read buffer, not copied"
    );
    assert_eq!(socket.bytes_read(), 5);
}

/// Node docs `net.md` › `socket.pause()`: `pause()` stops `data` (read interest off, bytes stay
/// with the driver) and `resume()` restarts it.
#[test]
fn established_pause_stops_data_and_resume_restarts_it() {
    let (mut socket, now) = socket_established(SocketConfig::default());
    socket.pause();
    assert!(!socket.wants_read());
    let mut buf = BytesMut::from(&b"held"[..]);
    socket.handle_input(now, &mut buf);
    assert_eq!(&buf[..], b"held", "a paused socket consumes nothing");
    assert!(events(&mut socket).is_empty());
    socket.resume(now);
    assert!(socket.wants_read());
    socket.handle_input(now, &mut buf);
    assert_eq!(
        events(&mut socket),
        vec![SocketEvent::Data(Bytes::from_static(b"held"))]
    );
}

/// Node docs `net.md` › `net.createServer()`: with `pauseOnConnect` an accepted socket reads
/// nothing until `resume()`.
#[test]
fn accepted_pause_on_connect_reads_nothing_until_resume() {
    let now = Instant::now();
    let config = SocketConfig {
        pause_on_connect: true,
        ..SocketConfig::default()
    };
    let mut socket = Socket::accepted(now, config);
    assert!(!socket.wants_read());
    assert!(socket.is_paused());
    socket.resume(now);
    assert!(socket.wants_read());
}

/// Node docs `net.md` › `Event: 'end'`: `end` comes on the peer's FIN after every earlier byte; a
/// FIN seen while paused is delivered on `resume`.
#[test]
fn established_eof_while_paused_emits_end_on_resume() {
    let (mut socket, now) = socket_established(half_open());
    let mut buf = BytesMut::from(&b"x"[..]);
    socket.handle_input(now, &mut buf);
    socket.pause();
    socket.handle_eof(now);
    assert_eq!(
        events(&mut socket),
        vec![SocketEvent::Data(Bytes::from_static(b"x"))]
    );
    socket.resume(now);
    assert_eq!(events(&mut socket), vec![SocketEvent::End]);
    assert!(!socket.wants_read());
}

/// docs/node-semantics.md#net-end-closes-by-default, #net-close-order: not half-open, the peer's
/// FIN gives `end`, then our queue is flushed, FIN is sent (`finish`) and the socket closes: `end`
/// -> `finish` -> `close(false)`.
#[test]
fn established_peer_fin_flushes_then_finish_then_close() {
    let (mut socket, now) = socket_established(SocketConfig::default());
    socket.write(now, Bytes::from_static(b"pending")).unwrap();
    socket.handle_eof(now);
    assert_eq!(events(&mut socket), vec![SocketEvent::End]);
    assert!(
        actions(&mut socket).is_empty(),
        "no FIN before the queue is written"
    );
    assert_eq!(flush(&mut socket, now), b"pending");
    assert_eq!(
        events(&mut socket),
        vec![SocketEvent::Finish, SocketEvent::Close { had_error: false }]
    );
    assert_eq!(
        actions(&mut socket),
        vec![Action::Shutdown, Action::Close { reset: false }]
    );
    assert_eq!(socket.ready_state(), ReadyState::Closed);
}

/// Node source `lib/net.js` › `writeAfterFIN`: not half-open, a `write()` after the peer's FIN
/// fails with EPIPE and destroys.
#[test]
fn ended_by_peer_write_fails_with_epipe_and_destroys() {
    let (mut socket, now) = socket_established(SocketConfig::default());
    socket.write(now, Bytes::from_static(b"slow")).unwrap();
    socket.handle_eof(now);
    assert_eq!(events(&mut socket), vec![SocketEvent::End]);
    let result = socket.write(now, Bytes::from_static(b"late"));
    assert_eq!(result, Err(Error::Io(ErrorKind::BrokenPipe)));
    assert_eq!(result.unwrap_err().code(), "EPIPE");
    assert_eq!(
        events(&mut socket),
        vec![
            SocketEvent::Error(Error::Io(ErrorKind::BrokenPipe)),
            SocketEvent::Close { had_error: true }
        ]
    );
}

/// Node docs `net.md` › `Event: 'end'`: half-open, the socket stays writable after `end` until the
/// user calls `end()`.
#[test]
fn half_open_peer_fin_keeps_socket_writable() {
    let mut pair = Pair::new(SocketConfig::default(), half_open());
    pair.client.socket.end(pair.now(), None).unwrap();
    pair.drive();
    assert_events!(pair.server.events, [SocketEvent::End]);
    assert_eq!(pair.server.socket.ready_state(), ReadyState::WriteOnly);
    let now = pair.now();
    assert_eq!(
        pair.server
            .socket
            .write(now, Bytes::from_static(b"still here")),
        Ok(true)
    );
    pair.drive();
    assert_eq!(pair.client.take_data(), b"still here");
    pair.server
        .socket
        .end(now, Some(Bytes::from_static(b" bye")))
        .unwrap();
    pair.drive();
    assert_eq!(pair.client.take_data(), b" bye");
    assert_events!(
        pair.server.events,
        [SocketEvent::Finish, SocketEvent::Close { had_error: false }]
    );
    assert_events!(
        pair.client.events,
        [
            SocketEvent::Finish,
            SocketEvent::End,
            SocketEvent::Close { had_error: false }
        ]
    );
}

/// Node docs `net.md` › `socket.end()`: `end(data)` sends data then FIN; the peer may still send to
/// us; a `write()` after our `end()` is `ERR_STREAM_WRITE_AFTER_END` and changes nothing.
#[test]
fn ending_write_after_end_is_an_error_and_peer_may_still_send() {
    let mut pair = Pair::new(SocketConfig::default(), half_open());
    let now = pair.now();
    pair.client
        .socket
        .end(now, Some(Bytes::from_static(b"last words")))
        .unwrap();
    assert_eq!(pair.client.socket.ready_state(), ReadyState::ReadOnly);
    let err = pair
        .client
        .socket
        .write(now, Bytes::from_static(b"more"))
        .unwrap_err();
    assert_eq!(err, Error::Usage(UsageError::WriteAfterEnd));
    assert_eq!(err.code(), "ERR_STREAM_WRITE_AFTER_END");
    assert_eq!(
        pair.client.socket.end(now, Some(Bytes::from_static(b"x"))),
        Err(err)
    );
    assert_eq!(
        pair.client.socket.end(now, None),
        Ok(()),
        "a second end() is a no-op"
    );
    pair.drive();
    assert_eq!(pair.server.take_data(), b"last words");
    pair.server
        .socket
        .write(now, Bytes::from_static(b"reply"))
        .unwrap();
    pair.drive();
    assert_eq!(pair.client.take_data(), b"reply");
    assert_events!(pair.client.events, [SocketEvent::Finish]);
}

/// docs/node-semantics.md#net-write-backpressure, #net-drain, #node20-high-water-mark: `write()`
/// returns false once 16 KiB are queued, and `drain` follows once the queue is empty, exactly once.
#[test]
fn established_write_at_high_water_mark_returns_false_then_drain() {
    let (mut socket, now) = socket_established(SocketConfig::default());
    assert_eq!(socket.write(now, pattern(16_383)), Ok(true));
    assert_eq!(
        socket.write(now, pattern(1)),
        Ok(false),
        "16384 queued reaches the mark"
    );
    assert_eq!(socket.write(now, pattern(10)), Ok(false));
    assert_eq!(socket.buffer_size(), 16_394);
    assert_eq!(socket.bytes_written(), 16_394);
    socket.advance_transmit(now, 16_000);
    assert!(
        events(&mut socket).is_empty(),
        "no drain before the queue is empty"
    );
    socket.advance_transmit(now, 394);
    assert_eq!(events(&mut socket), vec![SocketEvent::Drain]);
    socket.write(now, pattern(5)).unwrap();
    socket.advance_transmit(now, 5);
    assert!(
        events(&mut socket).is_empty(),
        "drain only after a write returned false"
    );
}

/// Node docs `net.md` › `socket.write()`: the high-water mark is a setting.
#[test]
fn established_custom_high_water_mark() {
    let config = SocketConfig {
        high_water_mark: 4,
        ..SocketConfig::default()
    };
    let (mut socket, now) = socket_established(config);
    assert_eq!(socket.write(now, pattern(3)), Ok(true));
    assert_eq!(socket.write(now, pattern(1)), Ok(false));
}

/// Node docs `net.md` › `Event: 'drain'`: partial writes advance through the queue in order across
/// chunk boundaries.
#[test]
fn established_partial_writes_keep_order() {
    let (mut socket, now) = socket_established(SocketConfig::default());
    socket.write(now, Bytes::from_static(b"abc")).unwrap();
    socket.write(now, Bytes::from_static(b"defg")).unwrap();
    socket.advance_transmit(now, 2);
    socket.advance_transmit(now, 3);
    assert_eq!(flush(&mut socket, now), b"fg");
    assert_eq!(socket.buffer_size(), 0);
}

/// Node docs `net.md` › `Event: 'drain'`: with a slow peer, backpressure engages and every byte
/// arrives in order.
#[test]
fn slow_link_backpressure_delivers_everything_in_order() {
    let mut pair = Pair::with_links(SocketConfig::default(), half_open(), 3000, 700);
    let data = pattern(200_000);
    let now = pair.now();
    let mut offset = 0;
    let mut saw_false = 0;
    while offset < data.len() {
        let chunk = data.slice(offset..(offset + 10_000).min(data.len()));
        offset += chunk.len();
        if !pair.client.socket.write(now, chunk).unwrap() {
            saw_false += 1;
            pair.drive();
            assert!(pair.client.events.contains(&SocketEvent::Drain));
            pair.client
                .events
                .retain(|event| *event != SocketEvent::Drain);
        }
    }
    pair.drive();
    assert!(saw_false > 0);
    assert_eq!(pair.server.take_data(), data.to_vec());
}

/// Node docs `net.md` › `socket.setTimeout()`: `timeout` fires after the idle time, does not close,
/// re-arms on activity, and 0 disables it.
#[test]
fn established_idle_timeout_fires_without_closing_and_rearms_on_activity() {
    let (mut socket, t0) = socket_established(SocketConfig::default());
    assert_eq!(socket.poll_timeout(), None, "no timeout by default");
    socket.set_timeout(t0, Some(Duration::from_millis(100)));
    assert_eq!(socket.poll_timeout(), Some(t0 + Duration::from_millis(100)));
    socket.handle_timeout(t0 + Duration::from_millis(99));
    assert!(events(&mut socket).is_empty(), "not before the deadline");
    let t1 = t0 + Duration::from_millis(50);
    socket.handle_input(t1, &mut BytesMut::from(&b"activity"[..]));
    assert_eq!(socket.poll_timeout(), Some(t1 + Duration::from_millis(100)));
    let _ = events(&mut socket);
    socket.handle_timeout(t1 + Duration::from_millis(100));
    assert_eq!(events(&mut socket), vec![SocketEvent::Timeout]);
    assert_eq!(
        socket.ready_state(),
        ReadyState::Open,
        "timeout does not close"
    );
    assert_eq!(socket.poll_timeout(), None, "fires once per idle period");
    let t2 = t1 + Duration::from_millis(300);
    socket.write(t2, pattern(1)).unwrap();
    assert_eq!(
        socket.poll_timeout(),
        Some(t2 + Duration::from_millis(100)),
        "write re-arms"
    );
    socket.set_timeout(t2, Some(Duration::ZERO));
    assert_eq!(socket.poll_timeout(), None, "0 disables");
}

/// Node docs `net.md` › `socket.setTimeout()`: a timeout from the config applies from creation,
/// also while connecting.
#[test]
fn connecting_timeout_from_config_fires() {
    let now = Instant::now();
    let config = SocketConfig {
        timeout: Some(Duration::from_secs(1)),
        ..SocketConfig::default()
    };
    let mut socket = Socket::connect(now, config);
    socket.handle_timeout(now + Duration::from_secs(1));
    assert_eq!(events(&mut socket), vec![SocketEvent::Timeout]);
}

/// Node docs `net.md` › `Event: 'error'`, `Event: 'close'`: a reset emits `error`, then
/// `close(true)`, once; nothing follows.
#[test]
fn established_reset_emits_error_then_close_once() {
    let (mut socket, now) = socket_established(SocketConfig::default());
    socket.write(now, pattern(10)).unwrap();
    socket.handle_io_error(now, RESET);
    socket.handle_io_error(now, RESET);
    socket.handle_eof(now);
    socket.handle_input(now, &mut BytesMut::from(&b"late"[..]));
    assert_eq!(
        events(&mut socket),
        vec![
            SocketEvent::Error(Error::Io(RESET)),
            SocketEvent::Close { had_error: true }
        ]
    );
    assert_eq!(
        socket.write(now, pattern(1)),
        Err(Error::Usage(UsageError::Destroyed))
    );
    assert_eq!(socket.poll_timeout(), None);
    assert_eq!(socket.buffer_size(), 0);
}

/// Node docs `net.md` › `socket.destroy()`: `destroy()` closes at once with no `end`/`finish`;
/// `destroy(err)` emits `error` then `close(true)`; destroying twice is a no-op.
#[test]
fn established_destroy_closes_at_once() {
    let (mut socket, now) = socket_established(SocketConfig::default());
    socket.write(now, pattern(100)).unwrap();
    socket.destroy(now);
    socket.destroy(now);
    assert_eq!(
        events(&mut socket),
        vec![SocketEvent::Close { had_error: false }]
    );
    assert_eq!(actions(&mut socket), vec![Action::Close { reset: false }]);
    assert!(
        flush(&mut socket, now).is_empty(),
        "queued bytes are dropped"
    );

    let (mut socket, now) = socket_established(SocketConfig::default());
    socket.destroy_with_error(now, Error::Io(ErrorKind::Other));
    assert_eq!(
        events(&mut socket),
        vec![
            SocketEvent::Error(Error::Io(ErrorKind::Other)),
            SocketEvent::Close { had_error: true }
        ]
    );
}

/// Node docs `net.md` › `socket.destroySoon()`, `socket.resetAndDestroy()`: `destroySoon()` writes
/// the queue, sends FIN and closes without waiting for the peer; `resetAndDestroy()` closes with
/// RST.
#[test]
fn established_destroy_soon_flushes_then_closes_and_reset_sends_rst() {
    let (mut socket, now) = socket_established(SocketConfig::default());
    socket.write(now, Bytes::from_static(b"flush me")).unwrap();
    socket.destroy_soon(now);
    assert!(events(&mut socket).is_empty());
    assert_eq!(flush(&mut socket, now), b"flush me");
    assert_eq!(
        events(&mut socket),
        vec![SocketEvent::Finish, SocketEvent::Close { had_error: false }]
    );
    assert_eq!(
        actions(&mut socket),
        vec![Action::Shutdown, Action::Close { reset: false }]
    );

    let (mut socket, now) = socket_established(SocketConfig::default());
    socket.reset_and_destroy(now);
    assert_eq!(actions(&mut socket), vec![Action::Close { reset: true }]);
    assert_eq!(
        events(&mut socket),
        vec![SocketEvent::Close { had_error: false }]
    );
}

/// Node docs `net.md` › `socket.setNoDelay()`, `socket.setKeepAlive()`: `setNoDelay` and
/// `setKeepAlive` become driver actions; options from the config are applied once the connection is
/// up.
#[test]
fn socket_options_become_actions() {
    let now = Instant::now();
    let config = SocketConfig {
        no_delay: true,
        keep_alive: Some(Duration::from_secs(5)),
        ..SocketConfig::default()
    };
    let mut socket = Socket::connect(now, config);
    assert!(
        actions(&mut socket).is_empty(),
        "nothing to apply before connect"
    );
    socket.handle_connected(now);
    assert_eq!(
        actions(&mut socket),
        vec![
            Action::SetNoDelay(true),
            Action::SetKeepAlive(Some(Duration::from_secs(5)))
        ]
    );
    socket.set_no_delay(false);
    socket.set_keep_alive(None);
    assert_eq!(
        actions(&mut socket),
        vec![Action::SetNoDelay(false), Action::SetKeepAlive(None)]
    );
}

/// docs/node-semantics.md#net-close-once, #net-close-order: a full conversation over the in-memory
/// pair ends with `close(false)` last on both sides, exactly once.
#[test]
fn pair_normal_close_runs_end_finish_close_on_both_sides() {
    let mut pair = Pair::new(SocketConfig::default(), SocketConfig::default());
    let now = pair.now();
    pair.client
        .socket
        .write(now, Bytes::from_static(b"ping"))
        .unwrap();
    pair.drive();
    assert_eq!(pair.server.take_data(), b"ping");
    pair.server
        .socket
        .end(now, Some(Bytes::from_static(b"pong")))
        .unwrap();
    pair.drive();
    assert_eq!(pair.client.take_data(), b"pong");
    assert_events!(
        pair.client.events,
        [
            SocketEvent::End,
            SocketEvent::Finish,
            SocketEvent::Close { had_error: false }
        ]
    );
    assert_events!(
        pair.server.events,
        [
            SocketEvent::Finish,
            SocketEvent::End,
            SocketEvent::Close { had_error: false }
        ]
    );
}

/// Node docs `net.md` › `socket.readyState`: `readyState` follows the halves.
#[test]
fn ready_state_follows_the_halves() {
    let (mut socket, now) = socket_established(half_open());
    assert_eq!(socket.ready_state().as_str(), "open");
    socket.handle_eof(now);
    assert_eq!(socket.ready_state().as_str(), "writeOnly");
    socket.end(now, None).unwrap();
    assert_eq!(socket.ready_state().as_str(), "closed");
    let (mut socket, now) = socket_established(half_open());
    socket.write(now, pattern(1)).unwrap();
    socket.end(now, None).unwrap();
    assert_eq!(socket.ready_state().as_str(), "readOnly");
}

/// Node docs `net.md` › `socket.setTimeout()`: over a connection, an idle server socket times out
/// while its peer keeps quiet, and traffic pushes the next timeout back.
#[test]
fn pair_idle_server_times_out_and_traffic_rearms() {
    let mut pair = Pair::new(SocketConfig::default(), SocketConfig::default());
    let now = pair.now();
    pair.server
        .socket
        .set_timeout(now, Some(Duration::from_secs(2)));
    pair.advance(Duration::from_millis(1500));
    pair.client
        .socket
        .write(pair.now(), Bytes::from_static(b"keepalive"))
        .unwrap();
    pair.drive();
    pair.advance(Duration::from_millis(1500));
    assert_eq!(pair.server.take_data(), b"keepalive");
    assert_events!(pair.server.events, []);
    pair.advance(Duration::from_millis(600));
    assert_events!(pair.server.events, [SocketEvent::Timeout]);
}

/// Node docs `net.md` › `Event: 'drain'`: at a zero high-water mark every write returns false; an
/// empty write leaves the queue empty, so `drain` follows at once.
#[test]
fn zero_high_water_mark_empty_write_drains_at_once() {
    let config = SocketConfig {
        high_water_mark: 0,
        ..SocketConfig::default()
    };
    let (mut socket, now) = socket_established(config);
    assert_eq!(socket.write(now, Bytes::new()), Ok(false));
    assert_eq!(events(&mut socket), vec![SocketEvent::Drain]);
}

/// Node docs `net.md` › `socket.setTimeout()`: `set_timeout` is reflected in the settings in force.
#[test]
fn set_timeout_updates_config() {
    let (mut socket, now) = socket_established(SocketConfig::default());
    socket.set_timeout(now, Some(Duration::from_millis(5)));
    assert_eq!(socket.config().timeout, Some(Duration::from_millis(5)));
    socket.set_timeout(now, Some(Duration::ZERO));
    assert_eq!(socket.config().timeout, None);
}
