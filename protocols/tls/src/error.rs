//! The crate's one error type: certificate verdicts, alerts, truncation, timeouts and
//! configuration faults, each with the code Node (OpenSSL) reports.

use std::fmt;

use rustls::{AlertDescription, CertificateError};

use crate::config::SelfSignedLeaf;

/// Why a TLS session failed, or why a configuration could not be built.
///
/// Peer faults arrive as [`TlsEvent::Error`](crate::TlsEvent::Error) (the alert, if any, is
/// already queued for [`TlsConnection::poll_transmit`](crate::TlsConnection::poll_transmit));
/// configuration faults are `Err` from the builders. [`Error::code`] gives the string Node puts
/// in `err.code`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The peer's certificate chain does not lead to a trusted CA (Node
    /// `UNABLE_TO_VERIFY_LEAF_SIGNATURE`; Node docs `tls.md` › `Event: 'secureConnect'`).
    UnknownIssuer,
    /// The server's certificate is self-signed and not trusted (Node
    /// `DEPTH_ZERO_SELF_SIGNED_CERT`): a lone leaf whose issuer is itself, with an unknown
    /// issuer.
    SelfSigned,
    /// The server's certificate does not name the host the client asked for (Node
    /// `ERR_TLS_CERT_ALTNAME_INVALID`).
    NameMismatch,
    /// The peer's certificate expired (`notAfter` in the past: `CERT_HAS_EXPIRED`).
    Expired,
    /// The peer's certificate is not valid yet (`notBefore` in the future: `CERT_NOT_YET_VALID`).
    NotYetValid,
    /// Another certificate verification failure (bad signature, wrong key usage, ...).
    BadCertificate(String),
    /// The server requires a client certificate and the client sent none (Node docs `tls.md` ›
    /// `tls.createServer()` (`requestCert`)).
    CertificateRequired,
    /// The peer sent a fatal alert; the RFC 8446 §6 name, e.g. `bad_certificate`, `unknown_ca`,
    /// `certificate_required`, `no_application_protocol`.
    AlertReceived(String),
    /// ALPN on both sides with no protocol in common: the server answers with the
    /// `no_application_protocol` alert (docs/node-semantics.md#tls-alpn-mismatch,
    /// docs/node-semantics.md#node20-alpn-mismatch; RFC 7301 §3.2).
    NoApplicationProtocol,
    /// The transport ended (FIN) without the peer's `close_notify`: the data may be cut short,
    /// so this is never reported as a clean end (RFC 9112 §9.8,
    /// docs/node-semantics.md#http-client-no-close-notify; RFC 8446 §6.1).
    Truncated,
    /// The handshake did not finish within the handshake timeout (Node docs `tls.md` ›
    /// `tls.createServer()` (`handshakeTimeout`)).
    HandshakeTimeout,
    /// The peer's bytes are not TLS, or break the protocol (bad record, decrypt error,
    /// unexpected message, unsupported version or cipher suites, ...).
    Protocol(String),
    /// A configuration fault: bad PEM, a key that does not match its certificate, an empty
    /// chain, an invalid server name.
    Config(String),
}

impl Error {
    /// The code Node puts in `err.code` for this failure (OpenSSL's reason, in Node's
    /// `ERR_SSL_*` spelling where Node derives it from OpenSSL).
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownIssuer => "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
            Self::SelfSigned => "DEPTH_ZERO_SELF_SIGNED_CERT",
            Self::NameMismatch => "ERR_TLS_CERT_ALTNAME_INVALID",
            Self::Expired => "CERT_HAS_EXPIRED",
            Self::NotYetValid => "CERT_NOT_YET_VALID",
            Self::BadCertificate(_) => "ERR_SSL_CERTIFICATE_VERIFY_FAILED",
            Self::CertificateRequired => "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE",
            Self::AlertReceived(name) => alert_code(name),
            Self::NoApplicationProtocol => "ERR_SSL_NO_APPLICATION_PROTOCOL",
            Self::Truncated => "ECONNRESET",
            Self::HandshakeTimeout => "ERR_TLS_HANDSHAKE_TIMEOUT",
            Self::Protocol(_) => "ERR_SSL_PROTOCOL_ERROR",
            Self::Config(_) => "ERR_INVALID_ARG_VALUE",
        }
    }

    /// Maps a rustls error to ours: certificate verdicts to their typed variants, alerts to
    /// their RFC names, everything else the peer did to [`Error::Protocol`].
    pub(crate) fn from_rustls(error: &rustls::Error) -> Self {
        match error {
            rustls::Error::InvalidCertificate(cert) => Self::from_certificate(cert),
            rustls::Error::NoCertificatesPresented => Self::CertificateRequired,
            rustls::Error::AlertReceived(alert) => Self::AlertReceived(alert_name(*alert)),
            rustls::Error::NoApplicationProtocol => Self::NoApplicationProtocol,
            other => Self::Protocol(other.to_string()),
        }
    }

    fn from_certificate(error: &CertificateError) -> Self {
        match error {
            CertificateError::UnknownIssuer => Self::UnknownIssuer,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                Self::NameMismatch
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => Self::Expired,
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                Self::NotYetValid
            }
            CertificateError::Other(other)
                if other.0.downcast_ref::<SelfSignedLeaf>().is_some() =>
            {
                Self::SelfSigned
            }
            other => Self::BadCertificate(other.to_string()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownIssuer => f.write_str("unable to verify the first certificate"),
            Self::SelfSigned => f.write_str("self-signed certificate"),
            Self::NameMismatch => f.write_str("hostname/ip does not match certificate's altnames"),
            Self::Expired => f.write_str("certificate has expired"),
            Self::NotYetValid => f.write_str("certificate is not yet valid"),
            Self::BadCertificate(why) => write!(f, "certificate verify failed: {why}"),
            Self::CertificateRequired => f.write_str("peer did not return a certificate"),
            Self::AlertReceived(name) => write!(f, "peer sent fatal alert {name}"),
            Self::NoApplicationProtocol => f.write_str("no application protocol in common"),
            Self::Truncated => {
                f.write_str("transport closed without close_notify (possible truncation)")
            }
            Self::HandshakeTimeout => f.write_str("tls handshake timeout"),
            Self::Protocol(why) => write!(f, "tls protocol error: {why}"),
            Self::Config(why) => write!(f, "tls configuration: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// The RFC 8446 §6 / IANA name of an alert (`unknown_ca`), or `alert_<n>` for one rustls
/// does not name.
fn alert_name(alert: AlertDescription) -> String {
    let name = match alert {
        AlertDescription::CloseNotify => "close_notify",
        AlertDescription::UnexpectedMessage => "unexpected_message",
        AlertDescription::BadRecordMac => "bad_record_mac",
        AlertDescription::DecryptionFailed => "decryption_failed",
        AlertDescription::RecordOverflow => "record_overflow",
        AlertDescription::DecompressionFailure => "decompression_failure",
        AlertDescription::HandshakeFailure => "handshake_failure",
        AlertDescription::NoCertificate => "no_certificate",
        AlertDescription::BadCertificate => "bad_certificate",
        AlertDescription::UnsupportedCertificate => "unsupported_certificate",
        AlertDescription::CertificateRevoked => "certificate_revoked",
        AlertDescription::CertificateExpired => "certificate_expired",
        AlertDescription::CertificateUnknown => "certificate_unknown",
        AlertDescription::IllegalParameter => "illegal_parameter",
        AlertDescription::UnknownCA => "unknown_ca",
        AlertDescription::AccessDenied => "access_denied",
        AlertDescription::DecodeError => "decode_error",
        AlertDescription::DecryptError => "decrypt_error",
        AlertDescription::ExportRestriction => "export_restriction",
        AlertDescription::ProtocolVersion => "protocol_version",
        AlertDescription::InsufficientSecurity => "insufficient_security",
        AlertDescription::InternalError => "internal_error",
        AlertDescription::InappropriateFallback => "inappropriate_fallback",
        AlertDescription::UserCanceled => "user_canceled",
        AlertDescription::NoRenegotiation => "no_renegotiation",
        AlertDescription::MissingExtension => "missing_extension",
        AlertDescription::UnsupportedExtension => "unsupported_extension",
        AlertDescription::CertificateUnobtainable => "certificate_unobtainable",
        AlertDescription::UnrecognisedName => "unrecognized_name",
        AlertDescription::BadCertificateStatusResponse => "bad_certificate_status_response",
        AlertDescription::BadCertificateHashValue => "bad_certificate_hash_value",
        AlertDescription::UnknownPSKIdentity => "unknown_psk_identity",
        AlertDescription::CertificateRequired => "certificate_required",
        AlertDescription::NoApplicationProtocol => "no_application_protocol",
        AlertDescription::EncryptedClientHelloRequired => "encrypted_client_hello_required",
        other => return format!("alert_{}", u8::from(other)),
    };
    name.to_owned()
}

/// Node's code for a received alert: OpenSSL's `SSLV3_ALERT_*` / `TLSV1_ALERT_*` /
/// `TLSV13_ALERT_*` reason with Node's `ERR_SSL_` prefix.
fn alert_code(name: &str) -> &'static str {
    match name {
        "unexpected_message" => "ERR_SSL_SSLV3_ALERT_UNEXPECTED_MESSAGE",
        "bad_record_mac" => "ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC",
        "handshake_failure" => "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE",
        "bad_certificate" => "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
        "unsupported_certificate" => "ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
        "certificate_revoked" => "ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED",
        "certificate_expired" => "ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED",
        "certificate_unknown" => "ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "illegal_parameter" => "ERR_SSL_SSLV3_ALERT_ILLEGAL_PARAMETER",
        "unknown_ca" => "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA",
        "access_denied" => "ERR_SSL_TLSV1_ALERT_ACCESS_DENIED",
        "decode_error" => "ERR_SSL_TLSV1_ALERT_DECODE_ERROR",
        "decrypt_error" => "ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR",
        "protocol_version" => "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION",
        "insufficient_security" => "ERR_SSL_TLSV1_ALERT_INSUFFICIENT_SECURITY",
        "internal_error" => "ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR",
        "unrecognized_name" => "ERR_SSL_TLSV1_UNRECOGNIZED_NAME",
        "certificate_required" => "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "no_application_protocol" => "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL",
        "missing_extension" => "ERR_SSL_TLSV13_ALERT_MISSING_EXTENSION",
        _ => "ERR_SSL_TLSV1_ALERT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every named alert maps to its RFC 8446 §6 name and a Node code.
    #[test]
    fn alerts_map_to_rfc_names_and_node_codes() {
        assert_eq!(alert_name(AlertDescription::UnknownCA), "unknown_ca");
        assert_eq!(
            alert_name(AlertDescription::NoApplicationProtocol),
            "no_application_protocol"
        );
        assert_eq!(alert_name(AlertDescription::Unknown(250)), "alert_250");
        let error = Error::from_rustls(&rustls::Error::AlertReceived(
            AlertDescription::BadCertificate,
        ));
        assert_eq!(error, Error::AlertReceived("bad_certificate".into()));
        assert_eq!(error.code(), "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE");
        assert_eq!(
            Error::AlertReceived("alert_250".into()).code(),
            "ERR_SSL_TLSV1_ALERT"
        );
    }

    /// Certificate verdicts from rustls become the typed variants with Node's codes.
    #[test]
    fn certificate_errors_map_to_typed_variants() {
        let map = |e: CertificateError| Error::from_rustls(&rustls::Error::InvalidCertificate(e));
        assert_eq!(map(CertificateError::UnknownIssuer), Error::UnknownIssuer);
        assert_eq!(map(CertificateError::NotValidForName), Error::NameMismatch);
        assert_eq!(map(CertificateError::Expired), Error::Expired);
        assert_eq!(map(CertificateError::NotValidYet), Error::NotYetValid);
        assert!(matches!(
            map(CertificateError::BadSignature),
            Error::BadCertificate(_)
        ));
        assert_eq!(Error::NameMismatch.code(), "ERR_TLS_CERT_ALTNAME_INVALID");
        assert_eq!(Error::Expired.code(), "CERT_HAS_EXPIRED");
        assert_eq!(Error::Truncated.code(), "ECONNRESET");
        assert_eq!(
            Error::from_rustls(&rustls::Error::NoCertificatesPresented),
            Error::CertificateRequired
        );
    }
}
