//! Bench inputs, shared by every bench file so that ours and the floor see the same bytes.

/// Read sizes for the stream benches: a small request, a typical read, a full 64 KiB read.
pub const READ_SIZES: [usize; 3] = [128, 4 * 1024, 64 * 1024];

/// Datagram sizes for the dgram benches.
pub const DATAGRAM_SIZES: [usize; 2] = [64, 1200];

/// `n` bytes of a fixed pattern.
pub fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| u8::try_from(i % 251).unwrap_or(0)).collect()
}
