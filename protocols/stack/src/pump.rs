//! The one step every upper machine takes with the socket machine beneath it: its bytes go
//! into the socket up to the socket's high-water mark, and its actions become `end()`,
//! `destroy()` or a hand-over.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sansnet_core::{Action, Machine};
use sansnet_tcp::Socket;

/// What one [`pump`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pumped {
    /// Bytes or actions moved.
    pub(crate) moved: bool,
    /// The machine handed the socket over (every byte before it is in the socket).
    pub(crate) handed_over: bool,
}

/// Moves `machine`'s bytes into `socket` while the socket is under its high-water mark, then
/// carries out the actions the machine offers (by the contract, `Shutdown` and `HandOver`
/// only once its bytes are all in the socket).
pub(crate) fn pump<M: Machine>(now: Instant, machine: &mut M, socket: &mut Socket) -> Pumped {
    let mut pumped = Pumped::default();
    while socket.buffer_size() < socket.config().high_water_mark {
        let Some(chunk) = machine.poll_transmit(now) else {
            break;
        };
        pumped.moved = true;
        // A closed socket drops the bytes; its `close` reaches the application anyway.
        let _ = socket.write(now, chunk);
    }
    while let Some(action) = machine.poll_action() {
        pumped.moved = true;
        match action {
            Action::Shutdown => {
                let _ = socket.end(now, None);
            }
            Action::Close { reset: true } => socket.reset_and_destroy(now),
            Action::Close { reset: false } => socket.destroy(now),
            Action::HandOver => pumped.handed_over = true,
            _ => {}
        }
    }
    pumped
}

/// Appends `data` to `buf`, reusing `data`'s memory when `buf` is empty (the socket's `data`
/// chunk becomes the upper machine's input without a copy).
#[inline]
pub(crate) fn append(buf: &mut BytesMut, data: Bytes) {
    if buf.is_empty() {
        match data.try_into_mut() {
            Ok(data) => *buf = data,
            Err(data) => buf.extend_from_slice(&data),
        }
    } else {
        buf.extend_from_slice(&data);
    }
}
