//! Following a log like `tail -F`: at every wake-up the follower compares the file its path
//! names (inode) and that file's size with what it reads, and goes on in a replaced or truncated
//! log without skipping or repeating an event.

use std::fs::File;
use std::io;

use super::lines::{is_valid, line_at};
use super::read::Reader;
use super::{Access, LogError, io_error, open_log};
use crate::fs::Fs;

/// What happened to a followed log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Another file now has the log's name: a repair, a `mv`, another tool's rewrite.
    Replaced,
    /// The file is shorter than what was read from it: truncated in place.
    Truncated,
}

/// A change a follower noticed, and where it reads on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changed {
    /// What happened.
    pub change: Change,
    /// Where reading goes on in the log as it is now.
    pub offset: u64,
    /// Events at the start of the new file that were already read from the old one, not shown
    /// again.
    pub skipped: usize,
}

impl Reader {
    /// What a follower calls at every wake-up: whether the path still names the file being read,
    /// and that file is not shorter than what was read.
    ///
    /// A replaced log is read on after the events that start both files alike (a repair keeps
    /// the old log's events in order, minus corrupt lines): nothing already read is shown again,
    /// and a different log is shown from its start. A truncated log is read from its start, as
    /// `tail -F` does. A path that names nothing for a moment (between a removal and a new file)
    /// is waited for.
    pub fn notice_change(&mut self) -> Result<Option<Changed>, LogError> {
        let Ok(named) = self.fs.metadata(&self.path) else { return Ok(None) };
        let ours = self.fs.file_metadata(&self.file).map_err(io_error(&self.path, "stat"))?;
        if crate::sys::file_id(&named) != crate::sys::file_id(&ours) {
            let new = open_log(&*self.fs, &self.path, Access::Read)?;
            let (offset, line, skipped) = shared_start(&*self.fs, &self.file, self.offset, &new)
                .map_err(io_error(&self.path, "read"))?;
            self.file = new;
            self.restart_at(offset);
            self.line = line;
            if self.watch.is_some() {
                // inotify watches an inode: watch the new one.
                self.watch = Some(crate::sys::Watch::new(&self.path).map_err(io_error(&self.path, "watch"))?);
            }
            return Ok(Some(Changed { change: Change::Replaced, offset, skipped }));
        }
        if ours.len() < self.offset {
            self.restart_at(0);
            self.line = 1;
            return Ok(Some(Changed { change: Change::Truncated, offset: 0, skipped: 0 }));
        }
        Ok(None)
    }
}

/// Reads the old file's events before `old_end` and the new file's from its start side by side
/// while they are the same: returns where the new file's first unseen line starts, its line
/// number, and how many events were the same.
fn shared_start(fs: &dyn Fs, old: &File, old_end: u64, new: &File) -> io::Result<(u64, usize, usize)> {
    let new_end = fs.file_metadata(new)?.len();
    let (mut old_at, mut old_lines, mut new_at, mut new_lines) = (0, 0, 0, 0);
    let (mut resume, mut line, mut same) = (0, 1, 0);
    while let Some(seen) = next_event(fs, old, &mut old_at, old_end, &mut old_lines)? {
        match next_event(fs, new, &mut new_at, new_end, &mut new_lines)? {
            Some(now) if now == seen => {
                same += 1;
                (resume, line) = (new_at, new_lines + 1);
            }
            _ => break,
        }
    }
    Ok((resume, line, same))
}

/// The next complete line before `end` that is an event, from `*at` (moved past it; `lines`
/// counts the lines passed).
fn next_event(
    fs: &dyn Fs,
    file: &File,
    at: &mut u64,
    end: u64,
    lines: &mut usize,
) -> io::Result<Option<Vec<u8>>> {
    while let Some(line) = line_at(fs, file, *at, end)? {
        *at += line.len() as u64 + 1;
        *lines += 1;
        if is_valid(&line) {
            return Ok(Some(line));
        }
    }
    Ok(None)
}
