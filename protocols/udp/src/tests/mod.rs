//! Scenario tests: one file per topic, each test citing the rule it checks (its public
//! source, or its anchor in `docs/node-semantics.md`).

mod harness;

mod bind;
mod close;
mod connect;
mod message;
mod options;
mod send;
