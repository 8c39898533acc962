//! Appending events: validated whole, linearized by the log's lock, written in one piece, flushed
//! once, skipped when their id is already in the log.

use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use xxhash_rust::xxh3::xxh3_64;

use super::index::{Index, Kept, Opened, index_path};
use super::lines::{complete_end, holds_an_event, looks_torn, parse, read_range, scan};
use super::rejected::{Block, Reason};
use super::{Access, IdRule, LogError, io_error, open_log, refuse_special};
use crate::atomic::Durability;
use crate::lock::{LockError, LockFile, Locker};

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
    /// The torn tail cut before writing, if there was one.
    pub cut: Option<Cut>,
    /// Why the idempotency index could not be used, if it could not: duplicates were then found
    /// by reading the whole log, and the append went on.
    pub index_notice: Option<IndexNotice>,
}

/// A torn tail an append cut: its bytes are kept in `rejected`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// How many bytes were cut.
    pub bytes: u64,
    /// The `LOG.rejected` that keeps them.
    pub rejected: PathBuf,
}

/// The idempotency index could not be used for an append (which went on without it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexNotice {
    /// The index, `.LOG.stet-index`.
    pub path: PathBuf,
    /// What was wrong.
    pub problem: IndexProblem,
}

/// Why an index could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexProblem {
    /// Something stet did not make is at the index's path (what it is, in words); stet leaves it
    /// alone and keeps no index for this log until it is moved away.
    NotStets(&'static str),
    /// Reading or writing the index failed (a full disk, say); the next append tries again.
    Failed {
        /// The error's kind.
        kind: io::ErrorKind,
        /// The operating system's message.
        message: String,
    },
}

impl std::fmt::Display for IndexNotice {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.path.display();
        match &self.problem {
            IndexProblem::NotStets(found) => write!(
                out,
                "the idempotency index {path} is {found}, not an index stet made: stet left it alone and \
                 checked for duplicates by reading the whole log; move it away to let stet keep an index"
            ),
            IndexProblem::Failed { message, .. } => write!(
                out,
                "cannot use the idempotency index {path} ({message}): stet checked for duplicates by \
                 reading the whole log; the next append rebuilds the index"
            ),
        }
    }
}

impl IndexNotice {
    fn failed(path: PathBuf, err: &io::Error) -> IndexNotice {
        IndexNotice { path, problem: IndexProblem::Failed { kind: err.kind(), message: err.to_string() } }
    }
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
    refuse_special(fs, path)?;
    let lock = locker.lock(path)?;
    let target = lock.path().to_path_buf();
    let created = is_missing(fs, &target);
    let file = open_log(fs, &target, Access::Append)?;
    let (appended, wrote) =
        append_locked(fs, &target, &file, events, rule, durability, &mut None, &|| lock.check())?;
    let _ = lock.release();
    flush(fs, &target, &file, durability, wrote, created)?;
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
        refuse_special(&*self.fs, &self.path)?;
        let guard = self.lock_file.lock()?;
        let fs = &*self.fs;
        let mut created = false;
        let current = match self.file.take() {
            Some(file) if names(fs, &self.path, &file) => file,
            _ => {
                self.left = None;
                created = is_missing(fs, &self.path);
                open_log(fs, &self.path, Access::Append)?
            }
        };
        let file = self.file.insert(current);
        let (appended, wrote) = append_locked(
            fs,
            &self.path,
            file,
            events,
            self.rule.as_ref(),
            self.durability,
            &mut self.left,
            &|| guard.check(),
        )?;
        drop(guard);
        flush(fs, &self.path, file, self.durability, wrote, created)?;
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
/// `still_held` is asked right before the log is changed: a lock lost meanwhile (its lock file
/// removed from outside, a mkdir lock taken over) changes nothing.
#[allow(clippy::too_many_arguments, reason = "one call site per kind of appender")]
fn append_locked(
    fs: &dyn crate::fs::Fs,
    target: &Path,
    file: &File,
    events: &[Value],
    rule: Option<&IdRule>,
    durability: Durability,
    left: &mut Option<Left>,
    still_held: &dyn Fn() -> Result<(), LockError>,
) -> Result<(Appended, bool), LogError> {
    let Batch { end, bytes: batch, written, duplicates, cut, dedup, mut index_notice } =
        batch(fs, target, file, events, rule, durability, left, still_held)?;
    if !batch.is_empty() {
        still_held()?;
        fs.write_at(file, &batch, end).map_err(io_error(target, "append to"))?;
    }
    let new_end = end + batch.len() as u64;
    let mut kept = None;
    if let Some(Dedup::Indexed(mut index)) = dedup {
        let recorded = written
            .iter()
            .filter_map(|(id, offset)| id.as_ref().map(|id| (id, *offset)))
            .try_for_each(|(id, offset)| index.insert(id, offset));
        // The index is derived from the log: if it cannot be updated, the next append rebuilds
        // or catches it up, and the events are appended all the same.
        let last = written.last().map(|(_, offset)| xxh3_64(&batch[(offset - end) as usize..]));
        match recorded.and_then(|()| index.commit(file, new_end, last)) {
            Ok(index) => kept = Some(index),
            Err(err) => {
                index_notice.get_or_insert_with(|| IndexNotice::failed(index_path(target), &err));
            }
        }
    }
    if (rule.is_none() || kept.is_some())
        && let Ok(meta) = fs.file_metadata(file)
    {
        *left = Some(Left { end: new_end, changed: crate::sys::change_time(&meta), index: kept });
    }
    let appended = Appended { appended: written.len(), duplicates, offset: end, cut, index_notice };
    Ok((appended, !batch.is_empty()))
}

/// An append made ready under the log's lock and not yet written: the bytes of the events that
/// are not duplicates, to be written at `end`, and what the append will report.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// Where the bytes go: the end of the log's last complete line (a torn tail was cut).
    pub end: u64,
    /// The events' lines.
    pub bytes: Vec<u8>,
    /// What the append reports once the bytes are written.
    pub appended: Appended,
}

/// Under the log's lock (held by the caller, who keeps it until the bytes are written): cuts a
/// torn tail and finds which events are new, as an append does, without writing them (a
/// transaction writes them after its commit point).
pub(crate) fn prepare(
    fs: &dyn crate::fs::Fs,
    target: &Path,
    file: &File,
    events: &[Value],
    rule: Option<&IdRule>,
    durability: Durability,
) -> Result<Prepared, LogError> {
    let Batch { end, bytes, written, duplicates, cut, index_notice, .. } =
        batch(fs, target, file, events, rule, durability, &mut None, &|| Ok(()))?;
    let appended = Appended { appended: written.len(), duplicates, offset: end, cut, index_notice };
    Ok(Prepared { end, bytes, appended })
}

/// The lines of a batch of events for a log that does not exist yet (duplicates within the batch
/// skipped): what [`prepare`] would give for an empty log, made without creating it.
pub(crate) fn prepare_new(events: &[Value], rule: Option<&IdRule>) -> Prepared {
    let mut seen = HashSet::new();
    let mut bytes = Vec::new();
    let (mut appended, mut duplicates) = (0, 0);
    for event in events {
        if let Some(id) = rule.and_then(|rule| rule.id_of(event))
            && !seen.insert(id)
        {
            duplicates += 1;
            continue;
        }
        appended += 1;
        bytes.extend_from_slice(serde_json::to_string(event).expect("JSON values serialize").as_bytes());
        bytes.push(b'\n');
    }
    Prepared {
        end: 0,
        bytes,
        appended: Appended { appended, duplicates, offset: 0, cut: None, index_notice: None },
    }
}

/// The events of an append that are not duplicates, as lines to write at `end`.
struct Batch<'a> {
    end: u64,
    bytes: Vec<u8>,
    /// Each written event's id (if it has one) and offset.
    written: Vec<(Option<String>, u64)>,
    duplicates: usize,
    cut: Option<Cut>,
    dedup: Option<Dedup<'a>>,
    index_notice: Option<IndexNotice>,
}

/// Finds the end of the log's complete lines (cutting a torn tail) and which events are new.
#[allow(clippy::too_many_arguments, reason = "the state of one append, passed down once")]
fn batch<'a>(
    fs: &'a dyn crate::fs::Fs,
    target: &Path,
    file: &File,
    events: &[Value],
    rule: Option<&'a IdRule>,
    durability: Durability,
    left: &mut Option<Left>,
    still_held: &dyn Fn() -> Result<(), LockError>,
) -> Result<Batch<'a>, LogError> {
    let meta = fs.file_metadata(file).map_err(io_error(target, "stat"))?;
    let len = meta.len();
    let unchanged = left.take().filter(|left| {
        left.end == len && left.changed.is_some() && left.changed == crate::sys::change_time(&meta)
    });
    let mut cut = None;
    let (end, kept) = if let Some(left) = unchanged {
        (left.end, left.index)
    } else {
        let end = complete_end(fs, file, len).map_err(io_error(target, "read"))?;
        refuse_if_not_a_log(fs, target, file, end, len)?;
        if end < len {
            still_held()?;
            cut = Some(cut_torn_tail(fs, target, file, end, len, durability)?);
        }
        (end, None)
    };
    let mut index_notice = None;
    let mut dedup = match rule {
        Some(rule) => Some(Dedup::open(fs, target, file, end, rule, kept, events, &mut index_notice)?),
        None => None,
    };
    let mut bytes = Vec::new();
    let mut seen = HashSet::new();
    let mut written: Vec<(Option<String>, u64)> = Vec::new();
    let mut duplicates = 0;
    for event in events {
        let id = rule.and_then(|rule| rule.id_of(event));
        if let (Some(id), Some(dedup)) = (&id, &mut dedup) {
            let known = dedup.holds(fs, target, file, end, id, events, &mut index_notice)?;
            if known || !seen.insert(id.clone()) {
                duplicates += 1;
                continue;
            }
        }
        written.push((id, end + bytes.len() as u64));
        bytes.extend_from_slice(serde_json::to_string(event).expect("JSON values serialize").as_bytes());
        bytes.push(b'\n');
    }
    Ok(Batch { end, bytes, written, duplicates, cut, dedup, index_notice })
}

/// Refuses a non-empty file that holds no event line at all: prose is not a log, and cutting it
/// as a torn tail would empty it. What a crash during a first append leaves (NULs, a fragment of
/// JSON) is a torn tail all the same.
fn refuse_if_not_a_log(
    fs: &dyn crate::fs::Fs,
    target: &Path,
    file: &File,
    end: u64,
    len: u64,
) -> Result<(), LogError> {
    if len == 0 || holds_an_event(fs, file, end).map_err(io_error(target, "read"))? {
        return Ok(());
    }
    if looks_torn(fs, file, end, len).map_err(io_error(target, "read"))? {
        return Ok(());
    }
    Err(LogError::NotALog { path: target.to_owned() })
}

/// How an append finds the ids the log already holds.
enum Dedup<'a> {
    /// Through the idempotency index.
    Indexed(Index<'a>),
    /// Without it: the ids of the batch that a read of the whole log found.
    Scanned(HashSet<String>),
}

impl<'a> Dedup<'a> {
    /// The index (kept by an [`Appender`], or opened), or a scan of the log when the index is not
    /// stet's or cannot be used; `notice` says why.
    #[allow(clippy::too_many_arguments, reason = "the state of one append, passed down once")]
    fn open(
        fs: &'a dyn crate::fs::Fs,
        target: &Path,
        file: &File,
        end: u64,
        rule: &'a IdRule,
        kept: Option<Kept>,
        events: &[Value],
        notice: &mut Option<IndexNotice>,
    ) -> Result<Dedup<'a>, LogError> {
        let path = index_path(target);
        let opened = match kept {
            Some(kept) => Ok(Opened::Index(Index::resume(fs, rule, kept))),
            None => Index::open(fs, target, file, end, rule),
        };
        let problem = match opened {
            Ok(Opened::Index(mut index)) => {
                if events.len() < MAP_FROM_EVENTS {
                    return Ok(Dedup::Indexed(index));
                }
                match index.map() {
                    Ok(()) => return Ok(Dedup::Indexed(index)),
                    Err(err) => IndexNotice::failed(path, &err),
                }
            }
            Ok(Opened::NotStets(found)) => IndexNotice { path, problem: IndexProblem::NotStets(found) },
            Err(err) => IndexNotice::failed(path, &err),
        };
        *notice = Some(problem);
        Dedup::scan(fs, target, file, end, rule, events)
    }

    /// Reads the whole log for the batch's ids.
    fn scan(
        fs: &dyn crate::fs::Fs,
        target: &Path,
        file: &File,
        end: u64,
        rule: &IdRule,
        events: &[Value],
    ) -> Result<Dedup<'a>, LogError> {
        let wanted: HashSet<String> = events.iter().filter_map(|event| rule.id_of(event)).collect();
        let mut found = HashSet::new();
        if !wanted.is_empty() {
            scan(fs, file, 0, end, |_, line| {
                if let Some(id) = parse(line).and_then(|event| rule.id_of(&event))
                    && wanted.contains(&id)
                {
                    found.insert(id);
                }
                Ok(())
            })
            .map_err(io_error(target, "read"))?;
        }
        Ok(Dedup::Scanned(found))
    }

    /// Whether the log's first `end` bytes hold an event with this id. An index that fails here
    /// is given up for a scan.
    #[allow(clippy::too_many_arguments, reason = "the state of one append, passed down once")]
    fn holds(
        &mut self,
        fs: &'a dyn crate::fs::Fs,
        target: &Path,
        file: &File,
        end: u64,
        id: &str,
        events: &[Value],
        notice: &mut Option<IndexNotice>,
    ) -> Result<bool, LogError> {
        if let Dedup::Indexed(index) = self {
            match index.contains(file, id, end) {
                Ok(known) => return Ok(known),
                Err(err) => {
                    *notice = Some(IndexNotice::failed(index_path(target), &err));
                    let rule = index.rule();
                    *self = Dedup::scan(fs, target, file, end, rule, events)?;
                }
            }
        }
        match self {
            Dedup::Scanned(found) => Ok(found.contains(id)),
            Dedup::Indexed(_) => unreachable!("replaced by a scan above"),
        }
    }
}

/// Whether nothing is at `path` (the append is about to create the log).
fn is_missing(fs: &dyn crate::fs::Fs, path: &Path) -> bool {
    matches!(fs.symlink_metadata(path), Err(err) if err.kind() == io::ErrorKind::NotFound)
}

/// The flush, after the lock is released, so that the flushes of concurrent appenders overlap and
/// the kernel commits them together; an event is acknowledged only after its own flush. A log
/// this append created has its name made durable too: without it, a power loss could take the
/// new log, with every event acknowledged in it.
fn flush(
    fs: &dyn crate::fs::Fs,
    target: &Path,
    file: &File,
    durability: Durability,
    wrote: bool,
    created: bool,
) -> Result<(), LogError> {
    if durability == Durability::Sync && wrote {
        fs.sync_data(file).map_err(io_error(target, "fdatasync"))?;
    }
    if durability == Durability::Sync
        && created
        && let Some(dir) = target.parent()
    {
        fs.sync_dir(dir).map_err(io_error(dir, "fsync"))?;
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
) -> Result<Cut, LogError> {
    let tail = read_range(fs, file, end, len).map_err(io_error(target, "read"))?;
    let block = Block { offset: end, bytes: &tail, reason: Reason::TornTail };
    let rejected = super::rejected::keep(fs, target, &[block], durability)?;
    fs.set_len(file, end).map_err(io_error(target, "cut the torn tail of"))?;
    Ok(Cut { bytes: len - end, rejected })
}
