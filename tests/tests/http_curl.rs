//! curl (a real HTTP/1.1 client no one here wrote) against the demo's HTTP server: keep-alive
//! reuse, chunked and `Expect: 100-continue` uploads echoed whole, HEAD, and 404.
//!
//! Each test starts the demo on port 0 and runs the `curl` binary with a time limit; a
//! missing curl fails the test (`peers::curl` panics), it never skips.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{HttpDemo, PeerOutput, random_bytes, run_bounded, sha256, start_http_demo};
use sansnet_testkit::peers;

/// How long one curl run may take.
const CURL_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs curl with `args` (after options that ignore `~/.curlrc` and any proxy settings and
/// bound the transfer); fails the test unless it exits 0.
fn curl(args: &[&str]) -> PeerOutput {
    let out = run_bounded(
        Command::new(peers::curl())
            .args(["-q", "--noproxy", "*", "--max-time", "30", "-sS"])
            .args(args),
        CURL_TIMEOUT,
        "curl",
    );
    assert!(
        out.status.success(),
        "curl {args:?} failed ({})\nstderr:\n{}",
        out.status,
        out.stderr
    );
    out
}

/// The lines of curl's `-v` log that show response head lines (`< ...`), without the marker.
fn response_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix("< "))
        .map(str::trim_end)
        .collect()
}

/// Uploads `body` to `/echo` with the extra `headers`, returns curl's output (with `-v`).
fn upload(demo: &HttpDemo, name: &str, body: &[u8], headers: &[&str]) -> PeerOutput {
    let file = common::temp_file(name, body);
    let data = format!("@{}", file.display());
    let mut args = vec!["-v", "--data-binary", &data];
    for header in headers {
        args.extend(["-H", header]);
    }
    let url = demo.url("/echo");
    args.push(&url);
    let out = curl(&args);
    let _ = std::fs::remove_file(&file);
    out
}

/// docs/node-semantics.md#http-persistence, #http-keepalive-header: curl fetches two URLs over ONE
/// kept-alive connection (`-v` says `Re-using existing connection`, curl 7.88 wording), and both
/// bodies are `hello world`.
#[test]
fn curl_keep_alive_reuses_one_connection() {
    let demo = start_http_demo("http-curl-keepalive");
    let out = curl(&["-v", &demo.url("/hello"), &demo.url("/hello?second")]);
    assert_eq!(out.stdout_text(), "hello worldhello world", "both bodies");
    assert!(
        out.stderr.contains("Re-using existing connection"),
        "RFC 9112 §9.3: curl must reuse the connection; stderr:\n{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("Connected to").count(),
        1,
        "RFC 9112 §9.3: one TCP connection for both requests; stderr:\n{}",
        out.stderr
    );
    let heads = response_lines(&out.stderr);
    assert_eq!(
        heads
            .iter()
            .filter(|l| **l == "Keep-Alive: timeout=5")
            .count(),
        2,
        "docs/node-semantics.md#http-keepalive-header: each kept-alive response says `Keep-Alive: timeout=5`: {heads:?}"
    );
}

/// docs/node-semantics.md#http-auto-chunked, #http-body-chunked: a 1 MiB chunked upload
/// (`Transfer-Encoding: chunked`) to `/echo` comes back byte for byte (sha256), streamed as a
/// chunked response.
#[test]
fn curl_chunked_upload_echoed_whole() {
    let demo = start_http_demo("http-curl-chunked");
    let body = random_bytes(1024 * 1024, 100);
    let out = upload(
        &demo,
        "chunked-upload",
        &body,
        &["Transfer-Encoding: chunked"],
    );
    assert!(
        out.stderr.contains("> Transfer-Encoding: chunked"),
        "curl must send the body chunked; stderr:\n{}",
        out.stderr
    );
    assert_eq!(out.stdout.len(), body.len(), "echoed length");
    assert_eq!(sha256(&out.stdout), sha256(&body), "echoed bytes (sha256)");
    let heads = response_lines(&out.stderr);
    assert!(heads.contains(&"HTTP/1.1 200 OK"), "{heads:?}");
    assert!(
        heads.contains(&"Transfer-Encoding: chunked"),
        "docs/node-semantics.md#http-auto-chunked: a streamed response of unknown length is chunked: {heads:?}"
    );
}

/// Node docs `http.md` › `Event: 'checkContinue'`: a 2 MiB upload with `Expect: 100-continue` gets
/// `HTTP/1.1 100 Continue` (shown by `-v`) and is echoed back byte for byte (sha256) with its
/// `Content-Length`.
#[test]
fn curl_expect_continue_upload_echoed_whole() {
    let demo = start_http_demo("http-curl-continue");
    let body = random_bytes(2 * 1024 * 1024, 87);
    let out = upload(&demo, "continue-upload", &body, &["Expect: 100-continue"]);
    assert!(
        out.stderr.contains("> Expect: 100-continue"),
        "curl must send the Expect header; stderr:\n{}",
        out.stderr
    );
    let heads = response_lines(&out.stderr);
    let continue_at = heads.iter().position(|l| *l == "HTTP/1.1 100 Continue");
    let ok_at = heads.iter().position(|l| *l == "HTTP/1.1 200 OK");
    assert!(
        matches!((continue_at, ok_at), (Some(c), Some(o)) if c < o),
        "Node docs http.md › Event: 'checkContinue': `100 Continue`, then `200 OK`: {heads:?}"
    );
    assert!(
        heads.contains(&"Content-Length: 2097152"),
        "the echo answers with the request's length: {heads:?}"
    );
    assert_eq!(out.stdout.len(), body.len(), "echoed length");
    assert_eq!(sha256(&out.stdout), sha256(&body), "echoed bytes (sha256)");
}

/// Node docs `http.md` › `response.write()`; RFC 9112 §6.3 items 1–2: `curl -I /hello` (HEAD) gets
/// 200 and no body. Asked twice on one connection, so a body byte after the first head would break
/// the second response. Node 20 sends no `Content-Length` on a HEAD response to `res.end(data)`
/// (`_hasBody` is false); if one is sent it must be GET's, 11.
#[test]
fn curl_head_gets_200_without_body() {
    let demo = start_http_demo("http-curl-head");
    let out = curl(&["-I", "-v", &demo.url("/hello"), &demo.url("/hello")]);
    let text = out.stdout_text();
    let heads: Vec<&str> = text.split("\r\n\r\n").filter(|h| !h.is_empty()).collect();
    assert_eq!(heads.len(), 2, "two heads and nothing else: {text:?}");
    for head in heads {
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head:?}");
        for line in head.lines() {
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                assert_eq!(value.trim(), "11", "RFC 9110 §8.6: GET's length: {head:?}");
            }
        }
    }
    assert!(
        out.stderr.contains("Re-using existing connection"),
        "RFC 9112 §9.3: the HEAD responses keep the connection; stderr:\n{}",
        out.stderr
    );
}

/// An unknown path gets 404 with the demo's `not found` body.
#[test]
fn curl_unknown_path_gets_404() {
    let demo = start_http_demo("http-curl-404");
    let out = curl(&["-w", "%{http_code}", &demo.url("/nope")]);
    assert_eq!(out.stdout_text(), "not found\n404");
}

/// RFC 9112 §9.3: a 1 MiB upload with `Connection: close` is echoed whole before the server ends
/// the connection: the end the HTTP machine asks for once the response is complete waits
/// until every response byte is in the socket, however far past the high-water mark.
#[test]
fn curl_connection_close_echo_is_not_cut_short() {
    let demo = start_http_demo("http-curl-close");
    let body = random_bytes(1024 * 1024, 72);
    let out = upload(&demo, "close-upload", &body, &["Connection: close"]);
    assert_eq!(out.stdout.len(), body.len(), "echoed length");
    assert_eq!(sha256(&out.stdout), sha256(&body), "echoed bytes (sha256)");
    assert!(
        response_lines(&out.stderr).contains(&"Connection: close"),
        "{}",
        out.stderr
    );
}
