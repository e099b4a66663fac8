//! Close frame bodies and status codes (RFC 6455 §5.5.1, §7.4; WHATWG WebSockets `close()`).
//!
//! [`parse_close_payload`] judges a received body (never panics), [`check_app_close`] judges
//! the application's `close(code, reason)`, and [`encode_close_payload`] builds a body.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{ProtocolError, UsageError};

/// The largest reason that fits a Close frame after its 2-byte code (RFC 6455 §5.5;
/// WHATWG `close()` step 3).
const MAX_REASON_LEN: usize = 123;

/// Parses a received Close body (RFC 6455 §5.5.1).
///
/// Returns `Ok(None)` for an empty body: no status, which the application sees as 1005
/// (§7.1.5). Otherwise the code and the reason. Errors, in this order:
/// - a 1-byte body: [`ProtocolError::InvalidClosePayload`] (RFC 6455 §5.5.1);
/// - a code that may not be sent (§7.4.1-7.4.2, docs/node-semantics.md#ws-close-codes-unsendable to
///   #ws-close-codes-valid): [`ProtocolError::InvalidCloseCode`]. Accepted are 1000-1003, 1007-1014
///   (1012-1014 are IANA-registered, as `ws` accepts them) and 3000-4999;
/// - a reason that is not UTF-8: [`ProtocolError::InvalidUtf8`] (RFC 6455 §5.5.1).
pub(crate) fn parse_close_payload(payload: &[u8]) -> Result<Option<(u16, &str)>, ProtocolError> {
    let [hi, lo, reason @ ..] = payload else {
        return if payload.is_empty() {
            Ok(None)
        } else {
            Err(ProtocolError::InvalidClosePayload)
        };
    };
    let code = u16::from_be_bytes([*hi, *lo]);
    if !is_valid_wire_code(code) {
        return Err(ProtocolError::InvalidCloseCode);
    }
    let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
    Ok(Some((code, reason)))
}

/// Checks the application's `close(code, reason)` (WHATWG WebSockets `close()`,
/// docs/node-semantics.md#ws-api-close-args): the code must be 1000 or 3000-4999
/// ([`UsageError::InvalidCloseCode`], checked first), and the reason at most 123 UTF-8 bytes
/// ([`UsageError::CloseReasonTooLong`]).
pub(crate) fn check_app_close(code: u16, reason: &str) -> Result<(), UsageError> {
    if !(code == 1000 || (3000..=4999).contains(&code)) {
        return Err(UsageError::InvalidCloseCode);
    }
    if reason.len() > MAX_REASON_LEN {
        return Err(UsageError::CloseReasonTooLong);
    }
    Ok(())
}

/// Builds a Close body: empty for `None`, else the code in network order and the reason
/// (RFC 6455 §5.5.1).
///
/// A reason needs a code, so with `None` the reason is dropped. A reason over 123 bytes
/// (which [`check_app_close`] rejects for the application) is cut at the last character
/// boundary that fits, so the body is always a legal control payload of at most 125 bytes
/// (§5.5).
pub(crate) fn encode_close_payload(code: Option<u16>, reason: &str) -> Bytes {
    let Some(code) = code else {
        return Bytes::new();
    };
    let reason = truncate_at_char_boundary(reason, MAX_REASON_LEN);
    let mut out = BytesMut::with_capacity(2 + reason.len());
    out.put_u16(code);
    out.put_slice(reason.as_bytes());
    out.freeze()
}

/// Whether `code` may appear in a Close frame on the wire (RFC 6455 §7.4.1-7.4.2, IANA
/// registry; Autobahn 7.7.x valid, 7.9.x invalid). 1004 is reserved; 1005, 1006 and 1015
/// must never be sent; 1016-2999 are unassigned; 0-999 and 5000+ are not codes.
fn is_valid_wire_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_at_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let end = (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    s.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn body(code: u16, reason: &[u8]) -> Vec<u8> {
        let mut v = code.to_be_bytes().to_vec();
        v.extend_from_slice(reason);
        v
    }

    /// RFC 6455 §5.5.1, §7.1.5, docs/node-semantics.md#ws-close-status-report: an empty body means
    /// "no status" (1005 upstream).
    #[test]
    fn parse_empty_is_no_status() {
        assert_eq!(parse_close_payload(&[]), Ok(None));
    }

    /// RFC 6455 §5.5.1, docs/node-semantics.md#ws-close-body (Autobahn 7.3.2): a 1-byte body fails
    /// with 1002.
    #[test]
    fn parse_one_byte_fails() {
        for b in [0x00, 0x03, 0xE8, 0xFF] {
            assert_eq!(
                parse_close_payload(&[b]),
                Err(ProtocolError::InvalidClosePayload)
            );
        }
        assert_eq!(ProtocolError::InvalidClosePayload.close_code(), 1002);
    }

    /// RFC 6455 §5.5.1 (Autobahn 7.3.3-7.3.5): a code alone, a code with a reason, and a
    /// 123-byte reason (the largest that fits) all parse.
    #[test]
    fn parse_code_and_reason() {
        assert_eq!(parse_close_payload(&body(1000, b"")), Ok(Some((1000, ""))));
        assert_eq!(
            parse_close_payload(&body(1001, b"bye")),
            Ok(Some((1001, "bye")))
        );
        let long = "a".repeat(123);
        assert_eq!(
            parse_close_payload(&body(1000, long.as_bytes())),
            Ok(Some((1000, &*long)))
        );
        let utf8 = "Hello-µ@ßöäüàá-UTF-8!!";
        assert_eq!(
            parse_close_payload(&body(3000, utf8.as_bytes())),
            Ok(Some((3000, utf8)))
        );
    }

    /// RFC 6455 §7.4.1, docs/node-semantics.md#ws-close-codes-valid (Autobahn 7.7.1-7.7.13): these
    /// codes get a clean Close.
    #[test]
    fn parse_autobahn_valid_codes() {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ] {
            assert_eq!(
                parse_close_payload(&body(code, b"")),
                Ok(Some((code, ""))),
                "{code}"
            );
        }
    }

    /// IANA close code registry (as `ws` accepts): 1012-1014 are registered and accepted.
    #[test]
    fn parse_registered_1012_to_1014_accepted() {
        for code in [1012, 1013, 1014] {
            assert_eq!(
                parse_close_payload(&body(code, b"x")),
                Ok(Some((code, "x"))),
                "{code}"
            );
        }
    }

    /// RFC 6455 §7.4.1-7.4.2, docs/node-semantics.md#ws-close-codes-unsendable to
    /// #ws-close-codes-invalid (Autobahn 7.9.1-7.9.9): invalid codes fail with 1002; so do 1015
    /// (never sent) and codes above 4999.
    #[test]
    fn parse_autobahn_invalid_codes() {
        for code in [
            0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 1015, 5000, 65535,
        ] {
            assert_eq!(
                parse_close_payload(&body(code, b"")),
                Err(ProtocolError::InvalidCloseCode),
                "{code}"
            );
        }
        assert_eq!(ProtocolError::InvalidCloseCode.close_code(), 1002);
    }

    /// RFC 6455 §7.4, docs/node-semantics.md#ws-close-codes to #ws-close-codes-invalid: the full
    /// u16 range, exactly the valid set passes.
    #[test]
    fn parse_every_code() {
        for code in 0..=u16::MAX {
            let valid = (1000..=1003).contains(&code)
                || (1007..=1014).contains(&code)
                || (3000..=4999).contains(&code);
            assert_eq!(
                parse_close_payload(&body(code, b"")).is_ok(),
                valid,
                "{code}"
            );
        }
    }

    /// RFC 6455 §5.5.1, §8.1, docs/node-semantics.md#ws-close-reason-utf8 (Autobahn 7.5.1): a
    /// reason that is not UTF-8 fails with 1007.
    #[test]
    fn parse_invalid_utf8_reason_fails() {
        let bad =
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64";
        assert_eq!(
            parse_close_payload(&body(1000, bad)),
            Err(ProtocolError::InvalidUtf8)
        );
        assert_eq!(
            parse_close_payload(&body(1000, b"\xc2")),
            Err(ProtocolError::InvalidUtf8)
        );
        assert_eq!(ProtocolError::InvalidUtf8.close_code(), 1007);
    }

    /// RFC 6455 §7.4 (as `ws` orders it): a bad code is reported before a bad reason.
    #[test]
    fn parse_bad_code_before_bad_reason() {
        assert_eq!(
            parse_close_payload(&body(1005, b"\xff")),
            Err(ProtocolError::InvalidCloseCode)
        );
    }

    /// WHATWG `close()`, docs/node-semantics.md#ws-api-close-args: 1000 and 3000-4999 are allowed,
    /// nothing else.
    #[test]
    fn app_close_codes() {
        for code in 0..=u16::MAX {
            let ok = code == 1000 || (3000..=4999).contains(&code);
            let want = if ok {
                Ok(())
            } else {
                Err(UsageError::InvalidCloseCode)
            };
            assert_eq!(check_app_close(code, ""), want, "{code}");
        }
    }

    /// WHATWG `close()`, docs/node-semantics.md#ws-api-close-args: a reason up to 123 UTF-8 bytes
    /// is allowed, 124 is not, counted in bytes rather than characters.
    #[test]
    fn app_close_reason_length() {
        assert_eq!(check_app_close(1000, &"a".repeat(123)), Ok(()));
        assert_eq!(
            check_app_close(1000, &"a".repeat(124)),
            Err(UsageError::CloseReasonTooLong)
        );
        // 62 two-byte characters: 124 bytes, though only 62 characters.
        assert_eq!(
            check_app_close(4000, &"é".repeat(62)),
            Err(UsageError::CloseReasonTooLong)
        );
        assert_eq!(check_app_close(4000, &"é".repeat(61)), Ok(()));
    }

    /// WHATWG `close()` steps 2-3: the code is checked before the reason.
    #[test]
    fn app_close_code_checked_first() {
        assert_eq!(
            check_app_close(1001, &"a".repeat(200)),
            Err(UsageError::InvalidCloseCode)
        );
    }

    /// RFC 6455 §5.5.1: encoding gives an empty body without a code, and code then reason.
    #[test]
    fn encode_bodies() {
        assert_eq!(encode_close_payload(None, ""), Bytes::new());
        assert_eq!(encode_close_payload(None, "dropped"), Bytes::new());
        assert_eq!(&encode_close_payload(Some(1000), "")[..], &[0x03, 0xE8]);
        assert_eq!(
            &encode_close_payload(Some(4999), "ok")[..],
            &[0x13, 0x87, b'o', b'k']
        );
    }

    /// RFC 6455 §5.5: an over-long reason is cut at a character boundary to fit 125 bytes.
    #[test]
    fn encode_truncates_long_reason() {
        let out = encode_close_payload(Some(1011), &"a".repeat(300));
        assert_eq!(out.len(), 125);
        // 'é' is 2 bytes: 61 fit in 122 bytes, the 62nd would end at 124.
        let out = encode_close_payload(Some(1011), &"é".repeat(100));
        assert_eq!(out.len(), 2 + 122);
        assert_eq!(
            parse_close_payload(&out),
            Ok(Some((1011, &*"é".repeat(61))))
        );
        let out = encode_close_payload(Some(1000), &"😀".repeat(40));
        assert_eq!(out.len(), 2 + 120);
    }

    proptest! {
        /// RFC 6455 §5.5.1: any body parses without panicking, and a parsed body re-encodes
        /// to the same bytes.
        #[test]
        fn prop_parse_any_body_round_trips(payload in prop::collection::vec(any::<u8>(), 0..130)) {
            match parse_close_payload(&payload) {
                Ok(None) => prop_assert!(payload.is_empty()),
                Ok(Some((code, reason))) => {
                    prop_assert!(reason.len() + 2 == payload.len());
                    if payload.len() <= 125 {
                        let again = encode_close_payload(Some(code), reason);
                        prop_assert_eq!(&again[..], &payload[..]);
                    }
                }
                Err(_) => prop_assert!(!payload.is_empty()),
            }
        }

        /// RFC 6455 §5.5.1, WHATWG `close()`: what the application may send encodes to a
        /// body that parses back to the same code and reason.
        #[test]
        fn prop_app_close_round_trips(
            code in prop_oneof![Just(1000u16), 3000u16..=4999],
            reason in "\\PC{0,60}",
        ) {
            prop_assume!(check_app_close(code, &reason).is_ok());
            let out = encode_close_payload(Some(code), &reason);
            prop_assert!(out.len() <= 125);
            prop_assert_eq!(parse_close_payload(&out), Ok(Some((code, reason.as_str()))));
        }

        /// RFC 6455 §5.5: any encoded body is at most 125 bytes and its reason is UTF-8.
        #[test]
        fn prop_encode_always_fits(code in any::<u16>(), reason in "\\PC{0,200}") {
            let out = encode_close_payload(Some(code), &reason);
            prop_assert!(out.len() <= 125);
            prop_assert!(reason.as_bytes().starts_with(&out[2..]));
            prop_assert!(std::str::from_utf8(&out[2..]).is_ok());
        }
    }
}
