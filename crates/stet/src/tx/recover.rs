//! Recovery: finishing the committed transactions of dead processes, undoing their uncommitted
//! ones, and the check every lock makes first ([`Interrupted`], a [`Settle`]).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::journal::{self, Journal, Step};
use super::{Context, TxError, apply};
use crate::atomic::{Durability, Writer};
use crate::fs::{Fs, IoError, LockKind};
use crate::lock::{LockError, Locker, Settle};

/// What recovery did: the contract's `{"transactions", "removed", "kept"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Recovered {
    /// Each interrupted transaction found, and what became of it.
    pub transactions: Vec<TxOutcome>,
    /// Leftovers removed.
    pub removed: Vec<PathBuf>,
    /// What was left alone, and why.
    pub kept: Vec<Kept>,
}

/// An interrupted transaction and what recovery made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxOutcome {
    /// Its id (its journal's name).
    pub id: String,
    /// Finished or undone.
    pub outcome: Outcome,
}

/// What became of an interrupted transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It had committed: its remaining steps were applied.
    RolledForward,
    /// It had not committed: what it had staged was removed.
    RolledBack,
}

pub use crate::sweep::Kept;

/// Finishes or undoes every transaction of a dead process under `ctx.root` (live ones are left
/// to finish); cheap when there is none: a failed `open` of `.stet/tx`, or its empty listing.
pub fn recover_interrupted(ctx: &Context) -> Result<Recovered, TxError> {
    let mut recovered = Recovered::default();
    if let Some((name, error)) = recover_all(ctx, &mut recovered, false)?.into_iter().next() {
        return Err(TxError::Unfinished { journal: journal::dir_of(&ctx.root).join(name), source: error });
    }
    Ok(recovered)
}

/// [`recover_interrupted`], also reporting running transactions in `kept` (`stet recover`).
pub fn recover(ctx: &Context) -> Result<Recovered, TxError> {
    let mut recovered = Recovered::default();
    if let Some((name, error)) = recover_all(ctx, &mut recovered, true)?.into_iter().next() {
        recovered.kept.push(Kept {
            path: journal::dir_of(&ctx.root).join(name),
            why: format!("could not be finished: {error}"),
        });
    }
    Ok(recovered)
}

/// Recovers every dead journal; returns those that failed (name, error), after trying them all.
fn recover_all(
    ctx: &Context,
    recovered: &mut Recovered,
    report_live: bool,
) -> Result<Vec<(String, IoError)>, TxError> {
    let fs = &**ctx.locker.file_system();
    let dir = journal::dir_of(&ctx.root);
    let Some(names) = list(fs, &dir)? else { return Ok(Vec::new()) };
    let mut failed = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let outcome = if let Some(id) = name.strip_suffix(journal::SUFFIX) {
            roll_forward(ctx, &path, id, recovered, report_live)
        } else if let Some(id) = name.strip_suffix(&format!("{}{}", journal::SUFFIX, journal::TEMP_SUFFIX)) {
            roll_back(fs, &path, id, recovered, report_live)
        } else {
            Ok(())
        };
        match outcome {
            Ok(()) => {}
            Err(Failure::Lock(err)) => return Err(TxError::Lock(err)),
            Err(Failure::Io(err)) => failed.push((name, err)),
        }
    }
    Ok(failed)
}

enum Failure {
    Lock(LockError),
    Io(IoError),
}

impl From<IoError> for Failure {
    fn from(err: IoError) -> Self {
        Failure::Io(err)
    }
}

/// The names in the journal directory; `None` when it does not exist.
fn list(fs: &dyn Fs, dir: &Path) -> Result<Option<Vec<String>>, IoError> {
    match fs.symlink_metadata(dir) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(IoError { path: dir.to_path_buf(), step: "inspect", source }),
        Ok(meta) if !meta.is_dir() => return Ok(None),
        Ok(_) => {}
    }
    match fs.list_dir(dir) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(IoError { path: dir.to_path_buf(), step: "list", source }),
        Ok(names) => {
            let mut names: Vec<String> =
                names.into_iter().filter_map(|name| name.into_string().ok()).collect();
            names.sort();
            Ok(Some(names))
        }
    }
}

/// A committed journal, opened, whose holder (if any) is known.
enum Found {
    Gone,
    Live,
    Dead(File, Journal),
    Unreadable(String),
}

/// Opens the journal at `path` and tells whether its transaction is running: a shared probe of
/// its flock fails while the transaction (or a recoverer) holds it exclusively.
fn open_journal(fs: &dyn Fs, path: &Path) -> Result<Found, IoError> {
    let mut file = match fs.open_read_nofollow(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Found::Gone),
        Err(source) => return Err(IoError { path: path.to_path_buf(), step: "open", source }),
    };
    let meta = fs.file_metadata(&file).map_err(|source| IoError {
        path: path.to_path_buf(),
        step: "stat",
        source,
    })?;
    if !meta.is_file() {
        return Ok(Found::Unreadable(format!(
            "it is {}, not a journal",
            crate::fs::FileKind::describe_metadata(&meta)
        )));
    }
    if !fs.try_lock(&file, LockKind::Shared).map_err(|source| IoError {
        path: path.to_path_buf(),
        step: "lock",
        source,
    })? {
        return Ok(Found::Live);
    }
    let _ = fs.unlock(&file);
    let mut bytes = Vec::new();
    fs.read_to_end(&mut file, &mut bytes).map_err(|source| IoError {
        path: path.to_path_buf(),
        step: "read",
        source,
    })?;
    Ok(match journal::parse(&bytes) {
        Ok(journal) => Found::Dead(file, journal),
        Err(why) => Found::Unreadable(why),
    })
}

fn roll_forward(
    ctx: &Context,
    path: &Path,
    id: &str,
    recovered: &mut Recovered,
    report_live: bool,
) -> Result<(), Failure> {
    let fs = &**ctx.locker.file_system();
    let (file, journal) = match open_journal(fs, path)? {
        Found::Gone => return Ok(()),
        Found::Live => {
            if report_live {
                recovered
                    .kept
                    .push(Kept { path: path.to_path_buf(), why: "its transaction is running".into() });
            }
            return Ok(());
        }
        Found::Unreadable(why) => {
            recovered
                .kept
                .push(Kept { path: path.to_path_buf(), why: format!("cannot be recovered: {why}") });
            return Ok(());
        }
        Found::Dead(file, journal) => (file, journal),
    };
    // The files' locks first, then the journal's: whoever holds a journal exclusively holds its
    // files' locks, which is what lets a command that finds a journal locked go on.
    let locks: Vec<&Path> = journal.locks.iter().map(PathBuf::as_path).collect();
    let held = ctx.locker.unsettled().lock_all(&locks).map_err(Failure::Lock)?;
    let same = fs
        .metadata(path)
        .ok()
        .zip(fs.file_metadata(&file).ok())
        .is_some_and(|(now, opened)| crate::sys::file_id(&now) == crate::sys::file_id(&opened));
    if !same || !take_exclusive(fs, &file) {
        return Ok(()); // finished meanwhile by another recoverer
    }
    let writer = ctx.writer.clone().durability(Durability::Sync);
    let kept = apply::redo(fs, &writer, &journal)?;
    journal::remove(fs, &ctx.root, path, true)?;
    drop(file);
    drop(held);
    recovered.kept.extend(kept);
    recovered.transactions.push(TxOutcome { id: id.to_owned(), outcome: Outcome::RolledForward });
    Ok(())
}

/// The journal's exclusive lock, retried briefly: others' shared probes hold it for an instant.
fn take_exclusive(fs: &dyn Fs, file: &File) -> bool {
    for _ in 0..200 {
        match fs.try_lock(file, LockKind::Exclusive) {
            Ok(true) => return true,
            Ok(false) => std::thread::sleep(Duration::from_millis(1)),
            Err(_) => return false,
        }
    }
    false
}

/// An uncommitted journal of a dead process on this host: removes the entries it staged, then it.
fn roll_back(
    fs: &dyn Fs,
    path: &Path,
    id: &str,
    recovered: &mut Recovered,
    report_live: bool,
) -> Result<(), Failure> {
    let Some((host, pid)) = journal::maker_of(id) else {
        recovered.kept.push(Kept { path: path.to_path_buf(), why: "not a journal name stet makes".into() });
        return Ok(());
    };
    if host != journal::host_tag() {
        if report_live {
            recovered.kept.push(Kept { path: path.to_path_buf(), why: "made on another host".into() });
        }
        return Ok(());
    }
    let mut file = match fs.open_read_nofollow(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(IoError { path: path.to_path_buf(), step: "open", source }.into()),
    };
    // The transaction holds its journal's flock from the instant after it creates it; in that
    // instant the journal is empty, and removing it only makes that transaction fail cleanly
    // (its rename finds nothing).
    if !fs.try_lock(&file, LockKind::Exclusive).unwrap_or(false) {
        if report_live {
            recovered
                .kept
                .push(Kept { path: path.to_path_buf(), why: format!("process {pid} is writing it") });
        }
        return Ok(());
    }
    let mut bytes = Vec::new();
    let _ = fs.read_to_end(&mut file, &mut bytes);
    if let Ok(journal) = journal::parse(&bytes) {
        for step in &journal.steps {
            if let Step::Publish { temp, .. } = step
                && remove_tree(fs, temp).is_ok()
            {
                recovered.removed.push(temp.clone());
            }
        }
    }
    match fs.remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => {
            return Err(IoError { path: path.to_path_buf(), step: "remove", source: err }.into());
        }
        _ => {}
    }
    recovered.transactions.push(TxOutcome { id: id.to_owned(), outcome: Outcome::RolledBack });
    Ok(())
}

/// Removes an entry staged by stet (a directory it built, or a file), never following a symlink.
fn remove_tree(fs: &dyn Fs, path: &Path) -> io::Result<()> {
    let meta = match fs.symlink_metadata(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        other => other?,
    };
    if !meta.is_dir() {
        return fs.remove_file(path);
    }
    for name in fs.list_dir(path)? {
        remove_tree(fs, &path.join(name))?;
    }
    fs.remove_dir(path)
}

/// The staged entries that journals still under `root` will publish: the sweep must spare them,
/// though their makers are dead.
pub fn staged_by_journals(fs: &dyn Fs, root: &Path) -> Vec<PathBuf> {
    let dir = journal::dir_of(root);
    let Ok(Some(names)) = list(fs, &dir) else { return Vec::new() };
    let mut staged = Vec::new();
    for name in names {
        let Ok(Some(bytes)) = crate::fs::read_optional(fs, &dir.join(name)) else { continue };
        if let Ok(journal) = journal::parse(&bytes) {
            staged.extend(journal.steps.into_iter().filter_map(|step| match step {
                Step::Publish { temp, .. } => Some(temp),
                _ => None,
            }));
        }
    }
    staged
}

/// Whether nobody holds the flock of the file at `path` (probed, and released at once).
fn unheld(fs: &dyn Fs, path: &Path) -> bool {
    let Ok(file) = fs.open_read_nofollow(path) else { return false };
    fs.try_lock(&file, LockKind::Exclusive).unwrap_or(false)
}

/// The interrupted transactions of a root, as a [`Settle`] for its locker: after every lock, one
/// `lstat` of `ROOT/.stet/tx` when nothing is pending.
#[derive(Debug)]
pub struct Interrupted {
    root: PathBuf,
    writer: Writer,
}

impl Interrupted {
    /// The interrupted transactions under `root`, rewritten with `writer` (its file system is
    /// the one used).
    pub fn new(root: &Path, writer: Writer) -> Arc<Interrupted> {
        Arc::new(Interrupted { root: root.to_path_buf(), writer })
    }

    /// Whether any journal is there at all: one failed `open` in a root that never had a transaction,
    /// else a listing of the (usually empty) journal directory.
    pub fn pending(&self) -> bool {
        let fs = &**self.writer.file_system();
        match fs.list_dir(&journal::dir_of(&self.root)) {
            Ok(names) => !names.is_empty(),
            Err(err) => err.kind() != io::ErrorKind::NotFound,
        }
    }
}

impl Settle for Interrupted {
    fn covers(&self, targets: &[&Path], any: bool) -> Result<bool, LockError> {
        if !self.pending() {
            return Ok(false);
        }
        let fs = &**self.writer.file_system();
        let dir = journal::dir_of(&self.root);
        let Ok(Some(names)) = list(fs, &dir) else { return Ok(false) };
        for name in names {
            if name.ends_with(journal::TEMP_SUFFIX) {
                let ours = name
                    .strip_suffix(&format!("{}{}", journal::SUFFIX, journal::TEMP_SUFFIX))
                    .and_then(journal::maker_of)
                    .is_some_and(|(host, _)| host == journal::host_tag());
                if any && ours && unheld(fs, &dir.join(&name)) {
                    return Ok(true);
                }
                continue;
            }
            if !name.ends_with(journal::SUFFIX) {
                continue;
            }
            match open_journal(fs, &dir.join(&name)) {
                Ok(Found::Dead(_, journal))
                    if any || journal.locks.iter().any(|lock| targets.contains(&lock.as_path())) =>
                {
                    return Ok(true);
                }
                Ok(Found::Unreadable(_)) if any => return Ok(true),
                _ => {}
            }
        }
        Ok(false)
    }

    fn settle(&self, locker: &Locker, targets: &[&Path]) -> Result<(), LockError> {
        let ctx = Context { root: self.root.clone(), locker: locker.clone(), writer: self.writer.clone() };
        let mut recovered = Recovered::default();
        let failed = match recover_all(&ctx, &mut recovered, false) {
            Ok(failed) => failed,
            Err(TxError::Lock(err)) => return Err(err),
            Err(err) => vec![(
                String::new(),
                IoError {
                    path: self.root.clone(),
                    step: "recover",
                    source: io::Error::other(err.to_string()),
                },
            )],
        };
        let fs = &**self.writer.file_system();
        let dir = journal::dir_of(&self.root);
        for (name, error) in failed {
            let path = dir.join(&name);
            // Only a transaction on these very files must stop this command.
            let covering = match open_journal(fs, &path) {
                Ok(Found::Dead(_, journal)) => {
                    journal.locks.iter().any(|lock| targets.contains(&lock.as_path()))
                }
                _ => false,
            };
            if covering {
                return Err(LockError::Unsettled {
                    path: targets.first().map_or_else(PathBuf::new, |target| target.to_path_buf()),
                    journal: path,
                    source: Box::new(error),
                });
            }
        }
        Ok(())
    }
}
