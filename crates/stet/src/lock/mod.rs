//! Locks between processes on a file, for read-modify-write cycles.
//!
//! # Guarantees
//!
//! - **Mutual exclusion** between every process using the same [`Protocol`] on the same file,
//!   whichever path (relative, absolute, through symlinks) each names it by: locks are taken on
//!   the file the path resolves to.
//! - **No stale locks**: a [`Protocol::Flock`] lock dies with its process (the kernel drops it); a
//!   [`Protocol::Mkdir`] lock of a dead process becomes stale after `stale` and is taken over.
//! - **No litter**: once nobody holds a lock, its lock file or directory is gone.
//! - **No self-deadlock**: a thread asking again for a lock it holds, or a child process of a stet
//!   command asking for a lock that command holds, gets [`LockError::AlreadyHeld`] at once.
//! - **Released on every path**: dropping a [`Lock`] releases it, also during a panic.
//! - [`Locker::lock_all`] takes several locks in one canonical order, so two callers can never
//!   deadlock on each other.
//!
//! # Non-guarantees
//!
//! - Locks are advisory: a process that does not lock can still write.
//! - flock is silently a no-op on NFS mounted with `nolock`/`local_lock=all`; use the mkdir
//!   protocol there.
//! - A mkdir lock held by a process that stops refreshing it for longer than `stale` (suspended,
//!   frozen) can be taken over; the holder then learns so from [`Lock::check`] and must not commit.
//!   proper-lockfile peers may still race each other on a stale lock, as they always have.

pub(crate) mod backoff;
mod error;
mod flock;
mod guard;
mod handle;
mod holder;
mod mkdir;
mod registry;
mod side;

pub use error::LockError;
use guard::Held;
pub use guard::Lock;
pub use handle::{LockFile, LockFileGuard};
pub use holder::Holder;
pub(crate) use mkdir::{read_record_for_sweep, remove_abandoned};
pub use registry::{HELD_LOCKS_ENV, HELD_LOCKS_PID_ENV};
pub use side::Foreign;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::fs::LockKind;
use crate::fs::{self, Fs};
use backoff::Backoff;
use side::SideError;

/// The lock of `FILE` is `FILE` + this, unless [`Locker::suffix`] says otherwise.
pub const DEFAULT_SUFFIX: &str = ".lock";

/// Why a flock lock is lost while held.
const REMOVED_WHILE_HELD: &str =
    "its lock file was removed or replaced by another process, which may have locked the file too";

/// How long after the start of a wait the waiting note is given.
const NOTICE_AFTER: Duration = Duration::from_secs(1);

/// The on-disk locking protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// flock on the sidecar file `FILE.lock` (default). Interoperates with Python `filelock`.
    #[default]
    Flock,
    /// The lock directory `FILE.lock` of npm `proper-lockfile`; a lock not refreshed for `stale`
    /// is taken over. Exclusive only.
    Mkdir {
        /// How old a lock's mtime must be for it to count as abandoned (at least 2 s).
        stale: Duration,
    },
}

impl Protocol {
    /// proper-lockfile's default `stale`.
    pub const DEFAULT_STALE: Duration = Duration::from_secs(10);
}

/// How long to wait for a lock another process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Try once.
    Immediately,
    /// Keep trying this long.
    For(Duration),
    /// Keep trying until it is free.
    Forever,
}

impl Default for Wait {
    /// Five seconds, the contract's default.
    fn default() -> Self {
        Wait::For(Duration::from_secs(5))
    }
}

/// Said once to the waiting-note callback when a wait lasts longer than about a second.
#[derive(Debug, Clone)]
pub struct WaitNotice {
    /// The file whose lock is awaited.
    pub path: PathBuf,
    /// Who holds it, if known.
    pub holder: Option<Holder>,
}

type Notify = Arc<dyn Fn(&WaitNotice) + Send + Sync>;

/// Work another process left half done on locked files, which must be finished before a lock on
/// one of them is used: interrupted transactions ([`crate::tx`]). A [`Locker`] given one asks it
/// after every lock it takes (a failed `open`, or the listing of an empty directory, when nothing
/// is pending), and when the files it locked are covered, releases them, lets it finish the
/// work, and locks again.
pub trait Settle: Send + Sync + fmt::Debug {
    /// Whether interrupted work covers any of `targets` (resolved, locked by the caller); with
    /// `any`, whether there is interrupted work at all (the first check of a command, so that
    /// every command finishes what it finds).
    fn covers(&self, targets: &[&Path], any: bool) -> Result<bool, LockError>;
    /// Finishes the interrupted work that covers `targets` (and any other it can), taking locks
    /// with `locker`, which has no [`Settle`] of its own. An error means work covering `targets`
    /// could not be finished, and the lock must not be used.
    fn settle(&self, locker: &Locker, targets: &[&Path]) -> Result<(), LockError>;
}

/// Takes locks with chosen policies. [`lock`] is the common case.
#[derive(Clone)]
pub struct Locker {
    fs: Arc<dyn Fs>,
    protocol: Protocol,
    wait: Wait,
    owner: Option<String>,
    suffix: Arc<str>,
    notify: Option<Notify>,
    settle: Option<Arc<dyn Settle>>,
}

impl fmt::Debug for Locker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Locker")
            .field("fs", &self.fs)
            .field("protocol", &self.protocol)
            .field("wait", &self.wait)
            .field("owner", &self.owner)
            .field("suffix", &self.suffix)
            .finish_non_exhaustive()
    }
}

impl Default for Locker {
    fn default() -> Self {
        Locker {
            fs: fs::real(),
            protocol: Protocol::Flock,
            wait: Wait::default(),
            owner: None,
            suffix: DEFAULT_SUFFIX.into(),
            notify: None,
            settle: None,
        }
    }
}

impl Locker {
    /// flock protocol, 5 s wait, no owner.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the protocol.
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }
    /// Sets how long to wait.
    #[must_use]
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }
    /// Records who acts in the lock's holder record.
    #[must_use]
    pub fn owner(mut self, owner: Option<String>) -> Self {
        self.owner = owner;
        self
    }
    /// Names the lock of `FILE` `FILE` + `suffix` (both protocols; default `.lock`), for projects
    /// where `FILE.lock` names files of their own (`Gemfile.lock`, `yarn.lock`). The suffix must be
    /// a non-empty part of a file name: see [`valid_suffix`].
    #[must_use]
    pub fn suffix(mut self, suffix: &str) -> Self {
        self.suffix = suffix.into();
        self
    }
    /// Calls `notify` once when a wait lasts longer than about a second.
    #[must_use]
    pub fn on_long_wait(mut self, notify: impl Fn(&WaitNotice) + Send + Sync + 'static) -> Self {
        self.notify = Some(Arc::new(notify));
        self
    }
    /// Routes every effect through `fs` (for fault injection).
    #[must_use]
    pub fn fs(mut self, fs: Arc<dyn Fs>) -> Self {
        self.fs = fs;
        self
    }

    /// Finishes `settle`'s interrupted work before any lock it covers is used.
    #[must_use]
    pub fn settle(mut self, settle: Arc<dyn Settle>) -> Self {
        self.settle = Some(settle);
        self
    }

    /// The same locker, without interrupted work to settle (the one that settles it).
    #[must_use]
    pub fn unsettled(&self) -> Locker {
        Locker { settle: None, ..self.clone() }
    }

    /// The file system effects go through.
    pub fn file_system(&self) -> &Arc<dyn Fs> {
        &self.fs
    }

    /// The lock file (or directory) of the resolved file `target`.
    pub(crate) fn lock_path_of(&self, target: &Path) -> PathBuf {
        mkdir::suffixed(target, &self.suffix)
    }

    /// Takes `path`'s exclusive lock.
    pub fn lock(&self, path: &Path) -> Result<Lock, LockError> {
        self.acquire(path, LockKind::Exclusive)
    }

    /// Takes `path`'s lock in `kind` mode.
    pub fn acquire(&self, path: &Path, kind: LockKind) -> Result<Lock, LockError> {
        let target = self.resolve(path)?;
        self.settled(&[&target], || self.acquire_resolved(target.clone(), kind).map(|lock| vec![lock]))
            .map(|mut locks| locks.pop().expect("one lock was taken"))
    }

    /// Takes locks with `take` until no interrupted work covers `targets` (see [`Settle`]).
    fn settled(
        &self,
        targets: &[&Path],
        mut take: impl FnMut() -> Result<Vec<Lock>, LockError>,
    ) -> Result<Vec<Lock>, LockError> {
        let mut any = true;
        loop {
            let locks = take()?;
            let Some(settle) = &self.settle else { return Ok(locks) };
            if !settle.covers(targets, any)? {
                return Ok(locks);
            }
            drop(locks);
            settle.settle(&self.unsettled(), targets)?;
            any = false;
        }
    }

    /// The file `path` designates, whose lock is taken.
    pub(super) fn resolve(&self, path: &Path) -> Result<PathBuf, LockError> {
        crate::target::resolve(&*self.fs, path).map_err(|source| LockError::Io {
            path: path.to_path_buf(),
            lock_path: path.to_path_buf(),
            source,
        })
    }

    /// Takes the exclusive locks of all `paths` in one canonical order (sorted resolved paths),
    /// so that callers locking overlapping sets never deadlock. All or none.
    pub fn lock_all(&self, paths: &[&Path]) -> Result<Vec<Lock>, LockError> {
        let mut targets = paths.iter().map(|path| self.resolve(path)).collect::<Result<Vec<_>, _>>()?;
        targets.sort();
        targets.dedup();
        let names: Vec<&Path> = targets.iter().map(PathBuf::as_path).collect();
        self.settled(&names, || {
            let mut held = Vec::with_capacity(targets.len());
            for target in &targets {
                // On error, `held` is dropped here, releasing what was taken.
                held.push(self.acquire_resolved(target.clone(), LockKind::Exclusive)?);
            }
            Ok(held)
        })
    }

    fn acquire_resolved(&self, target: PathBuf, kind: LockKind) -> Result<Lock, LockError> {
        let lock_path = self.lock_path_of(&target);
        if kind == LockKind::Shared && matches!(self.protocol, Protocol::Mkdir { .. }) {
            return Err(LockError::Unsupported {
                path: target,
                reason: "the mkdir protocol (proper-lockfile) has no shared locks; use the flock protocol",
            });
        }
        if registry::held_by_this_thread(&lock_path) {
            return Err(LockError::AlreadyHeld { path: target, pid: std::process::id(), ancestor: false });
        }
        let holder = Holder::current(self.owner.as_deref());
        let held = self.wait_for(&target, &lock_path, || self.try_acquire(&lock_path, kind, &holder))?;
        Ok(Lock {
            path: target,
            _registration: registry::Registration::new(&lock_path),
            lock_path,
            held: Some(held),
        })
    }

    /// Calls `attempt` until it takes the lock, following the wait policy: backoff between
    /// attempts, the notice after about a second, the ancestor check, the timeout.
    fn wait_for<T>(
        &self,
        target: &Path,
        lock_path: &Path,
        mut attempt: impl FnMut() -> Result<Option<T>, SideError>,
    ) -> Result<T, LockError> {
        let io_error = |err| refusal(target, lock_path, err);
        let started = Instant::now();
        let deadline = match self.wait {
            Wait::Immediately => Some(started),
            // A limit past what the clock can hold is no limit.
            Wait::For(limit) => started.checked_add(limit),
            Wait::Forever => None,
        };
        let mut backoff = Backoff::new();
        let mut noticed = self.notify.is_none();
        let mut checked_ancestor = false;
        loop {
            if let Some(held) = attempt().map_err(io_error)? {
                return Ok(held);
            }
            if !checked_ancestor {
                checked_ancestor = true;
                // Only when the holder's record names that ancestor: it may have released since.
                if let Some(pid) = registry::ancestor_holding(lock_path)
                    && self.read_holder(lock_path).is_some_and(|holder| holder.pid == pid)
                {
                    return Err(LockError::AlreadyHeld { path: target.to_path_buf(), pid, ancestor: true });
                }
            }
            let now = Instant::now();
            if !noticed && now - started >= NOTICE_AFTER {
                noticed = true;
                let notice = WaitNotice { path: target.to_path_buf(), holder: self.read_holder(lock_path) };
                (self.notify.as_ref().expect("notify is set when a notice is due"))(&notice);
            }
            if deadline.is_some_and(|deadline| now >= deadline) {
                let holder = self.read_holder(lock_path).map(Box::new);
                return Err(LockError::Timeout {
                    path: target.to_path_buf(),
                    lock_path: lock_path.to_path_buf(),
                    holder,
                    waited: now - started,
                });
            }
            let pause = backoff.next().expect("backoff never ends");
            let pause = deadline.map_or(pause, |deadline| pause.min(deadline.saturating_duration_since(now)));
            std::thread::sleep(pause);
        }
    }

    fn try_acquire(
        &self,
        lock_path: &Path,
        kind: LockKind,
        holder: &Holder,
    ) -> Result<Option<Held>, SideError> {
        Ok(match self.protocol {
            Protocol::Flock => match flock::try_acquire(&self.fs, lock_path, kind, holder) {
                Ok(held) => held.map(Held::Flock),
                // A directory at the lock's name is, most likely, npm proper-lockfile's lock.
                Err(SideError::Foreign { side, what: side::Foreign::Directory }) if side == lock_path => {
                    return Err(SideError::OtherProtocol { lock_path: side, other: "mkdir" });
                }
                Err(err) => return Err(err),
            },
            Protocol::Mkdir { stale } => {
                mkdir::try_acquire(&self.fs, lock_path, stale, holder)?.map(Held::Mkdir)
            }
        })
    }

    fn read_holder(&self, lock_path: &Path) -> Option<Holder> {
        match self.protocol {
            Protocol::Flock => flock::read_holder(&*self.fs, lock_path),
            Protocol::Mkdir { .. } => mkdir::read_holder(&*self.fs, lock_path),
        }
    }
}

/// The error for a side file that could not be used, for the lock of `target`.
fn refusal(target: &Path, lock_path: &Path, err: SideError) -> LockError {
    match err {
        SideError::Io(source) => {
            LockError::Io { path: target.to_path_buf(), lock_path: lock_path.to_path_buf(), source }
        }
        SideError::Foreign { side, what } => {
            LockError::Foreign { path: target.to_path_buf(), side_path: side, what }
        }
        SideError::OtherProtocol { lock_path, other } => {
            LockError::OtherProtocol { path: target.to_path_buf(), lock_path, other }
        }
    }
}

/// Whether `suffix` can name lock files: not empty, no path separator, no NUL, and not `.`/`..`
/// alone (a lock must be a new name beside its file, not the file or a directory).
pub fn valid_suffix(suffix: &str) -> bool {
    !suffix.is_empty() && !suffix.contains(['/', '\\', '\0']) && suffix != "." && suffix != ".."
}

/// Takes `path`'s exclusive lock with the defaults (flock, wait up to 5 s).
pub fn lock(path: impl AsRef<Path>) -> Result<Lock, LockError> {
    Locker::new().lock(path.as_ref())
}
