//! `tungstenite-echo`: the WebSocket echo server on synchronous tungstenite that
//! `benches/e2e.sh` puts beside ours and Node's `ws`.
//!
//! ```text
//! cargo run --release -p sansnet-benches --bin tungstenite-echo -- [ADDR]
//! ```
//!
//! Listens on ADDR (default `127.0.0.1:0`), prints `listening ws ADDR` once bound, and echoes
//! every text and binary message. Synchronous tungstenite is used the way its README shows:
//! one thread per connection over a blocking `TcpStream` (`TCP_NODELAY` on); the script pins
//! the whole process to one core, so it gets the same CPU as ours. Runs until killed.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;

fn main() -> ExitCode {
    let addr = match std::env::args().nth(1) {
        None => SocketAddr::from(([127, 0, 0, 1], 0)),
        Some(text) => match text.parse() {
            Ok(addr) => addr,
            Err(_) => {
                eprintln!("tungstenite-echo: not an address (IP:PORT): {text:?}");
                return ExitCode::FAILURE;
            }
        },
    };
    let listener = match TcpListener::bind(addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("tungstenite-echo: listen {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(local) => println!("listening ws {local}"),
        Err(e) => {
            eprintln!("tungstenite-echo: {e}");
            return ExitCode::FAILURE;
        }
    }
    let _ = std::io::stdout().flush();
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                std::thread::spawn(move || echo(stream));
            }
            // EMFILE and the like: that connection is lost, the server goes on.
            Err(e) => eprintln!("tungstenite-echo: accept: {e}"),
        }
    }
    ExitCode::SUCCESS
}

/// Handshake, then echo until the connection ends.
fn echo(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(mut socket) = tungstenite::accept(stream) else {
        return;
    };
    loop {
        match socket.read() {
            Ok(message) if message.is_text() || message.is_binary() => {
                if socket.send(message).is_err() {
                    return;
                }
            }
            // Ping, Pong, Close: tungstenite answers them itself.
            Ok(_) => {}
            Err(_) => return,
        }
    }
}
