//! `Headers`: header fields as received (zero-copy views of the read buffer) or as the
//! application builds them.
//!
//! The first [`INLINE`] fields live inside the value itself, so a typical response or request
//! an application builds is answered or sent without a heap allocation; fields past them
//! spill into a `Vec`. Eight, not more: a `Response` is moved by value several times per
//! request, and every inline slot is 64 bytes moved and dropped each time (16 slots cost 306
//! instructions more per keep-alive request through the mio driver and 610 through the tokio
//! driver, `benches/instructions.sh`). Received heads are offsets into the head instead
//! (`RawHeaders`), whatever their number.

use std::fmt;

use bytes::Bytes;

/// Fields kept inline before a `Headers` spills to the heap.
const INLINE: usize = 8;

/// An ordered list of header fields: names as sent, values with surrounding SP/HTAB removed
/// (RFC 9110 §5.5). Lookups ignore ASCII case. Node's `rawHeaders`, in effect.
///
/// Up to eight fields are stored inline (no allocation); more spill to the heap.
#[derive(Clone, Default)]
pub struct Headers {
    /// INVARIANT: `inline[..inline_len]` are `Some`, the rest `None`.
    inline: [Option<(Bytes, Bytes)>; INLINE],
    inline_len: usize,
    /// Fields past the first `INLINE`. INVARIANT: empty unless `inline` is full.
    spill: Vec<(Bytes, Bytes)>,
}

impl Headers {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a field at the end.
    pub fn append(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        self.push(name.into(), value.into());
    }

    fn push(&mut self, name: Bytes, value: Bytes) {
        match self.inline.get_mut(self.inline_len) {
            Some(slot) => {
                *slot = Some((name, value));
                self.inline_len += 1;
            }
            None => self.spill.push((name, value)),
        }
    }

    /// Adds a field at the end, builder style.
    pub fn with(mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        self.append(name, value);
        self
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Bytes> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Whether a field named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every field, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.inline[..self.inline_len]
            .iter()
            .flatten()
            .chain(&self.spill)
            .map(|(n, v)| (n, v))
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.inline_len + self.spill.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.inline_len == 0
    }

    /// Removes every field named `name`.
    pub fn remove(&mut self, name: &str) {
        if !self.contains(name) {
            return;
        }
        let inline = std::mem::take(&mut self.inline);
        let spill = std::mem::take(&mut self.spill);
        self.inline_len = 0;
        for (n, v) in inline.into_iter().flatten().chain(spill) {
            if !n.eq_ignore_ascii_case(name.as_bytes()) {
                self.push(n, v);
            }
        }
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl<N: Into<Bytes>, V: Into<Bytes>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut headers = Self::new();
        for (n, v) in iter {
            headers.push(n.into(), v.into());
        }
        headers
    }
}

/// Field lines indexed inside a [`RawHeaders`]; past them the lines are found by scanning.
const INDEXED: usize = 16;

/// The header fields of a received message (a request or response head, or the trailers of
/// a chunked body): Node's `rawHeaders`, names in the case they arrived in and in order,
/// values with surrounding SP/HTAB removed (RFC 9110 §5.5), kept as offsets into the bytes
/// they arrived in. Lookups ignore ASCII case.
///
/// It is small (72 bytes on 64-bit targets, whatever the number of fields) and takes no
/// allocation: the head's `Bytes` is shared, the start of the first 16 field lines is indexed
/// inline, and later lines are found by scanning. [`RawHeaders::to_headers`] makes an owned
/// [`Headers`] (sharing the bytes) to forward or change them.
#[derive(Clone, Default)]
pub struct RawHeaders {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// Field lines of a head checked by the parser (every line ends in CRLF, names are tokens
    /// ending at the colon).
    Lines {
        bytes: Bytes,
        /// Where the first field line starts.
        first: u32,
        /// How many fields (a request's first `maxHeadersCount`).
        count: u32,
        /// The start of field line `i`, for `i < indexed`.
        starts: [u16; INDEXED],
        indexed: u8,
    },
    /// Fields held as pairs (trailers, or built with `FromIterator`).
    Pairs(Vec<(Bytes, Bytes)>),
}

impl Default for Repr {
    fn default() -> Self {
        Self::Pairs(Vec::new())
    }
}

impl RawHeaders {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// The fields of a parsed head: `count` field lines starting at `starts` (line starts, in
    /// order; only the first are kept) in `bytes`, the first of them at `first`.
    pub(crate) fn from_lines(
        bytes: Bytes,
        first: usize,
        count: usize,
        starts: impl Iterator<Item = usize>,
    ) -> Self {
        let mut index = [0u16; INDEXED];
        let mut indexed = 0u8;
        for (slot, start) in index.iter_mut().zip(starts) {
            let Ok(start) = u16::try_from(start) else {
                break;
            };
            *slot = start;
            indexed += 1;
        }
        Self {
            repr: Repr::Lines {
                bytes,
                first: u32::try_from(first).unwrap_or(u32::MAX),
                count: u32::try_from(count).unwrap_or(u32::MAX),
                starts: index,
                indexed,
            },
        }
    }

    /// Every field, in order, as `(name, value)`.
    pub fn iter(&self) -> RawIter<'_> {
        match &self.repr {
            Repr::Lines {
                bytes,
                first,
                count,
                starts,
                indexed,
            } => RawIter {
                inner: IterInner::Lines {
                    bytes,
                    pos: *first as usize,
                    at: 0,
                    count: *count as usize,
                    starts: &starts[..usize::from(*indexed)],
                },
            },
            Repr::Pairs(pairs) => RawIter {
                inner: IterInner::Pairs(pairs.iter()),
            },
        }
    }

    /// The first value of `name`.
    pub fn get<'a>(&'a self, name: &'a str) -> Option<&'a [u8]> {
        self.get_all(name).next()
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Whether a field named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Lines { count, .. } => *count as usize,
            Repr::Pairs(pairs) => pairs.len(),
        }
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The fields as an owned [`Headers`] sharing these bytes (no copy), to forward or change.
    pub fn to_headers(&self) -> Headers {
        match &self.repr {
            Repr::Lines { bytes, .. } => self
                .iter()
                .map(|(n, v)| (bytes.slice_ref(n), bytes.slice_ref(v)))
                .collect(),
            Repr::Pairs(pairs) => pairs.iter().cloned().collect(),
        }
    }
}

/// The fields of a [`RawHeaders`], in order.
#[derive(Debug)]
pub struct RawIter<'a> {
    inner: IterInner<'a>,
}

#[derive(Debug)]
enum IterInner<'a> {
    Lines {
        bytes: &'a Bytes,
        /// Where the next line starts.
        pos: usize,
        /// The next field's number.
        at: usize,
        count: usize,
        starts: &'a [u16],
    },
    Pairs(std::slice::Iter<'a, (Bytes, Bytes)>),
}

impl<'a> Iterator for RawIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            IterInner::Pairs(pairs) => pairs.next().map(|(n, v)| (&n[..], &v[..])),
            IterInner::Lines {
                bytes,
                pos,
                at,
                count,
                starts,
            } => {
                if *at >= *count {
                    return None;
                }
                let bytes: &'a [u8] = bytes;
                let start = starts.get(*at).map_or(*pos, |&s| usize::from(s));
                let line = bytes.get(start..)?;
                let colon = line.iter().position(|&b| b == b':')?;
                let (name, rest) = line.split_at(colon);
                let rest = rest.get(1..)?;
                // The line ends at the next field's start, or at its CR (a value has none).
                let end = match starts.get(*at + 1) {
                    Some(&next) => usize::from(next).checked_sub(start + colon + 3)?,
                    None => rest.iter().position(|&b| b == b'\r')?,
                };
                let value = trim_ows(rest.get(..end)?);
                *pos = start + colon + 1 + end + 2;
                *at += 1;
                Some((name, value))
            }
        }
    }
}

impl fmt::Debug for RawHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            }))
            .finish()
    }
}

impl PartialEq for RawHeaders {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for RawHeaders {}

impl<N: Into<Bytes>, V: Into<Bytes>> FromIterator<(N, V)> for RawHeaders {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        Self {
            repr: Repr::Pairs(
                iter.into_iter()
                    .map(|(n, v)| (n.into(), v.into()))
                    .collect(),
            ),
        }
    }
}

impl PartialEq<Headers> for RawHeaders {
    fn eq(&self, other: &Headers) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().map(|(n, v)| (&n[..], &v[..])))
    }
}

impl PartialEq<RawHeaders> for Headers {
    fn eq(&self, other: &RawHeaders) -> bool {
        other == self
    }
}

impl From<Headers> for RawHeaders {
    fn from(headers: Headers) -> Self {
        headers
            .iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    }
}

impl From<Vec<(Bytes, Bytes)>> for RawHeaders {
    fn from(pairs: Vec<(Bytes, Bytes)>) -> Self {
        Self {
            repr: Repr::Pairs(pairs),
        }
    }
}

/// True for a `token` (RFC 9110 §5.6.2): a header name or method.
pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// True for a field value the application may send: no CR, LF or NUL (RFC 9110 §5.5).
pub(crate) fn is_field_value(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b != b'\r' && b != b'\n' && b != 0)
}

/// `bytes` without leading and trailing SP/HTAB.
pub(crate) fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case_and_keep_order() {
        let headers = Headers::new()
            .with("Set-Cookie", "a")
            .with("set-cookie", "b")
            .with("X", "1");
        assert_eq!(headers.get("SET-COOKIE").map(|v| &v[..]), Some(&b"a"[..]));
        assert_eq!(headers.get_all("set-cookie").count(), 2);
        assert!(headers.contains("x"));
        assert!(!headers.contains("y"));
    }

    /// Past the inline fields the rest spill in order; `remove` and equality see them all.
    #[test]
    fn many_fields_spill_in_order() {
        let mut headers: Headers = (0..40)
            .map(|i| (format!("X-{}", i % 3), format!("{i}")))
            .collect();
        assert_eq!(headers.len(), 40);
        let values: Vec<String> = headers
            .get_all("x-1")
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        let want: Vec<String> = (0..40)
            .filter(|i| i % 3 == 1)
            .map(|i| i.to_string())
            .collect();
        assert_eq!(values, want);
        headers.remove("X-0");
        assert_eq!(headers.len(), 26);
        assert!(!headers.contains("x-0"));
        let rebuilt: Headers = headers
            .iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        assert_eq!(rebuilt, headers);
        assert_ne!(rebuilt, Headers::new().with("X-1", "1"));
        assert_eq!(
            format!("{:?}", Headers::new().with("a", "b")),
            r#"[(b"a", b"b")]"#
        );
    }

    /// Received fields read from the head's lines: names as sent, values trimmed, in order, the
    /// same past the indexed lines as within them; lookups ignore case.
    #[test]
    fn raw_headers_read_the_lines() {
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        let mut starts = Vec::new();
        for i in 0..40 {
            starts.push(head.len());
            head.extend_from_slice(format!("X-{}:  v{i} \t\r\n", i % 3).as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        let first = starts[0];
        let raw = RawHeaders::from_lines(Bytes::from(head), first, 40, starts.into_iter());
        assert_eq!(raw.len(), 40);
        let pairs: Vec<(String, String)> = raw
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = (0..40)
            .map(|i| (format!("X-{}", i % 3), format!("v{i}")))
            .collect();
        assert_eq!(pairs, want);
        assert_eq!(raw.get("x-2"), Some(&b"v2"[..]));
        assert_eq!(raw.get_all("X-1").count(), 13);
        assert!(!raw.contains("y"));
        let owned = raw.to_headers();
        assert_eq!(owned.len(), 40);
        let again: RawHeaders = owned.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
        assert_eq!(again, raw);
        // A count below the lines present (`maxHeadersCount`) stops there.
        let mut head = b"X: 1\r\nY: 2\r\n\r\n".to_vec();
        head.shrink_to_fit();
        let short = RawHeaders::from_lines(Bytes::from(head), 0, 1, [0, 6].into_iter());
        assert_eq!(short.iter().count(), 1);
        assert_eq!(format!("{short:?}"), r#"[("X", "1")]"#);
        assert!(RawHeaders::new().is_empty());
    }

    /// Received heads stay small to move whatever their number of fields: the fields are
    /// offsets into the head, not 16 inline `(Bytes, Bytes)` pairs (1 KiB).
    #[test]
    fn received_heads_are_small() {
        assert!(size_of::<RawHeaders>() <= 80);
        assert!(size_of::<crate::Request>() <= 192);
        assert!(size_of::<crate::ServerEvent>() <= 232);
        assert!(size_of::<crate::ResponseHead>() <= 160);
        assert!(size_of::<crate::ClientEvent>() <= 200);
    }

    /// What an application builds is moved by value per request: eight inline slots, not 16
    /// (a `Response` was 1.1 KiB).
    #[test]
    fn built_responses_stay_small() {
        assert!(size_of::<Headers>() <= INLINE * 64 + 40);
        assert!(size_of::<crate::Response>() <= 640);
    }

    #[test]
    fn token_and_value_rules() {
        assert!(is_token(b"Content-Type"));
        assert!(!is_token(b"Bad Name"));
        assert!(!is_token(b""));
        assert!(is_field_value(b"text/html; charset=utf-8"));
        assert!(!is_field_value(b"a\r\nInjected: yes"));
        assert_eq!(trim_ows(b" \t v a \t"), b"v a");
        assert_eq!(trim_ows(b"  "), b"");
    }
}
