//! sansnet-benches: criterion benches that put sansnet's machines beside a floor or a peer
//! in the same binary, so one report shows the ratio. Inputs live in [`data`].
//!
//! Run them with `cargo bench -p sansnet-benches`; CI runs them once each as a smoke test
//! (`cargo test -p sansnet-benches --benches`).
#![forbid(unsafe_code)]

pub mod data;
pub mod tls;
