//! What this process must remove if a signal ends it: its temporary files, staging directories
//! and locks.
//!
//! Every stet operation records each such thing here before it exists (a temporary name is
//! recorded before the file is created, so no signal can fall in between) and forgets it once it
//! is gone or committed. A program that exits on SIGINT, SIGTERM or SIGHUP calls [`clean_up`] from
//! its signal handling thread, then exits: the target files are left as they were, and no
//! temporary file, staging directory or lock is left behind. Only `SIGKILL` and power loss can
//! leave a temporary file, whose name tells a later sweep that its creator is dead
//! ([`crate::atomic::is_orphaned_temp_file`]).
//!
//! Locks are removed only if their name still designates the very file or directory this process
//! holds (same device and inode; the holder keeps it open, so the inode cannot be reused), never a
//! lock another process made there since.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use crate::fs::{Fs, not_found_as_none};
use crate::sys;

/// Something this process made and must remove if interrupted.
#[derive(Debug)]
pub(crate) enum Leftover {
    /// A temporary file (removed if it is still there).
    File(PathBuf),
    /// A staged entry, a file or a directory built whole by this process (removed with all it holds).
    Staged(PathBuf),
    /// A held flock lock file, by identity.
    LockFile { path: PathBuf, id: (u64, u64) },
    /// A held mkdir lock directory, by identity, and the holder record written beside it.
    LockDir { dir: PathBuf, id: (u64, u64), record: Option<(PathBuf, (u64, u64))> },
}

#[derive(Debug)]
struct Registry {
    next: u64,
    items: Vec<(u64, Leftover)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { next: 0, items: Vec::new() });

/// Held shared by every step that makes something and records it (create a lock file, lock it,
/// record it), exclusively by [`clean_up`]: cleanup never runs between the making and the record.
static GATE: RwLock<()> = RwLock::new(());

thread_local! {
    /// How deep this thread is in [`hold_off`] sections: only the outermost takes the gate, as a
    /// second shared hold would wait behind a waiting cleanup and deadlock with it.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Cleanup held off until dropped.
#[derive(Debug)]
pub(crate) struct HeldOff {
    _gate: Option<RwLockReadGuard<'static, ()>>,
}

/// Holds cleanup off while a leftover is made and recorded (or released and forgotten).
pub(crate) fn hold_off() -> HeldOff {
    DEPTH.with(|depth| {
        let guard = (depth.get() == 0).then(|| GATE.read().unwrap_or_else(PoisonError::into_inner));
        depth.set(depth.get() + 1);
        HeldOff { _gate: guard }
    })
}

impl Drop for HeldOff {
    fn drop(&mut self) {
        DEPTH.with(|depth| depth.set(depth.get() - 1));
    }
}

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A leftover recorded for interrupt cleanup; forgotten when dropped.
#[derive(Debug)]
#[must_use = "a leftover is forgotten as soon as its record is dropped"]
pub(crate) struct Tracked(u64);

/// Records `leftover` until the returned record is dropped.
pub(crate) fn track(leftover: Leftover) -> Tracked {
    let mut registry = registry();
    registry.next += 1;
    let key = registry.next;
    registry.items.push((key, leftover));
    Tracked(key)
}

impl Tracked {
    /// Runs `last`, the step that makes the leftover go (an unlink, a release), with cleanup held
    /// off, then forgets the leftover: a signal can never make cleanup act on a name this process
    /// has just given up, which by then may be another process's.
    pub(crate) fn finish<T>(self, last: impl FnOnce() -> T) -> T {
        let held_off = hold_off();
        let outcome = last();
        drop(self);
        drop(held_off);
        outcome
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        forget(&mut registry(), self.0);
    }
}

fn forget(registry: &mut Registry, key: u64) {
    if let Some(index) = registry.items.iter().position(|(item, _)| *item == key) {
        registry.items.swap_remove(index);
    }
}

/// Returns at once, unless [`clean_up`] has begun: then it waits for the exit that follows, so
/// that an operation that failed because cleanup took its files away does not report that
/// failure as its own.
pub fn checkpoint() {
    drop(hold_off());
}

/// Removes every temporary file, staging directory and lock this process has now, for a process
/// about to exit because of a signal. Afterwards, every stet operation of this process blocks
/// where it would record or release something: call this only right before exiting.
pub fn clean_up() {
    // Held until the process exits, so no operation still running in another thread can make
    // something new to leave behind.
    let gate = GATE.write().unwrap_or_else(PoisonError::into_inner);
    std::mem::forget(gate);
    let fs = crate::fs::real();
    let leftovers: Vec<Leftover> = registry().items.drain(..).map(|(_, leftover)| leftover).collect();
    // Temporary files before locks: a commit racing this can then never rename a temporary file
    // into place after its lock is gone.
    let (locks, made): (Vec<_>, Vec<_>) = leftovers
        .iter()
        .partition(|leftover| matches!(leftover, Leftover::LockFile { .. } | Leftover::LockDir { .. }));
    for leftover in made.into_iter().chain(locks) {
        remove(&*fs, leftover);
    }
}

/// Removes one leftover, as far as it is still this process's; errors change nothing now.
fn remove(fs: &dyn Fs, leftover: &Leftover) {
    let is = |path: &PathBuf, id: (u64, u64)| {
        not_found_as_none(fs.symlink_metadata(path))
            .ok()
            .flatten()
            .is_some_and(|meta| sys::file_id(&meta) == id)
    };
    match leftover {
        Leftover::File(path) => {
            let _ = fs.remove_file(path);
        }
        Leftover::Staged(path) => remove_tree(fs, path),
        Leftover::LockFile { path, id } => {
            if is(path, *id) {
                let _ = fs.remove_file(path);
            }
        }
        Leftover::LockDir { dir, id, record } => {
            if let Some((record, record_id)) = record
                && is(record, *record_id)
            {
                let _ = fs.remove_file(record);
            }
            if is(dir, *id) {
                let _ = fs.remove_dir(dir);
            }
        }
    }
}

/// Removes the file or directory `path` and all it holds, following no symlink (a link inside is
/// removed, not what it leads to).
fn remove_tree(fs: &dyn Fs, path: &std::path::Path) {
    match fs.symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            let _ = fs.remove_file(path);
            return;
        }
        Err(_) => return,
    }
    for name in fs.list_dir(path).unwrap_or_default() {
        let child = path.join(name);
        match fs.symlink_metadata(&child) {
            Ok(meta) if meta.is_dir() => remove_tree(fs, &child),
            Ok(_) => {
                let _ = fs.remove_file(&child);
            }
            Err(_) => {}
        }
    }
    let _ = fs.remove_dir(path);
}
