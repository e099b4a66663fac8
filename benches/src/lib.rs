//! sansnet-benches: criterion benches that put sansnet's machines beside a floor or a peer
//! in the same binary, so one report shows the ratio. Inputs live in [`data`].
//!
//! Run them with `cargo bench -p sansnet-benches`; CI runs them once each as a smoke test
//! (`cargo test -p sansnet-benches --benches`).
#![forbid(unsafe_code)]

pub mod data;
pub mod tls;

/// The `main` of the end-to-end servers in `src/bin/` (`tokio-hello`, `hyper-hello`,
/// `tokio-ws-echo`, `fastwebsockets-echo`), as `e2e.sh` and `instructions.sh` start them:
/// listens where the first argument that is not a `--flag` says (default `127.0.0.1:0`) and
/// runs `serve` on tokio's current-thread runtime (its time driver too when `time`); a bad
/// address or a failure prints `name: ...` and exits 1.
pub fn current_thread_main<F>(
    name: &str,
    time: bool,
    serve: impl FnOnce(std::net::SocketAddr) -> F,
) -> std::process::ExitCode
where
    F: Future<Output = std::io::Result<()>>,
{
    let fail = |message: String| {
        eprintln!("{name}: {message}");
        std::process::ExitCode::FAILURE
    };
    let mut addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    for arg in std::env::args().skip(1).filter(|a| !a.starts_with("--")) {
        match arg.parse() {
            Ok(parsed) => addr = parsed,
            Err(_) => return fail(format!("not an address (IP:PORT): {arg:?}")),
        }
    }
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_io();
    if time {
        builder.enable_all();
    }
    match builder.build().map(|runtime| runtime.block_on(serve(addr))) {
        Ok(Ok(())) => std::process::ExitCode::SUCCESS,
        Ok(Err(e)) => fail(e.to_string()),
        Err(e) => fail(format!("runtime: {e}")),
    }
}
