//! The crate's one error type: the caller's mistakes, exceeded limits, and OS errors.
//!
//! Commands return [`Error::Usage`] synchronously and change nothing. Exceeded limits
//! ([`Error::MessageTooLarge`], [`Error::SendQueueFull`]) and OS errors ([`Error::Io`]) arrive
//! later, as events, the way Node reports them through the `send()` callback or `'error'`.

use std::fmt;
use std::io::ErrorKind;
use std::net::IpAddr;

use crate::option::SocketOption;

/// Everything that can go wrong with a datagram socket.
///
/// [`Error::code`] gives the `code` property Node's error would carry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A command was called with bad arguments or in the wrong state (Node throws these).
    Usage(UsageError),
    /// A datagram was longer than [`SocketConfig::max_datagram_size`]; Node's `EMSGSIZE`.
    ///
    /// [`SocketConfig::max_datagram_size`]: crate::SocketConfig::max_datagram_size
    MessageTooLarge {
        /// The datagram's length in bytes.
        size: usize,
        /// The limit it exceeded.
        limit: usize,
    },
    /// More datagrams awaited completion than [`SocketConfig::max_queued_datagrams`] allows;
    /// reported as `ENOBUFS`, which is what the kernel answers when its own queue is full.
    ///
    /// [`SocketConfig::max_queued_datagrams`]: crate::SocketConfig::max_queued_datagrams
    SendQueueFull {
        /// The limit that was reached.
        limit: usize,
    },
    /// An OS error, as the driver reported it.
    Io(ErrorKind),
    /// The OS refused a socket option the driver set
    /// ([`Socket::handle_option_error`](crate::Socket::handle_option_error)); Node throws
    /// this from the option method, with `syscall` naming it.
    SocketOption {
        /// The option that failed.
        option: SocketOption,
        /// The OS error.
        kind: ErrorKind,
    },
}

impl Error {
    /// Node's `code` for this error: `ERR_SOCKET_*`, `ERR_BUFFER_OUT_OF_BOUNDS`, or an errno
    /// name such as `EMSGSIZE` or `EADDRINUSE` (`EIO` for kinds without a closer name).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Usage(usage) => usage.code(),
            Self::MessageTooLarge { .. } => "EMSGSIZE",
            Self::SendQueueFull { .. } => "ENOBUFS",
            Self::Io(kind) => errno_name(*kind),
            Self::SocketOption { option, .. } if option.is_buffer_size() => {
                "ERR_SOCKET_BUFFER_SIZE"
            }
            Self::SocketOption { kind, .. } => errno_name(*kind),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(usage) => usage.fmt(f),
            Self::MessageTooLarge { size, limit } => write!(
                f,
                "datagram of {size} bytes exceeds the {limit}-byte limit (EMSGSIZE)"
            ),
            Self::SendQueueFull { limit } => {
                write!(f, "send queue is full at {limit} datagrams (ENOBUFS)")
            }
            Self::Io(kind) => write!(f, "{kind} ({})", errno_name(*kind)),
            Self::SocketOption { option, kind } => write!(
                f,
                "{}: {kind} ({})",
                option.node_method(),
                errno_name(*kind)
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<UsageError> for Error {
    fn from(usage: UsageError) -> Self {
        Self::Usage(usage)
    }
}

/// A command called with bad arguments or in a state that does not allow it.
///
/// The command that returns one of these has changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UsageError {
    /// `bind()` on a socket that is bound or binding: `ERR_SOCKET_ALREADY_BOUND`.
    AlreadyBound,
    /// `send()` with `offset` past the end of the buffer: `ERR_BUFFER_OUT_OF_BOUNDS`.
    OffsetOutOfBounds {
        /// The offset given.
        offset: usize,
        /// The buffer's length.
        len: usize,
    },
    /// `send()` with `offset + length` past the end of the buffer: `ERR_BUFFER_OUT_OF_BOUNDS`.
    LengthOutOfBounds {
        /// The offset given.
        offset: usize,
        /// The length given.
        length: usize,
        /// The buffer's length.
        len: usize,
    },
    /// A destination port of 0 (`send()` on an unconnected socket, or `connect()`):
    /// `ERR_SOCKET_BAD_PORT`.
    BadPort,
    /// `connect()` on a socket that is connected or connecting, or `send()` with a port or an
    /// address on a connected socket: `ERR_SOCKET_DGRAM_IS_CONNECTED`.
    AlreadyConnected,
    /// `disconnect()` on a socket that is not connected: `ERR_SOCKET_DGRAM_NOT_CONNECTED`.
    NotConnected,
    /// Any command after `close()`: `ERR_SOCKET_DGRAM_NOT_RUNNING`. Also the result of every
    /// send still pending when the socket closed.
    NotRunning,
    /// A socket option (`setBroadcast()`, `setTTL()`, `addMembership()`, ...) on a socket
    /// that is not bound yet: there is no OS socket, so Node's `EBADF`.
    NotBound,
    /// `setTTL(ttl)` outside 1..=255: `EINVAL`.
    BadTtl {
        /// The TTL given.
        ttl: u32,
    },
    /// `setMulticastTTL(ttl)` above 255: `EINVAL`.
    BadMulticastTtl {
        /// The TTL given.
        ttl: u32,
    },
    /// A membership for a group that is not a multicast address: `EINVAL`.
    NotMulticast {
        /// The address given as the group.
        group: IpAddr,
    },
    /// A membership whose source or interface is of another family than its group: `EINVAL`.
    MixedFamilies,
    /// An IPv6 group or interface on a udp4 socket: `ENOPROTOOPT` (an IPv6 option on an
    /// IPv4 socket).
    Ipv6OnUdp4,
    /// A buffer size above `u32::MAX`: `ERR_SOCKET_BAD_BUFFER_SIZE`.
    BadBufferSize {
        /// The size given.
        size: usize,
    },
    /// A buffer size above `i32::MAX`, which the OS cannot take: `ERR_SOCKET_BUFFER_SIZE`
    /// (libuv's `EINVAL`).
    BufferSizeTooLarge {
        /// The size given.
        size: usize,
    },
    /// A buffer size set or read before the socket is bound: `ERR_SOCKET_BUFFER_SIZE`
    /// (libuv's `EBADF`).
    BufferSizeNotBound,
}

impl UsageError {
    /// Node's `code` for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyBound => "ERR_SOCKET_ALREADY_BOUND",
            Self::OffsetOutOfBounds { .. } | Self::LengthOutOfBounds { .. } => {
                "ERR_BUFFER_OUT_OF_BOUNDS"
            }
            Self::BadPort => "ERR_SOCKET_BAD_PORT",
            Self::AlreadyConnected => "ERR_SOCKET_DGRAM_IS_CONNECTED",
            Self::NotConnected => "ERR_SOCKET_DGRAM_NOT_CONNECTED",
            Self::NotRunning => "ERR_SOCKET_DGRAM_NOT_RUNNING",
            Self::NotBound => "EBADF",
            Self::BadTtl { .. }
            | Self::BadMulticastTtl { .. }
            | Self::NotMulticast { .. }
            | Self::MixedFamilies => "EINVAL",
            Self::Ipv6OnUdp4 => "ENOPROTOOPT",
            Self::BadBufferSize { .. } => "ERR_SOCKET_BAD_BUFFER_SIZE",
            Self::BufferSizeTooLarge { .. } | Self::BufferSizeNotBound => "ERR_SOCKET_BUFFER_SIZE",
        }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyBound => f.write_str("socket is already bound"),
            Self::OffsetOutOfBounds { offset, len } => {
                write!(f, "offset {offset} is outside a buffer of {len} bytes")
            }
            Self::LengthOutOfBounds {
                offset,
                length,
                len,
            } => write!(
                f,
                "offset {offset} plus length {length} is outside a buffer of {len} bytes"
            ),
            Self::BadPort => f.write_str("port 0 is not a valid destination port"),
            Self::AlreadyConnected => f.write_str("socket is already connected"),
            Self::NotConnected => f.write_str("socket is not connected"),
            Self::NotRunning => f.write_str("socket is not running"),
            Self::NotBound => f.write_str("socket is not bound (EBADF)"),
            Self::BadTtl { ttl } => write!(f, "TTL {ttl} is outside 1..=255 (EINVAL)"),
            Self::BadMulticastTtl { ttl } => {
                write!(f, "multicast TTL {ttl} is outside 0..=255 (EINVAL)")
            }
            Self::NotMulticast { group } => {
                write!(f, "{group} is not a multicast address (EINVAL)")
            }
            Self::MixedFamilies => {
                f.write_str("source or interface and group are of different families (EINVAL)")
            }
            Self::Ipv6OnUdp4 => f.write_str("IPv6 option on a udp4 socket (ENOPROTOOPT)"),
            Self::BadBufferSize { size } => {
                write!(f, "buffer size {size} is not a 32-bit unsigned integer")
            }
            Self::BufferSizeTooLarge { size } => {
                write!(
                    f,
                    "could not set buffer size {size}: above 2147483647 (EINVAL)"
                )
            }
            Self::BufferSizeNotBound => {
                f.write_str("could not get or set buffer size: socket is not bound (EBADF)")
            }
        }
    }
}

impl std::error::Error for UsageError {}

/// The errno name Node would put in `code` for an I/O error kind.
fn errno_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::AddrInUse => "EADDRINUSE",
        ErrorKind::AddrNotAvailable => "EADDRNOTAVAIL",
        ErrorKind::PermissionDenied => "EACCES",
        ErrorKind::ConnectionRefused => "ECONNREFUSED",
        ErrorKind::ConnectionReset => "ECONNRESET",
        ErrorKind::ConnectionAborted => "ECONNABORTED",
        ErrorKind::NotConnected => "ENOTCONN",
        ErrorKind::NetworkUnreachable => "ENETUNREACH",
        ErrorKind::HostUnreachable => "EHOSTUNREACH",
        ErrorKind::NetworkDown => "ENETDOWN",
        ErrorKind::TimedOut => "ETIMEDOUT",
        ErrorKind::WouldBlock => "EAGAIN",
        ErrorKind::Interrupted => "EINTR",
        ErrorKind::InvalidInput => "EINVAL",
        ErrorKind::OutOfMemory => "ENOMEM",
        ErrorKind::BrokenPipe => "EPIPE",
        ErrorKind::Unsupported => "ENOTSUP",
        _ => "EIO",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_node() {
        assert_eq!(
            Error::from(UsageError::AlreadyBound).code(),
            "ERR_SOCKET_ALREADY_BOUND"
        );
        assert_eq!(
            Error::from(UsageError::LengthOutOfBounds {
                offset: 1,
                length: 4,
                len: 4
            })
            .code(),
            "ERR_BUFFER_OUT_OF_BOUNDS"
        );
        assert_eq!(
            Error::MessageTooLarge {
                size: 65508,
                limit: 65507
            }
            .code(),
            "EMSGSIZE"
        );
        assert_eq!(Error::SendQueueFull { limit: 1 }.code(), "ENOBUFS");
        assert_eq!(Error::Io(ErrorKind::AddrInUse).code(), "EADDRINUSE");
        assert_eq!(Error::Io(ErrorKind::Other).code(), "EIO");
    }

    #[test]
    fn display_is_lowercase_without_trailing_period() {
        let errors = [
            Error::from(UsageError::NotRunning),
            Error::from(UsageError::OffsetOutOfBounds { offset: 5, len: 4 }),
            Error::MessageTooLarge {
                size: 65508,
                limit: 65507,
            },
            Error::SendQueueFull { limit: 1024 },
            Error::Io(ErrorKind::AddrInUse),
        ];
        for error in errors {
            let text = error.to_string();
            assert!(!text.ends_with('.'), "{text}");
            assert!(text.starts_with(|c: char| !c.is_uppercase()), "{text}");
        }
        assert_eq!(
            Error::Io(ErrorKind::AddrInUse).to_string(),
            "address in use (EADDRINUSE)"
        );
    }
}
