//! A real browser as a WebSocket client of a chat server (the mio demo or sansnet-tokio's
//! `tokio-chat` example, which serve the same page): headless Chromium loads the page, whose
//! script opens `ws://HOST/chat` and sends `?say=TEXT`; the broadcast comes back into the
//! page's DOM and reaches a Node `ws` client on the same chat (RFC 6455 §4-§5;
//! docs/node-semantics.md#ws-handshake, #ws-masking, #ws-fragmentation to
//! #ws-any-fragmentation). Chromium offers permessage-deflate and the page shows
//! `WebSocket.extensions`: the server must have agreed to it (RFC 7692 §7.1), and Chromium
//! compresses what it sends.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use sansnet_testkit::peers;

use super::{CHROMIUM_FLAGS, ChildGuard, Json, lines_on_thread, run_bounded};

/// How long Chromium may run before it is killed and the test fails.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the Node client may take to open, and to see the browser's message.
const NODE_WAIT: Duration = Duration::from_secs(20);

/// What the page sends (`?say=`).
const SAY: &str = "hello-from-chromium";

/// A fresh, empty Chromium profile directory, removed on drop.
struct Profile(PathBuf);

impl Profile {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("sansnet-chromium-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the Chromium profile directory");
        Self(dir)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The next stdout line of the Node client that parses as JSON, within `wait`.
fn next_json(lines: &Receiver<String>, wait: Duration, what: &str) -> Json {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("the Node chat client printed no {what} ({e})"));
        if let Ok(json) = Json::parse(&line) {
            return json;
        }
    }
}

/// docs/node-semantics.md#ws-handshake, #ws-masking, #ws-ping-pong: Chromium's own WebSocket
/// client opens `/chat` on `server` (listening on 127.0.0.1:`port`), sends the page's `?say=`
/// text, and gets the broadcast back into `#log`; a Node `ws` client connected to `/chat`
/// beforehand receives the browser's message too.
pub(crate) fn chromium_chat_round_trip(port: u16, server: &str) {
    let browser = peers::chromium();
    let node_modules = peers::node_ws();

    // A Node `ws` client on /chat first, so the browser's broadcast must reach it.
    let child = Command::new(peers::node())
        .env("NODE_PATH", &node_modules)
        .arg(peers::scripts_dir().join("ws_node_client.mjs"))
        .arg("listen")
        .arg(format!("ws://127.0.0.1:{port}/chat"))
        .arg(SAY)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the Node chat client");
    let mut listener = ChildGuard {
        child,
        name: "the Node chat client".to_owned(),
    };
    let lines = lines_on_thread(listener.child.stdout.take().expect("stdout is piped"));
    let opened = next_json(&lines, NODE_WAIT, "open line");
    assert!(
        opened.get("open").bool(),
        "the Node chat client did not open on {server}"
    );

    let profile = Profile::new();
    let url = format!("http://127.0.0.1:{port}/?say={SAY}");
    let out = run_bounded(
        Command::new(&browser)
            .args(CHROMIUM_FLAGS)
            .arg(format!("--user-data-dir={}", profile.0.display()))
            .args(["--virtual-time-budget=8000", "--dump-dom"])
            .arg(&url),
        BROWSER_TIMEOUT,
        "headless Chromium",
    );
    let dom = out.stdout_text();
    assert!(
        out.status.success(),
        "Chromium failed ({}); stderr:\n{}",
        out.status,
        out.stderr
    );
    assert!(
        dom.contains(&format!(r#"<li class="message">{SAY}</li>"#)),
        "the broadcast of {server} did not come back into the page; DOM:\n{dom}\nChromium \
         stderr:\n{}",
        out.stderr
    );

    // RFC 7692 §7.1: the 101 agreed to Chromium's `permessage-deflate; client_max_window_bits`
    // offer, so the browser's message above came compressed and was inflated by the server.
    assert!(
        dom.contains(r#"<span id="extensions">permessage-deflate</span>"#),
        "permessage-deflate was not negotiated between Chromium and {server}; DOM:\n{dom}"
    );

    let report = next_json(&lines, NODE_WAIT, "report of received messages");
    let received = report.get("received").strs();
    assert!(
        received.contains(&SAY),
        "the Node chat client did not get the browser's message from {server}: {received:?}"
    );
    assert!(
        listener.wait_timeout(Duration::from_secs(10)).is_some(),
        "the Node chat client did not exit"
    );
}
