//! `ServerConfig::reuse_port` (Node's `reusePort`): event loops on separate threads share one
//! port and each accepts its own connections; without it the second bind is `EADDRINUSE`.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sansnet_mio::{Event, EventLoop};
use sansnet_tcp::{Address, ServerConfig, ServerEvent};

const CONNECTIONS: usize = 200;
const BOUND: Duration = Duration::from_secs(10);

fn config(reuse_port: bool) -> ServerConfig {
    let mut config = ServerConfig::default();
    config.reuse_port = reuse_port;
    config
}

/// Listens on `address` and returns the first server event: `Listening` or `Error`.
fn listen_once(ev: &mut EventLoop, address: SocketAddr, reuse_port: bool) -> ServerEvent {
    ev.listen(Address::Tcp(address), config(reuse_port));
    loop {
        match ev.next_event(Some(BOUND)).unwrap() {
            Some(Event::Server { event, .. }) => return event,
            Some(_) => {}
            None => panic!("no listening or error event within {BOUND:?}"),
        }
    }
}

fn bound_port(event: &ServerEvent) -> SocketAddr {
    match event {
        ServerEvent::Listening {
            address: Address::Tcp(addr),
        } => *addr,
        other => panic!("expected listening, got {other:?}"),
    }
}

/// Runs a loop with a server on `address` until `accepted` (shared by every loop) reaches
/// [`CONNECTIONS`]; returns how many connections this loop accepted.
fn serve(ev: &mut EventLoop, accepted: &AtomicUsize) -> usize {
    let deadline = Instant::now() + BOUND;
    let mut mine = 0;
    while accepted.load(Ordering::SeqCst) < CONNECTIONS {
        assert!(Instant::now() < deadline, "connections not all accepted");
        if let Some(Event::Server {
            event: ServerEvent::Connection { .. },
            ..
        }) = ev.next_event(Some(Duration::from_millis(20))).unwrap()
        {
            mine += 1;
            accepted.fetch_add(1, Ordering::SeqCst);
        }
    }
    mine
}

/// Two loops on two threads bind one port with `reuse_port`; the kernel spreads 200 fresh
/// connections between them and each loop accepts some of them on its own listener.
#[test]
fn two_loops_share_a_port_with_reuse_port() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let (port_tx, port_rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    let first = {
        let accepted = accepted.clone();
        let ready_tx = ready_tx.clone();
        thread::spawn(move || {
            let mut ev = EventLoop::new().unwrap();
            let event = listen_once(&mut ev, SocketAddr::from(([127, 0, 0, 1], 0)), true);
            port_tx.send(bound_port(&event)).unwrap();
            ready_tx.send(()).unwrap();
            serve(&mut ev, &accepted)
        })
    };
    let address = port_rx.recv_timeout(BOUND).unwrap();
    let second = {
        let accepted = accepted.clone();
        thread::spawn(move || {
            let mut ev = EventLoop::new().unwrap();
            let event = listen_once(&mut ev, address, true);
            assert_eq!(
                bound_port(&event),
                address,
                "the second loop binds the same port"
            );
            ready_tx.send(()).unwrap();
            serve(&mut ev, &accepted)
        })
    };
    for _ in 0..2 {
        ready_rx.recv_timeout(BOUND).unwrap();
    }
    // Fresh connections from fresh source ports: the kernel picks a listener by their hash.
    let clients: Vec<TcpStream> = (0..CONNECTIONS)
        .map(|_| TcpStream::connect_timeout(&address, BOUND).unwrap())
        .collect();
    let counts = [first.join().unwrap(), second.join().unwrap()];
    drop(clients);
    println!("accepted per loop: {counts:?}");
    assert_eq!(counts.iter().sum::<usize>(), CONNECTIONS);
    assert!(
        counts.iter().all(|&n| n > 0),
        "both loops accept: {counts:?}"
    );
}

/// Without `reuse_port` on both listeners the second bind fails with `EADDRINUSE` (Node docs
/// `net.md` › `server.listen()`: `'error'` with `EADDRINUSE`), and no `'close'` follows.
#[test]
fn a_second_listener_without_reuse_port_is_eaddrinuse() {
    for (first_reuse, second_reuse) in [(false, false), (true, false), (false, true)] {
        let mut first = EventLoop::new().unwrap();
        let address = bound_port(&listen_once(
            &mut first,
            SocketAddr::from(([127, 0, 0, 1], 0)),
            first_reuse,
        ));
        let second = thread::spawn(move || {
            let mut ev = EventLoop::new().unwrap();
            listen_once(&mut ev, address, second_reuse)
        })
        .join()
        .unwrap();
        match second {
            ServerEvent::Error(error) => assert_eq!(
                error.code(),
                "EADDRINUSE",
                "first reuse_port {first_reuse}, second {second_reuse}"
            ),
            other => panic!(
                "first reuse_port {first_reuse}, second {second_reuse}: expected EADDRINUSE, \
                 got {other:?}"
            ),
        }
    }
}
