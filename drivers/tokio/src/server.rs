//! `serve(listener, handler)`: Node's `http.createServer(handler).listen()` over tokio, each
//! connection in a task of its own, each request's handler in a task of its own.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sansnet_http1::{BodyFraming, RequestId, ServerConfig, ServerEvent};
use sansnet_stack::{Acceptor, Connection, Event};
use sansnet_tcp::{Address, SocketConfig};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use crate::Socket;
use crate::driver::{Io, Pending, Ticket};
use crate::net::{Listener, Stream};
use sansnet_os::listen::Reserve;

/// How many chunks of a streamed response body may wait for the connection's task.
const BODY_CHANNEL: usize = 16;

/// The connection closed before the body (or the command) was through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the connection is closed")
    }
}

impl std::error::Error for Closed {}

/// One request, as the handler gets it: the head (Node's `IncomingMessage`) and the body.
#[derive(Debug)]
pub struct Request {
    head: sansnet_http1::Request,
    body: Body,
    upgrade: Option<Upgraded>,
}

/// The connection of an `Upgrade` or `CONNECT` request, handed over to the handler (Node's
/// `'upgrade'` and `'connect'` events, with `socket` and `head`): a raw [`Socket`] from now
/// on, driven by whoever awaits it. The handler writes the answer itself (`101 Switching
/// Protocols`, `200 Connection Established`) through `socket.conn_mut()`, or starts a
/// WebSocket on it ([`crate::accept_ws`], `Connection::start_ws`); the [`Response`] it
/// returns is not sent. Nothing more is read until the socket is first awaited, so what the
/// handler sets up first sees every byte after `head`.
#[derive(Debug)]
pub struct Upgraded {
    /// The connection, its stack ready for commands and its events from now on (`data`,
    /// `end`, `close`, ...).
    pub socket: Socket,
    /// The bytes the client sent past the request head: the new protocol's first bytes.
    pub head: Bytes,
}

impl Request {
    /// `req.method`.
    pub fn method(&self) -> &str {
        std::str::from_utf8(&self.head.method).unwrap_or_default()
    }

    /// `req.url`: the request-target as sent.
    pub fn target(&self) -> &str {
        std::str::from_utf8(&self.head.target).unwrap_or_default()
    }

    /// The first value of header `name` (any case).
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a [u8]> {
        self.head.headers.get(name)
    }

    /// The whole head as the HTTP machine parsed it (version, raw headers, framing, ...).
    pub fn head(&self) -> &sansnet_http1::Request {
        &self.head
    }

    /// The connection, for an `Upgrade` request (with `ServerConfig::upgrade`) or a
    /// `CONNECT` (with `ServerConfig::connect`), once: see [`Upgraded`].
    pub fn take_upgrade(&mut self) -> Option<Upgraded> {
        self.upgrade.take()
    }

    /// The body, to read chunk by chunk.
    pub fn body_mut(&mut self) -> &mut Body {
        &mut self.body
    }

    /// The body, leaving the head.
    pub fn into_body(self) -> Body {
        self.body
    }
}

/// A request body: its `'data'` chunks, then its `'end'`. The connection reads on only once
/// the handler took every chunk (or dropped the body), so a slow handler slows the client.
#[derive(Debug)]
pub struct Body {
    /// `None` once the body ended, or for a request without one (or a connection handed
    /// over).
    chunks: Option<mpsc::UnboundedReceiver<(Option<Bytes>, Ticket)>>,
    /// The chunk returned last counts as not taken until the next call: what the handler
    /// does in answer to it goes before the connection reads on.
    last: Option<Ticket>,
    /// A request with `Expect: 100-continue` (Node's `'checkContinue'`): the first read asks
    /// for the `100 Continue`.
    want_continue: Option<(RequestId, mpsc::UnboundedSender<RequestId>)>,
}

impl Body {
    /// The next chunk; `Ok(None)` at the end; `Err(Closed)` when the connection closed before
    /// the end (the client closed or broke HTTP: Node's `'aborted'`). For a request with
    /// `Expect: 100-continue`, the first call sends `100 Continue` (Node's
    /// `res.writeContinue()`); a handler that answers without reading the body refuses it, and
    /// the connection closes after that answer (Node docs `http.md` › `Event:
    /// 'checkContinue'`).
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Closed> {
        if let Some((id, continues)) = self.want_continue.take() {
            let _ = continues.send(id);
        }
        self.last = None;
        let Some(chunks) = &mut self.chunks else {
            return Ok(None);
        };
        match chunks.recv().await {
            Some((Some(data), ticket)) => {
                self.last = Some(ticket);
                Ok(Some(data))
            }
            Some((None, _taken)) => {
                self.chunks = None;
                Ok(None)
            }
            None => Err(Closed),
        }
    }

    /// The whole body.
    pub async fn bytes(&mut self) -> Result<Bytes, Closed> {
        let mut all = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            all.extend_from_slice(&chunk);
        }
        Ok(all.freeze())
    }
}

/// What a handler answers: a head and a body, whole or streamed.
#[derive(Debug)]
pub struct Response {
    head: sansnet_http1::Response,
    body: ResponseBody,
}

#[derive(Debug)]
enum ResponseBody {
    Full(Bytes),
    Stream(mpsc::Receiver<Bytes>),
}

impl Response {
    /// A response with `status` and an empty body.
    pub fn new(status: u16) -> Self {
        Self {
            head: sansnet_http1::Response::new(status),
            body: ResponseBody::Full(Bytes::new()),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        self.head = self.head.header(name, value);
        self
    }

    /// The whole body (sent with `Content-Length`, as Node's `res.end(body)`).
    #[must_use]
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = ResponseBody::Full(body.into());
        self
    }

    /// A streamed body (chunked unless a `Content-Length` header is set, as Node's
    /// `res.write()`): the handler returns the response and goes on sending through the
    /// [`BodySender`]; dropping it ends the body.
    #[must_use]
    pub fn streaming(mut self) -> (Self, BodySender) {
        let (tx, rx) = mpsc::channel(BODY_CHANNEL);
        self.body = ResponseBody::Stream(rx);
        (self, BodySender(tx))
    }
}

/// Sends the chunks of a streamed response body ([`Response::streaming`]).
#[derive(Debug, Clone)]
pub struct BodySender(mpsc::Sender<Bytes>);

impl BodySender {
    /// `res.write(data)`: waits while the connection is behind; fails once it closed.
    pub async fn send(&self, data: impl Into<Bytes>) -> Result<(), Closed> {
        self.0.send(data.into()).await.map_err(|_| Closed)
    }
}

/// A running HTTP server ([`serve`]).
#[derive(Debug)]
pub struct Server {
    address: Address,
    close: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// The TCP address it listens on; for a Unix listener the unspecified address
    /// `0.0.0.0:0` (see [`Server::address`]).
    pub fn local_addr(&self) -> SocketAddr {
        match &self.address {
            Address::Tcp(addr) => *addr,
            Address::Unix(_) => crate::net::unspecified(),
        }
    }

    /// `server.address()`: the TCP address, or the Unix socket's path.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// `server.close()`: stops accepting, closes idle keep-alive connections at once, lets
    /// every request in flight finish (its response says `Connection: close`), and resolves
    /// once every connection closed, those handed over as [`Upgraded`] included
    /// (docs/node-semantics.md#http-server-close).
    pub async fn close(self) {
        let _ = self.close.send(true);
        let _ = self.task.await;
    }
}

/// `http.createServer(handler).listen()`: serves HTTP/1.1 on `listener` (a
/// `tokio::net::TcpListener` or `UnixListener`: see [`Listener`]) with Node's server defaults
/// (and a `checkContinue` listener: see [`Body::chunk`]), calling `handler` for each request
/// in a task of its own. Dropping the returned [`Server`] leaves it running; [`Server::close`]
/// closes it (and unlinks a Unix listener's socket file). Needs a tokio runtime with the IO
/// and time drivers.
pub fn serve<H, F>(listener: impl Into<Listener>, handler: H) -> std::io::Result<Server>
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let http = ServerConfig {
        check_continue: true,
        ..ServerConfig::default()
    };
    // Node's HTTP sockets (`TCP_NODELAY`, half-open) come with `with_http`.
    let acceptor = Acceptor::new(SocketConfig::default()).with_http(http);
    serve_with(listener, acceptor, handler)
}

/// [`serve`] with the stack each connection gets: socket settings, TLS
/// (`Acceptor::with_tls`) and the HTTP server's settings (`Acceptor::with_http`, which it
/// must have; with `check_continue` the first read of a body sends `100 Continue`, without
/// it the machine sends it at once).
pub fn serve_with<H, F>(
    listener: impl Into<Listener>,
    acceptor: Acceptor,
    handler: H,
) -> std::io::Result<Server>
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let listener = listener.into();
    let address = listener.address()?;
    let (close, closing) = watch::channel(false);
    let handler = Arc::new(handler);
    let task = tokio::spawn(accept(listener, acceptor, handler, closing));
    Ok(Server {
        address,
        close,
        task,
    })
}

async fn accept<H, F>(
    listener: Listener,
    acceptor: Acceptor,
    handler: Arc<H>,
    mut closing: watch::Receiver<bool>,
) where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let mut connections = JoinSet::new();
    let mut watching = true;
    let mut reserve = Reserve::default();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(stream) => {
                    let conn = acceptor.accept(Instant::now());
                    let task = connection(stream, conn, handler.clone(), closing.clone());
                    connections.spawn(task);
                }
                // Out of descriptors: the clients waiting are closed with the reserve's help,
                // as libuv does (`sansnet_os::listen::Reserve`). Without a reserve, or out of
                // memory, try again a little later, as libuv does on its next turn.
                Err(e) if Reserve::exhausted(&e)
                    && reserve.reject_waiting(|| listener.try_accept().map(drop)) > 0 => {}
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            changed = closing.changed(), if watching => match changed {
                Ok(()) => break,
                // The `Server` was dropped without `close`: serve on.
                Err(_) => watching = false,
            },
        }
    }
    listener.close();
    while connections.join_next().await.is_some() {}
}

/// One HTTP server connection: drives its stack, runs a handler per request, writes their
/// responses.
async fn connection<H, F>(
    stream: Stream,
    mut conn: Connection,
    handler: Arc<H>,
    mut closing: watch::Receiver<bool>,
) where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let pending = Arc::new(Pending::default());
    let mut io = Io::new(Some(stream));
    let mut bodies = HashMap::new();
    let mut handlers = Handlers::default();
    // Streamed response bodies, in the order their heads were given.
    let mut streams: VecDeque<(RequestId, mpsc::Receiver<Bytes>)> = VecDeque::new();
    // A body write found the response queue full: wait for its `Drain`.
    let mut blocked = false;
    // Bodies asking for their `100 Continue`.
    let (continue_tx, mut continues) = mpsc::unbounded_channel();
    // The request whose handler takes the connection over (`Upgrade`, `CONNECT`).
    let mut raw = None;
    let mut watching = true;
    if *closing.borrow_and_update() {
        close_when_idle(&mut conn);
        watching = false;
    }
    // One wait for the server's close for the connection's whole life (a watch's `changed()`
    // made anew for every wait registers anew each time).
    let closed = async move { closing.changed().await.is_ok() };
    tokio::pin!(closed);
    loop {
        loop {
            let now = Instant::now();
            let mut moved = io.round(now, &mut conn, pending.caught_up());
            while let Some(event) = conn.poll_event() {
                moved = true;
                let Event::Http(event) = event else {
                    continue;
                };
                // Without a `checkContinue` listener the machine sent the 100 itself.
                let check_continue = matches!(event, ServerEvent::CheckContinue(_));
                match event {
                    ServerEvent::Request(head) | ServerEvent::CheckContinue(head) => {
                        let want_continue = check_continue.then(|| (head.id, continue_tx.clone()));
                        let id = head.id;
                        // A request without a body (a GET) needs no channel for it.
                        let chunks = (head.framing != BodyFraming::None).then(|| {
                            let (tx, chunks) = mpsc::unbounded_channel();
                            bodies.insert(id, tx);
                            chunks
                        });
                        let body = Body {
                            chunks,
                            last: None,
                            want_continue,
                        };
                        let answer = handler(Request {
                            head,
                            body,
                            upgrade: None,
                        });
                        handlers.push(id, answer);
                    }
                    ServerEvent::Data { id, data } => {
                        if let Some(tx) = bodies.get(&id) {
                            let _ = tx.send((Some(data), pending.ticket()));
                        }
                    }
                    ServerEvent::End { id, .. } => {
                        if let Some(tx) = bodies.remove(&id) {
                            let _ = tx.send((None, pending.ticket()));
                        }
                    }
                    ServerEvent::Drain => blocked = false,
                    ServerEvent::Upgrade { request, head }
                    | ServerEvent::Connect { request, head } => {
                        // The events after this one are the handler's.
                        raw = Some((request, head));
                        break;
                    }
                    _ => {}
                }
            }
            if !moved || raw.is_some() {
                break;
            }
        }
        if let Some((head, bytes)) = raw {
            // Every earlier response is complete (the machine hands over only then); a
            // handler still running goes on by itself.
            for (_, handler) in handlers.running.drain(..) {
                tokio::spawn(handler);
            }
            // `server.close()` waits for the connection to close, as Node's does.
            let (tracked, closed) = oneshot::channel();
            let mut socket = Socket::from_parts(conn, io);
            socket.tracked = Some(tracked);
            let upgrade = Upgraded {
                socket,
                head: bytes,
            };
            let body = Body {
                chunks: None,
                last: None,
                want_continue: None,
            };
            tokio::spawn(handler(Request {
                head,
                body,
                upgrade: Some(upgrade),
            }));
            let _ = closed.await;
            return;
        }
        if conn.is_closed() {
            return;
        }
        let want = io.want(&conn);
        let front = streams.front_mut().filter(|_| !blocked);
        let has_front = front.is_some();
        // In this order, without tokio's random draw: answers, body chunks and commands
        // before more reading, as the drain rule has the application answer before the next
        // read.
        tokio::select! {
            biased;
            () = std::future::poll_fn(|cx| handlers.poll(cx)), if !handlers.running.is_empty() => {
                // Every answer ready now, given in one go: they leave in one write.
                while let Some((id, response)) = handlers.done.pop_front() {
                    respond(&mut conn, id, response, &mut streams);
                }
            }
            chunk = async { front?.1.recv().await.map(Some) }, if has_front => {
                let now = Instant::now();
                if let Some(http) = conn.http_mut()
                    && let Some(&(id, _)) = streams.front()
                {
                    match chunk {
                        Some(Some(data)) => blocked = !http.write(now, id, data).unwrap_or(true),
                        _ => {
                            let _ = http.end(now, id, None);
                            streams.pop_front();
                        }
                    }
                }
            }
            Some(id) = continues.recv() => {
                if let Some(http) = conn.http_mut() {
                    // Refused by the machine once the answer is given: nothing to continue.
                    let _ = http.send_continue(Instant::now(), id);
                }
            }
            changed = &mut closed, if watching => {
                watching = false;
                if changed {
                    close_when_idle(&mut conn);
                }
            }
            () = std::future::poll_fn(|cx| io.poll_wait(cx, want, Some(&pending))) => {}
        }
    }
}

/// A request's handler, running.
type Handler = Pin<Box<dyn Future<Output = Response> + Send>>;

/// The handlers of one connection's requests, polled by its task (as hyper polls its service's
/// futures), not spawned: no task per request, and the answers to pipelined requests that are
/// ready together leave in one write.
#[derive(Default)]
struct Handlers {
    running: Vec<(RequestId, Handler)>,
    done: VecDeque<(RequestId, Response)>,
}

impl Handlers {
    fn push(&mut self, id: RequestId, handler: impl Future<Output = Response> + Send + 'static) {
        self.running.push((id, Box::pin(handler)));
    }

    /// Polls every handler; ready once any finished (its answer in `done`). A handler that
    /// panics answers 500, as an uncaught error would end Node's process, but here only this
    /// request.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let before = self.done.len();
        self.running.retain_mut(|(id, handler)| {
            let polled = std::panic::catch_unwind(AssertUnwindSafe(|| handler.as_mut().poll(cx)));
            let response = match polled {
                Ok(Poll::Pending) => return true,
                Ok(Poll::Ready(response)) => response,
                Err(_) => Response::new(500),
            };
            self.done.push_back((*id, response));
            false
        });
        if self.done.len() > before {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Hands a handler's answer to the HTTP machine; a streamed body is written as it comes.
fn respond(
    conn: &mut Connection,
    id: RequestId,
    response: Response,
    streams: &mut VecDeque<(RequestId, mpsc::Receiver<Bytes>)>,
) {
    let now = Instant::now();
    let Some(http) = conn.http_mut() else { return };
    // An answer the machine refuses (an invalid head, a connection gone) closes nothing more
    // than that request: the machine already answered or closed.
    match response.body {
        ResponseBody::Full(body) => {
            if http.respond(now, id, response.head, body).is_err() {
                let _ = http.respond(now, id, sansnet_http1::Response::new(500), Bytes::new());
            }
        }
        ResponseBody::Stream(chunks) => {
            if http.send_response(now, id, response.head).is_ok() {
                streams.push_back((id, chunks));
            } else {
                let _ = http.respond(now, id, sansnet_http1::Response::new(500), Bytes::new());
            }
        }
    }
}

fn close_when_idle(conn: &mut Connection) {
    if let Some(http) = conn.http_mut() {
        http.close_when_idle(Instant::now());
    }
}
