//! The receive path both roles share: blank lines before a head, the head split off the read
//! buffer, and the body read by its framing (`Content-Length`, chunked, until close), with the
//! byte offsets the events carry. The roles differ only in what they make of the heads and
//! body items (events, replies), not in how bytes are read.

use bytes::{Buf, Bytes, BytesMut};

use crate::RequestId;
use crate::chunked::{ChunkItem, ChunkedDecoder, ChunkedLimits};
use crate::error::ProtocolError;
use crate::framing::Framing;
use crate::head::FieldOffsets;
use crate::state::{BodyReader, Recv};

/// One piece of a body.
#[derive(Debug)]
pub(crate) enum BodyItem {
    /// A chunk-size line (chunked bodies).
    Chunk {
        /// The chunk size.
        size: u64,
        /// The chunk extensions as on the wire.
        extensions: Vec<(Bytes, Option<Bytes>)>,
    },
    /// Body bytes, split from the read buffer.
    Data(Bytes),
    /// The body is complete; the trailers of a chunked one.
    End(Vec<(Bytes, Bytes)>),
}

/// The receiving side of a connection: its state (see [`crate::state`]), the offset of the
/// next byte in the connection's byte stream, and the chunked decoder, reused from body to body.
#[derive(Debug)]
pub(crate) struct Receiver<X> {
    state: Recv<X>,
    /// Offset in the connection's byte stream of the next byte `handle_input` will see.
    position: u64,
    decoder: ChunkedDecoder,
    limits: ChunkedLimits,
    /// The offsets of the last head's fields, reused from head to head.
    fields: FieldOffsets,
}

impl<X> Receiver<X> {
    /// Waiting for the first head.
    pub(crate) fn new(limits: ChunkedLimits) -> Self {
        Self {
            state: Recv::idle(),
            position: 0,
            decoder: ChunkedDecoder::new(limits),
            limits,
            fields: FieldOffsets::new(),
        }
    }

    /// The state.
    pub(crate) fn state(&self) -> &Recv<X> {
        &self.state
    }

    /// Offset in the connection's byte stream of the next byte to read.
    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    /// Where the head parser puts the fields' offsets.
    pub(crate) fn fields_mut(&mut self) -> &mut FieldOffsets {
        &mut self.fields
    }

    /// The offsets of the fields of the last head parsed.
    pub(crate) fn fields(&self) -> &FieldOffsets {
        &self.fields
    }

    /// Moves to `next` if the transition table allows it; the state left, if it did.
    pub(crate) fn enter(&mut self, next: Recv<X>) -> Option<Recv<X>> {
        if self.state.allows(&next) {
            Some(std::mem::replace(&mut self.state, next))
        } else {
            None
        }
    }

    /// Before a head: skips the empty lines allowed before a start line (RFC 9112 §2.2) and
    /// notes whether a head has begun. Returns whether there is something to parse.
    pub(crate) fn start_head(&mut self, buf: &mut BytesMut) -> bool {
        while buf.starts_with(b"\r\n") {
            buf.advance(2);
            self.position += 2;
        }
        if let Recv::Head { partial } = &mut self.state {
            *partial = !buf.is_empty();
        }
        !buf.is_empty()
    }

    /// Splits a parsed head of `len` bytes off `buf`: its offset in the stream and its bytes.
    pub(crate) fn take_head(&mut self, buf: &mut BytesMut, len: usize) -> (u64, Bytes) {
        let start = self.position;
        let head = buf.split_to(len.min(buf.len())).freeze();
        self.position += head.len() as u64;
        if let Recv::Head { partial } = &mut self.state {
            *partial = false;
        }
        (start, head)
    }

    /// Everything left in `buf` (the first bytes of a tunnel or of a new protocol).
    pub(crate) fn take_rest(&mut self, buf: &mut BytesMut) -> Bytes {
        let rest = buf.split().freeze();
        self.position += rest.len() as u64;
        rest
    }

    /// Starts reading the body of message `id`, delimited by `framing`.
    pub(crate) fn start_body(&mut self, id: RequestId, framing: Framing, then: X) {
        let reader = match framing {
            Framing::None => BodyReader::Fixed { remaining: 0 },
            Framing::ContentLength(remaining) => BodyReader::Fixed { remaining },
            Framing::Chunked => {
                self.decoder = ChunkedDecoder::new(self.limits);
                BodyReader::Chunked
            }
            Framing::UntilClose => BodyReader::UntilClose,
        };
        self.enter(Recv::Body { id, reader, then });
    }

    /// The next piece of the body being read, from the front of `buf`: `Ok(None)` when more
    /// input is needed (or no body is being read). After [`BodyItem::End`] the state is still
    /// `Body`: the role moves on with [`Self::finish_body`].
    pub(crate) fn read_body(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<(RequestId, BodyItem)>, ProtocolError> {
        let Recv::Body { id, reader, .. } = &mut self.state else {
            return Ok(None);
        };
        let id = *id;
        let item = match reader {
            BodyReader::Fixed { remaining: 0 } => Some(BodyItem::End(Vec::new())),
            BodyReader::Fixed { .. } | BodyReader::UntilClose if buf.is_empty() => None,
            BodyReader::Fixed { remaining } => {
                let take = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                *remaining -= take as u64;
                self.position += take as u64;
                Some(BodyItem::Data(buf.split_to(take).freeze()))
            }
            BodyReader::UntilClose => {
                let data = buf.split().freeze();
                self.position += data.len() as u64;
                Some(BodyItem::Data(data))
            }
            BodyReader::Chunked => {
                let before = buf.len();
                let item = self.decoder.decode(buf);
                self.position += (before - buf.len()) as u64;
                item?.map(|item| match item {
                    ChunkItem::Header { size, extensions } => BodyItem::Chunk { size, extensions },
                    ChunkItem::Data(data) => BodyItem::Data(data),
                    ChunkItem::End { trailers } => BodyItem::End(trailers),
                })
            }
        };
        Ok(item.map(|item| (id, item)))
    }

    /// Leaves the body state for `next`; the role's data about the body, if one was being read
    /// and the table allows the move.
    pub(crate) fn finish_body(&mut self, next: Recv<X>) -> Option<X> {
        if !matches!(self.state, Recv::Body { .. }) {
            return None;
        }
        match self.enter(next) {
            Some(Recv::Body { then, .. }) => Some(then),
            _ => None,
        }
    }
}
