//! `CONNECT` tunnels through the simulator (`sansnet_testkit::sim`): the client endpoint hands
//! the connection over as a raw socket (Node's `'connect'` event), bytes go through and come
//! back, and the tunnel is ended from the client side or from the server side; either way
//! both sockets close, the client's with one `close` and nothing after it.
//!
//! CI runs 200 seeds per test. The long run:
//! `cargo test -p sansnet-testkit --release --test sim_connect -- --include-ignored`;
//! one seed alone: `SIM_SEED=<seed> cargo test -p sansnet-testkit --test sim_connect`.

use std::time::Duration;

use sansnet_testkit::sim::{Closer, Faults, Outcome, Plan, Planned, Scenario, assert_seeds};

fn tunnel(closer: Closer, faults: Faults) -> Scenario {
    Scenario {
        faults,
        plan: vec![Planned {
            at: Duration::ZERO,
            what: Plan::Connect { closer },
        }],
        ..Scenario::default()
    }
}

fn through(outcome: &Outcome) -> Result<(), String> {
    let connect = outcome.requests[0].as_ref().ok_or("no CONNECT outcome")?;
    let stream = outcome.streams[0].as_ref().ok_or("no tunnel outcome")?;
    if !connect.handed_over || !stream.opened || !stream.socket_closed {
        return Err(format!(
            "the tunnel did not open and close: {connect:?} {stream:?}"
        ));
    }
    if stream.echoed != b"through the tunnel and back".len() {
        return Err(format!("{} bytes came back", stream.echoed));
    }
    Ok(())
}

#[test]
fn a_tunnel_ended_by_the_client() {
    for faults in [Faults::none(), Faults::lossless()] {
        assert_seeds(
            "connect-client",
            200,
            &tunnel(Closer::Client, faults),
            through,
        );
    }
}

#[test]
fn a_tunnel_ended_by_the_server() {
    for faults in [Faults::none(), Faults::lossless()] {
        assert_seeds(
            "connect-server",
            200,
            &tunnel(Closer::Server, faults),
            through,
        );
    }
}

#[test]
fn tunnels_with_resets_and_refused_connects() {
    for closer in [Closer::Client, Closer::Server] {
        assert_seeds("connect-all", 200, &tunnel(closer, Faults::all()), |_| {
            Ok(())
        });
    }
}

/// The long run (see the module docs for the command).
#[test]
#[ignore = "long: 50,000 seeds per run (SIM_SEEDS overrides); run with --ignored"]
fn tunnels_over_many_seeds() {
    for closer in [Closer::Client, Closer::Server] {
        assert_seeds(
            "connect-long",
            50_000,
            &tunnel(closer, Faults::all()),
            |_| Ok(()),
        );
    }
}
