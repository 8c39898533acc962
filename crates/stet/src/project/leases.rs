//! Leases: acquire, renew, release, status, cleanup, and holding leases while work runs.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use super::results::CleanedUp;
use super::{Code, Error, LeaseList, Notice, Project, Released};
use crate::lease::{LeaseError, Leases};

/// What `lease cleanup` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleanup {
    /// Every lease of the project's owner.
    Owner,
    /// Every expired lease, whoever holds it.
    Expired,
}

impl Project {
    /// Leases `paths` to the owner for `ttl` (default `lease.ttl`), all or none; paths it holds
    /// already are renewed. With `wait`, keeps trying that long while another owner holds an
    /// overlapping lease (`Duration::MAX`: forever).
    pub fn lease_acquire<P: AsRef<Path>>(
        &self,
        paths: &[P],
        ttl: Option<Duration>,
        wait: Option<Duration>,
    ) -> Result<LeaseList, Error> {
        let paths = &owned(paths);
        let (owner, ttl) = (self.lease_owner()?, self.lease_ttl(ttl)?);
        let leases = self.leases()?;
        let taken = match wait {
            Some(wait) => leases.acquire_waiting(paths, owner, ttl, wait)?,
            None => leases.acquire(paths, owner, ttl)?,
        };
        Ok(LeaseList::of(taken))
    }

    /// Extends the owner's leases on `paths` to `ttl` from now.
    pub fn lease_renew<P: AsRef<Path>>(
        &self,
        paths: &[P],
        ttl: Option<Duration>,
    ) -> Result<LeaseList, Error> {
        let paths = &owned(paths);
        let (owner, ttl) = (self.lease_owner()?, self.lease_ttl(ttl)?);
        Ok(LeaseList::of(self.leases()?.renew(paths, owner, ttl)?))
    }

    /// Releases the owner's leases on `paths` (one not held is no error; another owner's is).
    pub fn lease_release<P: AsRef<Path>>(&self, paths: &[P]) -> Result<Released, Error> {
        let paths = &owned(paths);
        let owner = self.lease_owner()?;
        Ok(Released { released: self.leases()?.release(paths, owner)? })
    }

    /// The leases overlapping `paths` (all when empty), of the owner when there is one.
    pub fn lease_status<P: AsRef<Path>>(&self, paths: &[P]) -> Result<LeaseList, Error> {
        let paths = &owned(paths);
        Ok(LeaseList::of(self.leases()?.status(paths, self.owner())?))
    }

    /// Removes the owner's leases, or every expired one.
    pub fn lease_cleanup(&self, which: Cleanup) -> Result<CleanedUp, Error> {
        let leases = self.leases()?;
        let removed = match which {
            Cleanup::Expired => leases.cleanup_expired()?,
            Cleanup::Owner => match self.owner() {
                Some(owner) => leases.cleanup_owner(owner)?,
                None => return Err(Error::usage("cleanup needs --owner ID (or STET_OWNER), or --expired")),
            },
        };
        Ok(CleanedUp { released: removed.into_iter().map(Into::into).collect() })
    }

    /// Holds leases on `paths` while `work` runs: acquires them (as [`Project::lease_acquire`]),
    /// renews them every third of the TTL, and releases them when `work` returns. A lease lost
    /// meanwhile is `ECOMPROMISED`, whatever `work` returned: its changes were not protected.
    pub fn lease_hold<P: AsRef<Path>, R>(
        &self,
        paths: &[P],
        ttl: Option<Duration>,
        wait: Option<Duration>,
        work: impl FnOnce() -> R,
    ) -> Result<R, Error> {
        let paths = &owned(paths);
        let ttl = self.lease_ttl(ttl)?;
        self.lease_acquire(paths, Some(ttl), wait)?;
        let (owner, leases) = (self.lease_owner()?, self.leases()?);
        let (stop, stopped) = mpsc::channel::<()>();
        let (outcome, lost) = std::thread::scope(|scope| {
            let leases = &leases;
            let renewer = scope.spawn(move || self.keep_renewed(leases, paths, owner, ttl, &stopped));
            let outcome = work();
            let _ = stop.send(());
            (outcome, renewer.join().unwrap_or_else(|_| Some("the renewing thread failed".into())))
        });
        let released = leases.release(paths, owner);
        if let Some(reason) = lost {
            return Err(Error::new(
                Code::Compromised,
                format!(
                    "the lease was lost while the command ran ({reason}); its changes were not protected"
                ),
            ));
        }
        if let Err(err) = released {
            self.notify(&Notice::ReleaseFailed { message: format!("releasing the lease failed: {err}") });
        }
        Ok(outcome)
    }

    /// Renews until told to stop; `Some(why)` when the lease was lost.
    fn keep_renewed(
        &self,
        leases: &Leases,
        paths: &[PathBuf],
        owner: &str,
        ttl: Duration,
        stopped: &mpsc::Receiver<()>,
    ) -> Option<String> {
        loop {
            match stopped.recv_timeout(ttl / 3) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                _ => return None,
            }
            if let Err(err) = leases.renew(paths, owner, ttl) {
                // Keep trying: a passing failure (a busy tree) must not drop the lease.
                if !matches!(err, LeaseError::Busy { .. } | LeaseError::Io(_)) {
                    return Some(err.to_string());
                }
                self.notify(&Notice::LeaseRenewRetry { message: err.to_string() });
            }
        }
    }

    fn lease_owner(&self) -> Result<&str, Error> {
        self.owner().ok_or_else(|| Error::usage("leases need an owner: pass --owner ID or set STET_OWNER"))
    }

    /// A TTL asked for, checked, or `lease.ttl`.
    fn lease_ttl(&self, ttl: Option<Duration>) -> Result<Duration, Error> {
        match ttl {
            None => Ok(self.config().lease_ttl),
            Some(ttl) if ttl.is_zero() => {
                Err(Error::usage("--ttl must be a finite duration above 0, such as 30s or 10m"))
            }
            Some(ttl) => match crate::lease::expiry(SystemTime::now(), ttl) {
                Ok(_) => Ok(ttl),
                Err(err) => Err(Error::usage(format!("--ttl: {err}"))),
            },
        }
    }
}

fn owned<P: AsRef<Path>>(paths: &[P]) -> Vec<PathBuf> {
    paths.iter().map(|path| path.as_ref().to_path_buf()).collect()
}
