//! `autobahn-server`: the WebSocket echo server of sansnet-tokio that the Autobahn|Testsuite's
//! server suite (`wstest -m fuzzingclient`) is run against; the same contract as sansnet-mio's
//! example of the same name.
//!
//! ```text
//! cargo run --release -p sansnet-tokio --example tokio-autobahn-server -- [ADDR]
//! ```
//!
//! `AUTOBAHN_DRIVER=tokio bash tests/autobahn.sh` builds this example, runs the suite against
//! it and checks the results.
//!
//! Listens on ADDR (default `127.0.0.1:9001`) and prints `listening ws ADDR` once bound. Every
//! upgrade request, on any path, becomes a WebSocket ([`sansnet_tokio::accept_ws`] with a
//! 64 MiB `max_payload`, since section 9 sends messages of up to 16 MiB), agreeing to the first
//! permessage-deflate offer it can honour (sections 12 and 13) and compressing every message
//! (threshold 0); every text and binary message is echoed back unchanged. Pings, Pongs, errors
//! and the closing handshake are the machine's business. A request that is not an upgrade gets
//! `426 Upgrade Required`. Runs on tokio's current-thread runtime until killed; a listen
//! failure exits non-zero with a message.

use std::net::SocketAddr;
use std::process::ExitCode;

use sansnet_stack::Acceptor;
use sansnet_tokio::{Request, Response, WsOptions, accept_ws, serve_with};

/// Where the server listens without an argument (the suite's usual port).
const DEFAULT_ADDR: &str = "127.0.0.1:9001";

/// The largest message accepted: section 9 goes up to 16 MiB.
const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

fn main() -> ExitCode {
    let result = parse_args().and_then(|addr| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?
            .block_on(run(addr))
    });
    match result {
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

fn options() -> WsOptions {
    WsOptions::new(sansnet_ws::Config {
        max_payload: MAX_PAYLOAD,
        deflate: sansnet_ws::DeflateConfig {
            threshold: 0,
            ..Default::default()
        },
        ..Default::default()
    })
}

async fn run(addr: SocketAddr) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("listen {addr}: {e}"))?;
    let http = sansnet_http1::ServerConfig {
        upgrade: true,
        ..Default::default()
    };
    let acceptor = Acceptor::new(sansnet_tcp::SocketConfig::default()).with_http(http);
    let server = serve_with(listener, acceptor, echo).map_err(|e| format!("serve: {e}"))?;
    // The runner waits for this line; stdout may be a pipe, which `println!` flushes per line.
    println!("listening ws {}", server.local_addr());
    std::future::pending::<()>().await;
    Ok(())
}

/// Accepts the WebSocket of an upgrade request and echoes its messages; anything else gets 426.
async fn echo(mut request: Request) -> Response {
    let Some(upgraded) = request.take_upgrade() else {
        return Response::new(426)
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Content-Type", "text/plain")
            .body("this is a WebSocket echo server\n");
    };
    match accept_ws(upgraded, request.head(), &options()).await {
        Ok(mut ws) => {
            tokio::spawn(async move {
                while let Some(message) = ws.recv().await {
                    // An error is the peer's (its Close is queued); a refused send means the
                    // closing handshake began: nothing to echo either way.
                    if let Ok(message) = message {
                        let _ = ws.send(message).await;
                    }
                }
            });
        }
        // `accept_ws` answered the bad handshake (400/426) and closes the connection.
        Err(error) => eprintln!("autobahn-server: refused a handshake: {error}"),
    }
    // Not sent: the connection was handed over.
    Response::new(101)
}
