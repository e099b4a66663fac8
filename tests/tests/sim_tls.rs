//! HTTPS through the simulator (`sansnet_testkit::sim`): keep-alive requests over TLS through
//! every fault, and a response whose body ends with the connection (`Connection: close`, no
//! length; RFC 9112 §6.3) ended two ways: with `close_notify` before the FIN the body is
//! complete; with a bare FIN it may be cut short, and the client reports the truncation as an
//! error (RFC 8446 §6.1) instead of a complete response. Over plain HTTP the same bare FIN
//! cannot be told apart from the end.
//!
//! CI runs 200 seeds per test. The long run:
//! `cargo test -p sansnet-testkit --release --test sim_tls -- --include-ignored`;
//! one seed alone: `SIM_SEED=<seed> cargo test -p sansnet-testkit --test sim_tls`.

use std::time::Duration;

use sansnet_stack::ClientError;
use sansnet_testkit::sim::{Ending, Faults, Outcome, Plan, Planned, Scenario, Sim, assert_seeds};

fn https(cut: Ending, tls: bool, faults: Faults) -> Scenario {
    Scenario {
        faults,
        tls,
        cut,
        plan: vec![
            Planned {
                at: Duration::ZERO,
                what: Plan::get("/first"),
            },
            Planned {
                at: Duration::from_millis(300),
                what: Plan::get("/second"),
            },
            Planned {
                at: Duration::from_millis(600),
                what: Plan::get("/cut"),
            },
        ],
        jitter: Duration::from_millis(400),
        ..Scenario::default()
    }
}

/// The server's `headersTimeout` (60 s) may fire before a request reaches it over a link of
/// a few bytes a round trip (a TLS handshake then takes a minute): such a request may fail.
fn timed_out(outcome: &Outcome, path: &str) -> bool {
    outcome.elapsed >= Duration::from_secs(60)
        && !outcome.server_seen.contains_key(&format!("GET {path}"))
}

/// Every request but the cut one answered with its own body.
fn answered(outcome: &Outcome) -> Result<(), String> {
    for request in outcome.requests.iter().flatten() {
        if timed_out(outcome, &request.path) {
            continue;
        }
        if request.path != "/cut" && (request.status != Some(200) || !request.ended) {
            return Err(format!("{} not answered: {request:?}", request.path));
        }
    }
    Ok(())
}

fn cut(outcome: &Outcome) -> Result<&sansnet_testkit::sim::RequestOutcome, String> {
    outcome.requests[2]
        .as_ref()
        .ok_or_else(|| "no outcome for /cut".to_owned())
}

#[test]
fn close_notify_ends_a_body_cleanly() {
    for faults in [Faults::none(), Faults::lossless()] {
        assert_seeds(
            "tls-close-notify",
            200,
            &https(Ending::CloseNotify, true, faults),
            |o| {
                answered(o)?;
                let cut = cut(o)?;
                let clean = cut.status == Some(200) && cut.ended && cut.body == b"GET /cut 0";
                if !clean && !timed_out(o, "/cut") {
                    return Err(format!(
                        "the close-delimited body did not end cleanly: {cut:?}"
                    ));
                }
                Ok(())
            },
        );
    }
}

#[test]
fn a_bare_fin_under_tls_is_reported_as_truncation() {
    for faults in [Faults::none(), Faults::lossless()] {
        assert_seeds(
            "tls-bare-fin",
            200,
            &https(Ending::BareFin, true, faults),
            |o| {
                answered(o)?;
                let cut = cut(o)?;
                // The TLS layer's own error: the stream ended without `close_notify`.
                match &cut.error {
                    Some(ClientError::Tls(sansnet_tls::Error::Truncated)) if !cut.ended => Ok(()),
                    _ => Err(format!(
                        "a bare FIN under TLS was not a truncation: {cut:?}"
                    )),
                }
            },
        );
    }
}

#[test]
fn a_bare_fin_over_plain_http_ends_the_body() {
    assert_seeds(
        "http-bare-fin",
        200,
        &https(Ending::BareFin, false, Faults::lossless()),
        |o| {
            answered(o)?;
            let cut = cut(o)?;
            if (cut.status != Some(200) || !cut.ended || cut.body != b"GET /cut 0")
                && !timed_out(o, "/cut")
            {
                return Err(format!("the close-delimited body did not end: {cut:?}"));
            }
            Ok(())
        },
    );
}

#[test]
fn https_with_resets_and_refused_connects() {
    for ending in [Ending::CloseNotify, Ending::BareFin] {
        assert_seeds("tls-all", 200, &https(ending, true, Faults::all()), |_| {
            Ok(())
        });
    }
}

/// A seed replays a run exactly, TLS handshakes included (each run has its own client
/// session cache: an earlier run cannot make a later one resume).
#[test]
fn a_seed_replays_the_same_run() {
    let scenario = https(Ending::BareFin, true, Faults::all());
    for seed in 0..5 {
        let first = Sim::new(seed, &scenario)
            .run()
            .map(|o| (o.steps, o.transcript));
        let again = Sim::new(seed, &scenario)
            .run()
            .map(|o| (o.steps, o.transcript));
        assert_eq!(
            first.map_err(|f| f.to_string()),
            again.map_err(|f| f.to_string())
        );
    }
}

/// The long run (see the module docs for the command).
#[test]
#[ignore = "long: 20,000 seeds per run (SIM_SEEDS overrides); run with --ignored"]
fn https_over_many_seeds() {
    for ending in [Ending::CloseNotify, Ending::BareFin] {
        assert_seeds(
            "tls-long",
            20_000,
            &https(ending, true, Faults::all()),
            |_| Ok(()),
        );
    }
}
