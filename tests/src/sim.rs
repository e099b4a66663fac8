//! A deterministic network simulator for whole stacks: one HTTP client [`Endpoint`] and the
//! server stacks its connections reach ([`Acceptor`]s with an answering application), joined
//! by in-memory byte pipes, on a virtual clock, with faults drawn from one seed.
//!
//! This is the shape of quinn-proto's simulated `Pair` and of the seeded simulators of
//! moonpool-sim and turmoil, for HTTP/1.1 and WebSocket:
//!
//! - **Virtual time**: `now` is a base [`Instant`] plus an offset. When nothing moves at `now`,
//!   the clock jumps to the earliest deadline: every stack's `poll_timeout`, the endpoint's,
//!   the next delivery of a pipe, a connect completing, the next planned request.
//! - **One seed** ([`Rng`], splitmix64) decides every fault and every jitter, so a seed replays
//!   a run exactly; [`run_seeds`] names the failing seed and reruns one seed alone when the
//!   environment variable `SIM_SEED` is set (`SIM_SEEDS` sets how many seeds to run).
//! - **Faults** ([`Faults`]), each switchable: reads cut down to 1 byte, short writes and
//!   would-block, bounded pipes (a slow reader pushes back), per-direction latency and stalls,
//!   RST instead of FIN (the peer gets `handle_io_error(ConnectionReset)`, and a write to a
//!   closed peer is answered with RST as a kernel does), connects refused or timed out, forward clock jumps.
//! - **Invariants** checked as the run goes (see [`Sim::run`]): each client request gets
//!   exactly one terminal sequence (`End` then `Close`, `Error` then `Close`, or the hand-over
//!   then `Close`) and nothing after its `Close`; a response is the answer to the request it
//!   reaches (the server writes the method, path and body length it read); the agent's counts
//!   (`busy`, `free`, `queued` per origin, `total_sockets`) agree with the connections the
//!   simulator holds whenever the run is quiet; no server request is read or ended twice; a
//!   handed-over client socket emits at most one `close` and nothing after it, and no stack
//!   asks its socket for anything after closing it; when the run
//!   settles every request has closed and every connection is closed on both sides (unless a
//!   peer vanished on purpose).
//! - A **step bound** fails a run that never settles (a livelock).
//!
//! On failure the run returns a [`Failure`] with the seed, the message and the last lines of
//! the transcript.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! use sansnet_testkit::sim::{Faults, Plan, Planned, Scenario, Sim};
//!
//! let scenario = Scenario {
//!     faults: Faults::lossless(),
//!     plan: vec![Planned {
//!         at: Duration::ZERO,
//!         what: Plan::get("/hello"),
//!     }],
//!     ..Scenario::default()
//! };
//! // The same seed replays the same run.
//! let outcome = Sim::new(7, &scenario).run()?;
//! let request = outcome.requests[0].as_ref().expect("planned");
//! assert_eq!(request.status, Some(200));
//! assert_eq!(request.body, b"GET /hello 0");
//! assert_eq!(Sim::new(7, &scenario).run()?.steps, outcome.steps);
//! # Ok::<(), sansnet_testkit::sim::Failure>(())
//! ```

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::io::{ErrorKind, IoSlice};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use sansnet_core::Action;
use sansnet_http1::{
    AgentConfig, ClientConfig, ClientRequest, Origin, PoolRequestId, RequestId, Response,
    ServerConfig, ServerEvent,
};
use sansnet_stack::{
    Acceptor, ClientError, ClientRequestEvent, Connection, Endpoint, EndpointAction, EndpointEvent,
    Event, RequestOptions, SocketId,
};
use sansnet_tcp::{SocketConfig, SocketEvent};
use sansnet_tls::{ClientOptions, Identity, ServerOptions};
use sansnet_ws::{Message, WsEvent};

use crate::certs::{TestCa, Usage};

/// How many transcript lines a failure shows.
const TRANSCRIPT_LINES: usize = 30;

/// A small deterministic random number generator (splitmix64): the simulator's only source of
/// randomness.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A size in `1..=max` (1 when `max` is 0).
    pub fn size(&mut self, max: usize) -> usize {
        let max = u64::try_from(max.max(1)).unwrap_or(u64::MAX);
        usize::try_from(self.below(max) + 1).unwrap_or(1)
    }

    /// True `num` times in `den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// A duration in `0..=max`, in whole microseconds.
    pub fn duration(&mut self, max: Duration) -> Duration {
        let micros = u64::try_from(max.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(self.below(micros.saturating_add(1)))
    }
}

/// The faults a run may inject; each is drawn from the seed when switched on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Reads take 1 byte up to what is there, at random.
    pub rechunk: bool,
    /// Writes take 1 byte up to what is offered, and one write in four would block.
    pub short_writes: bool,
    /// Each pipe holds at most this many bytes (its own size drawn in `1..=n`): a reader that
    /// does not read makes its writer wait.
    pub capacity: Option<usize>,
    /// Each direction of each connection has a one-way latency drawn in `0..=max`.
    pub latency: Option<Duration>,
    /// One write in sixteen is held up for up to 300 ms (bytes behind it wait too).
    pub stalls: bool,
    /// A close is an RST one time in four, always when unread bytes wait (as a kernel does),
    /// and a write to a closed peer is answered with an RST.
    pub rst: bool,
    /// One connect in eight is refused (`ConnectionRefused`).
    pub refuse: bool,
    /// One connect in eight is never answered: the OS gives up after its SYN retries (127 s,
    /// Linux's default `tcp_syn_retries`) with `TimedOut` (`ETIMEDOUT`).
    pub connect_timeouts: bool,
    /// One clock advance in eight overshoots its deadline by up to 1 s.
    pub clock_jumps: bool,
}

impl Faults {
    /// No faults: whole reads and writes, unbounded pipes, no latency.
    pub fn none() -> Self {
        Self::default()
    }

    /// Every fault.
    pub fn all() -> Self {
        Self {
            rechunk: true,
            short_writes: true,
            capacity: Some(4096),
            latency: Some(Duration::from_millis(50)),
            stalls: true,
            rst: true,
            refuse: true,
            connect_timeouts: true,
            clock_jumps: true,
        }
    }

    /// Every fault that loses nothing: no RST, no refused or timed-out connect.
    pub fn lossless() -> Self {
        Self {
            rst: false,
            refuse: false,
            connect_timeouts: false,
            ..Self::all()
        }
    }
}

/// How the server application answers `Expect: 100-continue`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ContinueMode {
    /// `res.writeContinue()`.
    #[default]
    Continue,
    /// A final `417 Expectation Failed`.
    Reject,
    /// Nothing until the body arrives.
    Silent,
}

/// Which side ends a CONNECT tunnel once its bytes came back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Closer {
    /// The client application ends its socket.
    #[default]
    Client,
    /// The server application ends its socket.
    Server,
}

/// How a server ends a close-delimited response (see [`Scenario::cut`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Ending {
    /// `socket.end()`: under TLS, `close_notify` then the FIN.
    #[default]
    CloseNotify,
    /// The FIN alone, once the bytes before it are out (a process that died).
    BareFin,
}

/// What the client application does at one planned time.
#[derive(Debug, Clone)]
pub enum Plan {
    /// `http.request()` through the agent, its body written and ended at once.
    Http {
        /// The method.
        method: &'static str,
        /// The path.
        path: String,
        /// The body, if any.
        body: Option<Bytes>,
        /// Send `Expect: 100-continue`.
        expect_continue: bool,
        /// The request's client settings (`continue_timeout`, ...).
        client: ClientConfig,
        /// Node's `agent: false`.
        one_off: bool,
    },
    /// `new WebSocket(url)`: once open, send `messages` text messages, wait for their echoes,
    /// then close with 1000 (at once, with `close_at_once`).
    WebSocket {
        /// How many messages.
        messages: usize,
        /// Close right after sending, without waiting for the echoes.
        close_at_once: bool,
    },
    /// A `CONNECT` tunnel: send bytes through it, wait for the echo, then one side ends it.
    Connect {
        /// Who ends the tunnel.
        closer: Closer,
    },
}

impl Plan {
    /// A `GET path` without a body.
    pub fn get(path: &str) -> Self {
        Self::Http {
            method: "GET",
            path: path.to_owned(),
            body: None,
            expect_continue: false,
            client: ClientConfig::default(),
            one_off: false,
        }
    }

    /// A `POST path` with `body`.
    pub fn post(path: &str, body: &'static [u8]) -> Self {
        Self::Http {
            method: "POST",
            path: path.to_owned(),
            body: Some(Bytes::from_static(body)),
            expect_continue: false,
            client: ClientConfig::default(),
            one_off: false,
        }
    }
}

/// A planned action of the client application: `what`, at `at` plus up to the scenario's
/// jitter.
#[derive(Debug, Clone)]
pub struct Planned {
    /// When, from the start of the run.
    pub at: Duration,
    /// What.
    pub what: Plan,
}

/// A scenario: the settings of both sides, the faults, and the client application's plan.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The faults.
    pub faults: Faults,
    /// The client's agent.
    pub agent: AgentConfig,
    /// The servers' HTTP settings (`upgrade`, `connect` and `check_continue` are turned on).
    pub server: ServerConfig,
    /// How the server answers `Expect: 100-continue`.
    pub continue_mode: ContinueMode,
    /// A WebSocket server disappears (reads, writes and closes nothing more) once it has its
    /// first message: a peer that vanished.
    pub ws_vanish: bool,
    /// The server's responses carry `Keep-Alive: timeout=N` (its `keepAliveTimeout`), which
    /// the agent honours; `false`: they say only `Connection: keep-alive`, as a server behind
    /// a proxy may, so the agent keeps the connection past the server's timeout.
    pub announce_keep_alive: bool,
    /// The origin is `https:`: TLS on every connection (a test CA the client trusts).
    pub tls: bool,
    /// How the server ends a response to a path starting with `/cut`: it writes a head with
    /// `Connection: close` and a body ended by the close, then ends its socket
    /// ([`Ending::CloseNotify`]: under TLS `close_notify` before the FIN) or its process is
    /// gone at once ([`Ending::BareFin`]: the FIN without `close_notify`, a truncation).
    pub cut: Ending,
    /// The WebSocket settings of both sides (`close_timeout`, ...).
    pub ws: sansnet_ws::Config,
    /// What the client does, and when.
    pub plan: Vec<Planned>,
    /// Each planned time is moved later by up to this much, drawn from the seed.
    pub jitter: Duration,
    /// The step bound: a run that has not settled after this many steps fails.
    pub max_steps: usize,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            faults: Faults::none(),
            agent: AgentConfig {
                keep_alive: true,
                ..AgentConfig::default()
            },
            server: ServerConfig::default(),
            continue_mode: ContinueMode::Continue,
            ws_vanish: false,
            announce_keep_alive: true,
            tls: false,
            cut: Ending::CloseNotify,
            ws: sansnet_ws::Config::default(),
            plan: Vec::new(),
            jitter: Duration::ZERO,
            max_steps: 100_000,
        }
    }
}

/// What happened to one HTTP request of the plan.
#[derive(Debug, Clone, Default)]
pub struct RequestOutcome {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// Each `socket` event: the connection and whether it was reused; more than one is a retry.
    pub sockets: Vec<(SocketId, bool)>,
    /// `continue` arrived.
    pub continued: bool,
    /// The final status.
    pub status: Option<u16>,
    /// The response body.
    pub body: Vec<u8>,
    /// `end` arrived.
    pub ended: bool,
    /// The error, if it failed.
    pub error: Option<ClientError>,
    /// It was handed over (`upgrade` or `connect`).
    pub handed_over: bool,
    /// `close` arrived.
    pub closed: bool,
}

/// What happened to one WebSocket or tunnel of the plan.
#[derive(Debug, Clone, Default)]
pub struct StreamOutcome {
    /// It opened (WebSocket `open`, tunnel `connect`).
    pub opened: bool,
    /// Messages (or tunnel bytes) that came back.
    pub echoed: usize,
    /// The WebSocket close code the client application saw.
    pub close_code: Option<u16>,
    /// The client socket closed.
    pub socket_closed: bool,
}

/// What a settled run leaves: the outcome of each planned action, in plan order.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// HTTP requests, by their index in the plan (`None` for other actions).
    pub requests: Vec<Option<RequestOutcome>>,
    /// WebSockets and tunnels, by their index in the plan (`None` for requests).
    pub streams: Vec<Option<StreamOutcome>>,
    /// How many times the servers read each `METHOD path` head.
    pub server_seen: HashMap<String, usize>,
    /// Connections the client opened (refused ones included).
    pub connects: usize,
    /// Virtual time the run took.
    pub elapsed: Duration,
    /// Steps the run took.
    pub steps: usize,
    /// The last lines of the transcript.
    pub transcript: Vec<String>,
}

/// A failed run: its seed, what broke, and the end of its transcript.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The seed that replays it.
    pub seed: u64,
    /// What broke.
    pub message: String,
    /// The last lines of the transcript.
    pub transcript: Vec<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simulation failed with seed {}: {}",
            self.seed, self.message
        )?;
        writeln!(f, "rerun it alone with SIM_SEED={}", self.seed)?;
        writeln!(f, "last {} transcript lines:", self.transcript.len())?;
        for line in &self.transcript {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}

/// One direction of a connection: bytes with their delivery times, a FIN or an RST behind
/// them.
#[derive(Debug)]
struct Pipe {
    segments: VecDeque<(Instant, Bytes)>,
    queued: usize,
    capacity: usize,
    latency: Duration,
    /// The latest delivery time given out: bytes never overtake earlier bytes.
    last: Instant,
    fin: Option<Instant>,
    rst: Option<Instant>,
    /// The reader closed: bytes written now are dropped.
    reader_gone: bool,
}

impl Pipe {
    fn new(start: Instant, capacity: usize, latency: Duration) -> Self {
        Self {
            segments: VecDeque::new(),
            queued: 0,
            capacity: capacity.max(1),
            latency,
            last: start,
            fin: None,
            rst: None,
            reader_gone: false,
        }
    }

    fn closed_for_writing(&self) -> bool {
        self.fin.is_some() || self.rst.is_some()
    }

    /// Writes up to `max` bytes of `slices`; returns how many were taken.
    fn write(
        &mut self,
        now: Instant,
        slices: &[IoSlice<'_>],
        max: usize,
        delay: Duration,
    ) -> usize {
        if self.closed_for_writing() {
            return 0;
        }
        let total: usize = slices.iter().map(|s| s.len()).sum();
        if self.reader_gone {
            return total;
        }
        let room = self.capacity.saturating_sub(self.queued).min(max);
        let mut data = BytesMut::new();
        for slice in slices {
            let take = slice.len().min(room - data.len());
            data.extend_from_slice(&slice[..take]);
            if data.len() == room {
                break;
            }
        }
        let n = data.len();
        if n > 0 {
            let at = (now + self.latency + delay).max(self.last);
            self.last = at;
            self.queued += n;
            self.segments.push_back((at, data.freeze()));
        }
        n
    }

    fn shutdown(&mut self, now: Instant) {
        if !self.closed_for_writing() {
            let at = (now + self.latency).max(self.last);
            self.fin = Some(at);
        }
    }

    fn reset(&mut self, now: Instant) {
        if self.rst.is_none() {
            self.rst = Some(now + self.latency);
        }
    }

    fn read(&mut self, now: Instant, max: usize) -> Option<Bytes> {
        let (at, front) = self.segments.front_mut()?;
        if *at > now {
            return None;
        }
        let data = if front.len() <= max {
            let data = front.clone();
            self.segments.pop_front();
            data
        } else {
            front.split_to(max)
        };
        self.queued -= data.len();
        Some(data)
    }

    fn rst_due(&self, now: Instant) -> bool {
        self.rst.is_some_and(|at| at <= now)
    }

    fn fin_due(&self, now: Instant) -> bool {
        self.segments.is_empty() && self.fin.is_some_and(|at| at <= now)
    }

    /// The next time something arrives, if later than `now`.
    fn next_time(&self, now: Instant) -> Option<Instant> {
        let front = self.segments.front().map(|(at, _)| *at);
        [front, self.fin, self.rst]
            .into_iter()
            .flatten()
            .filter(|&at| at > now)
            .min()
    }
}

/// One end of a connection, driven as a runtime drives an OS socket.
#[derive(Debug)]
struct Side {
    conn: Connection,
    /// The stack's `Close` action was carried out: nothing more is read or written.
    closed: bool,
    eof_given: bool,
    reset_given: bool,
    /// The peer vanished: it is no longer driven at all.
    vanished: bool,
    /// Send a bare FIN once every byte is out, then vanish.
    fin_when_flushed: bool,
    /// What the stack asked of its socket after closing it (a second `close`, a `shutdown`).
    after_close: Option<String>,
}

impl Side {
    fn new(conn: Connection) -> Self {
        Self {
            conn,
            closed: false,
            eof_given: false,
            reset_given: false,
            vanished: false,
            fin_when_flushed: false,
            after_close: None,
        }
    }

    /// One round of the drain rule over the pipes; returns whether anything moved (or may
    /// move once retried: an injected would-block).
    fn round(
        &mut self,
        now: Instant,
        out: &mut Pipe,
        inbound: &mut Pipe,
        rng: &mut Rng,
        faults: &Faults,
    ) -> bool {
        if self.vanished {
            return false;
        }
        if self.fin_when_flushed && !self.conn.wants_write() && !self.conn.socket().wants_write() {
            // The process is gone: the kernel sends the FIN, and nothing else follows.
            out.shutdown(now);
            inbound.reader_gone = true;
            self.vanished = true;
            return true;
        }
        let mut moved = false;
        while !self.closed {
            let mut slices = [IoSlice::new(&[]); 16];
            let n = self.conn.transmit_chunks(&mut slices);
            if n == 0 {
                break;
            }
            if faults.short_writes && rng.chance(1, 4) {
                // Would block: try again next step.
                moved = true;
                break;
            }
            let max = if faults.short_writes {
                rng.size(slices[..n].iter().map(|s| s.len()).sum())
            } else {
                usize::MAX
            };
            let delay = if faults.stalls && rng.chance(1, 16) {
                rng.duration(Duration::from_millis(300))
            } else {
                Duration::ZERO
            };
            let gone = out.reader_gone;
            let written = out.write(now, &slices[..n], max, delay);
            if gone && written > 0 && faults.rst {
                // A kernel answers bytes for a closed socket with an RST.
                inbound.reset(now);
            }
            if written == 0 {
                break;
            }
            self.conn.advance_transmit(now, written);
            moved = true;
        }
        while let Some(action) = self.conn.poll_action() {
            moved = true;
            match action {
                Action::Shutdown if !self.closed => out.shutdown(now),
                Action::Close { reset } if !self.closed => {
                    self.closed = true;
                    let unread = inbound.queued > 0;
                    if reset || (faults.rst && (unread || rng.chance(1, 4))) {
                        out.reset(now);
                    } else {
                        out.shutdown(now);
                    }
                    inbound.reader_gone = true;
                }
                Action::Shutdown | Action::Close { .. } if self.closed => {
                    self.after_close = Some(format!("{action:?} after close"));
                }
                _ => {}
            }
        }
        if !self.closed && !self.reset_given && inbound.rst_due(now) {
            self.reset_given = true;
            inbound.segments.clear();
            inbound.queued = 0;
            self.conn.handle_io_error(now, ErrorKind::ConnectionReset);
            moved = true;
        } else if !self.closed && !self.reset_given && self.conn.wants_read() {
            let max = if faults.rechunk {
                rng.size(inbound.queued)
            } else {
                usize::MAX
            };
            if let Some(data) = inbound.read(now, max) {
                self.conn.handle_input(now, &data);
                moved = true;
            } else if inbound.fin_due(now) && !self.eof_given {
                self.eof_given = true;
                self.conn.handle_eof(now);
                moved = true;
            }
        }
        moved | self.conn.drive(now, true)
    }
}

/// One connection the endpoint asked for.
#[derive(Debug)]
struct Pair {
    socket: SocketId,
    origin: Origin,
    /// Opened for a one-off request (not counted by the agent).
    one_off: bool,
    client: Side,
    /// Made when the connect completes.
    server: Option<Side>,
    c2s: Pipe,
    s2c: Pipe,
    connect_at: Option<Instant>,
    /// The connect at `connect_at` fails with `TimedOut` instead of completing.
    times_out: bool,
    /// The request on it now, as the client application saw from `socket` events.
    current: Option<PoolRequestId>,
    /// The endpoint handed it to the application (`upgrade`, `connect`, WebSocket).
    handed_over: bool,
    /// The plan index of the WebSocket or tunnel it carries.
    stream: Option<usize>,
    /// A `close` event of the handed-over client socket was seen.
    client_close_seen: bool,
    /// The server application's state per request id.
    served: HashMap<RequestId, Served>,
    /// The server's tunnel bytes echoed.
    tunnel_echoed: usize,
}

#[derive(Debug, Default)]
struct Served {
    head: String,
    len: usize,
    ended: bool,
    answered: bool,
}

/// What the client application keeps per request.
#[derive(Debug)]
struct Tracked {
    index: usize,
    outcome: RequestOutcome,
    /// `Response` seen; `End` or `Error` seen.
    responded: bool,
    terminal: bool,
    one_off: bool,
    origin: Origin,
}

/// The simulator (see the module docs). Make one with [`Sim::new`] and call [`Sim::run`].
pub struct Sim {
    seed: u64,
    /// Where every planned request goes: `http://sim.test` or `https://sim.test`.
    origin: Origin,
    rng: Rng,
    scenario: Scenario,
    base: Instant,
    now: Instant,
    endpoint: Endpoint,
    acceptor: Acceptor,
    pairs: Vec<Pair>,
    next_socket: u64,
    plan: VecDeque<(Instant, usize, Plan)>,
    tracked: HashMap<PoolRequestId, Tracked>,
    /// WebSocket client ids to their plan index.
    ws_ids: HashMap<PoolRequestId, usize>,
    /// Tunnel requests to their plan index and closer.
    tunnels: HashMap<PoolRequestId, (usize, Closer)>,
    outcome: Outcome,
    transcript: VecDeque<String>,
    failure: Option<String>,
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("seed", &self.seed)
            .field("now", &(self.now - self.base))
            .finish_non_exhaustive()
    }
}

/// The TLS server settings of every `https:` run and the CA its certificate (for `sim.test`)
/// chains to, made once (key generation is slow in debug builds).
fn tls_server() -> Option<&'static TlsServer> {
    static SERVER: OnceLock<Option<TlsServer>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let ca = TestCa::ed25519("sansnet simulator CA");
            // Ed25519: the handshake has the same length on every run.
            let leaf = ca.leaf_ed25519(&["sim.test"], Usage::Server);
            let identity =
                Identity::from_pem(leaf.chain_pem.as_bytes(), leaf.key_pem.as_bytes()).ok()?;
            let server = ServerOptions::new(identity).build().ok()?;
            Some((server, ca.cert_pem))
        })
        .as_ref()
}

/// A TLS server configuration and the PEM of the CA that signed its certificate.
type TlsServer = (Arc<sansnet_tls::rustls::ServerConfig>, String);

/// A client configuration trusting the simulator's CA, made for each run: its session cache
/// is the run's own, so an earlier run cannot make this one resume a session.
fn tls_client(ca_pem: &str) -> Option<Arc<sansnet_tls::rustls::ClientConfig>> {
    let roots = sansnet_tls::certificates_from_pem(ca_pem.as_bytes()).ok()?;
    ClientOptions {
        ca: Some(roots),
        ..ClientOptions::default()
    }
    .build()
    .ok()
}

impl Sim {
    /// A run of `scenario` with `seed`.
    pub fn new(seed: u64, scenario: &Scenario) -> Self {
        let mut rng = Rng::new(seed);
        let base = Instant::now();
        let mut plan: Vec<(Instant, usize, Plan)> = scenario
            .plan
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (
                    base + p.at + rng.duration(scenario.jitter),
                    i,
                    p.what.clone(),
                )
            })
            .collect();
        plan.sort_by_key(|(at, i, _)| (*at, *i));
        let server = ServerConfig {
            upgrade: true,
            connect: true,
            check_continue: true,
            ..scenario.server.clone()
        };
        let mut acceptor = Acceptor::new(SocketConfig::default()).with_http(server);
        let mut endpoint = Endpoint::new(scenario.agent.clone());
        let tls = match tls_server() {
            Some((server, ca)) if scenario.tls => Some((server, tls_client(ca))),
            _ => None,
        };
        let origin = match tls {
            Some((server, Some(client))) => {
                acceptor = acceptor.with_tls(server.clone());
                endpoint.set_https_config(client);
                Origin::new("https", "sim.test", 443)
            }
            // Without TLS settings every request fails, and the run says so.
            Some((_, None)) | None => Origin::new(
                if scenario.tls { "https" } else { "http" },
                "sim.test",
                if scenario.tls { 443 } else { 80 },
            ),
        };
        let outcome = Outcome {
            requests: vec![None; scenario.plan.len()],
            streams: vec![None; scenario.plan.len()],
            ..Outcome::default()
        };
        Self {
            seed,
            origin,
            rng,
            scenario: scenario.clone(),
            base,
            now: base,
            endpoint,
            acceptor,
            pairs: Vec::new(),
            next_socket: 1,
            plan: plan.into(),
            tracked: HashMap::new(),
            ws_ids: HashMap::new(),
            tunnels: HashMap::new(),
            outcome,
            transcript: VecDeque::new(),
            failure: None,
        }
    }

    fn log(&mut self, line: impl fmt::Display) {
        if self.transcript.len() == TRANSCRIPT_LINES {
            self.transcript.pop_front();
        }
        let at = (self.now - self.base).as_micros();
        self.transcript.push_back(format!("+{at}us {line}"));
    }

    fn fail(&mut self, message: impl Into<String>) {
        if self.failure.is_none() {
            let message = message.into();
            self.log(format!("FAILED: {message}"));
            self.failure = Some(message);
        }
    }

    fn failure(&self, message: String) -> Failure {
        Failure {
            seed: self.seed,
            message,
            transcript: self.transcript.iter().cloned().collect(),
        }
    }

    /// Runs until nothing is left to happen; returns what happened, or the first broken
    /// invariant (or the step bound) with the seed and transcript.
    ///
    /// Checked at every step: the request event order; a response answers the request it
    /// reaches; a handed-over socket's `close` once and last. Checked whenever the run is
    /// quiet at one instant (before the clock moves): the agent's counts against the
    /// connections. Checked when it settles: every request closed, every connection closed.
    pub fn run(mut self) -> Result<Outcome, Failure> {
        let mut steps = 0;
        loop {
            steps += 1;
            if steps > self.scenario.max_steps {
                let message = format!(
                    "no settling after {} steps (livelock?)",
                    self.scenario.max_steps
                );
                return Err(self.failure(message));
            }
            let moved = self.step();
            if let Some(message) = self.failure.take() {
                return Err(self.failure(message));
            }
            if moved {
                continue;
            }
            self.check_counts();
            if let Some(message) = self.failure.take() {
                return Err(self.failure(message));
            }
            let Some(next) = self.next_deadline() else {
                break;
            };
            let mut next = next.max(self.now);
            if self.scenario.faults.clock_jumps && self.rng.chance(1, 8) {
                next += self.rng.duration(Duration::from_secs(1));
                self.log(format!(
                    "clock jumps to +{}us",
                    (next - self.base).as_micros()
                ));
            }
            self.now = next;
        }
        self.check_settled();
        if let Some(message) = self.failure.take() {
            return Err(self.failure(message));
        }
        self.outcome.elapsed = self.now - self.base;
        self.outcome.steps = steps;
        self.outcome.transcript = self.transcript.iter().cloned().collect();
        for tracked in self.tracked.values() {
            self.outcome.requests[tracked.index] = Some(tracked.outcome.clone());
        }
        Ok(self.outcome)
    }

    /// One step at `now`: timers due, planned actions due, the endpoint's actions, a round of
    /// every connection, the events. Returns whether anything moved.
    fn step(&mut self) -> bool {
        let now = self.now;
        let mut moved = false;
        if self.endpoint.poll_timeout().is_some_and(|t| t <= now) {
            self.endpoint.handle_timeout(now);
            moved = true;
        }
        for pair in &mut self.pairs {
            for side in [Some(&mut pair.client), pair.server.as_mut()]
                .into_iter()
                .flatten()
            {
                if !side.vanished && side.conn.poll_timeout().is_some_and(|t| t <= now) {
                    side.conn.handle_timeout(now);
                    moved = true;
                }
            }
        }
        while self.plan.front().is_some_and(|(at, _, _)| *at <= now) {
            if let Some((_, index, what)) = self.plan.pop_front() {
                self.issue(index, what);
                moved = true;
            }
        }
        moved |= self.endpoint_actions(false);
        for i in 0..self.pairs.len() {
            moved |= self.pair_round(i);
            moved |= self.endpoint_actions(false);
        }
        moved |= self.endpoint_events();
        moved
    }

    /// The client application starts planned action `index`.
    fn issue(&mut self, index: usize, what: Plan) {
        let now = self.now;
        // Connections asked for earlier are not this request's.
        self.endpoint_actions(false);
        match what {
            Plan::Http {
                method,
                path,
                body,
                expect_continue,
                client,
                one_off,
            } => {
                let mut head = ClientRequest::new(method, path.clone());
                if expect_continue {
                    head = head.header("Expect", "100-continue");
                }
                if let Some(body) = &body {
                    head = head.header("Content-Length", body.len().to_string());
                }
                let options = RequestOptions { one_off, client };
                let id = self
                    .endpoint
                    .request(now, self.origin.clone(), head, options);
                self.log(format!("plan {index}: {method} {path} is request {}", id.0));
                self.track(id, index, method, &path, one_off);
                self.end_request(id, body);
            }
            Plan::WebSocket { .. } => {
                let mut rng = Rng::new(self.rng.next_u64());
                let entropy = Box::new(move |buf: &mut [u8]| {
                    for byte in buf {
                        *byte = rng.next_u64().to_le_bytes()[0];
                    }
                });
                let id = self.endpoint.ws_connect(
                    now,
                    self.origin.clone(),
                    "/ws",
                    &[],
                    self.scenario.ws.clone(),
                    entropy,
                );
                self.log(format!("plan {index}: WebSocket is request {}", id.0));
                self.ws_ids.insert(id, index);
                self.outcome.streams[index] = Some(StreamOutcome::default());
            }
            Plan::Connect { closer } => {
                let head = ClientRequest::new("CONNECT", "tunnel.test:443");
                let id = self.endpoint.request(
                    now,
                    self.origin.clone(),
                    head,
                    RequestOptions::default(),
                );
                self.log(format!("plan {index}: CONNECT is request {}", id.0));
                self.track(id, index, "CONNECT", "tunnel.test:443", false);
                self.tunnels.insert(id, (index, closer));
                self.outcome.streams[index] = Some(StreamOutcome::default());
                self.end_request(id, None);
            }
        }
        // A one-off request opens its own connection at once.
        let one_off = matches!(
            self.scenario.plan.get(index).map(|p| &p.what),
            Some(Plan::Http { one_off: true, .. } | Plan::WebSocket { .. })
        );
        self.endpoint_actions(one_off);
    }

    fn track(&mut self, id: PoolRequestId, index: usize, method: &str, path: &str, one_off: bool) {
        let outcome = RequestOutcome {
            method: method.to_owned(),
            path: path.to_owned(),
            ..RequestOutcome::default()
        };
        self.tracked.insert(
            id,
            Tracked {
                index,
                outcome,
                responded: false,
                terminal: false,
                one_off,
                origin: self.origin.clone(),
            },
        );
    }

    /// `req.write()` and `req.end()` of request `id`, on its connection if it has one.
    fn end_request(&mut self, id: PoolRequestId, body: Option<Bytes>) {
        let now = self.now;
        let socket = self.endpoint.socket_of(id);
        let conn = self
            .pairs
            .iter_mut()
            .find(|p| Some(p.socket) == socket)
            .map(|p| &mut p.client.conn);
        if let Err(error) = self.endpoint.write(now, id, body, true, conn) {
            self.fail(format!("request {} could not be ended: {error}", id.0));
        }
    }

    /// Carries out the endpoint's actions; `one_off`: the connections opened now are for a
    /// one-off request.
    fn endpoint_actions(&mut self, one_off: bool) -> bool {
        let now = self.now;
        let mut moved = false;
        while let Some(action) = self.endpoint.poll_action() {
            moved = true;
            match action {
                EndpointAction::Open {
                    connection,
                    origin,
                    stack,
                } => {
                    self.outcome.connects += 1;
                    if self.scenario.faults.refuse && self.rng.chance(1, 8) {
                        self.log(format!("open {}: refused", connection.0));
                        self.endpoint.handle_opened(
                            now,
                            connection,
                            Err(ErrorKind::ConnectionRefused),
                        );
                        continue;
                    }
                    let socket = SocketId(self.next_socket);
                    self.next_socket += 1;
                    let faults = self.scenario.faults;
                    let times_out = faults.connect_timeouts && self.rng.chance(1, 8);
                    let mut latency = || match faults.latency {
                        Some(max) => self.rng.duration(max),
                        None => Duration::ZERO,
                    };
                    let (up, down) = (latency(), latency());
                    let mut capacity = || match faults.capacity {
                        Some(max) => self.rng.size(max),
                        None => usize::MAX,
                    };
                    let (c2s_cap, s2c_cap) = (capacity(), capacity());
                    self.log(format!(
                        "open {} as socket {}: latency {up:?}/{down:?}, capacity {c2s_cap}/{s2c_cap}",
                        connection.0, socket.0
                    ));
                    self.pairs.push(Pair {
                        socket,
                        origin,
                        one_off,
                        client: Side::new(*stack),
                        server: None,
                        c2s: Pipe::new(now, c2s_cap, up),
                        s2c: Pipe::new(now, s2c_cap, down),
                        connect_at: Some(if times_out {
                            now + Duration::from_secs(127)
                        } else {
                            now + up + down
                        }),
                        times_out,
                        current: None,
                        handed_over: false,
                        stream: None,
                        client_close_seen: false,
                        served: HashMap::new(),
                        tunnel_echoed: 0,
                    });
                    self.endpoint.handle_opened(now, connection, Ok(socket));
                }
                EndpointAction::Assign {
                    request,
                    socket,
                    reused,
                } => {
                    let pair = self.pairs.iter_mut().find(|p| p.socket == socket);
                    let conn = pair.map(|p| &mut p.client.conn);
                    self.endpoint.assign(now, request, socket, reused, conn);
                }
                EndpointAction::Close { socket } => {
                    self.log(format!("endpoint closes socket {}", socket.0));
                    if let Some(pair) = self.pairs.iter_mut().find(|p| p.socket == socket) {
                        pair.client.conn.socket_mut().destroy(now);
                    }
                }
                _ => {}
            }
        }
        moved
    }

    /// A round of connection `i`: its connect, its client stack, the endpoint's view of it,
    /// the client application's raw or WebSocket events, its server stack and application.
    fn pair_round(&mut self, i: usize) -> bool {
        let now = self.now;
        let faults = self.scenario.faults;
        let mut moved = false;
        let pair = &mut self.pairs[i];
        if pair.times_out && pair.connect_at.is_some_and(|at| at <= now) {
            pair.connect_at = None;
            pair.client.conn.handle_io_error(now, ErrorKind::TimedOut);
            moved = true;
            let socket = pair.socket.0;
            self.log(format!("socket {socket}: connect timed out"));
        } else if pair.connect_at.is_some_and(|at| at <= now) {
            pair.connect_at = None;
            pair.client.conn.handle_connected(now);
            pair.server = Some(Side::new(self.acceptor.accept(now)));
            moved = true;
            let socket = pair.socket.0;
            self.log(format!("socket {socket} connected"));
        }
        let pair = &mut self.pairs[i];
        if pair.connect_at.is_none() {
            moved |= pair
                .client
                .round(now, &mut pair.c2s, &mut pair.s2c, &mut self.rng, &faults);
        }
        moved |= self
            .endpoint
            .handle_connection(now, pair.socket, &mut pair.client.conn);
        // The endpoint's events first: a hand-over names its stream before its socket's events.
        moved |= self.endpoint_events();
        moved |= self.client_socket_events(i);
        let pair = &mut self.pairs[i];
        if let Some(server) = &mut pair.server {
            moved |= server.round(now, &mut pair.s2c, &mut pair.c2s, &mut self.rng, &faults);
            moved |= self.serve(i);
        }
        let pair = &mut self.pairs[i];
        let socket = pair.socket.0;
        let client = pair.client.after_close.take().map(|w| ("client", w));
        let server = pair.server.as_mut().and_then(|s| s.after_close.take());
        if let Some((name, what)) = client.or_else(|| server.map(|w| ("server", w))) {
            self.fail(format!(
                "socket {socket}: the {name} stack asked for {what}"
            ));
        }
        moved
    }

    /// The client application's events of a handed-over connection (WebSocket, tunnel).
    fn client_socket_events(&mut self, i: usize) -> bool {
        let now = self.now;
        let mut moved = false;
        while let Some(event) = self.pairs[i].client.conn.poll_event() {
            moved = true;
            let pair = &mut self.pairs[i];
            let socket = pair.socket.0;
            if pair.client_close_seen {
                let line = format!("socket {socket}: client event after close: {event:?}");
                self.fail(line);
                return moved;
            }
            let stream = pair.stream;
            let messages = stream.and_then(|s| match self.scenario.plan[s].what {
                Plan::WebSocket {
                    messages,
                    close_at_once: false,
                } => Some(messages),
                _ => None,
            });
            let closer = stream.and_then(|s| match self.scenario.plan[s].what {
                Plan::Connect { closer } => Some(closer),
                _ => None,
            });
            let out = stream.and_then(|s| self.outcome.streams[s].as_mut());
            match event {
                Event::Ws(WsEvent::Message(_)) => {
                    if let Some(out) = out {
                        out.echoed += 1;
                        if Some(out.echoed) == messages
                            && let Some(ws) = pair.client.conn.ws_mut()
                        {
                            let _ = ws.close(now, Some(1000), "done");
                        }
                    }
                    self.log(format!("socket {socket}: ws echo"));
                }
                Event::Ws(WsEvent::Close { code, .. }) => {
                    if let Some(out) = out {
                        out.close_code = Some(code);
                    }
                    self.log(format!("socket {socket}: ws close {code:?}"));
                }
                Event::Socket(SocketEvent::Data(data)) => {
                    if let Some(out) = out {
                        out.echoed += data.len();
                        if out.echoed == TUNNEL_BYTES.len() && closer == Some(Closer::Client) {
                            let _ = pair.client.conn.socket_mut().end(now, None);
                        }
                    }
                    self.log(format!("socket {socket}: tunnel data {}", data.len()));
                }
                Event::Socket(SocketEvent::Close { had_error }) => {
                    pair.client_close_seen = true;
                    if let Some(out) = out {
                        out.socket_closed = true;
                    }
                    self.log(format!("socket {socket}: client close error={had_error}"));
                }
                other => self.log(format!("socket {socket}: client {other:?}")),
            }
        }
        moved
    }

    /// The endpoint's events, to the client application; checks their order.
    fn endpoint_events(&mut self) -> bool {
        let now = self.now;
        let mut moved = false;
        while let Some(event) = self.endpoint.poll_event() {
            moved = true;
            match event {
                EndpointEvent::Request { request, event } => self.request_event(request, event),
                EndpointEvent::WsOpen {
                    request, socket, ..
                } => {
                    self.log(format!(
                        "request {}: ws open on socket {}",
                        request.0, socket.0
                    ));
                    let index = self.ws_ids.get(&request).copied();
                    let (messages, at_once) = index
                        .and_then(|s| match self.scenario.plan[s].what {
                            Plan::WebSocket {
                                messages,
                                close_at_once,
                            } => Some((messages, close_at_once)),
                            _ => None,
                        })
                        .unwrap_or((0, true));
                    if let Some(pair) = self.pairs.iter_mut().find(|p| p.socket == socket) {
                        pair.handed_over = true;
                        pair.stream = index;
                        if let Some(ws) = pair.client.conn.ws_mut() {
                            for n in 0..messages {
                                let text = Bytes::from(format!("message {n}"));
                                let _ = ws.send(now, Message::Text(text));
                            }
                            if messages == 0 || at_once {
                                let _ = ws.close(now, Some(1000), "done");
                            }
                        }
                    }
                    if let Some(out) = index.and_then(|s| self.outcome.streams[s].as_mut()) {
                        out.opened = true;
                    }
                }
                EndpointEvent::WsOpenFailed { request, error } => {
                    self.log(format!("request {}: ws open failed: {error}", request.0));
                }
                other => self.log(format!("endpoint {other:?}")),
            }
        }
        moved
    }

    fn request_event(&mut self, request: PoolRequestId, event: ClientRequestEvent) {
        let now = self.now;
        let line = match &event {
            ClientRequestEvent::Data(data) => format!("data {}", data.len()),
            ClientRequestEvent::Response(head) => format!("response {}", head.status),
            ClientRequestEvent::Error(error) => format!("error {error}"),
            other => format!("{other:?}"),
        };
        self.log(format!("request {}: {line}", request.0));
        let Some(tracked) = self.tracked.get_mut(&request) else {
            self.fail(format!(
                "request {}: event for an unknown request",
                request.0
            ));
            return;
        };
        if tracked.outcome.closed {
            self.fail(format!("request {}: event after close: {line}", request.0));
            return;
        }
        let out = &mut tracked.outcome;
        let mut broken = None;
        match event {
            ClientRequestEvent::Socket { socket, reused } => {
                if tracked.responded || tracked.terminal {
                    broken = Some("socket after the response began".to_owned());
                }
                out.sockets.push((socket, reused));
                for pair in &mut self.pairs {
                    if pair.current == Some(request) {
                        pair.current = None;
                    }
                }
                if let Some(pair) = self.pairs.iter_mut().find(|p| p.socket == socket) {
                    pair.current = Some(request);
                }
            }
            ClientRequestEvent::Continue => out.continued = true,
            ClientRequestEvent::Response(head) => {
                if tracked.responded {
                    broken = Some("a second response".to_owned());
                }
                tracked.responded = true;
                out.status = Some(head.status);
            }
            ClientRequestEvent::Data(data) => {
                if !tracked.responded {
                    broken = Some("data before the response".to_owned());
                }
                out.body.extend_from_slice(&data);
            }
            ClientRequestEvent::End(_) => {
                if !tracked.responded || tracked.terminal {
                    broken = Some("end without a response, or after the end".to_owned());
                }
                tracked.terminal = true;
                out.ended = true;
                // The server writes what it read: the answer must be this request's.
                if out.status == Some(200) {
                    let expected = format!("{} {}", out.method, out.path);
                    let body = String::from_utf8_lossy(&out.body);
                    if body.split(' ').take(2).collect::<Vec<_>>().join(" ") != expected {
                        broken = Some(format!("answer {body:?} is not for {expected:?}"));
                    }
                }
            }
            ClientRequestEvent::Error(error) => {
                if tracked.terminal {
                    broken = Some("error after the end".to_owned());
                }
                tracked.terminal = true;
                out.error = Some(error);
            }
            ClientRequestEvent::Upgrade { socket, .. }
            | ClientRequestEvent::Connect { socket, .. } => {
                tracked.terminal = true;
                tracked.responded = true;
                out.handed_over = true;
                if let Some((index, _)) = self.tunnels.get(&request).copied()
                    && let Some(pair) = self.pairs.iter_mut().find(|p| p.socket == socket)
                {
                    pair.handed_over = true;
                    pair.stream = Some(index);
                    let _ = pair
                        .client
                        .conn
                        .socket_mut()
                        .write(now, Bytes::from_static(TUNNEL_BYTES));
                    if let Some(out) = self.outcome.streams[index].as_mut() {
                        out.opened = true;
                    }
                }
            }
            ClientRequestEvent::Close => {
                if !tracked.terminal {
                    broken = Some("close without end or error".to_owned());
                }
                out.closed = true;
                for pair in &mut self.pairs {
                    if pair.current == Some(request) {
                        pair.current = None;
                    }
                }
            }
            _ => {}
        }
        if let Some(broken) = broken {
            self.fail(format!("request {}: {broken}", request.0));
        }
    }

    /// The server application of connection `i`.
    fn serve(&mut self, i: usize) -> bool {
        let now = self.now;
        let mut moved = false;
        let continue_mode = self.scenario.continue_mode;
        let ws_vanish = self.scenario.ws_vanish;
        let ws_config = self.scenario.ws.clone();
        let announce = self.scenario.announce_keep_alive;
        let cut = self.scenario.cut;
        let answer = |status: u16| {
            let response = Response::new(status);
            if announce {
                response
            } else {
                response.header("Connection", "keep-alive")
            }
        };
        loop {
            let pair = &mut self.pairs[i];
            let socket = pair.socket.0;
            let Some(server) = &mut pair.server else {
                return moved;
            };
            if server.vanished {
                return moved;
            }
            let Some(event) = server.conn.poll_event() else {
                return moved;
            };
            moved = true;
            let mut line = None;
            let mut twice = None;
            match event {
                Event::Http(ServerEvent::Request(request)) => {
                    let head = format!(
                        "{} {}",
                        String::from_utf8_lossy(&request.method),
                        String::from_utf8_lossy(&request.target)
                    );
                    *self.outcome.server_seen.entry(head.clone()).or_default() += 1;
                    line = Some(format!("server {socket}: request {head}"));
                    let fresh = Served {
                        head,
                        ..Served::default()
                    };
                    if pair.served.insert(request.id, fresh).is_some() {
                        twice = Some(format!("server {socket}: request {} twice", request.id.0));
                    }
                }
                Event::Http(ServerEvent::CheckContinue(request)) => {
                    let head = format!(
                        "{} {}",
                        String::from_utf8_lossy(&request.method),
                        String::from_utf8_lossy(&request.target)
                    );
                    *self.outcome.server_seen.entry(head.clone()).or_default() += 1;
                    line = Some(format!("server {socket}: checkContinue {head}"));
                    let mut served = Served {
                        head,
                        ..Served::default()
                    };
                    if let Some(http) = server.conn.http_mut() {
                        match continue_mode {
                            ContinueMode::Continue => {
                                let _ = http.send_continue(now, request.id);
                            }
                            ContinueMode::Reject => {
                                served.answered = true;
                                let _ = http.respond(now, request.id, answer(417), Bytes::new());
                            }
                            ContinueMode::Silent => {}
                        }
                    }
                    if pair.served.insert(request.id, served).is_some() {
                        twice = Some(format!("server {socket}: request {} twice", request.id.0));
                    }
                }
                Event::Http(ServerEvent::Data { id, data }) => {
                    if let Some(served) = pair.served.get_mut(&id) {
                        served.len += data.len();
                    }
                }
                Event::Http(ServerEvent::End { id, .. }) => {
                    let Some(served) = pair.served.get_mut(&id) else {
                        continue;
                    };
                    if served.ended {
                        twice = Some(format!("server {socket}: request {} ended twice", id.0));
                    }
                    served.ended = true;
                    if !served.answered && served.head.contains(" /cut") {
                        // Written past the HTTP machine: a body ended by the close.
                        served.answered = true;
                        let raw = format!(
                            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{} {}",
                            served.head, served.len
                        );
                        let _ = server.conn.socket_mut().write(now, Bytes::from(raw));
                        match cut {
                            Ending::CloseNotify => {
                                let _ = server.conn.socket_mut().end(now, None);
                            }
                            Ending::BareFin => server.fin_when_flushed = true,
                        }
                    }
                    if !served.answered {
                        served.answered = true;
                        let body = Bytes::from(format!("{} {}", served.head, served.len));
                        if let Some(http) = server.conn.http_mut() {
                            let _ = http.respond(now, id, answer(200), body);
                        }
                    }
                    line = Some(format!("server {socket}: end {}", id.0));
                }
                Event::Http(ServerEvent::Upgrade { request, head }) => {
                    line = Some(format!("server {socket}: upgrade"));
                    let accepted =
                        server
                            .conn
                            .accept_ws(now, &request, head, &[], ws_config.clone());
                    if accepted.is_err() {
                        server.conn.socket_mut().destroy(now);
                    }
                }
                Event::Http(ServerEvent::Connect { head, .. }) => {
                    line = Some(format!("server {socket}: connect"));
                    let socket = server.conn.socket_mut();
                    let _ = socket.write(
                        now,
                        Bytes::from_static(b"HTTP/1.1 200 Connection Established\r\n\r\n"),
                    );
                    if !head.is_empty() {
                        pair.tunnel_echoed += head.len();
                        let _ = socket.write(now, head);
                    }
                }
                Event::Http(other) => line = Some(format!("server {socket}: {other:?}")),
                Event::Ws(WsEvent::Message(message)) => {
                    if ws_vanish {
                        server.vanished = true;
                        line = Some(format!("server {socket}: vanishes"));
                    } else if let Some(ws) = server.conn.ws_mut() {
                        let _ = ws.send(now, message);
                    }
                }
                Event::Ws(WsEvent::Close { code, .. }) => {
                    line = Some(format!("server {socket}: ws close {code:?}"));
                }
                Event::Ws(_) => {}
                Event::Socket(SocketEvent::Data(data)) => {
                    pair.tunnel_echoed += data.len();
                    let socket_machine = server.conn.socket_mut();
                    let _ = socket_machine.write(now, data);
                    let closer = pair.stream.and_then(|s| match self.scenario.plan[s].what {
                        Plan::Connect { closer } => Some(closer),
                        _ => None,
                    });
                    if pair.tunnel_echoed >= TUNNEL_BYTES.len() && closer == Some(Closer::Server) {
                        let _ = socket_machine.end(now, None);
                    }
                }
                // An `http.Server`'s sockets are half-open (`Acceptor::with_http`): the
                // application ends its side of a tunnel once the client ended its own.
                Event::Socket(SocketEvent::End) => {
                    line = Some(format!("server {socket}: End"));
                    let _ = server.conn.socket_mut().end(now, None);
                }
                Event::Socket(other) => line = Some(format!("server {socket}: {other:?}")),
                Event::Secure(_) | _ => {}
            }
            if let Some(line) = line {
                self.log(line);
            }
            if let Some(twice) = twice {
                self.fail(twice);
                return moved;
            }
        }
    }

    /// The earliest instant after `now` at which something is due.
    fn next_deadline(&self) -> Option<Instant> {
        let now = self.now;
        let mut times = Vec::new();
        times.push(self.endpoint.poll_timeout());
        times.push(self.plan.front().map(|(at, _, _)| *at));
        for pair in &self.pairs {
            times.push(pair.connect_at);
            times.push(pair.c2s.next_time(now));
            times.push(pair.s2c.next_time(now));
            for side in [Some(&pair.client), pair.server.as_ref()]
                .into_iter()
                .flatten()
            {
                if !side.vanished && !side.conn.is_closed() {
                    times.push(side.conn.poll_timeout());
                }
            }
        }
        times.into_iter().flatten().min()
    }

    /// The agent's counts against the connections the simulator holds, per origin.
    fn check_counts(&mut self) {
        let origin = self.origin.clone();
        let mut busy = 0;
        let mut free = 0;
        for pair in &self.pairs {
            if pair.one_off || pair.handed_over || pair.client.conn.is_closed() {
                continue;
            }
            if pair.origin != origin {
                continue;
            }
            if pair.current.is_some() || pair.connect_at.is_some() {
                busy += 1;
            } else {
                free += 1;
            }
        }
        let queued = self
            .tracked
            .iter()
            .filter(|(id, t)| {
                !t.one_off
                    && !t.outcome.closed
                    && t.origin == origin
                    && !self
                        .pairs
                        .iter()
                        .any(|p| p.current == Some(**id) && !p.client.conn.is_closed())
            })
            .count();
        let agent = self.endpoint.agent();
        let counts = (
            agent.busy(&origin),
            agent.free(&origin),
            agent.queued(&origin),
        );
        let total = agent.total_sockets();
        if counts != (busy, free, queued) || total != busy + free {
            self.fail(format!(
                "agent counts busy/free/queued/total {}/{}/{}/{total}, connections say {busy}/{free}/{queued}/{}",
                counts.0,
                counts.1,
                counts.2,
                busy + free
            ));
        }
    }

    /// When nothing is left to happen: every request closed, every connection closed.
    fn check_settled(&mut self) {
        let open: Vec<u64> = self
            .tracked
            .iter()
            .filter(|(_, t)| !t.outcome.closed)
            .map(|(id, _)| id.0)
            .collect();
        if !open.is_empty() {
            self.fail(format!("settled with requests never closed: {open:?}"));
        }
        if !self.endpoint.is_idle() {
            self.fail("settled with the endpoint still holding requests");
        }
        let mut unclosed = HashSet::new();
        for pair in &self.pairs {
            let server_open = pair
                .server
                .as_ref()
                .is_some_and(|s| !s.vanished && !s.conn.is_closed());
            if !pair.client.conn.is_closed() || server_open {
                unclosed.insert(pair.socket.0);
            }
        }
        if !unclosed.is_empty() {
            let mut unclosed: Vec<_> = unclosed.into_iter().collect();
            unclosed.sort_unstable();
            self.fail(format!("settled with connections still open: {unclosed:?}"));
        }
    }
}

/// The bytes a tunnel carries.
const TUNNEL_BYTES: &[u8] = b"through the tunnel and back";

/// Runs `scenario` over seeds `0..count` (or `SIM_SEEDS` seeds if set; only `SIM_SEED` if
/// that is set), checking each outcome with `check`; returns the number of runs, or the first
/// failure with its seed and transcript.
pub fn run_seeds(
    scenario: &Scenario,
    count: u64,
    check: impl Fn(&Outcome) -> Result<(), String>,
) -> Result<u64, Failure> {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let seeds: Box<dyn Iterator<Item = u64>> = match (env("SIM_SEED"), env("SIM_SEEDS")) {
        (Some(seed), _) => Box::new(std::iter::once(seed)),
        (None, Some(n)) => Box::new(0..n),
        (None, None) => Box::new(0..count),
    };
    let mut runs = 0;
    for seed in seeds {
        let outcome = Sim::new(seed, scenario).run()?;
        if let Err(message) = check(&outcome) {
            return Err(Failure {
                seed,
                message,
                transcript: outcome.transcript,
            });
        }
        runs += 1;
    }
    Ok(runs)
}

/// [`run_seeds`] for a test: prints the count and the time taken, and panics with the failure
/// (its seed, message and transcript) if a run fails.
#[allow(
    clippy::panic,
    reason = "a test helper: a failed run is the test's failure, reported by panicking"
)]
pub fn assert_seeds(
    name: &str,
    count: u64,
    scenario: &Scenario,
    check: impl Fn(&Outcome) -> Result<(), String>,
) {
    let started = Instant::now();
    match run_seeds(scenario, count, check) {
        Ok(runs) => eprintln!("{name}: {runs} seeds in {:?}", started.elapsed()),
        Err(failure) => panic!("{name}: {failure}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let xs: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..4).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        assert!((0..100).all(|_| (1..=3).contains(&a.size(3))));
    }

    #[test]
    fn a_pipe_delivers_in_order_after_its_latency_and_fin_last() {
        let start = Instant::now();
        let mut pipe = Pipe::new(start, 4, Duration::from_millis(10));
        let taken = pipe.write(
            start,
            &[IoSlice::new(b"abcdef")],
            usize::MAX,
            Duration::ZERO,
        );
        assert_eq!(taken, 4, "capacity bounds a write");
        pipe.shutdown(start);
        assert_eq!(pipe.read(start, 10), None, "nothing before the latency");
        let later = start + Duration::from_millis(10);
        assert_eq!(pipe.next_time(start), Some(later));
        assert!(!pipe.fin_due(later));
        assert_eq!(pipe.read(later, 3).as_deref(), Some(&b"abc"[..]));
        assert_eq!(pipe.read(later, 3).as_deref(), Some(&b"d"[..]));
        assert!(pipe.fin_due(later));
    }
}
