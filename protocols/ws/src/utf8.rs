//! Incremental, fail-fast UTF-8 validation of text messages and close reasons (RFC 6455 §8.1,
//! §5.6; RFC 3629 §4).
//!
//! A [`Utf8Validator`] takes a message's bytes in any number of pieces and fails on the first
//! byte that no valid UTF-8 text can continue with (Autobahn 6.4.x), so the verdict and its
//! timing do not depend on how the message was fragmented or read. Between characters it hands
//! whole slices to `std::str::from_utf8`; a byte-wise state machine carries a sequence that
//! straddles two pieces. It never panics.

use crate::error::ProtocolError;

/// A UTF-8 checker that keeps its place across fragments (RFC 6455 §8.1).
#[derive(Debug, Default, Clone)]
pub(crate) struct Utf8Validator {
    /// Continuation bytes still owed by the open sequence.
    ///
    /// INVARIANT: 0..=3; 0 means "between characters".
    pending: u8,
    /// The inclusive range the next byte must fall in while `pending > 0` (RFC 3629 §4: it is
    /// narrower than 0x80..=0xBF right after E0, ED, F0 and F4).
    next: (u8, u8),
}

impl Utf8Validator {
    /// Checks the next piece of the message.
    ///
    /// Fails with [`ProtocolError::InvalidUtf8`] as soon as a byte makes the text invalid:
    /// a stray continuation byte, C0, C1 or F5-FF, an overlong or surrogate second byte (after
    /// E0, ED, F0 or F4), a code point above U+10FFFF, or a sequence cut short by a new lead
    /// byte. A sequence left open at the end of the piece is not an error yet.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<(), ProtocolError> {
        let mut rest = bytes;
        // Finish the sequence the previous piece left open, one byte at a time.
        while self.pending > 0 {
            let Some((&byte, tail)) = rest.split_first() else {
                return Ok(());
            };
            self.step(byte)?;
            rest = tail;
        }
        // Between characters: the fast path.
        match std::str::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(e) => match e.error_len() {
                Some(_) => Err(ProtocolError::InvalidUtf8),
                None => {
                    // The input ends inside a sequence that could still become valid; keep it.
                    let tail = rest.get(e.valid_up_to()..).unwrap_or_default();
                    tail.iter().try_for_each(|&byte| self.step(byte))
                }
            },
        }
    }

    /// Ends the message: fails with [`ProtocolError::InvalidUtf8`] if a sequence is still
    /// open (§8.1), and resets the validator either way.
    pub(crate) fn finish(&mut self) -> Result<(), ProtocolError> {
        let open = self.pending > 0;
        self.reset();
        if open {
            Err(ProtocolError::InvalidUtf8)
        } else {
            Ok(())
        }
    }

    /// Forgets any open sequence, ready for a new message.
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }

    /// Advances the state machine by one byte (RFC 3629 §4, "UTF8-octets" ABNF).
    fn step(&mut self, byte: u8) -> Result<(), ProtocolError> {
        if self.pending > 0 {
            let (lo, hi) = self.next;
            if !(lo..=hi).contains(&byte) {
                return Err(ProtocolError::InvalidUtf8);
            }
            self.pending -= 1;
            self.next = (0x80, 0xBF);
            return Ok(());
        }
        let (pending, next) = match byte {
            0x00..=0x7F => return Ok(()),
            0xC2..=0xDF => (1, (0x80, 0xBF)),
            0xE0 => (2, (0xA0, 0xBF)),
            0xE1..=0xEC | 0xEE..=0xEF => (2, (0x80, 0xBF)),
            0xED => (2, (0x80, 0x9F)),
            0xF0 => (3, (0x90, 0xBF)),
            0xF1..=0xF3 => (3, (0x80, 0xBF)),
            0xF4 => (3, (0x80, 0x8F)),
            0x80..=0xC1 | 0xF5..=0xFF => return Err(ProtocolError::InvalidUtf8),
        };
        self.pending = pending;
        self.next = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const TEXTS: [&str; 7] = [
        "",
        "Hello, world",
        "\u{0}\u{7F}",
        "κόσμε",
        "Hello-µ@ßöäüàá-UTF-8!!",
        "\u{80}\u{7FF}\u{800}\u{D7FF}\u{E000}\u{FFFD}\u{FFFF}",
        "\u{10000}\u{1F600}\u{10FFFF}𝄞x",
    ];

    /// Feeds `bytes` one at a time; returns the index of the byte that failed, or `usize::MAX`
    /// if `finish` failed, or `None` if all passed.
    fn first_failure(bytes: &[u8]) -> Option<usize> {
        let mut v = Utf8Validator::default();
        for (i, b) in bytes.iter().enumerate() {
            if v.feed(std::slice::from_ref(b)).is_err() {
                return Some(i);
            }
        }
        v.finish().err().map(|_| usize::MAX)
    }

    fn check_whole(bytes: &[u8]) -> Result<(), ProtocolError> {
        let mut v = Utf8Validator::default();
        v.feed(bytes)?;
        v.finish()
    }

    /// RFC 6455 §8.1, docs/node-semantics.md#ws-utf8-message (Autobahn 6.2): valid texts pass
    /// whole, at every two-way split, and byte at a time.
    #[test]
    fn valid_texts_every_split() {
        for text in TEXTS {
            let bytes = text.as_bytes();
            assert_eq!(check_whole(bytes), Ok(()), "{text:?}");
            for cut in 0..=bytes.len() {
                let mut v = Utf8Validator::default();
                let (a, b) = bytes.split_at(cut);
                assert_eq!(v.feed(a), Ok(()), "{text:?} at {cut}");
                assert_eq!(v.feed(b), Ok(()), "{text:?} at {cut}");
                assert_eq!(v.finish(), Ok(()), "{text:?} at {cut}");
            }
            assert_eq!(first_failure(bytes), None, "{text:?}");
        }
    }

    /// RFC 6455 §8.1, docs/node-semantics.md#ws-utf8-message (Autobahn 6.2.4): every three-way
    /// split of a mixed text passes.
    #[test]
    fn valid_text_every_three_way_split() {
        let bytes = "a\u{7FF}b\u{FFFD}\u{10FFFF}".as_bytes();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                let mut v = Utf8Validator::default();
                assert_eq!(v.feed(&bytes[..i]), Ok(()));
                assert_eq!(v.feed(&bytes[i..j]), Ok(()));
                assert_eq!(v.feed(&bytes[j..]), Ok(()));
                assert_eq!(v.finish(), Ok(()), "{i} {j}");
            }
        }
    }

    /// RFC 6455 §8.1, docs/node-semantics.md#ws-utf8-fail-fast (Autobahn 6.3-6.4, 6.6-6.21):
    /// invalid sequences fail at the exact first bad byte when fed byte by byte.
    #[test]
    fn invalid_sequences_fail_at_first_bad_byte() {
        let cases: &[(&[u8], usize)] = &[
            // Autobahn 6.3.1 / 6.4.1: "κόσμε" then ED A0 80 (a surrogate), fails at A0.
            (
                b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
                12,
            ),
            // 6.4.2: F4 90 80 80 (above U+10FFFF) fails at 90.
            (
                b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80",
                12,
            ),
            // 6.4.3 / 6.4.4 shape: the bad byte after a valid prefix.
            (
                b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4",
                usize::MAX,
            ),
            // Lone continuation bytes (6.8).
            (b"\x80", 0),
            (b"a\xbf", 1),
            // C0 / C1: always overlong (6.9-6.10).
            (b"\xc0\xaf", 0),
            (b"\xc1\xbf", 0),
            // F5-FF never appear (6.11).
            (b"\xf5\x80\x80\x80", 0),
            (b"\xf8\x88\x80\x80\x80", 0),
            (b"\xfc\x84\x80\x80\x80\x80", 0),
            (b"\xfe", 0),
            (b"\xff", 0),
            // Overlong 3- and 4-byte forms fail on the second byte (6.9).
            (b"\xe0\x80\xaf", 1),
            (b"\xe0\x9f\xbf", 1),
            (b"\xf0\x80\x80\xaf", 1),
            (b"\xf0\x8f\xbf\xbf", 1),
            // Surrogates D800-DFFF: ED A0-BF (6.12-6.13).
            (b"\xed\xa0\x80", 1),
            (b"\xed\xbf\xbf", 1),
            (b"\xed\xa0\x80\xed\xb0\x80", 1),
            // Above U+10FFFF: F4 90-BF (6.4.2).
            (b"\xf4\x90\x80\x80", 1),
            (b"\xf4\xbf\xbf\xbf", 1),
            // A sequence cut short by a new lead byte or ASCII (6.6, 6.7).
            (b"\xc2A", 1),
            (b"\xe2\x82A", 2),
            (b"\xf0\x9f\x98\xc3\xa9", 3),
            (b"\xe2\xe2\x82\xac", 1),
            // Truncated at the very end: only `finish` fails.
            (b"\xc2", usize::MAX),
            (b"\xe2\x82", usize::MAX),
            (b"\xf0\x9f\x98", usize::MAX),
        ];
        for &(bytes, at) in cases {
            assert_eq!(first_failure(bytes), Some(at), "{bytes:x?}");
            assert_eq!(
                check_whole(bytes),
                Err(ProtocolError::InvalidUtf8),
                "{bytes:x?}"
            );
        }
    }

    /// RFC 3629 §4, RFC 6455 §8.1: the boundary values just inside each special range pass.
    #[test]
    fn boundary_second_bytes_pass() {
        for ok in [
            &b"\xe0\xa0\x80"[..],
            b"\xed\x9f\xbf",
            b"\xee\x80\x80",
            b"\xf0\x90\x80\x80",
            b"\xf4\x8f\xbf\xbf",
            b"\xc2\x80",
            b"\xdf\xbf",
        ] {
            assert_eq!(first_failure(ok), None, "{ok:x?}");
        }
    }

    /// RFC 6455 §8.1, docs/node-semantics.md#ws-utf8-message: a valid sequence straddling two feeds
    /// whose second feed then fails is still reported at that feed.
    #[test]
    fn straddling_then_invalid_fails_in_second_feed() {
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(b"ok\xf0\x9f"), Ok(()));
        assert_eq!(v.feed(b"\x98\x80ok\xff"), Err(ProtocolError::InvalidUtf8));
    }

    /// RFC 6455 §8.1: `finish` resets, so the next message starts clean after either outcome.
    #[test]
    fn finish_resets() {
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(b"\xe2\x82"), Ok(()));
        assert_eq!(v.finish(), Err(ProtocolError::InvalidUtf8));
        assert_eq!(v.feed(b"abc"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    /// RFC 6455 §8.1: `reset` drops an open sequence.
    #[test]
    fn reset_drops_open_sequence() {
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(b"\xf0\x9f\x98"), Ok(()));
        v.reset();
        assert_eq!(v.feed(b"\x80"), Err(ProtocolError::InvalidUtf8));
    }

    /// RFC 3629 §4: byte-wise validation of every 1- and 2-byte string agrees with `std`.
    #[test]
    fn all_short_strings_agree_with_std() {
        for a in 0..=255u8 {
            assert_eq!(
                check_whole(&[a]).is_ok(),
                std::str::from_utf8(&[a]).is_ok(),
                "{a:x}"
            );
            for b in 0..=255u8 {
                let bytes = [a, b];
                let std_ok = std::str::from_utf8(&bytes).is_ok();
                let mut v = Utf8Validator::default();
                let split = v
                    .feed(&[a])
                    .and_then(|()| v.feed(&[b]))
                    .and_then(|()| v.finish());
                assert_eq!(split.is_ok(), std_ok, "{a:x} {b:x}");
                assert_eq!(check_whole(&bytes).is_ok(), std_ok, "{a:x} {b:x}");
            }
        }
    }

    /// Byte strings that are mostly UTF-8, so the invalid cases are near misses.
    fn near_utf8() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                any::<char>().prop_map(|c| c.to_string().into_bytes()),
                any::<u8>().prop_map(|b| vec![b]),
                prop::sample::select(vec![0x80u8, 0xBF, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0x90, 0xA0])
                    .prop_map(|b| vec![b]),
            ],
            0..24,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        /// RFC 6455 §8.1, docs/node-semantics.md#ws-utf8-message, #ws-utf8-fail-fast: for any bytes
        /// and any split, `feed`s + `finish` succeed iff the whole is UTF-8, and a failure comes no
        /// later than `std` finds it.
        #[test]
        fn prop_split_feeds_agree_with_std(
            bytes in prop_oneof![near_utf8(), prop::collection::vec(any::<u8>(), 0..64)],
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..5),
        ) {
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            points.push(0);
            points.push(bytes.len());
            points.sort_unstable();
            let mut v = Utf8Validator::default();
            let mut failed_at = None;
            for pair in points.windows(2) {
                if v.feed(&bytes[pair[0]..pair[1]]).is_err() {
                    failed_at = Some(pair[1]);
                    break;
                }
            }
            let ours = failed_at.is_none() && v.finish().is_ok();
            let std_result = std::str::from_utf8(&bytes);
            prop_assert_eq!(ours, std_result.is_ok());
            if let (Some(end), Err(e)) = (failed_at, std_result) {
                // The failing piece contains the first bad byte std reports.
                prop_assert!(e.error_len().is_some());
                prop_assert!(e.valid_up_to() < end);
            }
        }

        /// RFC 6455 §8.1, docs/node-semantics.md#ws-utf8-fail-fast: byte at a time, the first
        /// failure is exactly where `std` puts the first invalid byte.
        #[test]
        fn prop_byte_at_a_time_fails_where_std_does(bytes in near_utf8()) {
            let expected = match std::str::from_utf8(&bytes) {
                Ok(_) => None,
                Err(e) => match e.error_len() {
                    // A byte that can never start a character is itself the offender;
                    // otherwise std skips the maximal prefix and the next byte is the offender.
                    Some(len) => match bytes[e.valid_up_to()] {
                        0x80..=0xC1 | 0xF5..=0xFF => Some(e.valid_up_to()),
                        _ => Some(e.valid_up_to() + len),
                    },
                    None => Some(usize::MAX),
                },
            };
            prop_assert_eq!(first_failure(&bytes), expected);
        }
    }
}
