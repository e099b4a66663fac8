//! The `fetch` example (a small curl on sansnet's HTTP client) against the demo's HTTP
//! server: bodies sent and echoed, keep-alive reuse across URLs, `--parallel` under
//! `--max-sockets`, `-i`, `--expect-continue`, and clear failures for a refused port and a
//! bad URL.
//!
//! Each test starts the demo on port 0 and runs `fetch` with a bound on its run time.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use common::{
    PeerOutput, fetch_binary, random_bytes, run_bounded, sha256, start_http_demo, temp_file,
};

/// How long one `fetch` run may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

fn fetch(args: &[&str]) -> PeerOutput {
    run_bounded(
        Command::new(fetch_binary()).args(args),
        FETCH_TIMEOUT,
        &format!("fetch {}", args.join(" ")),
    )
}

/// `fetch` that must succeed.
fn fetch_ok(args: &[&str]) -> PeerOutput {
    let out = fetch(args);
    assert!(
        out.status.success(),
        "fetch {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        out.stdout_text(),
        out.stderr
    );
    out
}

/// The `* URL: connection #N new|reused` lines of `-v`, as (N, reused).
fn connection_lines(stderr: &str) -> Vec<(u32, bool)> {
    stderr
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("* ")?;
            let (_, rest) = rest.rsplit_once(": connection #")?;
            let (number, how) = rest.split_once(' ')?;
            let reused = match how {
                "new" => false,
                "reused" => true,
                _ => return None,
            };
            Some((number.parse().ok()?, reused))
        })
        .collect()
}

/// Node docs `http.md` › `http.request()`: `fetch -d DATA URL/echo` POSTs DATA and prints the echo.
#[test]
fn fetch_data_is_echoed() {
    let demo = start_http_demo("fetch-data");
    let out = fetch_ok(&["-d", "hello from fetch", &demo.url("/echo")]);
    assert_eq!(out.stdout_text(), "hello from fetch");
}

/// Node docs `http.md` › `http.request()`: a 1 MiB random `--data-file` comes back byte for byte
/// (sha256 of stdout).
#[test]
fn fetch_data_file_1mib_echoed() {
    let demo = start_http_demo("fetch-file");
    let data = random_bytes(1024 * 1024, 0xfe7c);
    let path = temp_file("fetch-1mib.bin", &data);
    let out = fetch_ok(&["--data-file", path.to_str().unwrap(), &demo.url("/echo")]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.stdout.len(), data.len());
    assert_eq!(sha256(&out.stdout), sha256(&data));
}

/// docs/node-semantics.md#agent-free-event, #agent-pool-free: `-v URL URL` runs both on one
/// keep-alive connection: `connection #1 new`, then `connection #1 reused`.
#[test]
fn fetch_two_urls_reuse_connection() {
    let demo = start_http_demo("fetch-reuse");
    let url = demo.url("/hello");
    let out = fetch_ok(&["-v", &url, &url]);
    assert_eq!(out.stdout_text(), "hello worldhello world");
    assert!(
        out.stderr.contains(&format!("* {url}: connection #1 new")),
        "{}",
        out.stderr
    );
    assert_eq!(
        connection_lines(&out.stderr),
        vec![(1, false), (1, true)],
        "Node docs http.md › agent.maxFreeSockets: the second URL reuses connection #1:\n{}",
        out.stderr
    );
}

/// Node source `lib/_http_agent.js` › `addRequest`: `--parallel --max-sockets 2` with 4 URLs opens
/// at most 2 connections, and all 4 requests succeed.
#[test]
fn fetch_parallel_respects_max_sockets() {
    let demo = start_http_demo("fetch-parallel");
    let url = demo.url("/hello");
    let out = fetch_ok(&[
        "-v",
        "--parallel",
        "--max-sockets",
        "2",
        &url,
        &url,
        &url,
        &url,
    ]);
    assert_eq!(out.stdout_text(), "hello world".repeat(4));
    let lines = connection_lines(&out.stderr);
    assert_eq!(
        lines.len(),
        4,
        "one connection line per URL:\n{}",
        out.stderr
    );
    let numbers: BTreeSet<u32> = lines.iter().map(|(n, _)| *n).collect();
    assert!(
        !numbers.is_empty() && numbers.len() <= 2 && numbers.iter().all(|n| *n <= 2),
        "Node source lib/_http_agent.js › addRequest: at most 2 connections: {lines:?}"
    );
    let fresh = lines.iter().filter(|(_, reused)| !reused).count();
    assert_eq!(
        fresh,
        numbers.len(),
        "each connection is new once: {lines:?}"
    );
}

/// `-i` prints the status line and the headers, a blank line, then the body.
#[test]
fn fetch_include_prints_head_first() {
    let demo = start_http_demo("fetch-include");
    let out = fetch_ok(&["-i", &demo.url("/hello")]);
    let text = out.stdout_text();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, "hello world");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("\r\ncontent-type: text/plain"), "{head:?}");
    assert!(head.contains("\r\ncontent-length: 11"), "{head:?}");
}

/// Node docs `http.md` › `http.request()`: a refused port is reported on stderr with ECONNREFUSED,
/// and the exit status is non-zero.
#[test]
fn fetch_refused_port_fails_clearly() {
    let (_guard, refused) = common::refused_address();
    let port = refused.port();
    let out = fetch(&[&format!("http://127.0.0.1:{port}/")]);
    assert!(!out.status.success(), "a refused port must fail");
    assert!(
        out.stderr.contains("ECONNREFUSED"),
        "stderr: {}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

/// A URL that is not `http://host[:port]/path` is reported on stderr with Node's code
/// (`ERR_INVALID_URL`, `ERR_INVALID_PROTOCOL`: `Origin::parse_url`), with a non-zero exit.
#[test]
fn fetch_bad_url_fails_clearly() {
    for (url, code) in [
        ("not-a-url", "ERR_INVALID_URL"),
        ("ftp://127.0.0.1/x", "ERR_INVALID_PROTOCOL"),
        ("http://127.0.0.1:99999/", "ERR_INVALID_URL"),
    ] {
        let out = fetch(&[url]);
        assert!(!out.status.success(), "{url}: must fail");
        assert!(
            out.stderr.contains("fetch:") && out.stderr.contains(url) && out.stderr.contains(code),
            "{url}: stderr names the URL and {code}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{url}: nothing on stdout");
    }
}

/// Node docs `http.md` › `Event: 'information'`; RFC 9110 §10.1.1: `--expect-continue -d DATA`
/// sends `Expect: 100-continue`, gets `100 Continue` (shown with `-v`), then the body, echoed.
#[test]
fn fetch_expect_continue_echoes() {
    let demo = start_http_demo("fetch-continue");
    let data = "x".repeat(100_000);
    let out = fetch_ok(&["-v", "--expect-continue", "-d", &data, &demo.url("/echo")]);
    assert_eq!(out.stdout_text(), data);
    assert!(
        out.stderr.contains("> Expect: 100-continue"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("< HTTP/1.1 100 Continue"),
        "Node docs http.md › Event: 'information': the demo answered 100 Continue:\n{}",
        out.stderr
    );
}
