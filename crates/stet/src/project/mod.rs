//! The front door: a project root with its configuration, acting owner and policies, offering
//! every operation of the contract as a method.
//!
//! Every front end (the `stet` command and its batch mode, the MCP server, the Node and Python
//! packages, a Rust program) opens a [`Project`] and calls it; each rule of the contract (the
//! precedence of options over `.stet/config.toml` over the defaults, lease enforcement, the
//! mapping of every failure to a code and exit status) lives here once.
//!
//! **Guarantees.** Every method that changes a file refuses with `ELEASED` when the file is
//! under another owner's live lease, unless the project was opened with
//! [`Options::ignore_leases`]; the check is made before the file's lock is taken (a lease taken
//! between the check and the write is not seen: leases order owners over seconds, locks order
//! writes). Blocking calls wait for locks as long as the lock wait says (the contract's 5 s by
//! default, `lock.timeout`). Nothing is printed: notices go to the callback given with
//! [`Options::on_notice`]. Errors are [`Error`]s carrying the contract's code.
//!
//! Relative paths are relative to the process's current directory, as with `std::fs`; the root
//! only says where `.stet/` is.
//!
//! A `Project` is `Send + Sync` and cheap to clone (it shares its state behind an `Arc`);
//! [`Project::with_owner`] and [`Project::with_lock_wait`] make per-request variants.

mod causes;
mod confined;
mod documents;
mod entries;
mod error;
mod files;
mod given;
mod leases;
mod logs;
mod notice;
mod options;
mod results;
mod transactions;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use documents::{EditOptions, parse_assignment, parse_merge_patch};
pub use entries::NewEntryOptions;
pub use error::{Code, Error};
pub use files::WriteOptions;
pub use leases::Cleanup;
pub use logs::{LogReader, parse_event, parse_events};
pub use notice::{Notice, NoticeSink};
pub use options::{LOCK_PROTOCOL_ENV, OWNER_ENV, Options, ProtocolName, wait_of};
pub use results::{
    Appended, CleanedUp, CutTail, Edited, Got, LeaseInfo, LeaseList, LogChecked, NewEntry, Released, Updated,
    VersionOf, Written,
};

use crate::atomic::{Durability, Links, Writer};
use crate::config::Config;
use crate::fs::Fs;
use crate::lease::Leases;
use crate::lock::{Locker, Protocol, Wait};

struct Inner {
    root: PathBuf,
    config: Config,
    owner: Option<String>,
    ignore_leases: bool,
    wait: Wait,
    protocol: Protocol,
    durability: Durability,
    links: Links,
    notices: Option<NoticeSink>,
    fs: Arc<dyn Fs>,
    /// The root's leases, made on first use.
    leases: std::sync::OnceLock<Leases>,
    /// The root's interrupted transactions, finished before any lock on their files is used.
    interrupted: Arc<crate::tx::Interrupted>,
    /// The root held open to confine paths to it, opened on first use.
    confinement: Arc<std::sync::OnceLock<crate::confine::Root>>,
}

/// A project root with its policies; see the [module documentation](self).
#[derive(Clone)]
pub struct Project {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Project")
            .field("root", &inner.root)
            .field("owner", &inner.owner)
            .field("ignore_leases", &inner.ignore_leases)
            .field("wait", &inner.wait)
            .field("protocol", &inner.protocol)
            .field("durability", &inner.durability)
            .finish_non_exhaustive()
    }
}

impl Project {
    /// [`Options::discover`] with no options set.
    pub fn discover(cwd: &Path) -> Result<Project, Error> {
        Options::new().discover(cwd)
    }

    /// [`Options::open`] with no options set.
    pub fn open(root: &Path) -> Result<Project, Error> {
        Options::new().open(root)
    }

    /// The root (where `.stet/` is), as discovered or given.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The settings of `.stet/config.toml` (defaults where it is silent or absent).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Who acts, if anyone.
    pub fn owner(&self) -> Option<&str> {
        self.inner.owner.as_deref()
    }

    /// How long locks are waited for.
    pub fn lock_wait(&self) -> Wait {
        self.inner.wait
    }

    /// The lock protocol.
    pub fn protocol(&self) -> Protocol {
        self.inner.protocol
    }

    /// Whether writes are fsynced.
    pub fn durability(&self) -> Durability {
        self.inner.durability
    }

    /// The same project acting as `owner` (a batch request's `owner`).
    #[must_use]
    pub fn with_owner(&self, owner: Option<String>) -> Project {
        self.derive(|inner| inner.owner = owner.filter(|owner| !owner.is_empty()))
    }

    /// The same project waiting `wait` for locks (a batch request's `timeout`).
    #[must_use]
    pub fn with_lock_wait(&self, wait: Wait) -> Project {
        self.derive(|inner| inner.wait = wait)
    }

    fn derive(&self, change: impl FnOnce(&mut Inner)) -> Project {
        let inner = &*self.inner;
        let mut copy = Inner {
            root: inner.root.clone(),
            config: inner.config.clone(),
            owner: inner.owner.clone(),
            ignore_leases: inner.ignore_leases,
            wait: inner.wait,
            protocol: inner.protocol,
            durability: inner.durability,
            links: inner.links,
            notices: inner.notices.clone(),
            fs: inner.fs.clone(),
            leases: std::sync::OnceLock::new(),
            interrupted: inner.interrupted.clone(),
            confinement: inner.confinement.clone(),
        };
        change(&mut copy);
        Project { inner: Arc::new(copy) }
    }

    /// The locker of this project's policies, its long waits said as [`Notice::Waiting`].
    pub fn locker(&self) -> Locker {
        let inner = &*self.inner;
        let mut locker = Locker::new()
            .fs(inner.fs.clone())
            .protocol(inner.protocol)
            .suffix(&inner.config.lock_suffix)
            .wait(inner.wait)
            .owner(inner.owner.clone())
            .settle(inner.interrupted.clone());
        if let Some(notices) = inner.notices.clone() {
            locker = locker.on_long_wait(move |waiting| {
                notices(&Notice::Waiting { path: waiting.path.clone(), holder: waiting.holder.clone() });
            });
        }
        locker
    }

    /// [`Project::locker`], its waiting notices naming `given` as the caller gave it.
    fn locker_for(&self, given: &Path) -> Locker {
        let mut locker = self.locker();
        if let Some(notices) = self.inner.notices.clone() {
            let given = given.to_path_buf();
            locker = locker.on_long_wait(move |waiting| {
                notices(&Notice::Waiting { path: given.clone(), holder: waiting.holder.clone() });
            });
        }
        locker
    }

    /// The writer of this project's policies (durability, links).
    pub fn writer(&self) -> Writer {
        Writer::new().fs(self.inner.fs.clone()).durability(self.inner.durability).links(self.inner.links)
    }

    /// The root's leases, their records written as durably as files are. Made once per project
    /// (the root is canonicalized then), so that checking leases costs one `lstat` when none exist.
    pub fn leases(&self) -> Result<Leases, Error> {
        if let Some(leases) = self.inner.leases.get() {
            return Ok(leases.clone());
        }
        let busy = match self.inner.wait {
            Wait::Immediately => Duration::ZERO,
            Wait::For(limit) => limit,
            Wait::Forever => Duration::from_secs(3600),
        };
        let leases = Leases::with_fs(self.inner.fs.clone(), &self.inner.root)?
            .durability(self.inner.durability)
            .busy_wait(busy);
        Ok(self.inner.leases.get_or_init(|| leases).clone())
    }

    /// Refuses a change to `path` under another owner's live lease (unless leases are ignored).
    pub fn check_lease(&self, path: &Path) -> Result<(), Error> {
        if self.inner.ignore_leases {
            return Ok(());
        }
        Ok(self.leases()?.check(path, self.owner())?)
    }

    fn notify(&self, notice: &Notice) {
        if let Some(notices) = &self.inner.notices {
            notices(notice);
        }
    }

    fn fs(&self) -> &dyn Fs {
        &*self.inner.fs
    }

    fn fs_arc(&self) -> Arc<dyn Fs> {
        self.inner.fs.clone()
    }
}
