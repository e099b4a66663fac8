//! Python's h11 (a strict sans-I/O HTTP/1.1 implementation that raises on any protocol
//! violation) as the CLIENT of the demo's HTTP server, several requests on one connection.
//!
//! The test starts the demo on port 0, runs `tests/peers/http_h11_client.py` against it and
//! checks every value of the one JSON line the script prints. A missing python3 or h11 is
//! installed on first use (`peers::python_h11`, h11 0.16.0); one that cannot be installed
//! fails the test; it never skips.
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

/// How long the h11 client script may run.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// docs/node-semantics.md#http-persistence, #http-keepalive-header, #http-pipelining (one
/// connection, five request/response cycles), Node docs `http.md` › `Event: 'checkContinue'`
/// (`Expect: 100-continue`: the 100 before the body),
/// docs/node-semantics.md#http-auto-content-length, #http-auto-chunked (`Content-Length` when
/// known, chunked when streamed), RFC 9112 §6.3 item 3 (a chunked request body), RFC 9112 §9.3
/// (`Connection: close`: the server closes, h11 sees `ConnectionClosed`). h11 raising on any
/// response fails the script.
#[test]
fn h11_client_against_demo() {
    let python = peers::python_h11();
    let demo = start_http_demo("http-h11-client");
    let out = run_bounded(
        Command::new(python)
            .arg(peers::scripts_dir().join("http_h11_client.py"))
            .arg(demo.port.to_string()),
        CLIENT_TIMEOUT,
        "the h11 client",
    );
    let report = peer_report(&out, "the h11 client");

    let get = report.get("get");
    assert_eq!(get.get("status").num(), 200);
    assert_eq!(get.get("body").str(), "hello world");
    assert_eq!(
        get.get("keep_alive").str(),
        "timeout=5",
        "docs/node-semantics.md#http-keepalive-header"
    );

    let chunked = report.get("chunked");
    assert_eq!(chunked.get("status").num(), 200);
    assert_eq!(chunked.get("chunks").num(), 5);
    assert_eq!(
        chunked.get("received_bytes").num(),
        chunked.get("sent_bytes").num()
    );
    assert!(
        chunked.get("same_sha256").bool(),
        "RFC 9112 §6.3 item 3: the chunked body is echoed unchanged"
    );
    assert_eq!(
        chunked.get("transfer_encoding").str(),
        "chunked",
        "docs/node-semantics.md#http-auto-chunked: the streamed echo of unknown length is chunked"
    );

    let fixed = report.get("content_length");
    assert_eq!(fixed.get("status").num(), 200);
    assert_eq!(fixed.get("sent_bytes").num(), 100_000);
    assert_eq!(fixed.get("received_bytes").num(), 100_000);
    assert!(
        fixed.get("same_sha256").bool(),
        "the body is echoed unchanged"
    );
    assert_eq!(fixed.get("content_length").str(), "100000");

    let expect = report.get("expect_continue");
    assert!(
        expect.get("got_100_before_body").bool(),
        "Node docs http.md › Event: 'checkContinue': `100 Continue` arrives before the body is sent"
    );
    assert!(
        expect.get("other_informational").arr().is_empty(),
        "Node docs http.md › Event: 'checkContinue': one 100 only"
    );
    assert_eq!(expect.get("status").num(), 200);
    assert!(expect.get("same_sha256").bool());

    let close = report.get("close");
    assert_eq!(close.get("status").num(), 200);
    assert_eq!(close.get("body").str(), "hello world");
    assert_eq!(close.get("connection").str(), "close", "RFC 9112 §9.3");
    assert!(
        close.get("saw_connection_closed").bool(),
        "RFC 9112 §9.3: the server closes after a `Connection: close` exchange"
    );
    assert_eq!(close.get("their_state").str(), "CLOSED");
}
