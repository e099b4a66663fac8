//! Signals as readiness, for runtimes that poll descriptors (mio, `epoll`): a signal's
//! handler writes a byte to a pipe (the self-pipe trick, as libuv's `uv_signal_t` and
//! `signal-hook`'s `pipe` module do it), and the loop polls the pipe's read end like a socket.

use std::io::{self, Read};
use std::os::unix::net::UnixStream;

/// Replaces `signal`'s default action (e.g. `SIGINT`, `SIGTERM`) with a byte written to a
/// pipe; returns the pipe's non-blocking read end, readable once the signal came.
pub fn pipe(signal: i32) -> io::Result<UnixStream> {
    let (read, write) = UnixStream::pair()?;
    read.set_nonblocking(true)?;
    write.set_nonblocking(true)?;
    signal_hook::low_level::pipe::register(signal, write)?;
    Ok(read)
}

/// Reads what the handler wrote, until the pipe is empty; whether the signal came since the
/// last call.
pub fn arrived(mut pipe: impl Read) -> bool {
    let mut buf = [0u8; 64];
    let mut got = false;
    while let Ok(n) = pipe.read(&mut buf) {
        if n == 0 {
            break;
        }
        got = true;
    }
    got
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_signal_makes_the_pipe_readable_once() -> io::Result<()> {
        let read = pipe(signal_hook::consts::SIGUSR2)?;
        assert!(!arrived(&read), "nothing before the signal");
        signal_hook::low_level::raise(signal_hook::consts::SIGUSR2)?;
        assert!(arrived(&read), "the signal's byte");
        assert!(!arrived(&read), "drained");
        Ok(())
    }
}
