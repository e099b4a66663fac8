//! Settings for sockets and servers, each with Node 20's default.

use std::time::Duration;

/// Node 20's `writableHighWaterMark` for sockets: 16 KiB
/// (docs/node-semantics.md#node20-high-water-mark).
pub const DEFAULT_HIGH_WATER_MARK: usize = 16 * 1024;

/// Node's default listen backlog (Node docs `net.md` › `server.listen()`).
pub const DEFAULT_BACKLOG: u32 = 511;

/// Options of `new net.Socket()` / `net.connect()` and the per-socket options of
/// `net.createServer()`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketConfig {
    /// `allowHalfOpen` (default false): when false, the socket ends its own side after the
    /// peer's FIN, once its queue is flushed (Node docs `net.md` › `Event: 'end'`).
    pub allow_half_open: bool,
    /// `writableHighWaterMark` (default 16 KiB on Node 20): `write()` returns false once this
    /// many bytes are queued (docs/node-semantics.md#node20-high-water-mark,
    /// #net-write-backpressure).
    pub high_water_mark: usize,
    /// `pauseOnConnect` (server sockets only, default false): read nothing until `resume()`
    /// (Node docs `net.md` › `net.createServer()`).
    pub pause_on_connect: bool,
    /// `noDelay` (default false: Nagle stays on, Node docs `net.md` › `socket.setNoDelay()`).
    pub no_delay: bool,
    /// `keepAlive` with `keepAliveInitialDelay` (default off): `Some(delay)` enables it.
    pub keep_alive: Option<Duration>,
    /// `timeout` (default none): the idle time after which `'timeout'` is emitted (Node docs
    /// `net.md` › `socket.setTimeout()`).
    pub timeout: Option<Duration>,
}

impl Default for SocketConfig {
    fn default() -> Self {
        Self {
            allow_half_open: false,
            high_water_mark: DEFAULT_HIGH_WATER_MARK,
            pause_on_connect: false,
            no_delay: false,
            keep_alive: None,
            timeout: None,
        }
    }
}

/// Options of `net.createServer()`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// `server.maxConnections`: `None` (Node's default) is unlimited; `Some(n)` drops
    /// connections accepted while `n` are open, and `Some(0)` drops all
    /// (docs/node-semantics.md#net-max-connections, Node 21+ semantics for zero, since zero means
    /// zero here).
    pub max_connections: Option<usize>,
    /// The listen backlog (default 511, Node docs `net.md` › `server.listen()`), applied by the
    /// driver.
    pub backlog: u32,
    /// `reusePort` of `server.listen(options)` (default false, Node docs `net.md` ›
    /// `server.listen(options[, callback])`): the driver sets `SO_REUSEPORT` on the
    /// listening socket, so several listeners (one per event loop or process, as in Node's
    /// `cluster`) can bind the same address and the kernel spreads incoming connections among
    /// them. Applied by the driver; ignored for Unix socket paths.
    pub reuse_port: bool,
    /// The options every accepted socket starts with.
    pub socket: SocketConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_connections: None,
            backlog: DEFAULT_BACKLOG,
            reuse_port: false,
            socket: SocketConfig::default(),
        }
    }
}
