//! Helpers shared by the loopback tests: bounded waits on the event loop and test data.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sansnet_mio::{Event, EventLoop};
use sha2::{Digest, Sha256};

/// How long any single wait may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// The next event, or a test failure naming `what` if none comes within [`WAIT`].
pub(crate) fn next(ev: &mut EventLoop, what: &str) -> Event {
    match ev.next_event(Some(WAIT)) {
        Ok(Some(event)) => event,
        Ok(None) => panic!("timed out waiting for {what}"),
        Err(e) => panic!("event loop failed while waiting for {what}: {e}"),
    }
}

/// Pulls events until `pick` returns `Some`, handing the others to `other`; fails after
/// [`WAIT`] in total.
pub(crate) fn until<T>(
    ev: &mut EventLoop,
    what: &str,
    mut pick: impl FnMut(&Event) -> Option<T>,
    mut other: impl FnMut(&mut EventLoop, Event),
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = match ev.next_event(Some(left)) {
            Ok(Some(event)) => event,
            Ok(None) => panic!("timed out waiting for {what}"),
            Err(e) => panic!("event loop failed while waiting for {what}: {e}"),
        };
        if let Some(found) = pick(&event) {
            return found;
        }
        other(ev, event);
    }
}

/// `n` pseudo-random bytes from a fixed seed (xorshift), so failures reproduce.
pub(crate) fn random_bytes(n: usize, seed: u64) -> Bytes {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(n);
    out.into()
}

/// Hex SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 127.0.0.1 with port 0: the OS picks a free port.
pub(crate) fn loopback_any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A fresh path for a Unix socket in the temp dir, unique to this process and `name`.
pub(crate) fn unix_path(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("sansnet-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}
