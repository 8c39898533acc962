//! `LOG.rejected`: every byte stet cuts or moves out of a log, in blocks that say where each came
//! from. Each block is a one-line JSON header, then the bytes exactly, then a `\n` when the bytes
//! do not end in one:
//!
//! ```text
//! {"stet_rejected":1,"log":"events.ndjson","offset":8190,"bytes":23,"reason":"torn tail","time":"2026-03-01T10:00:00.000Z"}
//! ```
//!
//! The header's fixed start is how stet recognises its own file: it appends only to a missing or
//! empty `LOG.rejected` or to one that starts so, and refuses anything else.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::side::{self, Side};
use super::{LogError, io_error};
use crate::atomic::Durability;
use crate::fs::Fs;

/// How every `LOG.rejected` stet writes starts (format version 1).
const START: &[u8] = b"{\"stet_rejected\":";

/// Why bytes left the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The bytes after the last line break (a crash mid-append).
    TornTail,
    /// A complete line that is not one JSON value (moved by `repair`).
    CorruptLine,
}

/// Bytes that leave the log, and where they were.
#[derive(Debug)]
pub(crate) struct Block<'a> {
    pub offset: u64,
    pub bytes: &'a [u8],
    pub reason: Reason,
}

/// `LOG.rejected`.
pub(crate) fn rejected_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".rejected");
    name.into()
}

/// Appends `blocks` to `LOG.rejected` (made if missing; flushed when durable), before they leave
/// the log. Refuses with [`LogError::NotStets`] a file there that stet did not make.
pub(crate) fn keep(
    fs: &dyn Fs,
    log: &Path,
    blocks: &[Block],
    durability: Durability,
) -> Result<PathBuf, LogError> {
    let path = rejected_path(log);
    let file = open(fs, &path, durability)?;
    let at = fs.file_metadata(&file).map_err(io_error(&path, "stat"))?.len();
    let time = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    let log_name = serde_json::to_string(&log.to_string_lossy()).expect("strings serialize");
    let mut bytes = Vec::new();
    for block in blocks {
        let reason = match block.reason {
            Reason::TornTail => "torn tail",
            Reason::CorruptLine => "corrupt line",
        };
        bytes.extend_from_slice(START);
        bytes.extend_from_slice(
            format!(
                "1,\"log\":{log_name},\"offset\":{},\"bytes\":{},\"reason\":\"{reason}\",\"time\":\"{time}\"}}\n",
                block.offset,
                block.bytes.len()
            )
            .as_bytes(),
        );
        bytes.extend_from_slice(block.bytes);
        if block.bytes.last() != Some(&b'\n') {
            bytes.push(b'\n');
        }
    }
    fs.write_at(&file, &bytes, at).map_err(io_error(&path, "write"))?;
    if durability == Durability::Sync {
        fs.sync_data(&file).map_err(io_error(&path, "fdatasync"))?;
    }
    Ok(path)
}

/// Opens `LOG.rejected` if it is stet's or empty, or creates it (never through a symlink: an
/// exclusive create does not follow one).
fn open(fs: &dyn Fs, path: &Path, durability: Durability) -> Result<std::fs::File, LogError> {
    // Twice at most: a file that appears between the look and the create is looked at again.
    for _ in 0..2 {
        // NUL bytes at the start are what a power loss leaves of stet's first write to it (the
        // size reached the disk, the data did not).
        let stets = |start: &[u8]| start.starts_with(START) || start.first() == Some(&0);
        match side::open(fs, path, stets).map_err(io_error(path, "open"))? {
            Side::Usable(file) => return Ok(file),
            Side::Foreign(found) => return Err(LogError::NotStets { path: path.to_owned(), found }),
            Side::Missing => match fs.create_new(path, 0o666) {
                Ok(file) => {
                    // The new name must last as long as the bytes the log gives up to it.
                    if durability == Durability::Sync
                        && let Some(dir) = path.parent()
                    {
                        fs.sync_dir(dir).map_err(io_error(dir, "fsync"))?;
                    }
                    return Ok(file);
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(io_error(path, "create")(err)),
            },
        }
    }
    Err(LogError::NotStets { path: path.to_owned(), found: "a file that keeps changing" })
}
