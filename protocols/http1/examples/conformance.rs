//! Conformance runner: replays a JSON-lines HTTP/1.1 parsing corpus through the server machine
//! (requests) and the client machine (responses).
//!
//! Usage:
//!
//! ```text
//! cargo run --release -p sansnet-http1 --example conformance -- \
//!     [--kind request|response] [--seed N] [--verbose] FILE.jsonl
//! ```
//!
//! The corpus schema is `shared/conformance/http1/README.md`. Every case of the selected kind
//! (default: all kinds) runs; nothing is skipped. Output: one `FAIL <id>: <what differed>` line
//! per failing case (with `--verbose`, also the observation), then `N passed, M failed`; the
//! exit code is 0 when nothing failed, 1 otherwise, 2 on a usage or corpus error.
//!
//! Decisions:
//!
//! - `kind: "response"` cases run through `ClientConnection` (`chunk_events` on, otherwise the
//!   defaults). Before the input, the runner sends and ends `messages + 2` requests, pipelined,
//!   with the case's `request_method` (target `/`, or `example.com:443` for CONNECT, and a
//!   `Host`). A server may send 101 only to a request that offered the upgrade (RFC 9110 §7.8), so
//!   when an expected message is an upgrading 101 the requests carry `Connection: upgrade` and
//!   that 101's `Upgrade` value. A message comes from `Information` (a 1xx: complete at its
//!   head's end), `Response`, `Upgrade` or `Connect` (the latter two set `upgrade` and are
//!   complete at the head's end); `Continue` carries no head and adds nothing, so a `100` is
//!   listed only if the machine also reports it as `Information` (Node docs `http.md` ›
//!   `Event: 'information'`). `framing` is `ResponseBody` (`None` → `none`, which is also what
//!   `Content-Length: 0` gives, as in the corpus; `UntilClose` → `eof`). `end` follows the request
//!   rules below with `Error` in the place of `ClientError`; `closed` means `Close` came or the
//!   machine stopped reading.
//! - Each case is fed whole, byte at a time, and in 3 random splits (xorshift64 seeded by
//!   `--seed`, default 1, and the case's index). The driver keeps one buffer, appends each
//!   piece and calls `handle_input`, as a real driver does. All runs must give the same
//!   observation, and it must match `expect`. If `eof` is true, `handle_eof` follows the input.
//! - `layer: "parser"` (default) runs without the `Host` requirement, with `upgrade`,
//!   `connect` and `chunk_events` on, no `Date`, `max_pipelined` 1000 and no timeouts;
//!   `layer: "server"` runs with `ServerConfig::default()` (Node's defaults) plus
//!   `chunk_events`.
//! - The runner answers nothing while the input is fed; error replies are queued by the
//!   machine itself. After the observation is taken, if a client error happened, the runner
//!   answers every request still owed a response (200, empty) so that a reply held behind them
//!   leaves; the error `status` is the first final (non-1xx) status line transmitted after the
//!   last 2xx one, and `close` is true when the machine emitted `Close` or asked for
//!   `Shutdown`/`Destroy`.
//! - Requests: a message comes from `Request`, `CheckContinue`, `Connect` or `Upgrade` (the
//!   latter two set `upgrade`). Both kinds: `body` joins `Data`, `chunks` lists `Chunk` events (the last, 0-size chunk
//!   included), `End` gives `trailers`, `complete` and `offsets.end` (a CONNECT message is
//!   complete at its head's end). `content_length` is the framing's length, else the value of
//!   a lone `Content-Length` field (a CONNECT request carries one but has no body).
//! - `end`: `error` after `ClientError` (phase `eof` if `handle_eof` raised it, `body` if the
//!   last message was delivered and is not complete, else `head`); `upgrade` after
//!   `Connect`/`Upgrade` (`remaining`: the event's `head` plus later input); `closed` when the
//!   machine stopped taking requests (`Close`, or it no longer wants to read although neither
//!   pipelining nor the response high-water mark holds it back; `remaining`: the unconsumed
//!   input); `incomplete` when the last message is not complete or unconsumed bytes other than
//!   CR/LF are left; otherwise `idle`.
//! - Only fields present in `expect` are compared. `error.code`, `error.reason` and
//!   `error.offset` are informative (any rejection agrees); `end`, `phase`, and when present
//!   `status` (or one of `also_ok`) and `close` are compared. With `expect.also_ok_error`, an
//!   error outcome agreeing with that object's `phase`/`status`/`close` also passes.
//! - The split runs are compared on the whole observation, the error code included: the
//!   machine promises events that do not depend on how the bytes were split, so a code that
//!   changes with the split is reported even though the code is not compared with `expect`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sansnet_http1::{
    Action, BodyFraming, ClientConfig, ClientConnection, ClientEvent, ClientRequest, RawHeaders,
    Request, Response, ResponseBody, ResponseHead, ServerConfig, ServerConnection, ServerEvent,
};
use serde_json::{Map, Value};

/// Header or trailer fields: names as sent, values.
type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// Random splits per case, besides the whole input and byte at a time.
const RANDOM_SPLITS: usize = 3;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("conformance: {message}");
            ExitCode::from(2)
        }
    }
}

/// Command-line options.
#[derive(Debug)]
struct Options {
    kind: Option<String>,
    seed: u64,
    verbose: bool,
    file: String,
}

fn parse_args() -> Result<Options, String> {
    let mut kind = None;
    let mut seed = 1;
    let mut verbose = false;
    let mut file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--kind" => {
                let value = args.next().ok_or("--kind needs request|response")?;
                if value != "request" && value != "response" {
                    return Err(format!("--kind {value}: expected request or response"));
                }
                kind = Some(value);
            }
            "--seed" => {
                let value = args.next().ok_or("--seed needs a number")?;
                seed = value.parse().map_err(|e| format!("--seed {value}: {e}"))?;
            }
            "--verbose" => verbose = true,
            "-h" | "--help" => {
                return Err("usage: conformance [--kind request|response] [--seed N] \
                            [--verbose] FILE.jsonl"
                    .to_owned());
            }
            _ if file.is_none() && !arg.starts_with("--") => file = Some(arg),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    let file = file.ok_or("missing FILE.jsonl")?;
    Ok(Options {
        kind,
        seed,
        verbose,
        file,
    })
}

fn run() -> Result<bool, String> {
    let options = parse_args()?;
    let text =
        std::fs::read_to_string(&options.file).map_err(|e| format!("{}: {e}", options.file))?;
    let (mut passed, mut failed) = (0_usize, 0_usize);
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", index + 1))?;
        let id = case
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("<no id>")
            .to_owned();
        let kind = case.get("kind").and_then(Value::as_str).unwrap_or("");
        if options.kind.as_deref().is_some_and(|k| k != kind) {
            continue;
        }
        let verdict = match kind {
            "request" => run_request_case(&case, index, options.seed)
                .map_err(|e| format!("line {} ({id}): {e}", index + 1))?,
            "response" => run_response_case(&case, index, options.seed)
                .map_err(|e| format!("line {} ({id}): {e}", index + 1))?,
            other => Verdict::fail(&format!("unknown kind {other:?}")),
        };
        if verdict.diffs.is_empty() {
            passed += 1;
        } else {
            failed += 1;
            println!("FAIL {id}: {}", verdict.diffs.join("; "));
            if options.verbose
                && let Some(observation) = &verdict.observation
            {
                println!("  observed: {}", observation.describe());
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(failed == 0)
}

/// The outcome of one case.
#[derive(Debug)]
struct Verdict {
    diffs: Vec<String>,
    observation: Option<Observation>,
}

impl Verdict {
    fn fail(reason: &str) -> Self {
        Self {
            diffs: vec![reason.to_owned()],
            observation: None,
        }
    }
}

// ---- observation ------------------------------------------------------------------------

/// One message as the machine reported it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Message {
    /// Set once the head event arrived (`Data`/`End` of an upgrade request come before it).
    head: Option<Head>,
    body: Vec<u8>,
    chunks: Vec<Chunk>,
    trailers: Fields,
    complete: bool,
    end: Option<u64>,
    upgrade: bool,
}

/// The head fields of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    method: Vec<u8>,
    url: Vec<u8>,
    /// Responses: the status code and the reason phrase as sent.
    status: Option<u16>,
    reason: Vec<u8>,
    version: &'static str,
    headers: Fields,
    framing: &'static str,
    content_length: Option<u64>,
    keep_alive: bool,
    expect_continue: bool,
    start: u64,
    head_end: u64,
}

/// A `Chunk` event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Chunk {
    size: u64,
    extensions: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// What a run of one case produced.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observation {
    messages: Vec<Message>,
    end: &'static str,
    remaining: Vec<u8>,
    /// `(code, phase)` of the client error.
    error: Option<(&'static str, &'static str)>,
    /// The status of the machine's error reply (after answering what was owed).
    status: Option<u16>,
    /// The machine emitted `Close` or asked for `Shutdown`/`Destroy`.
    close: bool,
}

impl Observation {
    fn describe(&self) -> String {
        let mut out = format!("end={}", self.end);
        if let Some((code, phase)) = self.error {
            let _ = write!(out, " error={code}/{phase}");
        }
        if let Some(status) = self.status {
            let _ = write!(out, " status={status}");
        }
        let _ = write!(
            out,
            " close={} remaining=\"{}\"",
            self.close,
            esc(&self.remaining)
        );
        for message in &self.messages {
            let _ = write!(out, "\n    {}", describe_message(message));
        }
        out
    }
}

fn describe_message(m: &Message) -> String {
    let mut out = String::new();
    if let Some(h) = &m.head {
        match h.status {
            Some(status) => write!(out, "{} {status} \"{}\"", h.version, esc(&h.reason)),
            None => write!(out, "{} \"{}\" {}", esc(&h.method), esc(&h.url), h.version),
        }
        .unwrap_or_default();
        let _ = write!(
            out,
            " headers=[{}] framing={} cl={:?} keep_alive={} expect_continue={} \
             start={} head_end={}",
            pairs(&h.headers),
            h.framing,
            h.content_length,
            h.keep_alive,
            h.expect_continue,
            h.start,
            h.head_end
        );
    } else {
        out.push_str("<no head>");
    }
    let _ = write!(
        out,
        " body=\"{}\" chunks=[{}] trailers=[{}] complete={} upgrade={} end={:?}",
        esc(&m.body),
        m.chunks
            .iter()
            .map(describe_chunk)
            .collect::<Vec<_>>()
            .join(", "),
        pairs(&m.trailers),
        m.complete,
        m.upgrade,
        m.end
    );
    out
}

fn describe_chunk(chunk: &Chunk) -> String {
    let mut out = chunk.size.to_string();
    for (name, value) in &chunk.extensions {
        let _ = write!(out, ";{}", esc(name));
        if let Some(value) = value {
            let _ = write!(out, "={}", esc(value));
        }
    }
    out
}

fn pairs(list: &[(Vec<u8>, Vec<u8>)]) -> String {
    list.iter()
        .map(|(n, v)| format!("{}: {}", esc(n), esc(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Bytes as an escaped string: printable ASCII as is, else `\r`, `\n`, `\t`, `\xHH`.
fn esc(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

// ---- running ----------------------------------------------------------------------------

fn config_for(case: &Value) -> Result<ServerConfig, String> {
    match case
        .get("layer")
        .and_then(Value::as_str)
        .unwrap_or("parser")
    {
        "parser" => Ok(ServerConfig {
            require_host_header: false,
            upgrade: true,
            connect: true,
            chunk_events: true,
            send_date: false,
            max_pipelined: 1000,
            headers_timeout: None,
            request_timeout: None,
            keep_alive_timeout: None,
            ..ServerConfig::default()
        }),
        "server" => Ok(ServerConfig {
            chunk_events: true,
            ..ServerConfig::default()
        }),
        other => Err(format!("unknown layer {other:?}")),
    }
}

fn run_request_case(case: &Value, index: usize, seed: u64) -> Result<Verdict, String> {
    let raw = byte_string(case.get("raw").ok_or("no raw")?)?;
    let eof = case.get("eof").and_then(Value::as_bool).unwrap_or(false);
    let config = config_for(case)?;
    run_plans(case, &raw, index, seed, |cuts| {
        observe(&raw, cuts, eof, &config)
    })
}

fn run_response_case(case: &Value, index: usize, seed: u64) -> Result<Verdict, String> {
    let raw = byte_string(case.get("raw").ok_or("no raw")?)?;
    let eof = case.get("eof").and_then(Value::as_bool).unwrap_or(false);
    let method = case
        .get("request_method")
        .and_then(Value::as_str)
        .unwrap_or("GET")
        .to_owned();
    let messages = case
        .get("expect")
        .and_then(|e| e.get("messages"))
        .and_then(Value::as_array);
    let requests = messages.map_or(0, Vec::len) + 2;
    // A server may send 101 only to a request that offered the upgrade (RFC 9110 §7.8): offer the
    // protocol the expected 101 names.
    let upgrade = messages.into_iter().flatten().find_map(|m| {
        let is_upgrade = m.get("upgrade").and_then(Value::as_bool) == Some(true)
            && m.get("status").and_then(Value::as_u64) == Some(101);
        let headers = pair_list(m.get("headers")?).ok()?;
        is_upgrade.then(|| {
            headers
                .into_iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(b"upgrade"))
                .map_or_else(|| b"h2c".to_vec(), |(_, v)| v)
        })
    });
    let setup = ResponseSetup {
        method,
        requests,
        upgrade,
        eof,
    };
    run_plans(case, &raw, index, seed, |cuts| {
        observe_response(&raw, cuts, &setup)
    })
}

/// Observes the whole input, byte at a time and random splits; compares them with each other
/// and the whole run with `expect`.
fn run_plans(
    case: &Value,
    raw: &[u8],
    index: usize,
    seed: u64,
    observe: impl Fn(&[usize]) -> Observation,
) -> Result<Verdict, String> {
    let expect = case
        .get("expect")
        .and_then(Value::as_object)
        .ok_or("no expect")?;

    let mut plans: Vec<(String, Vec<usize>)> = vec![
        ("whole".to_owned(), Vec::new()),
        ("byte-at-a-time".to_owned(), (1..raw.len()).collect()),
    ];
    let mut rng =
        XorShift::new(seed ^ (u64::try_from(index).unwrap_or(0) + 1).wrapping_mul(0x9e37_79b9));
    for n in 0..RANDOM_SPLITS {
        let cuts = random_cuts(&mut rng, raw.len());
        plans.push((format!("split#{n} {cuts:?}"), cuts));
    }

    let mut diffs = Vec::new();
    let baseline = observe(&plans[0].1);
    for (name, cuts) in &plans[1..] {
        let other = observe(cuts);
        if other != baseline {
            diffs.push(format!(
                "split dependence: {name} observed {} but whole observed {}",
                other.describe(),
                baseline.describe()
            ));
            break;
        }
    }
    let mut compared = compare(expect, &baseline);
    if !compared.is_empty()
        && let Some(alternative) = expect.get("also_ok_error").and_then(Value::as_object)
        && baseline.end == "error"
        && compare_error(alternative, &baseline).is_empty()
    {
        compared.clear();
    }
    diffs.extend(compared);
    Ok(Verdict {
        diffs,
        observation: Some(baseline),
    })
}

/// Runs the machine over `raw` cut at `cuts` (sorted offsets) and observes it.
fn observe(raw: &[u8], cuts: &[usize], eof: bool, config: &ServerConfig) -> Observation {
    let now = Instant::now();
    let mut conn = ServerConnection::new(now, config.clone());
    let mut state = RunState::default();
    let mut buf = BytesMut::new();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&raw.len())) {
        buf.extend_from_slice(&raw[from..to]);
        from = to;
        conn.handle_input(now, &mut buf);
        state.drain(&mut conn, now);
    }
    if eof {
        state.in_eof = true;
        conn.handle_eof(now);
        state.drain(&mut conn, now);
    }

    let messages: Vec<Message> = state
        .messages
        .values()
        .filter(|m| m.head.is_some())
        .cloned()
        .collect();
    let (end, remaining) = if state.error.is_some() {
        ("error", Vec::new())
    } else if let Some(head) = &state.upgrade_head {
        let mut remaining = head.clone();
        remaining.extend_from_slice(&buf);
        ("upgrade", remaining)
    } else if state.close
        || (!conn.wants_read()
            && conn.pending_responses() < config.max_pipelined
            && conn.buffered() < config.high_water_mark)
    {
        ("closed", buf.to_vec())
    } else if messages.last().is_some_and(|m| !m.complete)
        || buf.iter().any(|&b| b != b'\r' && b != b'\n')
    {
        ("incomplete", buf.to_vec())
    } else {
        ("idle", buf.to_vec())
    };

    // Let an error reply held behind unanswered requests leave, then read its status.
    if state.error.is_some() {
        let ids: Vec<u64> = state.messages.keys().copied().collect();
        for id in ids {
            let _ = conn.respond(
                now,
                sansnet_http1::RequestId(id),
                Response::new(200),
                Bytes::new(),
            );
            state.drain(&mut conn, now);
        }
    }
    let status = state.error.and_then(|_| error_status(&state.transmitted));
    Observation {
        messages,
        end,
        remaining,
        error: state.error,
        status,
        close: state.close,
    }
}

/// What the events of one run built up.
#[derive(Debug, Default)]
struct RunState {
    messages: BTreeMap<u64, Message>,
    upgrade_head: Option<Vec<u8>>,
    error: Option<(&'static str, &'static str)>,
    close: bool,
    in_eof: bool,
    transmitted: Vec<u8>,
}

impl RunState {
    fn drain(&mut self, conn: &mut ServerConnection, now: Instant) {
        while let Some(chunk) = conn.pop_transmit(now) {
            self.transmitted.extend_from_slice(&chunk);
        }
        while let Some(action) = conn.poll_action() {
            if matches!(action, Action::Shutdown | Action::Close { reset: false }) {
                self.close = true;
            }
        }
        while let Some(event) = conn.poll_event() {
            self.event(event);
        }
    }

    fn event(&mut self, event: ServerEvent) {
        match event {
            ServerEvent::Request(request) | ServerEvent::CheckContinue(request) => {
                self.head(&request, false);
            }
            ServerEvent::Connect { request, head } => {
                let id = request.id.0;
                let head_end = request.head_end;
                self.head(&request, true);
                let message = self.messages.entry(id).or_default();
                message.complete = true;
                message.end = Some(head_end);
                self.upgrade_head = Some(head.to_vec());
            }
            ServerEvent::Upgrade { request, head } => {
                self.head(&request, true);
                self.upgrade_head = Some(head.to_vec());
            }
            ServerEvent::Chunk {
                id,
                size,
                extensions,
            } => {
                let extensions = extensions
                    .into_iter()
                    .map(|(name, value)| (name.to_vec(), value.map(|v| v.to_vec())))
                    .collect();
                self.messages
                    .entry(id.0)
                    .or_default()
                    .chunks
                    .push(Chunk { size, extensions });
            }
            ServerEvent::Data { id, data } => {
                self.messages
                    .entry(id.0)
                    .or_default()
                    .body
                    .extend_from_slice(&data);
            }
            ServerEvent::End { id, trailers, end } => {
                let message = self.messages.entry(id.0).or_default();
                message.trailers = header_pairs(&trailers);
                message.complete = true;
                message.end = Some(end);
            }
            ServerEvent::ClientError(error) => {
                let phase = if self.in_eof {
                    "eof"
                } else if self
                    .messages
                    .values()
                    .next_back()
                    .is_some_and(|m| !m.complete)
                {
                    "body"
                } else {
                    "head"
                };
                if self.error.is_none() {
                    self.error = Some((error.code(), phase));
                }
            }
            ServerEvent::Close => self.close = true,
            // `DropRequest`, `Drain` and later variants carry nothing this corpus checks.
            _ => {}
        }
    }

    fn head(&mut self, request: &Request, upgrade: bool) {
        let headers = header_pairs(&request.headers);
        let content_length = match request.framing {
            BodyFraming::ContentLength(n) => Some(n),
            BodyFraming::None | BodyFraming::Chunked => lone_content_length(&headers),
        };
        let message = self.messages.entry(request.id.0).or_default();
        message.upgrade = upgrade;
        message.head = Some(Head {
            method: request.method.to_vec(),
            url: request.target.to_vec(),
            status: None,
            reason: Vec::new(),
            version: request.version.as_str(),
            headers,
            framing: match request.framing {
                BodyFraming::None => "none",
                BodyFraming::ContentLength(_) => "content-length",
                BodyFraming::Chunked => "chunked",
            },
            content_length,
            keep_alive: request.keep_alive,
            expect_continue: request.expect_continue,
            start: request.start,
            head_end: request.head_end,
        });
    }
}

// ---- responses (client machine) -----------------------------------------------------------

/// How a response case is replayed.
#[derive(Debug)]
struct ResponseSetup {
    /// The method of every request sent (`request_method`).
    method: String,
    /// How many requests are sent, pipelined, before the input.
    requests: usize,
    /// The protocol the requests offer (`Connection: upgrade`), if any.
    upgrade: Option<Vec<u8>>,
    eof: bool,
}

/// Sends `setup.requests` requests, then feeds `raw` cut at `cuts` as the server's bytes.
fn observe_response(raw: &[u8], cuts: &[usize], setup: &ResponseSetup) -> Observation {
    let now = Instant::now();
    let config = ClientConfig {
        chunk_events: true,
        ..ClientConfig::default()
    };
    let mut conn = ClientConnection::new(now, config);
    let mut state = ResponseRunState::default();
    let target: &[u8] = if setup.method == "CONNECT" {
        b"example.com:443"
    } else {
        b"/"
    };
    for _ in 0..setup.requests {
        let mut request = ClientRequest::new(setup.method.clone().into_bytes(), target.to_vec())
            .header("Host", "example.com");
        if let Some(protocol) = &setup.upgrade {
            request = request
                .header("Connection", "upgrade")
                .header("Upgrade", protocol.clone());
        }
        let sent = conn
            .send_request(now, request)
            .and_then(|id| conn.end(now, id, None));
        if let Err(error) = sent {
            state.setup_error = Some(error.to_string());
            break;
        }
        state.drain(&mut conn, now);
    }
    let mut buf = BytesMut::new();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&raw.len())) {
        buf.extend_from_slice(&raw[from..to]);
        from = to;
        conn.handle_input(now, &mut buf);
        state.drain(&mut conn, now);
    }
    if setup.eof {
        state.in_eof = true;
        conn.handle_eof(now);
        state.drain(&mut conn, now);
    }

    let messages: Vec<Message> = state.messages.iter().map(|(_, m)| m.clone()).collect();
    let (end, remaining) = if state.error.is_some() || state.setup_error.is_some() {
        ("error", Vec::new())
    } else if let Some(head) = &state.upgrade_head {
        let mut remaining = head.clone();
        remaining.extend_from_slice(&buf);
        ("upgrade", remaining)
    } else if state.close || !conn.wants_read() {
        ("closed", buf.to_vec())
    } else if messages.last().is_some_and(|m| !m.complete)
        || buf.iter().any(|&b| b != b'\r' && b != b'\n')
    {
        ("incomplete", buf.to_vec())
    } else {
        ("idle", buf.to_vec())
    };
    Observation {
        messages,
        end,
        remaining,
        error: state
            .error
            .or_else(|| state.setup_error.as_ref().map(|_| ("SETUP", "head"))),
        status: None,
        close: state.close,
    }
}

/// What the events of one response run built up.
#[derive(Debug, Default)]
struct ResponseRunState {
    /// Messages in arrival order with the request they answer: 1xx and final responses.
    messages: Vec<(u64, Message)>,
    upgrade_head: Option<Vec<u8>>,
    error: Option<(&'static str, &'static str)>,
    /// A request could not be sent (a runner or machine fault, reported as an error).
    setup_error: Option<String>,
    close: bool,
    in_eof: bool,
}

impl ResponseRunState {
    fn drain(&mut self, conn: &mut ClientConnection, now: Instant) {
        while conn.pop_transmit(now).is_some() {}
        while let Some(action) = conn.poll_action() {
            if matches!(action, Action::Shutdown | Action::Close { reset: false }) {
                self.close = true;
            }
        }
        while let Some(event) = conn.poll_event() {
            self.event(event);
        }
    }

    /// The latest message answering request `id` (body events belong to it).
    fn current(&mut self, id: u64) -> &mut Message {
        if let Some(at) = self.messages.iter().rposition(|(i, _)| *i == id) {
            &mut self.messages[at].1
        } else {
            self.messages.push((id, Message::default()));
            let last = self.messages.len() - 1;
            &mut self.messages[last].1
        }
    }

    fn event(&mut self, event: ClientEvent) {
        match event {
            ClientEvent::Information(response) => {
                let head_end = response.head_end;
                let message = self.head(&response, false);
                message.complete = true;
                message.end = Some(head_end);
            }
            ClientEvent::Response(response) => {
                self.head(&response, false);
            }
            ClientEvent::Upgrade { response, head } | ClientEvent::Connect { response, head } => {
                let head_end = response.head_end;
                let message = self.head(&response, true);
                message.complete = true;
                message.end = Some(head_end);
                self.upgrade_head = Some(head.to_vec());
            }
            ClientEvent::Chunk {
                id,
                size,
                extensions,
            } => {
                let extensions = extensions
                    .into_iter()
                    .map(|(name, value)| (name.to_vec(), value.map(|v| v.to_vec())))
                    .collect();
                self.current(id.0).chunks.push(Chunk { size, extensions });
            }
            ClientEvent::Data { id, data } => {
                self.current(id.0).body.extend_from_slice(&data);
            }
            ClientEvent::End { id, trailers, end } => {
                let message = self.current(id.0);
                message.trailers = header_pairs(&trailers);
                message.complete = true;
                message.end = Some(end);
            }
            ClientEvent::Error { error, .. } => {
                let phase = if self.in_eof {
                    "eof"
                } else if self.messages.last().is_some_and(|(_, m)| !m.complete) {
                    "body"
                } else {
                    "head"
                };
                if self.error.is_none() {
                    self.error = Some((error.code(), phase));
                }
            }
            ClientEvent::Close => self.close = true,
            // `Continue` carries no head (the 100 is listed through `Information`, Node docs
            // `http.md` › `Event: 'information'`); `Timeout` cannot happen without a timeout.
            _ => {}
        }
    }

    /// Starts a message for a response head.
    fn head(&mut self, response: &ResponseHead, upgrade: bool) -> &mut Message {
        let headers = header_pairs(&response.headers);
        let content_length = match response.body {
            ResponseBody::ContentLength(n) => Some(n),
            ResponseBody::None | ResponseBody::Chunked | ResponseBody::UntilClose => {
                lone_content_length(&headers)
            }
        };
        let message = Message {
            head: Some(Head {
                method: Vec::new(),
                url: Vec::new(),
                status: Some(response.status),
                reason: response.reason.to_vec(),
                version: response.version.as_str(),
                headers,
                framing: match response.body {
                    ResponseBody::None => "none",
                    ResponseBody::ContentLength(_) => "content-length",
                    ResponseBody::Chunked => "chunked",
                    ResponseBody::UntilClose => "eof",
                },
                content_length,
                keep_alive: response.keep_alive,
                expect_continue: false,
                start: response.start,
                head_end: response.head_end,
            }),
            upgrade,
            ..Message::default()
        };
        self.messages.push((response.id.0, message));
        let last = self.messages.len() - 1;
        &mut self.messages[last].1
    }
}

fn header_pairs(headers: &RawHeaders) -> Fields {
    headers
        .iter()
        .map(|(n, v)| (n.to_vec(), v.to_vec()))
        .collect()
}

/// The value of the only `Content-Length` field, if it is one decimal number.
fn lone_content_length(headers: &[(Vec<u8>, Vec<u8>)]) -> Option<u64> {
    let mut values = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(b"content-length"))
        .map(|(_, v)| v);
    let value = values.next()?;
    if values.next().is_some() || value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// The first final status transmitted after the last 2xx response.
fn error_status(mut wire: &[u8]) -> Option<u16> {
    let mut found = None;
    while !wire.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        let Ok(httparse::Status::Complete(len)) = response.parse(wire) else {
            break;
        };
        let status = response.code.unwrap_or(0);
        let body = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if (200..300).contains(&status) {
            found = None;
        } else if status >= 200 && found.is_none() {
            found = Some(status);
        }
        wire = wire.get(len + body..).unwrap_or(&[]);
    }
    found
}

// ---- comparing --------------------------------------------------------------------------

fn compare(expect: &Map<String, Value>, got: &Observation) -> Vec<String> {
    let mut diffs = Vec::new();
    if let Some(end) = expect.get("end").and_then(Value::as_str)
        && end != got.end
    {
        let detail = got
            .error
            .map(|(code, phase)| format!(" ({code}, {phase})"))
            .unwrap_or_default();
        diffs.push(format!("end: expected {end}, got {}{detail}", got.end));
    }
    if let Some(remaining) = expect.get("remaining") {
        match byte_string(remaining) {
            Ok(want) if want != got.remaining => diffs.push(format!(
                "remaining: expected \"{}\", got \"{}\"",
                esc(&want),
                esc(&got.remaining)
            )),
            Ok(_) => {}
            Err(e) => diffs.push(format!("remaining: {e}")),
        }
    }
    if let Some(error) = expect.get("error").and_then(Value::as_object)
        && got.end == "error"
    {
        diffs.extend(compare_error(error, got));
    }
    if let Some(messages) = expect.get("messages").and_then(Value::as_array) {
        if messages.len() != got.messages.len() {
            diffs.push(format!(
                "messages: expected {}, got {}",
                messages.len(),
                got.messages.len()
            ));
        }
        for (i, (want, have)) in messages.iter().zip(&got.messages).enumerate() {
            if let Some(want) = want.as_object() {
                for diff in compare_message(want, have) {
                    diffs.push(format!("messages[{i}].{diff}"));
                }
            }
        }
    }
    diffs
}

fn compare_error(error: &Map<String, Value>, got: &Observation) -> Vec<String> {
    let mut diffs = Vec::new();
    if got.end != "error" {
        diffs.push(format!("end: expected error, got {}", got.end));
        return diffs;
    }
    let (code, phase) = got.error.unwrap_or(("", ""));
    if let Some(want) = error.get("phase").and_then(Value::as_str)
        && want != phase
    {
        diffs.push(format!(
            "error.phase: expected {want}, got {phase} ({code})"
        ));
    }
    if let Some(want) = error.get("status").and_then(Value::as_u64) {
        let also: Vec<u64> = error
            .get("also_ok")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        let have = got.status.map(u64::from);
        if have.is_none_or(|s| s != want && !also.contains(&s)) {
            diffs.push(format!(
                "error.status: expected {want} (or {also:?}), got {have:?} ({code})"
            ));
        }
    }
    if let Some(want) = error.get("close").and_then(Value::as_bool)
        && want != got.close
    {
        diffs.push(format!("error.close: expected {want}, got {}", got.close));
    }
    diffs
}

fn compare_message(want: &Map<String, Value>, have: &Message) -> Vec<String> {
    let mut diffs = Vec::new();
    let Some(head) = &have.head else {
        return vec!["head: missing".to_owned()];
    };
    let mut bytes_field = |name: &str, got: &[u8]| {
        if let Some(value) = want.get(name) {
            match byte_string(value) {
                Ok(w) if w != got => {
                    diffs.push(format!(
                        "{name}: expected \"{}\", got \"{}\"",
                        esc(&w),
                        esc(got)
                    ));
                }
                Ok(_) => {}
                Err(e) => diffs.push(format!("{name}: {e}")),
            }
        }
    };
    bytes_field("method", &head.method);
    bytes_field("url", &head.url);
    bytes_field("reason", &head.reason);
    bytes_field("version", head.version.as_bytes());
    bytes_field("framing", head.framing.as_bytes());
    bytes_field("body", &have.body);
    for (name, got) in [("headers", &head.headers), ("trailers", &have.trailers)] {
        if let Some(value) = want.get(name) {
            match pair_list(value) {
                Ok(w) if &w != got => {
                    diffs.push(format!(
                        "{name}: expected [{}], got [{}]",
                        pairs(&w),
                        pairs(got)
                    ));
                }
                Ok(_) => {}
                Err(e) => diffs.push(format!("{name}: {e}")),
            }
        }
    }
    if let Some(value) = want.get("status") {
        let w = value.as_u64();
        let got = head.status.map(u64::from);
        if w != got {
            diffs.push(format!("status: expected {w:?}, got {got:?}"));
        }
    }
    if let Some(value) = want.get("content_length") {
        let w = value.as_u64();
        if w != head.content_length {
            diffs.push(format!(
                "content_length: expected {w:?}, got {:?}",
                head.content_length
            ));
        }
    }
    for (name, got) in [
        ("complete", have.complete),
        ("keep_alive", head.keep_alive),
        ("upgrade", have.upgrade),
        ("expect_continue", head.expect_continue),
    ] {
        if let Some(w) = want.get(name).and_then(Value::as_bool)
            && w != got
        {
            diffs.push(format!("{name}: expected {w}, got {got}"));
        }
    }
    if let Some(value) = want.get("chunks") {
        match chunk_list(value) {
            Ok(w) if w != have.chunks => diffs.push(format!(
                "chunks: expected [{}], got [{}]",
                w.iter().map(describe_chunk).collect::<Vec<_>>().join(", "),
                have.chunks
                    .iter()
                    .map(describe_chunk)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Ok(_) => {}
            Err(e) => diffs.push(format!("chunks: {e}")),
        }
    }
    if let Some(offsets) = want.get("offsets").and_then(Value::as_object) {
        for (name, got) in [
            ("start", Some(head.start)),
            ("head_end", Some(head.head_end)),
            ("end", have.end),
        ] {
            if let Some(value) = offsets.get(name) {
                let w = value.as_u64();
                if w != got {
                    diffs.push(format!("offsets.{name}: expected {w:?}, got {got:?}"));
                }
            }
        }
    }
    diffs
}

// ---- JSON helpers -----------------------------------------------------------------------

/// A corpus byte string: one char per byte, U+0000..U+00FF.
fn byte_string(value: &Value) -> Result<Vec<u8>, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("not a string: {value}"))?;
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).map_err(|_| format!("char {c:?} is not a byte")))
        .collect()
}

fn pair_list(value: &Value) -> Result<Fields, String> {
    let list = value.as_array().ok_or("not a list")?;
    list.iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([name, value]) => Ok((byte_string(name)?, byte_string(value)?)),
            _ => Err(format!("not a pair: {pair}")),
        })
        .collect()
}

fn chunk_list(value: &Value) -> Result<Vec<Chunk>, String> {
    let list = value.as_array().ok_or("not a list")?;
    list.iter()
        .map(|chunk| {
            let size = chunk
                .get("size")
                .and_then(Value::as_u64)
                .ok_or("chunk without size")?;
            let extensions = chunk
                .get("extensions")
                .and_then(Value::as_array)
                .ok_or("chunk without extensions")?
                .iter()
                .map(|ext| match ext.as_array().map(Vec::as_slice) {
                    Some([name, Value::Null]) => Ok((byte_string(name)?, None)),
                    Some([name, value]) => Ok((byte_string(name)?, Some(byte_string(value)?))),
                    _ => Err(format!("not an extension: {ext}")),
                })
                .collect::<Result<_, String>>()?;
            Ok(Chunk { size, extensions })
        })
        .collect()
}

// ---- splits -----------------------------------------------------------------------------

/// xorshift64: a seeded, reproducible split generator.
#[derive(Debug)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x2545_f491_4f6c_dd1d
        } else {
            seed
        })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        let n64 = u64::try_from(n).unwrap_or(u64::MAX);
        usize::try_from(self.next() % n64).unwrap_or(0)
    }
}

/// 1 to 8 distinct cut offsets inside `0..len`, sorted (none if `len < 2`).
fn random_cuts(rng: &mut XorShift, len: usize) -> Vec<usize> {
    if len < 2 {
        return Vec::new();
    }
    let count = 1 + rng.below((len - 1).min(8));
    let mut cuts: Vec<usize> = (0..count).map(|_| 1 + rng.below(len - 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}
