//! Writing values as YAML text that reads back as the same values, by any YAML reader.

use std::fmt::Write as _;

use serde_json::Value;

/// How a string should be quoted when it can be written plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quote {
    /// Plain when that reads back the same, else double quotes.
    Plain,
    /// Single quotes when possible (no line breaks or control characters), else double quotes.
    Single,
    /// Always double quotes.
    Double,
}

/// A value on one line: scalars as scalars, lists and mappings in flow style (`[a, b]`, `{x: 1}`).
pub(crate) fn inline(value: &Value, quote: Quote) -> String {
    let mut out = String::new();
    write_inline(&mut out, value, quote);
    out
}

fn write_inline(out: &mut String, value: &Value, quote: Quote) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::String(text) => out.push_str(&string(text, quote)),
        Value::Array(items) => {
            out.push('[');
            for (at, item) in items.iter().enumerate() {
                if at > 0 {
                    out.push_str(", ");
                }
                write_inline(out, item, Quote::Plain);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (at, (key, item)) in map.iter().enumerate() {
                if at > 0 {
                    out.push_str(", ");
                }
                out.push_str(&string(key, Quote::Plain));
                out.push_str(": ");
                write_inline(out, item, Quote::Plain);
            }
            out.push('}');
        }
    }
}

/// A mapping or list in block style: each line starts with `newline` and `indent`; nested
/// collections go `step` further. Empty collections and scalars are written inline.
pub(crate) fn block(value: &Value, newline: &str, indent: usize, step: usize) -> String {
    let mut out = String::new();
    write_block(&mut out, value, newline, indent, step);
    out
}

fn write_block(out: &mut String, value: &Value, newline: &str, indent: usize, step: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                let _ = write!(out, "{newline}{pad}{}:", string(key, Quote::Plain));
                write_entry_value(out, item, newline, indent + step, step);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                let _ = write!(out, "{newline}{pad}- {}", inline(item, Quote::Plain));
            }
        }
        scalar => {
            out.push(' ');
            write_inline(out, scalar, Quote::Plain);
        }
    }
}

fn write_entry_value(out: &mut String, value: &Value, newline: &str, indent: usize, step: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => write_block(out, value, newline, indent, step),
        Value::Array(items) if !items.is_empty() => write_block(out, value, newline, indent, step),
        scalar => {
            out.push(' ');
            write_inline(out, scalar, Quote::Plain);
        }
    }
}

/// A string as a YAML scalar that reads back as this exact string.
pub(crate) fn string(text: &str, quote: Quote) -> String {
    match quote {
        Quote::Plain if plain_is_safe(text) => text.to_owned(),
        Quote::Single if !text.chars().any(char::is_control) => format!("'{}'", text.replace('\'', "''")),
        _ => double_quoted(text),
    }
}

/// JSON string syntax is valid YAML double-quoted syntax, with the same escapes.
fn double_quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string always serializes")
}

/// Whether `text` written plain reads back as this string under YAML 1.2 and 1.1 alike (so
/// `yes`, `on`, `0x1F` and `2026-01-01`, which 1.1 readers take for other things, are quoted), and
/// in flow context too (no `,[]{}`).
pub(crate) fn plain_is_safe(text: &str) -> bool {
    const SPECIAL: [&str; 16] = [
        "y", "yes", "n", "no", "on", "off", "true", "false", "null", "~", ".inf", "-.inf", "+.inf", ".nan",
        "<<", "=",
    ];
    let Some(first) = text.chars().next() else { return false };
    if text.trim() != text || text.chars().any(|c| c.is_control() || "#,[]{}&*!|>'\"%@`".contains(c)) {
        return false;
    }
    if matches!(first, '?' | ':') || (first == '-' && !text[1..].starts_with(char::is_alphabetic)) {
        return false;
    }
    if text.contains(": ") || text.ends_with(':') || text.contains(" #") {
        return false;
    }
    // Numbers of any base, with `_` or `:` (YAML 1.1), dates and timestamps: made only of these.
    let numeric_start = first.is_ascii_digit()
        || (matches!(first, '+' | '-' | '.')
            && text[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.'));
    if numeric_start && text.chars().all(|c| c.is_ascii_hexdigit() || "xXoO_.:+-TtZz ".contains(c)) {
        return false;
    }
    !SPECIAL.iter().any(|special| special.eq_ignore_ascii_case(text))
}

#[cfg(test)]
mod tests {
    use super::{Quote, plain_is_safe, string};

    #[test]
    fn strings_yaml_would_misread_are_quoted() {
        for text in [
            "yes",
            "No",
            "on",
            "1e3",
            "0x1F",
            "2026-01-01",
            "~",
            "a: b",
            "#x",
            "- d",
            " lead",
            "trail ",
            "two\nlines",
            "",
            "null",
            "3",
            "-1",
            ".5",
            "[a]",
            "{x}",
            "a, b",
            "*ref",
            "&anchor",
            "!tag",
            "|",
            ">",
            "'",
            "\"",
            "@x",
            "`x",
            "%x",
            "?",
            ":",
            "-",
            "key:",
            "a #b",
            "<<",
            "1:20",
            "2026-02-03T10:00:00Z",
            "1_000",
            "0o17",
            "+.5",
        ] {
            assert!(!plain_is_safe(text), "{text:?} must be quoted");
        }
        for text in
            ["done", "in-progress", "Login flow", "S-0035", "auth/ui", "a:b", "-x", "é", "005-audit", "3rd"]
        {
            assert!(plain_is_safe(text), "{text:?} reads back plain");
        }
    }

    #[test]
    fn quoting_styles_escape_what_they_must() {
        assert_eq!(string("it's", Quote::Single), "'it''s'");
        assert_eq!(string("two\nlines", Quote::Single), "\"two\\nlines\"");
        assert_eq!(string("yes", Quote::Plain), "\"yes\"");
        assert_eq!(string("done", Quote::Double), "\"done\"");
    }
}
