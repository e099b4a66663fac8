//! The one error type of `sansnet-tcp`, grouped by whose fault it is.

use std::fmt;
use std::io::ErrorKind;

/// Everything that can go wrong on a socket or a server.
///
/// The caller's mistakes come back as `Err` from commands and change nothing (except
/// [`UsageError`]s that Node itself turns into a destroy, documented at the command). Failures
/// the operating system reports arrive as [`SocketEvent::Error`](crate::SocketEvent::Error) /
/// [`ServerEvent::Error`](crate::ServerEvent::Error), in order, and the machine then closes.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A command was called in a state that does not allow it.
    Usage(UsageError),
    /// The driver reported this I/O failure (connect refused, reset, address in use, ...).
    Io(ErrorKind),
    /// A protocol layered between the OS socket and this machine failed (TLS: a certificate
    /// that does not verify, a fatal alert, a stream cut without `close_notify`). The driver
    /// ends the socket with it through [`Socket::destroy_with_error`](crate::Socket::destroy_with_error),
    /// and Node emits it as the socket's `'error'`.
    Layer {
        /// The layer's code for it (`ERR_TLS_CERT_ALTNAME_INVALID`, `CERT_HAS_EXPIRED`, ...).
        code: &'static str,
        /// What went wrong, for people.
        message: String,
    },
}

/// A command called in the wrong state: the caller's fault.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageError {
    /// `write()` after our own `end()`: Node's `ERR_STREAM_WRITE_AFTER_END`.
    WriteAfterEnd,
    /// A command on a destroyed socket: Node's `ERR_STREAM_DESTROYED`.
    Destroyed,
    /// `listen()` on a server that is already listening: `ERR_SERVER_ALREADY_LISTEN`.
    ServerAlreadyListening,
    /// `close()` on a server that is not listening: `ERR_SERVER_NOT_RUNNING`.
    ServerNotRunning,
}

impl Error {
    /// The `code` property Node gives this error (`ERR_STREAM_WRITE_AFTER_END`, `EPIPE`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Usage(usage) => usage.code(),
            Self::Io(kind) => io_code(*kind),
            Self::Layer { code, .. } => code,
        }
    }
}

impl UsageError {
    /// The `code` property Node gives this error.
    pub fn code(self) -> &'static str {
        match self {
            Self::WriteAfterEnd => "ERR_STREAM_WRITE_AFTER_END",
            Self::Destroyed => "ERR_STREAM_DESTROYED",
            Self::ServerAlreadyListening => "ERR_SERVER_ALREADY_LISTEN",
            Self::ServerNotRunning => "ERR_SERVER_NOT_RUNNING",
        }
    }
}

/// Node's errno name for an I/O error kind; `EIO` where Node has no closer name.
pub fn io_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ConnectionRefused => "ECONNREFUSED",
        ErrorKind::ConnectionReset => "ECONNRESET",
        ErrorKind::ConnectionAborted => "ECONNABORTED",
        ErrorKind::NotConnected => "ENOTCONN",
        ErrorKind::AddrInUse => "EADDRINUSE",
        ErrorKind::AddrNotAvailable => "EADDRNOTAVAIL",
        ErrorKind::BrokenPipe => "EPIPE",
        ErrorKind::TimedOut => "ETIMEDOUT",
        ErrorKind::NotFound => "ENOENT",
        ErrorKind::PermissionDenied => "EACCES",
        ErrorKind::InvalidInput => "EINVAL",
        ErrorKind::HostUnreachable => "EHOSTUNREACH",
        ErrorKind::NetworkUnreachable => "ENETUNREACH",
        ErrorKind::NetworkDown => "ENETDOWN",
        ErrorKind::OutOfMemory => "ENOMEM",
        ErrorKind::InvalidFilename => "ENAMETOOLONG",
        _ => "EIO",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(usage) => usage.fmt(f),
            Self::Io(ErrorKind::BrokenPipe) => {
                f.write_str("this socket has been ended by the other party (EPIPE)")
            }
            Self::Io(kind) => write!(f, "{kind} ({})", io_code(*kind)),
            Self::Layer { code, message } => write!(f, "{message} ({code})"),
        }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::WriteAfterEnd => "write after end",
            Self::Destroyed => "cannot call write after a stream was destroyed",
            Self::ServerAlreadyListening => "listen method has been called more than once",
            Self::ServerNotRunning => "server is not running",
        };
        write!(f, "{text} ({})", self.code())
    }
}

impl std::error::Error for Error {}

impl From<UsageError> for Error {
    fn from(usage: UsageError) -> Self {
        Self::Usage(usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_node() {
        assert_eq!(
            Error::Io(ErrorKind::ConnectionRefused).code(),
            "ECONNREFUSED"
        );
        assert_eq!(Error::Io(ErrorKind::AddrInUse).code(), "EADDRINUSE");
        assert_eq!(
            Error::from(UsageError::WriteAfterEnd).code(),
            "ERR_STREAM_WRITE_AFTER_END"
        );
        let layer = Error::Layer {
            code: "CERT_HAS_EXPIRED",
            message: "certificate has expired".into(),
        };
        assert_eq!(layer.code(), "CERT_HAS_EXPIRED");
        assert_eq!(
            layer.to_string(),
            "certificate has expired (CERT_HAS_EXPIRED)"
        );
        assert_eq!(
            Error::Io(ErrorKind::BrokenPipe).to_string(),
            "this socket has been ended by the other party (EPIPE)"
        );
    }
}
