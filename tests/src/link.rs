//! A one-way in-memory byte link, the stand-in for a socket's kernel buffers.
//!
//! A [`Link`] accepts at most `max_write` bytes per write (so partial writes happen, as on a
//! real socket) and holds at most `capacity` bytes in flight (so a slow reader pushes back).
//! A FIN travels behind the bytes written before it.

use std::io::IoSlice;

use bytes::{BufMut, BytesMut};

/// One direction of an in-memory connection.
#[derive(Debug)]
pub struct Link {
    in_flight: BytesMut,
    capacity: usize,
    max_write: usize,
    fin: bool,
}

impl Link {
    /// A link that holds up to `capacity` bytes and accepts up to `max_write` bytes per write.
    ///
    /// Both are raised to at least 1 so that writes always make progress once there is room.
    pub fn new(capacity: usize, max_write: usize) -> Self {
        Self {
            in_flight: BytesMut::new(),
            capacity: capacity.max(1),
            max_write: max_write.max(1),
            fin: false,
        }
    }

    /// Writes as much of `bufs` as fits, like `writev`; returns the count (0 means "would block").
    ///
    /// Writing after [`Link::shutdown`] writes nothing.
    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> usize {
        if self.fin {
            return 0;
        }
        let room = self
            .capacity
            .saturating_sub(self.in_flight.len())
            .min(self.max_write);
        let mut written = 0;
        for buf in bufs {
            let take = buf.len().min(room - written);
            self.in_flight.put_slice(&buf[..take]);
            written += take;
            if written == room {
                break;
            }
        }
        written
    }

    /// Queues a FIN behind the bytes already written.
    pub fn shutdown(&mut self) {
        self.fin = true;
    }

    /// Moves up to `max` bytes into `into`, like `read`; returns the count.
    pub fn read(&mut self, into: &mut BytesMut, max: usize) -> usize {
        let take = self.in_flight.len().min(max);
        into.extend_from_slice(&self.in_flight.split_to(take));
        take
    }

    /// True once every byte was read and a FIN was queued: the reader's next read is EOF.
    pub fn at_eof(&self) -> bool {
        self.fin && self.in_flight.is_empty()
    }

    /// Bytes written but not yet read.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_partial_at_max_write_and_block_at_capacity() {
        let mut link = Link::new(10, 4);
        let data = [7u8; 8];
        assert_eq!(link.write_vectored(&[IoSlice::new(&data)]), 4);
        assert_eq!(
            link.write_vectored(&[IoSlice::new(&data[..2]), IoSlice::new(&data)]),
            4
        );
        assert_eq!(link.write_vectored(&[IoSlice::new(&data)]), 2);
        assert_eq!(link.write_vectored(&[IoSlice::new(&data)]), 0);
        let mut buf = BytesMut::new();
        assert_eq!(link.read(&mut buf, 3), 3);
        assert_eq!(link.in_flight(), 7);
    }

    #[test]
    fn fin_arrives_after_the_bytes_before_it() {
        let mut link = Link::new(10, 10);
        link.write_vectored(&[IoSlice::new(b"abc")]);
        link.shutdown();
        assert!(!link.at_eof());
        assert_eq!(link.write_vectored(&[IoSlice::new(b"zz")]), 0);
        let mut buf = BytesMut::new();
        link.read(&mut buf, 10);
        assert_eq!(&buf[..], b"abc");
        assert!(link.at_eof());
    }
}
