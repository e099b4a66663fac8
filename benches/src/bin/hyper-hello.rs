//! `hyper-hello`: the hyper 1.x hello-world server that `benches/e2e.sh` and
//! `benches/memory.sh` put beside ours, on tokio's current-thread runtime (one thread, as our
//! driver and Node).
//!
//! ```text
//! cargo run --release -p sansnet-benches --bin hyper-hello -- [ADDR] [--no-pipeline-flush]
//! ```
//!
//! Listens on ADDR (default `127.0.0.1:0`), prints `listening http ADDR` once bound, and
//! answers every request with `200 OK`, `Content-Type: text/plain` and `Hello, World!`. One
//! task per connection with hyper's HTTP/1 `serve_connection`, `TCP_NODELAY` on, and
//! `pipeline_flush` on (hyper's own switch for pipelined load, which the TechEmpower hyper
//! entries turn on too; `--no-pipeline-flush` leaves hyper's default). Keep-alive has no idle timeout (hyper has none without a timer).
//! Runs until killed.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The body every request gets.
const BODY: &[u8] = b"Hello, World!";

fn main() -> ExitCode {
    let pipeline_flush = !std::env::args().any(|arg| arg == "--no-pipeline-flush");
    sansnet_benches::current_thread_main("hyper-hello", false, |addr| serve(addr, pipeline_flush))
}

/// Accepts forever, one task per connection.
async fn serve(addr: SocketAddr, pipeline_flush: bool) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("listening http {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE and the like: the connection is lost, the server goes on (as Node).
                eprintln!("hyper-hello: accept: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::task::spawn(async move {
            // A connection error (reset, a malformed request) ends that connection only.
            let _ = http1::Builder::new()
                .pipeline_flush(pipeline_flush)
                .serve_connection(TokioIo::new(stream), service_fn(hello))
                .await;
        });
    }
}

/// The one route.
async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    Ok(response)
}
