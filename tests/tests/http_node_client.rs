//! Node.js's `http` module as the CLIENT of the demo's HTTP server: a keep-alive `Agent`
//! reusing one socket, a burst of queued requests, `Expect: 100-continue` via the
//! `'continue'` event, an upgrade request served as an ordinary request, and a CONNECT
//! tunnel.
//!
//! The test starts the demo on port 0, runs `tests/peers/http_client.mjs` against it and
//! checks every value of the one JSON line the script prints. A missing Node fails the test
//! (`peers::node` panics); it never skips.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{peer_report, run_bounded, start_http_demo};
use sansnet_testkit::peers;

/// How long the Node client script may run (it has its own 50 s watchdog).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// docs/node-semantics.md#http-persistence, #http-keepalive-header (keep-alive: 5 sequential GETs
/// on one socket, `reusedSocket`), docs/node-semantics.md#http-pipelining, #http-response-order (10
/// queued requests, answered in order), Node docs `http.md` › `Event: 'checkContinue'`
/// (`Expect: 100-continue`: `'continue'`, then the 1 MiB echo), Node docs `http.md` ›
/// `Event: 'upgrade'` (an upgrade request without an `'upgrade'` listener is an ordinary request),
/// docs/node-semantics.md#http-connect-event, #http-upgrade-head,
/// #http-connect-tunnel (CONNECT: `'connect'` with 200 and a working tunnel).
#[test]
fn node_http_client_against_demo() {
    let node = peers::node(); // fail at once, with the install hint, when Node is missing
    let demo = start_http_demo("http-node-client");
    let out = run_bounded(
        Command::new(node)
            .arg(peers::scripts_dir().join("http_client.mjs"))
            .arg(demo.port.to_string()),
        CLIENT_TIMEOUT,
        "the Node http client",
    );
    let report = peer_report(&out, "the Node http client");

    // (1) Keep-alive Agent, maxSockets 1: five sequential GETs on one socket.
    let sequential = report.get("sequential");
    assert_eq!(sequential.get("statuses").nums(), [200; 5]);
    assert_eq!(sequential.get("bodies").strs(), ["hello world"; 5]);
    assert_eq!(
        sequential.get("distinct_local_ports").num(),
        1,
        "RFC 9112 §9.3: all five requests on ONE socket"
    );
    assert_eq!(
        sequential.get("reused").bools(),
        [false, true, true, true, true],
        "RFC 9112 §9.3: req.reusedSocket is true from the second request on"
    );
    assert_eq!(
        sequential.get("keep_alive_headers").strs(),
        ["timeout=5"; 5],
        "docs/node-semantics.md#http-keepalive-header: `Keep-Alive: timeout=5` (keepAliveTimeout 5 s)"
    );

    // (2) A burst of 10 requests queued on one socket: all 200, finished in issue order.
    let burst = report.get("burst");
    assert_eq!(burst.get("statuses").nums(), [200; 10]);
    assert!(burst.get("bodies_ok").bool(), "every body is `hello world`");
    assert_eq!(
        burst.get("finish_order").nums(),
        (0..10).collect::<Vec<u64>>(),
        "RFC 9112 §9.3.2: responses in request order"
    );
    assert_eq!(
        burst.get("distinct_local_ports").num(),
        1,
        "RFC 9112 §9.3: the burst shares the one socket"
    );

    // (3) Expect: 100-continue: 'continue' fires, then the 1 MiB body is echoed whole.
    let expect = report.get("expect_continue");
    assert!(
        expect.get("continue_event").bool(),
        "Node docs http.md › Event: 'checkContinue': the client's 'continue' event fired"
    );
    assert!(
        !expect.get("other_informational").bool(),
        "no other 1xx than 100"
    );
    assert_eq!(expect.get("status").num(), 200);
    assert_eq!(expect.get("sent_bytes").num(), 1024 * 1024);
    assert_eq!(expect.get("received_bytes").num(), 1024 * 1024);
    assert!(
        expect.get("same_sha256").bool(),
        "the echo is the same bytes"
    );

    // (4) Upgrade request without an 'upgrade' listener: an ordinary response.
    let upgrade = report.get("upgrade");
    assert_eq!(
        upgrade.get("event").str(),
        "response",
        "Node docs http.md › Event: 'upgrade': no 'upgrade' listener, so no 101 and no 'upgrade' event"
    );
    assert_eq!(
        upgrade.get("status").num(),
        200,
        "Node docs http.md › Event: 'upgrade'"
    );
    assert_eq!(
        upgrade.get("body").str(),
        "hello world",
        "docs/node-semantics.md#http-upgrade-event"
    );

    // (5) CONNECT to a Node echo server: 'connect' with 200, and the tunnel round-trips.
    let connect = report.get("connect");
    assert_eq!(
        connect.get("event").str(),
        "connect",
        "Node docs http.md › Event: 'connect'"
    );
    assert_eq!(
        connect.get("status").num(),
        200,
        "docs/node-semantics.md#http-connect-event, #http-connect-tunnel"
    );
    assert_eq!(
        connect.get("content_length"),
        &common::Json::Null,
        "RFC 9110 §9.3.6: a 2xx to CONNECT has no Content-Length"
    );
    assert_eq!(connect.get("sent_bytes").num(), 64 * 1024);
    assert_eq!(connect.get("received_bytes").num(), 64 * 1024);
    assert!(
        connect.get("same_sha256").bool(),
        "docs/node-semantics.md#http-upgrade-head: the tunnel carries the bytes unchanged"
    );
}
