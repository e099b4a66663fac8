//! `Headers`: header fields as received (zero-copy views of the read buffer) or as the
//! application builds them.
//!
//! The first [`INLINE`] fields live inside the value itself, so a typical request or response
//! (a browser sends 12 to 16 fields) is parsed, handed over and answered without a heap
//! allocation; fields past them spill into a `Vec`.

use std::fmt;

use bytes::Bytes;

/// Fields kept inline before a `Headers` spills to the heap.
const INLINE: usize = 16;

/// An ordered list of header fields: names as sent, values with surrounding SP/HTAB removed
/// (RFC 9110 §5.5). Lookups ignore ASCII case. Node's `rawHeaders`, in effect.
///
/// Up to 16 fields are stored inline (no allocation); more spill to the heap.
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
