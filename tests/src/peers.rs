//! The real peers that loopback tests run against: Node.js (with the `ws` package), Python
//! (with `h11` and `websockets`), curl, OpenSSL and Chromium, installed on first use.
//!
//! A test that needs a peer calls [`node`], [`node_ws`], [`python`], [`python_h11`],
//! [`python_websockets`], [`curl`], [`openssl`] or [`chromium`]. A peer that is missing is
//! installed, once, then used:
//!
//! - Debian packages (`nodejs`, `npm`, `python3`, `python3-pip`, `curl`, `openssl`,
//!   `chromium`): `apt-get update` once per process, then `apt-get install -y PACKAGE`, only
//!   when running as root.
//! - Node's `ws` [`WS_VERSION`]: `npm install --prefix target/peers ws@VERSION` under the
//!   workspace root ([`peers_dir`], ignored by git; not under `CARGO_TARGET_DIR`, which can be
//!   anywhere); [`node_ws`] returns its `node_modules` folder, for `NODE_PATH`.
//! - Python's `h11` [`H11_VERSION`] and `websockets` [`WEBSOCKETS_VERSION`]: `python3 -m pip
//!   install NAME==VERSION`, then again with `--break-system-packages` (root) or with `--user`
//!   and `--user --break-system-packages` (not root) when pip refuses.
//!
//! Each command's output goes to `target/peers/logs/`. Tests run on many threads and test
//! binaries may run at the same time, so each peer is provided once per process (a
//! [`OnceLock`]) and installs are serialized across processes by an exclusive lock on
//! `target/peers/.lock`, with the peer checked again once the lock is held.
//!
//! A peer that cannot be installed (not root and a Debian package missing, no network, Node
//! older than 20) panics with one line naming the command to run, so the test fails instead
//! of passing without having run. No test is ever skipped.

#![allow(
    clippy::panic,
    reason = "a missing peer must fail the test that needs it, loudly"
)]

use std::cell::Cell;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The version of Node's `ws` package that [`node_ws`] installs.
pub const WS_VERSION: &str = "8.23.0";

/// The version of Python's `h11` that [`python_h11`] installs.
pub const H11_VERSION: &str = "0.16.0";

/// The version of Python's `websockets` that [`python_websockets`] installs.
pub const WEBSOCKETS_VERSION: &str = "17.4";

/// The oldest Node.js major version the peer scripts run on.
const NODE_MIN_MAJOR: u32 = 20;

/// How long `apt-get update` may take.
const APT_UPDATE_LIMIT: Duration = Duration::from_secs(10 * 60);

/// How long one `apt-get install` may take (Chromium and its libraries are large).
const APT_INSTALL_LIMIT: Duration = Duration::from_secs(20 * 60);

/// How long one `npm install` or `pip install` may take.
const PACKAGE_LIMIT: Duration = Duration::from_secs(10 * 60);

/// The `node` executable (Node.js 20 or later); installs Debian's `nodejs` when missing.
pub fn node() -> PathBuf {
    or_fail(node_checked())
}

/// The `node_modules` folder holding Node's `ws` package at [`WS_VERSION`] (for
/// `NODE_PATH`); installs it with npm under [`peers_dir`] when missing.
pub fn node_ws() -> PathBuf {
    static WS: OnceLock<Result<PathBuf, Missing>> = OnceLock::new();
    or_fail(once(&WS, || {
        let node = node_checked()?;
        let dir = peers_dir();
        let modules = dir.join("node_modules");
        let check = || ws_installed(&node, &modules).then(|| modules.clone());
        let peer = format!("Node's ws {WS_VERSION}");
        let fix = format!(
            "npm install --prefix {} --no-audit --no-fund ws@{WS_VERSION}",
            dir.display()
        );
        if let Some(found) = check() {
            return Ok(found);
        }
        let npm = program(&NPM)?;
        provision(&dir, check, || {
            let mut install = Command::new(npm);
            install.arg("install").arg("--prefix").arg(&dir).args([
                "--no-audit",
                "--no-fund",
                &format!("ws@{WS_VERSION}"),
            ]);
            run_logged(&dir, "npm-ws", &peer, install, PACKAGE_LIMIT)
        })
        .map_err(|problem| Missing { peer, problem, fix })
    }))
}

/// The `python3` executable; installs Debian's `python3` when missing.
pub fn python() -> PathBuf {
    or_fail(program(&PYTHON))
}

/// The `python3` executable, able to import `h11` [`H11_VERSION`]; installs it with pip when
/// missing.
pub fn python_h11() -> PathBuf {
    static H11: OnceLock<Result<PathBuf, Missing>> = OnceLock::new();
    or_fail(once(&H11, || python_package("h11", H11_VERSION)))
}

/// The `python3` executable, able to import `websockets` [`WEBSOCKETS_VERSION`]; installs it
/// with pip when missing.
pub fn python_websockets() -> PathBuf {
    static WEBSOCKETS: OnceLock<Result<PathBuf, Missing>> = OnceLock::new();
    or_fail(once(&WEBSOCKETS, || {
        python_package("websockets", WEBSOCKETS_VERSION)
    }))
}

/// The `curl` executable; installs Debian's `curl` when missing.
pub fn curl() -> PathBuf {
    or_fail(program(&CURL))
}

/// The `openssl` command-line tool (`s_client`); installs Debian's `openssl` when missing.
pub fn openssl() -> PathBuf {
    or_fail(program(&OPENSSL))
}

/// The `chromium` executable (headless browser tests); installs Debian's `chromium` when
/// missing.
pub fn chromium() -> PathBuf {
    or_fail(program(&CHROMIUM))
}

/// The folder holding the peer scripts (`tests/peers/`).
pub fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// `target/peers` under the workspace root: the installed npm packages, the install logs and
/// the lock file that serializes installs.
pub fn peers_dir() -> PathBuf {
    let kit = Path::new(env!("CARGO_MANIFEST_DIR"));
    kit.parent()
        .map_or_else(|| kit.join(".."), Path::to_path_buf)
        .join("target")
        .join("peers")
}

// ---- what is provided, and how ---------------------------------------------------------

/// A program found on `PATH`, installed from a Debian package.
struct Program {
    /// What the failure line calls it.
    name: &'static str,
    /// The command to run.
    command: &'static str,
    /// Arguments that make it print its version and exit 0.
    probe: &'static [&'static str],
    /// The Debian package that provides it.
    package: &'static str,
    /// What [`program`] found or installed, once per process.
    found: OnceLock<Result<PathBuf, Missing>>,
}

static NODE: Program = Program {
    name: "node (Node.js)",
    command: "node",
    probe: &["--version"],
    package: "nodejs",
    found: OnceLock::new(),
};
static NPM: Program = Program {
    name: "npm",
    command: "npm",
    probe: &["--version"],
    package: "npm",
    found: OnceLock::new(),
};
static PYTHON: Program = Program {
    name: "python3",
    command: "python3",
    probe: &["--version"],
    package: "python3",
    found: OnceLock::new(),
};
static PIP: Program = Program {
    name: "pip (python3 -m pip)",
    command: "python3",
    probe: &["-m", "pip", "--version"],
    package: "python3-pip",
    found: OnceLock::new(),
};
static CURL: Program = Program {
    name: "curl",
    command: "curl",
    probe: &["--version"],
    package: "curl",
    found: OnceLock::new(),
};
static OPENSSL: Program = Program {
    name: "openssl",
    command: "openssl",
    probe: &["version"],
    package: "openssl",
    found: OnceLock::new(),
};
static CHROMIUM: Program = Program {
    name: "chromium",
    command: "chromium",
    probe: &["--version"],
    package: "chromium",
    found: OnceLock::new(),
};

/// `program`, found or installed once per process.
fn program(program: &'static Program) -> Result<PathBuf, Missing> {
    once(&program.found, || {
        ensure_program(program, &peers_dir(), is_root())
    })
}

/// `program` on `PATH`, or installed with apt (when `may_apt`), with `dir` holding the lock
/// and the logs.
fn ensure_program(program: &Program, dir: &Path, may_apt: bool) -> Result<PathBuf, Missing> {
    let check = || runs(program.command, program.probe).then(|| PathBuf::from(program.command));
    provision(dir, check, || {
        apt_install(dir, program.name, program.package, may_apt)
    })
    .map_err(|problem| Missing {
        peer: format!("{} not found on PATH", program.name),
        problem,
        fix: format!(
            "apt-get update && apt-get install -y {} (as root)",
            program.package
        ),
    })
}

/// `node`, checked to be Node.js 20 or later.
fn node_checked() -> Result<PathBuf, Missing> {
    static CHECKED: OnceLock<Result<PathBuf, Missing>> = OnceLock::new();
    once(&CHECKED, || {
        let node = program(&NODE)?;
        let major = Command::new(&node)
            .args(["-p", "process.versions.node.split('.')[0]"])
            .stdin(Stdio::null())
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse::<u32>().ok())
            .unwrap_or(0);
        if major >= NODE_MIN_MAJOR {
            Ok(node)
        } else {
            Err(Missing {
                peer: format!("node (Node.js) {major} found, {NODE_MIN_MAJOR} or later needed"),
                problem: Problem::TooOld,
                fix: format!(
                    "install Node.js {NODE_MIN_MAJOR} or later (https://nodejs.org/en/download)"
                ),
            })
        }
    })
}

/// Whether `modules/ws` is the `ws` package at [`WS_VERSION`].
fn ws_installed(node: &Path, modules: &Path) -> bool {
    let package = modules.join("ws").join("package.json");
    package.is_file()
        && Command::new(node)
            .arg("-e")
            .arg(format!(
                "process.exit(require(process.argv[1]).version === '{WS_VERSION}' ? 0 : 1)"
            ))
            .arg(&package)
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|out| out.status.success())
}

/// `python3`, able to import `module` at `version`; installed with pip when missing.
fn python_package(module: &str, version: &str) -> Result<PathBuf, Missing> {
    let python = program(&PYTHON)?;
    let check = || {
        runs(
            &python.to_string_lossy(),
            &[
                "-c",
                &format!("import {module}, sys; sys.exit({module}.__version__ != '{version}')"),
            ],
        )
        .then(|| python.clone())
    };
    if let Some(found) = check() {
        return Ok(found);
    }
    let pip = program(&PIP)?;
    let dir = peers_dir();
    let peer = format!("Python's {module} {version}");
    let fix = format!("python3 -m pip install {module}=={version}");
    let attempts: &[&[&str]] = if is_root() {
        &[&[], &["--break-system-packages"]]
    } else {
        &[&[], &["--user"], &["--user", "--break-system-packages"]]
    };
    provision(&dir, check, || {
        let mut outcome = Ok(());
        for extra in attempts {
            let mut install = Command::new(&pip);
            install
                .args(["-m", "pip", "install", "--disable-pip-version-check"])
                .args(*extra)
                .arg(format!("{module}=={version}"));
            outcome = run_logged(
                &dir,
                &format!("pip-{module}"),
                &peer,
                install,
                PACKAGE_LIMIT,
            );
            if outcome.is_ok() {
                break;
            }
        }
        outcome
    })
    .map_err(|problem| Missing { peer, problem, fix })
}

/// `apt-get update` (once per process) then `apt-get install -y package`, as root only.
fn apt_install(dir: &Path, name: &str, package: &str, may_apt: bool) -> Result<(), Problem> {
    static UPDATED: OnceLock<Result<(), Problem>> = OnceLock::new();
    if !may_apt {
        return Err(Problem::NotRoot);
    }
    if !runs("apt-get", &["--version"]) {
        return Err(Problem::NoApt);
    }
    let apt = |args: &[&str]| {
        let mut command = Command::new("apt-get");
        command
            .env("DEBIAN_FRONTEND", "noninteractive")
            // Wait for another apt (not ours: ours are serialized by the lock) to finish.
            .args(["-o", "DPkg::Lock::Timeout=600"])
            .args(args);
        command
    };
    UPDATED
        .get_or_init(|| {
            run_logged(
                dir,
                "apt-update",
                "the package lists",
                apt(&["update"]),
                APT_UPDATE_LIMIT,
            )
        })
        .clone()?;
    run_logged(
        dir,
        &format!("apt-{package}"),
        name,
        apt(&["install", "-y", package]),
        APT_INSTALL_LIMIT,
    )
}

// ---- once per process, once across processes ---------------------------------------------

/// Why a peer is missing: one line saying what and what to run.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Missing {
    /// The peer and how it is missing.
    peer: String,
    /// Why it could not be installed.
    problem: Problem,
    /// The command (or step) that provides it.
    fix: String,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}; run: {}", self.peer, self.problem, self.fix)
    }
}

/// Why installing a peer failed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    /// Installing a Debian package needs root.
    NotRoot,
    /// There is no `apt-get` here.
    NoApt,
    /// An install command exited with a failure (`code` is `None` when a signal ended it).
    Failed {
        command: String,
        code: Option<i32>,
        log: PathBuf,
    },
    /// An install command ran longer than its limit and was killed.
    TimedOut {
        command: String,
        limit: Duration,
        log: PathBuf,
    },
    /// The install command succeeded, but the peer is still missing.
    StillMissing,
    /// The version found is too old and the installer has no newer one.
    TooOld,
    /// Provisioning began inside another one on the same thread (the lock would deadlock).
    Nested,
    /// Creating the peers folder, its lock or a log failed.
    Io { path: PathBuf, kind: io::ErrorKind },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRoot => {
                f.write_str("not installed here: installing Debian packages needs root")
            }
            Self::NoApt => f.write_str("not installed here: there is no apt-get"),
            Self::Failed { command, code, log } => {
                let code = code.map_or_else(|| "a signal".to_owned(), |c| format!("status {c}"));
                write!(
                    f,
                    "`{command}` failed with {code} (no network?), log in {}",
                    log.display()
                )
            }
            Self::TimedOut {
                command,
                limit,
                log,
            } => write!(
                f,
                "`{command}` ran longer than {} s and was stopped, log in {}",
                limit.as_secs(),
                log.display()
            ),
            Self::StillMissing => f.write_str("still missing after a successful install"),
            Self::TooOld => f.write_str("the installer has no newer version"),
            Self::Nested => {
                f.write_str("provisioning started inside another provisioning (a kit bug)")
            }
            Self::Io { path, kind } => write!(f, "{}: {kind}", path.display()),
        }
    }
}

/// The value of `cell`, computed by `provide` on first use; a failure is kept too, so the
/// next test fails at once with the same line instead of trying again.
fn once<T: Clone>(
    cell: &OnceLock<Result<T, Missing>>,
    provide: impl FnOnce() -> Result<T, Missing>,
) -> Result<T, Missing> {
    cell.get_or_init(provide).clone()
}

/// The peer, or a panic with its one-line failure.
fn or_fail<T>(peer: Result<T, Missing>) -> T {
    peer.unwrap_or_else(|missing| panic!("{missing}"))
}

/// `check()` when it finds the peer; otherwise, holding the lock of `dir`, `check()` again
/// (another process or thread may have installed it meanwhile), then `install()` and a last
/// `check()`.
fn provision<T>(
    dir: &Path,
    check: impl Fn() -> Option<T>,
    install: impl FnOnce() -> Result<(), Problem>,
) -> Result<T, Problem> {
    if let Some(found) = check() {
        return Ok(found);
    }
    let _held = Lock::take(dir)?;
    if let Some(found) = check() {
        return Ok(found);
    }
    install()?;
    check().ok_or(Problem::StillMissing)
}

thread_local! {
    /// Whether this thread holds the install lock.
    static HOLDING: Cell<bool> = const { Cell::new(false) };
}

/// The exclusive lock on `DIR/.lock`, held until dropped.
#[derive(Debug)]
struct Lock {
    /// The locked file; closing it releases the lock.
    _file: File,
}

impl Lock {
    /// Waits for the lock on `dir/.lock`, creating both when missing.
    fn take(dir: &Path) -> Result<Self, Problem> {
        if HOLDING.get() {
            return Err(Problem::Nested);
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |e: io::Error| Problem::Io {
                path,
                kind: e.kind(),
            }
        };
        fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(".lock");
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        file.lock().map_err(io(&path))?;
        HOLDING.set(true);
        Ok(Self { _file: file })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        HOLDING.set(false);
    }
}

// ---- running things --------------------------------------------------------------------

/// Whether `command args` runs and exits 0.
fn runs(command: &str, args: &[&str]) -> bool {
    Command::new(command)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Runs `command` for `what` within `limit`, its output appended to `dir/logs/NAME.log`, and
/// says so on stderr (past the test harness's capture, so the wait is explained).
fn run_logged(
    dir: &Path,
    name: &str,
    what: &str,
    mut command: Command,
    limit: Duration,
) -> Result<(), Problem> {
    let logs = dir.join("logs");
    let log = logs.join(format!("{name}.log"));
    let io = |e: io::Error| Problem::Io {
        path: log.clone(),
        kind: e.kind(),
    };
    let shown = format!(
        "{} {}",
        command.get_program().to_string_lossy(),
        command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    );
    fs::create_dir_all(&logs).map_err(io)?;
    let mut out = File::options()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(io)?;
    writeln!(out, "$ {shown}").map_err(io)?;
    let _ = writeln!(
        io::stderr(),
        "sansnet-testkit: installing {what}: {shown} (log: {})",
        log.display()
    );
    let err = out.try_clone().map_err(io)?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(io)?;
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().map_err(io)? {
            return if status.success() {
                Ok(())
            } else {
                Err(Problem::Failed {
                    command: shown,
                    code: status.code(),
                    log,
                })
            };
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Problem::TimedOut {
                command: shown,
                limit,
                log,
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether this process runs as root (effective uid 0).
fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| effective_uid(&status))
        .or_else(|| {
            let out = Command::new("id").arg("-u").output().ok()?;
            String::from_utf8(out.stdout).ok()?.trim().parse().ok()
        })
        == Some(0)
}

/// The effective uid in the text of `/proc/self/status` (`Uid:` real, effective, saved, fs).
fn effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    use super::*;

    /// A fresh folder under the system temp dir, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("sansnet-peers-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            Self(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Threads that all find the peer missing at the same moment (as test threads and test
    /// binaries do) install it once, one at a time: the lock is exclusive between separate
    /// opens of the lock file (as between processes), and the check after taking it sees the
    /// first install. Without the lock or without that check, `installs` would be 8.
    #[test]
    fn racing_provisioners_install_once() {
        const THREADS: usize = 8;
        let scratch = Scratch::new("race");
        fs::create_dir_all(&scratch.0).unwrap();
        let marker = scratch.0.join("installed");
        let installs = Arc::new(AtomicUsize::new(0));
        let active = Arc::new(AtomicUsize::new(0));
        let both = Arc::new(AtomicUsize::new(0));
        let all_checked = Arc::new(Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (dir, marker) = (scratch.0.clone(), marker.clone());
                let (installs, active, both) = (installs.clone(), active.clone(), both.clone());
                let all_checked = all_checked.clone();
                std::thread::spawn(move || {
                    let first = Cell::new(true);
                    let check = || {
                        let found = marker.exists();
                        if first.replace(false) {
                            // Every thread has looked (and seen nothing) before any goes on.
                            all_checked.wait();
                        }
                        found.then_some(())
                    };
                    provision(&dir, check, || {
                        if active.fetch_add(1, Ordering::SeqCst) > 0 {
                            both.fetch_add(1, Ordering::SeqCst);
                        }
                        installs.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        fs::write(&marker, b"").unwrap();
                        active.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })
                })
            })
            .collect();
        for thread in threads {
            assert_eq!(thread.join().unwrap(), Ok(()));
        }
        assert_eq!(installs.load(Ordering::SeqCst), 1, "one install for all");
        assert_eq!(both.load(Ordering::SeqCst), 0, "never two installs at once");
        assert!(scratch.0.join(".lock").is_file());
    }

    /// The lock is held from `take` to drop: a second open of the lock file cannot take it
    /// meanwhile, and can once it is dropped.
    #[test]
    fn the_lock_excludes_other_opens_until_dropped() {
        let scratch = Scratch::new("exclusive");
        let held = Lock::take(&scratch.0).unwrap();
        let other = File::options()
            .write(true)
            .open(scratch.0.join(".lock"))
            .unwrap();
        assert!(
            matches!(other.try_lock(), Err(fs::TryLockError::WouldBlock)),
            "taken while held"
        );
        drop(held);
        assert!(other.try_lock().is_ok(), "free once dropped");
    }

    /// Provisioning inside an install on the same thread is refused instead of waiting
    /// forever for the lock this thread holds.
    #[test]
    fn nested_provisioning_is_refused() {
        let scratch = Scratch::new("nested");
        let inner = provision(
            &scratch.0,
            || None::<()>,
            || {
                assert_eq!(
                    provision(&scratch.0, || None::<()>, || Ok(())),
                    Err(Problem::Nested)
                );
                Err(Problem::TooOld)
            },
        );
        assert_eq!(inner, Err(Problem::TooOld));
        assert!(
            !HOLDING.get(),
            "the lock is released after a failed install"
        );
    }

    /// A failed provisioning is kept for the process: the install runs once, and every
    /// later caller (on any thread) gets the same failure at once.
    #[test]
    fn a_failure_is_provided_once_and_kept() {
        static CELL: OnceLock<Result<PathBuf, Missing>> = OnceLock::new();
        let calls = AtomicUsize::new(0);
        let failure = Missing {
            peer: "sansnet-test-peer not found on PATH".to_owned(),
            problem: Problem::NotRoot,
            fix: "apt-get install -y sansnet-test-peer".to_owned(),
        };
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let got = once(&CELL, || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        Err(failure.clone())
                    });
                    assert_eq!(got, Err(failure.clone()));
                });
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    /// A program that is not on PATH, where apt may not run (not root), fails with one line
    /// naming the program and the apt command to run; nothing is installed.
    #[test]
    fn a_missing_program_without_root_names_the_command() {
        let scratch = Scratch::new("missing");
        let program = Program {
            name: "sansnet-no-such-peer",
            command: "sansnet-no-such-peer",
            probe: &["--version"],
            package: "sansnet-no-such-package",
            found: OnceLock::new(),
        };
        let missing = ensure_program(&program, &scratch.0, false).unwrap_err();
        assert_eq!(missing.problem, Problem::NotRoot);
        let line = missing.to_string();
        assert!(!line.contains('\n'), "one line: {line}");
        assert!(
            line.starts_with("sansnet-no-such-peer not found on PATH"),
            "{line}"
        );
        assert!(
            line.ends_with(
                "run: apt-get update && apt-get install -y sansnet-no-such-package (as root)"
            ),
            "{line}"
        );
        assert!(!scratch.0.join("logs").exists(), "no install command ran");
    }

    /// A program on PATH is found without taking the lock or installing anything.
    #[test]
    fn a_present_program_is_found_without_installing() {
        let scratch = Scratch::new("present");
        let program = Program {
            name: "sh",
            command: "sh",
            probe: &["-c", "exit 0"],
            package: "dash",
            found: OnceLock::new(),
        };
        assert_eq!(
            ensure_program(&program, &scratch.0, false),
            Ok(PathBuf::from("sh"))
        );
        assert!(!scratch.0.exists(), "no lock file, no log");
    }

    /// A failing install command is reported with its exit status and its log.
    #[test]
    fn a_failed_install_reports_status_and_log() {
        let scratch = Scratch::new("failed");
        let mut command = Command::new("sh");
        command.args(["-c", "echo offline >&2; exit 3"]);
        let got = run_logged(
            &scratch.0,
            "x",
            "(a failing test command)",
            command,
            Duration::from_secs(30),
        );
        let log = scratch.0.join("logs").join("x.log");
        assert_eq!(
            got,
            Err(Problem::Failed {
                command: "sh -c echo offline >&2; exit 3".to_owned(),
                code: Some(3),
                log: log.clone(),
            })
        );
        assert_eq!(
            fs::read_to_string(&log).unwrap(),
            "$ sh -c echo offline >&2; exit 3\noffline\n"
        );
    }

    /// An install command past its limit is stopped.
    #[test]
    fn a_slow_install_is_stopped() {
        let scratch = Scratch::new("slow");
        let mut command = Command::new("sleep");
        command.arg("30");
        let start = Instant::now();
        let got = run_logged(
            &scratch.0,
            "s",
            "(a slow test command)",
            command,
            Duration::from_millis(300),
        );
        assert!(matches!(got, Err(Problem::TimedOut { .. })), "{got:?}");
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    /// The effective uid is the second number of the `Uid:` line.
    #[test]
    fn effective_uid_is_the_second_field() {
        let status = "Name:\tcargo\nUid:\t1000\t0\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(effective_uid(status), Some(0));
        assert_eq!(effective_uid("Uid:\t0\t1000\t0\t0\n"), Some(1000));
        assert_eq!(effective_uid("Name:\tx\n"), None);
    }

    /// The workspace's `target/peers`, whatever `CARGO_TARGET_DIR` says.
    #[test]
    fn peers_dir_is_under_the_workspace_root() {
        let dir = peers_dir();
        assert!(dir.ends_with("target/peers"), "{}", dir.display());
        let root = dir.parent().and_then(Path::parent).unwrap();
        assert!(root.join("Cargo.toml").is_file());
        assert!(root.join("tests").join("peers").is_dir());
    }
}
