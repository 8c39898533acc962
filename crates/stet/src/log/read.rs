//! Reading a log as it grows: events in order from an offset, in constant memory, never a torn
//! tail; corrupt lines in the middle reported by number. `verify` and `repair`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::append::keep_rejected;
use super::index::index_path;
use super::lines::{is_valid, parse, read_range, scan, valid_end};
use super::{LogError, io_error, open_error};
use crate::atomic::Writer;
use crate::fs::Fs;
use crate::lock::Locker;

const BUFFER: usize = 64 * 1024;

/// An event and where its line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Where the event's line starts.
    pub offset: u64,
    /// Where the next line starts (resume there with `--from`).
    pub next: u64,
    /// The 1-based line number, counted from where reading started when that was not the start.
    pub line: usize,
    /// The event's line as it is in the log (one JSON value, without the line break).
    pub raw: Vec<u8>,
}

impl Entry {
    /// The event.
    pub fn event(&self) -> Value {
        parse(&self.raw).expect("entries hold valid lines")
    }
}

/// What a reader found next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An event.
    Event(Entry),
    /// A corrupt line followed by valid ones (so not a torn tail).
    Corrupt {
        /// Its 1-based line number.
        line: usize,
        /// Where it starts.
        offset: u64,
    },
}

/// Reads a log's complete lines from an offset, with a fixed buffer.
#[derive(Debug)]
pub struct Reader {
    fs: Arc<dyn Fs>,
    path: PathBuf,
    file: File,
    buffer: Vec<u8>,
    /// The file offset of `buffer[0]`.
    buffer_at: u64,
    /// The offset of the next line to return.
    offset: u64,
    line: usize,
    /// Corrupt lines seen but not yet known to be in the middle: (line, offset).
    suspect: Vec<(usize, u64)>,
    ready: std::collections::VecDeque<Item>,
    watch: Option<crate::sys::Watch>,
}

impl Reader {
    /// Opens the log at `path` to read from `from` (rounded up to the next line start when it
    /// falls inside a line).
    pub fn open(fs: Arc<dyn Fs>, path: &Path, from: u64) -> Result<Reader, LogError> {
        let file = fs.open_read(path).map_err(open_error(path))?;
        let meta = fs.file_metadata(&file).map_err(io_error(path, "stat"))?;
        if meta.is_dir() {
            return Err(LogError::Io {
                path: path.to_owned(),
                step: "read",
                source: std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a directory, not a log"),
            });
        }
        let mut reader = Reader {
            fs,
            path: path.to_owned(),
            file,
            buffer: Vec::new(),
            buffer_at: from,
            offset: from,
            line: 1,
            suspect: Vec::new(),
            ready: std::collections::VecDeque::new(),
            watch: None,
        };
        if from > 0 && from <= meta.len() {
            let before =
                read_range(&*reader.fs, &reader.file, from - 1, from).map_err(io_error(path, "read"))?;
            if before != b"\n" {
                // Inside a line: skip to the next one (or to the end, if it is the last).
                if let Some((_, next)) = reader.next_line()? {
                    reader.offset = next;
                } else {
                    reader.offset = meta.len();
                    reader.buffer_at = meta.len();
                    reader.buffer.clear();
                }
            }
        }
        Ok(reader)
    }

    /// Waits until the log changes (inotify where there is one), or `timeout` passes: what a
    /// follower does after [`Reader::next_item`] returned `None`.
    pub fn wait(&mut self, timeout: std::time::Duration) -> Result<(), LogError> {
        if self.watch.is_none() {
            self.watch = Some(crate::sys::Watch::new(&self.path).map_err(io_error(&self.path, "watch"))?);
        }
        self.watch.as_ref().expect("set above").wait(timeout).map_err(io_error(&self.path, "watch"))
    }

    /// Where the next line to be read starts: a consumer resumes there.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next event or corrupt middle line; `None` at the end of the complete lines (a torn or
    /// still-growing last line is not returned, and is read again by the next call).
    pub fn next_item(&mut self) -> Result<Option<Item>, LogError> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Ok(Some(item));
            }
            let line_offset = self.offset;
            let Some((line, next)) = self.next_line()? else { return Ok(None) };
            let number = self.line;
            self.line += 1;
            self.offset = next;
            if is_valid(&line) {
                for (line, offset) in self.suspect.drain(..) {
                    self.ready.push_back(Item::Corrupt { line, offset });
                }
                self.ready.push_back(Item::Event(Entry {
                    offset: line_offset,
                    next,
                    line: number,
                    raw: line,
                }));
            } else {
                self.suspect.push((number, line_offset));
            }
        }
    }

    /// The next complete line at `offset` and the offset after it, without consuming a partial
    /// line. Invariant: `offset` lies within the buffer (`buffer_at..=buffer_at + len`).
    fn next_line(&mut self) -> Result<Option<(Vec<u8>, u64)>, LogError> {
        loop {
            let start = (self.offset - self.buffer_at) as usize;
            if let Some(newline) = self.buffer[start..].iter().position(|byte| *byte == b'\n') {
                let end = start + newline;
                return Ok(Some((self.buffer[start..end].to_vec(), self.buffer_at + end as u64 + 1)));
            }
            if start > 0 {
                self.buffer.drain(..start);
                self.buffer_at = self.offset;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Reads more bytes after the buffer; `false` at the end of the file.
    fn fill(&mut self) -> Result<bool, LogError> {
        let had = self.buffer.len();
        self.buffer.resize(had + BUFFER, 0);
        let at = self.buffer_at + had as u64;
        let read =
            self.fs.read_at(&self.file, &mut self.buffer[had..], at).map_err(io_error(&self.path, "read"));
        let read = match read {
            Ok(read) => read,
            Err(err) => {
                self.buffer.truncate(had);
                return Err(err);
            }
        };
        self.buffer.truncate(had + read);
        Ok(read > 0)
    }
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Complete lines (valid and corrupt), the torn tail not counted.
    pub lines: usize,
    /// The log's size.
    pub bytes: u64,
    /// Bytes of torn tail after the last valid line.
    pub torn_tail_bytes: u64,
    /// Line numbers of corrupt lines before the last valid line.
    pub corrupt_lines: Vec<usize>,
}

impl Verified {
    /// Whether the log has neither a torn tail nor corrupt lines.
    pub fn is_clean(&self) -> bool {
        self.torn_tail_bytes == 0 && self.corrupt_lines.is_empty()
    }
}

/// Checks the whole log without changing it.
pub fn verify(fs: &dyn Fs, path: &Path) -> Result<Verified, LogError> {
    let file = fs.open_read(path).map_err(open_error(path))?;
    let len = fs.file_metadata(&file).map_err(io_error(path, "stat"))?.len();
    let end = valid_end(fs, &file, len).map_err(io_error(path, "read"))?;
    let mut lines = 0;
    let mut corrupt = Vec::new();
    scan(fs, &file, 0, end, |_, line| {
        lines += 1;
        if !is_valid(line) {
            corrupt.push(lines);
        }
        Ok(())
    })
    .map_err(io_error(path, "read"))?;
    Ok(Verified { lines, bytes: len, torn_tail_bytes: len - end, corrupt_lines: corrupt })
}

/// Under the log's lock: moves corrupt lines and the torn tail into `LOG.rejected`, and leaves
/// the log with its valid lines only (rewritten atomically when lines are removed from the
/// middle). Returns what was found before the repair.
pub fn repair(locker: &Locker, writer: &Writer, path: &Path) -> Result<Verified, LogError> {
    let fs = &**locker.file_system();
    let lock = locker.lock(path)?;
    let target = lock.path().to_path_buf();
    let found = verify(fs, &target)?;
    if found.is_clean() {
        return Ok(found);
    }
    let file = fs.open_read(&target).map_err(open_error(&target))?;
    let end = found.bytes - found.torn_tail_bytes;
    let mut kept = Vec::new();
    let mut rejected = Vec::new();
    scan(fs, &file, 0, found.bytes, |_, line| {
        let into = if is_valid(line) { &mut kept } else { &mut rejected };
        into.extend_from_slice(line);
        into.push(b'\n');
        Ok(())
    })
    .map_err(io_error(&target, "read"))?;
    let tail_start = super::lines::line_start_before(fs, &file, found.bytes.max(1) - 1)
        .map_err(io_error(&target, "read"))?;
    if tail_start >= end && tail_start < found.bytes {
        // The unterminated fragment, which `scan` does not return.
        let fragment = super::lines::read_range(fs, &file, tail_start, found.bytes)
            .map_err(io_error(&target, "read"))?;
        if !fragment.is_empty() && fragment.last() != Some(&b'\n') {
            rejected.extend_from_slice(&fragment);
            rejected.push(b'\n');
        }
    }
    keep_rejected(fs, &target, &rejected, writer.durability_policy())?;
    let staged = writer.stage(&target, &kept)?;
    lock.check()?;
    staged.commit()?;
    let _ = fs.remove_file(&index_path(&target));
    let _ = lock.release();
    Ok(found)
}
