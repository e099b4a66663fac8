//! `fastwebsockets-echo`: the WebSocket echo server on `fastwebsockets` that `benches/e2e.sh`
//! puts beside ours, synchronous tungstenite and Node's `ws`.
//!
//! ```text
//! cargo run --release -p sansnet-benches --bin fastwebsockets-echo -- [ADDR]
//! ```
//!
//! Listens on ADDR (default `127.0.0.1:0`), prints `listening ws ADDR` once bound, and echoes
//! every text and binary message. Written as fastwebsockets' own `examples/echo_server.rs`:
//! tokio's current-thread runtime (one thread, as our driver and Node), hyper's HTTP/1 server
//! for the upgrade (`fastwebsockets::upgrade`), one task per connection run `unconstrained`, a
//! `FragmentCollector` so that a fragmented message is echoed whole; `TCP_NODELAY` on. Ping
//! and close are answered by fastwebsockets itself (its defaults). Runs until killed.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use fastwebsockets::{FragmentCollector, OpCode, WebSocketError, upgrade};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

fn main() -> ExitCode {
    sansnet_benches::current_thread_main("fastwebsockets-echo", false, serve)
}

/// Accepts forever, one task per connection.
async fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("listening ws {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE and the like: that connection is lost, the server goes on.
                eprintln!("fastwebsockets-echo: accept: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::task::spawn(async move {
            // A failed upgrade or a connection error ends that connection only.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(upgrade_request))
                .with_upgrades()
                .await;
        });
    }
}

/// Answers the opening handshake and starts the echo task of that connection.
async fn upgrade_request(
    mut request: Request<Incoming>,
) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let (response, upgraded) = upgrade::upgrade(&mut request)?;
    tokio::task::spawn(async move {
        let _ = tokio::task::unconstrained(echo(upgraded)).await;
    });
    Ok(response)
}

/// Echoes whole messages until the connection ends or a close frame arrives.
async fn echo(upgraded: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = FragmentCollector::new(upgraded.await?);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            // Ping and pong: fastwebsockets answers pings itself.
            _ => {}
        }
    }
}
