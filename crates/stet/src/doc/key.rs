//! Key paths: `blocked_diagnostic.reason`, `transitions.0.status`, or an RFC 6901 JSON Pointer
//! (`/d.o.t/x`) for keys that hold dots.
//!
//! A pointer's segments are taken literally after its `~1` (`/`) and `~0` (`~`) escapes, so any
//! key can be reached: `/` alone is the key `""`, `/a//b` passes through the key `""`. The empty
//! pointer, which RFC 6901 reads as the whole document, is not a key: the whole document is
//! what `get FILE` prints, and an edit names a key in it.

use std::fmt;

use super::error::DocError;

/// A path to a value in a document. A segment of digits also indexes a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath(Vec<String>);

impl KeyPath {
    /// Parses `a.b.c`, or a JSON Pointer `/a/b.c` when it starts with `/`. Empty segments of a
    /// dotted path (`a..b`, `.a`, `a.`) are refused.
    pub fn parse(text: &str) -> Result<Self, DocError> {
        if text.is_empty() {
            return Err(DocError::Invalid { message: "the key is empty".into() });
        }
        if let Some(pointer) = text.strip_prefix('/') {
            return pointer
                .split('/')
                .map(|segment| unescape(text, segment))
                .collect::<Result<_, _>>()
                .map(KeyPath);
        }
        let segments: Vec<String> = text.split('.').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(DocError::Invalid {
                message: format!("the key `{text}` has an empty part; write keys as `a.b.c`"),
            });
        }
        Ok(KeyPath(segments))
    }

    /// A path of the given segments (which may contain dots).
    pub fn from_segments(segments: Vec<String>) -> Self {
        KeyPath(segments)
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[String] {
        &self.0
    }

    /// The path with one more segment.
    pub(crate) fn child(&self, segment: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(segment.to_owned());
        KeyPath(segments)
    }
}

/// A JSON Pointer segment with its `~1` and `~0` escapes read.
fn unescape(pointer: &str, segment: &str) -> Result<String, DocError> {
    let mut out = String::with_capacity(segment.len());
    let mut chars = segment.chars();
    while let Some(char) = chars.next() {
        match char {
            '~' => match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => {
                    return Err(DocError::Invalid {
                        message: format!(
                            "the key `{pointer}` has `~` not followed by 0 or 1; in a JSON Pointer write `~0` for `~` and `~1` for `/`"
                        ),
                    });
                }
            },
            char => out.push(char),
        }
    }
    Ok(out)
}

impl fmt::Display for KeyPath {
    /// Dotted when that reads back as the same path, else as a JSON Pointer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dotted = self.0.iter().all(|segment| !segment.is_empty() && !segment.contains('.'))
            && !self.0.first().is_some_and(|first| first.starts_with('/'));
        if dotted {
            return f.write_str(&self.0.join("."));
        }
        for segment in &self.0 {
            write!(f, "/{}", segment.replace('~', "~0").replace('/', "~1"))?;
        }
        Ok(())
    }
}

/// The list index a segment names, if it is all digits.
pub(crate) fn index(segment: &str) -> Option<usize> {
    if segment.bytes().all(|byte| byte.is_ascii_digit()) { segment.parse().ok() } else { None }
}
