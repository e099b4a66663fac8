//! Scenario tests: each cites the rule it checks, by its public source or its anchor in
//! `docs/node-semantics.md`.

mod harness;
mod server;
mod socket;
