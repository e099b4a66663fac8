//! `Transmit`: the bytes a connection machine has for the transport, in order, as `Bytes`
//! chunks that are written (or handed on) without copying.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes};

/// A queue of outbound chunks, written front first. INVARIANT: no chunk is empty, and `len`
/// is their total size.
#[derive(Debug, Default)]
pub struct Transmit {
    chunks: VecDeque<Bytes>,
    len: usize,
}

impl Transmit {
    /// An empty queue with room for `chunks` chunks. A `Transmit::default()` takes room for
    /// four at its first push and keeps it; a machine held per connection whose answers are
    /// mostly one or two chunks (a head and a body) keeps less while it idles with this.
    pub fn with_capacity(chunks: usize) -> Self {
        Self {
            chunks: VecDeque::with_capacity(chunks),
            len: 0,
        }
    }

    /// Appends `bytes` (an empty chunk is dropped).
    #[inline]
    pub fn push(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.len += bytes.len();
            self.chunks.push_back(bytes);
        }
    }

    /// Drops the first `n` bytes (clamped to what is queued), as the transport took them.
    #[inline]
    pub fn advance(&mut self, n: usize) {
        let mut left = n.min(self.len);
        self.len -= left;
        while left > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            if front.len() > left {
                front.advance(left);
                left = 0;
            } else {
                left -= front.len();
                self.chunks.pop_front();
            }
        }
    }

    /// Fills `out` with the chunks, front first; returns how many slices were filled.
    #[inline]
    pub fn fill<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let mut filled = 0;
        for (slot, chunk) in out.iter_mut().zip(&self.chunks) {
            *slot = IoSlice::new(chunk);
            filled += 1;
        }
        filled
    }

    /// Takes the first chunk whole.
    #[inline]
    pub fn pop(&mut self) -> Option<Bytes> {
        let chunk = self.chunks.pop_front()?;
        self.len -= chunk.len();
        Some(chunk)
    }

    /// Bytes queued.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many chunks are queued.
    #[inline]
    pub fn chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Drops everything.
    #[inline]
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_advances_keep_order_and_count() {
        let mut queue = Transmit::default();
        queue.push(Bytes::from_static(b"abc"));
        queue.push(Bytes::new());
        queue.push(Bytes::from_static(b"defg"));
        assert_eq!(queue.len(), 7);
        queue.advance(2);
        queue.advance(2);
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.pop().as_deref(), Some(&b"efg"[..]));
        assert_eq!(queue.len(), 0);
        queue.advance(10);
        assert_eq!(queue.pop(), None);
    }

    #[test]
    fn with_capacity_is_that_room() {
        let mut queue = Transmit::with_capacity(2);
        assert_eq!(queue.chunks.capacity(), 2);
        queue.push(Bytes::from_static(b"head"));
        queue.push(Bytes::from_static(b"body"));
        assert_eq!(queue.chunks.capacity(), 2);
        queue.push(Bytes::from_static(b"more"));
        assert_eq!(queue.len(), 12);
    }
}
