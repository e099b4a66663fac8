//! The incremental decoder of the chunked transfer coding: chunk-size lines, chunk extensions,
//! chunk data and the trailer section (RFC 9112 §7.1, §7.1.1, §7.1.2; RFC 9110 §5.5, §5.6.2,
//! §5.6.4).
//!
//! The decoder is a byte-at-a-time state machine, so any split of the input gives the same
//! items (after merging adjacent [`ChunkItem::Data`]) and the same error. It never panics on any
//! input. It consumes bytes as soon as it has decoded them: chunk data is split off the caller's
//! buffer without copying, while the little it must remember across reads (the extensions of
//! the current chunk-size line, the trailer section read so far) is copied into the decoder and
//! bounded by [`ChunkedLimits`]. Leading zeros of a chunk size take no memory, so sizes of any
//! length parse (RFC 9112 §7.1).
//!
//! Strictness follows llhttp (Node's parser) where it is stricter than RFC 9112: no whitespace
//! after the chunk size or around `;` and `=` in extensions (the RFC's BWS), a line must end in
//! CRLF (no bare LF, no bare CR), chunk data must be followed by exactly CRLF, and trailer fields
//! follow the same rules as header fields (no whitespace before the colon, no obs-fold).

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ProtocolError;

/// How much a chunked body may make the decoder remember.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChunkedLimits {
    /// The most bytes of chunk extensions on one chunk-size line, counted from the first `;` up
    /// to the CR (Node 20: 16 KiB; beyond it [`ProtocolError::ChunkExtensionsTooLarge`], 413).
    pub(crate) max_extensions: usize,
    /// The most bytes of trailer field lines, CRLFs included but not the final empty line (like
    /// Node, which counts trailers against `maxHeaderSize`; beyond it
    /// [`ProtocolError::HeadTooLarge`], 431).
    pub(crate) max_trailers: usize,
}

impl Default for ChunkedLimits {
    fn default() -> Self {
        Self {
            max_extensions: 16 * 1024,
            max_trailers: 16 * 1024,
        }
    }
}

/// One thing the decoder read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChunkItem {
    /// A chunk-size line was read (emitted for every chunk including the last, size 0).
    Header {
        /// The chunk size.
        size: u64,
        /// The chunk extensions in order: names as sent, values as on the wire (quotes kept).
        extensions: Vec<(Bytes, Option<Bytes>)>,
    },
    /// Chunk data, split from the input without copying; a chunk may come in several pieces,
    /// never empty.
    Data(Bytes),
    /// The last chunk and the trailer section were read; the body is complete.
    End {
        /// The trailer fields in order: names as sent, values trimmed of SP/HTAB.
        trailers: Vec<(Bytes, Bytes)>,
    },
}

/// Decodes one chunked message body (RFC 9112 §7.1).
#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    limits: ChunkedLimits,
    state: State,
}

/// Where the decoder is in the body.
#[derive(Debug)]
enum State {
    /// Reading a chunk-size line (`chunk-size [ chunk-ext ] CRLF`).
    Line(SizeLine),
    /// Inside a chunk's data; `remaining` is never 0.
    Data { remaining: u64 },
    /// After a chunk's data, expecting its CR.
    DataCr,
    /// After a chunk's data and CR, expecting LF.
    DataLf,
    /// After the last chunk, reading the trailer section.
    Trailers(TrailerSection),
    /// The body is complete; the bytes after it belong to the next message.
    Done,
    /// The body was rejected; every later call returns this error.
    Failed(ProtocolError),
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub(crate) fn new(limits: ChunkedLimits) -> Self {
        Self {
            limits,
            state: State::Line(SizeLine::default()),
        }
    }

    /// Decodes from the front of `buf`, consuming exactly the bytes it has decoded.
    ///
    /// Returns `Ok(None)` when `buf` is used up and more input is needed (a partial line has
    /// then been consumed into the decoder, within [`ChunkedLimits`]). After
    /// [`ChunkItem::End`] it returns `Ok(None)` and consumes nothing, so the next message's
    /// bytes stay in `buf`. After an error it keeps returning the same error.
    pub(crate) fn decode(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<ChunkItem>, ProtocolError> {
        match self.step(buf) {
            Ok(item) => Ok(item),
            Err(error) => {
                self.state = State::Failed(error);
                Err(error)
            }
        }
    }

    /// True once the last chunk and the trailer section were read. Only the tests ask: the
    /// machines move on at [`ChunkItem::End`].
    #[cfg(test)]
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Runs the machine until it has an item, needs input, or fails.
    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<ChunkItem>, ProtocolError> {
        loop {
            let (next, item) = match &mut self.state {
                State::Failed(error) => return Err(*error),
                State::Done => return Ok(None),
                State::Line(line) => {
                    let Some(size) = line.feed(buf, self.limits.max_extensions)? else {
                        return Ok(None);
                    };
                    let extensions = line.take_extensions();
                    let next = match size {
                        0 => State::Trailers(TrailerSection::default()),
                        remaining => State::Data { remaining },
                    };
                    (next, ChunkItem::Header { size, extensions })
                }
                State::Data { remaining } => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    let n = usize::try_from(*remaining).map_or(buf.len(), |r| r.min(buf.len()));
                    let data = buf.split_to(n).freeze();
                    // `n <= *remaining`, and a usize always fits a u64 on supported targets.
                    *remaining = remaining.saturating_sub(u64::try_from(n).unwrap_or(u64::MAX));
                    if *remaining > 0 {
                        return Ok(Some(ChunkItem::Data(data)));
                    }
                    (State::DataCr, ChunkItem::Data(data))
                }
                State::DataCr => {
                    let Some(&b) = buf.first() else {
                        return Ok(None);
                    };
                    if b != b'\r' {
                        return Err(ProtocolError::InvalidChunkData);
                    }
                    buf.advance(1);
                    self.state = State::DataLf;
                    continue;
                }
                State::DataLf => {
                    let Some(&b) = buf.first() else {
                        return Ok(None);
                    };
                    if b != b'\n' {
                        return Err(ProtocolError::InvalidChunkData);
                    }
                    buf.advance(1);
                    self.state = State::Line(SizeLine::default());
                    continue;
                }
                State::Trailers(section) => {
                    let Some(trailers) = section.feed(buf, self.limits.max_trailers)? else {
                        return Ok(None);
                    };
                    (State::Done, ChunkItem::End { trailers })
                }
            };
            self.state = next;
            return Ok(Some(item));
        }
    }
}

/// A chunk-size line read so far (RFC 9112 §7.1, §7.1.1).
#[derive(Debug, Default)]
struct SizeLine {
    /// The chunk size accumulated from the hex digits read so far.
    size: u64,
    phase: LinePhase,
    /// The extension bytes read so far, from the first `;`.
    /// INVARIANT: `ext.len() <= max_extensions`.
    ext: BytesMut,
    /// The extensions completed so far, as offsets into `ext`.
    spans: Vec<ExtSpan>,
    /// The extension being read, as offsets into `ext`.
    current: ExtSpan,
}

/// Where one extension lies in [`SizeLine::ext`].
#[derive(Debug, Default, Clone, Copy)]
struct ExtSpan {
    name: (usize, usize),
    value: Option<(usize, usize)>,
}

/// The position inside a chunk-size line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum LinePhase {
    /// Before the first hex digit.
    #[default]
    SizeStart,
    /// After at least one hex digit.
    Size,
    /// After `;`, before the extension name.
    NameStart,
    /// Inside an extension name.
    Name,
    /// After `=`, before the value.
    ValueStart,
    /// Inside a token value.
    Token,
    /// Inside a quoted-string value.
    Quoted,
    /// After a backslash inside a quoted-string.
    QuotedPair,
    /// After the closing quote.
    QuotedEnd,
    /// After the CR that ends the line.
    Lf,
}

impl SizeLine {
    /// Reads bytes of the line from `buf`, consuming them; the chunk size once the line is
    /// complete, `None` if `buf` ran out first.
    fn feed(
        &mut self,
        buf: &mut BytesMut,
        max_extensions: usize,
    ) -> Result<Option<u64>, ProtocolError> {
        for (i, &b) in buf.iter().enumerate() {
            if self.byte(b, max_extensions)? {
                buf.advance(i + 1);
                return Ok(Some(self.size));
            }
        }
        buf.clear();
        Ok(None)
    }

    /// Takes one byte; true when it was the LF that ends the line.
    fn byte(&mut self, b: u8, max_extensions: usize) -> Result<bool, ProtocolError> {
        use LinePhase as P;
        if matches!(
            self.phase,
            P::NameStart
                | P::Name
                | P::ValueStart
                | P::Token
                | P::Quoted
                | P::QuotedPair
                | P::QuotedEnd
        ) && b != b'\r'
        {
            self.push_ext(b, max_extensions)?;
        }
        let at = self.ext.len().saturating_sub(1);
        self.phase = match (self.phase, b) {
            (P::SizeStart | P::Size, _) if hex_value(b).is_some() => {
                let digit = hex_value(b).map_or(0, u64::from);
                self.size = self
                    .size
                    .checked_mul(16)
                    .and_then(|s| s.checked_add(digit))
                    .ok_or(ProtocolError::InvalidChunkSize)?;
                P::Size
            }
            (P::Size, b';') => {
                self.push_ext(b, max_extensions)?;
                P::NameStart
            }
            (P::Size, b'\r') => P::Lf,
            (P::Size, b'\n') => return Err(ProtocolError::BareLineFeed),
            (P::SizeStart | P::Size, _) => return Err(ProtocolError::InvalidChunkSize),
            (P::NameStart, _) if is_tchar(b) => {
                self.current = ExtSpan {
                    name: (at, at + 1),
                    value: None,
                };
                P::Name
            }
            (P::Name, _) if is_tchar(b) => {
                self.current.name.1 = at + 1;
                P::Name
            }
            (P::Name, b'=') => P::ValueStart,
            (P::ValueStart, b'"') => {
                self.current.value = Some((at, at + 1));
                P::Quoted
            }
            (P::ValueStart, _) if is_tchar(b) => {
                self.current.value = Some((at, at + 1));
                P::Token
            }
            (P::Token, _) if is_tchar(b) => {
                self.extend_value(at);
                P::Token
            }
            (P::Quoted, b'"') => {
                self.extend_value(at);
                P::QuotedEnd
            }
            (P::Quoted, b'\\') => {
                self.extend_value(at);
                P::QuotedPair
            }
            (P::Quoted, _) if is_qdtext(b) => {
                self.extend_value(at);
                P::Quoted
            }
            (P::QuotedPair, _) if is_quoted_pair_char(b) => {
                self.extend_value(at);
                P::Quoted
            }
            (P::Name | P::Token | P::QuotedEnd, b';') => {
                self.spans.push(self.current);
                P::NameStart
            }
            (P::Name | P::Token | P::QuotedEnd, b'\r') => {
                self.spans.push(self.current);
                P::Lf
            }
            (P::Name | P::Token | P::QuotedEnd, b'\n') => return Err(ProtocolError::BareLineFeed),
            (
                P::NameStart
                | P::Name
                | P::ValueStart
                | P::Token
                | P::Quoted
                | P::QuotedPair
                | P::QuotedEnd,
                _,
            ) => return Err(ProtocolError::InvalidChunkExtension),
            (P::Lf, b'\n') => return Ok(true),
            (P::Lf, _) => return Err(ProtocolError::BareLineFeed),
        };
        Ok(false)
    }

    /// Keeps one extension byte, within the limit.
    fn push_ext(&mut self, b: u8, max_extensions: usize) -> Result<(), ProtocolError> {
        if self.ext.len() >= max_extensions {
            return Err(ProtocolError::ChunkExtensionsTooLarge);
        }
        self.ext.extend_from_slice(&[b]);
        Ok(())
    }

    /// Makes the current value end after the byte at `at`.
    fn extend_value(&mut self, at: usize) {
        if let Some(value) = &mut self.current.value {
            value.1 = at + 1;
        }
    }

    /// The extensions of the completed line, sliced from one buffer.
    fn take_extensions(&mut self) -> Vec<(Bytes, Option<Bytes>)> {
        if self.spans.is_empty() {
            return Vec::new();
        }
        let ext = std::mem::take(&mut self.ext).freeze();
        self.spans
            .iter()
            .map(|span| {
                let name = ext.slice(span.name.0..span.name.1);
                let value = span.value.map(|(start, end)| ext.slice(start..end));
                (name, value)
            })
            .collect()
    }
}

/// The trailer section read so far (RFC 9112 §7.1.2, field lines as in §5).
#[derive(Debug, Default)]
struct TrailerSection {
    phase: TrailerPhase,
    /// The field-line bytes read so far, CRLFs included.
    /// INVARIANT: `raw.len() <= max_trailers`.
    raw: BytesMut,
    /// The completed fields: (name start, name end, value start, value end) in `raw`.
    fields: Vec<[usize; 4]>,
    /// The field being read, same layout.
    current: [usize; 4],
}

/// The position inside the trailer section.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum TrailerPhase {
    /// At the start of a line: a field name or the CR of the final empty line.
    #[default]
    LineStart,
    /// Inside a field name.
    Name,
    /// After the colon, inside the field value.
    Value,
    /// After the CR that ends a field line.
    LineLf,
    /// After the CR of the final empty line.
    EndLf,
}

impl TrailerSection {
    /// Reads trailer bytes from `buf`, consuming them; the trailers once the section is
    /// complete, `None` if `buf` ran out first.
    fn feed(
        &mut self,
        buf: &mut BytesMut,
        max_trailers: usize,
    ) -> Result<Option<Vec<(Bytes, Bytes)>>, ProtocolError> {
        for (i, &b) in buf.iter().enumerate() {
            if self.byte(b, max_trailers)? {
                buf.advance(i + 1);
                return Ok(Some(self.take_fields()));
            }
        }
        buf.clear();
        Ok(None)
    }

    /// Takes one byte; true when it was the LF of the final empty line.
    fn byte(&mut self, b: u8, max_trailers: usize) -> Result<bool, ProtocolError> {
        use TrailerPhase as P;
        let ends_section = matches!((self.phase, b), (P::LineStart, b'\r') | (P::EndLf, _));
        if !ends_section {
            if self.raw.len() >= max_trailers {
                return Err(ProtocolError::HeadTooLarge);
            }
            self.raw.extend_from_slice(&[b]);
        }
        let at = self.raw.len().saturating_sub(1);
        self.phase = match (self.phase, b) {
            (P::LineStart, b'\r') => P::EndLf,
            (P::LineStart, b'\n') => return Err(ProtocolError::BareLineFeed),
            (P::LineStart, _) if is_tchar(b) => {
                self.current = [at, at + 1, at + 1, at + 1];
                P::Name
            }
            // Whitespace here is obs-fold (RFC 9112 §5.2), rejected like Node.
            (P::LineStart, _) => return Err(ProtocolError::InvalidTrailers),
            (P::Name, _) if is_tchar(b) => {
                self.current[1] = at + 1;
                P::Name
            }
            (P::Name, b':') => {
                self.current[2] = at + 1;
                self.current[3] = at + 1;
                P::Value
            }
            (P::Name, b'\n') => return Err(ProtocolError::BareLineFeed),
            (P::Name, _) => return Err(ProtocolError::InvalidTrailers),
            (P::Value, b'\r') => {
                self.current[3] = at;
                P::LineLf
            }
            (P::Value, b'\n') => return Err(ProtocolError::BareLineFeed),
            (P::Value, _) if is_field_value_byte(b) => P::Value,
            (P::Value, _) => return Err(ProtocolError::InvalidTrailers),
            (P::LineLf, b'\n') => {
                self.fields.push(self.current);
                P::LineStart
            }
            (P::LineLf | P::EndLf, _) if b != b'\n' => return Err(ProtocolError::BareLineFeed),
            (P::LineLf | P::EndLf, _) => return Ok(true),
        };
        Ok(false)
    }

    /// The trailers of the completed section, sliced from one buffer, values trimmed.
    fn take_fields(&mut self) -> Vec<(Bytes, Bytes)> {
        if self.fields.is_empty() {
            return Vec::new();
        }
        let raw = std::mem::take(&mut self.raw).freeze();
        self.fields
            .iter()
            .map(|&[name_start, name_end, mut start, mut end]| {
                while start < end && matches!(raw.get(start), Some(b' ' | b'\t')) {
                    start += 1;
                }
                while end > start && matches!(raw.get(end - 1), Some(b' ' | b'\t')) {
                    end -= 1;
                }
                (raw.slice(name_start..name_end), raw.slice(start..end))
            })
            .collect()
    }
}

/// `tchar` (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `qdtext` (RFC 9110 §5.6.4): HTAB, SP, visible ASCII except `"` and `\`, obs-text.
fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5B | 0x5D..=0x7E | 0x80..=0xFF)
}

/// The byte after a backslash in a `quoted-pair` (RFC 9110 §5.6.4).
fn is_quoted_pair_char(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7E | 0x80..=0xFF)
}

/// A byte allowed in a field value (RFC 9110 §5.5): visible ASCII, obs-text, SP, HTAB.
fn is_field_value_byte(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7E | 0x80..=0xFF)
}

/// The value of a hex digit.
fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use sansnet_testkit::splits::{at_cuts, byte_at_a_time, cut_offsets, two_way};

    use super::*;

    type Exts = Vec<(&'static str, Option<&'static str>)>;

    /// One chunk to encode: its data and its extensions.
    type Chunk = (Vec<u8>, Vec<(String, Option<String>)>);

    /// What a whole run of the decoder gave: items (adjacent `Data` merged), the error if any,
    /// and the bytes left in the buffer.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Run {
        items: Vec<ChunkItem>,
        error: Option<ProtocolError>,
        rest: Vec<u8>,
    }

    fn small() -> ChunkedLimits {
        ChunkedLimits {
            max_extensions: 64,
            max_trailers: 64,
        }
    }

    /// Feeds `pieces` one read at a time, draining the decoder after each.
    fn run_pieces(pieces: &[&[u8]], limits: ChunkedLimits) -> Run {
        let mut decoder = ChunkedDecoder::new(limits);
        let mut buf = BytesMut::new();
        let mut items: Vec<ChunkItem> = Vec::new();
        let mut error = None;
        'feed: for piece in pieces {
            buf.extend_from_slice(piece);
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(ChunkItem::Data(data))) => {
                        assert!(!data.is_empty(), "empty Data item");
                        if let Some(ChunkItem::Data(last)) = items.last_mut() {
                            let mut merged = BytesMut::from(&last[..]);
                            merged.extend_from_slice(&data);
                            *last = merged.freeze();
                        } else {
                            items.push(ChunkItem::Data(data));
                        }
                    }
                    Ok(Some(item)) => items.push(item),
                    Ok(None) => break,
                    Err(e) => {
                        // Sticky: the same error again, and nothing consumed.
                        let len = buf.len();
                        assert_eq!(decoder.decode(&mut buf), Err(e));
                        assert_eq!(buf.len(), len);
                        error = Some(e);
                        break 'feed;
                    }
                }
            }
        }
        if error.is_none() && decoder.is_done() {
            // After End: nothing more, nothing consumed.
            let len = buf.len();
            assert_eq!(decoder.decode(&mut buf), Ok(None));
            assert_eq!(buf.len(), len);
        }
        // After an error the unconsumed bytes depend on the split; they are not compared.
        let rest = if error.is_some() {
            Vec::new()
        } else {
            buf.to_vec()
        };
        Run { items, error, rest }
    }

    /// Runs `input` whole, byte at a time and at every two-way split; all must agree.
    fn run_with(input: &[u8], limits: ChunkedLimits) -> Run {
        let whole = run_pieces(&[input], limits);
        assert_eq!(
            run_pieces(&byte_at_a_time(input), limits),
            whole,
            "byte at a time"
        );
        for split in two_way(input) {
            assert_eq!(run_pieces(&split, limits), whole, "split {split:?}");
        }
        whole
    }

    fn run(input: &[u8]) -> Run {
        run_with(input, ChunkedLimits::default())
    }

    fn header(size: u64, exts: Exts) -> ChunkItem {
        ChunkItem::Header {
            size,
            extensions: exts
                .into_iter()
                .map(|(n, v)| (Bytes::from(n), v.map(Bytes::from)))
                .collect(),
        }
    }

    fn data(d: &'static str) -> ChunkItem {
        ChunkItem::Data(Bytes::from(d))
    }

    fn end(trailers: &[(&'static str, &'static str)]) -> ChunkItem {
        ChunkItem::End {
            trailers: trailers
                .iter()
                .map(|&(n, v)| (Bytes::from(n), Bytes::from(v)))
                .collect(),
        }
    }

    fn ok(items: Vec<ChunkItem>, rest: &[u8]) -> Run {
        Run {
            items,
            error: None,
            rest: rest.to_vec(),
        }
    }

    fn err(items: Vec<ChunkItem>, error: ProtocolError) -> Run {
        Run {
            items,
            error: Some(error),
            rest: Vec::new(),
        }
    }

    /// Asserts the input is rejected with `error`, whatever came before it.
    fn assert_error(input: &[u8], error: ProtocolError) {
        assert_eq!(
            run(input).error,
            Some(error),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }

    /// RFC 9112 §7.1: lowercase hex size (llhttp `parse-chunks-with-lowercase-size`).
    #[test]
    fn lowercase_hex_size_parses() {
        let r = run(b"a\r\n0123456789\r\n0\r\n\r\n");
        let want = vec![
            header(10, vec![]),
            data("0123456789"),
            header(0, vec![]),
            end(&[]),
        ];
        assert_eq!(r, ok(want, b""));
    }

    /// RFC 9112 §7.1: uppercase hex size (llhttp `parse-chunks-with-uppercase-size`).
    #[test]
    fn uppercase_hex_size_parses() {
        let r = run(b"A\r\n0123456789\r\n0\r\n\r\n");
        let want = vec![
            header(10, vec![]),
            data("0123456789"),
            header(0, vec![]),
            end(&[]),
        ];
        assert_eq!(r, ok(want, b""));
    }

    /// RFC 9112 §7.1, docs/node-semantics.md#http-chunk-size: a size of any length with leading
    /// zeros (llhttp `two-chunks-and-triple-zero-prefixed-end-chunk`).
    #[test]
    fn leading_zeros_in_size_are_accepted() {
        let r = run(b"5\r\nhello\r\n006\r\n world\r\n000\r\n\r\n");
        let want = vec![
            header(5, vec![]),
            data("hello"),
            header(6, vec![]),
            data(" world"),
            header(0, vec![]),
            end(&[]),
        ];
        assert_eq!(r, ok(want, b""));
        let mut long = vec![b'0'; 100_000];
        long.extend_from_slice(b"1\r\nx\r\n0\r\n\r\n");
        let r = run_pieces(&[&long], ChunkedLimits::default());
        assert_eq!(r.items[..2], [header(1, vec![]), data("x")]);
        assert_eq!(r.error, None);
    }

    /// RFC 9112 §7.1: the largest size fits, one more hex digit overflows.
    #[test]
    fn size_overflow_is_rejected() {
        let r = run(b"ffffffffffffffff\r\nab");
        assert_eq!(r.items, vec![header(u64::MAX, vec![]), data("ab")]);
        assert_eq!(r.error, None);
        assert_error(b"10000000000000000\r\n", ProtocolError::InvalidChunkSize);
        assert_error(
            b"0000fffffffffffffffff\r\n",
            ProtocolError::InvalidChunkSize,
        );
    }

    /// RFC 9112 §7.1: `chunk-size = 1*HEXDIG`; no sign, prefix, or empty size
    /// (llhttp `missing-last-chunk`).
    #[test]
    fn size_that_is_not_hex_is_rejected() {
        for input in [
            &b"+5\r\n"[..],
            b"-5\r\n",
            b"0x5\r\n",
            b"g\r\n",
            b" 5\r\n",
            b"\r\n",
            b";a\r\n",
        ] {
            assert_error(input, ProtocolError::InvalidChunkSize);
        }
        let r = run(b"3\r\nfoo\r\n\r\n");
        assert_eq!(
            r,
            err(
                vec![header(3, vec![]), data("foo")],
                ProtocolError::InvalidChunkSize
            )
        );
    }

    /// llhttp `space-after-chunk-header`, `trailing-space-on-chunked-body`,
    /// `no-semicolon-before-chunk-extensions`, `validate-chunk-parameters`: no whitespace after
    /// the size (Node is stricter than RFC 9112's BWS).
    #[test]
    fn whitespace_after_size_is_rejected() {
        for input in [
            &b"a \r\n0123456789\r\n0\r\n\r\n"[..],
            b"25  \r\n",
            b"2 erfrferferf\r\naa\r\n0 rrrr\r\n\r\n",
            b"3 \n  \r\nfoo\r\n\r\n",
            b"5\t\r\n",
            b"5 ;a\r\n",
        ] {
            let r = run(input);
            assert_eq!(r, err(vec![], ProtocolError::InvalidChunkSize));
        }
    }

    /// RFC 9112 §2.2, §7.1: the size line ends in CRLF; a bare LF or bare CR is rejected
    /// (llhttp `chunk-header-not-terminated-by-crlf`).
    #[test]
    fn size_line_without_crlf_is_rejected() {
        assert_error(b"5\nhello\r\n", ProtocolError::BareLineFeed);
        assert_error(
            b"5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\n",
            ProtocolError::BareLineFeed,
        );
        assert_error(b"5;a\nhello\r\n", ProtocolError::BareLineFeed);
        assert_error(b"5;a=b\nhello\r\n", ProtocolError::BareLineFeed);
        assert_error(b"5;a=\"b\"\nhello\r\n", ProtocolError::BareLineFeed);
        assert_error(b"5;a\rhello\r\n", ProtocolError::BareLineFeed);
        assert_error(b"0\r\n\r\r", ProtocolError::BareLineFeed);
    }

    /// RFC 9112 §7.1.1: names and token values, several per line (llhttp `chunk-extensions`).
    #[test]
    fn extensions_are_reported() {
        let input = b"5;ilovew3;somuchlove=aretheseparametersfor;another=withvalue\r\nhello\r\n\
            6;blahblah;blah\r\n world\r\n0\r\n";
        let want = vec![
            header(
                5,
                vec![
                    ("ilovew3", None),
                    ("somuchlove", Some("aretheseparametersfor")),
                    ("another", Some("withvalue")),
                ],
            ),
            data("hello"),
            header(6, vec![("blahblah", None), ("blah", None)]),
            data(" world"),
            header(0, vec![]),
        ];
        assert_eq!(run(input), ok(want, b""));
    }

    /// RFC 9112 §7.1.1, RFC 9110 §5.6.4: quoted values with quoted-pairs, kept as on the wire
    /// (llhttp `chunk-extensions-quoting`, request and response).
    #[test]
    fn quoted_extension_values_are_kept_with_quotes() {
        let input = b"5;ilovew3=\"I \\\"love\\\"; \\\\extensions\\\\\";somuchlove=\"aretheseparametersfor\";\
            blah;foo=bar\r\nhello\r\n0;q=\"I love; extensions\"\r\n";
        let want = vec![
            header(
                5,
                vec![
                    ("ilovew3", Some("\"I \\\"love\\\"; \\\\extensions\\\\\"")),
                    ("somuchlove", Some("\"aretheseparametersfor\"")),
                    ("blah", None),
                    ("foo", Some("bar")),
                ],
            ),
            data("hello"),
            header(0, vec![("q", Some("\"I love; extensions\""))]),
        ];
        assert_eq!(run(input), ok(want, b""));
        let r = run(b"1;a=\"\"\r\nx\r\n");
        assert_eq!(r.items[0], header(1, vec![("a", Some("\"\""))]));
        let r = run(b"1;a=\"\x80\xff\t \"\r\nx\r\n");
        assert_eq!(r.error, None);
    }

    /// llhttp `unbalanced-chunk-extensions-quoting`: a quoted value left open at the CR.
    #[test]
    fn unbalanced_quote_is_rejected() {
        let input = b"5;ilovew3=\"abc\";somuchlove=\"def; ghi\r\nhello\r\n0\r\n";
        assert_eq!(
            run(input),
            err(vec![], ProtocolError::InvalidChunkExtension)
        );
    }

    /// llhttp `no-extension-after-semicolon`, RFC 9112 §7.1.1: `;` needs a token name; BWS
    /// around `;` and `=` is rejected like Node; a value is a token or a quoted-string.
    #[test]
    fn malformed_extensions_are_rejected() {
        for input in [
            &b"2;\r\naa\r\n0\r\n\r\n"[..],
            b"2; a\r\n",
            b"2;a \r\n",
            b"2;a =b\r\n",
            b"2;a= b\r\n",
            b"2;a=b \r\n",
            b"2;a=\r\n",
            b"2;=b\r\n",
            b"2;a;\r\n",
            b"2;;a\r\n",
            b"2;a=b=c\r\n",
            b"2;a=\"b\"c\r\n",
            b"2;a=b\"c\"\r\n",
            b"2;a(b)\r\n",
            b"2;a=\"\x7f\"\r\n",
            b"2;a=\"\x00\"\r\n",
            b"2;a=\"\\\x01\"\r\n",
            b"2;a=\"b\r\n\"\r\n",
            b"2;a=\"\\\r\n",
        ] {
            assert_eq!(
                run(input),
                err(vec![], ProtocolError::InvalidChunkExtension),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    /// Node source `lib/_http_server.js` › `socketOnError`; RFC 9112 §7.1: extensions are limited
    /// per line (Node: 16 KiB, 413); the limit counts from the first `;` to the CR.
    #[test]
    fn extensions_over_the_limit_are_rejected() {
        let limits = small();
        let mut at_limit = b"1;".to_vec();
        at_limit.extend(std::iter::repeat_n(b'a', 63));
        at_limit.extend_from_slice(b"\r\nx\r\n");
        assert_eq!(run_with(&at_limit, limits).error, None);
        let mut over = b"1;".to_vec();
        over.extend(std::iter::repeat_n(b'a', 64));
        over.extend_from_slice(b"\r\nx\r\n");
        assert_eq!(
            run_with(&over, limits),
            err(vec![], ProtocolError::ChunkExtensionsTooLarge)
        );
        // The limit is per line, not per body.
        let mut two = at_limit.clone();
        two.extend_from_slice(&at_limit);
        assert_eq!(run_with(&two, limits).error, None);
    }

    /// RFC 9112 §7.1: an endless extension stays bounded and fails at the limit.
    #[test]
    fn endless_extension_stays_bounded() {
        let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
        let mut buf = BytesMut::from(&b"1;a="[..]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        let mut result = Ok(None);
        for _ in 0..10_000 {
            buf.extend_from_slice(&[b'b'; 100]);
            result = decoder.decode(&mut buf);
            if let State::Line(line) = &decoder.state {
                assert!(line.ext.len() <= 16 * 1024);
            }
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(ProtocolError::ChunkExtensionsTooLarge));
    }

    /// RFC 9112 §7.1.2: trailer fields after the last chunk, values trimmed (llhttp
    /// `trailing-headers`).
    #[test]
    fn trailers_are_reported() {
        let input =
            b"5\r\nhello\r\n6\r\n world\r\n0\r\nVary: *\r\nContent-Type:\t text/plain \t\r\n\r\n";
        let want = vec![
            header(5, vec![]),
            data("hello"),
            header(6, vec![]),
            data(" world"),
            header(0, vec![]),
            end(&[("Vary", "*"), ("Content-Type", "text/plain")]),
        ];
        assert_eq!(run(input), ok(want, b""));
        let r = run(b"0\r\nX-Empty:\r\nX-Sp:   \r\nX-Mid: a  b\r\n\r\n");
        assert_eq!(
            r.items[1],
            end(&[("X-Empty", ""), ("X-Sp", ""), ("X-Mid", "a  b")])
        );
        let r = run(b"0\r\nX: \x80\xff!~\r\n\r\n");
        assert_eq!(r.error, None);
    }

    /// RFC 9112 §5.1, §5.2, §2.2, docs/node-semantics.md#http-field-whitespace: a trailer line that
    /// is not a valid field line (whitespace before the colon, obs-fold, no colon, bad name, CTL in
    /// value).
    #[test]
    fn malformed_trailers_are_rejected() {
        for input in [
            &b"0\r\nFoo : bar\r\n\r\n"[..],
            b"0\r\nFoo: bar\r\n  folded\r\n\r\n",
            b"0\r\n\tFoo: bar\r\n\r\n",
            b"0\r\nFoo\r\n\r\n",
            b"0\r\n: bar\r\n\r\n",
            b"0\r\nF(o): bar\r\n\r\n",
            b"0\r\nFoo: b\x00r\r\n\r\n",
            b"0\r\nFoo: b\x7fr\r\n\r\n",
            b"0\r\nFoo: b\x01r\r\n\r\n",
        ] {
            assert_eq!(
                run(input),
                err(vec![header(0, vec![])], ProtocolError::InvalidTrailers),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    /// RFC 9112 §2.2: bare LF and bare CR in the trailer section are rejected.
    #[test]
    fn trailer_line_without_crlf_is_rejected() {
        for input in [
            &b"0\r\n\n"[..],
            b"0\r\nFoo: bar\n\r\n",
            b"0\r\nFoo\n",
            b"0\r\nFoo: bar\rX\r\n\r\n",
            b"0\r\nFoo: bar\r\n\rX",
            b"0\r\n\rX",
        ] {
            assert_eq!(
                run(input),
                err(vec![header(0, vec![])], ProtocolError::BareLineFeed),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    /// Node docs `http.md` › `http.maxHeaderSize`: trailers count against the head limit (431).
    #[test]
    fn trailers_over_the_limit_are_rejected() {
        let limits = small();
        // 64 bytes of field lines exactly: "X: " + 59 bytes + CRLF.
        let mut at_limit = b"0\r\nX: ".to_vec();
        at_limit.extend(std::iter::repeat_n(b'v', 59));
        at_limit.extend_from_slice(b"\r\n\r\n");
        assert_eq!(run_with(&at_limit, limits).error, None);
        let mut over = b"0\r\nX: ".to_vec();
        over.extend(std::iter::repeat_n(b'v', 60));
        over.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            run_with(&over, limits),
            err(vec![header(0, vec![])], ProtocolError::HeadTooLarge)
        );
    }

    /// Node docs `http.md` › `http.maxHeaderSize`: an endless trailer section stays bounded and
    /// fails at the limit.
    #[test]
    fn endless_trailers_stay_bounded() {
        let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
        let mut buf = BytesMut::from(&b"0\r\n"[..]);
        assert_eq!(decoder.decode(&mut buf), Ok(Some(header(0, vec![]))));
        let mut result = Ok(None);
        for _ in 0..10_000 {
            buf.extend_from_slice(b"X-A: b\r\n");
            result = decoder.decode(&mut buf);
            if let State::Trailers(section) = &decoder.state {
                assert!(section.raw.len() <= 16 * 1024);
            }
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(ProtocolError::HeadTooLarge));
    }

    /// RFC 9112 §7.1: chunk data is followed by exactly CRLF (llhttp
    /// `chunk-data-not-terminated-by-crlf`).
    #[test]
    fn data_without_crlf_is_rejected() {
        let r = run(b"5\r\nABCDE0\r\n");
        assert_eq!(
            r,
            err(
                vec![header(5, vec![]), data("ABCDE")],
                ProtocolError::InvalidChunkData
            )
        );
        for input in [
            &b"5\r\nABCDE\n0\r\n"[..],
            b"5\r\nABCDE\rX",
            b"5\r\nABCDE\r\r\n",
        ] {
            assert_eq!(
                run(input),
                err(
                    vec![header(5, vec![]), data("ABCDE")],
                    ProtocolError::InvalidChunkData
                )
            );
        }
    }

    /// RFC 9112 §7.1: the body ends after the trailer section; the next message's bytes stay
    /// in the buffer and later calls consume nothing.
    #[test]
    fn bytes_after_the_end_are_left_alone() {
        let r = run(b"1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n");
        let want = vec![header(1, vec![]), data("x"), header(0, vec![]), end(&[])];
        assert_eq!(r, ok(want, b"GET / HTTP/1.1\r\n\r\n"));
    }

    /// Incremental: input that stops inside the body needs more input and consumes what it
    /// decoded (llhttp `parsing-and-setting-flag`).
    #[test]
    fn partial_body_needs_more_input() {
        let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
        let mut buf = BytesMut::new();
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"5;a=b");
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert!(buf.is_empty());
        buf.extend_from_slice(b"\r\nhel");
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(header(5, vec![("a", Some("b"))])))
        );
        assert_eq!(decoder.decode(&mut buf), Ok(Some(data("hel"))));
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert!(!decoder.is_done());
        buf.extend_from_slice(b"lo\r\n0\r\n\r\n");
        assert_eq!(decoder.decode(&mut buf), Ok(Some(data("lo"))));
        assert_eq!(decoder.decode(&mut buf), Ok(Some(header(0, vec![]))));
        assert_eq!(decoder.decode(&mut buf), Ok(Some(end(&[]))));
        assert!(decoder.is_done());
        assert!(buf.is_empty());
    }

    /// Data is split off the caller's buffer without copying, never beyond the chunk.
    #[test]
    fn data_is_not_copied() {
        let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
        let mut buf = BytesMut::from(&b"3\r\nabcdef"[..]);
        assert_eq!(decoder.decode(&mut buf), Ok(Some(header(3, vec![]))));
        let start = buf.as_ptr();
        let Ok(Some(ChunkItem::Data(d))) = decoder.decode(&mut buf) else {
            panic!("expected data");
        };
        assert_eq!(d.as_ptr(), start);
        assert_eq!(&d[..], b"abc");
        assert_eq!(
            decoder.decode(&mut buf),
            Err(ProtocolError::InvalidChunkData)
        );
    }

    /// A huge announced size only streams what arrives; nothing is buffered for it.
    #[test]
    fn huge_size_streams_without_buffering() {
        let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
        let mut buf = BytesMut::from(&b"fffffffffffffff\r\n"[..]);
        assert!(matches!(
            decoder.decode(&mut buf),
            Ok(Some(ChunkItem::Header { .. }))
        ));
        for _ in 0..100 {
            buf.extend_from_slice(&[0u8; 1000]);
            assert!(
                matches!(decoder.decode(&mut buf), Ok(Some(ChunkItem::Data(d))) if d.len() == 1000)
            );
            assert!(buf.is_empty());
        }
        assert!(!decoder.is_done());
    }

    /// Encodes a chunked body: `chunks` with their extensions, sizes in the given hex case
    /// with `zeros` leading zeros, the last chunk, then `trailers`.
    fn encode(
        chunks: &[Chunk],
        upper: bool,
        zeros: usize,
        trailers: &[(String, String)],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        for (data, exts) in chunks {
            out.extend(std::iter::repeat_n(b'0', zeros));
            let size = if upper {
                format!("{:X}", data.len())
            } else {
                format!("{:x}", data.len())
            };
            out.extend_from_slice(size.as_bytes());
            for (name, value) in exts {
                out.push(b';');
                out.extend_from_slice(name.as_bytes());
                if let Some(value) = value {
                    out.push(b'=');
                    out.extend_from_slice(value.as_bytes());
                }
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n");
        for (name, value) in trailers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    fn ext_strategy() -> impl Strategy<Value = (String, Option<String>)> {
        (
            "[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,8}",
            prop::option::of(prop_oneof![
                "[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,8}",
                "\"([ !#-\\[\\]-~]|\\\\[ -~]){0,8}\"",
            ]),
        )
    }

    proptest! {
        /// Round trip (STYLE §3.6): random chunks, extensions and trailers, cut anywhere, decode
        /// to the same sizes, extensions, data and trailers, leaving what follows.
        #[test]
        fn round_trip_under_random_splits(
            chunks in prop::collection::vec(
                (prop::collection::vec(any::<u8>(), 1..40), prop::collection::vec(ext_strategy(), 0..3)),
                0..6,
            ),
            upper in any::<bool>(),
            zeros in 0usize..3,
            trailers in prop::collection::vec(
                ("[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,8}", "([!-~\u{80}-\u{ff}]([ !-~]{0,6}[!-~])?)?"),
                0..3,
            ),
            cuts in cut_offsets(400, 8),
        ) {
            let mut input = encode(&chunks, upper, zeros, &trailers);
            input.extend_from_slice(b"NEXT");
            let r = run_pieces(&at_cuts(&input, &cuts), ChunkedLimits::default());
            prop_assert_eq!(r.error, None);
            prop_assert_eq!(r.rest, b"NEXT".to_vec());
            let mut want = Vec::new();
            for (d, exts) in &chunks {
                want.push(ChunkItem::Header {
                    size: d.len() as u64,
                    extensions: exts
                        .iter()
                        .map(|(n, v)| (Bytes::from(n.clone()), v.clone().map(Bytes::from)))
                        .collect(),
                });
                want.push(ChunkItem::Data(Bytes::from(d.clone())));
            }
            want.push(ChunkItem::Header { size: 0, extensions: vec![] });
            want.push(ChunkItem::End {
                trailers: trailers
                    .iter()
                    .map(|(n, v)| (Bytes::from(n.clone()), Bytes::from(v.clone())))
                    .collect(),
            });
            prop_assert_eq!(r.items, want);
        }

        /// No panic and chunking invariance on arbitrary bytes: any cut set gives the same run
        /// as the whole input.
        #[test]
        fn arbitrary_input_is_split_invariant(
            input in prop::collection::vec(
                prop_oneof![
                    Just(b'0'), Just(b'5'), Just(b'a'), Just(b';'), Just(b'='), Just(b'"'),
                    Just(b'\\'), Just(b'\r'), Just(b'\n'), Just(b' '), Just(b':'), Just(b'x'),
                    any::<u8>(),
                ],
                0..120,
            ),
            cuts in cut_offsets(120, 10),
        ) {
            let limits = ChunkedLimits { max_extensions: 16, max_trailers: 24 };
            let whole = run_pieces(&[&input], limits);
            prop_assert_eq!(run_pieces(&at_cuts(&input, &cuts), limits), whole);
        }
    }
}
