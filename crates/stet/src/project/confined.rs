//! Paths confined to the root, for front ends whose callers must stay inside it (the MCP server),
//! and named relative to it.

use std::path::{Path, PathBuf};

use super::{Code, Error, Project};
use crate::confine::{ConfineError, Confined, Root};

impl Project {
    /// `given` (relative to the root, or absolute under it) confined to the root: a path that
    /// resolves outside it or into `.stet/` is `EPERM`, naming the path (see [`crate::confine`] for
    /// what is checked and what is not).
    pub fn confine(&self, given: &Path) -> Result<Confined, Error> {
        self.confinement()?.confine(given).map_err(Error::from)
    }

    /// `path` named relative to the root, when it is under the root's real path.
    pub fn relative_to_root(&self, path: &Path) -> PathBuf {
        match self.confinement() {
            Ok(root) => {
                path.strip_prefix(root.real_path()).map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
            }
            Err(_) => path.to_path_buf(),
        }
    }

    /// `err` with the files it names (its `path` and its message) named relative to the root.
    pub fn relative_error(&self, err: Error) -> Error {
        let Ok(root) = self.confinement() else { return err };
        let prefix = format!("{}/", root.real_path().display());
        let message = err.message().replace(&prefix, "");
        let path = err.path().map(|path| self.relative_to_root(path));
        let err = err.with_message(message);
        match path {
            Some(path) => err.with_path(&path),
            None => err,
        }
    }

    fn confinement(&self) -> Result<&Root, Error> {
        if let Some(root) = self.inner.confinement.get() {
            return Ok(root);
        }
        let root = Root::open(self.root())?;
        Ok(self.inner.confinement.get_or_init(|| root))
    }
}

impl From<ConfineError> for Error {
    fn from(err: ConfineError) -> Self {
        let message = err.to_string();
        match err {
            ConfineError::Outside { path, .. } | ConfineError::StetState { path } => {
                Error::new(Code::Permission, message).with_path(&path)
            }
            ConfineError::Io { path, source } => Error::new(Code::of_io(&source), message).with_path(&path),
        }
    }
}
