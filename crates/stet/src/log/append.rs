//! Appending events: validated whole, linearized by the log's lock, written in one piece, flushed
//! once, skipped when their id is already in the log.

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;

use serde_json::Value;

use xxhash_rust::xxh3::xxh3_64;

use super::index::{Index, Kept};
use super::lines::{read_range, valid_end};
use super::{IdRule, LogError, io_error, open_error};
use crate::atomic::Durability;
use crate::lock::{LockFile, Locker};

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
    let file = fs.open_rw(&target, 0o666).map_err(open_error(&target))?;
    let (appended, wrote) = append_locked(fs, &target, &file, events, rule, durability, &mut None)?;
    let _ = lock.release();
    flush(fs, &target, &file, durability, wrote)?;
    Ok(appended)
}

/// Appends to one log many times (a server, an orchestrator): the lock file and the log stay
/// open between appends, so each costs one `flock` and no file creation. Same guarantees as
/// [`append`]; a log replaced meanwhile (by `repair`) is reopened.
#[derive(Debug)]
pub struct Appender {
    lock_file: LockFile,
    fs: std::sync::Arc<dyn crate::fs::Fs>,
    path: std::path::PathBuf,
    file: Option<File>,
    durability: Durability,
    rule: Option<IdRule>,
    /// What this appender left, to find unchanged at its next append.
    left: Option<Left>,
}

/// The log as an appender left it: the end it wrote up to, the log's change time then, and the
/// index it committed. Found unchanged (same file, same size, same change time) at the next
/// append, the log needs no tail check and the index no reload.
#[derive(Debug)]
struct Left {
    end: u64,
    changed: Option<(i64, i64)>,
    index: Option<Kept>,
}

impl Appender {
    /// Prepares to append to the log at `path` (flock protocol only). Creates nothing yet.
    pub fn open(
        locker: &Locker,
        durability: Durability,
        path: &Path,
        rule: Option<IdRule>,
    ) -> Result<Appender, LogError> {
        let lock_file = LockFile::open(locker, path)?;
        let path = lock_file.path().to_path_buf();
        Ok(Appender {
            lock_file,
            fs: locker.file_system().clone(),
            path,
            file: None,
            durability,
            rule,
            left: None,
        })
    }

    /// Appends `events`, as [`append`] does.
    pub fn append(&mut self, events: &[Value]) -> Result<Appended, LogError> {
        let guard = self.lock_file.lock()?;
        let fs = &*self.fs;
        let current = match self.file.take() {
            Some(file) if names(fs, &self.path, &file) => file,
            _ => {
                self.left = None;
                fs.open_rw(&self.path, 0o666).map_err(open_error(&self.path))?
            }
        };
        let file = self.file.insert(current);
        let (appended, wrote) =
            append_locked(fs, &self.path, file, events, self.rule.as_ref(), self.durability, &mut self.left)?;
        drop(guard);
        flush(fs, &self.path, file, self.durability, wrote)?;
        Ok(appended)
    }
}

/// Whether `path` still names the open `file` (a repair replaces the log).
fn names(fs: &dyn crate::fs::Fs, path: &Path, file: &File) -> bool {
    match (fs.file_metadata(file), fs.metadata(path)) {
        (Ok(ours), Ok(current)) => crate::sys::file_id(&ours) == crate::sys::file_id(&current),
        _ => false,
    }
}

/// Everything an append does under the lock; returns what it did and whether it wrote. `left`
/// is what the caller's previous append left (taken, and replaced when this one succeeds).
fn append_locked(
    fs: &dyn crate::fs::Fs,
    target: &Path,
    file: &File,
    events: &[Value],
    rule: Option<&IdRule>,
    durability: Durability,
    left: &mut Option<Left>,
) -> Result<(Appended, bool), LogError> {
    let meta = fs.file_metadata(file).map_err(io_error(target, "stat"))?;
    let len = meta.len();
    let unchanged = left.take().filter(|left| {
        left.end == len && left.changed.is_some() && left.changed == crate::sys::change_time(&meta)
    });
    let (end, kept) = if let Some(left) = unchanged {
        (left.end, left.index)
    } else {
        let end = valid_end(fs, file, len).map_err(io_error(target, "read"))?;
        if end < len {
            cut_torn_tail(fs, target, file, end, len, durability)?;
        }
        (end, None)
    };
    let mut index = match rule {
        Some(rule) => {
            let mut index = match kept {
                Some(kept) => Index::resume(fs, rule, kept),
                None => {
                    Index::open(fs, target, file, end, rule).map_err(io_error(target, "read the index of"))?
                }
            };
            if events.len() >= MAP_FROM_EVENTS {
                index.map().map_err(io_error(target, "map the index of"))?;
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
            let known = index.contains(file, id, end).map_err(io_error(target, "read the index of"))?;
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
        fs.write_at(file, &batch, end).map_err(io_error(target, "append to"))?;
    }
    let new_end = end + batch.len() as u64;
    let mut kept = None;
    if let Some(mut index) = index.take() {
        let recorded = written
            .iter()
            .filter_map(|(id, offset)| id.as_ref().map(|id| (id, *offset)))
            .try_for_each(|(id, offset)| index.insert(id, offset));
        // The index is derived from the log: if it cannot be updated, the next append rebuilds
        // or catches it up, and the events are appended all the same.
        if recorded.is_ok() {
            let last = written.last().map(|(_, offset)| xxh3_64(&batch[(offset - end) as usize..]));
            kept = index.commit(file, new_end, last).ok();
        }
    }
    if (rule.is_none() || kept.is_some())
        && let Ok(meta) = fs.file_metadata(file)
    {
        *left = Some(Left { end: new_end, changed: crate::sys::change_time(&meta), index: kept });
    }
    Ok((Appended { appended: written.len(), duplicates, offset: end }, !batch.is_empty()))
}

/// The flush, after the lock is released, so that the flushes of concurrent appenders overlap and
/// the kernel commits them together; an event is acknowledged only after its own flush.
fn flush(
    fs: &dyn crate::fs::Fs,
    target: &Path,
    file: &File,
    durability: Durability,
    wrote: bool,
) -> Result<(), LogError> {
    if durability == Durability::Sync && wrote {
        fs.sync_data(file).map_err(io_error(target, "fdatasync"))?;
    }
    Ok(())
}

/// Moves the torn tail `[end, len)` into `LOG.rejected` (made durable first), then truncates it.
fn cut_torn_tail(
    fs: &dyn crate::fs::Fs,
    target: &Path,
    file: &File,
    end: u64,
    len: u64,
    durability: Durability,
) -> Result<(), LogError> {
    let mut tail = read_range(fs, file, end, len).map_err(io_error(target, "read"))?;
    if tail.last() != Some(&b'\n') {
        tail.push(b'\n');
    }
    keep_rejected(fs, target, &tail, durability)?;
    fs.set_len(file, end).map_err(io_error(target, "cut the torn tail of"))
}

/// Appends `bytes` to `LOG.rejected` (flushed when durable), before they leave the log.
pub(crate) fn keep_rejected(
    fs: &dyn crate::fs::Fs,
    log: &Path,
    bytes: &[u8],
    durability: Durability,
) -> Result<(), LogError> {
    let path = rejected_path(log);
    let rejected = fs.open_rw(&path, 0o666).map_err(io_error(&path, "open"))?;
    let at = fs.file_metadata(&rejected).map_err(io_error(&path, "stat"))?.len();
    fs.write_at(&rejected, bytes, at).map_err(io_error(&path, "write"))?;
    if durability == Durability::Sync {
        fs.sync_data(&rejected).map_err(io_error(&path, "fdatasync"))?;
    }
    Ok(())
}

/// `LOG.rejected`: where cut tails and corrupt lines are kept.
pub(crate) fn rejected_path(log: &Path) -> std::path::PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".rejected");
    name.into()
}
