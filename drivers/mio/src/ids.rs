//! The loop's ids: counting up from 1, never reused, never from a peer. They key the loop's
//! maps with the Fx hash rustc uses (one multiply) instead of SipHash, as there is nothing to
//! defend against and a lookup per event is on the hot path, and they are the entries' mio
//! tokens as they are.

/// A map keyed by an id.
pub(crate) type IdMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// The mio token of an entry id.
#[allow(
    clippy::cast_possible_truncation,
    reason = "ids are allocated one by one from 1"
)]
pub(crate) fn token(id: u64) -> mio::Token {
    mio::Token(id as usize)
}
