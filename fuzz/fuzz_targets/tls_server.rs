//! Fuzz the server side of the TLS stack: arbitrary ciphertext into a
//! `sansnet_tls::TlsConnection` (whole, and at fuzzer-chosen cuts), its plaintext on into a
//! `sansnet_http1::ServerConnection`, whose responses go back through TLS. Asserts no panic,
//! the same events for any cut, at most one error, and bounded output.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use sansnet_http1::{Response, ServerConfig, ServerConnection, ServerEvent};
use sansnet_tls::rustls;
use sansnet_tls::{Identity, ServerOptions, TlsConnection, TlsEvent};

/// A throwaway self-signed P-256 certificate for `fuzz.test` and its key (test only).
const CERT_PEM: &str = r"-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUY/TwfEip1rJyfILk/UC0NSe5NMAwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJZnV6ei50ZXN0MCAXDTI2MTEyNDA1MzMwOFoYDzIxMjYxMDMx
MDUzMzA4WjAUMRIwEAYDVQQDDAlmdXp6LnRlc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATS75ovjXla70zhxCPhgYm27YSvF5H+sj0YrL5JY7vGNoAm8AfBfhfQ
3UZo3WBPfFEM1SLob+tsgUKRaPzD/Ahpo2kwZzAdBgNVHQ4EFgQUsVX9bmyoBKOv
AXCDLaYhR+tzF+QwHwYDVR0jBBgwFoAUsVX9bmyoBKOvAXCDLaYhR+tzF+QwDwYD
VR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglmdXp6LnRlc3QwCgYIKoZIzj0EAwID
SAAwRQIhAP/fCsxxgLp8A2MxFU6yZDfUCdMQOW3utX4syfB6urM7AiAW/0NN14sr
meXQZoHt7kgBnXVi/Vc7wEVDGX8GThZbFg==
-----END CERTIFICATE-----";
const KEY_PEM: &str = r"-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZ2Kxn1WKXkZEUSFH
9xMGc1CW59s4YUXZv1BUpLE3KA2hRANCAATS75ovjXla70zhxCPhgYm27YSvF5H+
sj0YrL5JY7vGNoAm8AfBfhfQ3UZo3WBPfFEM1SLob+tsgUKRaPzD/Ahp
-----END PRIVATE KEY-----";

fn config() -> Arc<rustls::ServerConfig> {
    static CONFIG: OnceLock<Arc<rustls::ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let identity = Identity::from_pem(CERT_PEM.as_bytes(), KEY_PEM.as_bytes())
                .expect("embedded PEM parses");
            let mut options = ServerOptions::new(identity);
            options.alpn = vec![b"http/1.1".to_vec()];
            options.build().expect("embedded identity builds")
        })
        .clone()
}

/// What one run produced, compared across cuts.
#[derive(Debug, Default, PartialEq, Eq)]
struct Log {
    tls: Vec<TlsEvent>,
    http: Vec<ServerEvent>,
    plaintext: Vec<u8>,
}

/// Runs `data` through the stack in pieces of the cycling `sizes` (empty: whole).
fn run(data: &[u8], sizes: &[usize]) -> Log {
    let now = Instant::now();
    let mut tls = TlsConnection::server(config()).expect("server session");
    tls.handle_timeout(now);
    let mut http = ServerConnection::new(
        now,
        ServerConfig {
            send_date: false,
            ..ServerConfig::default()
        },
    );
    let mut log = Log::default();
    let mut pending = BytesMut::new();
    let mut http_buf = BytesMut::new();
    let mut sent = 0usize;
    let mut rest = data;
    let mut step = 0;
    loop {
        let size = if sizes.is_empty() {
            rest.len()
        } else {
            sizes[step % sizes.len()].max(1).min(rest.len())
        };
        step += 1;
        let (piece, tail) = rest.split_at(size);
        rest = tail;
        pending.extend_from_slice(piece);
        tls.handle_input(now, &mut pending);
        pump(&mut tls, &mut http, &mut http_buf, &mut log, &mut sent, now);
        if rest.is_empty() {
            break;
        }
    }
    // Whatever the plaintext side left, then the transport's end.
    for _ in 0..64 {
        if pending.is_empty() {
            break;
        }
        tls.handle_input(now, &mut pending);
        pump(&mut tls, &mut http, &mut http_buf, &mut log, &mut sent, now);
    }
    tls.handle_eof(now);
    pump(&mut tls, &mut http, &mut http_buf, &mut log, &mut sent, now);
    let errors = log
        .tls
        .iter()
        .filter(|e| matches!(e, TlsEvent::Error(_)))
        .count();
    assert!(errors <= 1, "more than one error: {:?}", log.tls);
    assert!(
        !log.tls
            .iter()
            .skip_while(|e| !matches!(e, TlsEvent::Error(_)))
            .skip(1)
            .any(|_| true),
        "events after an error: {:?}",
        log.tls
    );
    assert!(
        sent <= 64 * 1024 + 16 * data.len() + 4096,
        "{sent} bytes sent for {}",
        data.len()
    );
    log
}

fn pump(
    tls: &mut TlsConnection,
    http: &mut ServerConnection,
    http_buf: &mut BytesMut,
    log: &mut Log,
    sent: &mut usize,
    now: Instant,
) {
    for _ in 0..16 {
        while let Some(chunk) = tls.poll_transmit(now) {
            *sent += chunk.len();
        }
        let mut moved = false;
        while let Some(event) = tls.poll_event() {
            if event == TlsEvent::End {
                http.handle_eof(now);
            }
            log.tls.push(event);
        }
        while let Some(chunk) = tls.read_plaintext() {
            log.plaintext.extend_from_slice(&chunk);
            http_buf.extend_from_slice(&chunk);
            http.handle_input(now, http_buf);
            moved = true;
        }
        while let Some(event) = http.poll_event() {
            if let ServerEvent::Request(request) = &event {
                let _ = http.respond(
                    now,
                    request.id,
                    Response::new(200),
                    Bytes::from_static(b"ok"),
                );
            }
            log.http.push(event);
        }
        while let Some(chunk) = http.pop_transmit(now) {
            tls.write(Instant::now(), &chunk);
            moved = true;
        }
        if !moved {
            return;
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&cut, data)) = input.split_first() else {
        return;
    };
    let whole = run(data, &[]);
    // The first byte picks the cut pattern: 0 byte at a time, else pieces of 1..=255 bytes
    // alternating with 1-byte pieces.
    let sizes = if cut == 0 {
        vec![1]
    } else {
        vec![usize::from(cut), 1]
    };
    let split = run(data, &sizes);
    assert_eq!(whole, split, "cut pattern {sizes:?}");
});
