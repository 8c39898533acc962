//! The syntax of a JSON or JSONC document: every value with the byte span it was written in.
//!
//! JSONC is JSON with `//` and `/* */` comments wherever whitespace may stand, and a trailing
//! comma after the last member of an object or item of an array (what `tsconfig.json` and VS Code's
//! settings files use). Plain JSON is the same grammar without them, so one reader serves both.
//! The reader makes one pass: it builds the tree the editor needs and the value the document
//! means together, and finds duplicate keys with the hash index of each object's own map.
//! Strings and numbers are decoded by `serde_json` from their own spans, so escapes and number
//! spellings are judged exactly as strict JSON judges them.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::doc::error::DocError;

/// How deep collections may nest: the limit `serde_json` has always applied to these documents.
const MAX_DEPTH: usize = 128;

/// A value and where it is written: `text[start..end]`.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// The members, and for a large object the index of each member by its key.
    Object(Vec<Entry>, Option<HashMap<String, usize>>),
    Array(Vec<Entry>),
    Scalar,
}

/// Objects with more members than this get an index: edits locate keys in them without a scan.
const INDEXED: usize = 16;

/// A member of an object (with its key) or an item of an array.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The member's key, decoded; `None` for an array item.
    pub key: Option<String>,
    /// Where the entry begins: its key's opening quote, or its value.
    pub start: usize,
    /// Where its key ends (after the closing quote); `start` for an array item.
    pub key_end: usize,
    pub value: Node,
    /// Where the comma after the entry is, if there is one.
    pub comma: Option<usize>,
}

impl Node {
    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.kind {
            Kind::Object(entries, _) | Kind::Array(entries) => Some(entries),
            Kind::Scalar => None,
        }
    }

    /// The index of the member `key`, in an object.
    pub fn member(&self, key: &str) -> Option<usize> {
        match &self.kind {
            Kind::Object(_, Some(index)) => index.get(key).copied(),
            Kind::Object(entries, None) => entries.iter().position(|entry| entry.key.as_deref() == Some(key)),
            _ => None,
        }
    }
}

/// Reads a document: its tree and its value.
pub(crate) fn parse(text: &str) -> Result<(Node, Value), DocError> {
    let mut reader = Reader { text, bytes: text.as_bytes(), at: 0, depth: 0 };
    reader.skip_trivia()?;
    if reader.at == reader.bytes.len() {
        return Err(DocError::malformed(Some(reader.line()), "the file holds no JSON value"));
    }
    let parsed = reader.value()?;
    reader.skip_trivia()?;
    if reader.at < reader.bytes.len() {
        return Err(reader.error("more text after the document's value; a JSON file holds one value"));
    }
    Ok(parsed)
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

impl Reader<'_> {
    fn line(&self) -> usize {
        line_of(self.text, self.at)
    }

    fn error(&self, message: impl Into<String>) -> DocError {
        DocError::malformed(Some(self.line()), message)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Skips whitespace and comments.
    fn skip_trivia(&mut self) -> Result<(), DocError> {
        while let Some(byte) = self.peek() {
            match byte {
                b' ' | b'\t' | b'\n' | b'\r' => self.at += 1,
                b'/' => self.comment()?,
                b'#' => {
                    return Err(self.error(
                        "`#` does not start a comment in JSON; write `// comment` or `/* comment */`",
                    ));
                }
                _ => break,
            }
        }
        Ok(())
    }

    fn comment(&mut self) -> Result<(), DocError> {
        match self.bytes.get(self.at + 1) {
            Some(b'/') => {
                self.at = memchr_newline(self.bytes, self.at);
                Ok(())
            }
            Some(b'*') => match self.text[self.at + 2..].find("*/") {
                Some(length) => {
                    self.at += 2 + length + 2;
                    Ok(())
                }
                None => Err(self.error("a comment opened with `/*` is never closed with `*/`")),
            },
            _ => Err(self.error("a single `/` is not a comment; write `// comment` or `/* comment */`")),
        }
    }

    fn value(&mut self) -> Result<(Node, Value), DocError> {
        let start = self.at;
        match self.peek() {
            Some(b'{') => self.collection(true),
            Some(b'[') => self.collection(false),
            Some(b'"') => {
                let string = self.string()?;
                Ok((Node { start, end: self.at, kind: Kind::Scalar }, Value::String(string)))
            }
            Some(b'-' | b'0'..=b'9') => {
                while matches!(self.peek(), Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
                    self.at += 1;
                }
                let spelled = &self.text[start..self.at];
                match serde_json::from_str::<Value>(spelled) {
                    Ok(number @ Value::Number(_)) => {
                        Ok((Node { start, end: self.at, kind: Kind::Scalar }, number))
                    }
                    _ => Err(DocError::malformed(
                        Some(line_of(self.text, start)),
                        format!("`{spelled}` is not a JSON number"),
                    )),
                }
            }
            Some(_) => {
                while matches!(self.peek(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'$')) {
                    self.at += 1;
                }
                let word = &self.text[start..self.at];
                let value = match word {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    "" => {
                        let found = self.text[start..].chars().next().unwrap_or(' ');
                        let found = if found.is_control() {
                            format!("the control character U+{:04X}", u32::from(found))
                        } else {
                            format!("`{found}`")
                        };
                        return Err(self.error(format!("expected a value, found {found}")));
                    }
                    word => {
                        self.at = start;
                        return Err(self.error(format!(
                            "`{word}` is not a JSON value; strings are written in double quotes"
                        )));
                    }
                };
                Ok((Node { start, end: self.at, kind: Kind::Scalar }, value))
            }
            None => Err(self.error("the document ends where a value was expected")),
        }
    }

    /// A string starting at its opening quote, decoded.
    fn string(&mut self) -> Result<String, DocError> {
        let start = self.at;
        self.at += 1;
        loop {
            match self.peek() {
                Some(b'"') => break,
                Some(b'\\') => self.at += 2,
                Some(b'\n') | None => {
                    self.at = start;
                    return Err(self.error("a string is not closed with `\"` on its line"));
                }
                Some(_) => self.at += 1,
            }
        }
        self.at += 1;
        let spelled = &self.text[start..self.at];
        let inner = &spelled[1..spelled.len() - 1];
        if !inner.bytes().any(|byte| byte == b'\\' || byte < 0x20) {
            // Nothing to decode: most keys and values.
            return Ok(inner.to_owned());
        }
        serde_json::from_str::<String>(spelled).map_err(|err| {
            DocError::malformed(
                Some(line_of(self.text, start)),
                format!("the string {spelled} is not valid JSON: {err}"),
            )
        })
    }

    fn collection(&mut self, object: bool) -> Result<(Node, Value), DocError> {
        let start = self.at;
        let (close, what) = if object { (b'}', "object") } else { (b']', "array") };
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("collections nest more than {MAX_DEPTH} deep")));
        }
        self.at += 1;
        let mut entries: Vec<Entry> = Vec::new();
        let mut map = Map::new();
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.peek() {
                Some(byte) if byte == close => break,
                Some(b',') => {
                    return Err(self.error(format!("a comma with no value before it in this {what}")));
                }
                None => {
                    return Err(DocError::malformed(
                        Some(line_of(self.text, start)),
                        format!("this {what} is never closed with `{}`", close as char),
                    ));
                }
                Some(_) => {}
            }
            let entry_start = self.at;
            let (key, key_end) = if object { self.key(&map)? } else { (None, entry_start) };
            let (value, meaning) = self.value()?;
            self.skip_trivia()?;
            let comma = (self.peek() == Some(b',')).then_some(self.at);
            match &key {
                Some(key) => {
                    map.insert(key.clone(), meaning);
                }
                None => items.push(meaning),
            }
            entries.push(Entry { key, start: entry_start, key_end, value, comma });
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(byte) if byte == close => break,
                None => {}
                Some(_) => {
                    return Err(self
                        .error(format!("expected `,` or `{}` after a value in this {what}", close as char)));
                }
            }
        }
        self.at += 1;
        self.depth -= 1;
        let (kind, value) = if object {
            let index = (entries.len() > INDEXED).then(|| {
                entries.iter().enumerate().filter_map(|(at, entry)| Some((entry.key.clone()?, at))).collect()
            });
            (Kind::Object(entries, index), Value::Object(map))
        } else {
            (Kind::Array(entries), Value::Array(items))
        };
        Ok((Node { start, end: self.at, kind }, value))
    }

    /// A member's key and its colon, up to the value.
    fn key(&mut self, map: &Map<String, Value>) -> Result<(Option<String>, usize), DocError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a key in double quotes"));
        }
        let start = self.at;
        let key = self.string()?;
        let key_end = self.at;
        if map.contains_key(&key) {
            return Err(DocError::malformed(
                Some(line_of(self.text, start)),
                format!("the key `{key}` appears twice in one object; keep one of them"),
            ));
        }
        self.skip_trivia()?;
        if self.peek() != Some(b':') {
            return Err(DocError::malformed(
                Some(line_of(self.text, start)),
                format!("expected `:` after the key `{key}`"),
            ));
        }
        self.at += 1;
        self.skip_trivia()?;
        Ok((Some(key), key_end))
    }
}

/// The 1-based line of byte `at`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())].split(|byte| *byte == b'\n').count()
}

/// Where the line holding `at` ends (its `\n`, or the end of the text).
fn memchr_newline(bytes: &[u8], at: usize) -> usize {
    bytes[at..].iter().position(|byte| *byte == b'\n').map_or(bytes.len(), |length| at + length)
}
