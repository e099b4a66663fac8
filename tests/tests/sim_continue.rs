//! `Expect: 100-continue` under the simulator (`sansnet_testkit::sim`): a server that stays
//! silent (the client's `continue_timeout` sends the body anyway, as curl does after 1 s), one
//! that answers 417 (the body is never needed; the agent goes on), and one that answers 100
//! (RFC 9110 §10.1.1).
//!
//! CI runs 200 seeds per test. The long run:
//! `cargo test -p sansnet-testkit --release --test sim_continue -- --include-ignored`;
//! one seed alone: `SIM_SEED=<seed> cargo test -p sansnet-testkit --test sim_continue`.

use std::time::Duration;

use bytes::Bytes;
use sansnet_http1::ClientConfig;
use sansnet_testkit::sim::{
    ContinueMode, Faults, Outcome, Plan, Planned, RequestOutcome, Scenario, assert_seeds,
};

const BODY: &[u8] = b"the body held for 100 Continue";

/// An upload with `Expect: 100-continue` (continue timeout 1 s), then a GET.
fn upload(mode: ContinueMode, faults: Faults) -> Scenario {
    Scenario {
        faults,
        continue_mode: mode,
        plan: vec![
            Planned {
                at: Duration::ZERO,
                what: Plan::Http {
                    method: "PUT",
                    path: "/upload".to_owned(),
                    body: Some(Bytes::from_static(BODY)),
                    expect_continue: true,
                    client: ClientConfig {
                        continue_timeout: Some(Duration::from_secs(1)),
                        ..ClientConfig::default()
                    },
                    one_off: false,
                },
            },
            Planned {
                at: Duration::from_millis(500),
                what: Plan::get("/after"),
            },
        ],
        jitter: Duration::from_millis(2000),
        ..Scenario::default()
    }
}

fn request(outcome: &Outcome, index: usize) -> Result<&RequestOutcome, String> {
    outcome.requests[index]
        .as_ref()
        .ok_or_else(|| format!("no outcome for request {index}"))
}

/// The upload answered 200 with the whole body read by the server; `continued` as expected.
fn uploaded(outcome: &Outcome, continued: bool) -> Result<(), String> {
    let put = request(outcome, 0)?;
    let expected = format!("PUT /upload {}", BODY.len());
    if put.status != Some(200) || put.body != expected.as_bytes() {
        return Err(format!(
            "the upload was not answered with its body: {put:?}"
        ));
    }
    if put.continued != continued {
        return Err(format!(
            "continue event {} where {continued} was expected",
            put.continued
        ));
    }
    let get = request(outcome, 1)?;
    if get.status != Some(200) {
        return Err(format!("the GET after it failed: {get:?}"));
    }
    Ok(())
}

#[test]
fn a_silent_server_gets_the_body_after_the_continue_timeout() {
    for faults in [Faults::none(), Faults::lossless()] {
        let scenario = upload(ContinueMode::Silent, faults);
        assert_seeds("silent", 200, &scenario, |o| uploaded(o, false));
    }
}

#[test]
fn a_server_answering_100_gets_the_body() {
    let scenario = upload(ContinueMode::Continue, Faults::lossless());
    assert_seeds("continue", 200, &scenario, |o| uploaded(o, true));
}

#[test]
fn a_417_ends_the_upload_and_the_agent_goes_on() {
    let scenario = upload(ContinueMode::Reject, Faults::lossless());
    assert_seeds("417", 200, &scenario, |outcome| {
        let put = request(outcome, 0)?;
        // A 417 may still race a body sent on the continue timeout; either way the
        // request ends with the 417, once.
        if put.status != Some(417) || !put.ended {
            return Err(format!("the upload did not end with 417: {put:?}"));
        }
        let get = request(outcome, 1)?;
        if get.status != Some(200) {
            return Err(format!("the GET after the 417 failed: {get:?}"));
        }
        Ok(())
    });
}

#[test]
fn every_mode_with_resets_and_refused_connects() {
    for mode in [
        ContinueMode::Continue,
        ContinueMode::Reject,
        ContinueMode::Silent,
    ] {
        // Requests may fail here; the simulator's invariants still hold.
        assert_seeds(
            "continue-all",
            200,
            &upload(mode, Faults::all()),
            |_| Ok(()),
        );
    }
}

/// The long run (see the module docs for the command).
#[test]
#[ignore = "long: 50,000 seeds per run (SIM_SEEDS overrides); run with --ignored"]
fn every_mode_over_many_seeds() {
    for mode in [
        ContinueMode::Continue,
        ContinueMode::Reject,
        ContinueMode::Silent,
    ] {
        assert_seeds(
            "continue-long",
            50_000,
            &upload(mode, Faults::all()),
            |_| Ok(()),
        );
    }
}
