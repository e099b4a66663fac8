//! Ways to cut a byte string into reads, for chunking-invariance tests (h11 `tr`,
//! httparse `partial_permutations`).

use proptest::prelude::*;

/// Every two-way split of `data`: `[data]` at cut 0 and at cut `len`, `[a, b]` between.
///
/// Yields `len + 1` splits; the pieces concatenate back to `data` and empty pieces are dropped.
pub fn two_way(data: &[u8]) -> impl Iterator<Item = Vec<&[u8]>> + '_ {
    (0..=data.len()).map(move |cut| at_cuts(data, &[cut]))
}

/// `data` one byte per piece.
pub fn byte_at_a_time(data: &[u8]) -> Vec<&[u8]> {
    data.chunks(1).collect()
}

/// `data` cut at each offset in `cuts` (sorted, deduplicated, clamped to the length).
///
/// Empty pieces are dropped, so the result never contains an empty read.
pub fn at_cuts<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(data.len())).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts.into_iter().chain(std::iter::once(data.len())) {
        if cut > start {
            pieces.push(&data[start..cut]);
            start = cut;
        }
    }
    pieces
}

/// A proptest strategy for up to `max_cuts` cut offsets in a string of length `len`.
pub fn cut_offsets(len: usize, max_cuts: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..=len, 0..=max_cuts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_cuts_concatenates_back_and_drops_empty_pieces() {
        let data = b"hello world";
        let pieces = at_cuts(data, &[0, 3, 3, 99, 5]);
        assert_eq!(pieces, vec![&b"hel"[..], &b"lo"[..], &b" world"[..]]);
        assert_eq!(pieces.concat(), data);
    }

    #[test]
    fn two_way_covers_every_cut() {
        let all: Vec<_> = two_way(b"ab").collect();
        assert_eq!(
            all,
            vec![
                vec![&b"ab"[..]],
                vec![&b"a"[..], &b"b"[..]],
                vec![&b"ab"[..]]
            ]
        );
    }

    #[test]
    fn byte_at_a_time_gives_single_bytes() {
        assert_eq!(
            byte_at_a_time(b"xyz"),
            vec![&b"x"[..], &b"y"[..], &b"z"[..]]
        );
        assert!(byte_at_a_time(b"").is_empty());
    }
}
