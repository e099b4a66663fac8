//! `tokio-ws-echo`: our WebSocket echo server on the tokio driver (`sansnet_tokio::serve_with`
//! and `accept_ws`) on tokio's current-thread runtime, which `benches/e2e.sh tokio` puts beside
//! `fastwebsockets-echo` on the same runtime.
//!
//! ```text
//! cargo run --release -p sansnet-benches --bin tokio-ws-echo -- [ADDR]
//! ```
//!
//! Listens on ADDR (default `127.0.0.1:0`), prints `listening ws ADDR` once bound, and echoes
//! every text and binary message, with the machine's defaults (`WsOptions::default()`: as the
//! mio driver's `hello` example; permessage-deflate agreed only when offered, which `ws-load`
//! does not) and Node's socket settings (`TCP_NODELAY` on). One task per connection, and one
//! per WebSocket that receives each message and sends it back. Pings and the closing
//! handshake are the machine's business. A request that is not an upgrade gets `426 Upgrade
//! Required`. Runs until killed.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use sansnet_stack::Acceptor;
use sansnet_tokio::{Request, Response, WsOptions, accept_ws, serve_with};
use tokio::net::TcpListener;

fn main() -> ExitCode {
    sansnet_benches::current_thread_main("tokio-ws-echo", true, run)
}

/// Serves until killed.
async fn run(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let http = sansnet_http1::ServerConfig {
        upgrade: true,
        ..Default::default()
    };
    // Node's HTTP sockets (`TCP_NODELAY`, half-open) come with `with_http`.
    let acceptor = Acceptor::new(sansnet_tcp::SocketConfig::default()).with_http(http);
    let server = serve_with(listener, acceptor, echo)?;
    println!("listening ws {}", server.local_addr());
    std::io::stdout().flush()?;
    std::future::pending::<()>().await;
    Ok(())
}

/// Accepts the WebSocket of an upgrade request and echoes its messages; anything else gets 426.
async fn echo(mut request: Request) -> Response {
    let Some(upgraded) = request.take_upgrade() else {
        return Response::new(426)
            .header("Upgrade", "websocket")
            .header("Content-Type", "text/plain")
            .body("this is a WebSocket echo server\n");
    };
    if let Ok(mut ws) = accept_ws(upgraded, request.head(), &WsOptions::default()).await {
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
    // Not sent: the connection was handed over (or `accept_ws` answered a bad handshake).
    Response::new(101)
}
