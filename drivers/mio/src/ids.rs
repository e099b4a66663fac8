//! Maps keyed by the loop's ids: counting-up integers, hashed with one multiply (the Fx hash
//! rustc uses) instead of SipHash. The ids come from the loop itself, never from a peer, so
//! there is nothing to defend against; a lookup per event is on the hot path.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map keyed by an id.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// The Fx hash: each word is mixed in with a rotate, an xor and a multiply.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// The mio token of an entry id. Ids count up from 1 and become tokens as they are.
#[allow(
    clippy::cast_possible_truncation,
    reason = "ids are allocated one by one from 1"
)]
pub(crate) fn token(id: u64) -> usize {
    id as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_spread_over_the_high_bits() {
        // hashbrown picks a group by the high bits: consecutive ids must not share them.
        let tops: std::collections::HashSet<u64> = (1..=64u64)
            .map(|id| {
                let mut hasher = IdHasher::default();
                hasher.write_u64(id);
                hasher.finish() >> 57
            })
            .collect();
        assert!(
            tops.len() > 32,
            "only {} distinct top-7-bit values",
            tops.len()
        );
    }

    #[test]
    fn a_map_finds_what_it_holds() {
        let mut map: IdMap<u64, u64> = IdMap::default();
        for id in 0..1000 {
            map.insert(id, id * 2);
        }
        assert!((0..1000).all(|id| map.get(&id) == Some(&(id * 2))));
    }
}
