//! How a JSON document is laid out, read from its own text, and new values written to match.

use serde_json::Value;

use super::syntax::{Entry, Kind, Node};

/// The document-wide style new text is written in.
pub(crate) struct Layout<'a> {
    pub text: &'a str,
    /// `\r\n` when the document's first line ends so, else `\n`.
    pub newline: &'static str,
    /// One level of indentation (from the document; two spaces if it shows none).
    pub unit: String,
    /// Between a key and its value, where an object shows none of its own (`": "` if none does).
    pub colon: String,
    /// After the commas of a one-line collection that shows none of its own (`" "` if none does).
    pub separator: String,
    /// Whether the document spans lines: then an empty `{}` opens across lines for a new entry.
    pub multiline_document: bool,
}

impl<'a> Layout<'a> {
    pub fn new(text: &'a str, root: Option<&Node>) -> Self {
        let newline = match text.find('\n') {
            Some(at) if at > 0 && text.as_bytes()[at - 1] == b'\r' => "\r\n",
            _ => "\n",
        };
        let mut layout = Layout {
            text,
            newline,
            unit: "  ".into(),
            colon: ": ".into(),
            separator: " ".into(),
            multiline_document: text.trim_end().contains('\n'),
        };
        if let Some(root) = root {
            if let Some(unit) = layout.unit_of(root) {
                layout.unit = unit;
            }
            if let Some(colon) = first_object(root).and_then(|object| layout.colon_of(object)) {
                layout.colon = colon;
            }
            match layout.first_separator(root) {
                Some(separator) => layout.separator = separator,
                // A document written without spaces after its colons is compact throughout.
                None if layout.colon == ":" => layout.separator = String::new(),
                None => {}
            }
        }
        layout
    }

    /// The layout of `text`, an edited version of the document `self` was read from, in the
    /// original's style.
    pub fn of_edited<'b>(&self, text: &'b str) -> Layout<'b> {
        Layout {
            text,
            newline: self.newline,
            unit: self.unit.clone(),
            colon: self.colon.clone(),
            separator: self.separator.clone(),
            multiline_document: self.multiline_document,
        }
    }

    /// What follows the commas of the first one-line collection of two or more entries.
    fn first_separator(&self, node: &Node) -> Option<String> {
        let entries = node.entries()?;
        if entries.len() >= 2 && !self.multiline(node) {
            return self.own_separator(entries);
        }
        entries.iter().find_map(|entry| self.first_separator(&entry.value))
    }

    /// The indentation unit: how far the first entry on a line of its own is indented past the
    /// line of its collection's opening bracket.
    fn unit_of(&self, node: &Node) -> Option<String> {
        let entries = node.entries()?;
        let first = entries.first()?;
        if let Some(own) = self.own_line_indent(first.start) {
            let outer = self.line_indent(node.start);
            if let Some(unit) = own.strip_prefix(outer).filter(|unit| !unit.is_empty()) {
                return Some(unit.to_owned());
            }
        }
        entries.iter().find_map(|entry| self.unit_of(&entry.value))
    }

    /// What stands between the keys and values of `object`: copied from its first member.
    pub fn colon_of(&self, object: &Node) -> Option<String> {
        let Kind::Object(entries, _) = &object.kind else { return None };
        let first = entries.first()?;
        let between = &self.text[first.key_end..first.value.start];
        between.bytes().all(|byte| matches!(byte, b' ' | b'\t' | b':')).then(|| between.to_owned())
    }

    /// What follows the commas of a one-line collection: copied from its first comma.
    pub fn separator_of(&self, entries: &[Entry]) -> String {
        self.own_separator(entries).unwrap_or_else(|| self.separator.clone())
    }

    fn own_separator(&self, entries: &[Entry]) -> Option<String> {
        let [first, second, ..] = entries else { return None };
        let between = &self.text[first.comma? + 1..second.start];
        between.bytes().all(|byte| matches!(byte, b' ' | b'\t')).then(|| between.to_owned())
    }

    /// Whether the node spans lines.
    pub fn multiline(&self, node: &Node) -> bool {
        self.text[node.start..node.end].contains('\n')
    }

    /// Where the line holding `at` starts.
    pub fn line_start(&self, at: usize) -> usize {
        self.text[..at].rfind('\n').map_or(0, |newline| newline + 1)
    }

    /// The whitespace that begins the line holding `at`.
    pub fn line_indent(&self, at: usize) -> &'a str {
        let line = &self.text[self.line_start(at)..];
        &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
    }

    /// The indentation before `at`, if nothing but indentation stands before it on its line.
    pub fn own_line_indent(&self, at: usize) -> Option<&'a str> {
        let before = &self.text[self.line_start(at)..at];
        before.bytes().all(|byte| matches!(byte, b' ' | b'\t')).then_some(before)
    }

    /// Writes `value`: on one line, or (`indent` given) across lines, its nested lines indented
    /// from `indent`. Arrays of scalars stay on one line either way.
    pub fn render(&self, value: &Value, indent: Option<&str>, colon: &str, separator: &str) -> String {
        let mut out = String::new();
        self.render_into(&mut out, value, indent, colon, separator);
        out
    }

    fn render_into(
        &self,
        out: &mut String,
        value: &Value,
        indent: Option<&str>,
        colon: &str,
        separator: &str,
    ) {
        let one_line_array = matches!(value, Value::Array(items) if items.iter().all(|item| !item.is_object() && !item.is_array()));
        match (value, indent) {
            (Value::Object(map), Some(indent)) if !map.is_empty() => {
                let inner = format!("{indent}{}", self.unit);
                out.push('{');
                for (at, (key, item)) in map.iter().enumerate() {
                    out.push_str(if at == 0 { "" } else { "," });
                    out.push_str(self.newline);
                    out.push_str(&inner);
                    out.push_str(&scalar(&Value::String(key.clone())));
                    out.push_str(colon);
                    self.render_into(out, item, Some(&inner), colon, separator);
                }
                out.push_str(self.newline);
                out.push_str(indent);
                out.push('}');
            }
            (Value::Array(items), Some(indent)) if !items.is_empty() && !one_line_array => {
                let inner = format!("{indent}{}", self.unit);
                out.push('[');
                for (at, item) in items.iter().enumerate() {
                    out.push_str(if at == 0 { "" } else { "," });
                    out.push_str(self.newline);
                    out.push_str(&inner);
                    self.render_into(out, item, Some(&inner), colon, separator);
                }
                out.push_str(self.newline);
                out.push_str(indent);
                out.push(']');
            }
            (Value::Object(map), _) => {
                out.push('{');
                for (at, (key, item)) in map.iter().enumerate() {
                    if at > 0 {
                        out.push(',');
                        out.push_str(separator);
                    }
                    out.push_str(&scalar(&Value::String(key.clone())));
                    out.push_str(colon);
                    self.render_into(out, item, None, colon, separator);
                }
                out.push('}');
            }
            (Value::Array(items), _) => {
                out.push('[');
                for (at, item) in items.iter().enumerate() {
                    if at > 0 {
                        out.push(',');
                        out.push_str(separator);
                    }
                    self.render_into(out, item, None, colon, separator);
                }
                out.push(']');
            }
            (scalar_value, _) => out.push_str(&scalar(scalar_value)),
        }
    }
}

/// A string, number, boolean or null as JSON: numbers keep their spelling, strings escape only
/// what JSON requires.
fn scalar(value: &Value) -> String {
    serde_json::to_string(value).expect("a JSON value always serializes to memory")
}

fn first_object(node: &Node) -> Option<&Node> {
    match &node.kind {
        Kind::Object(entries, _) if !entries.is_empty() => Some(node),
        Kind::Object(entries, _) | Kind::Array(entries) => {
            entries.iter().find_map(|entry| first_object(&entry.value))
        }
        Kind::Scalar => None,
    }
}
