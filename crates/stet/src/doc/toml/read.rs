//! Reading TOML: the document with the spans of its parts, and its value as JSON.
//!
//! stet reads TOML 1.0. `toml_edit` also reads TOML 1.1, whose inline tables may span lines and
//! end in a comma, whose strings know `\e` and `\xHH` and whose times may omit seconds; TOML 1.0
//! readers (Python's `tomllib`, most editors' and tools' parsers today) reject those, so a file
//! that holds one is refused with the construct named rather than read one way here and
//! another way by the file's other readers.

use serde_json::{Map, Number, Value};
use toml_edit::{Document, InlineTable, Item, TableLike};

use crate::doc::error::DocError;

/// A parsed TOML document: every part knows its span in the text.
pub(crate) type Spanned<'a> = Document<&'a str>;

/// Parses a TOML 1.0 document.
pub(crate) fn parse(text: &str) -> Result<Spanned<'_>, DocError> {
    let document = Document::parse(text).map_err(|err| {
        let line = err.span().map(|span| line_of(text, span.start));
        DocError::malformed(line, err.message().trim_end().to_owned())
    })?;
    check_table(text, document.as_table())?;
    Ok(document)
}

/// The document's value as JSON (dates and times become their TOML text; `inf` and `nan` too).
pub(crate) fn to_value(document: &Spanned<'_>) -> Value {
    table_value(document.raw(), document.as_table())
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The value of a table of the document parsed from `text`.
pub(crate) fn table_value(text: &str, table: &dyn TableLike) -> Value {
    Value::Object(
        table.iter().map(|(key, item)| (key.to_owned(), item_value(text, item))).collect::<Map<_, _>>(),
    )
}

fn item_value(text: &str, item: &Item) -> Value {
    match item {
        Item::None => Value::Null,
        Item::Value(value) => value_value(text, value),
        Item::Table(table) => table_value(text, table),
        Item::ArrayOfTables(tables) => {
            Value::Array(tables.iter().map(|table| table_value(text, table)).collect())
        }
    }
}

fn value_value(text: &str, value: &toml_edit::Value) -> Value {
    match value {
        toml_edit::Value::String(string) => {
            Value::String(normalize_line_breaks(text.get(string.span().unwrap_or_default()), string.value()))
        }
        toml_edit::Value::Integer(number) => Value::from(*number.value()),
        toml_edit::Value::Float(number) => {
            let number = *number.value();
            Number::from_f64(number).map_or_else(|| Value::String(non_finite(number).into()), Value::Number)
        }
        toml_edit::Value::Boolean(flag) => Value::Bool(*flag.value()),
        toml_edit::Value::Datetime(datetime) => Value::String(datetime.value().to_string()),
        toml_edit::Value::Array(items) => {
            Value::Array(items.iter().map(|item| value_value(text, item)).collect())
        }
        toml_edit::Value::InlineTable(table) => table_value(text, table),
    }
}

/// A multi-line string's line breaks as LF: TOML lets a reader normalise them, and the readers
/// a file is shared with do (Python's tomllib; a file checked out with CRLF on Windows means the
/// same as on Linux). An escaped `\r` is the writer's own choice and is kept.
fn normalize_line_breaks(raw: Option<&str>, value: &str) -> String {
    let multi_line = raw.is_some_and(|raw| raw.starts_with("\"\"\"") || raw.starts_with("'''"));
    if multi_line && value.contains("\r\n") && !raw.is_some_and(|raw| raw.contains("\\r")) {
        value.replace("\r\n", "\n")
    } else {
        value.to_owned()
    }
}

/// TOML's spelling of a float JSON cannot hold (the value's, not the text's: a comment after it
/// is not part of it).
fn non_finite(number: f64) -> &'static str {
    if number.is_nan() {
        "nan"
    } else if number > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

fn check_table(text: &str, table: &dyn TableLike) -> Result<(), DocError> {
    for (_, item) in table.iter() {
        match item {
            Item::Value(value) => check_value(text, value)?,
            Item::Table(table) => check_table(text, table)?,
            Item::ArrayOfTables(tables) => {
                for table in tables {
                    check_table(text, table)?;
                }
            }
            Item::None => {}
        }
    }
    Ok(())
}

fn check_value(text: &str, value: &toml_edit::Value) -> Result<(), DocError> {
    let span = value.span().unwrap_or_default();
    let raw = text.get(span.clone()).unwrap_or_default();
    let refuse = |what: &str| {
        Err(DocError::malformed(
            Some(line_of(text, span.start)),
            format!(
                "{what} is TOML 1.1, which TOML 1.0 readers (such as Python's tomllib) reject; stet reads \
                 TOML 1.0: {}",
                match what {
                    "a trailing comma in an inline table" => "remove the comma",
                    "a line break inside an inline table" => "write the inline table on one line",
                    "a time without seconds" => "write the seconds (`07:32:00`)",
                    _ => "write the character as `\\u00HH`",
                }
            ),
        ))
    };
    match value {
        toml_edit::Value::InlineTable(table) => {
            if table.trailing_comma() {
                return refuse("a trailing comma in an inline table");
            }
            if breaks_outside_values(raw, span.start, table) {
                return refuse("a line break inside an inline table");
            }
            for (_, member) in table {
                check_value(text, member)?;
            }
        }
        toml_edit::Value::Array(items) => {
            for item in items {
                check_value(text, item)?;
            }
        }
        toml_edit::Value::String(_) if raw.starts_with('"') && has_1_1_escape(raw) => {
            return refuse("the string escape `\\e` or `\\xHH`");
        }
        toml_edit::Value::Datetime(datetime) => {
            let time = datetime.value().time;
            if time.is_some() && !has_seconds(raw) {
                return refuse("a time without seconds");
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether the inline table's text has a line break that is not inside one of its values.
fn breaks_outside_values(raw: &str, start: usize, table: &InlineTable) -> bool {
    let mut spans: Vec<_> = table.get_values().iter().filter_map(|(_, value)| value.span()).collect();
    spans.sort_by_key(|span| span.start);
    let mut at = start;
    for span in spans.iter().chain(std::iter::once(&(start + raw.len()..start + raw.len()))) {
        if raw.get(at - start..span.start.saturating_sub(start)).is_some_and(|gap| gap.contains('\n')) {
            return true;
        }
        at = at.max(span.end);
    }
    false
}

fn has_1_1_escape(raw: &str) -> bool {
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some('e' | 'x') = chars.next()
        {
            return true;
        }
    }
    false
}

/// Whether a date-time's text has seconds: its time part is `HH:MM:SS`.
fn has_seconds(raw: &str) -> bool {
    let time = raw.find(['T', 't', ' ']).map_or(raw, |at| &raw[at + 1..]);
    time.len() >= 8 && time.as_bytes()[5] == b':'
}
