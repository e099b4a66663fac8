//! udp bench
fn main() {}
