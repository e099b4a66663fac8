//! The keep-alive race under the simulator (`sansnet_testkit::sim`): the server's
//! `keepAliveTimeout` closes an idle connection just as the agent reuses it. A safe request
//! (GET) caught by it is retried, once, on a fresh connection (RFC 9112 §9.3.1: only
//! idempotent requests may be retried automatically); a POST is never sent twice: it fails
//! with an error instead, or it was answered.
//!
//! CI runs 200 seeds per test. The long run:
//! `cargo test -p sansnet-testkit --release --test sim_keep_alive -- --include-ignored`;
//! one seed alone: `SIM_SEED=<seed> cargo test -p sansnet-testkit --test sim_keep_alive`.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

use std::cell::Cell;
use std::time::Duration;

use sansnet_http1::ServerConfig;
use sansnet_testkit::sim::{Faults, Outcome, Plan, Planned, Scenario, assert_seeds};

/// Two requests on one origin, the second sent around the moment the server's keep-alive
/// timeout (1 s) closes the first one's connection, which does not announce it.
fn race(second: Plan, faults: Faults) -> Scenario {
    Scenario {
        faults,
        server: ServerConfig {
            keep_alive_timeout: Some(Duration::from_secs(1)),
            ..ServerConfig::default()
        },
        plan: vec![
            Planned {
                at: Duration::ZERO,
                what: Plan::get("/first"),
            },
            Planned {
                at: Duration::from_millis(900),
                what: second,
            },
        ],
        jitter: Duration::from_millis(250),
        // Without the `Keep-Alive: timeout=1` hint the agent would close the connection
        // first (after N − 1 s) and the race would never happen.
        announce_keep_alive: false,
        ..Scenario::default()
    }
}

/// A GET is answered, on at most two connections, and read by the server at most twice; a
/// retry happens only after a reused connection failed.
fn get_is_answered(outcome: &Outcome, faults: Faults) -> Result<(), String> {
    for request in outcome.requests.iter().flatten() {
        let lossy = faults.rst || faults.refuse || faults.connect_timeouts;
        if request.status != Some(200) && !lossy {
            return Err(format!(
                "{} {} not answered: {request:?}",
                request.method, request.path
            ));
        }
        if request.sockets.len() > 2 {
            return Err(format!(
                "{} retried more than once: {:?}",
                request.path, request.sockets
            ));
        }
        if request.sockets.len() == 2 && !request.sockets[0].1 {
            return Err(format!(
                "{} retried after a fresh connection failed",
                request.path
            ));
        }
        if request.sockets.len() == 2 && request.sockets[1].1 {
            return Err(format!("{} retried on a reused connection", request.path));
        }
    }
    Ok(())
}

/// A POST is sent at most once: at most one `socket` event, read by the server at most once, and either
/// answered or failed with an error.
fn post_is_not_retried(outcome: &Outcome) -> Result<(), String> {
    let post = outcome.requests[1].as_ref().ok_or("no POST outcome")?;
    if post.sockets.len() > 1 {
        return Err(format!("the POST went out {} times", post.sockets.len()));
    }
    let seen = outcome.server_seen.get("POST /post").copied().unwrap_or(0);
    if seen > 1 {
        return Err(format!("the server read the POST {seen} times"));
    }
    if post.status.is_none() && post.error.is_none() {
        return Err("the POST neither answered nor failed".to_owned());
    }
    Ok(())
}

#[test]
fn a_get_caught_by_the_keep_alive_timeout_is_retried_once() {
    let faults = Faults::lossless();
    let retried = Cell::new(0);
    assert_seeds("get", 200, &race(Plan::get("/second"), faults), |o| {
        let second = o.requests[1].as_ref().ok_or("no outcome")?;
        retried.set(retried.get() + u32::from(second.sockets.len() == 2));
        get_is_answered(o, faults)
    });
    // The race is real: some seeds hit it.
    assert!(retried.get() > 0, "no seed caught the keep-alive race");
    eprintln!("get: {} of 200 seeds retried the GET", retried.get());
}

#[test]
fn a_post_caught_by_the_keep_alive_timeout_is_never_retried() {
    let scenario = race(Plan::post("/post", b"payload"), Faults::lossless());
    let failed = Cell::new(0);
    assert_seeds("post", 200, &scenario, |o| {
        let post = o.requests[1].as_ref().ok_or("no outcome")?;
        failed.set(failed.get() + u32::from(post.error.is_some()));
        post_is_not_retried(o)
    });
    assert!(failed.get() > 0, "no seed caught the keep-alive race");
    eprintln!("post: {} of 200 seeds failed the POST", failed.get());
}

#[test]
fn the_race_with_resets_and_refused_connects() {
    let faults = Faults::all();
    assert_seeds("get-all", 200, &race(Plan::get("/second"), faults), |o| {
        get_is_answered(o, faults)
    });
    assert_seeds(
        "post-all",
        200,
        &race(Plan::post("/post", b"payload"), faults),
        post_is_not_retried,
    );
}

/// The long run (see the module docs for the command).
#[test]
#[ignore = "long: 100,000 seeds per run, 400,000 in all (SIM_SEEDS overrides); run with --ignored"]
fn the_race_over_many_seeds() {
    let count = 100_000;
    let faults = Faults::all();
    assert_seeds(
        "get-long",
        count,
        &race(Plan::get("/second"), Faults::lossless()),
        |o| get_is_answered(o, Faults::lossless()),
    );
    assert_seeds(
        "post-long",
        count,
        &race(Plan::post("/post", b"payload"), Faults::lossless()),
        post_is_not_retried,
    );
    assert_seeds(
        "get-all-long",
        count,
        &race(Plan::get("/second"), faults),
        |o| get_is_answered(o, faults),
    );
    assert_seeds(
        "post-all-long",
        count,
        &race(Plan::post("/post", b"payload"), faults),
        post_is_not_retried,
    );
}

/// A connect the peer never answers: the OS gives up with `ETIMEDOUT` and the request waiting
/// for that connection fails with it (Node's `'error'` with `code: 'ETIMEDOUT'`, then
/// `'close'`); the other requests are answered.
#[test]
fn a_connect_that_times_out_fails_its_request_with_etimedout() {
    let faults = Faults {
        connect_timeouts: true,
        ..Faults::none()
    };
    let timed_out = Cell::new(0usize);
    assert_seeds(
        "connect-timeout",
        200,
        &race(Plan::get("/second"), faults),
        |outcome| {
            for request in outcome.requests.iter().flatten() {
                match (&request.error, request.status) {
                    (Some(sansnet_stack::ClientError::Io(std::io::ErrorKind::TimedOut)), None) => {
                        timed_out.set(timed_out.get() + 1);
                    }
                    (None, Some(200)) => {}
                    other => return Err(format!("{} {}: {other:?}", request.method, request.path)),
                }
                if !request.closed {
                    return Err(format!("{} {} did not close", request.method, request.path));
                }
            }
            Ok(())
        },
    );
    assert!(timed_out.get() > 0, "no seed timed a connect out");
}
