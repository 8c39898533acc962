//! Appending events: validated whole, linearized by the log's lock, written in one piece, flushed
//! once, skipped when their id is already in the log.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;

use super::index::Index;
use super::lines::{read_range, valid_end};
use super::{IdRule, LogError, io_error};
use crate::atomic::Durability;
use crate::lock::Locker;

/// From how many events an append maps the index instead of reading and writing slots one
/// system call at a time.
const MAP_FROM_EVENTS: usize = 32;

/// The outcome of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Events written.
    pub appended: usize,
    /// Events skipped because their id was already in the log (or earlier in the batch).
    pub duplicates: usize,
    /// Where the first written event's line starts (the log's end when none was written): a
    /// reader resumes there with `--from`.
    pub offset: u64,
}

/// Reads a batch of events, one JSON value per line (blank lines are ignored). One bad line
/// refuses the whole batch.
pub fn parse_events(text: &str) -> Result<Vec<Value>, LogError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(at, line)| {
            serde_json::from_str(line).map_err(|err| LogError::Malformed {
                number: at + 1,
                message: format!("not one JSON value: {err}"),
            })
        })
        .collect()
}

/// Appends `events` to the log at `path` (created if missing). With `rule`, an event whose id the
/// log already holds, or that an earlier event of the batch has, is skipped.
pub fn append(
    locker: &Locker,
    durability: Durability,
    path: &Path,
    events: &[Value],
    rule: Option<&IdRule>,
) -> Result<Appended, LogError> {
    let fs = &**locker.file_system();
    let lock = locker.lock(path)?;
    let target = lock.path().to_path_buf();
    let file = fs.open_rw(&target, 0o666).map_err(io_error(&target, "open"))?;
    let len = fs.file_metadata(&file).map_err(io_error(&target, "stat"))?.len();
    let end = valid_end(fs, &file, len).map_err(io_error(&target, "read"))?;
    if end < len {
        cut_torn_tail(locker, &target, &file, end, len, durability)?;
    }
    let mut index = match rule {
        Some(rule) => {
            let mut index =
                Index::open(fs, &target, &file, end, rule).map_err(io_error(&target, "read the index of"))?;
            if events.len() >= MAP_FROM_EVENTS {
                index.map().map_err(io_error(&target, "map the index of"))?;
            }
            Some(index)
        }
        None => None,
    };
    let mut batch = Vec::new();
    let mut seen = HashSet::new();
    let mut written: Vec<(Option<String>, u64)> = Vec::new();
    let mut duplicates = 0;
    for event in events {
        let id = rule.and_then(|rule| rule.id_of(event));
        if let (Some(id), Some(index)) = (&id, &index) {
            let known = index.contains(&file, id, end).map_err(io_error(&target, "read the index of"))?;
            if known || !seen.insert(id.clone()) {
                duplicates += 1;
                continue;
            }
        }
        written.push((id, end + batch.len() as u64));
        batch.extend_from_slice(serde_json::to_string(event).expect("JSON values serialize").as_bytes());
        batch.push(b'\n');
    }
    if !batch.is_empty() {
        fs.write_at(&file, &batch, end).map_err(io_error(&target, "append to"))?;
    }
    let new_end = end + batch.len() as u64;
    if let Some(mut index) = index.take() {
        let recorded = written
            .iter()
            .filter_map(|(id, offset)| id.as_ref().map(|id| (id, *offset)))
            .try_for_each(|(id, offset)| index.insert(id, offset));
        // The index is derived from the log: if it cannot be updated, the next append rebuilds
        // or catches it up, and the events are appended all the same.
        if recorded.is_ok() {
            let _ = index.commit(&file, new_end);
        }
    }
    let _ = lock.release();
    // Flushed after the lock is released, so that the flushes of concurrent appenders overlap and
    // the kernel commits them together; an event is acknowledged only after its own flush.
    if durability == Durability::Sync && !batch.is_empty() {
        fs.sync_data(&file).map_err(io_error(&target, "fdatasync"))?;
    }
    Ok(Appended { appended: written.len(), duplicates, offset: end })
}

/// Moves the torn tail `[end, len)` into `LOG.rejected` (made durable first), then truncates it.
fn cut_torn_tail(
    locker: &Locker,
    target: &Path,
    file: &std::fs::File,
    end: u64,
    len: u64,
    durability: Durability,
) -> Result<(), LogError> {
    let fs = &**locker.file_system();
    let mut tail = read_range(fs, file, end, len).map_err(io_error(target, "read"))?;
    if tail.last() != Some(&b'\n') {
        tail.push(b'\n');
    }
    let rejected_path = rejected_path(target);
    let rejected = fs.open_rw(&rejected_path, 0o666).map_err(io_error(&rejected_path, "open"))?;
    let at = fs.file_metadata(&rejected).map_err(io_error(&rejected_path, "stat"))?.len();
    fs.write_at(&rejected, &tail, at).map_err(io_error(&rejected_path, "write"))?;
    if durability == Durability::Sync {
        fs.sync_data(&rejected).map_err(io_error(&rejected_path, "fdatasync"))?;
    }
    fs.set_len(file, end).map_err(io_error(target, "cut the torn tail of"))
}

/// `LOG.rejected`: where cut tails and corrupt lines are kept.
pub(crate) fn rejected_path(log: &Path) -> std::path::PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".rejected");
    name.into()
}
