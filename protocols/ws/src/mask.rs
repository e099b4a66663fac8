//! Payload masking (RFC 6455 §5.3): XOR with a 4-byte key, resumable at any offset.
//!
//! [`apply_mask`] is the fast path, in safe code: the bytes before the first 32-byte boundary
//! of the buffer's address as words and bytes, then 32-byte blocks XORed with the key repeated (a
//! loop over fixed-size arrays that the compiler turns into vector instructions), then eight
//! bytes at a time through a `u64`, then the last few bytes. Blocks are read as bytes, so any
//! alignment is correct; aligning them is for speed: a payload starts 6 to 14 bytes into the
//! read buffer, and unaligned vector loads and stores that straddle cache lines made the XOR
//! a fifth slower than `memcpy` at 64 KiB (aligned, it keeps up with it). Under 64 bytes only
//! the words and the last bytes run: the head and the block key would cost more than they save. `apply_mask_scalar` (in test builds) is its
//! byte-at-a-time twin and the reference the tests compare against. Masking is its own
//! inverse, so both mask and unmask. Neither panics.

/// XORs `buf` with `mask`, starting at mask position `offset % 4` (RFC 6455 §5.3).
///
/// `offset` is the number of payload bytes already processed, so a payload masked in pieces,
/// each with the running offset, equals the payload masked whole.
pub(crate) fn apply_mask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    if buf.len() < 64 {
        // Too short for aligned blocks to pay for the head and the block key: words.
        return apply_mask_words(buf, rotate(mask, offset));
    }
    // `align_offset` may answer "impossible" (`usize::MAX`): then the whole buffer is head.
    let head_len = buf.as_ptr().align_offset(32).min(buf.len());
    let (head, body) = buf.split_at_mut(head_len);
    apply_mask_words(head, rotate(mask, offset));
    apply_mask_blocks(body, mask, offset.wrapping_add(head_len));
}

/// [`apply_mask`] without the alignment of the blocks.
fn apply_mask_blocks(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    let key = rotate(mask, offset);
    // Blocks and words are multiples of 4 bytes long, so each starts at key position 0.
    let word_key = [
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ];
    let (blocks, rest) = buf.as_chunks_mut::<32>();
    if !blocks.is_empty() {
        let mut block_key = [0u8; 32];
        for k in block_key.as_chunks_mut::<8>().0 {
            *k = word_key;
        }
        for block in blocks {
            for (b, k) in block.iter_mut().zip(&block_key) {
                *b ^= k;
            }
        }
    }
    apply_mask_words(rest, key);
}

/// XORs `buf` with `key` (already rotated to the buffer's start) eight bytes at a time, then
/// the last few bytes.
fn apply_mask_words(buf: &mut [u8], key: [u8; 4]) {
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let (words, tail) = buf.as_chunks_mut::<8>();
    for chunk in words {
        *chunk = (u64::from_ne_bytes(*chunk) ^ word).to_ne_bytes();
    }
    for (b, k) in tail.iter_mut().zip(key.iter().cycle()) {
        *b ^= k;
    }
}

/// XORs `buf` with `mask` one byte at a time, starting at mask position `offset % 4`
/// (RFC 6455 §5.3): `buf[i] ^= mask[(offset + i) % 4]`. The reference for [`apply_mask`].
#[cfg(test)]
pub(crate) fn apply_mask_scalar(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    let key = rotate(mask, offset);
    for (byte, k) in buf.iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

/// The key as seen from payload position `offset`: `mask[(offset + i) % 4]` at `i`.
fn rotate(mask: [u8; 4], offset: usize) -> [u8; 4] {
    // Rotating the bytes left by `offset % 4` is rotating their little-endian word right by
    // as many bytes: a shift, where the slice rotation is a loop.
    let bytes = [0, 8, 16, 24][offset % 4];
    u32::from_le_bytes(mask).rotate_right(bytes).to_le_bytes()
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
    /// length 0..=100 (blocks, words and tails in every mix), every offset 0..=3 and every
    /// alignment of the buffer's start.
    #[test]
    fn fast_matches_scalar_all_lengths_offsets_alignments() {
        let mask = [0xA5, 0x3C, 0x0F, 0xF0];
        let backing: Vec<u8> = (0..108u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect();
        for start in 0..8 {
            for len in 0..=100 {
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
