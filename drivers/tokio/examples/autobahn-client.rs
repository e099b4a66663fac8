//! `autobahn-client`: the WebSocket echo client ("agent") of sansnet-tokio that the
//! Autobahn|Testsuite's client suite (`wstest -m fuzzingserver`) is run against; the same
//! contract as sansnet-mio's example of the same name.
//!
//! ```text
//! cargo run --release -p sansnet-tokio --example tokio-autobahn-client -- [--case-timeout SECS] [URL]
//! ```
//!
//! `AUTOBAHN_DRIVER=tokio bash tests/autobahn.sh` builds this example, runs the suite's
//! fuzzing server against it and checks the results.
//!
//! Talks to the fuzzing server at URL (default `ws://127.0.0.1:9001`), one connection at a
//! time: `/getCaseCount` answers one text message, the number of cases N; then for each case I
//! in 1..=N it opens `/runCase?case=I&agent=sansnet` with [`sansnet_tokio::ws_connect`] and
//! echoes every text and binary message back until the connection closes; last, it opens
//! `/updateReports?agent=sansnet` so that the suite writes its reports. Every connection offers
//! `permessage-deflate; client_no_context_takeover; client_max_window_bits` (sections 12 and
//! 13) and compresses every message once agreed (threshold 0). Each connection gets
//! `--case-timeout` seconds (default 60, as sansnet-mio's agent; section 12's slowest cases
//! take over 10 s on a 2-core machine) to finish, after which it is terminated and the next
//! case runs (the suite then grades that case). Prints one line per case (`case I/N: close
//! CODE clean`). Runs on tokio's current-thread runtime.
//!
//! Exits 0 once the reports were asked for; a bad URL, an unreadable case count, or a failure
//! to reach `/updateReports` exits non-zero with a message. Per-case problems (a handshake
//! that failed, a timeout) are printed on stderr and left for the suite's report to grade.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use sansnet_tokio::{Message, WsOptions, ws_connect};

/// Where the fuzzing server listens without an argument.
const DEFAULT_URL: &str = "ws://127.0.0.1:9001";

/// The agent name the reports are filed under.
const AGENT: &str = "sansnet";

/// How long one connection (one case) may take by default (see sansnet-mio's
/// `examples/autobahn-client.rs` for the measurements behind 60 s).
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest message accepted: section 9 goes up to 16 MiB.
const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

const USAGE: &str =
    "usage: autobahn-client [--case-timeout SECS] [URL]   (default ws://127.0.0.1:9001)";

fn main() -> ExitCode {
    let result = parse_args().and_then(|(url, case_timeout)| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?
            .block_on(run(url, case_timeout))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("autobahn-client: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The URL (without a trailing `/`) and the case timeout.
fn parse_args() -> Result<(String, Duration), String> {
    let mut url = None;
    let mut case_timeout = CASE_TIMEOUT;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Err(USAGE.into()),
            "--case-timeout" => {
                let secs = args.next().ok_or("--case-timeout needs a value")?;
                let secs: u64 = secs
                    .parse()
                    .map_err(|_| format!("--case-timeout: not a number of seconds: {secs:?}"))?;
                case_timeout = Duration::from_secs(secs.max(1));
            }
            _ if url.is_none() && !arg.starts_with('-') => url = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}\n{USAGE}")),
        }
    }
    let url = url.unwrap_or_else(|| DEFAULT_URL.to_string());
    if !url.starts_with("ws://") {
        return Err(format!("not a ws:// URL (ws://HOST[:PORT]): {url:?}"));
    }
    Ok((url.trim_end_matches('/').to_string(), case_timeout))
}

/// What to do with the messages of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Send each one back (the cases).
    Echo,
    /// Keep them (`/getCaseCount`).
    Collect,
}

/// What one connection ended with.
#[derive(Debug)]
enum Outcome {
    /// The machine's `Close` event.
    Closed { code: u16, was_clean: bool },
    /// The connection was terminated after the case timeout.
    TimedOut,
}

async fn run(base: String, case_timeout: Duration) -> Result<(), String> {
    let options = WsOptions::new(sansnet_ws::Config {
        max_payload: MAX_PAYLOAD,
        deflate: sansnet_ws::DeflateConfig {
            threshold: 0,
            client_no_context_takeover: true,
            ..Default::default()
        },
        ..Default::default()
    });

    let url = format!("{base}/getCaseCount");
    let (messages, _) = session(&url, &options, Mode::Collect, case_timeout)
        .await
        .map_err(|e| format!("/getCaseCount: {e}"))?;
    let text = messages
        .first()
        .and_then(Message::as_text)
        .ok_or("/getCaseCount: no text message")?;
    let count: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("/getCaseCount: not a number: {text:?}"))?;
    println!("{count} cases");

    let started = Instant::now();
    let mut problems = 0u32;
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={AGENT}");
        match session(&url, &options, Mode::Echo, case_timeout).await {
            Ok((_, Outcome::Closed { code, was_clean })) => {
                let clean = if was_clean { "clean" } else { "not clean" };
                println!("case {case}/{count}: close {code} {clean}");
            }
            Ok((_, Outcome::TimedOut)) => {
                problems += 1;
                eprintln!("case {case}/{count}: no close after {case_timeout:?}; terminated");
            }
            Err(error) => {
                problems += 1;
                eprintln!("case {case}/{count}: {error}");
            }
        }
    }
    println!(
        "{count} cases in {:.1} s ({problems} without a close)",
        started.elapsed().as_secs_f64()
    );

    let url = format!("{base}/updateReports?agent={AGENT}");
    session(&url, &options, Mode::Collect, case_timeout)
        .await
        .map_err(|e| format!("/updateReports: {e}"))?;
    println!("reports updated");
    Ok(())
}

/// Opens a WebSocket on `url` and runs it until it closes or `timeout` passes. Returns the
/// messages kept (in `Collect` mode) and how it ended; `Err` when it could not be opened.
async fn session(
    url: &str,
    options: &WsOptions,
    mode: Mode,
    timeout: Duration,
) -> Result<(Vec<Message>, Outcome), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut ws = match tokio::time::timeout_at(deadline, ws_connect(url, options)).await {
        Ok(opened) => opened.map_err(|e| format!("handshake failed: {e}"))?,
        Err(_) => return Ok((Vec::new(), Outcome::TimedOut)),
    };
    let mut kept = Vec::new();
    let ran = tokio::time::timeout_at(deadline, async {
        while let Some(message) = ws.recv().await {
            // An error is the peer's: its Close is queued and the close follows.
            let Ok(message) = message else { continue };
            match mode {
                // `Err` means the closing handshake began: nothing is sent any more.
                Mode::Echo => {
                    let _ = ws.send(message).await;
                }
                Mode::Collect => kept.push(message),
            }
        }
    })
    .await;
    if ran.is_err() {
        let _ = ws.command(|conn, _| {
            conn.terminate();
            Ok(())
        });
        return Ok((kept, Outcome::TimedOut));
    }
    match ws.close_status() {
        Some(status) => Ok((
            kept,
            Outcome::Closed {
                code: status.code,
                was_clean: status.was_clean,
            },
        )),
        None => Err("the connection vanished without a close".into()),
    }
}
