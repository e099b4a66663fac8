//! `fetch`: a small curl built on the sansnet HTTP client and its Agent.
//!
//! ```text
//! cargo run --release -p sansnet-mio --example fetch -- [-X METHOD] [-H 'Name: value']...
//!     [-d DATA | --data-file FILE] [--expect-continue] [-i] [-v] [--max-sockets N]
//!     [--parallel] [--cacert FILE] [--cert FILE --key FILE] [-k] URL...
//! ```
//!
//! `https://` URLs verify the server against the CA certificates of `--cacert` (PEM), or
//! Mozilla's root certificates without it, as Node does; `--cert`/`--key` present a client
//! certificate (mutual TLS); `-k` skips verification, with a warning, like curl's `-k` and
//! Node's `rejectUnauthorized: false`.
//!
//! The body goes to stdout (`-i` puts the status line and headers first). `-v` prints to
//! stderr each request head (`> `), each response head (`< `), and one line per request
//! saying which connection carried it and whether it was reused (`* connection #1 reused`).
//! Several URLs share one keep-alive Agent and go one after another, or all at once with
//! `--parallel`. Bad URLs, refused connections and malformed responses are reported on stderr
//! and make the exit status non-zero.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use sansnet_http1::{AgentConfig, ClientRequest, Origin, PoolRequestId, ResponseHead};
use sansnet_mio::{ClientRequestEvent, Event, EventLoop, RequestOptions, SocketId};

/// How long the whole run may wait for anything to happen.
const IDLE_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Options {
    method: Option<String>,
    headers: Vec<(String, String)>,
    data: Option<Vec<u8>>,
    expect_continue: bool,
    include: bool,
    verbose: bool,
    max_sockets: Option<usize>,
    parallel: bool,
    cacert: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    insecure: bool,
    urls: Vec<String>,
}

fn usage() -> String {
    "usage: fetch [-X METHOD] [-H 'Name: value']... [-d DATA | --data-file FILE] \
     [--expect-continue] [-i] [-v] [--max-sockets N] [--parallel] [--cacert FILE] \
     [--cert FILE --key FILE] [-k] URL..."
        .to_string()
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "-X" => options.method = Some(value("-X")?),
            "-H" => {
                let header = value("-H")?;
                let (name, val) = header
                    .split_once(':')
                    .ok_or_else(|| format!("not a header (Name: value): {header:?}"))?;
                options
                    .headers
                    .push((name.trim().to_string(), val.trim().to_string()));
            }
            "-d" => options.data = Some(value("-d")?.into_bytes()),
            "--data-file" => {
                let path = value("--data-file")?;
                let data = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
                options.data = Some(data);
            }
            "--expect-continue" => options.expect_continue = true,
            "-i" => options.include = true,
            "-v" => options.verbose = true,
            "--max-sockets" => {
                let n = value("--max-sockets")?;
                let n = n.parse().map_err(|_| format!("not a number: {n:?}"))?;
                options.max_sockets = Some(n);
            }
            "--parallel" => options.parallel = true,
            "--cacert" => options.cacert = Some(value("--cacert")?),
            "--cert" => options.cert = Some(value("--cert")?),
            "--key" => options.key = Some(value("--key")?),
            "-k" | "--insecure" => options.insecure = true,
            "-h" | "--help" => return Err(usage()),
            flag if flag.starts_with('-') => {
                return Err(format!("unknown option {flag}\n{}", usage()));
            }
            url => options.urls.push(url.to_string()),
        }
    }
    if options.urls.is_empty() {
        return Err(usage());
    }
    if options.cert.is_some() != options.key.is_some() {
        return Err("--cert and --key go together".to_string());
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("fetch: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("fetch: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every URL; `Ok(false)` if any failed.
fn run(options: &Options) -> Result<bool, String> {
    let mut ev = EventLoop::new().map_err(|e| format!("event loop: {e}"))?;
    ev.set_agent(AgentConfig {
        keep_alive: true,
        max_sockets: options.max_sockets,
        ..Default::default()
    });
    if options.urls.iter().any(|url| url.starts_with("https://")) {
        ev.set_https_config(tls_config(options)?);
    }
    let mut ok = true;
    let mut targets = Vec::new();
    for url in &options.urls {
        match Origin::parse_url(url) {
            Ok(target) => targets.push((url.clone(), target)),
            Err(error) => {
                eprintln!("fetch: {url}: {error}");
                ok = false;
            }
        }
    }
    let mut state = State::default();
    let mut next = 0;
    let start = |ev: &mut EventLoop, state: &mut State, index: usize| {
        let (url, (origin, path)) = &targets[index];
        let request = build_request(options, origin, path);
        if options.verbose {
            print_request_head(&request);
        }
        let id = ev.http_request(origin.clone(), request, RequestOptions::default());
        if let Some(data) = &options.data {
            let _ = ev.http_write(id, Bytes::from(data.clone()));
        }
        let _ = ev.http_end(id, None);
        state.urls.insert(id, url.clone());
    };
    if options.parallel {
        for index in 0..targets.len() {
            start(&mut ev, &mut state, index);
        }
        next = targets.len();
    } else if !targets.is_empty() {
        start(&mut ev, &mut state, 0);
        next = 1;
    }
    while !state.urls.is_empty() {
        let event = ev
            .next_event(Some(IDLE_LIMIT))
            .map_err(|e| format!("event loop: {e}"))?;
        let Some(event) = event else {
            return Err("timed out waiting for the server".to_string());
        };
        let Event::HttpClient { request, event } = event else {
            continue;
        };
        if state.on_event(options, request, event) == Some(false) {
            ok = false;
        }
        if !state.urls.contains_key(&request) && !options.parallel && next < targets.len() {
            start(&mut ev, &mut state, next);
            next += 1;
        }
    }
    Ok(ok)
}

/// The client TLS settings from `--cacert`, `--cert`/`--key` and `-k`.
fn tls_config(
    options: &Options,
) -> Result<std::sync::Arc<sansnet_tls::rustls::ClientConfig>, String> {
    let mut tls = sansnet_tls::ClientOptions::with_mozilla_roots();
    if let Some(path) = &options.cacert {
        let pem = std::fs::read(path).map_err(|e| format!("--cacert {path}: {e}"))?;
        let ca = sansnet_tls::certificates_from_pem(&pem).map_err(|e| format!("{path}: {e}"))?;
        tls.ca = Some(ca);
    }
    if let (Some(cert), Some(key)) = (&options.cert, &options.key) {
        let identity = sansnet_tls::Identity::from_pem_files(cert.as_ref(), key.as_ref())
            .map_err(|e| format!("--cert/--key: {e}"))?;
        tls.identity = Some(identity);
    }
    if options.insecure {
        eprintln!(
            "fetch: WARNING: -k: the server's certificate is NOT verified; anyone on the path \
             can read and change this traffic"
        );
        tls.insecure_skip_verify = true;
    }
    tls.alpn = vec![b"http/1.1".to_vec()];
    tls.build().map_err(|e| format!("TLS settings: {e}"))
}

fn build_request(options: &Options, origin: &Origin, path: &str) -> ClientRequest {
    let method = options.method.clone().unwrap_or_else(|| {
        if options.data.is_some() {
            "POST"
        } else {
            "GET"
        }
        .to_string()
    });
    let mut request = ClientRequest::new(method, path.to_string());
    let default_port = if origin.scheme == "https" { 443 } else { 80 };
    let host = if origin.port == default_port {
        origin.host.clone()
    } else {
        format!("{}:{}", origin.host, origin.port)
    };
    request.headers.append("Host", host);
    request.headers.append("User-Agent", "sansnet-fetch/0.1");
    request.headers.append("Accept", "*/*");
    for (name, value) in &options.headers {
        request.headers.append(name.clone(), value.clone());
    }
    if let Some(data) = &options.data
        && !request.headers.contains("content-length")
        && !request.headers.contains("transfer-encoding")
    {
        request
            .headers
            .append("Content-Length", data.len().to_string());
    }
    if options.expect_continue {
        request.headers.append("Expect", "100-continue");
    }
    request
}

fn print_request_head(request: &ClientRequest) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "> {} {} HTTP/1.1",
        text(&request.method),
        text(&request.target)
    );
    for (name, value) in request.headers.iter() {
        let _ = writeln!(err, "> {}: {}", text(name), text(value));
    }
    let _ = writeln!(err, ">");
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn status_block(head: &ResponseHead) -> String {
    let mut out = format!(
        "{} {} {}\r\n",
        head.version.as_str(),
        head.status,
        text(&head.reason)
    );
    for (name, value) in head.headers.iter() {
        out.push_str(&format!("{}: {}\r\n", text(name), text(value)));
    }
    out.push_str("\r\n");
    out
}

/// What the run keeps per request.
#[derive(Debug, Default)]
struct State {
    urls: HashMap<PoolRequestId, String>,
    connections: HashMap<SocketId, usize>,
    failed: HashMap<PoolRequestId, ()>,
}

impl State {
    /// Handles one event; `Some(false)` when the request failed.
    fn on_event(
        &mut self,
        options: &Options,
        request: PoolRequestId,
        event: ClientRequestEvent,
    ) -> Option<bool> {
        let url = self.urls.get(&request).cloned().unwrap_or_default();
        match event {
            ClientRequestEvent::Socket { socket, reused } => {
                let next = self.connections.len() + 1;
                let number = *self.connections.entry(socket).or_insert(next);
                if options.verbose {
                    let how = if reused { "reused" } else { "new" };
                    eprintln!("* {url}: connection #{number} {how}");
                }
            }
            ClientRequestEvent::Continue if options.verbose => {
                eprintln!("< HTTP/1.1 100 Continue");
            }
            ClientRequestEvent::Information(head) if options.verbose => {
                eprint!("{}", prefixed("< ", &status_block(&head)));
            }
            ClientRequestEvent::Response(head) => {
                if options.verbose {
                    eprint!("{}", prefixed("< ", &status_block(&head)));
                }
                if options.include {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(status_block(&head).as_bytes());
                }
            }
            ClientRequestEvent::Data(data) => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&data);
            }
            ClientRequestEvent::End(_) => {
                let _ = std::io::stdout().flush();
            }
            ClientRequestEvent::Error(error) => {
                eprintln!("fetch: {url}: {error}");
                self.failed.insert(request, ());
            }
            ClientRequestEvent::Close => {
                self.urls.remove(&request);
                return Some(!self.failed.contains_key(&request));
            }
            _ => {}
        }
        None
    }
}

fn prefixed(prefix: &str, block: &str) -> String {
    block
        .lines()
        .map(|line| format!("{prefix}{line}\n"))
        .collect()
}
