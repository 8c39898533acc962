//! Reading a log as it grows: events in order from an offset, in constant memory, never a torn
//! tail; corrupt complete lines reported by number. `verify` and `repair`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::index::{self, index_path};
use super::lines::{complete_end, is_valid, parse, read_range, scan};
use super::rejected::{Block, Reason};
use super::{Access, LogError, io_error, open_log, refuse_special};
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
    /// A complete line that is not one JSON value (a torn tail, never complete, is not one).
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
    pub(super) fs: Arc<dyn Fs>,
    pub(super) path: PathBuf,
    pub(super) file: File,
    buffer: Vec<u8>,
    /// The file offset of `buffer[0]`.
    buffer_at: u64,
    /// The offset of the next line to return.
    pub(super) offset: u64,
    /// How many bytes after `offset` are known to hold no line break: each byte is searched
    /// once, so a line of any length is read in linear time.
    searched: usize,
    /// Bytes searched for line breaks since the reader was opened (for tests of the above).
    scanned: u64,
    pub(super) line: usize,
    pub(super) watch: Option<crate::sys::Watch>,
}

impl Reader {
    /// Opens the log at `path` to read from `from` (rounded up to the next line start when it
    /// falls inside a line).
    pub fn open(fs: Arc<dyn Fs>, path: &Path, from: u64) -> Result<Reader, LogError> {
        refuse_special(&*fs, path)?;
        let file = open_log(&*fs, path, Access::Read)?;
        let meta = fs.file_metadata(&file).map_err(io_error(path, "stat"))?;
        // An offset past the end is the end: a follower then waits for what comes next.
        let from = from.min(meta.len());
        let mut reader = Reader {
            fs,
            path: path.to_owned(),
            file,
            buffer: Vec::new(),
            buffer_at: from,
            offset: from,
            searched: 0,
            scanned: 0,
            line: 1,
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
                    reader.restart_at(meta.len());
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

    /// The next event or corrupt line; `None` at the end of the complete lines (a torn or
    /// still-growing last line is not returned, and is read again by the next call).
    pub fn next_item(&mut self) -> Result<Option<Item>, LogError> {
        let line_offset = self.offset;
        let Some((line, next)) = self.next_line()? else { return Ok(None) };
        let number = self.line;
        self.line += 1;
        self.offset = next;
        Ok(Some(if is_valid(&line) {
            Item::Event(Entry { offset: line_offset, next, line: number, raw: line })
        } else {
            Item::Corrupt { line: number, offset: line_offset }
        }))
    }

    /// Forgets the buffer and reads on from `offset` (in the same file or a new one).
    pub(super) fn restart_at(&mut self, offset: u64) {
        self.buffer.clear();
        self.buffer_at = offset;
        self.offset = offset;
        self.searched = 0;
    }

    /// The next complete line at `offset` and the offset after it, without consuming a partial
    /// line. Invariant: `offset` lies within the buffer (`buffer_at..=buffer_at + len`), and the
    /// `searched` bytes after it hold no line break.
    fn next_line(&mut self) -> Result<Option<(Vec<u8>, u64)>, LogError> {
        loop {
            let start = (self.offset - self.buffer_at) as usize;
            let unsearched = &self.buffer[start + self.searched..];
            let found = unsearched.iter().position(|byte| *byte == b'\n');
            self.scanned += found.map_or(unsearched.len(), |newline| newline + 1) as u64;
            if let Some(newline) = found {
                let end = start + self.searched + newline;
                self.searched = 0;
                return Ok(Some((self.buffer[start..end].to_vec(), self.buffer_at + end as u64 + 1)));
            }
            self.searched = self.buffer.len() - start;
            if start > 0 {
                self.buffer.drain(..start);
                self.buffer_at = self.offset;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Reads more bytes after the buffer (as many again as it holds, so that a long line takes
    /// few reads); `false` at the end of the file.
    fn fill(&mut self) -> Result<bool, LogError> {
        let had = self.buffer.len();
        self.buffer.resize(had + had.max(BUFFER), 0);
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
    /// Bytes of torn tail after the last complete line.
    pub torn_tail_bytes: u64,
    /// Line numbers of complete lines that are not one JSON value.
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
    refuse_special(fs, path)?;
    let file = open_log(fs, path, Access::Read)?;
    verify_open(fs, path, &file)
}

fn verify_open(fs: &dyn Fs, path: &Path, file: &File) -> Result<Verified, LogError> {
    let len = fs.file_metadata(file).map_err(io_error(path, "stat"))?.len();
    let end = complete_end(fs, file, len).map_err(io_error(path, "read"))?;
    let mut lines = 0;
    let mut corrupt = Vec::new();
    scan(fs, file, 0, end, |_, line| {
        lines += 1;
        if !is_valid(line) {
            corrupt.push(lines);
        }
        Ok(())
    })
    .map_err(io_error(path, "read"))?;
    Ok(Verified { lines, bytes: len, torn_tail_bytes: len - end, corrupt_lines: corrupt })
}

/// Under the log's lock: moves corrupt lines and the torn tail into `LOG.rejected` (each block
/// saying where it was), and leaves the log with its valid lines only (rewritten atomically).
/// Returns what was found before the repair.
pub fn repair(locker: &Locker, writer: &Writer, path: &Path) -> Result<Verified, LogError> {
    let fs = &**locker.file_system();
    refuse_special(fs, path)?;
    let lock = locker.lock(path)?;
    let target = lock.path().to_path_buf();
    let file = open_log(fs, &target, Access::Read)?;
    let found = verify_open(fs, &target, &file)?;
    if found.is_clean() {
        return Ok(found);
    }
    let end = found.bytes - found.torn_tail_bytes;
    let mut kept = Vec::new();
    let mut corrupt: Vec<(u64, Vec<u8>)> = Vec::new();
    scan(fs, &file, 0, end, |offset, line| {
        if is_valid(line) {
            kept.extend_from_slice(line);
            kept.push(b'\n');
        } else {
            let mut bytes = line.to_vec();
            bytes.push(b'\n');
            corrupt.push((offset, bytes));
        }
        Ok(())
    })
    .map_err(io_error(&target, "read"))?;
    let tail = read_range(fs, &file, end, found.bytes).map_err(io_error(&target, "read"))?;
    let mut blocks: Vec<Block> = corrupt
        .iter()
        .map(|(offset, bytes)| Block { offset: *offset, bytes, reason: Reason::CorruptLine })
        .collect();
    if !tail.is_empty() {
        blocks.push(Block { offset: end, bytes: &tail, reason: Reason::TornTail });
    }
    super::rejected::keep(fs, &target, &blocks, writer.durability_policy())?;
    let staged = writer.stage(&target, &kept)?;
    lock.check()?;
    staged.commit()?;
    // Offsets changed: the next append rebuilds the index. An index stet did not make stays.
    let _ = super::side::remove_if_stets(fs, &index_path(&target), index::is_stets);
    let _ = lock.release();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::{Item, Reader};

    #[test]
    fn a_long_line_is_searched_for_its_end_once_not_once_per_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.ndjson");
        let len = 8 << 20;
        let mut bytes = format!("{{\"p\":\"{}\"}}\n", "x".repeat(len)).into_bytes();
        bytes.extend_from_slice(b"{\"id\":2}\n");
        std::fs::write(&path, &bytes).unwrap();
        let mut reader = Reader::open(crate::fs::real(), &path, 0).unwrap();
        let mut events = 0;
        while let Some(item) = reader.next_item().unwrap() {
            assert!(matches!(item, Item::Event(_)));
            events += 1;
        }
        assert_eq!(events, 2);
        assert!(
            reader.scanned <= 2 * bytes.len() as u64,
            "{} bytes searched for line breaks in a {}-byte log: reading is not linear",
            reader.scanned,
            bytes.len()
        );
    }
}
