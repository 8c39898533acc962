//! A transaction's plan: the contract's `{"ops": [...]}`, read whole and checked before anything
//! is locked.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::TxError;
use crate::log::IdRule;
use crate::version::Version;

/// The changes a transaction makes, in order: all of them or none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The operations.
    pub ops: Vec<Op>,
}

/// One operation of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// What it does.
    pub kind: OpKind,
    /// The version the op's file must have when the transaction starts (`ECONFLICT` otherwise,
    /// and nothing at all is done).
    pub if_version: Option<Version>,
}

/// What an operation does.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OpKind {
    /// Replace (or create) a file with this content.
    Write {
        /// The file.
        path: PathBuf,
        /// Its new content.
        content: Vec<u8>,
    },
    /// Replace (or create) a file with another file's content (as the transaction has it so far).
    Copy {
        /// The file copied.
        from: PathBuf,
        /// The file written.
        path: PathBuf,
    },
    /// Remove a file (a missing one is left missing).
    Delete {
        /// The file.
        path: PathBuf,
    },
    /// Set keys of a document.
    Set {
        /// The document.
        path: PathBuf,
        /// Keys (dotted paths or JSON Pointers) and their values.
        values: Vec<(String, Value)>,
    },
    /// Remove keys of a document.
    Unset {
        /// The document.
        path: PathBuf,
        /// The keys.
        keys: Vec<String>,
    },
    /// Append values to lists of a document.
    Push {
        /// The document.
        path: PathBuf,
        /// Keys and the values appended to their lists.
        values: Vec<(String, Value)>,
    },
    /// Apply an RFC 7396 merge patch to a document.
    Merge {
        /// The document.
        path: PathBuf,
        /// The patch.
        patch: Value,
    },
    /// Append events to an NDJSON log, skipping those whose id it holds.
    Append {
        /// The log.
        path: PathBuf,
        /// The events.
        events: Vec<Value>,
        /// How ids are found (`id` by default).
        ids: Option<IdRule>,
    },
    /// Create the next numbered entry of a directory.
    New {
        /// The directory of entries.
        dir: PathBuf,
        /// The entry's slug.
        slug: String,
        /// A template file or directory.
        template: Option<PathBuf>,
        /// The name pattern (`{seq:03}-{slug}` by default).
        pattern: Option<String>,
        /// Keys set in the entry's main document.
        set: Vec<(String, Value)>,
    },
}

impl OpKind {
    /// The op's name in a plan.
    pub fn name(&self) -> &'static str {
        match self {
            OpKind::Write { .. } => "write",
            OpKind::Copy { .. } => "copy",
            OpKind::Delete { .. } => "delete",
            OpKind::Set { .. } => "set",
            OpKind::Unset { .. } => "unset",
            OpKind::Push { .. } => "push",
            OpKind::Merge { .. } => "merge",
            OpKind::Append { .. } => "append",
            OpKind::New { .. } => "new",
        }
    }

    /// The file (for `new`, the directory) the op changes.
    pub fn path(&self) -> &std::path::Path {
        match self {
            OpKind::Write { path, .. }
            | OpKind::Copy { path, .. }
            | OpKind::Delete { path }
            | OpKind::Set { path, .. }
            | OpKind::Unset { path, .. }
            | OpKind::Push { path, .. }
            | OpKind::Merge { path, .. }
            | OpKind::Append { path, .. } => path,
            OpKind::New { dir, .. } => dir,
        }
    }
}

impl Plan {
    /// Reads a plan from its JSON text.
    pub fn from_json(text: &str) -> Result<Plan, TxError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|err| TxError::Plan { op: None, message: format!("the plan is not JSON: {err}") })?;
        Plan::from_value(&value)
    }

    /// Reads a plan from its JSON value: `{"ops": [...]}`, or the array of ops alone.
    pub fn from_value(value: &Value) -> Result<Plan, TxError> {
        let ops = match value {
            Value::Array(ops) => ops,
            Value::Object(plan) => {
                if let Some(extra) = plan.keys().find(|key| *key != "ops") {
                    return Err(plan_error(None, format!("a plan has only \"ops\", not {extra:?}")));
                }
                match plan.get("ops") {
                    Some(Value::Array(ops)) => ops,
                    Some(_) => return Err(plan_error(None, "\"ops\" must be an array of operations")),
                    None => return Err(plan_error(None, "a plan is {\"ops\": [...]}; \"ops\" is missing")),
                }
            }
            _ => return Err(plan_error(None, "a plan is a JSON object {\"ops\": [...]}")),
        };
        let ops = ops.iter().enumerate().map(|(index, op)| read_op(index, op)).collect::<Result<_, _>>()?;
        Ok(Plan { ops })
    }
}

fn plan_error(op: Option<usize>, message: impl Into<String>) -> TxError {
    TxError::Plan { op, message: message.into() }
}

/// The fields of one op, each taken once; what is left over is refused (a typo must not be
/// silently ignored).
struct Fields<'a> {
    index: usize,
    name: String,
    map: &'a Map<String, Value>,
    used: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    fn error(&self, message: impl std::fmt::Display) -> TxError {
        plan_error(Some(self.index), format!("op {} ({}): {message}", self.index, self.name))
    }

    fn optional(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.push(key);
        self.map.get(key)
    }

    fn required(&mut self, key: &'static str) -> Result<&'a Value, TxError> {
        self.optional(key).ok_or_else(|| self.error(format_args!("\"{key}\" is missing")))
    }

    fn string(&mut self, key: &'static str) -> Result<String, TxError> {
        match self.required(key)? {
            Value::String(text) if !text.is_empty() => Ok(text.clone()),
            _ => Err(self.error(format_args!("\"{key}\" must be a non-empty string"))),
        }
    }

    fn optional_string(&mut self, key: &'static str) -> Result<Option<String>, TxError> {
        match self.optional(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if !text.is_empty() => Ok(Some(text.clone())),
            Some(_) => Err(self.error(format_args!("\"{key}\" must be a non-empty string"))),
        }
    }

    fn path(&mut self, key: &'static str) -> Result<PathBuf, TxError> {
        self.string(key).map(PathBuf::from)
    }

    fn values(&mut self, key: &'static str, required: bool) -> Result<Vec<(String, Value)>, TxError> {
        let value = if required { Some(self.required(key)?) } else { self.optional(key) };
        match value {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Object(values)) if !values.is_empty() || !required => {
                Ok(values.iter().map(|(key, value)| (key.clone(), value.clone())).collect())
            }
            Some(_) => Err(self.error(format_args!(
                "\"{key}\" must be an object of keys and values, such as {{\"status\": \"done\"}}"
            ))),
        }
    }

    fn finish(self) -> Result<(), TxError> {
        match self.map.keys().find(|key| key.as_str() != "op" && !self.used.contains(&key.as_str())) {
            Some(extra) => Err(self.error(format_args!("has no field {extra:?}"))),
            None => Ok(()),
        }
    }
}

fn read_op(index: usize, op: &Value) -> Result<Op, TxError> {
    let Value::Object(map) = op else {
        return Err(plan_error(
            Some(index),
            format!("op {index} is not an object such as {{\"op\": \"write\", ...}}"),
        ));
    };
    let name = match map.get("op") {
        Some(Value::String(name)) => name.clone(),
        _ => return Err(plan_error(Some(index), format!("op {index} has no \"op\" naming what it does"))),
    };
    let mut fields = Fields { index, name: name.clone(), map, used: Vec::new() };
    let if_version = match fields.optional("if_version") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.parse::<Version>().map_err(|err| fields.error(err))?),
        Some(_) => return Err(fields.error("\"if_version\" must be a version string (or \"none\")")),
    };
    let kind = match name.as_str() {
        "write" => {
            let path = fields.path("path")?;
            let content = match fields.required("content")? {
                Value::String(text) => text.clone().into_bytes(),
                _ => return Err(fields.error("\"content\" must be a string")),
            };
            OpKind::Write { path, content }
        }
        "copy" => OpKind::Copy { from: fields.path("from")?, path: fields.path("path")? },
        "delete" => OpKind::Delete { path: fields.path("path")? },
        "set" => OpKind::Set { path: fields.path("path")?, values: fields.values("values", true)? },
        "push" => OpKind::Push { path: fields.path("path")?, values: fields.values("values", true)? },
        "unset" => {
            let path = fields.path("path")?;
            let keys = match fields.required("keys")? {
                Value::Array(keys) if !keys.is_empty() => keys
                    .iter()
                    .map(|key| key.as_str().filter(|key| !key.is_empty()).map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| fields.error("\"keys\" must hold non-empty strings"))?,
                _ => return Err(fields.error("\"keys\" must be a non-empty array of keys")),
            };
            OpKind::Unset { path, keys }
        }
        "merge" => OpKind::Merge { path: fields.path("path")?, patch: fields.required("patch")?.clone() },
        "append" => {
            let path = fields.path("path")?;
            let events = match (fields.optional("event"), fields.optional("events")) {
                (Some(event), None) => vec![event.clone()],
                (None, Some(Value::Array(events))) if !events.is_empty() => events.clone(),
                (None, Some(_)) => return Err(fields.error("\"events\" must be a non-empty array of events")),
                (Some(_), Some(_)) => return Err(fields.error("give \"event\" or \"events\", not both")),
                (None, None) => return Err(fields.error("\"event\" (or \"events\") is missing")),
            };
            let content_id = match fields.optional("content_id") {
                None | Some(Value::Bool(false)) => false,
                Some(Value::Bool(true)) => true,
                Some(_) => return Err(fields.error("\"content_id\" must be true or false")),
            };
            let id_field = fields.optional_string("id_field")?;
            let ids = match (id_field, content_id) {
                (Some(_), true) => return Err(fields.error("give \"id_field\" or \"content_id\", not both")),
                (Some(field), false) => Some(IdRule::Field(field)),
                (None, true) => Some(IdRule::Content),
                (None, false) => Some(IdRule::default()),
            };
            OpKind::Append { path, events, ids }
        }
        "new" => {
            if if_version.is_some() {
                return Err(
                    fields.error("\"if_version\" has no meaning for a new entry, which never exists yet")
                );
            }
            OpKind::New {
                dir: fields.path("dir")?,
                slug: fields.string("slug")?,
                template: fields.optional_string("template")?.map(PathBuf::from),
                pattern: fields.optional_string("pattern")?,
                set: fields.values("set", false)?,
            }
        }
        other => {
            return Err(plan_error(
                Some(index),
                format!(
                    "op {index}: {other:?} is not an op; ops are write, copy, delete, set, unset, push, merge, append and new"
                ),
            ));
        }
    };
    fields.finish()?;
    Ok(Op { kind, if_version })
}
