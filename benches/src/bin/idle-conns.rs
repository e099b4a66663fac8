//! `idle-conns`: the client of `benches/memory.sh`: opens N keep-alive connections to an HTTP
//! server, sends one request on each and reads its response, then holds them all open and
//! idle while the script reads the server's memory.
//!
//! ```text
//! cargo run --release -p sansnet-benches --bin idle-conns -- ADDR [CONNECTIONS] [HOLD_SECONDS]
//! ```
//!
//! Defaults: 10,000 connections, held 5 s. Prints `ready N` once every response has been
//! read, holds for HOLD_SECONDS, then checks that the server closed none of them and prints
//! `still open: K of N`. Exits non-zero when a connection fails or was closed (the measure
//! would then not be of N idle connections). Needs a file-descriptor limit above N
//! (`ulimit -n`).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

/// How long one connect or response may take before the run fails.
const TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("idle-conns: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    const USAGE: &str = "usage: idle-conns ADDR [CONNECTIONS] [HOLD_SECONDS]";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr: SocketAddr = args
        .first()
        .ok_or(USAGE)?
        .parse()
        .map_err(|_| format!("not an address (IP:PORT); {USAGE}"))?;
    let count: usize = args
        .get(1)
        .map_or(Ok(10_000), |a| a.parse())
        .map_err(|_| USAGE)?;
    let hold: u64 = args
        .get(2)
        .map_or(Ok(5), |a| a.parse())
        .map_err(|_| USAGE)?;
    if hold > 600 {
        return Err(format!("HOLD_SECONDS above 600; {USAGE}"));
    }
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut streams = Vec::with_capacity(count);
    for i in 0..count {
        let stream = request_once(addr, request.as_bytes())
            .map_err(|e| format!("connection {i} of {count}: {e}"))?;
        streams.push(stream);
    }
    println!("ready {count}");
    let _ = std::io::stdout().flush();
    std::thread::sleep(Duration::from_secs(hold));
    let mut open = 0;
    let mut byte = [0u8; 1];
    for stream in &mut streams {
        stream
            .set_nonblocking(true)
            .map_err(|e| format!("set_nonblocking: {e}"))?;
        match stream.read(&mut byte) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => open += 1,
            _ => {}
        }
    }
    println!("still open: {open} of {count}");
    if open == count {
        Ok(())
    } else {
        Err(format!(
            "the server closed {} idle connections",
            count - open
        ))
    }
}

/// Connects, sends `request` and reads one whole response (head and Content-Length body).
fn request_once(addr: SocketAddr, request: &[u8]) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.write_all(request)?;
    let mut response = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::other("closed before the whole response"));
        }
        response.extend_from_slice(&buf[..n]);
        if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
            if !head.starts_with("http/1.1 200") {
                return Err(std::io::Error::other("not a 200 response"));
            }
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| std::io::Error::other("no Content-Length"))?;
            if response.len() >= end + 4 + length {
                return Ok(stream);
            }
        }
        if response.len() > 64 * 1024 {
            return Err(std::io::Error::other("response too long"));
        }
    }
}
