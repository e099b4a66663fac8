//! The DEFLATE codec of permessage-deflate (RFC 7692 §7.2): raw DEFLATE streams through
//! flate2 on its pure-Rust zlib-rs backend, sync flushes with the trailing `00 00 FF FF`
//! removed (sending) and restored (receiving), context kept or reset per the agreed
//! parameters.
//!
//! Why flate2 with zlib-rs: it is the maintained Rust binding of zlib's API, the zlib-rs
//! backend needs no C compiler, and unlike miniz_oxide it compresses with windows smaller than
//! 15 bits, so `*_max_window_bits` can be honoured. Inflating never produces more than the
//! caller's limit plus one byte: the output buffer grows to at most `limit + 1` bytes.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::Role;
use crate::deflate::Agreed;

/// The tail of a sync flush (RFC 7692 §7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// The first growth step of an output buffer.
const CHUNK: usize = 4096;

/// Why inflating failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The output passed the limit (close 1009).
    TooBig,
    /// Not a valid DEFLATE stream (close 1007, as `ws` does).
    Invalid,
}

/// Both directions of one connection's permessage-deflate.
pub(crate) struct Codec {
    /// Made on the first compressed message: zlib's compressor state is about 256 KiB at 15
    /// bits, so a connection that only sends short messages never pays for it.
    deflate: Option<Compress>,
    deflate_level: Compression,
    deflate_bits: u8,
    deflate_reset: bool,
    /// Made on the first compressed message received, like `deflate`.
    inflate: Option<Decompress>,
    inflate_bits: u8,
    inflate_reset: bool,
    /// The inflater saw a final block: it must start over before the next message.
    inflate_ended: bool,
    /// Messages shorter than this go uncompressed.
    pub(crate) threshold: usize,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("deflate_reset", &self.deflate_reset)
            .field("inflate_bits", &self.inflate_bits)
            .field("inflate_reset", &self.inflate_reset)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

impl Codec {
    /// The codec for `role` under `agreed`: this end compresses with its own window and
    /// context rule and inflates with the peer's.
    pub(crate) fn new(role: Role, agreed: &Agreed) -> Self {
        let (own_bits, own_reset, peer_bits, peer_reset) = match role {
            Role::Server => (
                agreed.server_max_window_bits,
                agreed.server_no_context_takeover,
                agreed.client_max_window_bits,
                agreed.client_no_context_takeover,
            ),
            Role::Client => (
                agreed.client_max_window_bits,
                agreed.client_no_context_takeover,
                agreed.server_max_window_bits,
                agreed.server_no_context_takeover,
            ),
        };
        // zlib cannot deflate raw streams with an 8-bit window; with 9 bits its matches reach
        // at most `w_size - MIN_LOOKAHEAD` = 512 - 262 = 250 bytes back, inside an agreed
        // 256-byte window (see `deflate`'s module doc).
        let level = Compression::new(agreed.level.min(9));
        let bits = own_bits.clamp(9, 15);
        // Inflating with a window at least as large as the sender's decodes its stream.
        let inflate_bits = peer_bits.clamp(9, 15);
        Self {
            deflate: None,
            deflate_level: level,
            deflate_bits: bits,
            deflate_reset: own_reset,
            inflate: None,
            inflate_bits,
            inflate_reset: peer_reset,
            inflate_ended: false,
            threshold: agreed.threshold,
        }
    }

    /// Compresses one whole message (RFC 7692 §7.2.1): a sync flush, its `00 00 FF FF` tail
    /// removed; the compressor starts over afterwards under no context takeover.
    pub(crate) fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        let (level, bits) = (self.deflate_level, self.deflate_bits);
        let deflate = self
            .deflate
            .get_or_insert_with(|| Compress::new_with_window_bits(level, false, bits));
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let mut input = data;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(CHUNK));
            }
            let (before_in, before_out) = (deflate.total_in(), deflate.total_out());
            let result = deflate.compress_vec(input, &mut out, FlushCompress::Sync);
            let consumed = counted(deflate.total_in() - before_in);
            let produced = deflate.total_out() - before_out;
            input = input.get(consumed..).unwrap_or_default();
            let room_left = out.len() < out.capacity();
            if result.is_err() || (input.is_empty() && room_left) {
                break;
            }
            if consumed == 0 && produced == 0 && room_left {
                // No progress with room to spare: nothing more will come.
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if out.is_empty() {
            // An empty stored block (RFC 7692 §7.2.3.6).
            out.push(0x00);
        }
        if self.deflate_reset {
            deflate.reset();
        }
        out
    }

    /// Inflates a piece of a compressed message into `out`, which must not grow past `limit`
    /// bytes (`TooBig` once it would: at most `limit + 1` bytes are ever produced).
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let bits = self.inflate_bits;
        let inflate = self
            .inflate
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, bits));
        let mut input = input;
        while !self.inflate_ended {
            if out.len() > limit {
                return Err(InflateError::TooBig);
            }
            if out.len() == out.capacity() {
                let cap = limit.saturating_add(1);
                let target = out
                    .capacity()
                    .saturating_mul(2)
                    .max(out.len() + CHUNK)
                    .min(cap);
                out.reserve_exact(target.saturating_sub(out.len()));
            }
            let (before_in, before_out) = (inflate.total_in(), inflate.total_out());
            let status = inflate
                .decompress_vec(input, out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Invalid)?;
            let consumed = counted(inflate.total_in() - before_in);
            let produced = inflate.total_out() - before_out;
            input = input.get(consumed..).unwrap_or_default();
            if status == Status::StreamEnd {
                // A final block (RFC 7692 §7.2.3.4): what follows in this message is ignored.
                self.inflate_ended = true;
            }
            if out.len() > limit {
                return Err(InflateError::TooBig);
            }
            let room_left = out.len() < out.capacity();
            if (input.is_empty() || (consumed == 0 && produced == 0)) && room_left {
                break;
            }
        }
        Ok(())
    }

    /// Ends a compressed message: inflates the restored tail (RFC 7692 §7.2.2) and starts the
    /// inflater over under no context takeover (§7.1.1) or after a final block.
    pub(crate) fn finish_message(
        &mut self,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let result = self.inflate(&TAIL, out, limit);
        if (self.inflate_reset || self.inflate_ended)
            && let Some(inflate) = &mut self.inflate
        {
            inflate.reset(false);
            self.inflate_ended = false;
        }
        result
    }
}

/// A byte count the codec reports, as `usize` (it never exceeds the slice it came from).
fn counted(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreed(sbits: u8, cbits: u8, snct: bool, cnct: bool) -> Agreed {
        Agreed {
            server_no_context_takeover: snct,
            client_no_context_takeover: cnct,
            server_max_window_bits: sbits,
            client_max_window_bits: cbits,
            threshold: 0,
            level: 6,
        }
    }

    fn round_trip(a: &Agreed, messages: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut server = Codec::new(Role::Server, a);
        let mut client = Codec::new(Role::Client, a);
        let mut got = Vec::new();
        for m in messages {
            let wire = server.compress(m);
            assert!(!wire.ends_with(&TAIL));
            let mut out = Vec::new();
            client.inflate(&wire, &mut out, usize::MAX).unwrap();
            client.finish_message(&mut out, usize::MAX).unwrap();
            got.push(out);
        }
        got
    }

    /// RFC 7692 §7.2.3.1: "Hello" compresses to the RFC's bytes, tail removed.
    #[test]
    fn compress_hello_matches_rfc_example() {
        let mut c = Codec::new(Role::Server, &agreed(15, 15, false, false));
        assert_eq!(
            c.compress(b"Hello"),
            [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
    }

    /// RFC 7692 §7.2.3.2: with context takeover the second "Hello" is a back-reference into
    /// the first, and shorter; without it, the same bytes again (RFC 7692 §7.1.1).
    #[test]
    fn context_takeover_shortens_repeats() {
        let mut keep = Codec::new(Role::Server, &agreed(15, 15, false, false));
        let first = keep.compress(b"Hello");
        let second = keep.compress(b"Hello");
        assert!(second.len() < first.len(), "{first:?} {second:?}");
        assert_eq!(second, [0xf2, 0x00, 0x11, 0x00, 0x00]);
        let mut reset = Codec::new(Role::Server, &agreed(15, 15, true, false));
        assert_eq!(reset.compress(b"Hello"), reset.compress(b"Hello"));
    }

    /// RFC 7692 §7.2.2, docs/node-semantics.md#deflate-sync-flush, #deflate-context-takeover: every
    /// window size and context rule round-trips.
    #[test]
    fn every_window_round_trips() {
        let text: Vec<u8> = (0..5000u32).flat_map(|i| (i % 700).to_be_bytes()).collect();
        for bits in 8..=15 {
            for nct in [false, true] {
                let a = agreed(bits, bits, nct, nct);
                let msgs: [&[u8]; 4] = [&text, b"", b"abcabcabc", &text];
                let got = round_trip(&a, &msgs);
                assert_eq!(got, msgs.iter().map(|m| m.to_vec()).collect::<Vec<_>>());
            }
        }
    }

    /// RFC 7692 §8, docs/node-semantics.md#deflate-bomb: a small input that inflates to far more
    /// stops at limit + 1.
    #[test]
    fn inflate_stops_past_the_limit() {
        let mut c = Codec::new(Role::Server, &agreed(15, 15, false, false));
        let bomb = c.compress(&vec![0u8; 1 << 20]);
        assert!(bomb.len() < 2048, "{}", bomb.len());
        let mut d = Codec::new(Role::Client, &agreed(15, 15, false, false));
        let mut out = Vec::new();
        assert_eq!(d.inflate(&bomb, &mut out, 1000), Err(InflateError::TooBig));
        assert_eq!(out.len(), 1001);
        assert!(out.capacity() <= 1001, "{}", out.capacity());
    }

    /// zlib's states are made on first use: an agreed but idle connection holds neither.
    #[test]
    fn states_made_on_first_use() {
        let mut c = Codec::new(Role::Server, &agreed(15, 15, false, false));
        assert!(c.deflate.is_none() && c.inflate.is_none());
        let wire = c.compress(b"Hello");
        assert!(c.deflate.is_some() && c.inflate.is_none());
        let mut out = Vec::new();
        c.inflate(&wire, &mut out, 100).unwrap();
        assert!(c.inflate.is_some());
    }

    /// Garbage is reported, not panicked on.
    #[test]
    fn inflate_garbage_is_invalid() {
        let mut d = Codec::new(Role::Client, &agreed(15, 15, false, false));
        let mut out = Vec::new();
        assert_eq!(
            d.inflate(&[0xFF; 16], &mut out, 1000),
            Err(InflateError::Invalid)
        );
    }

    /// RFC 7692 §7.2.3.4: a message ended with a final block inflates; the next one too.
    #[test]
    fn final_block_then_next_message() {
        let mut d = Codec::new(Role::Client, &agreed(15, 15, false, false));
        // "Hello" as one final fixed-Huffman block.
        let fin = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let mut out = Vec::new();
        d.inflate(&fin, &mut out, 100).unwrap();
        d.finish_message(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        let mut out = Vec::new();
        d.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100)
            .unwrap();
        d.finish_message(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
    }
}
