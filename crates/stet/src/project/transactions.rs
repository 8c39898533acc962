//! Transactions and recovery.

use std::path::Path;

use super::{Error, Project};
use crate::tx::{Committed, Context, OpKind, Plan, Recovered};

impl Project {
    /// Runs `plan` as one transaction: every op or none, across crashes (see [`crate::tx`]).
    /// Every path is checked against other owners' leases first.
    pub fn tx(&self, plan: &Plan) -> Result<Committed, Error> {
        for op in &plan.ops {
            let path = match &op.kind {
                OpKind::New { dir, .. } => dir.as_path(),
                other => other.path(),
            };
            self.check_lease(path)?;
        }
        crate::tx::run(&self.tx_context(), plan).map_err(|err| {
            let op = err.op().and_then(|op| plan.ops.get(op));
            let err = Error::from(err);
            // Files in the message are named as the op named them.
            match op {
                Some(op) => self.as_given(op.kind.path(), err),
                None => err,
            }
        })
    }

    /// Finishes or undoes the transactions of dead processes; cheap when there is none (one
    /// `lstat`). Every lock this project takes does this first for the files it locks.
    pub fn recover_interrupted(&self) -> Result<Recovered, Error> {
        Ok(crate::tx::recover_interrupted(&self.tx_context())?)
    }

    /// `stet recover`: finishes or undoes interrupted transactions (reporting running ones),
    /// then sweeps the root for what dead processes of this host left: temporary files, staging
    /// directories, lock files and directories nobody holds (see [`crate::sweep`]).
    pub fn recover(&self) -> Result<Recovered, Error> {
        let mut recovered = crate::tx::recover(&self.tx_context())?;
        let root = &self.inner.root;
        // An entry a pending journal will publish is a dead process's, and must stay.
        let spared =
            |path: &Path| crate::tx::staged_by_journals(self.fs(), root).iter().any(|staged| staged == path);
        let swept =
            crate::sweep::sweep_sparing(&self.inner.fs, root, &self.inner.config.lock_suffix, &spared)?;
        recovered.removed.extend(swept.removed);
        recovered.kept.extend(swept.kept);
        Ok(recovered)
    }

    /// Whether a transaction's journal is under the root (a listing of `.stet/tx`): readers then take the
    /// file's lock, so that they wait for a running transaction and never see it half applied.
    pub(super) fn transaction_pending(&self) -> bool {
        self.inner.interrupted.pending()
    }

    /// Runs `read` of `path`, under its lock while a transaction is pending.
    pub(super) fn read_settled<T>(
        &self,
        path: &Path,
        read: impl FnOnce() -> Result<T, Error>,
    ) -> Result<T, Error> {
        if !self.transaction_pending() {
            return read();
        }
        let kind = match self.protocol() {
            crate::lock::Protocol::Flock => crate::lock::LockKind::Shared,
            crate::lock::Protocol::Mkdir { .. } => crate::lock::LockKind::Exclusive,
        };
        match self.locker_for(path).acquire(path, kind) {
            Ok(lock) => {
                let value = read();
                drop(lock);
                value
            }
            // A reader that may not make a lock file (a read-only directory) reads as it can.
            Err(crate::lock::LockError::Io { .. }) => read(),
            Err(err) => Err(err.into()),
        }
    }

    fn tx_context(&self) -> Context {
        Context { root: self.inner.root.clone(), locker: self.locker(), writer: self.writer() }
    }
}
