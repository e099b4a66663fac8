//! `tls-handshakes`: COUNT TLS 1.3 handshakes through the `sansnet-tls` machines in memory,
//! all full or all resumed, for instruction counts with callgrind beside the `tls` bench:
//!
//! ```text
//! cargo build --release -p sansnet-benches --bin tls-handshakes
//! valgrind --tool=callgrind target/release/tls-handshakes full 200
//! valgrind --tool=callgrind target/release/tls-handshakes resumed 200
//! ```
//!
//! The setup (a certificate, the configurations and, for `resumed`, one full handshake that
//! fills the session cache) runs in both modes; the difference of two runs with different
//! COUNTs gives the cost of one handshake.

use std::process::ExitCode;

use sansnet_benches::tls::{Peers, handshake};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, count) = match args.as_slice() {
        [mode, count] => (mode.as_str(), count.parse::<u32>().ok()),
        _ => ("", None),
    };
    let (Some(count), true) = (count, matches!(mode, "full" | "resumed")) else {
        eprintln!("usage: tls-handshakes full|resumed COUNT");
        return ExitCode::from(2);
    };
    let peers = match Peers::new() {
        Ok(peers) => peers,
        Err(e) => {
            eprintln!("tls-handshakes: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (client, want) = if mode == "full" {
        (&peers.full, false)
    } else {
        (&peers.resuming, true)
    };
    if want && handshake(&peers.server, client) != Some(false) {
        eprintln!("tls-handshakes: the first handshake failed");
        return ExitCode::FAILURE;
    }
    for _ in 0..count {
        if handshake(&peers.server, client) != Some(want) {
            eprintln!("tls-handshakes: a handshake failed or was not {mode}");
            return ExitCode::FAILURE;
        }
    }
    println!("{count} {mode} handshakes");
    ExitCode::SUCCESS
}
