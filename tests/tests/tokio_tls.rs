//! The tokio driver over TLS (`sansnet-tls` beneath the same stack, not tokio-rustls): curl
//! against `serve_with` and a TLS `Acceptor`, and our `Client` fetching `https:` URLs from
//! it, with a test CA and a `localhost` certificate.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{run_bounded, temp_file};
use sansnet_http1::ServerConfig;
use sansnet_stack::Acceptor;
use sansnet_tcp::SocketConfig;
use sansnet_testkit::certs::{TestCa, Usage};
use sansnet_testkit::peers;
use sansnet_tls::{ClientOptions, Identity, ServerOptions};
use sansnet_tokio::{Client, Request, Response, Server, serve_with};
use tokio::net::TcpListener;

/// A TLS HTTP server with a `localhost` certificate from `ca`, answering `hello world` and
/// the request-target.
async fn start(ca: &TestCa) -> Server {
    let leaf = ca.leaf(&["localhost"], Usage::Server);
    let identity = Identity::from_pem(leaf.chain_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap();
    let tls = ServerOptions::new(identity).build().unwrap();
    let acceptor = Acceptor::new(SocketConfig::default())
        .with_tls(tls)
        .with_http(ServerConfig::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve_with(listener, acceptor, |request: Request| async move {
        Response::new(200).body(format!("hello world {}", request.target()))
    })
    .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// RFC 8446 (a full handshake, verified against the test CA) and RFC 9112 §9.3 over it: curl
/// fetches two URLs on one TLS connection.
#[test]
fn tokio_tls_curl_keep_alive() {
    let ca = TestCa::new("sansnet tokio test CA");
    let ca_file = temp_file("tokio-tls-ca.pem", ca.cert_pem.as_bytes());
    runtime().block_on(async {
        let server = start(&ca).await;
        let port = server.local_addr().port();
        let ca_path = ca_file.display().to_string();
        let out = tokio::task::spawn_blocking(move || {
            let resolve = format!("localhost:{port}:127.0.0.1");
            run_bounded(
                Command::new(peers::curl())
                    .args(["-q", "--noproxy", "*", "--max-time", "30", "-sS", "-v"])
                    .args(["--cacert", &ca_path, "--resolve", &resolve])
                    .arg(format!("https://localhost:{port}/a"))
                    .arg(format!("https://localhost:{port}/b")),
                Duration::from_secs(60),
                "curl",
            )
        })
        .await
        .unwrap();
        assert!(out.status.success(), "curl failed: {}", out.stderr);
        assert_eq!(out.stdout_text(), "hello world /ahello world /b");
        assert!(
            out.stderr.contains("Re-using existing connection"),
            "{}",
            out.stderr
        );
        assert_eq!(
            out.stderr.matches("Connected to").count(),
            1,
            "{}",
            out.stderr
        );
        tokio::time::timeout(Duration::from_secs(10), server.close())
            .await
            .unwrap();
    });
    let _ = std::fs::remove_file(&ca_file);
}

/// Our `Client` with `https:` URLs: verified against the test CA, two requests through the
/// keep-alive agent; a client that does not know the CA fails the request with Node's
/// verification code (the server sends its leaf alone).
#[test]
fn tokio_tls_client() {
    let ca = TestCa::new("sansnet tokio test CA");
    runtime().block_on(async {
        let server = start(&ca).await;
        let port = server.local_addr().port();
        let client = Client::new();
        let roots = sansnet_tls::certificates_from_pem(ca.cert_pem.as_bytes()).unwrap();
        let config = ClientOptions {
            ca: Some(roots),
            ..ClientOptions::default()
        }
        .build()
        .unwrap();
        client.set_https_config(Arc::clone(&config));
        for path in ["/one", "/two"] {
            let mut response = client
                .get(&format!("https://localhost:{port}{path}"))
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body = response.bytes().await.unwrap();
            assert_eq!(body, format!("hello world {path}").as_bytes());
        }
        // Verified against Mozilla's roots, the test CA is unknown.
        let stranger = Client::new();
        let error = stranger
            .get(&format!("https://localhost:{port}/three"))
            .await
            .unwrap_err();
        let sansnet_tokio::RequestError::Failed(error) = error else {
            panic!("a TLS failure, not {error:?}");
        };
        assert_eq!(error.code(), "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "{error}");
        drop((client, stranger));
        tokio::time::timeout(Duration::from_secs(10), server.close())
            .await
            .unwrap();
    });
}
