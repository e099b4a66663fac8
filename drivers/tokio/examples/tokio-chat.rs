//! `tokio-chat`: the mio demo's chat on sansnet-tokio: the same page at `/` and a `/chat`
//! room that broadcasts every message to every member, on tokio's current-thread runtime.
//!
//! ```text
//! cargo run --release -p sansnet-tokio --example tokio-chat -- [--http ADDR]
//! ```
//!
//! Listens on ADDR (default `127.0.0.1:8080`, as the demo; port 0 lets the OS choose) and
//! prints `listening http ADDR` once bound, the line the demo prints for its HTTP server.
//! Routes:
//!
//! - `GET /`: the demo's chat page (`drivers/mio/examples/demo/page.html`, the same file), whose
//!   script opens `ws://HOST/chat` and shows `WebSocket.extensions`;
//! - `/chat`: a WebSocket ([`accept_ws`], permessage-deflate agreed when offered: RFC 7692
//!   §5); every text or binary message is sent to every member of the room, the sender
//!   included, as the demo's `/chat` does;
//! - `/ws`: a WebSocket echo; `GET /hello`: `hello world`;
//! - anything else, including the demo's `/echo` and `/download` that the page lists: 404.
//!
//! Pings, Pongs, errors and the closing handshake are the machine's business. Runs until
//! killed; a listen failure exits non-zero with a message.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use sansnet_stack::Acceptor;
use sansnet_tokio::{Request, Response, WebSocket, WsOptions, WsSender, accept_ws, serve_with};

/// The mio demo's page, the same file.
const PAGE: &str = include_str!("../../mio/examples/demo/page.html");

/// Where the server listens without `--http` (the demo's HTTP address).
const DEFAULT_ADDR: &str = "127.0.0.1:8080";

const USAGE: &str = "usage: tokio-chat [--http ADDR]   (default 127.0.0.1:8080)";

/// The `/chat` members (a sender per open WebSocket, by a number of its own), shared by the
/// handler and every member's task.
#[derive(Debug, Default)]
struct Room {
    next: u64,
    members: HashMap<u64, WsSender>,
}

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
            eprintln!("tokio-chat: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args() -> Result<SocketAddr, String> {
    let mut addr = DEFAULT_ADDR.to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--http" => addr = args.next().ok_or("--http needs a value")?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?} ({USAGE})")),
        }
    }
    addr.parse()
        .map_err(|_| format!("not an address (IP:PORT): {addr:?}"))
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
    let room = Arc::new(Mutex::new(Room::default()));
    let server = serve_with(listener, acceptor, move |request| {
        route(room.clone(), request)
    })
    .map_err(|e| format!("serve: {e}"))?;
    // The tests wait for this line; stdout may be a pipe, which `println!` flushes per line.
    println!("listening http {}", server.local_addr());
    std::future::pending::<()>().await;
    Ok(())
}

async fn route(room: Arc<Mutex<Room>>, mut request: Request) -> Response {
    let path = request
        .target()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    if let Some(upgraded) = request.take_upgrade() {
        let websocket = request
            .header("upgrade")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"websocket"));
        if !(websocket && (path == "/chat" || path == "/ws")) {
            // Not ours: answered as the plain request it also is, then the connection closes.
            let reply = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\
                         Content-Length: 10\r\nConnection: close\r\n\r\nnot found\n";
            // Dropped, the socket is driven to its close by a task of its own.
            let mut socket = upgraded.socket;
            let raw = socket.conn_mut().socket_mut();
            let _ = raw.end(std::time::Instant::now(), Some(Bytes::from(reply)));
            return Response::new(404);
        }
        match accept_ws(upgraded, request.head(), &WsOptions::default()).await {
            Ok(ws) if path == "/chat" => drop(tokio::spawn(chat(room, ws))),
            Ok(ws) => drop(tokio::spawn(echo(ws))),
            // `accept_ws` answered the bad handshake (400/426) and closes the connection.
            Err(error) => eprintln!("tokio-chat: refused a handshake: {error}"),
        }
        // Not sent: the connection was handed over.
        return Response::new(101);
    }
    match (request.method(), path.as_str()) {
        ("GET" | "HEAD", "/") => Response::new(200)
            .header("Content-Type", "text/html; charset=utf-8")
            .body(PAGE),
        ("GET" | "HEAD", "/hello") => Response::new(200)
            .header("Content-Type", "text/plain")
            .body("hello world"),
        _ => Response::new(404)
            .header("Content-Type", "text/plain")
            .body("not found\n"),
    }
}

/// One `/chat` member: joins the room, sends each of its messages to every member (itself
/// included), and leaves once its WebSocket closed.
async fn chat(room: Arc<Mutex<Room>>, mut ws: WebSocket) {
    let id = {
        let mut room = room.lock().unwrap_or_else(PoisonError::into_inner);
        let id = room.next;
        room.next += 1;
        room.members.insert(id, ws.sender());
        id
    };
    while let Some(message) = ws.recv().await {
        // An error is the peer's: its Close is queued, and `recv` ends after it.
        let Ok(message) = message else { continue };
        let members: Vec<WsSender> = room
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .members
            .values()
            .cloned()
            .collect();
        for member in members {
            // A member that is closing refuses the send: it leaves the room on its own.
            let _ = member.send(message.clone());
        }
    }
    room.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .members
        .remove(&id);
}

/// A `/ws` client: each message sent back.
async fn echo(mut ws: WebSocket) {
    while let Some(message) = ws.recv().await {
        if let Ok(message) = message {
            let _ = ws.send(message).await;
        }
    }
}
