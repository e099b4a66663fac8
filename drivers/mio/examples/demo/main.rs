//! The sansnet demo: a TCP echo server, a UDP echo server, a Unix-socket echo server and an
//! HTTP server on one single-threaded event loop, or on one loop per core with `--workers`.
//!
//! ```text
//! cargo run --release -p sansnet-mio --example demo -- \
//!     [--tcp ADDR] [--udp ADDR] [--unix PATH] [--http ADDR] [--https ADDR] \
//!     [--cert FILE --key FILE] [--client-ca FILE] [--workers N]
//! ```
//!
//! Defaults: TCP 127.0.0.1:8124, UDP 127.0.0.1:41234, Unix `$TMPDIR/sansnet-demo.sock`, HTTP
//! 127.0.0.1:8080, HTTPS 127.0.0.1:8443. HTTPS serves the same routes as HTTP (with `wss://`
//! for the WebSocket ones) with the certificate chain and key of `--cert`/`--key`; without
//! them the demo makes a CA and a `localhost` certificate at start and writes the CA
//! certificate to a PEM file, printed first as `ca-cert PATH`. With `--client-ca FILE` HTTPS
//! requires a client certificate signed by a CA in that PEM file (mutual TLS). HTTP routes: `GET /hello` answers `hello world`; `POST /echo` and
//! `PUT /echo` echo the request body (chunked uploads and `Expect: 100-continue` included);
//! `GET /` serves a small page; `CONNECT host:port` opens a tunnel to a loopback target (403
//! otherwise); anything else is 404.
//!
//! Prints `listening tcp 127.0.0.1:8124` (and `udp`, `unix`, `http`, `https`) once each is
//! bound, then
//! serves until
//! SIGINT or SIGTERM, on which it closes the servers the way Node's `server.close()` does:
//! stop accepting, let open connections finish, then exit 0. Connections still open 3 s after
//! the signal (or at a second signal) are destroyed.
//!
//! `--workers N` (default 1; 0 is one per core, `std::thread::available_parallelism`) runs N
//! threads, each with its own event loop serving TCP, HTTP and HTTPS on the same addresses with
//! `SO_REUSEPORT` (`sansnet_tcp::ServerConfig::reuse_port`), as Node's `cluster` runs one
//! process per core: the kernel spreads connections among the loops and each loop owns the ones
//! it accepted. Worker 0 binds first; the others then bind the ports it got, so port 0 works.
//! The UDP echo and the Unix socket stay on worker 0, which alone prints the `listening` lines
//! (so they read as with one worker); it prints them once it is bound, and the other workers
//! bind a moment later, so the very first connections may all reach worker 0. Every routed HTTP response then carries `X-Worker: I`,
//! the index of the worker that answered, and the `/chat` room is per worker: a message reaches
//! the members connected to the same worker, as in Node's `cluster` without IPC. Each worker
//! gets SIGINT and SIGTERM through its own signal pipe and closes its own servers as above; the
//! demo exits once every worker is done. If a worker fails, it raises SIGTERM so that the
//! others close too, and the demo exits 1.

use std::collections::HashSet;
use std::io::Write;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod http;
mod tls;

use sansnet_mio::{Event, EventLoop, ServerId, SocketId, UdpId};
use sansnet_tcp::{Address, ServerConfig, ServerEvent, SocketEvent};
use sansnet_tls::rustls::ServerConfig as TlsConfig;
use sansnet_udp::SocketEvent as UdpEvent;

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;
const GRACE: Duration = Duration::from_secs(3);

struct Options {
    tcp: SocketAddr,
    udp: SocketAddr,
    unix: PathBuf,
    http: SocketAddr,
    https: SocketAddr,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    client_ca: Option<PathBuf>,
    workers: usize,
}

const USAGE: &str = "usage: demo [--tcp ADDR] [--udp ADDR] [--unix PATH] [--http ADDR] \
                     [--https ADDR] [--cert FILE --key FILE] [--client-ca FILE] \
                     [--workers N]";

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        tcp: SocketAddr::from(([127, 0, 0, 1], 8124)),
        udp: SocketAddr::from(([127, 0, 0, 1], 41234)),
        unix: std::env::temp_dir().join("sansnet-demo.sock"),
        http: SocketAddr::from(([127, 0, 0, 1], 8080)),
        https: SocketAddr::from(([127, 0, 0, 1], 8443)),
        cert: None,
        key: None,
        client_ca: None,
        workers: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--tcp" => options.tcp = parse_addr(&value()?)?,
            "--udp" => options.udp = parse_addr(&value()?)?,
            "--unix" => options.unix = PathBuf::from(value()?),
            "--http" => options.http = parse_addr(&value()?)?,
            "--https" => options.https = parse_addr(&value()?)?,
            "--cert" => options.cert = Some(PathBuf::from(value()?)),
            "--key" => options.key = Some(PathBuf::from(value()?)),
            "--client-ca" => options.client_ca = Some(PathBuf::from(value()?)),
            "--workers" => options.workers = parse_workers(&value()?)?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if options.cert.is_some() != options.key.is_some() {
        return Err("--cert and --key go together".into());
    }
    Ok(options)
}

/// A worker count; 0 is one per core.
fn parse_workers(text: &str) -> Result<usize, String> {
    let n: usize = text
        .parse()
        .map_err(|_| format!("--workers takes a count: {text:?}"))?;
    Ok(match n {
        0 => std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        n => n,
    })
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| format!("not an address (IP:PORT): {text:?}"))
}

/// A socket file left by a crashed run makes `listen` fail with `EADDRINUSE`
/// (docs/node-semantics.md#unix-unlink-on-close), as in Node; like many Node programs, the demo
/// removes it first when nobody answers on it.
fn remove_stale_socket(path: &PathBuf) {
    if path.exists() && std::os::unix::net::UnixStream::connect(path).is_err() {
        let _ = std::fs::remove_file(path);
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("demo: {message}");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("demo: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: Options) -> Result<(), String> {
    let files = options.cert.as_deref().zip(options.key.as_deref());
    let ca_file = std::env::temp_dir().join(format!("sansnet-demo-ca-{}.pem", std::process::id()));
    let certificate = tls::certificate(files, &ca_file, options.client_ca.as_deref())?;
    // The CA file goes when the demo exits, as the Unix socket file does.
    let _ca_file = certificate.ca_file.clone().map(RemoveOnDrop);
    if let Some(path) = &certificate.ca_file {
        say(&format!("ca-cert {}", path.display()));
    }
    remove_stale_socket(&options.unix);
    let several = options.workers > 1;
    let first = Worker {
        index: 0,
        several,
        tcp: options.tcp,
        http: options.http,
        https: options.https,
        unix: Some(options.unix),
        udp: Some(options.udp),
        tls: certificate.config.clone(),
        bound: None,
    };
    if !several {
        return first.run();
    }

    let (bound_tx, bound_rx) = mpsc::channel();
    let mut result = Ok(());
    let mut threads = Vec::new();
    match first.with_bound(bound_tx).spawn() {
        Ok(thread) => threads.push(thread),
        Err(e) => return Err(format!("cannot start worker 0: {e}")),
    }
    // Worker 0 sends the ports it bound, or drops the sender when it fails before.
    if let Ok(bound) = bound_rx.recv() {
        for index in 1..options.workers {
            let worker = Worker {
                index,
                several,
                tcp: bound.tcp,
                http: bound.http,
                https: bound.https,
                unix: None,
                udp: None,
                tls: certificate.config.clone(),
                bound: None,
            };
            match worker.spawn() {
                Ok(thread) => threads.push(thread),
                Err(e) => {
                    result = Err(format!("cannot start worker {index}: {e}"));
                    stop_workers();
                    break;
                }
            }
        }
    }
    for thread in threads {
        let outcome = thread
            .join()
            .unwrap_or_else(|_| Err("a worker panicked".into()));
        if result.is_ok() {
            result = outcome;
        }
    }
    result
}

/// Asks every worker to close its servers, as SIGTERM does: each worker's signal pipe gets it.
fn stop_workers() {
    // Every worker watches SIGTERM, so raising it only reaches their handlers.
    let _ = signal_hook::low_level::raise(SIGTERM);
}

/// The ports worker 0 bound, for the other workers to bind too.
struct Bound {
    tcp: SocketAddr,
    http: SocketAddr,
    https: SocketAddr,
}

/// One event loop and the servers it runs.
struct Worker {
    /// 0 for the first worker, the one that prints `listening` lines.
    index: usize,
    /// Whether there are several workers: listeners get `SO_REUSEPORT` and responses
    /// `X-Worker`.
    several: bool,
    tcp: SocketAddr,
    http: SocketAddr,
    https: SocketAddr,
    /// The Unix socket path, on worker 0 only.
    unix: Option<PathBuf>,
    /// The UDP echo address, on worker 0 only.
    udp: Option<SocketAddr>,
    tls: Arc<TlsConfig>,
    /// Where worker 0 of several sends the ports it bound.
    bound: Option<mpsc::Sender<Bound>>,
}

impl Worker {
    fn with_bound(self, bound: mpsc::Sender<Bound>) -> Self {
        Self {
            bound: Some(bound),
            ..self
        }
    }

    /// Runs the worker on a thread of its own; a worker that fails stops the others.
    fn spawn(self) -> std::io::Result<JoinHandle<Result<(), String>>> {
        let index = self.index;
        std::thread::Builder::new()
            .name(format!("worker {index}"))
            .spawn(move || {
                let result = self.run().map_err(|e| format!("worker {index}: {e}"));
                if result.is_err() {
                    stop_workers();
                }
                result
            })
    }

    fn run(self) -> Result<(), String> {
        let mut ev = EventLoop::new().map_err(|e| format!("cannot create the event loop: {e}"))?;
        for signal in [SIGINT, SIGTERM] {
            ev.watch_signal(signal)
                .map_err(|e| format!("cannot watch signal {signal}: {e}"))?;
        }
        let mut config = ServerConfig::default();
        config.reuse_port = self.several;
        let tcp = ev.listen(Address::Tcp(self.tcp), config.clone());
        let unix = self
            .unix
            .map(|path| ev.listen(Address::Unix(path), ServerConfig::default()));
        let udp = match self.udp {
            Some(address) => {
                let udp = ev.udp_socket(sansnet_udp::SocketConfig::new(sansnet_udp::Family::of(
                    address.ip(),
                )));
                ev.udp_bind(udp, Some(address))
                    .map_err(|e| format!("udp bind: {e}"))?;
                Some(udp)
            }
            None => None,
        };
        let http_server = ev.listen_http(Address::Tcp(self.http), config.clone(), http::config());
        let https_server = ev.listen_https(
            Address::Tcp(self.https),
            config,
            http::config(),
            self.tls.clone(),
        );

        let mut open_servers: HashSet<ServerId> = [tcp, http_server, https_server]
            .into_iter()
            .chain(unix)
            .collect();
        let mut udp_open = udp.is_some();
        let mut connections: HashSet<SocketId> = HashSet::new();
        let mut web = http::Http::new(self.several.then_some(self.index));
        let mut stopping_since: Option<Instant> = None;
        let mut bound_tx = self.bound;
        let mut ports: [Option<SocketAddr>; 3] = [None; 3];

        loop {
            if open_servers.is_empty() && !udp_open {
                return Ok(());
            }
            let wait = stopping_since.map(|since| GRACE.saturating_sub(since.elapsed()));
            let Some(event) = ev
                .next_event(wait)
                .map_err(|e| format!("event loop: {e}"))?
            else {
                if stopping_since.is_some() {
                    // The grace period is over: destroy what is still open.
                    for socket in connections.drain() {
                        ev.destroy(socket);
                    }
                    stopping_since = None;
                }
                continue;
            };
            match event {
                Event::Server { server, event } => {
                    let (kind, slot) = match server {
                        s if s == tcp => ("tcp", Some(0)),
                        s if s == http_server => ("http", Some(1)),
                        s if s == https_server => ("https", Some(2)),
                        _ => ("unix", None),
                    };
                    match event {
                        ServerEvent::Listening { address } => {
                            if self.index == 0 {
                                match &address {
                                    Address::Tcp(addr) => say(&format!("listening {kind} {addr}")),
                                    Address::Unix(path) => {
                                        say(&format!("listening {kind} {}", path.display()));
                                    }
                                }
                            }
                            if let (Some(slot), Address::Tcp(addr)) = (slot, address) {
                                ports[slot] = Some(addr);
                            }
                            if let [Some(tcp), Some(http), Some(https)] = ports
                                && let Some(tx) = bound_tx.take()
                            {
                                // The main thread is waiting on the other end.
                                let _ = tx.send(Bound { tcp, http, https });
                            }
                        }
                        ServerEvent::Connection { id } => {
                            connections.insert(SocketId::from(id));
                        }
                        ServerEvent::Error(error) => {
                            return Err(format!("{kind} server: {error}"));
                        }
                        ServerEvent::Close => {
                            open_servers.remove(&server);
                        }
                        _ => {}
                    }
                }
                Event::Http { socket, event } => web.on_http(&mut ev, socket, event),
                Event::Ws { socket, event } => {
                    if matches!(event, sansnet_ws::WsEvent::Close { .. }) {
                        connections.remove(&socket);
                    }
                    web.on_ws(&mut ev, socket, event);
                }
                Event::Socket { socket, event } if web.owns(socket) => {
                    if matches!(event, SocketEvent::Close { .. }) {
                        connections.remove(&socket);
                    }
                    web.on_socket(&mut ev, socket, event);
                }
                Event::Socket { socket, event } => match event {
                    SocketEvent::Data(data) => {
                        // Echo with backpressure, as `socket.pipe(socket)` does.
                        if let Ok(false) = ev.write(socket, data) {
                            ev.pause(socket);
                        }
                    }
                    SocketEvent::Drain => ev.resume(socket),
                    SocketEvent::Close { .. } => {
                        connections.remove(&socket);
                    }
                    _ => {}
                },
                Event::Udp { socket, event } => on_udp(&mut ev, socket, event, &mut udp_open)?,
                Event::Secure { .. } => {}
                Event::Signal(_) => {
                    if stopping_since.is_some() {
                        for socket in connections.drain() {
                            ev.destroy(socket);
                        }
                        continue;
                    }
                    stopping_since = Some(Instant::now());
                    web.close_all(&mut ev);
                    for server in open_servers.clone() {
                        let _ = ev.close_server(server);
                    }
                    if let Some(udp) = udp.filter(|_| udp_open) {
                        let _ = ev.udp_close(udp);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Removes its file when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn on_udp(ev: &mut EventLoop, udp: UdpId, event: UdpEvent, open: &mut bool) -> Result<(), String> {
    match event {
        UdpEvent::Listening { address } => say(&format!("listening udp {address}")),
        UdpEvent::Message { data, rinfo } => {
            // A failed echo (the peer went away) is reported by a `Sent` event; nothing to do.
            let _ = ev.udp_send(udp, data, rinfo.port, Some(rinfo.address));
        }
        UdpEvent::Error(error) => return Err(format!("udp: {error}")),
        UdpEvent::Close => *open = false,
        _ => {}
    }
    Ok(())
}
