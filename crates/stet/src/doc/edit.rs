//! Edits, and what they mean for a document's value.
//!
//! Every format applies an edit to its text in its own way; this is the meaning they must all
//! agree with. The YAML editor checks its text against it after every edit.

use serde_json::{Map, Value};

use super::error::DocError;
use super::key::{KeyPath, index};

/// One change to a document.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Edit {
    /// Set the value at a key path, creating missing mappings on the way.
    Set {
        /// Where.
        key: KeyPath,
        /// The new value.
        value: Value,
    },
    /// Remove a key (nothing happens if it is absent).
    Unset {
        /// Which.
        key: KeyPath,
    },
    /// Append to the list at a key path, creating the list if absent.
    Push {
        /// Where.
        key: KeyPath,
        /// The item.
        value: Value,
    },
    /// Apply an RFC 7396 merge patch (an object) to the document.
    Merge {
        /// The patch: `null` members remove keys, objects merge, anything else replaces.
        patch: Value,
    },
}

impl Edit {
    /// A `Set` of a parsed key path.
    pub fn set(key: &str, value: Value) -> Result<Self, DocError> {
        Ok(Edit::Set { key: KeyPath::parse(key)?, value })
    }

    /// An `Unset` of a parsed key path.
    pub fn unset(key: &str) -> Result<Self, DocError> {
        Ok(Edit::Unset { key: KeyPath::parse(key)? })
    }

    /// A `Push` to a parsed key path.
    pub fn push(key: &str, value: Value) -> Result<Self, DocError> {
        Ok(Edit::Push { key: KeyPath::parse(key)?, value })
    }
}

/// The value at `key`, if there is one.
pub fn lookup<'a>(value: &'a Value, key: &KeyPath) -> Option<&'a Value> {
    lookup_segments(value, key.segments())
}

/// The value at the key path of `segments`, if there is one.
pub(crate) fn lookup_segments<'a>(value: &'a Value, segments: &[String]) -> Option<&'a Value> {
    segments.iter().try_fold(value, |value, segment| match value {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => index(segment).and_then(|at| items.get(at)),
        _ => None,
    })
}

/// The value at the key path of `segments`, to change, if there is one.
pub(crate) fn lookup_mut<'a>(value: &'a mut Value, segments: &[String]) -> Option<&'a mut Value> {
    segments.iter().try_fold(value, |value, segment| match value {
        Value::Object(map) => map.get_mut(segment),
        Value::Array(items) => index(segment).and_then(|at| items.get_mut(at)),
        _ => None,
    })
}

/// The edits a merge patch makes to `target`, as sets and unsets.
pub(crate) fn expand_merge(target: &Value, patch: &Value) -> Result<Vec<Edit>, DocError> {
    let Value::Object(patch) = patch else {
        return Err(DocError::Invalid { message: "a merge patch must be an object (a mapping)".into() });
    };
    let mut edits = Vec::new();
    expand_into(target, patch, &KeyPath::from_segments(Vec::new()), &mut edits);
    Ok(edits)
}

fn expand_into(target: &Value, patch: &Map<String, Value>, at: &KeyPath, edits: &mut Vec<Edit>) {
    for (name, change) in patch {
        let key = at.child(name);
        let current = target.as_object().and_then(|map| map.get(name));
        match (change, current) {
            (Value::Null, Some(_)) => edits.push(Edit::Unset { key }),
            (Value::Null, None) => {}
            (Value::Object(inner), Some(current @ Value::Object(_))) => {
                expand_into(current, inner, &key, edits);
            }
            (Value::Object(inner), _) => edits.push(Edit::Set { key, value: without_nulls(inner) }),
            (value, _) => edits.push(Edit::Set { key, value: value.clone() }),
        }
    }
}

/// A patch object applied to nothing: its `null` members vanish.
fn without_nulls(patch: &Map<String, Value>) -> Value {
    Value::Object(
        patch
            .iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(name, value)| match value {
                Value::Object(inner) => (name.clone(), without_nulls(inner)),
                value => (name.clone(), value.clone()),
            })
            .collect(),
    )
}

/// The sets and unsets that turn `old` into `new`: changed keys of mappings are followed down,
/// anything else that differs is set whole.
pub(crate) fn diff(old: &Value, new: &Value) -> Vec<Edit> {
    let mut edits = Vec::new();
    diff_into(old, new, &KeyPath::from_segments(Vec::new()), &mut edits);
    edits
}

fn diff_into(old: &Value, new: &Value, at: &KeyPath, edits: &mut Vec<Edit>) {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            for name in old.keys().filter(|name| !new.contains_key(*name)) {
                edits.push(Edit::Unset { key: at.child(name) });
            }
            for (name, value) in new {
                match old.get(name) {
                    Some(previous) => diff_into(previous, value, &at.child(name), edits),
                    None => edits.push(Edit::Set { key: at.child(name), value: value.clone() }),
                }
            }
        }
        (old, new) if old != new => edits.push(Edit::Set { key: at.clone(), value: new.clone() }),
        _ => {}
    }
}

/// Applies a set, unset or push to a value.
pub(crate) fn apply(document: &mut Value, edit: &Edit) -> Result<(), DocError> {
    match edit {
        Edit::Set { key, value } => *slot(document, key, true)?.expect("created") = value.clone(),
        Edit::Unset { key } => {
            let (parent, last) = key.segments().split_at(key.segments().len() - 1);
            let parent = KeyPath::from_segments(parent.to_vec());
            match slot(document, &parent, false)? {
                Some(Value::Object(map)) => {
                    map.shift_remove(&last[0]);
                }
                Some(Value::Array(items)) => {
                    if let Some(at) = index(&last[0]).filter(|at| *at < items.len()) {
                        items.remove(at);
                    }
                }
                _ => {}
            }
        }
        Edit::Push { key, value } => {
            let list = slot(document, key, true)?.expect("created");
            match list {
                Value::Null => *list = Value::Array(vec![value.clone()]),
                Value::Array(items) => items.push(value.clone()),
                other => return Err(shape(key, other, "a list")),
            }
        }
        Edit::Merge { .. } => unreachable!("merges are expanded into sets and unsets first"),
    }
    Ok(())
}

/// The value at `key`; with `create`, missing keys (and nulls on the way) become mappings and the
/// last one null, else `None` when something is missing.
fn slot<'a>(document: &'a mut Value, key: &KeyPath, create: bool) -> Result<Option<&'a mut Value>, DocError> {
    let mut current = document;
    for (depth, segment) in key.segments().iter().enumerate() {
        if create && current.is_null() {
            *current = Value::Object(Map::new());
        }
        match current {
            Value::Object(map) => {
                if !create && !map.contains_key(segment) {
                    return Ok(None);
                }
                current = map.entry(segment.clone()).or_insert(Value::Null);
            }
            Value::Array(items) => {
                let length = items.len();
                let Some(at) = index(segment).filter(|at| *at < length) else {
                    if !create {
                        return Ok(None);
                    }
                    return Err(DocError::Shape {
                        key: key.to_string(),
                        message: format!("`{segment}` is not an index of that list ({length} items)"),
                    });
                };
                current = &mut items[at];
            }
            other => {
                if !create {
                    return Ok(None);
                }
                let through = KeyPath::from_segments(key.segments()[..depth].to_vec());
                return Err(shape(&through, other, "a mapping"));
            }
        }
    }
    Ok(Some(current))
}

fn shape(key: &KeyPath, found: &Value, wanted: &str) -> DocError {
    let found = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    };
    DocError::Shape { key: key.to_string(), message: format!("is {found}, not {wanted}") }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Edit, apply, expand_merge};

    fn applied(mut document: serde_json::Value, edits: &[Edit]) -> serde_json::Value {
        for edit in edits {
            apply(&mut document, edit).unwrap();
        }
        document
    }

    #[test]
    fn sets_create_mappings_unsets_keep_order_and_pushes_create_lists() {
        let document = json!({"a": 1, "b": 2, "c": 3});
        let edits = [
            Edit::set("x.y", json!(true)).unwrap(),
            Edit::unset("b").unwrap(),
            Edit::push("tags", json!("t")).unwrap(),
            Edit::set("a", json!(5)).unwrap(),
        ];
        let result = applied(document, &edits);
        assert_eq!(serde_json::to_string(&result).unwrap(), r#"{"a":5,"c":3,"x":{"y":true},"tags":["t"]}"#);
    }

    #[test]
    fn a_path_through_a_string_is_refused_with_the_key_named() {
        let mut document = json!({"status": "done"});
        let err = apply(&mut document, &Edit::set("status.reason", json!(1)).unwrap()).unwrap_err();
        assert_eq!(err.to_string(), "status: is a string, not a mapping");
    }

    #[test]
    fn a_merge_patch_becomes_sets_and_unsets() {
        let target = json!({"a": {"b": 1, "c": 2}, "d": 3});
        let patch = json!({"a": {"b": null, "e": 4}, "d": null, "f": {"g": null, "h": 1}});
        let result = applied(target.clone(), &expand_merge(&target, &patch).unwrap());
        assert_eq!(result, json!({"a": {"c": 2, "e": 4}, "f": {"h": 1}}));
    }
}
