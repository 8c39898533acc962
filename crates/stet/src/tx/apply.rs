//! The steps of a committed journal: applied by the transaction itself (renaming its staged
//! files), or again by recovery (from the journal's own copy of each content), idempotently.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::Kept;
use super::journal::{Journal, Step};
use crate::atomic::Writer;
use crate::fs::{Fs, IoError};
use crate::version::Version;

/// Applies every step of a transaction that has just committed: `temps` holds each replaced
/// file's staged copy. Then makes every change durable.
pub(crate) fn apply(
    fs: &dyn Fs,
    steps: &[Step],
    temps: &HashMap<PathBuf, PathBuf>,
    sync: bool,
) -> Result<(), IoError> {
    let mut durable = Durable::default();
    for step in steps {
        match step {
            Step::Replace { path, .. } => {
                let temp = &temps[path];
                fs.rename(temp, path).map_err(io_error(path, "rename the staged content over"))?;
                durable.dir_of(path);
            }
            Step::Delete { path, .. } => {
                remove(fs, path)?;
                durable.dir_of(path);
            }
            Step::Append { path, offset, content } => {
                let bytes = content.bytes().map_err(|why| invalid(path, why))?;
                durable.logs.push(write_events(fs, path, *offset, &bytes)?);
                durable.dir_of(path);
            }
            Step::Publish { path, temp } => {
                fs.rename_noreplace(temp, path).map_err(io_error(path, "publish the entry"))?;
                durable.dir_of(path);
            }
        }
    }
    if sync { durable.sync(fs) } else { Ok(()) }
}

/// Applies again what a crash may have left undone, checking each file against the versions
/// the journal recorded: a step already done is skipped, one whose file someone changed since
/// (outside stet's locks) is reported in the returned list and left alone.
pub(crate) fn redo(fs: &dyn Fs, writer: &Writer, journal: &Journal) -> Result<Vec<Kept>, IoError> {
    let mut durable = Durable::default();
    let mut kept = Vec::new();
    let mut keep = |path: &Path, why: String| kept.push(Kept { path: path.to_path_buf(), why });
    for step in &journal.steps {
        match step {
            Step::Replace { path, old, new, content } => {
                let now = version_of(fs, path)?.to_string();
                if now == *new {
                    durable.dir_of(path);
                } else if now == *old {
                    let bytes = content.bytes().map_err(|why| invalid(path, why))?;
                    writer.write(path, &bytes).map_err(|err| IoError {
                        path: path.clone(),
                        step: "write the transaction's content to",
                        source: io::Error::other(err.to_string()),
                    })?;
                } else {
                    keep(
                        path,
                        format!(
                            "changed since transaction {} began (version {now}); its new content was not written",
                            journal.id
                        ),
                    );
                }
            }
            Step::Delete { path, old } => {
                let now = version_of(fs, path)?;
                if now == Version::MISSING {
                    durable.dir_of(path);
                } else if now.to_string() == *old {
                    remove(fs, path)?;
                    durable.dir_of(path);
                } else {
                    keep(
                        path,
                        format!(
                            "changed since transaction {} began (version {now}); it was not deleted",
                            journal.id
                        ),
                    );
                }
            }
            Step::Append { path, offset, content } => {
                let bytes = content.bytes().map_err(|why| invalid(path, why))?;
                let len = match fs.symlink_metadata(path) {
                    Ok(meta) => meta.len(),
                    Err(err) if err.kind() == io::ErrorKind::NotFound => 0,
                    Err(source) => return Err(IoError { path: path.clone(), step: "inspect", source }),
                };
                if len < *offset {
                    keep(
                        path,
                        format!(
                            "shorter than when transaction {} began ({len} bytes, not {offset}); its events were not appended",
                            journal.id
                        ),
                    );
                    continue;
                }
                // Nobody appends while the journal is there (its lock holders settle it first):
                // whatever follows the offset is this transaction's own torn write.
                durable.logs.push(write_events(fs, path, *offset, &bytes)?);
                durable.dir_of(path);
            }
            Step::Publish { path, temp } => match fs.symlink_metadata(temp) {
                Ok(_) => match fs.rename_noreplace(temp, path) {
                    Ok(()) => durable.dir_of(path),
                    Err(err) if err.kind() == io::ErrorKind::AlreadyExists => keep(
                        temp,
                        format!(
                            "the entry of transaction {} could not be published: {} exists",
                            journal.id,
                            path.display()
                        ),
                    ),
                    Err(source) => {
                        return Err(IoError { path: path.clone(), step: "publish the entry", source });
                    }
                },
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    if fs.symlink_metadata(path).is_err() {
                        keep(
                            path,
                            format!(
                                "the entry of transaction {} was lost before it was published",
                                journal.id
                            ),
                        );
                    } else {
                        durable.dir_of(path);
                    }
                }
                Err(source) => return Err(IoError { path: temp.clone(), step: "inspect", source }),
            },
        }
    }
    durable.sync(fs)?;
    Ok(kept)
}

/// What must be made durable once the steps are applied.
#[derive(Default)]
struct Durable {
    dirs: Vec<PathBuf>,
    logs: Vec<(PathBuf, File)>,
}

impl Durable {
    fn dir_of(&mut self, path: &Path) {
        if let Some(dir) = path.parent()
            && !self.dirs.iter().any(|known| known == dir)
        {
            self.dirs.push(dir.to_path_buf());
        }
    }

    /// fsyncs every touched directory and log, in parallel: their flushes overlap.
    fn sync(self, fs: &dyn Fs) -> Result<(), IoError> {
        let dirs = self.dirs.iter().map(|dir| (dir.as_path(), None));
        let logs = self.logs.iter().map(|(path, file)| (path.as_path(), Some(file)));
        let work: Vec<(&Path, Option<&File>)> = dirs.chain(logs).collect();
        let one = |(path, file): &(&Path, Option<&File>)| match file {
            None => fs.sync_dir(path).map_err(io_error(path, "fsync")),
            Some(file) => fs.sync_data(file).map_err(io_error(path, "fdatasync")),
        };
        if work.len() < 2 {
            return work.iter().try_for_each(one);
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = work.iter().map(|item| scope.spawn(move || one(item))).collect();
            handles
                .into_iter()
                .try_for_each(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        })
    }
}

/// Writes a transaction's events at `offset` of the log (made if missing) and cuts anything
/// after them (a torn earlier attempt of the same write); returns the open log for its flush.
fn write_events(fs: &dyn Fs, path: &Path, offset: u64, bytes: &[u8]) -> Result<(PathBuf, File), IoError> {
    let file = fs.open_no_block(path, Some(0o666)).map_err(io_error(path, "open"))?;
    let meta = fs.file_metadata(&file).map_err(io_error(path, "stat"))?;
    if !meta.is_file() {
        return Err(invalid(
            path,
            format!("it is {}, not a log", crate::fs::FileKind::describe_metadata(&meta)),
        ));
    }
    fs.write_at(&file, bytes, offset).map_err(io_error(path, "append to"))?;
    let end = offset + bytes.len() as u64;
    if meta.len() > end {
        fs.set_len(&file, end).map_err(io_error(path, "cut a torn append from"))?;
    }
    Ok((path.to_path_buf(), file))
}

fn remove(fs: &dyn Fs, path: &Path) -> Result<(), IoError> {
    match fs.remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(io_error(path, "delete")(err)),
        _ => Ok(()),
    }
}

fn version_of(fs: &dyn Fs, path: &Path) -> Result<Version, IoError> {
    crate::version::of_file(fs, path).map_err(io_error(path, "read"))
}

fn invalid(path: &Path, why: String) -> IoError {
    IoError {
        path: path.to_path_buf(),
        step: "use the journal's step for",
        source: io::Error::new(io::ErrorKind::InvalidData, why),
    }
}

fn io_error(path: &Path, step: &'static str) -> impl FnOnce(io::Error) -> IoError {
    let path = path.to_path_buf();
    move |source| IoError { path, step, source }
}
