//! Settings of the HTTP server machine, each with Node 20's default.

use std::time::Duration;

/// Options of `http.createServer()` and the `server.*` properties that shape a connection.
///
/// The `check_continue`, `upgrade` and `connect` flags say whether the application listens
/// for those events, because Node's behaviour depends on the presence of a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `maxHeaderSize` (16 KiB): a larger request head gets 431 (Node docs `http.md` ›
    /// `http.maxHeaderSize`).
    pub max_header_size: usize,
    /// `maxHeadersCount` (2000): header lines past it are dropped silently (Node docs `http.md` ›
    /// `server.maxHeadersCount`).
    pub max_headers_count: usize,
    /// `requireHostHeader` (true): an HTTP/1.1 request without one valid `Host` gets 400
    /// (Node docs `http.md` › `http.createServer()`; RFC 9112 §3.2).
    pub require_host_header: bool,
    /// `headersTimeout` (60 s): the time to receive a request head; then 408
    /// (docs/node-semantics.md#node20-request-timeout-defaults, #http-headers-request-timeout).
    pub headers_timeout: Option<Duration>,
    /// `requestTimeout` (300 s): the time to receive a whole request; then 408
    /// (docs/node-semantics.md#node20-request-timeout-defaults, #http-headers-request-timeout).
    pub request_timeout: Option<Duration>,
    /// `keepAliveTimeout` (5 s on Node 20): idle time after the last response before the
    /// connection is closed (docs/node-semantics.md#node20-keepalive-timeout,
    /// #http-keepalive-timeout).
    pub keep_alive_timeout: Option<Duration>,
    /// `maxRequestsPerSocket` (none): the N-th response closes the connection and later
    /// requests get 503 (Node docs `http.md` › `server.maxRequestsPerSocket`).
    pub max_requests_per_socket: Option<u32>,
    /// A `'checkContinue'` listener exists: `Expect: 100-continue` requests come as
    /// `CheckContinue` and the application decides; otherwise 100 is sent at once
    /// (docs/node-semantics.md#http-check-continue, #http-auto-continue).
    pub check_continue: bool,
    /// An `'upgrade'` listener exists: upgrade requests hand the connection over; otherwise
    /// they are ordinary requests (Node docs `http.md` › `Event: 'upgrade'`).
    pub upgrade: bool,
    /// A `'connect'` listener exists: CONNECT hands the connection over; otherwise the
    /// connection is destroyed without a response (Node docs `http.md` › `Event: 'connect'`).
    pub connect: bool,
    /// `sendDate` (true): responses carry a `Date` header (Node docs `http.md` ›
    /// `response.sendDate`).
    pub send_date: bool,
    /// Requests parsed ahead of their responses before reading pauses (ours; bounds the memory
    /// a pipelining client can make the server hold).
    pub max_pipelined: usize,
    /// Queued response bytes at which reading pauses, the socket's `writableHighWaterMark`
    /// (16 KiB on Node 20, docs/node-semantics.md#http-read-backpressure).
    pub high_water_mark: usize,
    /// Bytes of chunk extensions allowed per chunk (16 KiB, Node answers 413 beyond).
    pub max_chunk_extensions: usize,
    /// Emit a `Chunk` event for each chunk-size line of a chunked body (off: Node has no such
    /// event; conformance runners and proxies turn it on).
    pub chunk_events: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_header_size: 16 * 1024,
            max_headers_count: 2000,
            require_host_header: true,
            headers_timeout: Some(Duration::from_secs(60)),
            request_timeout: Some(Duration::from_secs(300)),
            keep_alive_timeout: Some(Duration::from_secs(5)),
            max_requests_per_socket: None,
            check_continue: false,
            upgrade: false,
            connect: false,
            send_date: true,
            max_pipelined: 32,
            high_water_mark: 16 * 1024,
            max_chunk_extensions: 16 * 1024,
            chunk_events: false,
        }
    }
}
