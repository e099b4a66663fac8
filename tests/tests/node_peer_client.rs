//! Node.js as the CLIENT of sansnet's demo: Node 20's own `net` and `dgram` modules (peers no
//! one here wrote) talk to the demo's TCP, Unix and UDP echo servers over loopback, then the
//! demo must stop cleanly on SIGTERM.
//!
//! The test builds the demo example (`cargo build -p sansnet-mio --example demo`), starts it on
//! port 0, runs `tests/peers/net_dgram_client.mjs` against it and checks every value the
//! script reports. A missing Node fails the test (`peers::node` panics); it never skips.

#![allow(
    clippy::panic,
    reason = "helpers outside #[test] fns fail the test by panicking, with a message"
)]

mod common;

use common::Json;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use sansnet_testkit::peers;

/// The workspace root (the folder holding the workspace `Cargo.toml`).
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
/// How long building the demo may take (it is usually already built).
const BUILD_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the demo may take to print its three `listening` lines.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the Node client script may run.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the demo may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

const TCP_BYTES: u64 = 4 * 1024 * 1024;
const UNIX_BYTES: u64 = 256 * 1024;

/// A child process that is killed (and reaped) when the test ends, passing or failing.
#[derive(Debug)]
struct Guard {
    child: Child,
    name: &'static str,
}

impl Guard {
    /// Waits up to `timeout` for the child to exit.
    fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() >= deadline => return None,
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("cannot wait for {}: {e}", self.name),
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads `stream` on a thread, sending each line down the returned channel.
fn lines_of(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads all of `stream` on a thread; the text arrives on the channel at end of stream.
fn text_of(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stream).read_to_string(&mut text);
        let _ = tx.send(text);
    });
    rx
}

/// Builds the demo example if needed and returns the path of its binary.
fn build_demo() -> PathBuf {
    let child = Command::new(env!("CARGO"))
        .args(["build", "-p", "sansnet-mio", "--example", "demo"])
        .current_dir(WORKSPACE)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run cargo to build the demo");
    let mut build = Guard {
        child,
        name: "cargo build",
    };
    let stderr = text_of(build.child.stderr.take().expect("cargo stderr is piped"));
    let status = build
        .wait_timeout(BUILD_TIMEOUT)
        .unwrap_or_else(|| panic!("building the demo took more than {BUILD_TIMEOUT:?}"));
    let log = stderr
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_default();
    assert!(
        status.success(),
        "building the demo failed ({status}):\n{log}"
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| Path::new(WORKSPACE).join("target"), PathBuf::from);
    let target = if target.is_absolute() {
        target
    } else {
        Path::new(WORKSPACE).join(target)
    };
    let demo = target.join("debug").join("examples").join("demo");
    assert!(demo.is_file(), "no demo binary at {}", demo.display());
    demo
}

/// The running demo and the ports and path it printed.
#[derive(Debug)]
struct Demo {
    guard: Guard,
    tcp_port: u16,
    udp_port: u16,
    unix_path: PathBuf,
    stderr: Receiver<String>,
}

/// Starts the demo on port 0 and waits for its three `listening` lines.
fn start_demo(binary: &Path, unix_path: &Path) -> Demo {
    let child = Command::new(binary)
        .args(["--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0"])
        .args(["--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--unix"])
        .arg(unix_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the demo");
    let mut guard = Guard {
        child,
        name: "the demo",
    };
    let stdout = lines_of(guard.child.stdout.take().expect("demo stdout is piped"));
    let stderr = text_of(guard.child.stderr.take().expect("demo stderr is piped"));
    let deadline = Instant::now() + START_TIMEOUT;
    let (mut tcp, mut udp, mut unix) = (None, None, None);
    while tcp.is_none() || udp.is_none() || unix.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match stdout.recv_timeout(left) {
            Ok(line) => line,
            Err(e) => {
                let status = guard.wait_timeout(Duration::from_secs(1));
                let log = stderr
                    .recv_timeout(Duration::from_secs(1))
                    .unwrap_or_default();
                panic!(
                    "the demo did not print its three `listening` lines within \
                     {START_TIMEOUT:?} ({e}; exit status {status:?}); stderr:\n{log}"
                );
            }
        };
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("listening"), Some("tcp"), Some(address)) => tcp = Some(port_of(address)),
            (Some("listening"), Some("udp"), Some(address)) => udp = Some(port_of(address)),
            (Some("listening"), Some("unix"), Some(address)) => {
                unix = Some(PathBuf::from(address));
            }
            // HTTP, HTTPS and the CA file of the demo's own certificate: not used here.
            (Some("listening"), Some("http" | "https"), Some(_))
            | (Some("ca-cert"), Some(_), None) => {}
            _ => panic!("unexpected line from the demo: {line:?}"),
        }
    }
    let (Some(tcp_port), Some(udp_port), Some(unix_path)) = (tcp, udp, unix) else {
        unreachable!("the loop ends once all three are known")
    };
    Demo {
        guard,
        tcp_port,
        udp_port,
        unix_path,
        stderr,
    }
}

fn port_of(address: &str) -> u16 {
    let addr: std::net::SocketAddr = address
        .parse()
        .unwrap_or_else(|_| panic!("the demo printed a bad address {address:?}"));
    assert!(
        addr.ip().is_loopback(),
        "the demo must listen on loopback, printed {addr}"
    );
    assert_ne!(
        addr.port(),
        0,
        "Node docs net.md › server.address(): the printed port is the one the OS chose"
    );
    addr.port()
}

/// Runs the Node client script against the demo; returns its reports keyed by `check`.
fn run_node_client(demo: &Demo) -> BTreeMap<String, Json> {
    let script = peers::scripts_dir().join("net_dgram_client.mjs");
    let child = Command::new(peers::node())
        .arg(&script)
        .arg(demo.tcp_port.to_string())
        .arg(demo.udp_port.to_string())
        .arg(&demo.unix_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start node");
    let mut node = Guard {
        child,
        name: "the Node client",
    };
    let stdout = text_of(node.child.stdout.take().expect("node stdout is piped"));
    let stderr = text_of(node.child.stderr.take().expect("node stderr is piped"));
    let status = node
        .wait_timeout(CLIENT_TIMEOUT)
        .unwrap_or_else(|| panic!("the Node client ran longer than {CLIENT_TIMEOUT:?}"));
    let out = stdout
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_default();
    let err = stderr
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_default();
    assert!(
        status.success(),
        "the Node client failed ({status})\nstdout:\n{out}\nstderr:\n{err}"
    );
    let mut reports = BTreeMap::new();
    for line in out.lines().filter(|line| !line.trim().is_empty()) {
        let report = Json::parse(line)
            .unwrap_or_else(|e| panic!("the Node client printed bad JSON ({e}): {line}"));
        let check = report.get("check").str().to_owned();
        reports.insert(check, report);
    }
    reports
}

/// Asserts one stream check (`tcp` or `unix`): the echo is the same bytes, and the client saw
/// `connect`, `end`, `close(false)` in that order.
fn assert_stream_echo(name: &str, report: &Json, bytes: u64) {
    assert_eq!(report.get("sent_bytes").num(), bytes, "{name}: bytes sent");
    assert_eq!(
        report.get("received_bytes").num(),
        bytes,
        "{name}: Node docs net.md › Event: 'data': every byte comes back"
    );
    assert_eq!(
        report.get("received_sha256").str(),
        report.get("sent_sha256").str(),
        "{name}: Node docs net.md › Event: 'data': the echo is the same bytes in the same order"
    );
    assert_eq!(
        report.get("drains").num(),
        report.get("writes_returned_false").num(),
        "{name}: every write() that returned false was answered by one 'drain'"
    );
    assert!(
        report.get("finished").bool(),
        "{name}: the client's 'finish' fired"
    );
    assert_eq!(
        report.get("events").strs(),
        ["connect", "end", "close:false"],
        "{name}: docs/node-semantics.md#net-end-after-data, #net-end-closes-by-default, #net-close-once: connect, then the demo's FIN after all data, then close(false)"
    );
}

/// docs/node-semantics.md#net-data-order, #net-end-after-data, #net-end-closes-by-default,
/// #net-write-backpressure, #net-drain, #net-close-once (TCP, Unix),
/// docs/node-semantics.md#unix-path-length (Unix), Node docs `dgram.md` › `socket.bind()`,
/// `Event: 'message'` (UDP), Node docs `net.md` › `Event: 'end'`, `socket.end()` (half-open),
/// docs/node-semantics.md#net-server-close, #unix-unlink-on-close (SIGTERM): Node 20's `net` and
/// `dgram` as clients of the demo, which then exits 0 on SIGTERM and unlinks its socket file.
#[test]
fn node_client_against_demo() {
    peers::node(); // fail at once, with the install hint, when Node is missing
    let binary = build_demo();
    let unix_path = common::unix_path("node-peer-client");
    let mut demo = start_demo(&binary, &unix_path);
    assert_eq!(
        demo.unix_path, unix_path,
        "docs/node-semantics.md#unix-path-length: the demo listens on our path"
    );
    assert!(
        unix_path.exists(),
        "docs/node-semantics.md#unix-unlink-on-close: the Unix server created its socket file"
    );

    let reports = run_node_client(&demo);
    let report = |check: &str| {
        reports
            .get(check)
            .unwrap_or_else(|| panic!("the Node client printed no {check:?} report: {reports:?}"))
    };

    // (a) TCP: 4 MiB with backpressure, echoed whole.
    assert_stream_echo("tcp", report("tcp"), TCP_BYTES);
    // (b) Unix socket: 256 KiB, echoed whole (docs/node-semantics.md#unix-path-length).
    assert_stream_echo("unix", report("unix"), UNIX_BYTES);

    // (c) UDP: three datagrams, each echoed whole and from the demo's port (Node docs `dgram.md` ›
    // `Event: 'message'`).
    let udp = report("udp");
    let sent_sizes: Vec<u64> = udp.get("sent_sizes").arr().iter().map(Json::num).collect();
    assert_eq!(sent_sizes, [1, 1500, 60000]);
    let echoes = udp.get("echoes").arr();
    let mut echo_sizes: Vec<u64> = echoes.iter().map(|e| e.get("size").num()).collect();
    echo_sizes.sort_unstable();
    assert_eq!(
        echo_sizes, sent_sizes,
        "Node docs dgram.md › Event: 'message': one echo per datagram, never merged or split"
    );
    for echo in echoes {
        let size = echo.get("size").num();
        assert!(
            echo.get("matches_sent").bool(),
            "udp: the {size}-byte echo differs from what was sent"
        );
        assert_eq!(echo.get("address").str(), "127.0.0.1", "udp: rinfo.address");
        assert_eq!(echo.get("family").str(), "IPv4", "udp: rinfo.family");
        assert_eq!(
            echo.get("port").num(),
            u64::from(demo.udp_port),
            "udp: Node docs dgram.md › socket.bind(), Event: 'message': the echo comes from the port the demo bound"
        );
        assert_eq!(echo.get("rinfo_size").num(), size, "udp: rinfo.size");
    }

    // (d) Half-open from Node's side: echo of "ping", then the demo's FIN, then close.
    let half = report("half_open");
    assert_eq!(
        half.get("data").str(),
        "ping",
        "Node docs net.md › socket.end(): the demo still reads and echoes after our end()"
    );
    assert_eq!(
        half.get("events").strs(),
        ["connect", "data", "end", "close:false"],
        "docs/node-semantics.md#net-end-closes-by-default, #net-half-open: the demo (allowHalfOpen false) ends its side after our FIN, after the echo"
    );

    // SIGTERM: the demo closes its servers and exits 0, unlinking the socket file.
    let pid = demo.guard.child.id().to_string();
    let kill = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("cannot run kill");
    assert!(kill.success(), "kill -TERM {pid} failed");
    let status = demo.guard.wait_timeout(STOP_TIMEOUT).unwrap_or_else(|| {
        panic!("Node docs net.md › server.close(): the demo did not exit within {STOP_TIMEOUT:?} of SIGTERM")
    });
    let log = demo
        .stderr
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_default();
    assert_eq!(
        status.code(),
        Some(0),
        "the demo must exit 0 on SIGTERM, got {status}; stderr:\n{log}"
    );
    assert!(
        !unix_path.exists(),
        "docs/node-semantics.md#unix-unlink-on-close: the Unix server unlinks its socket file on close"
    );
}

// ---- a minimal JSON reader for the script's reports ------------------------------------
