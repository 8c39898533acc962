//! Locks this process holds, so that asking again fails at once instead of deadlocking; and the
//! environment variable that tells child processes which locks their ancestor holds.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::thread::ThreadId;

/// Set by stet for the commands it runs while holding locks: the lock paths, in `PATH` syntax.
pub const HELD_LOCKS_ENV: &str = "STET_HELD_LOCKS";
/// The process id that holds the locks in [`HELD_LOCKS_ENV`].
pub const HELD_LOCKS_PID_ENV: &str = "STET_HELD_LOCKS_PID";

static HELD: Mutex<Vec<(PathBuf, ThreadId)>> = Mutex::new(Vec::new());

fn held() -> std::sync::MutexGuard<'static, Vec<(PathBuf, ThreadId)>> {
    HELD.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether the current thread already holds the lock at `lock_path`. Another thread of this
/// process asking for it simply waits, as another process would.
pub(super) fn held_by_this_thread(lock_path: &Path) -> bool {
    let me = std::thread::current().id();
    held().iter().any(|(path, thread)| path == lock_path && *thread == me)
}

/// An entry in the registry, removed when dropped.
#[derive(Debug)]
pub(super) struct Registration(PathBuf, ThreadId);

impl Registration {
    pub(super) fn new(lock_path: &Path) -> Self {
        let me = std::thread::current().id();
        held().push((lock_path.to_path_buf(), me));
        Registration(lock_path.to_path_buf(), me)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // By path and thread: another thread may already hold the same lock (it was released
        // just before this entry goes), and its entry must stay.
        let mut held = held();
        if let Some(index) = held.iter().position(|(path, thread)| *path == self.0 && *thread == self.1) {
            held.swap_remove(index);
        }
    }
}

/// The process id of an ancestor that says it holds `lock_path`, from the environment.
pub(super) fn ancestor_holding(lock_path: &Path) -> Option<u32> {
    let paths = std::env::var_os(HELD_LOCKS_ENV)?;
    let pid = std::env::var(HELD_LOCKS_PID_ENV).ok()?.parse().ok()?;
    std::env::split_paths(&paths).any(|path| path == lock_path).then_some(pid)
}

/// The environment for a child process run while `lock_paths` are held by this process.
pub(super) fn child_env<'a>(lock_paths: impl Iterator<Item = &'a Path>) -> Vec<(OsString, OsString)> {
    let mut all: Vec<PathBuf> = lock_paths.map(Path::to_path_buf).collect();
    if std::env::var(HELD_LOCKS_PID_ENV).ok().and_then(|pid| pid.parse::<u32>().ok())
        == Some(std::process::id())
        && let Some(inherited) = std::env::var_os(HELD_LOCKS_ENV)
    {
        all.extend(std::env::split_paths(&inherited));
    }
    let joined = std::env::join_paths(all).unwrap_or_default();
    vec![(HELD_LOCKS_ENV.into(), joined), (HELD_LOCKS_PID_ENV.into(), std::process::id().to_string().into())]
}
