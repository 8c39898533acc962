//! Event logs: append, read, verify, repair.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::{Appended, CutTail, Error, LogChecked, Notice, Project};
use crate::log::{Change, Entry, IdRule, Item, LogError, Reader, Verified};

impl Project {
    /// Appends `events` to the log at `path` (created if missing), flushed before it returns.
    /// `ids`: how duplicates are recognised (default: the field `log.id_field`, `id`).
    pub fn log_append(&self, path: &Path, events: &[Value], ids: Option<IdRule>) -> Result<Appended, Error> {
        self.given(path, || {
            self.check_lease(path)?;
            if events.is_empty() {
                return Err(Error::usage(
                    "no event given: pass EVENT or events on standard input, one per line",
                ));
            }
            let rule = ids.unwrap_or_else(|| IdRule::Field(self.config().log_id_field.clone()));
            let appended =
                crate::log::append(&self.locker_for(path), self.durability(), path, events, Some(&rule))
                    .map_err(|err| Error::log(path, err))?;
            if let Some(notice) = &appended.index_notice {
                self.notify(&Notice::IndexUnusable {
                    path: notice.path.clone(),
                    message: notice.to_string(),
                });
            }
            Ok(Appended {
                appended: appended.appended,
                duplicates: appended.duplicates,
                offset: appended.offset,
                cut: appended.cut.map(|cut| CutTail { bytes: cut.bytes, rejected: cut.rejected }),
            })
        })
    }

    /// A reader of the log at `path` from the line that starts at or after `from`; corrupt lines
    /// are skipped and said as [`Notice::CorruptLine`]. A missing log is `ENOTFOUND`.
    pub fn log_reader(&self, path: &Path, from: u64) -> Result<LogReader, Error> {
        self.given(path, || {
            let reader = Reader::open(self.fs_arc(), path, from).map_err(|err| Error::log(path, err))?;
            Ok(LogReader { project: self.clone(), path: path.to_path_buf(), reader })
        })
    }

    /// Up to `limit` events of the log from `from` (see [`Project::log_reader`]).
    pub fn log_read(&self, path: &Path, from: u64, limit: Option<usize>) -> Result<Vec<Entry>, Error> {
        let mut reader = self.log_reader(path, from)?;
        let mut entries = Vec::new();
        while limit.is_none_or(|limit| entries.len() < limit) {
            match reader.next_event()? {
                Some(entry) => entries.push(entry),
                None => break,
            }
        }
        Ok(entries)
    }

    /// Checks the whole log without changing it.
    pub fn log_verify(&self, path: &Path) -> Result<LogChecked, Error> {
        self.given(path, || {
            let found = crate::log::verify(self.fs(), path).map_err(|err| Error::log(path, err))?;
            Ok(checked(path, &found))
        })
    }

    /// Cuts the torn tail and moves corrupt lines into `LOG.rejected`; reports what it found.
    pub fn log_repair(&self, path: &Path) -> Result<LogChecked, Error> {
        self.given(path, || {
            self.check_lease(path)?;
            let found = crate::log::repair(&self.locker_for(path), &self.writer(), path)
                .map_err(|err| Error::log(path, err))?;
            Ok(checked(path, &found))
        })
    }
}

fn checked(path: &Path, found: &Verified) -> LogChecked {
    LogChecked {
        path: path.to_path_buf(),
        lines: found.lines,
        bytes: found.bytes,
        torn_tail_bytes: found.torn_tail_bytes,
        corrupt_lines: found.corrupt_lines.clone(),
        clean: found.is_clean(),
    }
}

/// Reads a log's events in order, never a torn tail; follows it when asked.
#[derive(Debug)]
pub struct LogReader {
    project: Project,
    path: PathBuf,
    reader: Reader,
}

impl LogReader {
    /// The next event, or `None` at the end of what is there now.
    pub fn next_event(&mut self) -> Result<Option<Entry>, Error> {
        loop {
            match self.reader.next_item().map_err(|err| Error::log(&self.path, err))? {
                Some(Item::Event(entry)) => return Ok(Some(entry)),
                Some(Item::Corrupt { line, offset }) => {
                    self.project.notify(&Notice::CorruptLine { path: self.path.clone(), line, offset });
                }
                None => return Ok(None),
            }
        }
    }

    /// Waits up to `timeout` for the log to change (an append, a replacement). Call it once with
    /// a zero timeout before the first read when following, so no append in between is missed.
    pub fn wait(&mut self, timeout: Duration) -> Result<(), Error> {
        self.reader.wait(timeout).map_err(|err| Error::log(&self.path, err))
    }

    /// After a wait: notices a log that was replaced or truncated, says so as a notice, and goes
    /// on from the new file without repeating or skipping an event.
    pub fn follow_changes(&mut self) -> Result<(), Error> {
        let changed = self.reader.notice_change().map_err(|err| Error::log(&self.path, err))?;
        if let Some(changed) = changed {
            let (path, offset, skipped) = (self.path.clone(), changed.offset, changed.skipped);
            self.project.notify(&match changed.change {
                Change::Truncated => Notice::LogTruncated { path, offset, skipped },
                _ => Notice::LogReplaced { path, offset, skipped },
            });
        }
        Ok(())
    }

    /// Where the next line starts.
    pub fn offset(&self) -> u64 {
        self.reader.offset()
    }
}

/// One event given as text (a command-line argument): one JSON value on one line.
pub fn parse_event(log: &Path, text: &str) -> Result<Vec<Value>, Error> {
    if text.contains(['\n', '\r']) {
        return Err(Error::log(
            log,
            LogError::Malformed { number: 1, message: "an event must be on one line".into() },
        ));
    }
    parse_events(log, text)
}

/// Events given as NDJSON text (standard input, a request): one bad line refuses them all.
pub fn parse_events(log: &Path, text: &str) -> Result<Vec<Value>, Error> {
    crate::log::parse_events(text).map_err(|err| Error::log(log, err))
}
