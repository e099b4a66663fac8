//! The one error type of `sansnet-tcp`, grouped by whose fault it is.

use std::fmt;
use std::io::ErrorKind;
use std::sync::Arc;

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
    /// and Node emits it as the socket's `'error'`. The layer's own error travels typed
    /// inside ([`LayerError::downcast_ref`]).
    Layer(LayerError),
}

/// The error of a protocol layered beneath the socket machine (TLS), carried as the layer's
/// own typed value, as `std::io::Error` carries a custom error: `sansnet-tcp` does not depend
/// on the layer's crate, and its users get the value back with [`LayerError::downcast_ref`].
#[derive(Debug, Clone)]
pub struct LayerError {
    code: &'static str,
    error: Arc<dyn std::error::Error + Send + Sync>,
}

impl LayerError {
    /// `error`, with Node's `code` for it (`ERR_TLS_CERT_ALTNAME_INVALID`, `CERT_HAS_EXPIRED`,
    /// ...).
    pub fn new(code: &'static str, error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            code,
            error: Arc::new(error),
        }
    }

    /// Node's code for it.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The layer's error, if it is an `E` (for TLS, `sansnet_tls::Error`).
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.error.downcast_ref()
    }

    /// The layer's error.
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.error
    }
}

/// Two layer errors are equal when they have the same code and read the same.
impl PartialEq for LayerError {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
            && (Arc::ptr_eq(&self.error, &other.error)
                || self.error.to_string() == other.error.to_string())
    }
}

impl Eq for LayerError {}

impl fmt::Display for LayerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.error, self.code)
    }
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
            Self::Layer(layer) => layer.code(),
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
            Self::Layer(layer) => layer.fmt(f),
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
        let expired = std::io::Error::other("certificate has expired");
        let layer = Error::Layer(LayerError::new("CERT_HAS_EXPIRED", expired));
        let Error::Layer(inner) = &layer else {
            unreachable!()
        };
        assert!(inner.downcast_ref::<std::io::Error>().is_some());
        assert_eq!(layer, layer.clone());
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
