//! A request line, parsed into a typed operation: the envelope (`id`, `v`, `op`, `owner`,
//! `timeout`) and the operation's own arguments, named as the command line names its flags.
//!
//! Nothing unknown is let through: an unknown field, op or version is refused rather than ignored,
//! so that a client written against a later protocol learns at once what this stet cannot do.

use std::path::PathBuf;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The request format this stet speaks; a request may say so with `"v": 1`.
pub const VERSION: u64 = 1;

/// The ops a request may name, in the order the documentation lists them.
pub const OPS: &[&str] = &[
    "get",
    "set",
    "unset",
    "push",
    "merge",
    "version",
    "write",
    "new",
    "log.append",
    "log.read",
    "log.verify",
    "log.repair",
    "lease.acquire",
    "lease.renew",
    "lease.release",
    "lease.status",
    "lease.cleanup",
    "tx",
];

/// One parsed request.
#[derive(Debug)]
pub struct Request {
    /// Echoed in the response, whatever it is (`null` when absent).
    pub id: Value,
    /// Overrides the batch's `--owner` for this request.
    pub owner: Option<String>,
    /// Overrides the batch's `--timeout` for this request, as the command line spells it.
    pub timeout: Option<String>,
    pub op: Op,
}

/// Why a line is not a request: the line is not a JSON object (`EMALFORMED`), or it is one that
/// asks for something this stet does not offer (`EUSAGE`). Either way the batch goes on.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    /// `EMALFORMED` or `EUSAGE`.
    pub code: &'static str,
    pub message: String,
    /// The request's id, when the line got far enough to have one.
    pub id: Value,
}

/// An operation and its arguments.
#[derive(Debug)]
pub enum Op {
    Get(Get),
    Set(Assign),
    Unset(Unset),
    Push(Assign),
    Merge(Merge),
    Version(OnePath),
    Write(Write),
    New(New),
    LogAppend(LogAppend),
    LogRead(LogRead),
    LogVerify(OnePath),
    LogRepair(OnePath),
    LeaseAcquire(LeaseAcquire),
    LeaseRenew(LeaseRenew),
    LeaseRelease(Paths),
    LeaseStatus(LeaseStatus),
    LeaseCleanup(LeaseCleanup),
    /// `tx`: the plan, `{"ops": [...]}`, given as the request's `"ops"` or as `"plan"`.
    Tx(Value),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Get {
    pub path: PathBuf,
    pub key: Option<String>,
    pub format: Option<String>,
    #[serde(default)]
    pub with_version: bool,
}

/// `set` and `push`: `values` maps each key path to its JSON value, in order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    pub path: PathBuf,
    pub values: Map<String, Value>,
    pub if_version: Option<stet::Version>,
    #[serde(default)]
    pub must_exist: bool,
    pub format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unset {
    pub path: PathBuf,
    pub keys: Vec<String>,
    pub if_version: Option<stet::Version>,
    #[serde(default)]
    pub must_exist: bool,
    pub format: Option<String>,
}

/// `merge`: the RFC 7396 patch is a JSON value in the request, where the command line reads it
/// from standard input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    pub path: PathBuf,
    pub patch: Value,
    pub if_version: Option<stet::Version>,
    #[serde(default)]
    pub must_exist: bool,
    pub format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnePath {
    pub path: PathBuf,
}

/// `write`: the bytes are `content` (text) or `content_base64` (any bytes), exactly one of them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Write {
    pub path: PathBuf,
    pub content: Option<String>,
    pub content_base64: Option<String>,
    #[serde(default)]
    pub create_new: bool,
    /// Octal, as the command line takes it: `"644"`, `"0600"`.
    pub mode: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct New {
    pub dir: PathBuf,
    pub slug: String,
    pub pattern: Option<String>,
    pub template: Option<PathBuf>,
    /// Keys set in the entry's main document, as `set`'s `values`.
    #[serde(default)]
    pub set: Map<String, Value>,
}

/// `log.append`: one `event`, or several as `events`, validated and flushed together.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogAppend {
    pub path: PathBuf,
    pub event: Option<Value>,
    pub events: Option<Vec<Value>>,
    pub id_field: Option<String>,
    #[serde(default)]
    pub content_id: bool,
}

/// `log.read`: the events as one result (`--follow` has no place in a request-response protocol).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogRead {
    pub path: PathBuf,
    #[serde(default)]
    pub from: u64,
    pub limit: Option<usize>,
    #[serde(default)]
    pub with_offsets: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseAcquire {
    pub paths: Vec<PathBuf>,
    pub ttl: Option<String>,
    pub wait: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseRenew {
    pub paths: Vec<PathBuf>,
    pub ttl: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paths {
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseStatus {
    #[serde(default)]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseCleanup {
    #[serde(default)]
    pub expired: bool,
}

/// Parses one line (without its line break).
pub fn parse(line: &[u8]) -> Result<Request, Refused> {
    let malformed = |message: String| Refused { code: "EMALFORMED", message, id: Value::Null };
    let text = std::str::from_utf8(line).map_err(|err| {
        malformed(format!("the request is not UTF-8 ({err}); a request is one JSON object"))
    })?;
    let mut fields = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(fields)) => fields,
        Ok(other) => {
            return Err(malformed(format!(
                "the request is a JSON {}, not an object such as {{\"id\": 1, \"op\": \"get\", \"path\": \"story.md\"}}",
                kind(&other)
            )));
        }
        Err(err) => return Err(malformed(format!("the request is not JSON: {err}"))),
    };
    let id = fields.remove("id").unwrap_or(Value::Null);
    let usage = |message: String| Refused { code: "EUSAGE", message, id: id.clone() };
    match fields.remove("v") {
        None => {}
        Some(Value::Number(number)) if number.as_u64() == Some(VERSION) => {}
        Some(other) => {
            return Err(usage(format!(
                "request format \"v\": {other} is not supported: this stet speaks \"v\": {VERSION}"
            )));
        }
    }
    let op = match fields.remove("op") {
        Some(Value::String(op)) => op,
        Some(other) => return Err(usage(format!("\"op\" must be a string, not {other}"))),
        None => return Err(usage(format!("the request has no \"op\": one of {}", OPS.join(", ")))),
    };
    let owner = optional_string(&mut fields, "owner").map_err(&usage)?;
    let timeout = optional_string(&mut fields, "timeout").map_err(&usage)?;
    let op = parse_op(&op, fields).map_err(usage)?;
    Ok(Request { id, owner, timeout, op })
}

fn parse_op(op: &str, fields: Map<String, Value>) -> Result<Op, String> {
    fn args<T: DeserializeOwned>(op: &str, fields: Map<String, Value>) -> Result<T, String> {
        serde_json::from_value(Value::Object(fields)).map_err(|err| format!("op \"{op}\": {err}"))
    }
    Ok(match op {
        "get" => Op::Get(args(op, fields)?),
        "set" => Op::Set(args(op, fields)?),
        "unset" => Op::Unset(args(op, fields)?),
        "push" => Op::Push(args(op, fields)?),
        "merge" => Op::Merge(args(op, fields)?),
        "version" => Op::Version(args(op, fields)?),
        "write" => Op::Write(args(op, fields)?),
        "new" => Op::New(args(op, fields)?),
        "log.append" => Op::LogAppend(args(op, fields)?),
        "log.read" => Op::LogRead(args(op, fields)?),
        "log.verify" => Op::LogVerify(args(op, fields)?),
        "log.repair" => Op::LogRepair(args(op, fields)?),
        "lease.acquire" => Op::LeaseAcquire(args(op, fields)?),
        "lease.renew" => Op::LeaseRenew(args(op, fields)?),
        "lease.release" => Op::LeaseRelease(args(op, fields)?),
        "lease.status" => Op::LeaseStatus(args(op, fields)?),
        "lease.cleanup" => Op::LeaseCleanup(args(op, fields)?),
        "tx" => {
            let mut fields = fields;
            let plan = match (fields.remove("ops"), fields.remove("plan")) {
                (Some(ops), None) => serde_json::json!({ "ops": ops }),
                (None, Some(plan)) => plan,
                (Some(_), Some(_)) => return Err("op \"tx\": give \"ops\" or \"plan\", not both".into()),
                (None, None) => return Err("op \"tx\": \"ops\" (the plan's operations) is missing".into()),
            };
            if let Some(extra) = fields.keys().next() {
                return Err(format!("op \"tx\": unknown field `{extra}`, expected `ops` or `plan`"));
            }
            Op::Tx(plan)
        }
        "update" | "lock" | "lease.run" => {
            return Err(format!(
                "op \"{op}\" runs a command under stet and has no place in a batch: use `stet {}` itself",
                op.replace('.', " ")
            ));
        }
        other => return Err(format!("unknown op \"{other}\": use one of {}", OPS.join(", "))),
    })
}

fn optional_string(fields: &mut Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(format!("\"{name}\" must be a string, not {other}")),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(line: &str) -> Refused {
        parse(line.as_bytes()).expect_err("the line is refused")
    }

    #[test]
    fn a_line_that_is_not_json_is_malformed_and_has_no_id() {
        let refusal = refused("{\"id\": 1, \"op\": ");
        assert_eq!((refusal.code, refusal.id), ("EMALFORMED", Value::Null));
    }

    #[test]
    fn a_json_value_that_is_not_an_object_is_malformed() {
        assert_eq!(refused("[1, 2]").code, "EMALFORMED");
    }

    #[test]
    fn an_unknown_field_is_refused_with_the_request_id() {
        let refusal = refused(r#"{"id": "a", "op": "get", "path": "x.md", "colour": "red"}"#);
        assert_eq!((refusal.code, refusal.id.clone()), ("EUSAGE", Value::from("a")));
        assert!(refusal.message.contains("colour"), "the message names the field: {}", refusal.message);
    }

    #[test]
    fn an_unknown_op_is_refused_naming_the_ops() {
        let refusal = refused(r#"{"id": 2, "op": "frobnicate"}"#);
        assert_eq!(refusal.code, "EUSAGE");
        assert!(refusal.message.contains("log.append"), "{}", refusal.message);
    }

    #[test]
    fn another_request_version_is_refused_and_version_one_is_accepted() {
        assert_eq!(refused(r#"{"v": 2, "op": "version", "path": "x"}"#).code, "EUSAGE");
        assert!(parse(br#"{"v": 1, "op": "version", "path": "x"}"#).is_ok());
    }

    #[test]
    fn tx_is_refused_as_not_yet_supported() {
        assert!(refused(r#"{"op": "tx"}"#).message.contains("\"ops\""));
        assert!(refused(r#"{"op": "tx", "ops": [], "plan": {}}"#).message.contains("not both"));
    }

    #[test]
    fn owner_and_timeout_are_taken_from_the_envelope() {
        let request = parse(
            br#"{"id": 7, "op": "set", "path": "s.md", "values": {"a": 1}, "owner": "me", "timeout": "0"}"#,
        )
        .expect("a valid request");
        assert_eq!((request.owner.as_deref(), request.timeout.as_deref()), (Some("me"), Some("0")));
        assert!(matches!(request.op, Op::Set(ref assign) if assign.values["a"] == 1));
    }
}
