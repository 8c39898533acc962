//! Why a document could not be read or edited.

use std::io;
use std::path::PathBuf;

use crate::atomic::WriteError;
use crate::lock::LockError;
use crate::update::UpdateError;
use crate::version::Version;

/// What is wrong with a document or an edit, before any file is involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocError {
    /// The document is not valid YAML, JSON or TOML, or its frontmatter is broken.
    #[error("{}{message}", line.map(|line| format!("line {line}: ")).unwrap_or_default())]
    Malformed {
        /// The 1-based line of the file where the problem is, when known.
        line: Option<usize>,
        /// What is wrong, in plain words.
        message: String,
    },
    /// The edit does not fit the document: a key path through a string, a push to a mapping.
    #[error("{key}: {message}")]
    Shape {
        /// The key path as the user wrote it.
        key: String,
        /// What is in the way.
        message: String,
    },
    /// A key or value given by the user cannot be used.
    #[error("{message}")]
    Invalid {
        /// What is wrong, and what to write instead.
        message: String,
    },
    /// The edit is valid, but stet cannot make it while keeping the file's formatting, so it
    /// refuses rather than rewrite what it was not asked to touch.
    #[error("{message}")]
    Unsupported {
        /// What stet cannot do.
        message: String,
    },
}

impl DocError {
    /// A malformed document, with the line when known.
    pub(crate) fn malformed(line: Option<usize>, message: impl Into<String>) -> Self {
        DocError::Malformed { line, message: message.into() }
    }
}

/// Why an edit of a document file failed. The file is as it was in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// `--if-version` did not match.
    #[error("{} is at version {found}, not {expected}; it was changed since it was read", path.display())]
    Conflict {
        /// The file.
        path: PathBuf,
        /// The version the caller expected.
        expected: Version,
        /// The version found.
        found: Version,
    },
    /// The document or the edit is wrong (see [`DocError`]).
    #[error("{}: {source}", path.display())]
    Document {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: DocError,
    },
    /// The lock could not be taken, or was lost before the commit.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The current content could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The new content could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl From<UpdateError<EditError>> for EditError {
    fn from(err: UpdateError<EditError>) -> Self {
        match err {
            UpdateError::Lock(err) => EditError::Lock(err),
            UpdateError::Read { path, source } => EditError::Read { path, source },
            UpdateError::Edit(err) => err,
            UpdateError::Write(err) => EditError::Write(err),
        }
    }
}
