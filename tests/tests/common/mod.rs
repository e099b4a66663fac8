//! Helpers shared by the loopback tests: bounded waits on the event loop and test data.

#![allow(dead_code, reason = "each test file uses a different subset")]

pub(crate) mod browser;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sansnet_mio::{Event, EventLoop};
use sha2::{Digest, Sha256};

/// How long any single wait may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// The next event, or a test failure naming `what` if none comes within [`WAIT`].
pub(crate) fn next(ev: &mut EventLoop, what: &str) -> Event {
    match ev.next_event(Some(WAIT)) {
        Ok(Some(event)) => event,
        Ok(None) => panic!("timed out waiting for {what}"),
        Err(e) => panic!("event loop failed while waiting for {what}: {e}"),
    }
}

/// Pulls events until `pick` returns `Some`, handing the others to `other`; fails after
/// [`WAIT`] in total.
pub(crate) fn until<T>(
    ev: &mut EventLoop,
    what: &str,
    mut pick: impl FnMut(&Event) -> Option<T>,
    mut other: impl FnMut(&mut EventLoop, Event),
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = match ev.next_event(Some(left)) {
            Ok(Some(event)) => event,
            Ok(None) => panic!("timed out waiting for {what}"),
            Err(e) => panic!("event loop failed while waiting for {what}: {e}"),
        };
        if let Some(found) = pick(&event) {
            return found;
        }
        other(ev, event);
    }
}

/// `n` pseudo-random bytes from a fixed seed (xorshift), so failures reproduce.
pub(crate) fn random_bytes(n: usize, seed: u64) -> Bytes {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(n);
    out.into()
}

/// Hex SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 127.0.0.1 with port 0: the OS picks a free port.
pub(crate) fn loopback_any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A fresh path for a Unix socket in the temp dir, unique to this process and `name`.
pub(crate) fn unix_path(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("sansnet-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

// ---- the demo binary and real-peer processes (HTTP tests) ------------------------------

/// The workspace root (the folder holding the workspace `Cargo.toml`).
pub(crate) const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// How long building the demo may take (it is usually already built).
pub(crate) const DEMO_BUILD_TIMEOUT: Duration = Duration::from_secs(300);

/// How long the demo may take to print its `listening` lines.
pub(crate) const DEMO_START_TIMEOUT: Duration = Duration::from_secs(10);

/// A child process that is killed (and reaped) when dropped, whether the test passed or not.
#[derive(Debug)]
pub(crate) struct ChildGuard {
    /// The process.
    pub(crate) child: std::process::Child,
    /// What it is, for messages.
    pub(crate) name: String,
}

impl ChildGuard {
    /// Waits up to `timeout` for the child to exit.
    pub(crate) fn wait_timeout(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() >= deadline => return None,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("cannot wait for {}: {e}", self.name),
            }
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads `stream` on a thread, sending each line down the returned channel.
pub(crate) fn lines_on_thread(
    stream: impl std::io::Read + Send + 'static,
) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads all of `stream` on a thread; the bytes arrive on the channel at end of stream.
pub(crate) fn bytes_on_thread(
    mut stream: impl std::io::Read + Send + 'static,
) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    rx
}

/// What a bounded peer run produced.
#[derive(Debug)]
pub(crate) struct PeerOutput {
    /// How it exited.
    pub(crate) status: std::process::ExitStatus,
    /// Everything it wrote to stdout.
    pub(crate) stdout: Vec<u8>,
    /// Everything it wrote to stderr, lossily decoded.
    pub(crate) stderr: String,
}

impl PeerOutput {
    /// stdout, lossily decoded.
    pub(crate) fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Runs `command` (stdin closed, stdout and stderr captured) and waits at most `timeout`; a
/// peer still running then is killed and the test fails naming `what`.
pub(crate) fn run_bounded(
    command: &mut std::process::Command,
    timeout: Duration,
    what: &str,
) -> PeerOutput {
    use std::process::Stdio;
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut guard = ChildGuard {
        child,
        name: what.to_owned(),
    };
    let stdout = bytes_on_thread(guard.child.stdout.take().expect("stdout is piped"));
    let stderr = bytes_on_thread(guard.child.stderr.take().expect("stderr is piped"));
    let status = guard.wait_timeout(timeout);
    let collect = |rx: &std::sync::mpsc::Receiver<Vec<u8>>| {
        rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default()
    };
    let Some(status) = status else {
        drop(guard); // kill it, so its pipes close
        let out = String::from_utf8_lossy(&collect(&stdout)).into_owned();
        let err = String::from_utf8_lossy(&collect(&stderr)).into_owned();
        panic!("{what} ran longer than {timeout:?}\nstdout:\n{out}\nstderr:\n{err}");
    };
    PeerOutput {
        status,
        stdout: collect(&stdout),
        stderr: String::from_utf8_lossy(&collect(&stderr)).into_owned(),
    }
}

/// Builds the demo example once per test binary and returns the path of its binary.
pub(crate) fn demo_binary() -> std::path::PathBuf {
    static DEMO: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DEMO.get_or_init(|| example_binary("sansnet-mio", "demo"))
        .clone()
}

/// Builds sansnet-tokio's `tokio-chat` example once per test binary and returns the path of
/// its binary.
pub(crate) fn tokio_chat_binary() -> std::path::PathBuf {
    static CHAT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    CHAT.get_or_init(|| example_binary("sansnet-tokio", "tokio-chat"))
        .clone()
}

/// Builds example `name` of `package` (debug) and returns the path of its binary.
fn example_binary(package: &str, name: &str) -> std::path::PathBuf {
    use std::path::{Path, PathBuf};
    let out = run_bounded(
        std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", package, "--example", name])
            .current_dir(WORKSPACE),
        DEMO_BUILD_TIMEOUT,
        &format!("cargo build of the {name} example"),
    );
    assert!(
        out.status.success(),
        "building the {name} example failed ({}):\n{}",
        out.status,
        out.stderr
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| Path::new(WORKSPACE).join("target"), PathBuf::from);
    let target = if target.is_absolute() {
        target
    } else {
        Path::new(WORKSPACE).join(target)
    };
    let binary = target.join("debug").join("examples").join(name);
    assert!(binary.is_file(), "no {name} binary at {}", binary.display());
    binary
}

/// The running demo, started on port 0 everywhere, and the HTTP port it printed.
#[derive(Debug)]
pub(crate) struct HttpDemo {
    /// The demo process (killed on drop).
    pub(crate) guard: ChildGuard,
    /// The port of `listening http 127.0.0.1:PORT`.
    pub(crate) port: u16,
    /// The port of `listening https 127.0.0.1:PORT`.
    pub(crate) https_port: u16,
    /// The CA certificate (PEM) the demo made and printed as `ca-cert PATH`.
    pub(crate) ca_file: std::path::PathBuf,
    unix_path: std::path::PathBuf,
}

impl HttpDemo {
    /// `http://127.0.0.1:PORT` followed by `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `127.0.0.1:PORT`.
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `https://localhost:PORT` followed by `path` (the name the demo's certificate has).
    pub(crate) fn https_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.https_port)
    }
}

impl Drop for HttpDemo {
    fn drop(&mut self) {
        if let Ok(None) = self.guard.child.try_wait() {
            let _ = self.guard.child.kill();
            let _ = self.guard.child.wait();
        }
        let _ = std::fs::remove_file(&self.unix_path);
    }
}

/// Starts the demo (TCP, UDP, Unix, HTTP and HTTPS all on port 0 or a fresh path named after
/// `name`) and waits for its `ca-cert`, `listening http` and `listening https` lines.
pub(crate) fn start_http_demo(name: &str) -> HttpDemo {
    start_http_demo_with(name, &[])
}

/// [`start_http_demo`] with `extra` arguments (e.g. `--workers 2`).
pub(crate) fn start_http_demo_with(name: &str, extra: &[&str]) -> HttpDemo {
    use std::process::{Command, Stdio};
    let unix_path = unix_path(name);
    let child = Command::new(demo_binary())
        .args([
            "--tcp",
            "127.0.0.1:0",
            "--udp",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--https",
            "127.0.0.1:0",
        ])
        .arg("--unix")
        .arg(&unix_path)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the demo");
    let mut guard = ChildGuard {
        child,
        name: "the demo".to_owned(),
    };
    let stdout = lines_on_thread(guard.child.stdout.take().expect("demo stdout is piped"));
    let stderr = bytes_on_thread(guard.child.stderr.take().expect("demo stderr is piped"));
    let deadline = Instant::now() + DEMO_START_TIMEOUT;
    let (mut http, mut https, mut ca_file) = (None, None, None);
    let (port, https_port, ca_file) = loop {
        if let (Some(http), Some(https), Some(ca)) = (http, https, ca_file.clone()) {
            break (http, https, ca);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match stdout.recv_timeout(left) {
            Ok(line) => line,
            Err(e) => {
                let status = guard.wait_timeout(Duration::from_secs(1));
                drop(guard);
                let log = stderr
                    .recv_timeout(Duration::from_secs(1))
                    .unwrap_or_default();
                panic!(
                    "the demo printed no `listening http`/`https` or `ca-cert` line within \
                     {DEMO_START_TIMEOUT:?} ({e}; exit status {status:?}); stderr:\n{}",
                    String::from_utf8_lossy(&log)
                );
            }
        };
        let mut words = line.split_whitespace();
        if let (Some("ca-cert"), Some(path)) = (words.next(), words.next()) {
            ca_file = Some(std::path::PathBuf::from(path));
            continue;
        }
        match listening_line(&line, "the demo") {
            Some(("http", addr)) => http = Some(addr.port()),
            Some(("https", addr)) => https = Some(addr.port()),
            _ => {}
        }
    };
    HttpDemo {
        guard,
        port,
        https_port,
        ca_file,
        unix_path,
    }
}

/// The kind and address of a `listening KIND ADDR` line, as the demo and the `tokio-chat`
/// example print them (`None` for any other line); a test failure naming `who` if the address
/// is not a loopback one with the port the OS chose.
pub(crate) fn listening_line<'a>(line: &'a str, who: &str) -> Option<(&'a str, SocketAddr)> {
    let mut words = line.split_whitespace();
    let (Some("listening"), Some(kind), Some(address)) = (words.next(), words.next(), words.next())
    else {
        return None;
    };
    if kind == "unix" {
        return None;
    }
    let addr: SocketAddr = address
        .parse()
        .unwrap_or_else(|_| panic!("{who} printed a bad address {address:?}"));
    assert!(
        addr.ip().is_loopback(),
        "{who} must listen on loopback: {addr}"
    );
    assert_ne!(
        addr.port(),
        0,
        "Node docs net.md › server.address(): the printed port is the one the OS chose"
    );
    Some((kind, addr))
}

/// Starts sansnet-tokio's `tokio-chat` example on `127.0.0.1:0` and waits for its
/// `listening http ADDR` line.
pub(crate) fn start_tokio_chat() -> PeerServer {
    let who = "the tokio-chat example";
    start_peer_server(
        std::process::Command::new(tokio_chat_binary()).args(["--http", "127.0.0.1:0"]),
        who,
        |line| match listening_line(line, who) {
            Some(("http", addr)) => Some(addr.port()),
            _ => None,
        },
    )
}

/// Writes `data` to a fresh file in the temp dir, unique to this process and `name`.
pub(crate) fn temp_file(name: &str, data: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("sansnet-{}-{name}", std::process::id()));
    std::fs::write(&path, data).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

// ---- a minimal JSON reader for the peer scripts' reports ---------------------------------

/// A parsed JSON value (what the peer scripts print).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Num(String),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Self>),
    /// An object.
    Obj(std::collections::BTreeMap<String, Self>),
}

impl Json {
    /// Parses one JSON text.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut parser = JsonParser {
            bytes: text.as_bytes(),
            at: 0,
        };
        let value = parser.value()?;
        parser.space();
        if parser.at != parser.bytes.len() {
            return Err(format!("trailing text at byte {}", parser.at));
        }
        Ok(value)
    }

    /// The member `key` of an object; a test failure if there is none.
    pub(crate) fn get(&self, key: &str) -> &Self {
        match self {
            Self::Obj(map) => map
                .get(key)
                .unwrap_or_else(|| panic!("no {key:?} in {self:?}")),
            _ => panic!("not an object: {self:?}"),
        }
    }

    /// The string; a test failure for anything else.
    pub(crate) fn str(&self) -> &str {
        match self {
            Self::Str(s) => s,
            _ => panic!("not a string: {self:?}"),
        }
    }

    /// The whole number; a test failure for anything else.
    pub(crate) fn num(&self) -> u64 {
        match self {
            Self::Num(text) => text
                .parse()
                .unwrap_or_else(|_| panic!("not a whole number: {text}")),
            _ => panic!("not a number: {self:?}"),
        }
    }

    /// The boolean; a test failure for anything else.
    pub(crate) fn bool(&self) -> bool {
        match self {
            Self::Bool(b) => *b,
            _ => panic!("not a boolean: {self:?}"),
        }
    }

    /// The items of an array; a test failure for anything else.
    pub(crate) fn arr(&self) -> &[Self] {
        match self {
            Self::Arr(items) => items,
            _ => panic!("not an array: {self:?}"),
        }
    }

    /// The items of an array of strings.
    pub(crate) fn strs(&self) -> Vec<&str> {
        self.arr().iter().map(Self::str).collect()
    }

    /// The items of an array of whole numbers.
    pub(crate) fn nums(&self) -> Vec<u64> {
        self.arr().iter().map(Self::num).collect()
    }

    /// The items of an array of booleans.
    pub(crate) fn bools(&self) -> Vec<bool> {
        self.arr().iter().map(Self::bool).collect()
    }
}

struct JsonParser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl JsonParser<'_> {
    fn space(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Result<(), String> {
        self.space();
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at byte {}", byte as char, self.at))
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, String> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(format!("bad literal at byte {}", self.at))
        }
    }

    /// The items of an array or the members of an object, after the opening bracket.
    fn items(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<(), String>,
    ) -> Result<(), String> {
        self.space();
        if self.bytes.get(self.at) == Some(&close) {
            self.at += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            self.space();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(&b) if b == close => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(format!("bad array or object at byte {}", self.at)),
            }
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.space();
        match self.bytes.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let mut map = std::collections::BTreeMap::new();
                self.items(b'}', |parser| {
                    parser.space();
                    let key = parser.string()?;
                    parser.eat(b':')?;
                    map.insert(key, parser.value()?);
                    Ok(())
                })?;
                Ok(Json::Obj(map))
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.items(b']', |parser| {
                    items.push(parser.value()?);
                    Ok(())
                })?;
                Ok(Json::Arr(items))
            }
            Some(b'"') => self.string().map(Json::Str),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(_) => {
                let start = self.at;
                while self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
                {
                    self.at += 1;
                }
                let text =
                    std::str::from_utf8(&self.bytes[start..self.at]).map_err(|e| e.to_string())?;
                if text.parse::<f64>().is_err() {
                    return Err(format!("bad number {text:?} at byte {start}"));
                }
                Ok(Json::Num(text.to_owned()))
            }
            None => Err("unexpected end of input".to_owned()),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let Some(&byte) = self.bytes.get(self.at) else {
                return Err("unterminated string".to_owned());
            };
            self.at += 1;
            match byte {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let Some(&escape) = self.bytes.get(self.at) else {
                        return Err("unterminated escape".to_owned());
                    };
                    self.at += 1;
                    match escape {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = self
                                .bytes
                                .get(self.at..self.at + 4)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .ok_or("bad \\u escape")?;
                            self.at += 4;
                            let c = char::from_u32(hex).unwrap_or(char::REPLACEMENT_CHARACTER);
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
    }
}

/// Parses the one JSON line a peer script printed (the last non-empty line of its stdout).
pub(crate) fn peer_report(output: &PeerOutput, what: &str) -> Json {
    let out = output.stdout_text();
    assert!(
        output.status.success(),
        "{what} failed ({})\nstdout:\n{out}\nstderr:\n{}",
        output.status,
        output.stderr
    );
    let line = out
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_else(|| panic!("{what} printed nothing; stderr:\n{}", output.stderr));
    Json::parse(line).unwrap_or_else(|e| panic!("{what} printed bad JSON ({e}): {line}"))
}

// ---- the HTTP client: real-peer servers, the `fetch` example, collecting events ----------

/// Builds the `fetch` example once per test binary and returns the path of its binary.
pub(crate) fn fetch_binary() -> std::path::PathBuf {
    static FETCH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    FETCH
        .get_or_init(|| example_binary("sansnet-mio", "fetch"))
        .clone()
}

/// A real-peer server process (killed on drop; its stdin stays open until then) and the
/// loopback port it printed.
#[derive(Debug)]
pub(crate) struct PeerServer {
    /// The process.
    pub(crate) guard: ChildGuard,
    /// The port it listens on, on 127.0.0.1.
    pub(crate) port: u16,
    /// Its stderr, collected on a thread until it exits.
    stderr: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl PeerServer {
    /// `127.0.0.1:PORT`.
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Kills the server and returns what it wrote to stderr (for failure messages).
    pub(crate) fn stop(mut self) -> String {
        let _ = self.guard.child.kill();
        let _ = self.guard.child.wait();
        let log = self
            .stderr
            .recv_timeout(Duration::from_secs(2))
            .unwrap_or_default();
        String::from_utf8_lossy(&log).into_owned()
    }
}

/// Starts `command` (stdin, stdout and stderr piped) and waits up to [`DEMO_START_TIMEOUT`]
/// for a stdout line from which `port` extracts the listening port.
pub(crate) fn start_peer_server(
    command: &mut std::process::Command,
    what: &str,
    port: impl Fn(&str) -> Option<u16>,
) -> PeerServer {
    use std::process::Stdio;
    let child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut guard = ChildGuard {
        child,
        name: what.to_owned(),
    };
    let stdout = lines_on_thread(guard.child.stdout.take().expect("stdout is piped"));
    let stderr = bytes_on_thread(guard.child.stderr.take().expect("stderr is piped"));
    let deadline = Instant::now() + DEMO_START_TIMEOUT;
    let mut seen = String::new();
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = stdout.recv_timeout(left) else {
            break None;
        };
        if let Some(found) = port(&line) {
            break Some(found);
        }
        seen.push_str(&line);
        seen.push('\n');
    };
    let Some(found) = found else {
        drop(guard);
        let log = stderr
            .recv_timeout(Duration::from_secs(2))
            .unwrap_or_default();
        panic!(
            "{what} printed no port within {DEMO_START_TIMEOUT:?}\nstdout:\n{seen}\nstderr:\n{}",
            String::from_utf8_lossy(&log)
        );
    };
    assert_ne!(found, 0, "{what} must report the port the OS chose");
    PeerServer {
        guard,
        port: found,
        stderr,
    }
}

/// Starts `tests/peers/http_server.mjs` (Node's `http` server) with `args`.
pub(crate) fn start_node_http_server(args: &[&str]) -> PeerServer {
    let script = sansnet_testkit::peers::scripts_dir().join("http_server.mjs");
    start_peer_server(
        std::process::Command::new(sansnet_testkit::peers::node())
            .arg(script)
            .args(args),
        "the Node http server (tests/peers/http_server.mjs)",
        |line| {
            let json = Json::parse(line).ok()?;
            u16::try_from(json.get("port").num()).ok()
        },
    )
}

/// What [`client_exchange`] collected: each request's events in order, and every other
/// event (raw sockets after a hand-over, ...) in order.
#[derive(Debug, Default)]
pub(crate) struct Exchange {
    /// Each request's `ClientRequestEvent`s, up to and including `Close`.
    pub(crate) requests: std::collections::HashMap<
        sansnet_http1::PoolRequestId,
        Vec<sansnet_mio::ClientRequestEvent>,
    >,
    /// Events that were not about the requests waited for.
    pub(crate) others: Vec<Event>,
}

impl Exchange {
    /// The events of `request`.
    pub(crate) fn of(
        &self,
        request: sansnet_http1::PoolRequestId,
    ) -> &[sansnet_mio::ClientRequestEvent] {
        self.requests.get(&request).map_or(&[], Vec::as_slice)
    }
}

/// One request's events for a failure message, with `Data` shown by length only.
pub(crate) fn brief_events(events: &[sansnet_mio::ClientRequestEvent]) -> String {
    use sansnet_mio::ClientRequestEvent as E;
    let mut out = String::new();
    let mut data = 0;
    for event in events {
        if let E::Data(bytes) = event {
            data += bytes.len();
            continue;
        }
        if data > 0 {
            out.push_str(&format!("  Data: {data} bytes in all\n"));
            data = 0;
        }
        let line = match event {
            E::Response(head) | E::Information(head) => format!(
                "Response/Information {} {:?} keep_alive={} body={:?}",
                head.status, head.version, head.keep_alive, head.body
            ),
            other => format!("{other:?}"),
        };
        out.push_str(&format!("  {line}\n"));
    }
    if data > 0 {
        out.push_str(&format!("  Data: {data} bytes in all\n"));
    }
    out
}

/// Pulls events until every request in `requests` has had its `Close`; fails after
/// [`WAIT`] in total, showing what had arrived.
pub(crate) fn client_exchange(
    ev: &mut EventLoop,
    requests: &[sansnet_http1::PoolRequestId],
) -> Exchange {
    use sansnet_mio::ClientRequestEvent;
    let deadline = Instant::now() + WAIT;
    let mut exchange = Exchange::default();
    for &request in requests {
        exchange.requests.insert(request, Vec::new());
    }
    let closed = |exchange: &Exchange| {
        requests.iter().all(|r| {
            exchange
                .of(*r)
                .last()
                .is_some_and(|e| *e == ClientRequestEvent::Close)
        })
    };
    while !closed(&exchange) {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = match ev.next_event(Some(left)) {
            Ok(Some(event)) => event,
            Ok(None) => {
                panic!("timed out waiting for the requests to close; so far: {exchange:#?}")
            }
            Err(e) => panic!("event loop failed while waiting for the requests: {e}"),
        };
        match event {
            Event::HttpClient { request, event } if exchange.requests.contains_key(&request) => {
                exchange
                    .requests
                    .get_mut(&request)
                    .expect("checked above")
                    .push(event);
            }
            other => exchange.others.push(other),
        }
    }
    exchange
}

/// The response body of one request's events (its `Data`, concatenated).
pub(crate) fn client_body(events: &[sansnet_mio::ClientRequestEvent]) -> Vec<u8> {
    let mut body = Vec::new();
    for event in events {
        if let sansnet_mio::ClientRequestEvent::Data(data) = event {
            body.extend_from_slice(data);
        }
    }
    body
}

/// The status of one request's `Response`, if it had one.
pub(crate) fn client_status(events: &[sansnet_mio::ClientRequestEvent]) -> Option<u16> {
    events.iter().find_map(|event| match event {
        sansnet_mio::ClientRequestEvent::Response(head) => Some(head.status),
        _ => None,
    })
}

/// The socket of one request's `Socket` event and its `reused` flag, if it had one.
pub(crate) fn client_socket(
    events: &[sansnet_mio::ClientRequestEvent],
) -> Option<(sansnet_mio::SocketId, bool)> {
    events.iter().find_map(|event| match event {
        sansnet_mio::ClientRequestEvent::Socket { socket, reused } => Some((*socket, *reused)),
        _ => None,
    })
}

/// Asserts Node's event order of a successful request (Node docs `http.md` › `http.request()`):
/// `Socket`, `Response`, `Data`*, `End`, `Close`, and nothing else.
pub(crate) fn assert_success_order(events: &[sansnet_mio::ClientRequestEvent], what: &str) {
    use sansnet_mio::ClientRequestEvent as E;
    let names: Vec<&str> = events
        .iter()
        .map(|event| match event {
            E::Socket { .. } => "socket",
            E::Continue => "continue",
            E::Information(_) => "information",
            E::Response(_) => "response",
            E::Data(_) => "data",
            E::End(_) => "end",
            E::Upgrade { .. } => "upgrade",
            E::Connect { .. } => "connect",
            E::Timeout => "timeout",
            E::Error(_) => "error",
            E::Close => "close",
            _ => "other",
        })
        .collect();
    let mut rest = names.as_slice();
    let ok = (|| {
        rest = rest.strip_prefix(&["socket", "response"])?;
        while let Some(tail) = rest.strip_prefix(&["data"]) {
            rest = tail;
        }
        rest = rest.strip_prefix(&["end", "close"])?;
        rest.is_empty().then_some(())
    })();
    assert!(
        ok.is_some(),
        "Node docs http.md › http.request(): {what}: events must be socket, response, data*, end, close; got {names:?}\n{}",
        brief_events(events)
    );
}

/// Turns the loop until `step` returns true: it is called with `None` first and after each
/// quiet 50 ms, and with every event that arrives. Fails after [`WAIT`].
pub(crate) fn until_true(
    ev: &mut EventLoop,
    what: &str,
    mut step: impl FnMut(&EventLoop, Option<Event>) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    if step(ev, None) {
        return;
    }
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            panic!("timed out waiting for {what}");
        }
        let event = match ev.next_event(Some(left.min(Duration::from_millis(50)))) {
            Ok(event) => event,
            Err(e) => panic!("event loop failed while waiting for {what}: {e}"),
        };
        if step(ev, event) {
            return;
        }
    }
}

/// A loopback address that refuses connections for as long as the returned socket lives: the
/// socket is bound but never listens, so a connect gets `ECONNREFUSED` and no other test can
/// take the port meanwhile (a released port could be reused by a parallel test).
pub(crate) fn refused_address() -> (socket2::Socket, SocketAddr) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
        .expect("create a socket");
    socket
        .bind(&loopback_any().into())
        .expect("bind a loopback port");
    let addr = socket
        .local_addr()
        .expect("local address")
        .as_socket()
        .expect("an IP address");
    (socket, addr)
}

/// This process's soft limit on open descriptors (`Max open files` in `/proc/self/limits`;
/// proc(5)); `usize::MAX` when unlimited.
pub(crate) fn descriptor_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("read /proc/self/limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    line.split_whitespace()
        .nth(3)
        .and_then(|soft| soft.parse().ok())
        .unwrap_or(usize::MAX)
}

/// The flags every headless Chromium run of the tests takes: no sandbox (root), no GPU, and
/// none of the background connections this machine's closed network refuses.
pub(crate) const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// The `data` of `socket` until at least `len` bytes came; fails after [`WAIT`] naming `what`.
pub(crate) fn socket_data(
    ev: &mut EventLoop,
    socket: sansnet_mio::SocketId,
    len: usize,
    what: &str,
) -> Vec<u8> {
    let mut got = Vec::new();
    until(
        ev,
        what,
        |event| match event {
            Event::Socket {
                socket: s,
                event: sansnet_tcp::SocketEvent::Data(data),
            } if *s == socket => {
                got.extend_from_slice(data);
                (got.len() >= len).then_some(())
            }
            _ => None,
        },
        |_, _| {},
    );
    got
}

/// A tokio runtime for a test: current-thread, or multi-thread with two workers.
pub(crate) fn tokio_runtime(multi: bool) -> tokio::runtime::Runtime {
    let mut builder = if multi {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2);
        builder
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().expect("a tokio runtime")
}
