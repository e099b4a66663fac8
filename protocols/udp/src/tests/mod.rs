//! Scenario tests: one file per topic, each test citing its `shared/spec` item.

mod harness;

mod bind;
mod close;
mod connect;
mod message;
mod send;
