//! Randomness, which a driver supplies to the machines: WebSocket client masks and handshake
//! keys (RFC 6455 section 5.3: masking keys from a strong source of entropy).

/// Fills `buf` with random bytes from the operating system (`getrandom`). Without OS
/// randomness it falls back to the standard hasher's per-process random keys mixed with the
/// time, so a WebSocket client still masks unpredictably.
pub fn fill(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        use std::hash::{BuildHasher, Hasher};
        let state = std::collections::hash_map::RandomState::new();
        for (i, chunk) in buf.chunks_mut(8).enumerate() {
            let mut hasher = state.build_hasher();
            hasher.write_usize(i);
            hasher.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            let bytes = hasher.finish().to_ne_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_fills_differ() {
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        super::fill(&mut a);
        super::fill(&mut b);
        assert_ne!(a, b);
    }
}
