//! `tokio-hello`: our HTTP hello-world server on the tokio driver (`sansnet_tokio::serve`) on
//! tokio's current-thread runtime, which `benches/e2e.sh tokio` puts beside `hyper-hello` on
//! the same runtime.
//!
//! ```text
//! cargo run --release -p sansnet-benches --bin tokio-hello -- [ADDR] [--no-idle-timeout]
//! ```
//!
//! Listens on ADDR (default `127.0.0.1:0`), prints `listening http ADDR` once bound, and
//! answers every request with `200 OK`, `Content-Type: text/plain` and `Hello, World!`, with
//! Node's HTTP server settings (`serve`'s: `TCP_NODELAY` on, a 5 s `keepAliveTimeout`, which
//! `--no-idle-timeout` turns off, as `benches/memory.sh` does for every server). One task
//! per connection, polling its requests' handlers. Runs until killed.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use bytes::Bytes;
use sansnet_stack::Acceptor;
use sansnet_tokio::{Response, serve_with};
use tokio::net::TcpListener;

/// The body every request gets.
const BODY: &[u8] = b"Hello, World!";

fn main() -> ExitCode {
    sansnet_benches::current_thread_main("tokio-hello", true, run)
}

/// Serves until killed.
async fn run(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    // `serve`'s settings.
    let mut http = sansnet_http1::ServerConfig {
        check_continue: true,
        ..Default::default()
    };
    if std::env::args().any(|arg| arg == "--no-idle-timeout") {
        http.keep_alive_timeout = None;
    }
    let acceptor = Acceptor::new(sansnet_tcp::SocketConfig::default()).with_http(http);
    let server = serve_with(listener, acceptor, |_request| async {
        Response::new(200)
            .header("Content-Type", "text/plain")
            .body(Bytes::from_static(BODY))
    })?;
    println!("listening http {}", server.local_addr());
    std::io::stdout().flush()?;
    std::future::pending::<()>().await;
    Ok(())
}
