//! Payload masking (RFC 6455 §5.3): XOR with a 4-byte key, resumable at any offset.
//!
//! [`apply_mask`] is the fast path, in safe code: 32-byte blocks, each XORed as four `u64`
//! words with the key repeated (a loop the compiler turns into vector instructions, two
//! 64-byte iterations per 128 bytes on SSE2), then the last words, then four bytes and the last
//! few bytes. The key is rotated and widened with integer shifts, not byte shuffles: for a
//! 40-byte payload the whole XOR is about 45 instructions. Blocks are read as bytes, so any
//! alignment is correct; from `ALIGN_MIN` bytes on, the bytes before the buffer's first
//! 32-byte boundary go first as words, so that the blocks' vector loads and stores are
//! aligned: a payload starts 6 to 14 bytes into the read buffer, and loads that straddle cache
//! lines made the XOR a fifth slower than `memcpy` at 64 KiB (aligned, it beats it). Below
//! `ALIGN_MIN` the extra head costs more than it saves. `apply_mask_scalar` (in test builds)
//! is its byte-at-a-time twin and the reference the tests compare against. Masking is its own
//! inverse, so both mask and unmask. Neither panics.

/// From this length on, the blocks start at a 32-byte boundary (timed on the bench machine:
/// at 256 bytes the unaligned blocks were faster, at 512 and 1024 the aligned ones).
const ALIGN_MIN: usize = 512;

/// XORs `buf` with `mask`, starting at mask position `offset % 4` (RFC 6455 §5.3).
///
/// `offset` is the number of payload bytes already processed, so a payload masked in pieces,
/// each with the running offset, equals the payload masked whole.
pub(crate) fn apply_mask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    let key = rotate(mask, offset);
    if buf.len() < ALIGN_MIN {
        return apply_mask_blocks(buf, key);
    }
    // `align_offset` may answer "impossible" (`usize::MAX`): then the whole buffer is head.
    let head_len = buf.as_ptr().align_offset(32).min(buf.len());
    let (head, body) = buf.split_at_mut(head_len);
    apply_mask_blocks(head, key);
    apply_mask_blocks(body, key.rotate(head_len));
}

/// The key as it applies from some payload position on: four bytes as a native-endian word
/// (`key[i]` is byte `i` of it in memory).
#[derive(Clone, Copy)]
struct Key(u32);

impl Key {
    /// The key `n` payload bytes further on.
    fn rotate(self, n: usize) -> Self {
        // Byte 0 in memory is the low byte on little-endian targets and the high one on
        // big-endian ones: moving the bytes towards index 0 is a right rotation of the former
        // and a left rotation of the latter.
        let bits = u32::try_from(n % 4).unwrap_or(0) * 8;
        if cfg!(target_endian = "little") {
            Self(self.0.rotate_right(bits))
        } else {
            Self(self.0.rotate_left(bits))
        }
    }

    /// The key twice, as an eight-byte word.
    fn word(self) -> u64 {
        u64::from(self.0) | u64::from(self.0) << 32
    }
}

/// XORs `buf` with `key` (already rotated to the buffer's start): 32-byte blocks, the last
/// eight-byte words, four bytes, the last few bytes.
fn apply_mask_blocks(buf: &mut [u8], key: Key) {
    let word = key.word();
    let (blocks, rest) = buf.as_chunks_mut::<32>();
    for block in blocks {
        for chunk in block.as_chunks_mut::<8>().0 {
            *chunk = (u64::from_ne_bytes(*chunk) ^ word).to_ne_bytes();
        }
    }
    // Blocks and words are multiples of 4 bytes long, so each starts at key position 0.
    let (words, tail) = rest.as_chunks_mut::<8>();
    for chunk in words {
        *chunk = (u64::from_ne_bytes(*chunk) ^ word).to_ne_bytes();
    }
    let (quads, last) = tail.as_chunks_mut::<4>();
    for quad in quads {
        *quad = (u32::from_ne_bytes(*quad) ^ key.0).to_ne_bytes();
    }
    for (b, k) in last.iter_mut().zip(key.0.to_ne_bytes()) {
        *b ^= k;
    }
}

/// XORs `buf` with `mask` one byte at a time, starting at mask position `offset % 4`
/// (RFC 6455 §5.3): `buf[i] ^= mask[(offset + i) % 4]`. The reference for [`apply_mask`].
#[cfg(test)]
pub(crate) fn apply_mask_scalar(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= mask[(offset % 4 + i % 4) % 4];
    }
}

/// The key as seen from payload position `offset`: `mask[(offset + i) % 4]` at `i`.
fn rotate(mask: [u8; 4], offset: usize) -> Key {
    Key(u32::from_ne_bytes(mask)).rotate(offset)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// RFC 6455 §5.3 by the letter: `j = i MOD 4; transformed[i] = original[i] XOR key[j]`.
    fn by_definition(buf: &[u8], mask: [u8; 4], offset: usize) -> Vec<u8> {
        buf.iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[(offset % 4 + i % 4) % 4])
            .collect()
    }

    /// RFC 6455 §5.7: the masked "Hello" of the RFC's example unmasks to "Hello".
    #[test]
    fn rfc_example_hello() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut buf = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut buf, mask, 0);
        assert_eq!(&buf, b"Hello");
        apply_mask_scalar(&mut buf, mask, 0);
        assert_eq!(buf, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    /// RFC 6455 §5.3: the scalar twin follows the RFC's formula for every offset.
    #[test]
    fn scalar_matches_definition() {
        let mask = [0x01, 0x23, 0x45, 0x67];
        let data: Vec<u8> = (0..=255).collect();
        for offset in [0, 1, 2, 3, 4, 5, 7, usize::MAX - 1, usize::MAX] {
            let mut buf = data.clone();
            apply_mask_scalar(&mut buf, mask, offset);
            assert_eq!(buf, by_definition(&data, mask, offset), "offset {offset}");
        }
    }

    /// RFC 6455 §5.3 (STYLE 3.6 twin test): the fast path equals the scalar one for every
    /// length 0..=100 and `ALIGN_MIN - 40..=ALIGN_MIN + 100` (blocks, words and tails in every
    /// mix, with and without the aligned head), every offset 0..=3 and every start of the
    /// buffer modulo 32.
    #[test]
    fn fast_matches_scalar_all_lengths_offsets_alignments() {
        let mask = [0xA5, 0x3C, 0x0F, 0xF0];
        let backing: Vec<u8> = (0..ALIGN_MIN + 140)
            .map(|i| u8::try_from((i * 37 + 11) % 251).unwrap())
            .collect();
        let lengths = (0..=100).chain(ALIGN_MIN - 40..=ALIGN_MIN + 100);
        for len in lengths {
            for start in 0..32 {
                for offset in 0..=3 {
                    let mut fast = backing.clone();
                    let mut slow = backing.clone();
                    apply_mask(&mut fast[start..start + len], mask, offset);
                    apply_mask_scalar(&mut slow[start..start + len], mask, offset);
                    assert_eq!(fast, slow, "start {start} len {len} offset {offset}");
                }
            }
        }
    }

    /// RFC 6455 §5.3: offsets are taken modulo 4, up to `usize::MAX` without overflow.
    #[test]
    fn offset_wraps_modulo_four() {
        let mask = [1, 2, 3, 4];
        let data = [0u8; 40];
        for offset in [4, 5, 6, 7, usize::MAX - 3, usize::MAX] {
            let mut big = data;
            let mut small = data;
            apply_mask(&mut big, mask, offset);
            apply_mask(&mut small, mask, offset % 4);
            assert_eq!(big, small, "offset {offset}");
        }
    }

    /// RFC 6455 §5.3: masking is an involution, and a zero key leaves data unchanged.
    #[test]
    fn involution_and_zero_key() {
        let data: Vec<u8> = (0..100).collect();
        let mut buf = data.clone();
        apply_mask(&mut buf, [9, 8, 7, 6], 3);
        assert_ne!(buf, data);
        apply_mask(&mut buf, [9, 8, 7, 6], 3);
        assert_eq!(buf, data);
        apply_mask(&mut buf, [0; 4], 2);
        assert_eq!(buf, data);
    }

    /// RFC 6455 §5.3: an empty buffer is a no-op for both paths.
    #[test]
    fn empty_buffer() {
        apply_mask(&mut [], [1, 2, 3, 4], 1);
        apply_mask_scalar(&mut [], [1, 2, 3, 4], 1);
    }

    proptest! {
        /// RFC 6455 §5.3, §5.4: masking in pieces with the running offset equals
        /// masking whole, and the fast path equals the definition.
        #[test]
        fn prop_pieces_equal_whole(
            data in prop::collection::vec(any::<u8>(), 0..=4096),
            mask in any::<[u8; 4]>(),
            offset in 0usize..8,
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let mut whole = data.clone();
            apply_mask(&mut whole, mask, offset);
            prop_assert_eq!(&whole, &by_definition(&data, mask, offset));

            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
            points.push(0);
            points.push(data.len());
            points.sort_unstable();
            let mut pieces = data.clone();
            for pair in points.windows(2) {
                apply_mask(&mut pieces[pair[0]..pair[1]], mask, offset + pair[0]);
            }
            prop_assert_eq!(&pieces, &whole);

            let mut scalar = data.clone();
            apply_mask_scalar(&mut scalar, mask, offset);
            prop_assert_eq!(&scalar, &whole);
        }
    }
}
