//! The real peers that loopback tests run against: Node.js, Python, curl, OpenSSL and
//! Chromium.
//!
//! A test that needs a peer calls [`node`], [`python`], [`curl`], [`openssl`] or [`chromium`]; a missing
//! peer panics with the install hint, so the test fails instead of passing without having
//! run (`.ci/run` installs every peer).

#![allow(
    clippy::panic,
    reason = "a missing peer must fail the test that needs it, loudly"
)]

use std::path::PathBuf;
use std::process::Command;

/// The `node` executable (Node.js 20 or later), or a panic naming what to install.
pub fn node() -> PathBuf {
    find("node", &["--version"]).unwrap_or_else(|| {
        panic!("Node.js not found on PATH: install Node.js 20 (apt-get install -y nodejs)")
    })
}

/// The `python3` executable, or a panic naming what to install.
pub fn python() -> PathBuf {
    find("python3", &["--version"])
        .unwrap_or_else(|| panic!("python3 not found on PATH: apt-get install -y python3"))
}

/// The `curl` executable, or a panic naming what to install.
pub fn curl() -> PathBuf {
    find("curl", &["--version"])
        .unwrap_or_else(|| panic!("curl not found on PATH: apt-get install -y curl"))
}

/// The `openssl` command-line tool (`s_client`), or a panic naming what to install.
pub fn openssl() -> PathBuf {
    find("openssl", &["version"])
        .unwrap_or_else(|| panic!("openssl not found on PATH: apt-get install -y openssl"))
}

/// The `chromium` executable (headless browser tests), or a panic naming what to install.
pub fn chromium() -> PathBuf {
    find("chromium", &["--version"]).unwrap_or_else(|| {
        panic!("chromium not found on PATH: apt-get update && apt-get install -y chromium")
    })
}

/// The folder holding the peer scripts (`tests/peers/`).
pub fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers")
}

fn find(program: &str, version_args: &[&str]) -> Option<PathBuf> {
    let ok = Command::new(program)
        .args(version_args)
        .output()
        .map(|out| out.status.success())
        .unwrap_or(false);
    ok.then(|| PathBuf::from(program))
}
