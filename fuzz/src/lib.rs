//! What the fuzz targets share: reading cut positions from the fuzzer's bytes and cutting a
//! stream at them, so every target compares whole delivery with the same kind of split.

/// Splits `data` into its first byte (settings bits), `count % max_cuts` cut words (two bytes
/// each, from the second byte `count`) and the rest; `None` when `data` is too short.
pub fn header(data: &[u8], max_cuts: u8) -> Option<(u8, &[u8], &[u8])> {
    let (&bits, rest) = data.split_first()?;
    let (&count, rest) = rest.split_first()?;
    let cut_bytes = usize::from(count % max_cuts) * 2;
    if rest.len() < cut_bytes {
        return None;
    }
    let (cut_words, rest) = rest.split_at(cut_bytes);
    Some((bits, cut_words, rest))
}

/// The cut positions in `words` (little-endian `u16`s), each taken modulo `len + 1`.
pub fn positions(words: &[u8], len: usize) -> Vec<usize> {
    words
        .chunks(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (len + 1))
        .collect()
}

/// `stream` cut at `cuts` (in any order; repeats, and positions past the end, are ignored):
/// non-empty pieces that join back to `stream`.
pub fn pieces(stream: &[u8], mut cuts: Vec<usize>) -> Vec<&[u8]> {
    for cut in &mut cuts {
        *cut = (*cut).min(stream.len());
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain(std::iter::once(stream.len())) {
        if cut > start {
            pieces.push(&stream[start..cut]);
            start = cut;
        }
    }
    pieces
}
