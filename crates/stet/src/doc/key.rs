//! Key paths: `blocked_diagnostic.reason`, `transitions.0.status`.

use std::fmt;

use super::error::DocError;

/// A dotted path to a value in a document. A segment of digits also indexes a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath(Vec<String>);

impl KeyPath {
    /// Parses `a.b.c`. Empty segments (`a..b`, `.a`, `a.`) are refused.
    pub fn parse(text: &str) -> Result<Self, DocError> {
        if text.is_empty() {
            return Err(DocError::Invalid { message: "the key is empty".into() });
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

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

/// The list index a segment names, if it is all digits.
pub(crate) fn index(segment: &str) -> Option<usize> {
    if segment.bytes().all(|byte| byte.is_ascii_digit()) { segment.parse().ok() } else { None }
}
