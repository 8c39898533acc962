//! The journal: what a committed transaction does, in one file under `ROOT/.stet/tx/` whose
//! durable presence under its final name is the commit point.
//!
//! `ID.tx` is JSON (see docs/design.md): the locks to take again, and the steps, each with the
//! new content inline, so that recovery can finish a transaction whose staged files a crash
//! lost. It is written as `ID.tx.tmp`, fsynced, exclusively flocked, and renamed to `ID.tx`; the
//! flock is held until the journal is removed, so an `ID.tx` that nobody holds belongs to a
//! transaction whose process died.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::fs::{Fs, IoError, LockKind};

/// The journal format this version writes and reads.
pub(crate) const FORMAT: &str = "stet-tx/1";

/// A committed journal's file-name suffix.
pub(crate) const SUFFIX: &str = ".tx";

/// A journal being written (not committed) has this after [`SUFFIX`].
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

/// `ROOT/.stet/tx`.
pub(crate) fn dir_of(root: &Path) -> PathBuf {
    root.join(".stet").join("tx")
}

/// What a committed transaction does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Journal {
    pub format: String,
    pub id: String,
    pub pid: u32,
    pub host: String,
    pub created_at: String,
    /// The files whose locks the transaction holds (resolved, sorted): recovery takes them again.
    pub locks: Vec<PathBuf>,
    pub steps: Vec<Step>,
}

/// One effect of a committed transaction, each idempotent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub(crate) enum Step {
    /// Replace `path`, at version `old` before the transaction, with this content (version
    /// `new`); the transaction renames a staged copy, recovery writes it again.
    Replace {
        path: PathBuf,
        old: String,
        new: String,
        #[serde(flatten)]
        content: Content,
    },
    /// Remove `path`, at version `old` before the transaction.
    Delete { path: PathBuf, old: String },
    /// Write these bytes at `offset` of the log `path` (its end when the transaction began).
    Append {
        path: PathBuf,
        offset: u64,
        #[serde(flatten)]
        content: Content,
    },
    /// Rename the entry built at `temp` to `path`, never replacing anything.
    Publish { path: PathBuf, temp: PathBuf },
}

/// Bytes in a journal: as text when they are UTF-8, else in base64.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Content {
    Text { text: String },
    Base64 { base64: String },
}

impl Content {
    pub fn of(bytes: &[u8]) -> Content {
        match std::str::from_utf8(bytes) {
            Ok(text) => Content::Text { text: text.to_owned() },
            Err(_) => Content::Base64 { base64: base64::engine::general_purpose::STANDARD.encode(bytes) },
        }
    }

    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        match self {
            Content::Text { text } => Ok(text.clone().into_bytes()),
            Content::Base64 { base64 } => base64::engine::general_purpose::STANDARD
                .decode(base64)
                .map_err(|err| format!("content is not base64: {err}")),
        }
    }
}

/// A fresh transaction id: `MILLIS-HOSTTAG-PID-RANDOM`, which names the process that made it.
pub(crate) fn new_id() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    format!("{millis:013}-{}-{}-{:08x}", host_tag(), std::process::id(), fastrand::u32(..))
}

/// Eight hex digits that tell this host from others sharing the root's file system.
pub(crate) fn host_tag() -> String {
    format!("{:08x}", crate::atomic::host_tag())
}

/// The process and host tag an id names, if it is one of stet's.
pub(crate) fn maker_of(id: &str) -> Option<(String, u32)> {
    let mut parts = id.split('-');
    let (_millis, host, pid, _random) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || host.len() != 8 {
        return None;
    }
    Some((host.to_owned(), pid.parse().ok()?))
}

/// A committed journal, exclusively flocked by this process until it is dropped or removed.
#[derive(Debug)]
pub(crate) struct Committed {
    pub path: PathBuf,
    /// Holds the journal's exclusive flock: the transaction is live while this is open.
    pub _lock: File,
}

/// Writes `journal` and commits it: temporary name, write, fsync, flock, rename, fsync of the
/// journal directory. Returns when the transaction is committed (durably, with `sync`).
pub(crate) fn commit(fs: &dyn Fs, root: &Path, journal: &Journal, sync: bool) -> Result<Committed, IoError> {
    let dir = dir_of(root);
    let bytes = serde_json::to_vec(journal).expect("a journal serializes");
    let final_path = dir.join(format!("{}{SUFFIX}", journal.id));
    let temp = dir.join(format!("{}{SUFFIX}{TEMP_SUFFIX}", journal.id));
    // Retried when another process got in the way: someone removed the (empty) directory
    // between our mkdir and our create, or a recoverer took the new journal
    // for a dead one in the instant before its flock, and removed it (it was empty then).
    let mut attempt = 0;
    let file = loop {
        attempt += 1;
        let retry = attempt < 50;
        ensure_dir(fs, root, sync)?;
        let mut file = match fs.create_new(&temp, 0o600) {
            Ok(file) => file,
            Err(err)
                if retry && matches!(err.kind(), io::ErrorKind::NotFound | io::ErrorKind::AlreadyExists) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(1));
                continue;
            }
            Err(err) => return Err(io_error(&temp, "create the journal")(err)),
        };
        match fs.try_lock(&file, LockKind::Exclusive) {
            Ok(true) => {}
            Ok(false) if retry => continue,
            Ok(false) => {
                return Err(io_error(&temp, "lock the journal")(io::Error::other(
                    "another process holds it",
                )));
            }
            Err(err) => return Err(io_error(&temp, "lock the journal")(err)),
        }
        let written =
            fs.write_all(&mut file, &bytes).and_then(|()| if sync { fs.sync(&file) } else { Ok(()) });
        let renamed = written.and_then(|()| fs.rename(&temp, &final_path));
        match renamed {
            Ok(()) => break file,
            Err(err) if retry && err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => {
                let _ = fs.remove_file(&temp);
                return Err(io_error(&temp, "write the journal")(err));
            }
        }
    };
    if sync && let Err(err) = fs.sync_dir(&dir) {
        // Not known to be committed: take it back, so that an error means nothing was done.
        let _ = fs.remove_file(&final_path);
        return Err(io_error(&dir, "fsync the journal directory")(err));
    }
    // The commit point: from here on, recovery finishes the transaction.
    Ok(Committed { path: final_path, _lock: file })
}

fn io_error(path: &Path, step: &'static str) -> impl FnOnce(io::Error) -> IoError {
    let path = path.to_path_buf();
    move |source| IoError { path, step, source }
}

/// Makes `.stet/tx` (and `.stet`) if missing, each made durable in its parent.
fn ensure_dir(fs: &dyn Fs, root: &Path, sync: bool) -> Result<(), IoError> {
    let stet = root.join(".stet");
    let durability = if sync { crate::atomic::Durability::Sync } else { crate::atomic::Durability::None };
    if !crate::root::make_stet_dir(fs, &stet, durability)? {
        must_be_dir(fs, &stet)?;
    }
    let dir = dir_of(root);
    match fs.create_dir(&dir) {
        Ok(()) if sync => fs.sync_dir(&stet).map_err(io_error(&stet, "fsync")),
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => must_be_dir(fs, &dir),
        Err(source) => Err(IoError { path: dir, step: "create", source }),
    }
}

/// Refuses what is at `dir` unless it is a directory (a link or a file planted there).
fn must_be_dir(fs: &dyn Fs, dir: &Path) -> Result<(), IoError> {
    let meta = fs.symlink_metadata(dir).map_err(io_error(dir, "inspect"))?;
    if meta.is_dir() {
        return Ok(());
    }
    Err(IoError {
        path: dir.to_path_buf(),
        step: "use",
        source: io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "it is {}, not the directory stet keeps its journals in",
                crate::fs::FileKind::describe_metadata(&meta)
            ),
        ),
    })
}

/// Removes a finished journal durably (the transaction's locks may be released only after this:
/// a journal that came back after a power loss would replay over newer changes). The directory
/// stays: making it again would cost the next transaction an fsync of `.stet`.
pub(crate) fn remove(fs: &dyn Fs, root: &Path, path: &Path, sync: bool) -> Result<(), IoError> {
    let dir = dir_of(root);
    fs.remove_file(path).map_err(|source| IoError { path: path.to_path_buf(), step: "remove", source })?;
    if sync {
        fs.sync_dir(&dir).map_err(|source| IoError { path: dir.clone(), step: "fsync", source })?;
    }
    Ok(())
}

/// Reads a journal's bytes into a journal.
pub(crate) fn parse(bytes: &[u8]) -> Result<Journal, String> {
    let journal: Journal =
        serde_json::from_slice(bytes).map_err(|err| format!("not a stet journal: {err}"))?;
    if journal.format != FORMAT {
        return Err(format!(
            "journal format {:?}, which this stet does not know (it knows {FORMAT})",
            journal.format
        ));
    }
    Ok(journal)
}
