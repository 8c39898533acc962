//! What a YAML tree means, as JSON values, read with the YAML 1.2 core schema.

use std::collections::HashMap;

use saphyr_parser::ScalarStyle;
use serde_json::{Map, Number, Value};

use super::tree::{Kind, Node, Tree};
use crate::doc::error::DocError;

/// How many values aliases may add in all: an "alias bomb" (aliases of aliases of aliases...)
/// would otherwise expand a small file into billions of values.
const ALIAS_BUDGET: usize = 100_000;

/// The value of a document (an empty one reads as an empty mapping).
pub(crate) fn to_value(tree: &Tree) -> Result<Value, DocError> {
    let mut reader = Reader { anchors: HashMap::new(), budget: ALIAS_BUDGET };
    match &tree.root {
        None => Ok(Value::Object(Map::new())),
        Some(node) => reader.value(node),
    }
}

struct Reader {
    anchors: HashMap<usize, Value>,
    budget: usize,
}

impl Reader {
    fn value(&mut self, node: &Node) -> Result<Value, DocError> {
        let value = match &node.kind {
            Kind::Scalar { text, style, tag } => {
                let tag = tag.as_ref().filter(|tag| tag.is_yaml_core_schema()).map(|tag| tag.suffix.as_str());
                scalar(text, *style, tag)
            }
            Kind::Sequence { items, .. } => {
                Value::Array(items.iter().map(|item| self.value(item)).collect::<Result<_, _>>()?)
            }
            Kind::Mapping { entries, .. } => {
                let mut map = Map::new();
                for (key, value) in entries {
                    // An anchored key (`&a k: v`) is a node an alias may repeat (`*a` is `k`).
                    if key.anchor != 0 {
                        self.value(key)?;
                    }
                    let key = match &key.kind {
                        Kind::Scalar { text, .. } => text.clone(),
                        _ => unreachable!("the tree refuses keys that are not scalars"),
                    };
                    map.insert(key, self.value(value)?);
                }
                Value::Object(map)
            }
            Kind::Alias(id) => {
                let value = self.anchors.get(id).cloned().ok_or_else(|| DocError::Malformed {
                    line: Some(node.line),
                    message: "an alias refers to an anchor that is not defined before it".into(),
                })?;
                let size = count(&value);
                if size > self.budget {
                    return Err(DocError::Malformed {
                        line: Some(node.line),
                        message: format!(
                            "aliases expand to more than {ALIAS_BUDGET} values (an alias bomb?); refused"
                        ),
                    });
                }
                self.budget -= size;
                value
            }
        };
        if node.anchor != 0 {
            self.anchors.insert(node.anchor, value.clone());
        }
        Ok(value)
    }
}

fn count(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(count).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(count).sum::<usize>(),
        _ => 1,
    }
}

/// A scalar read with the core schema: only plain scalars (or explicit core tags) are anything but
/// strings.
pub(crate) fn scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    match tag {
        Some("str") => return Value::String(text.to_owned()),
        Some("null") => return Value::Null,
        Some("bool" | "int" | "float") => {}
        _ if style != ScalarStyle::Plain => return Value::String(text.to_owned()),
        _ => {}
    }
    plain(text).unwrap_or_else(|| Value::String(text.to_owned()))
}

/// The non-string meaning of a plain scalar under the YAML 1.2 core schema, if it has one.
fn plain(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(Value::String(".inf".into())),
        "-.inf" | "-.Inf" | "-.INF" => return Some(Value::String("-.inf".into())),
        ".nan" | ".NaN" | ".NAN" => return Some(Value::String(".nan".into())),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok().map(Value::from);
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return u64::from_str_radix(octal, 8).ok().map(Value::from);
    }
    if is_core_int(text) {
        return Some(Value::Number(json_integer(text)));
    }
    if is_core_float(text) {
        // A spelling JSON shares (`1e3`, `1.50`) is kept as written; others (`.5`, `+1.`) are
        // written as JSON writes the number.
        return text
            .parse::<Number>()
            .ok()
            .or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64))
            .map(Value::Number);
    }
    None
}

/// A core schema integer (`[-+]?[0-9]+`, decimal even with leading zeros: `0755` is 755) as a
/// JSON number, of any size.
fn json_integer(text: &str) -> Number {
    let (sign, digits) = match text.as_bytes()[0] {
        b'-' => ("-", &text[1..]),
        b'+' => ("", &text[1..]),
        _ => ("", text),
    };
    let digits = digits.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    format!("{sign}{digits}")
        .parse()
        .expect("an optional minus and digits without leading zeros are a JSON number")
}

fn is_core_int(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_core_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let mantissa_ok = match fraction {
        None => !whole.is_empty() && digits(whole),
        Some(fraction) => digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty()),
        // ".5" needs digits after the point; "5." is allowed
    } && !(whole.is_empty() && fraction.is_some_and(str::is_empty));
    let exponent_ok = exponent.is_none_or(|exponent| {
        let exponent = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !exponent.is_empty() && digits(exponent)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use saphyr_parser::ScalarStyle::{DoubleQuoted, Plain};
    use serde_json::json;

    use super::scalar;

    #[test]
    fn plain_scalars_follow_the_core_schema_and_quoted_ones_are_strings() {
        assert_eq!(scalar("3", Plain, None), json!(3));
        assert_eq!(scalar("-3", Plain, None), json!(-3));
        assert_eq!(scalar("1.5", Plain, None), json!(1.5));
        assert_eq!(scalar("1e3", Plain, None).to_string(), "1e+3");
        assert_eq!(scalar("0755", Plain, None), json!(755));
        assert_eq!(scalar(".5", Plain, None), json!(0.5));
        assert_eq!(scalar("0x1F", Plain, None), json!(31));
        assert_eq!(scalar("true", Plain, None), json!(true));
        assert_eq!(scalar("~", Plain, None), json!(null));
        assert_eq!(scalar("yes", Plain, None), json!("yes"), "YAML 1.2: yes is a string");
        assert_eq!(scalar("2026-01-01", Plain, None), json!("2026-01-01"));
        assert_eq!(scalar("3", DoubleQuoted, None), json!("3"));
        assert_eq!(scalar("3", Plain, Some("str")), json!("3"));
        assert_eq!(scalar(".", Plain, None), json!("."));
        assert_eq!(scalar("1.2.3", Plain, None), json!("1.2.3"));
    }
}
