//! tcp bench
fn main() {}
