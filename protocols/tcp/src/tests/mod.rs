//! Scenario tests: each cites the `shared/spec/node-semantics.md` item it checks.

mod harness;
mod server;
mod socket;
