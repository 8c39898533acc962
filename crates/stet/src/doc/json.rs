//! JSON documents: key order, number spelling and indentation style are kept.
//!
//! A JSON edit rewrites the document in the style it was found in (its indentation unit, or
//! compact; its line breaks; the whitespace around it). Numbers keep their spelling
//! (`1.50` stays `1.50`); string escapes are normalised (`\u00e9` is written `é`).

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{CompactFormatter, PrettyFormatter, Serializer};

use super::error::DocError;

/// How a JSON document is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Style {
    leading: String,
    trailing: String,
    /// The indentation unit; `None` for a one-line document.
    indent: Option<String>,
    crlf: bool,
}

impl Style {
    /// The style of a new file: two spaces, a final line break.
    pub fn new_file() -> Self {
        Style { leading: String::new(), trailing: "\n".into(), indent: Some("  ".into()), crlf: false }
    }

    /// The style `text` is written in.
    pub fn of(text: &str) -> Self {
        let body = text.trim();
        let leading = text[..text.len() - text.trim_start().len()].to_owned();
        let trailing = text[text.trim_end().len()..].to_owned();
        let indent = body.contains('\n').then(|| {
            body.lines()
                .nth(1)
                .map(|line| line[..line.len() - line.trim_start().len()].to_owned())
                .unwrap_or_default()
        });
        Style { leading, trailing, indent, crlf: body.contains("\r\n") }
    }
}

/// Reads a JSON document and its style.
pub(crate) fn read(text: &str) -> Result<(Value, Style), DocError> {
    let value: Value =
        serde_json::from_str(text).map_err(|err| DocError::malformed(Some(err.line()), err.to_string()))?;
    Ok((value, Style::of(text)))
}

/// Writes `value` in `style`.
pub(crate) fn write(value: &Value, style: &Style) -> String {
    let mut out = Vec::new();
    let serialized = match &style.indent {
        Some(indent) => value.serialize(&mut Serializer::with_formatter(
            &mut out,
            PrettyFormatter::with_indent(indent.as_bytes()),
        )),
        None => value.serialize(&mut Serializer::with_formatter(&mut out, CompactFormatter)),
    };
    serialized.expect("a JSON value always serializes to memory");
    let mut body = String::from_utf8(out).expect("serde_json writes UTF-8");
    if style.crlf {
        body = body.replace('\n', "\r\n");
    }
    format!("{}{body}{}", style.leading, style.trailing)
}

#[cfg(test)]
mod tests {
    use super::{read, write};

    #[test]
    fn a_document_reads_and_writes_back_in_its_own_style() {
        for text in [
            "{\n  \"b\": 1,\n  \"a\": [\n    1.50,\n    2\n  ],\n  \"e\": {}\n}\n",
            "{\n\t\"b\": 1\n}",
            "{\"b\":1,\"a\":[1,2]}",
            "{\r\n    \"x\": \"y\"\r\n}\r\n",
        ] {
            let (value, style) = read(text).unwrap();
            assert_eq!(write(&value, &style), text);
        }
    }
}
