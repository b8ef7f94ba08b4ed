//! `Cookie` request-header parsing and NextAuth/Auth.js chunk reassembly.

use http::header::COOKIE;
use http::HeaderMap;

/// Most chunk cookies reassembled into one value; more is treated as an invalid session.
pub const MAX_CHUNKS: usize = 32;
/// Longest reassembled value; longer is treated as an invalid session.
pub const MAX_REASSEMBLED_LEN: usize = 64 * 1024;

/// Why a chunked cookie could not be reassembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReassembleError {
    TooManyChunks,
    TooLong,
}

impl ReassembleError {
    pub fn reason(self) -> &'static str {
        match self {
            ReassembleError::TooManyChunks => "too many session cookie chunks",
            ReassembleError::TooLong => "session cookie too long",
        }
    }
}

/// The cookies of one request, borrowed from its `Cookie` header(s), in the order sent.
///
/// Parsing is lenient per pair and never fails: a pair without `=`, with an empty name, or that is
/// not valid UTF-8 is skipped, so one odd cookie from another app on the same site cannot hide the
/// session cookie. A value wrapped in double quotes is unwrapped (as the `cookie` npm package
/// does); values are not percent-decoded (session tokens never contain `%`).
#[derive(Debug, Default, Clone)]
pub struct CookieJar<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> CookieJar<'a> {
    /// All `Cookie` headers of a request (HTTP/2 may split cookies over several headers).
    pub fn from_headers(headers: &'a HeaderMap) -> Self {
        let mut jar = Self::default();
        for value in headers.get_all(COOKIE) {
            jar.add_header(value.as_bytes());
        }
        jar
    }

    /// One `Cookie` header value.
    pub fn parse(header: &'a str) -> Self {
        let mut jar = Self::default();
        jar.add_header(header.as_bytes());
        jar
    }

    fn add_header(&mut self, header: &'a [u8]) {
        for pair in header.split(|&b| b == b';') {
            let Ok(pair) = std::str::from_utf8(pair) else {
                continue;
            };
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            self.pairs.push((name, value));
        }
    }

    /// Number of cookies parsed.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The value of the first cookie named exactly `name`.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// The value of cookie `name`, reassembled from chunks the way NextAuth/Auth.js write them.
    /// `None` when there is no non-empty such cookie or when the chunks exceed the bounds
    /// ([`MAX_CHUNKS`], [`MAX_REASSEMBLED_LEN`]); use [`Self::try_reassemble`] to tell these apart.
    pub fn reassemble(&self, name: &str) -> Option<String> {
        self.try_reassemble(name).ok().flatten()
    }

    /// Collect the cookies named `name` or `name.<digits>` with non-empty values, order them by
    /// the numeric suffix (stable, so duplicates keep header order; the un-suffixed cookie sorts
    /// first), and concatenate. Like the libraries, count, contiguity and mixing are not checked
    /// here: a broken concatenation fails to decrypt. Unlike the libraries (plain string prefix),
    /// names such as `nameX` or `name.x` are not collected.
    pub fn try_reassemble(&self, name: &str) -> Result<Option<String>, ReassembleError> {
        let mut parts: Vec<(Option<u64>, &str)> = Vec::new();
        let mut total = 0usize;
        for &(n, v) in &self.pairs {
            let Some(rest) = n.strip_prefix(name) else {
                continue;
            };
            let index = if rest.is_empty() {
                None
            } else {
                let Some(digits) = rest.strip_prefix('.') else {
                    continue;
                };
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    continue;
                }
                // More digits than fit in u64 cannot be a real chunk index: sort it last.
                Some(digits.parse::<u64>().unwrap_or(u64::MAX))
            };
            if v.is_empty() {
                continue;
            }
            if parts.len() >= MAX_CHUNKS {
                return Err(ReassembleError::TooManyChunks);
            }
            total = total.saturating_add(v.len());
            if total > MAX_REASSEMBLED_LEN {
                return Err(ReassembleError::TooLong);
            }
            parts.push((index, v));
        }
        if parts.is_empty() {
            return Ok(None);
        }
        // `None` (un-suffixed) orders before every `Some`.
        parts.sort_by_key(|&(i, _)| i);
        let mut out = String::with_capacity(total);
        for (_, v) in parts {
            out.push_str(v);
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn parses_pairs_trims_and_unquotes() {
        let jar = CookieJar::parse(" a=1;b = 2 ; c=\"q\"; d=x=y; junk; =v; e=");
        assert_eq!(jar.get("a"), Some("1"));
        assert_eq!(jar.get("b"), Some("2"));
        assert_eq!(jar.get("c"), Some("q"));
        assert_eq!(jar.get("d"), Some("x=y"));
        assert_eq!(jar.get("e"), Some(""));
        assert_eq!(jar.get("junk"), None);
        assert_eq!(jar.get(""), None);
        assert_eq!(jar.len(), 5);
    }

    #[test]
    fn first_duplicate_wins_for_get() {
        let jar = CookieJar::parse("a=1; a=2");
        assert_eq!(jar.get("a"), Some("1"));
    }

    #[test]
    fn multiple_headers_and_non_utf8_pairs() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("s.0=ab; other=1"));
        h.append(
            COOKIE,
            HeaderValue::from_bytes(b"bad=\xff\xfe; s.1=cd").unwrap(),
        );
        let jar = CookieJar::from_headers(&h);
        assert_eq!(jar.get("bad"), None);
        assert_eq!(jar.get("other"), Some("1"));
        assert_eq!(jar.reassemble("s").as_deref(), Some("abcd"));
    }

    #[test]
    fn chunks_sorted_numerically_not_lexically() {
        let mut header = String::new();
        for i in (0..12).rev() {
            header.push_str(&format!("t.{i}={}; ", (b'a' + i as u8) as char));
        }
        let jar = CookieJar::parse(&header);
        assert_eq!(jar.reassemble("t").as_deref(), Some("abcdefghijkl"));
    }

    #[test]
    fn only_exact_name_or_numeric_suffix_collected() {
        let jar = CookieJar::parse("t.x=no; tt=no; t.=no; t.1=B; t.0=A; u=no; t.-1=no");
        assert_eq!(jar.reassemble("t").as_deref(), Some("AB"));
        assert_eq!(jar.reassemble("missing"), None);
    }

    #[test]
    fn unsuffixed_sorts_first_and_empty_values_are_skipped() {
        let jar = CookieJar::parse("t.1=B; t=P; t.0=A; t.2=");
        assert_eq!(jar.reassemble("t").as_deref(), Some("PAB"));
        assert_eq!(CookieJar::parse("t=").reassemble("t"), None);
        assert_eq!(
            CookieJar::parse("t.0=X").reassemble("t").as_deref(),
            Some("X")
        );
    }

    #[test]
    fn huge_suffix_does_not_panic() {
        let jar = CookieJar::parse("t.99999999999999999999999=Z; t.0=A");
        assert_eq!(jar.reassemble("t").as_deref(), Some("AZ"));
    }

    #[test]
    fn bounds_are_enforced() {
        let header: String = (0..=MAX_CHUNKS).map(|i| format!("t.{i}=x;")).collect();
        let jar = CookieJar::parse(&header);
        assert_eq!(jar.try_reassemble("t"), Err(ReassembleError::TooManyChunks));
        assert_eq!(jar.reassemble("t"), None);
        let ok: String = (0..MAX_CHUNKS).map(|i| format!("t.{i}=x;")).collect();
        assert_eq!(
            CookieJar::parse(&ok).reassemble("t").map(|s| s.len()),
            Some(MAX_CHUNKS)
        );

        let big = "y".repeat(MAX_REASSEMBLED_LEN / 2 + 1);
        let header = format!("t.0={big}; t.1={big}");
        let jar = CookieJar::parse(&header);
        assert_eq!(jar.try_reassemble("t"), Err(ReassembleError::TooLong));
    }
}
