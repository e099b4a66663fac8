//! `autobahn-client`: the WebSocket echo client ("agent") that the Autobahn|Testsuite's client
//! suite (`wstest -m fuzzingserver`) is run against.
//!
//! ```text
//! cargo run --release -p sansnet-mio --example autobahn-client -- [--case-timeout SECS] [URL]
//! ```
//!
//! `bash tests/autobahn.sh` builds this example, runs the suite's fuzzing server against it
//! and checks the results (`tests/data/autobahn/README.md` says where the suite comes from).
//!
//! Talks to the fuzzing server at URL (default `ws://127.0.0.1:9001`), one connection at a
//! time, the usual Autobahn way: `/getCaseCount` answers one text message, the number of
//! cases N; then for each case I in 1..=N it opens `/runCase?case=I&agent=sansnet` and echoes
//! every text and binary message back until the connection closes; last, it opens
//! `/updateReports?agent=sansnet` so that the suite writes its reports. Every connection offers
//! `permessage-deflate; client_no_context_takeover; client_max_window_bits` (sections 12 and
//! 13: the suite's server accepts with or without asking for no context takeover or a window
//! size, and some of its cases need the client to have offered both) and takes the answer of
//! each case; every message is compressed once agreed (threshold 0). Each connection gets
//! `--case-timeout` seconds (default 60, see `CASE_TIMEOUT`; the slowest cases, section
//! 12's 1000 compressed messages of 128 KiB, take 12 to 14 s on a 2-core machine) to finish,
//! after which it is terminated and the next case runs (the suite then grades that case).
//! Prints one line per case (`case I/N: close CODE clean`).
//!
//! Exits 0 once the reports were asked for; a bad URL, an unreadable case count, or a failure
//! to reach `/updateReports` exits non-zero with a message. Per-case problems (a handshake
//! that failed, a timeout) are printed on stderr and left for the suite's report to grade.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use sansnet_http1::Origin;
use sansnet_mio::{Event, EventLoop, SocketId};
use sansnet_ws::{Message, WsEvent};

/// Where the fuzzing server listens without an argument.
const DEFAULT_URL: &str = "ws://127.0.0.1:9001";

/// The agent name the reports are filed under.
const AGENT: &str = "sansnet";

/// How long one connection (one case) may take by default: 60 s.
///
/// Most cases take milliseconds; section 9's 16 MiB messages and the suite's own 1 s waits
/// (5.19, 5.20, 6.4.x) about 1 s. The slowest are section 12's cases of 1000 compressed
/// messages of 128 KiB (12.x.10 unfragmented, 12.x.15 to 12.x.18 auto-fragmented to 256 B up
/// to 32 KiB): on a 2-core machine, with the suite's Python server taking two thirds of the
/// CPU, 12.2.15, 12.2.16, 12.3.10 and 12.3.15 to 12.3.18 took 12 to 14 s each, so a 10 s
/// limit cut 7 of them short. 60 s leaves more than four times that for a slower or busier
/// machine, stays well under the suite's own limit for those cases (480 s, `WAITSECS` in the
/// suite's `autobahntestsuite/case/case12_x_x.py`), and bounds what a hung case costs.
/// `tests/autobahn.sh` passes `--case-timeout 60` too.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest message accepted: section 9 goes up to 16 MiB.
const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("autobahn-client: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What one connection ended with.
#[derive(Debug)]
enum Outcome {
    /// The machine's `Close` event.
    Closed { code: u16, was_clean: bool },
    /// The connection was terminated after the case timeout.
    TimedOut,
}

/// What to do with the messages of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Send each one back (the cases).
    Echo,
    /// Keep them (`/getCaseCount`).
    Collect,
}

fn run() -> Result<(), String> {
    let Options {
        origin,
        case_timeout,
    } = parse_args()?;
    let mut ev = EventLoop::new().map_err(|e| format!("event loop: {e}"))?;
    let config = sansnet_ws::Config {
        max_payload: MAX_PAYLOAD,
        deflate: sansnet_ws::DeflateConfig {
            threshold: 0,
            client_no_context_takeover: true,
            ..Default::default()
        },
        ..Default::default()
    };

    let (messages, _) = session(
        &mut ev,
        &origin,
        "/getCaseCount",
        &config,
        Mode::Collect,
        case_timeout,
    )
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
        let path = format!("/runCase?case={case}&agent={AGENT}");
        match session(&mut ev, &origin, &path, &config, Mode::Echo, case_timeout) {
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

    let path = format!("/updateReports?agent={AGENT}");
    session(
        &mut ev,
        &origin,
        &path,
        &config,
        Mode::Collect,
        case_timeout,
    )
    .map_err(|e| format!("/updateReports: {e}"))?;
    println!("reports updated");
    Ok(())
}

/// What the command line asks for.
#[derive(Debug)]
struct Options {
    /// The fuzzing server's host and port.
    origin: Origin,
    /// How long one connection may take.
    case_timeout: Duration,
}

const USAGE: &str =
    "usage: autobahn-client [--case-timeout SECS] [URL]   (default ws://127.0.0.1:9001)";

fn parse_args() -> Result<Options, String> {
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
    Ok(Options {
        origin: Origin::parse_ws_url(&url)
            .map_err(|e| format!("{url:?}: {e}"))?
            .0,
        case_timeout,
    })
}

/// Opens a WebSocket on `path` and runs it until it closes or `timeout` passes.
/// Returns the messages kept (in `Collect` mode) and how it ended; `Err` when it could not be
/// opened.
fn session(
    ev: &mut EventLoop,
    origin: &Origin,
    path: &str,
    config: &sansnet_ws::Config,
    mode: Mode,
    timeout: Duration,
) -> Result<(Vec<Message>, Outcome), String> {
    let deadline = Instant::now() + timeout;
    let request = ev.ws_connect(origin.clone(), path, &[], config.clone());
    let mut socket: Option<SocketId> = None;
    let mut kept = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            if let Some(socket) = socket {
                let _ = ev.ws_command(socket, |conn, _| {
                    conn.terminate();
                    Ok(())
                });
            }
            return Ok((kept, Outcome::TimedOut));
        }
        let event = match ev.next_event(Some(left)) {
            Ok(Some(event)) => event,
            // Either the time ran out (checked above) or nothing is left that could answer.
            Ok(None) if Instant::now() >= deadline => continue,
            Ok(None) => return Err("the connection vanished without a close".into()),
            Err(e) => return Err(format!("poll: {e}")),
        };
        match event {
            Event::WsOpen {
                request: r,
                socket: s,
                ..
            } if r == request => socket = Some(s),
            Event::WsOpenFailed { request: r, error } if r == request => {
                return Err(format!("handshake failed: {error}"));
            }
            Event::Ws { socket: s, event } if Some(s) == socket => match event {
                WsEvent::Message(message) => match mode {
                    // `Err` means the closing handshake began: nothing is sent any more.
                    Mode::Echo => {
                        let _ = ev.ws_send(s, message);
                    }
                    Mode::Collect => kept.push(message),
                },
                WsEvent::Close {
                    code, was_clean, ..
                } => return Ok((kept, Outcome::Closed { code, was_clean })),
                _ => {}
            },
            // Leftovers of an earlier, terminated connection.
            _ => {}
        }
    }
}
