//! New TOML text for keys and values an edit writes.

use serde_json::Value;
use toml_edit::{Array, Datetime, InlineTable, Key};

use crate::doc::error::DocError;
use crate::doc::key::KeyPath;

/// A dotted key of `segments`, each bare where TOML allows and quoted otherwise.
pub(crate) fn key(segments: &[String]) -> String {
    segments.iter().map(|segment| Key::new(segment.as_str()).to_string()).collect::<Vec<_>>().join(".")
}

/// The TOML text of `value`. `like` is the value it replaces (or a sibling in its list): a
/// string replacing a date or time becomes one when it is written exactly as TOML writes that
/// date or time (`2024-01-02`, `1979-05-27T07:32:00Z`), so a date field stays a date.
pub(crate) fn value(
    value: &Value,
    like: Option<&toml_edit::Value>,
    key: &KeyPath,
) -> Result<String, DocError> {
    Ok(toml_value(value, like, key)?.to_string())
}

fn toml_value(
    value: &Value,
    like: Option<&toml_edit::Value>,
    key: &KeyPath,
) -> Result<toml_edit::Value, DocError> {
    Ok(match value {
        Value::Null => {
            return Err(DocError::Invalid {
                message: format!("{key}: TOML has no null; use `stet unset` to remove a key"),
            });
        }
        Value::Bool(flag) => (*flag).into(),
        Value::Number(number) => match (number.as_i64(), number.as_u64(), number.as_f64()) {
            (Some(integer), _, _) => integer.into(),
            (None, Some(_), _) => {
                return Err(DocError::Invalid {
                    message: format!(
                        "{key}: {number} is past the largest TOML integer, 9223372036854775807 (TOML \
                         integers are 64-bit signed); to keep its digits, set it as a string with --string"
                    ),
                });
            }
            (None, None, Some(float)) => float.into(),
            (None, None, None) => {
                return Err(DocError::Invalid {
                    message: format!("{key}: {number} does not fit a TOML number"),
                });
            }
        },
        Value::String(text) => match like {
            Some(toml_edit::Value::Datetime(_)) => match text.parse::<Datetime>() {
                Ok(datetime) if datetime.to_string() == *text => datetime.into(),
                _ => text.as_str().into(),
            },
            _ => text.as_str().into(),
        },
        Value::Array(items) => {
            let like = match like {
                Some(toml_edit::Value::Array(existing)) => existing.get(0),
                _ => None,
            };
            items.iter().map(|item| toml_value(item, like, key)).collect::<Result<Array, _>>()?.into()
        }
        Value::Object(map) => {
            let mut table = InlineTable::new();
            for (name, item) in map {
                let like = match like {
                    Some(toml_edit::Value::InlineTable(existing)) => existing.get(name),
                    _ => None,
                };
                table.insert(name, toml_value(item, like, key)?);
            }
            table.into()
        }
    })
}
