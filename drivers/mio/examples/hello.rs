//! `hello`: the minimal HTTP hello-world and WebSocket echo server that `benches/e2e.sh` and
//! `benches/memory.sh` put beside hyper and Node.
//!
//! ```text
//! cargo run --release -p sansnet-mio --example hello -- [ADDR] [--no-idle-timeout]
//! ```
//!
//! Listens on ADDR (default `127.0.0.1:0`, a free port) on one single-threaded event loop and
//! prints `listening http ADDR` once bound. Every request, on any path and with any method,
//! gets `200 OK`, `Content-Type: text/plain` and the body `Hello, World!`, as the peers'
//! hello-world servers answer; an upgrade request for a WebSocket becomes one that echoes every
//! message back. The HTTP settings are Node's defaults; `--no-idle-timeout` turns off
//! `keepAliveTimeout` (5 s), as the memory bench does for every server so that idle
//! connections stay open while it measures. Runs until killed; a listen failure or a poller
//! error exits non-zero with a message.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use bytes::Bytes;
use sansnet_http1::{Response, ServerEvent as HttpEvent};
use sansnet_mio::{Event, EventLoop};
use sansnet_tcp::{Address, ServerConfig, ServerEvent};
use sansnet_ws::WsEvent;

/// The body every request gets.
const BODY: &[u8] = b"Hello, World!";

/// The usage line.
const USAGE: &str = "usage: hello [ADDR] [--no-idle-timeout]   (default ADDR 127.0.0.1:0)";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hello: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The listen address and whether the keep-alive timeout is on.
fn parse_args() -> Result<(SocketAddr, bool), String> {
    let mut addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut idle_timeout = true;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--no-idle-timeout" => idle_timeout = false,
            "-h" | "--help" => return Err(USAGE.into()),
            text => {
                addr = text
                    .parse()
                    .map_err(|_| format!("not an address (IP:PORT): {text:?}; {USAGE}"))?;
            }
        }
    }
    Ok((addr, idle_timeout))
}

fn run() -> Result<(), String> {
    let (addr, idle_timeout) = parse_args()?;
    let mut ev = EventLoop::new().map_err(|e| format!("event loop: {e}"))?;
    let mut http = sansnet_http1::ServerConfig {
        upgrade: true,
        ..Default::default()
    };
    if !idle_timeout {
        http.keep_alive_timeout = None;
    }
    ev.listen_http(Address::Tcp(addr), ServerConfig::default(), http);
    loop {
        let event = match ev.next_event(None) {
            Ok(Some(event)) => event,
            Ok(None) => return Err("the server stopped".into()),
            Err(e) => return Err(format!("poll: {e}")),
        };
        match event {
            Event::Server { event, .. } => match event {
                ServerEvent::Listening { address } => {
                    let shown = match address {
                        Address::Tcp(addr) => addr.to_string(),
                        Address::Unix(path) => path.display().to_string(),
                    };
                    println!("listening http {shown}");
                    // The bench scripts wait for this line; stdout is a file there.
                    let _ = std::io::stdout().flush();
                }
                ServerEvent::Error(error) => return Err(format!("listen {addr}: {error}")),
                _ => {}
            },
            Event::Http { socket, event } => match event {
                HttpEvent::Request(request) => {
                    let response = Response::new(200).header("Content-Type", "text/plain");
                    // `Err` means the connection is gone; there is nobody left to answer.
                    let _ = ev.respond(socket, request.id, response, Bytes::from_static(BODY));
                }
                HttpEvent::Upgrade { request, head } => {
                    // A bad handshake is answered (400/426) and closed by `ws_accept` itself.
                    let _ = ev.ws_accept(socket, &request, head, &[], Default::default());
                }
                _ => {}
            },
            Event::Ws {
                socket,
                event: WsEvent::Message(message),
            } => {
                // `Ok(false)` only says the queue is past its high-water mark: the echo is
                // queued anyway. `Err` means the connection is closing; nothing to echo then.
                let _ = ev.ws_send(socket, message);
            }
            _ => {}
        }
    }
}
