//! A WebSocket through the simulator (`sansnet_testkit::sim`): opened through the client
//! endpoint, messages echoed and the close handshake completed through stalls, short writes
//! and bounded pipes (RFC 6455 §7); and a server that vanishes mid-way (no FIN, no RST): the
//! client's close timeout ends its socket.
//!
//! CI runs 200 seeds per test. The long run:
//! `cargo test -p sansnet-testkit --release --test sim_ws -- --include-ignored`;
//! one seed alone: `SIM_SEED=<seed> cargo test -p sansnet-testkit --test sim_ws`.

use std::time::Duration;

use sansnet_testkit::sim::{Faults, Outcome, Plan, Planned, Scenario, StreamOutcome, assert_seeds};

fn websocket(messages: usize, close_at_once: bool, vanish: bool, faults: Faults) -> Scenario {
    let ws = sansnet_ws::Config {
        close_timeout: Duration::from_secs(2),
        ..sansnet_ws::Config::default()
    };
    Scenario {
        faults,
        ws_vanish: vanish,
        ws,
        plan: vec![Planned {
            at: Duration::ZERO,
            what: Plan::WebSocket {
                messages,
                close_at_once,
            },
        }],
        jitter: Duration::from_millis(100),
        ..Scenario::default()
    }
}

fn stream(outcome: &Outcome) -> Result<&StreamOutcome, String> {
    outcome.streams[0]
        .as_ref()
        .ok_or_else(|| "no WebSocket outcome".to_owned())
}

#[test]
fn echoes_and_the_close_handshake_through_stalls() {
    for faults in [Faults::none(), Faults::lossless()] {
        assert_seeds("ws", 200, &websocket(5, false, false, faults), |outcome| {
            let ws = stream(outcome)?;
            if !ws.opened || ws.echoed != 5 || ws.close_code != Some(1000) {
                return Err(format!("not five echoes and a clean close: {ws:?}"));
            }
            Ok(())
        });
    }
}

#[test]
fn a_vanished_server_leaves_the_client_to_its_close_timeout() {
    assert_seeds(
        "ws-vanish",
        200,
        &websocket(3, true, true, Faults::lossless()),
        |outcome| {
            let ws = stream(outcome)?;
            if !ws.opened || ws.echoed != 0 {
                return Err(format!("the vanished server echoed: {ws:?}"));
            }
            // Not a clean close: the server never answered it (RFC 6455 §7.1.5: 1006).
            if ws.close_code == Some(1000) {
                return Err(format!("a clean close from a vanished server: {ws:?}"));
            }
            // The client socket closed (the simulator checks that every client socket did).
            if outcome.elapsed < Duration::from_secs(2) {
                return Err(format!(
                    "closed before the close timeout: {:?}",
                    outcome.elapsed
                ));
            }
            Ok(())
        },
    );
}

#[test]
fn with_resets_and_refused_connects() {
    assert_seeds(
        "ws-all",
        200,
        &websocket(5, false, false, Faults::all()),
        |_| Ok(()),
    );
}

/// The long run (see the module docs for the command).
#[test]
#[ignore = "long: 50,000 seeds per run (SIM_SEEDS overrides); run with --ignored"]
fn over_many_seeds() {
    assert_seeds(
        "ws-long",
        50_000,
        &websocket(5, false, false, Faults::all()),
        |_| Ok(()),
    );
    assert_seeds(
        "ws-vanish-long",
        50_000,
        &websocket(3, true, true, Faults::all()),
        |_| Ok(()),
    );
}
