//! The directory protocol of npm `proper-lockfile` 4.1.2, so Node tools and stet exclude each other.
//!
//! Acquire: `mkdir(realpath(FILE) + ".lock")`; success means held. On `EEXIST`, the lock is stale
//! when its mtime is older than `stale`; stale locks are removed with `rmdir` and `mkdir` is retried.
//! While held, a heartbeat thread checks every `update` that the directory's mtime is still the one
//! it last set (else the lock was taken over: compromised) and sets it to now. Release: `rmdir`.
//!
//! Unlike proper-lockfile, a stet process steals a stale lock only while holding an flock on
//! `FILE.lock.steal` and after re-checking staleness under it, so two stet processes can never both
//! remove-and-recreate (the race proper-lockfile has). The directory stays empty, as proper-lockfile
//! requires; the [`Holder`] record lives beside it in `FILE.lock.holder`, with the lock directory's
//! identity. A lock whose record names that directory and a process of this host that no longer
//! runs is abandoned: it is stolen at once (the same guarded steal), without waiting for `stale`.
//!
//! Nothing here follows a symlink: the lock directory is examined with `lstat` and its mtime set
//! with `AT_SYMLINK_NOFOLLOW`; a symlink, or a file stet did not make, at the lock's name is
//! refused ([`SideError::Foreign`]); a regular lock file there is the flock protocol's
//! ([`SideError::OtherProtocol`]).

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::side::{self, Foreign, SideError};
use super::{Holder, flock};
use crate::fs::{Fs, LockKind, not_found_as_none};
use crate::interrupt::{self, Leftover, Tracked};
use crate::sys;

/// proper-lockfile's lower bound for `stale`.
pub(super) const MIN_STALE: Duration = Duration::from_secs(2);
/// proper-lockfile's lower bound for the heartbeat period.
const MIN_UPDATE: Duration = Duration::from_secs(1);

/// The heartbeat period proper-lockfile uses for a given `stale`: stale/2, at least 1 s.
fn update_period(stale: Duration) -> Duration {
    (stale / 2).max(MIN_UPDATE)
}

pub(super) fn holder_path(lock_dir: &Path) -> PathBuf {
    suffixed(lock_dir, ".holder")
}

fn steal_path(lock_dir: &Path) -> PathBuf {
    suffixed(lock_dir, ".steal")
}

pub(super) fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// What the heartbeat knows of the lock, shared with the holder's thread.
#[derive(Debug)]
struct Beat {
    mtime: SystemTime,
    id: (u64, u64),
    last_update: Instant,
    compromised: Option<String>,
    stopped: bool,
}

#[derive(Debug)]
struct Shared {
    fs: Arc<dyn Fs>,
    lock_dir: PathBuf,
    stale: Duration,
    /// The identity of the holder record this holder wrote, removed on release if still there.
    record: Option<(u64, u64)>,
    beat: Mutex<Beat>,
    wake: Condvar,
}

/// A held directory lock and its heartbeat.
#[derive(Debug)]
pub(super) struct Held {
    shared: Arc<Shared>,
    heartbeat: Option<JoinHandle<()>>,
    tracked: Option<Tracked>,
}

/// Tries once to take the lock; `Ok(None)` when another process holds a live lock.
pub(super) fn try_acquire(
    fs: &Arc<dyn Fs>,
    lock_dir: &Path,
    stale: Duration,
    holder: &Holder,
) -> Result<Option<Held>, SideError> {
    let stale = stale.max(MIN_STALE);
    // From the directory's creation until it is recorded for interrupt cleanup.
    let _held_off = interrupt::hold_off();
    // A few rounds: the directory may vanish between our mkdir and our stat, or a steal may succeed.
    for _ in 0..4 {
        match fs.create_dir(lock_dir) {
            Ok(()) => return start(fs, lock_dir, stale, holder).map(Some),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err.into()),
        }
        let Some(meta) = not_found_as_none(fs.symlink_metadata(lock_dir))? else { continue };
        if !meta.is_dir() {
            return Err(not_a_lock_dir(&**fs, lock_dir, &meta));
        }
        let id = sys::file_id(&meta);
        let abandoned = |meta: &std::fs::Metadata| {
            Ok::<_, io::Error>(
                is_stale(meta.modified()?, stale) || holder_is_dead(&**fs, lock_dir, id, &holder.host),
            )
        };
        if !abandoned(&meta)? || !steal(fs, lock_dir, id, holder, abandoned)? {
            return Ok(None);
        }
    }
    Ok(None)
}

/// The error for a lock name that holds something other than a directory.
fn not_a_lock_dir(fs: &dyn Fs, lock_dir: &Path, meta: &std::fs::Metadata) -> SideError {
    if meta.is_file() && side::looks_like_flock_lock(fs, lock_dir).unwrap_or(false) {
        return SideError::OtherProtocol { lock_path: lock_dir.to_path_buf(), other: "flock" };
    }
    let what = if meta.is_file() { Foreign::Content } else { Foreign::of_kind(meta) };
    SideError::Foreign { side: lock_dir.to_path_buf(), what }
}

/// A holder record as the mkdir protocol writes it: the holder, and the lock directory it holds
/// (device and inode), so that a record left by a dead holder is never taken to describe a newer
/// directory.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    #[serde(flatten)]
    holder: Holder,
    #[serde(default)]
    dir: Option<(u64, u64)>,
}

/// Whether the holder record names the lock directory `id` and a process of this host that is
/// gone: the lock was abandoned by a crash, and need not wait to go stale.
fn holder_is_dead(fs: &dyn Fs, lock_dir: &Path, id: (u64, u64), host: &str) -> bool {
    let Some(record) = side::read_record(fs, &holder_path(lock_dir))
        .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok())
    else {
        return false;
    };
    record.dir == Some(id) && record.holder.host == host && !sys::process_alive(record.holder.pid)
}

fn is_stale(mtime: SystemTime, stale: Duration) -> bool {
    SystemTime::now().duration_since(mtime).is_ok_and(|age| age > stale)
}

/// Removes an abandoned lock directory that is still the one judged abandoned (`abandoned` asks
/// again, under the steal flock). `Ok(true)` when it was removed (the caller retries mkdir).
fn steal(
    fs: &Arc<dyn Fs>,
    lock_dir: &Path,
    judged: (u64, u64),
    holder: &Holder,
    abandoned: impl Fn(&std::fs::Metadata) -> io::Result<bool>,
) -> Result<bool, SideError> {
    let Some(guard) = flock::try_acquire(fs, &steal_path(lock_dir), LockKind::Exclusive, holder)? else {
        return Ok(false);
    };
    let outcome = (|| {
        let Some(meta) = not_found_as_none(fs.symlink_metadata(lock_dir))? else { return Ok(true) };
        if !meta.is_dir() || sys::file_id(&meta) != judged || !abandoned(&meta)? {
            return Ok(false);
        }
        side::remove_record(&**fs, &holder_path(lock_dir))?;
        match fs.remove_dir(lock_dir) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
            _ => Ok(true),
        }
    })();
    guard.release()?;
    Ok(outcome?)
}

/// proper-lockfile compares mtimes in whole milliseconds; so does stet.
fn now_in_millis() -> SystemTime {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    UNIX_EPOCH + Duration::from_millis(since_epoch.as_millis() as u64)
}

/// Marks a freshly made lock directory as ours, records its holder, and starts its heartbeat.
fn start(fs: &Arc<dyn Fs>, lock_dir: &Path, stale: Duration, holder: &Holder) -> Result<Held, SideError> {
    let stamped = (|| {
        fs.set_mtime(lock_dir, now_in_millis())?;
        let meta = fs.symlink_metadata(lock_dir)?;
        let (mtime, id) = (meta.modified()?, sys::file_id(&meta));
        let record = write_record(&**fs, lock_dir, holder, id)?;
        Ok::<_, SideError>((mtime, id, record))
    })();
    let (mtime, id, record) = match stamped {
        Ok(stamp) => stamp,
        Err(err) => {
            let _ = fs.remove_dir(lock_dir);
            return Err(err);
        }
    };
    let tracked = interrupt::track(Leftover::LockDir {
        dir: lock_dir.to_path_buf(),
        id,
        record: record.map(|record| (holder_path(lock_dir), record)),
    });
    let shared = Arc::new(Shared {
        fs: fs.clone(),
        lock_dir: lock_dir.to_path_buf(),
        stale,
        record,
        beat: Mutex::new(Beat { mtime, id, last_update: Instant::now(), compromised: None, stopped: false }),
        wake: Condvar::new(),
    });
    let heartbeat = {
        let shared = shared.clone();
        std::thread::Builder::new().name("stet-lock-heartbeat".into()).spawn(move || shared.run())?
    };
    Ok(Held { shared, heartbeat: Some(heartbeat), tracked: Some(tracked) })
}

/// Writes the holder record beside the lock directory `id`, in place: a reader that catches it
/// half-written finds no record, which only makes messages vaguer. Returns the record's identity
/// if stet wrote it (`None`: the record could not be written, which leaves the lock held). A file
/// at the record's name that is not stet's is refused.
fn write_record(
    fs: &dyn Fs,
    lock_dir: &Path,
    holder: &Holder,
    id: (u64, u64),
) -> Result<Option<(u64, u64)>, SideError> {
    let path = holder_path(lock_dir);
    let (file, existing) = side::open(fs, &path)?;
    let created = existing.is_none();
    let meta = match existing {
        Some(meta) => meta,
        None => fs.file_metadata(&file)?,
    };
    side::check_content(fs, &path, &file, &meta, created)?;
    let record = Record { holder: holder.clone(), dir: Some(id) };
    let bytes = serde_json::to_vec(&record).expect("a holder record always serializes");
    Ok(fs.overwrite(&file, meta.len(), &bytes).ok().map(|()| sys::file_id(&meta)))
}

impl Shared {
    fn lock_beat(&self) -> std::sync::MutexGuard<'_, Beat> {
        self.beat.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run(&self) {
        let mut beat = self.lock_beat();
        let mut period = update_period(self.stale);
        loop {
            // Checked before waiting too: a stop may come before this thread first waits.
            // A period past what the clock can hold (a huge `stale`) waits until stopped.
            let deadline = Instant::now().checked_add(period);
            while !beat.stopped && deadline.is_none_or(|deadline| Instant::now() < deadline) {
                let left = deadline
                    .map_or(Duration::MAX, |deadline| deadline.saturating_duration_since(Instant::now()));
                beat = self.wake.wait_timeout(beat, left).unwrap_or_else(PoisonError::into_inner).0;
            }
            if beat.stopped || beat.compromised.is_some() {
                return;
            }
            period = match self.refresh(&mut beat) {
                Ok(()) => update_period(self.stale),
                // A transient error: retry soon, unless the lock may already have gone stale.
                Err(err)
                    if beat.last_update.elapsed() < self.stale && err.kind() != io::ErrorKind::NotFound =>
                {
                    MIN_UPDATE
                }
                Err(err) => {
                    beat.compromised = Some(format!("the heartbeat could not refresh the lock: {err}"));
                    return;
                }
            };
        }
    }

    /// Checks that the lock is still ours, then sets its mtime to now.
    fn refresh(&self, beat: &mut Beat) -> io::Result<()> {
        self.verify(beat)?;
        if beat.compromised.is_some() {
            return Ok(());
        }
        self.fs.set_mtime(&self.lock_dir, now_in_millis())?;
        let meta = self.fs.symlink_metadata(&self.lock_dir)?;
        beat.mtime = meta.modified()?;
        beat.last_update = Instant::now();
        Ok(())
    }

    /// Records a compromise if the directory is gone, replaced, or touched by someone else.
    fn verify(&self, beat: &mut Beat) -> io::Result<()> {
        if beat.compromised.is_some() {
            return Ok(());
        }
        match not_found_as_none(self.fs.symlink_metadata(&self.lock_dir))? {
            None => beat.compromised = Some("the lock directory was removed by another process".into()),
            Some(meta) if sys::file_id(&meta) != beat.id || meta.modified()? != beat.mtime => {
                beat.compromised = Some(
                    "another process took the lock over (its mtime is no longer the one stet set)".into(),
                );
            }
            Some(_) => {}
        }
        Ok(())
    }
}

impl Held {
    /// `Err(reason)` if the lock is no longer ours; checks the directory now, not only the heartbeat.
    pub(super) fn check(&self) -> Result<(), String> {
        let mut beat = self.shared.lock_beat();
        if let Err(err) = self.shared.verify(&mut beat) {
            return Err(format!("cannot check the lock directory: {err}"));
        }
        beat.compromised.clone().map_or(Ok(()), Err)
    }

    /// Stops the heartbeat and removes the lock, unless it was compromised (then it is someone
    /// else's, and is left alone).
    pub(super) fn release(mut self) -> Result<(), ReleaseError> {
        self.stop_heartbeat();
        self.check().map_err(ReleaseError::Compromised)?;
        let tracked = self.tracked.take().expect("a held lock is tracked until released");
        tracked.finish(|| self.remove())
    }

    /// Removes the holder record this holder wrote and the lock directory.
    fn remove(&self) -> Result<(), ReleaseError> {
        let fs = &self.shared.fs;
        let record = holder_path(&self.shared.lock_dir);
        if let Some(ours) = self.shared.record
            && not_found_as_none(fs.symlink_metadata(&record))
                .ok()
                .flatten()
                .is_some_and(|meta| meta.is_file() && sys::file_id(&meta) == ours)
        {
            let _ = fs.remove_file(&record);
        }
        match fs.remove_dir(&self.shared.lock_dir) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(ReleaseError::Io(err)),
            _ => Ok(()),
        }
    }

    fn stop_heartbeat(&mut self) {
        self.shared.lock_beat().stopped = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.heartbeat.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.stop_heartbeat();
    }
}

/// Why releasing a directory lock failed.
#[derive(Debug)]
pub(super) enum ReleaseError {
    Compromised(String),
    Io(io::Error),
}

/// The holder's record, or for a lock made by another tool, nothing.
pub(super) fn read_holder(fs: &dyn Fs, lock_dir: &Path) -> Option<Holder> {
    side::read_record(fs, &holder_path(lock_dir)).and_then(|bytes| Holder::parse(&bytes))
}

/// What the recovery sweep learns from a mkdir lock's holder record `record_path`
/// (`FILE.lock.holder`): the holder, and the lock directory it was written for. `None` when no
/// stet record is there.
pub(crate) fn read_record_for_sweep(fs: &dyn Fs, record_path: &Path) -> Option<(Holder, Option<(u64, u64)>)> {
    let record = serde_json::from_slice::<Record>(&side::read_record(fs, record_path)?).ok()?;
    Some((record.holder, record.dir))
}

/// For the recovery sweep: removes the lock directory `lock_dir` (device and inode `judged`) and
/// its record, by the same guarded steal an acquirer makes, if its record still names it and a
/// process of this host that is gone. `Ok(false)` when it is not (any longer) abandoned, or when
/// the steal lock is held or is not stet's: the lock is then left.
pub(crate) fn remove_abandoned(fs: &Arc<dyn Fs>, lock_dir: &Path, judged: (u64, u64)) -> io::Result<bool> {
    let holder = Holder::current(None);
    let dead = |_: &std::fs::Metadata| Ok(holder_is_dead(&**fs, lock_dir, judged, &holder.host));
    match steal(fs, lock_dir, judged, &holder, dead) {
        Ok(removed) => Ok(removed),
        Err(SideError::Io(err)) => Err(err),
        Err(SideError::Foreign { .. } | SideError::OtherProtocol { .. }) => Ok(false),
    }
}
