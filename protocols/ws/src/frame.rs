//! The base framing header of RFC 6455 §5.2 (opcodes, lengths, masks; §5.5 control-frame rules).
//!
//! [`FrameHeader::parse`] reads a header from the front of a buffer without consuming it and
//! never panics: it answers "need more bytes", a complete header with its length, or the
//! [`ProtocolError`] the header commits. Errors are reported as soon as the bytes that prove
//! them are present, so the verdict does not depend on how the input was split.
//! [`FrameHeader::encode`] writes the minimal length form.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::mask::apply_mask;

/// A frame's opcode (RFC 6455 §5.2, §11.8); the reserved values 0x3-0x7 and 0xB-0xF have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpCode {
    /// 0x0: a continuation of a fragmented message (§5.4).
    Continuation,
    /// 0x1: a text frame (§5.6).
    Text,
    /// 0x2: a binary frame (§5.6).
    Binary,
    /// 0x8: a Close (§5.5.1).
    Close,
    /// 0x9: a Ping (§5.5.2).
    Ping,
    /// 0xA: a Pong (§5.5.3).
    Pong,
}

impl OpCode {
    /// Whether this is a control opcode (most significant bit set, RFC 6455 §5.5).
    pub(crate) fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }

    /// The opcode for a 4-bit value, or `None` for a reserved one (RFC 6455 §5.2).
    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value (RFC 6455 §5.2).
    pub(crate) fn as_u8(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }
}

/// The largest payload a control frame may carry (RFC 6455 §5.5).
const MAX_CONTROL_PAYLOAD: u64 = 125;

/// A decoded frame header (RFC 6455 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    /// FIN: this is the final fragment of a message.
    pub(crate) fin: bool,
    /// RSV1-3 as the low three bits (RSV1 = 0b100); checking them is the caller's job.
    pub(crate) rsv: u8,
    /// The opcode.
    pub(crate) opcode: OpCode,
    /// The masking key, if the MASK bit is set (§5.3).
    pub(crate) mask: Option<[u8; 4]>,
    /// The payload length.
    ///
    /// INVARIANT (parsed headers): the top bit is 0, and at most 125 for control frames.
    pub(crate) payload_len: u64,
}

impl FrameHeader {
    /// Parses a header at the front of `buf` without consuming it.
    ///
    /// Returns `Ok(None)` when more bytes are needed and `Ok(Some((header, header_len)))` when
    /// the header is complete; the payload starts at `buf[header_len..]`. Errors, checked in
    /// this order as soon as the bytes are there:
    /// - a reserved opcode: [`ProtocolError::ReservedOpcode`] (§5.2);
    /// - a control frame with FIN = 0: [`ProtocolError::FragmentedControlFrame`] (§5.5);
    /// - a control frame whose 7-bit length is over 125 (including the 126 and 127 escapes,
    ///   as `ws` does): [`ProtocolError::ControlFrameTooLarge`] (§5.5);
    /// - a 64-bit length with the top bit set: [`ProtocolError::InvalidLength`] (§5.2).
    ///
    /// Non-minimal length encodings of data frames are accepted (§5.2 requires minimal
    /// encoding of the sender only). The RSV bits and the MASK bit are returned, not checked.
    pub(crate) fn parse(buf: &[u8]) -> Result<Option<(Self, usize)>, ProtocolError> {
        let [b0, b1, rest @ ..] = buf else {
            if let Some(&b0) = buf.first() {
                // Fail fast on the first byte alone (§5.2, §5.5).
                let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(ProtocolError::ReservedOpcode)?;
                if opcode.is_control() && b0 & 0x80 == 0 {
                    return Err(ProtocolError::FragmentedControlFrame);
                }
            }
            return Ok(None);
        };
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0x07;
        let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(ProtocolError::ReservedOpcode)?;
        if opcode.is_control() && !fin {
            return Err(ProtocolError::FragmentedControlFrame);
        }
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        if opcode.is_control() && u64::from(len7) > MAX_CONTROL_PAYLOAD {
            return Err(ProtocolError::ControlFrameTooLarge);
        }
        let (payload_len, rest, ext_len) = match len7 {
            126 => match rest {
                [a, b, rest @ ..] => (u64::from(u16::from_be_bytes([*a, *b])), rest, 2),
                _ => return Ok(None),
            },
            127 => {
                let Some((ext, rest)) = rest.split_first_chunk::<8>() else {
                    // The top bit is in the first extended byte: fail as soon as it is seen.
                    if rest.first().is_some_and(|&b| b & 0x80 != 0) {
                        return Err(ProtocolError::InvalidLength);
                    }
                    return Ok(None);
                };
                let len = u64::from_be_bytes(*ext);
                if len >> 63 != 0 {
                    return Err(ProtocolError::InvalidLength);
                }
                (len, rest, 8)
            }
            short => (u64::from(short), rest, 0),
        };
        let mask = if masked {
            match rest.first_chunk::<4>() {
                Some(key) => Some(*key),
                None => return Ok(None),
            }
        } else {
            None
        };
        let header_len = 2 + ext_len + if masked { 4 } else { 0 };
        Ok(Some((
            Self {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            },
            header_len,
        )))
    }

    /// Appends the encoded header to `out`, with the length in its minimal form (§5.2).
    ///
    /// Only the low three bits of `rsv` are used. A `payload_len` with the top bit set cannot
    /// come from a real buffer; it would be written as is.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        // Built on the stack and appended at once: one capacity check, not one per byte.
        let mut header = [0u8; 14];
        let fin = if self.fin { 0x80 } else { 0 };
        header[0] = fin | (self.rsv & 0x07) << 4 | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let len = self.payload_len;
        let mut at = if let Ok(short) = u8::try_from(len)
            && u64::from(short) <= MAX_CONTROL_PAYLOAD
        {
            header[1] = mask_bit | short;
            2
        } else if let Ok(medium) = u16::try_from(len) {
            header[1] = mask_bit | 126;
            header[2..4].copy_from_slice(&medium.to_be_bytes());
            4
        } else {
            header[1] = mask_bit | 127;
            header[2..10].copy_from_slice(&len.to_be_bytes());
            10
        };
        if let Some(key) = self.mask {
            header[at..at + 4].copy_from_slice(&key);
            at += 4;
        }
        out.put_slice(&header[..at]);
    }

    /// The encoded size: 2, 4 or 10 bytes, plus 4 with a mask (§5.2).
    pub(crate) fn encoded_len(&self) -> usize {
        let ext = match self.payload_len {
            0..=MAX_CONTROL_PAYLOAD => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        2 + ext + if self.mask.is_some() { 4 } else { 0 }
    }
}

/// Room reserved in a [`HeaderArena`] at a time: many small frames fit before it is reused.
const ARENA_ROOM: usize = 1024;

/// Where a connection writes the frames it sends (small ones whole, large ones' headers) before
/// they are split off as `Bytes`: the buffer is reused once the frames written into it have
/// been sent, so sending allocates nothing in steady state.
#[derive(Debug, Default)]
pub(crate) struct HeaderArena(BytesMut);

impl HeaderArena {
    /// `header`, encoded (see [`FrameHeader::encode`]).
    pub(crate) fn encode(&mut self, header: &FrameHeader) -> Bytes {
        if self.0.capacity() < header.encoded_len() {
            self.0.reserve(ARENA_ROOM);
        }
        header.encode(&mut self.0);
        self.0.split().freeze()
    }

    /// An unmasked final frame carrying `payload` with the RSV bits `rsv` (RSV1 = 0b100), as
    /// [`HeaderArena::encode_frame`] would write it, for a payload of at most
    /// [`COPY_MAX`](crate::connection::COPY_MAX) bytes (a longer one would get a wrong length
    /// field: the caller checks). The header is one fixed-size append (a store or two), not a
    /// `memcpy` of a length known only at run time.
    pub(crate) fn encode_small(&mut self, rsv: u8, opcode: OpCode, payload: &[u8]) -> Bytes {
        let len = payload.len();
        if self.0.capacity() < len + 4 {
            self.0.reserve((len + 4).max(ARENA_ROOM));
        }
        let b0 = 0x80 | (rsv & 0x07) << 4 | opcode.as_u8();
        match u8::try_from(len) {
            Ok(short) if u64::from(short) <= MAX_CONTROL_PAYLOAD => self.0.put_slice(&[b0, short]),
            _ => {
                let [hi, lo] = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
                self.0.put_slice(&[b0, 126, hi, lo]);
            }
        }
        self.0.extend_from_slice(payload);
        self.0.split().freeze()
    }

    /// The header of an unmasked final frame with the RSV bits `rsv` and a payload of `len`
    /// bytes (as [`HeaderArena::encode`] would write it), in one fixed-size append.
    pub(crate) fn encode_unmasked_head(&mut self, rsv: u8, opcode: OpCode, len: usize) -> Bytes {
        if self.0.capacity() < 10 {
            self.0.reserve(ARENA_ROOM);
        }
        let b0 = 0x80 | (rsv & 0x07) << 4 | opcode.as_u8();
        match (u8::try_from(len), u16::try_from(len)) {
            (Ok(short), _) if u64::from(short) <= MAX_CONTROL_PAYLOAD => {
                self.0.put_slice(&[b0, short]);
            }
            (_, Ok(medium)) => {
                let [hi, lo] = medium.to_be_bytes();
                self.0.put_slice(&[b0, 126, hi, lo]);
            }
            _ => {
                let [a, b, c, d, e, f, g, h] = (len as u64).to_be_bytes();
                self.0.put_slice(&[b0, 127, a, b, c, d, e, f, g, h]);
            }
        }
        self.0.split().freeze()
    }

    /// `header` and `payload` as one frame (see [`FrameHeader::encode`]), the payload masked
    /// with the header's key if it has one (RFC 6455 §5.3).
    pub(crate) fn encode_frame(&mut self, header: &FrameHeader, payload: &[u8]) -> Bytes {
        let head = header.encoded_len();
        let total = head + payload.len();
        if self.0.capacity() < total {
            self.0.reserve(total.max(ARENA_ROOM));
        }
        header.encode(&mut self.0);
        self.0.extend_from_slice(payload);
        if let Some(mask) = header.mask
            && let Some(body) = self.0.get_mut(head..)
        {
            apply_mask(body, mask, 0);
        }
        self.0.split().freeze()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ALL: [OpCode; 6] = [
        OpCode::Continuation,
        OpCode::Text,
        OpCode::Binary,
        OpCode::Close,
        OpCode::Ping,
        OpCode::Pong,
    ];

    fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        FrameHeader::parse(buf)
    }

    fn encode(h: &FrameHeader) -> Vec<u8> {
        let mut out = BytesMut::new();
        h.encode(&mut out);
        out.to_vec()
    }

    fn header(fin: bool, opcode: OpCode, mask: Option<[u8; 4]>, len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask,
            payload_len: len,
        }
    }

    /// RFC 6455 §5.2 / §11.8: the six defined opcodes round-trip through their wire values.
    #[test]
    fn opcode_defined_values_round_trip() {
        for op in ALL {
            assert_eq!(OpCode::from_u8(op.as_u8()), Some(op));
        }
        let values: Vec<u8> = ALL.iter().map(|op| op.as_u8()).collect();
        assert_eq!(values, [0x0, 0x1, 0x2, 0x8, 0x9, 0xA]);
    }

    /// RFC 6455 §5.2, docs/node-semantics.md#ws-reserved-opcode: 0x3-0x7 and 0xB-0xF are reserved,
    /// as is all above 4 bits.
    #[test]
    fn opcode_reserved_values_are_none() {
        for v in (0x3..=0x7).chain(0xB..=0xF).chain(0x10..=0xFF) {
            assert_eq!(OpCode::from_u8(v), None, "{v:#x}");
        }
    }

    /// RFC 6455 §5.5: exactly Close, Ping and Pong are control opcodes (MSB of the opcode set).
    #[test]
    fn opcode_is_control_matches_msb() {
        for op in ALL {
            assert_eq!(op.is_control(), op.as_u8() & 0x8 != 0, "{op:?}");
        }
    }

    /// RFC 6455 §5.7: a single-frame unmasked text message ("Hello").
    #[test]
    fn parse_rfc_example_unmasked_text() {
        let buf = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        assert_eq!(
            parse(&buf),
            Ok(Some((header(true, OpCode::Text, None, 5), 2)))
        );
    }

    /// RFC 6455 §5.7: a single-frame masked text message ("Hello").
    #[test]
    fn parse_rfc_example_masked_text() {
        let buf = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let mask = Some([0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(
            parse(&buf),
            Ok(Some((header(true, OpCode::Text, mask, 5), 6)))
        );
    }

    /// RFC 6455 §5.7, §5.4: a fragmented unmasked text message ("Hel" + "lo").
    #[test]
    fn parse_rfc_example_fragmented_text() {
        let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
        let second = [0x80, 0x02, 0x6c, 0x6f];
        assert_eq!(
            parse(&first),
            Ok(Some((header(false, OpCode::Text, None, 3), 2)))
        );
        assert_eq!(
            parse(&second),
            Ok(Some((header(true, OpCode::Continuation, None, 2), 2)))
        );
    }

    /// RFC 6455 §5.7: an unmasked Ping and a masked Pong, each carrying "Hello".
    #[test]
    fn parse_rfc_example_ping_pong() {
        let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        assert_eq!(
            parse(&ping),
            Ok(Some((header(true, OpCode::Ping, None, 5), 2)))
        );
        let pong = [
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let mask = Some([0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(
            parse(&pong),
            Ok(Some((header(true, OpCode::Pong, mask, 5), 6)))
        );
    }

    /// RFC 6455 §5.7: 256 bytes of binary use the 16-bit length.
    #[test]
    fn parse_rfc_example_binary_256() {
        let buf = [0x82, 0x7E, 0x01, 0x00];
        assert_eq!(
            parse(&buf),
            Ok(Some((header(true, OpCode::Binary, None, 256), 4)))
        );
    }

    /// RFC 6455 §5.7: 64 KiB of binary use the 64-bit length.
    #[test]
    fn parse_rfc_example_binary_64k() {
        let buf = [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
        assert_eq!(
            parse(&buf),
            Ok(Some((header(true, OpCode::Binary, None, 65536), 10)))
        );
    }

    /// RFC 6455 §5.2: every strict prefix of a complete header asks for more bytes.
    #[test]
    fn parse_every_prefix_needs_more() {
        let headers = [
            header(true, OpCode::Text, None, 5),
            header(true, OpCode::Binary, Some([1, 2, 3, 4]), 5),
            header(false, OpCode::Binary, None, 300),
            header(true, OpCode::Text, Some([9, 8, 7, 6]), 300),
            header(true, OpCode::Binary, None, 1 << 40),
            header(true, OpCode::Continuation, Some([0xFF; 4]), u64::MAX >> 1),
            header(true, OpCode::Close, Some([0; 4]), 125),
        ];
        for h in headers {
            let bytes = encode(&h);
            for cut in 0..bytes.len() {
                assert_eq!(parse(&bytes[..cut]), Ok(None), "{h:?} cut at {cut}");
            }
            assert_eq!(parse(&bytes), Ok(Some((h, bytes.len()))));
        }
    }

    /// RFC 6455 §5.2: the header length excludes payload bytes that follow it.
    #[test]
    fn parse_ignores_trailing_payload() {
        let mut buf = encode(&header(true, OpCode::Binary, Some([1, 2, 3, 4]), 3));
        buf.extend_from_slice(&[0xAA; 100]);
        assert_eq!(
            parse(&buf),
            Ok(Some((
                header(true, OpCode::Binary, Some([1, 2, 3, 4]), 3),
                6
            )))
        );
    }

    /// RFC 6455 §5.2, docs/node-semantics.md#ws-reserved-opcode (Autobahn 4.x): every reserved
    /// opcode fails, from byte one.
    #[test]
    fn parse_reserved_opcode_fails() {
        for op in (0x3..=0x7).chain(0xB..=0xF) {
            for fin in [0x00, 0x80] {
                let b0 = fin | op;
                assert_eq!(parse(&[b0]), Err(ProtocolError::ReservedOpcode), "{op:#x}");
                assert_eq!(
                    parse(&[b0, 0x00]),
                    Err(ProtocolError::ReservedOpcode),
                    "{op:#x}"
                );
                assert_eq!(parse(&[b0, 0xFE, 0, 5]), Err(ProtocolError::ReservedOpcode));
            }
        }
    }

    /// RFC 6455 §5.2, docs/node-semantics.md#ws-rsv-bits: RSV bits are returned, not judged (the
    /// caller checks).
    #[test]
    fn parse_returns_rsv_bits() {
        for rsv in 0..8u8 {
            let buf = [0x80 | rsv << 4 | 0x2, 0x00];
            let (h, n) = parse(&buf).unwrap().unwrap();
            assert_eq!((h.rsv, n), (rsv, 2));
        }
    }

    /// RFC 6455 §5.2, docs/node-semantics.md#ws-length-encoding: a 64-bit length with the top bit
    /// set fails.
    #[test]
    fn parse_length_top_bit_set_fails() {
        let mut buf = vec![0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(parse(&buf), Err(ProtocolError::InvalidLength));
        buf[2] = 0xFF;
        assert_eq!(parse(&buf), Err(ProtocolError::InvalidLength));
        // Fails as soon as the first extended byte shows it.
        assert_eq!(parse(&buf[..3]), Err(ProtocolError::InvalidLength));
        buf[2] = 0x7F;
        assert!(parse(&buf).unwrap().is_some());
    }

    /// RFC 6455 §5.2: the largest legal 64-bit length parses.
    #[test]
    fn parse_length_max_legal() {
        let buf = [0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        let (h, n) = parse(&buf).unwrap().unwrap();
        assert_eq!((h.payload_len, n), (u64::MAX >> 1, 10));
    }

    /// RFC 6455 §5.2 (issue: minimal length not required on receive): non-minimal lengths parse.
    #[test]
    fn parse_non_minimal_length_accepted() {
        let buf16 = [0x82, 0x7E, 0x00, 0x05];
        assert_eq!(
            parse(&buf16),
            Ok(Some((header(true, OpCode::Binary, None, 5), 4)))
        );
        let buf64 = [0x81, 0x7F, 0, 0, 0, 0, 0, 0, 0x01, 0x00];
        assert_eq!(
            parse(&buf64),
            Ok(Some((header(true, OpCode::Text, None, 256), 10)))
        );
        let zero = [0x80, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
        let expect = header(true, OpCode::Continuation, Some([1, 2, 3, 4]), 0);
        assert_eq!(parse(&zero), Ok(Some((expect, 14))));
    }

    /// RFC 6455 §5.5, docs/node-semantics.md#ws-control-frame-limits (Autobahn 2.5): a control
    /// frame may carry up to 125 bytes.
    #[test]
    fn parse_control_125_accepted() {
        for op in [OpCode::Close, OpCode::Ping, OpCode::Pong] {
            let buf = [0x80 | op.as_u8(), 125];
            assert_eq!(parse(&buf), Ok(Some((header(true, op, None, 125), 2))));
        }
    }

    /// RFC 6455 §5.5, docs/node-semantics.md#ws-control-frame-limits (Autobahn 2.5): over 125
    /// fails, even before the extension.
    #[test]
    fn parse_control_too_large_fails() {
        for op in [OpCode::Close, OpCode::Ping, OpCode::Pong] {
            let b0 = 0x80 | op.as_u8();
            assert_eq!(parse(&[b0, 126]), Err(ProtocolError::ControlFrameTooLarge));
            assert_eq!(
                parse(&[b0, 0x80 | 127]),
                Err(ProtocolError::ControlFrameTooLarge)
            );
            assert_eq!(
                parse(&[b0, 126, 0, 5]),
                Err(ProtocolError::ControlFrameTooLarge)
            );
        }
    }

    /// RFC 6455 §5.5, docs/node-semantics.md#ws-control-frame-limits (Autobahn 5.1-5.2): a control
    /// frame with FIN = 0 fails, from its first byte.
    #[test]
    fn parse_fragmented_control_fails() {
        for op in [OpCode::Close, OpCode::Ping, OpCode::Pong] {
            assert_eq!(
                parse(&[op.as_u8()]),
                Err(ProtocolError::FragmentedControlFrame)
            );
            assert_eq!(
                parse(&[op.as_u8(), 0]),
                Err(ProtocolError::FragmentedControlFrame)
            );
            // FIN = 0 is reported before the size.
            assert_eq!(
                parse(&[op.as_u8(), 126]),
                Err(ProtocolError::FragmentedControlFrame)
            );
        }
    }

    /// RFC 6455 §5.4: data frames and continuations may have FIN = 0.
    #[test]
    fn parse_data_fin_clear_accepted() {
        for op in [OpCode::Continuation, OpCode::Text, OpCode::Binary] {
            assert_eq!(
                parse(&[op.as_u8(), 0]),
                Ok(Some((header(false, op, None, 0), 2)))
            );
        }
    }

    /// RFC 6455 §5.2: an empty buffer needs more bytes.
    #[test]
    fn parse_empty_needs_more() {
        assert_eq!(parse(&[]), Ok(None));
    }

    /// RFC 6455 §5.2: lengths use the minimal form; the boundaries 125/126 and 65535/65536.
    #[test]
    fn encode_minimal_length_boundaries() {
        let cases: [(u64, &[u8]); 7] = [
            (0, &[0x82, 0x00]),
            (125, &[0x82, 125]),
            (126, &[0x82, 126, 0, 126]),
            (0xFFFF, &[0x82, 126, 0xFF, 0xFF]),
            (0x1_0000, &[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
            (
                u64::from(u32::MAX) + 1,
                &[0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0],
            ),
            (
                u64::MAX >> 1,
                &[0x82, 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            ),
        ];
        for (len, want) in cases {
            let h = header(true, OpCode::Binary, None, len);
            assert_eq!(encode(&h), want, "{len}");
            assert_eq!(h.encoded_len(), want.len(), "{len}");
        }
    }

    /// RFC 6455 §5.7: encoding reproduces the RFC's masked "Hello" header.
    #[test]
    fn encode_rfc_example_masked() {
        let h = header(true, OpCode::Text, Some([0x37, 0xfa, 0x21, 0x3d]), 5);
        assert_eq!(encode(&h), [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(h.encoded_len(), 6);
    }

    /// RFC 6455 §5.2: FIN, RSV and the opcode share the first byte; extra RSV bits are dropped.
    #[test]
    fn encode_first_byte_bits() {
        let mut h = header(false, OpCode::Continuation, None, 0);
        h.rsv = 0b101;
        assert_eq!(encode(&h), [0x50, 0x00]);
        h.rsv = 0xFF;
        h.fin = true;
        h.opcode = OpCode::Pong;
        assert_eq!(encode(&h), [0xFA, 0x00]);
    }

    /// RFC 6455 §5.2: encoding appends to what is already in the buffer.
    #[test]
    fn encode_appends() {
        let mut out = BytesMut::from(&b"xy"[..]);
        header(true, OpCode::Ping, None, 1).encode(&mut out);
        assert_eq!(&out[..], &[b'x', b'y', 0x89, 0x01]);
    }

    /// RFC 6455 §5.2 (twin test): the server's direct writers give the bytes of the general
    /// encoder, for every payload length up to `COPY_MAX` (7-bit and 16-bit forms), header
    /// lengths at every form boundary, every opcode and RSV combination.
    #[test]
    fn unmasked_writers_match_general_encoder() {
        let payload: Vec<u8> = (0..=255u8)
            .cycle()
            .take(crate::connection::COPY_MAX)
            .collect();
        let mut arena = HeaderArena::default();
        for op in ALL {
            for rsv in [0, 0b100, 0b111] {
                let h = |len: usize| FrameHeader {
                    fin: true,
                    rsv,
                    opcode: op,
                    mask: None,
                    payload_len: len as u64,
                };
                for len in 0..=payload.len() {
                    let mut want = encode(&h(len));
                    want.extend_from_slice(&payload[..len]);
                    let got = arena.encode_small(rsv, op, &payload[..len]);
                    assert_eq!(&got[..], &want[..], "{op:?} rsv {rsv} len {len}");
                }
                for len in [0, 125, 126, 257, 0xFFFF, 0x1_0000, 1 << 40] {
                    let got = arena.encode_unmasked_head(rsv, op, len);
                    assert_eq!(&got[..], &encode(&h(len))[..], "{op:?} rsv {rsv} len {len}");
                }
            }
        }
    }

    fn any_opcode() -> impl Strategy<Value = OpCode> {
        prop::sample::select(ALL.to_vec())
    }

    /// Headers a conforming sender may emit (§5.2, §5.5).
    fn any_valid_header() -> impl Strategy<Value = FrameHeader> {
        (
            any::<bool>(),
            0u8..8,
            any_opcode(),
            any::<Option<[u8; 4]>>(),
            prop_oneof![0u64..=130, 120u64..=70_000, 0u64..=u64::MAX >> 1],
        )
            .prop_map(|(fin, rsv, opcode, mask, len)| {
                let control = opcode.is_control();
                let payload_len = if control { len % 126 } else { len };
                FrameHeader {
                    fin: fin || control,
                    rsv,
                    opcode,
                    mask,
                    payload_len,
                }
            })
    }

    proptest! {
        /// RFC 6455 §5.2: parse(encode(h)) == h, consuming exactly `encoded_len` bytes.
        #[test]
        fn prop_encode_parse_round_trip(
            h in any_valid_header(),
            tail in prop::collection::vec(any::<u8>(), 0..16),
        ) {
            let mut bytes = encode(&h);
            prop_assert_eq!(bytes.len(), h.encoded_len());
            let n = bytes.len();
            bytes.extend_from_slice(&tail);
            prop_assert_eq!(parse(&bytes), Ok(Some((h, n))));
        }

        /// RFC 6455 §5.2: on any bytes, parse never panics and its answer does not depend on the
        /// split: prefixes shorter than the header need more, and an error on a prefix is the
        /// error on the whole.
        #[test]
        fn prop_parse_any_bytes_split_invariant(
            bytes in prop::collection::vec(any::<u8>(), 0..20),
        ) {
            let whole = parse(&bytes);
            for cut in 0..=bytes.len() {
                let part = parse(&bytes[..cut]);
                match (&whole, &part) {
                    (Ok(Some((h, n))), _) if cut >= *n => prop_assert_eq!(part, Ok(Some((*h, *n)))),
                    (Ok(Some(_)) | Ok(None), _) => prop_assert_eq!(part, Ok(None)),
                    (Err(e), Err(p)) => prop_assert_eq!(e, p),
                    (Err(_), _) => prop_assert_eq!(part, Ok(None)),
                }
            }
            if let Ok(Some((h, n))) = whole {
                prop_assert!(n <= bytes.len());
                prop_assert!(n == 2 || n == 4 || n == 6 || n == 8 || n == 10 || n == 14);
                prop_assert!(h.rsv < 8);
                prop_assert!(h.payload_len >> 63 == 0);
                if h.opcode.is_control() {
                    prop_assert!(h.fin && h.payload_len <= 125);
                }
            }
        }
    }
}
