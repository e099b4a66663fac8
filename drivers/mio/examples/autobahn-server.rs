//! `autobahn-server`: the WebSocket echo server that the Autobahn|Testsuite's server suite
//! (`wstest -m fuzzingclient`) is run against.
//!
//! ```text
//! cargo run --release -p sansnet-mio --example autobahn-server -- [ADDR]
//! ```
//!
//! `bash tests/autobahn.sh` builds this example, runs the suite against it and checks the
//! results (`tests/data/autobahn/README.md` says where the suite comes from).
//!
//! Listens on ADDR (default `127.0.0.1:9001`) and prints `listening ws ADDR` once bound. Every
//! upgrade request, on any path, becomes a WebSocket (`sansnet_ws::Config` with a 64 MiB
//! `max_payload`, since section 9 sends messages of up to 16 MiB), agreeing to the first
//! permessage-deflate offer it can honour (sections 12 and 13) and compressing every message
//! (threshold 0), and every text and binary message is echoed back unchanged. Pings, Pongs, errors and the closing handshake are the
//! machine's business. A request that is not an upgrade gets `426 Upgrade Required`. Runs
//! until killed; a listen failure or a poller error exits non-zero with a message.
//! `tests/autobahn.sh` runs this with the suite in CI.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use bytes::Bytes;
use sansnet_http1::{Response, ServerEvent as HttpEvent};
use sansnet_mio::{Event, EventLoop};
use sansnet_tcp::{Address, ServerConfig, ServerEvent};
use sansnet_ws::WsEvent;

/// Where the server listens without an argument (the suite's usual port).
const DEFAULT_ADDR: &str = "127.0.0.1:9001";

/// The largest message accepted: section 9 goes up to 16 MiB.
const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("autobahn-server: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args() -> Result<SocketAddr, String> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| DEFAULT_ADDR.to_string());
    if addr == "-h" || addr == "--help" {
        return Err("usage: autobahn-server [ADDR]   (default 127.0.0.1:9001)".into());
    }
    if let Some(extra) = args.next() {
        return Err(format!(
            "unexpected argument {extra:?} (usage: autobahn-server [ADDR])"
        ));
    }
    addr.parse()
        .map_err(|_| format!("not an address (IP:PORT): {addr:?}"))
}

fn run() -> Result<(), String> {
    let addr = parse_args()?;
    let mut ev = EventLoop::new().map_err(|e| format!("event loop: {e}"))?;
    let http = sansnet_http1::ServerConfig {
        upgrade: true,
        ..Default::default()
    };
    ev.listen_http(Address::Tcp(addr), ServerConfig::default(), http);
    let config = sansnet_ws::Config {
        max_payload: MAX_PAYLOAD,
        deflate: sansnet_ws::DeflateConfig {
            threshold: 0,
            ..Default::default()
        },
        ..Default::default()
    };
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
                    println!("listening ws {shown}");
                    // The runner waits for this line; stdout may be a pipe.
                    let _ = std::io::stdout().flush();
                }
                ServerEvent::Error(error) => return Err(format!("listen {addr}: {error}")),
                _ => {}
            },
            Event::Http { socket, event } => match event {
                HttpEvent::Upgrade { request, head } => {
                    // A bad handshake is answered (400/426) and closed by `ws_accept` itself.
                    if let Err(error) = ev.ws_accept(socket, &request, head, &[], config.clone()) {
                        eprintln!("autobahn-server: refused a handshake: {error}");
                    }
                }
                HttpEvent::Request(request) => {
                    let response = Response::new(426)
                        .header("Upgrade", "websocket")
                        .header("Sec-WebSocket-Version", "13")
                        .header("Content-Type", "text/plain");
                    let body = Bytes::from_static(b"this is a WebSocket echo server\n");
                    let _ = ev.respond(socket, request.id, response, body);
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
