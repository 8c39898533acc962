//! A parsed request, answered by [`Project`]: the arguments turned into the facade's options, the
//! result serialized from the facade's own result types, the error from its own error type.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value, json};
use stet::Project;
use stet::doc::Format;
use stet::duration::{self, Span};
use stet::log::IdRule;
use stet::project::{Cleanup, Code, EditOptions, Error, NewEntryOptions, WriteOptions, wait_of};

use crate::request::{Assign, LogAppend, LogRead, Op, Request};
use crate::serve::Reply;

/// Answers one request with `project`, as adjusted by the request's `owner` and `timeout`.
pub fn answer(project: &Project, request: Request) -> Reply {
    let project =
        adjusted(project, request.owner, request.timeout.as_deref()).map_err(|err| err.to_json())?;
    run(&project, request.op).map_err(|err| err.to_json())
}

fn adjusted<'a>(
    project: &'a Project,
    owner: Option<String>,
    timeout: Option<&str>,
) -> Result<Cow<'a, Project>, Error> {
    let mut project = Cow::Borrowed(project);
    if let Some(owner) = owner {
        project = Cow::Owned(project.with_owner(Some(owner)));
    }
    if let Some(timeout) = timeout {
        let span = duration::parse(timeout).map_err(|err| Error::usage(format!("\"timeout\": {err}")))?;
        project = Cow::Owned(project.with_lock_wait(wait_of(span)));
    }
    Ok(project)
}

fn run(project: &Project, op: Op) -> Result<Value, Error> {
    match op {
        Op::Get(get) => {
            let got = project.get(&get.path, get.key.as_deref(), format(get.format.as_deref())?)?;
            Ok(if get.with_version { to_json(&got) } else { got.value })
        }
        Op::Set(assign) => {
            let Assignments { path, values, options } = assignments(assign)?;
            Ok(to_json(&project.set(&path, &values, options)?))
        }
        Op::Push(assign) => {
            let Assignments { path, values, options } = assignments(assign)?;
            Ok(to_json(&project.push(&path, &values, options)?))
        }
        Op::Unset(unset) => {
            let options = edit_options(unset.if_version, unset.must_exist, unset.format.as_deref())?;
            Ok(to_json(&project.unset(&unset.path, &unset.keys, options)?))
        }
        Op::Merge(merge) => {
            let options = edit_options(merge.if_version, merge.must_exist, merge.format.as_deref())?;
            Ok(to_json(&project.merge(&merge.path, merge.patch, options)?))
        }
        Op::Version(version) => Ok(to_json(&project.version(&version.path)?)),
        Op::Write(write) => {
            let bytes = match (write.content, write.content_base64) {
                (Some(text), None) => text.into_bytes(),
                (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                    .decode(encoded.as_bytes())
                    .map_err(|err| Error::usage(format!("\"content_base64\" is not base64: {err}")))?,
                _ => {
                    return Err(Error::usage(
                        "write takes exactly one of \"content\" and \"content_base64\"",
                    ));
                }
            };
            let mode = write.mode.as_deref().map(mode).transpose()?;
            let options = WriteOptions { create_new: write.create_new, mode };
            Ok(to_json(&project.write(&write.path, &bytes, options)?))
        }
        Op::New(new) => {
            let mut options = NewEntryOptions::new(new.slug);
            if let Some(pattern) = new.pattern {
                options.pattern = pattern;
            }
            options.template = new.template;
            options.set = new.set.into_iter().collect();
            Ok(to_json(&project.new_entry(&new.dir, &options)?))
        }
        Op::LogAppend(append) => log_append(project, append),
        Op::LogRead(read) => log_read(project, &read),
        Op::LogVerify(log) => {
            let found = project.log_verify(&log.path)?;
            if found.clean {
                return Ok(to_json(&found));
            }
            // As `stet log verify` exits 65 when the log is not clean, the response is not ok.
            let message = format!(
                "{} is not clean: torn tail of {} bytes, corrupt lines {:?}; `stet log repair` moves them aside",
                log.path.display(),
                found.torn_tail_bytes,
                found.corrupt_lines
            );
            Err(Error::new(Code::Malformed, message)
                .with_path(&log.path)
                .with_extra("report", to_json(&found)))
        }
        Op::LogRepair(log) => Ok(to_json(&project.log_repair(&log.path)?)),
        Op::LeaseAcquire(acquire) => {
            let wait = acquire.wait.as_deref().map(wait).transpose()?;
            Ok(to_json(&project.lease_acquire(&acquire.paths, ttl(acquire.ttl.as_deref())?, wait)?))
        }
        Op::LeaseRenew(renew) => Ok(to_json(&project.lease_renew(&renew.paths, ttl(renew.ttl.as_deref())?)?)),
        Op::LeaseRelease(release) => Ok(to_json(&project.lease_release(&release.paths)?)),
        Op::LeaseStatus(status) => Ok(to_json(&project.lease_status(&status.paths)?)),
        Op::LeaseCleanup(cleanup) => Ok(to_json(&project.lease_cleanup(if cleanup.expired {
            Cleanup::Expired
        } else {
            Cleanup::Owner
        })?)),
        Op::Tx(plan) => Ok(to_json(&project.tx(&stet::tx::Plan::from_value(&plan)?)?)),
    }
}

/// `set`'s and `push`'s arguments as the facade takes them.
struct Assignments {
    path: PathBuf,
    values: Vec<(String, Value)>,
    options: EditOptions,
}

fn assignments(assign: Assign) -> Result<Assignments, Error> {
    let options = edit_options(assign.if_version, assign.must_exist, assign.format.as_deref())?;
    if assign.values.is_empty() {
        return Err(Error::usage("\"values\" is empty: give at least one key and its value"));
    }
    Ok(Assignments { path: assign.path, values: assign.values.into_iter().collect(), options })
}

fn edit_options(
    if_version: Option<stet::Version>,
    must_exist: bool,
    format_name: Option<&str>,
) -> Result<EditOptions, Error> {
    Ok(EditOptions { if_version, must_exist, format: format(format_name)? })
}

fn log_append(project: &Project, append: LogAppend) -> Result<Value, Error> {
    let events = match (append.event, append.events) {
        (Some(event), None) => vec![event],
        (None, Some(events)) => events,
        _ => return Err(Error::usage("log.append takes exactly one of \"event\" and \"events\"")),
    };
    let ids = match (append.id_field, append.content_id) {
        (Some(_), true) => return Err(Error::usage("\"id_field\" and \"content_id\" exclude each other")),
        (Some(field), false) => Some(IdRule::Field(field)),
        (None, true) => Some(IdRule::Content),
        (None, false) => None,
    };
    Ok(to_json(&project.log_append(&append.path, &events, ids)?))
}

/// `{"events": [...], "next"}`: the events as they are in the log (with `with_offsets`, each as
/// `{"offset", "next", "event"}`), and where to resume with `from`.
fn log_read(project: &Project, read: &LogRead) -> Result<Value, Error> {
    let mut reader = project.log_reader(&read.path, read.from)?;
    let mut events = Vec::new();
    while read.limit.is_none_or(|limit| events.len() < limit) {
        let Some(entry) = reader.next_event()? else { break };
        let event: Value = serde_json::from_slice(&entry.raw).map_err(|err| {
            Error::new(Code::Malformed, format!("{}: an event line is not JSON: {err}", read.path.display()))
                .with_path(&read.path)
        })?;
        events.push(if read.with_offsets {
            json!({ "offset": entry.offset, "next": entry.next, "event": event })
        } else {
            event
        });
    }
    let mut result = Map::new();
    result.insert("events".into(), Value::Array(events));
    result.insert("next".into(), Value::from(reader.offset()));
    Ok(Value::Object(result))
}

fn to_json(result: &impl Serialize) -> Value {
    serde_json::to_value(result).expect("the facade's results serialize to JSON")
}

fn format(name: Option<&str>) -> Result<Option<Format>, Error> {
    name.map(|name| {
        Format::from_name(name).ok_or_else(|| {
            Error::usage(format!("\"format\": {name:?} is not a format: use md, yaml, json or toml"))
        })
    })
    .transpose()
}

fn mode(text: &str) -> Result<u32, Error> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o7777 && !digits.is_empty() => Ok(mode),
        _ => {
            Err(Error::usage(format!("\"mode\": {text:?} is not an octal mode such as \"644\" or \"0600\"")))
        }
    }
}

fn ttl(text: Option<&str>) -> Result<Option<Duration>, Error> {
    match text.map(duration::parse) {
        None => Ok(None),
        Some(Ok(Span::Finite(ttl))) => Ok(Some(ttl)),
        Some(Ok(Span::Infinite)) => Err(Error::usage("\"ttl\" must be finite, such as 30s or 10m")),
        Some(Err(err)) => Err(Error::usage(format!("\"ttl\": {err}"))),
    }
}

fn wait(text: &str) -> Result<Duration, Error> {
    match duration::parse(text) {
        Ok(Span::Finite(wait)) => Ok(wait),
        // The library saturates a wait too long for the clock to forever.
        Ok(Span::Infinite) => Ok(Duration::MAX),
        Err(err) => Err(Error::usage(format!("\"wait\": {err}"))),
    }
}
