//! `ws-load`: the WebSocket load generator of `benches/e2e.sh`: N connections, each sending a
//! masked binary message and waiting for its echo before sending the next, for T
//! seconds; prints the echoes received per second.
//!
//! ```text
//! cargo run --release -p sansnet-benches --bin ws-load -- ADDR [CONNECTIONS] [SECONDS] [SIZE]
//! ```
//!
//! Defaults: 50 connections, 5 s, 32-byte messages (at most 65,535: one frame, with a 7-bit
//! or 16-bit length). The handshakes are done first with blocking sockets; the load is then
//! one mio loop on one thread, so the generator costs little beside the server under test. Every echo is
//! compared with what was sent; a wrong echo, a closed connection or a failed handshake exits
//! non-zero with a message. The run stops by itself at T seconds (echoes after it are not
//! counted), and the last line is `messages/s: X`.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};

/// The mask key of every frame: any key is valid, and a fixed one keeps the run repeatable.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// How long a handshake may take before the run fails.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// One connection under load.
struct Connection {
    stream: MioStream,
    /// Bytes of the echo received so far (at most one message is in flight).
    received: Vec<u8>,
    /// Bytes of the current frame not yet written (a write may be partial).
    unsent: usize,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ws-load: {message}");
            ExitCode::FAILURE
        }
    }
}

/// ADDR, connections, seconds, message size.
fn parse_args() -> Result<(SocketAddr, usize, f64, usize), String> {
    const USAGE: &str = "usage: ws-load ADDR [CONNECTIONS] [SECONDS] [SIZE]";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let field = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let addr = args
        .first()
        .ok_or(USAGE)?
        .parse()
        .map_err(|_| format!("not an address (IP:PORT); {USAGE}"))?;
    let connections = field(1, "50").parse().map_err(|_| USAGE)?;
    let seconds: f64 = field(2, "5").parse().map_err(|_| USAGE)?;
    let size = field(3, "32").parse().map_err(|_| USAGE)?;
    if connections == 0 || !(seconds > 0.0 && seconds <= 600.0) || size > usize::from(u16::MAX) {
        return Err(format!(
            "need 1+ connections, 0 < SECONDS <= 600, SIZE <= 65535; {USAGE}"
        ));
    }
    Ok((addr, connections, seconds, size))
}

fn run() -> Result<(), String> {
    let (addr, count, seconds, size) = parse_args()?;
    let payload: Vec<u8> = (0..size)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz"[i % 26])
        .collect();
    // The length field (RFC 6455 §5.2): 7 bits up to 125, else 126 and 16 bits.
    let length: Vec<u8> = match u8::try_from(size) {
        Ok(len) if len <= 125 => vec![len],
        _ => {
            let len = u16::try_from(size).map_err(|_| "SIZE above 65535")?;
            let mut field = vec![126];
            field.extend_from_slice(&len.to_be_bytes());
            field
        }
    };
    // Client frame: FIN + binary, MASK bit + length, the key, the masked payload.
    let mut frame = vec![0x82, 0x80 | length[0]];
    frame.extend_from_slice(&length[1..]);
    frame.extend_from_slice(&MASK);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    // Server frame: unmasked.
    let mut echo = vec![0x82];
    echo.extend_from_slice(&length);
    echo.extend_from_slice(&payload);

    let mut poll = Poll::new().map_err(|e| format!("poll: {e}"))?;
    let mut connections = Vec::with_capacity(count);
    for i in 0..count {
        let stream = handshake(addr).map_err(|e| format!("connection {i}: {e}"))?;
        let mut stream = MioStream::from_std(stream);
        poll.registry()
            .register(&mut stream, Token(i), Interest::READABLE)
            .map_err(|e| format!("register: {e}"))?;
        connections.push(Connection {
            stream,
            received: Vec::with_capacity(echo.len()),
            unsent: 0,
        });
    }

    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    for (i, connection) in connections.iter_mut().enumerate() {
        send(connection, &frame, Token(i), &poll)?;
    }
    let mut messages: u64 = 0;
    let mut events = Events::with_capacity(1024);
    let mut scratch = vec![0u8; 64 * 1024];
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        poll.poll(&mut events, Some(deadline - now))
            .map_err(|e| format!("poll: {e}"))?;
        for event in &events {
            let token = event.token();
            let connection = connections
                .get_mut(token.0)
                .ok_or("an event for an unknown connection")?;
            if event.is_writable() && connection.unsent > 0 {
                send(connection, &frame, token, &poll)?;
            }
            if !event.is_readable() {
                continue;
            }
            loop {
                match connection.stream.read(&mut scratch) {
                    Ok(0) => return Err(format!("connection {} closed by the server", token.0)),
                    Ok(n) => {
                        let mut rest = &scratch[..n];
                        while !rest.is_empty() {
                            let take = rest.len().min(echo.len() - connection.received.len());
                            connection.received.extend_from_slice(&rest[..take]);
                            rest = &rest[take..];
                            if connection.received.len() < echo.len() {
                                continue;
                            }
                            if connection.received != echo {
                                return Err(format!(
                                    "connection {}: the echo differs from the message",
                                    token.0
                                ));
                            }
                            connection.received.clear();
                            if Instant::now() < deadline {
                                messages += 1;
                                send(connection, &frame, token, &poll)?;
                            }
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(format!("connection {}: read: {e}", token.0)),
                }
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!("messages: {messages} echoes of {size} B in {elapsed:.2} s over {count} connections");
    println!("messages/s: {:.0}", messages as f64 / elapsed);
    Ok(())
}

/// Connects and does the opening handshake (RFC 6455 §4.1) with a blocking socket.
fn handshake(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, HANDSHAKE_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes())?;
    // Byte by byte up to the blank line, so nothing after the head is taken from the socket.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 || head.len() > 16 * 1024 {
            return Err(std::io::Error::other("no complete handshake response"));
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        let line =
            String::from_utf8_lossy(head.split(|&b| b == b'\r').next().unwrap_or(&[])).into_owned();
        return Err(std::io::Error::other(format!("not a 101: {line}")));
    }
    stream.set_read_timeout(None)?;
    stream.set_nonblocking(true)?;
    Ok(stream)
}

/// Writes the rest of the current frame (all of it when none is pending), asking for
/// writability when the socket takes only part.
fn send(
    connection: &mut Connection,
    frame: &[u8],
    token: Token,
    poll: &Poll,
) -> Result<(), String> {
    if connection.unsent == 0 {
        connection.unsent = frame.len();
    }
    while connection.unsent > 0 {
        match connection
            .stream
            .write(&frame[frame.len() - connection.unsent..])
        {
            Ok(0) => return Err(format!("connection {}: the socket took no bytes", token.0)),
            Ok(n) => connection.unsent -= n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                return poll
                    .registry()
                    .reregister(
                        &mut connection.stream,
                        token,
                        Interest::READABLE | Interest::WRITABLE,
                    )
                    .map_err(|e| format!("reregister: {e}"));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("connection {}: write: {e}", token.0)),
        }
    }
    Ok(())
}
