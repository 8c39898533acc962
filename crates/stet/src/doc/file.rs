//! Documents in files: read without a lock (an atomic replace never shows a half-written file),
//! edited under the file's lock.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::edit::{Edit, diff};
use super::error::{DocError, EditError};
use super::{Document, Format};
use crate::atomic::Writer;
use crate::fs::{Fs, read_optional};
use crate::lock::{LockFile, Locker};
use crate::update::update;
use crate::version::Version;

/// The outcome of an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The file (symlinks resolved).
    pub path: PathBuf,
    /// Its version now.
    pub version: Version,
    /// Whether it was rewritten: an edit that changes no value does not rewrite.
    pub changed: bool,
}

/// Reads the document at `path` (`format`: from the extension when `None`) and its version.
/// A missing file reads as an empty document at version [`Version::MISSING`].
pub fn read(
    file_system: &dyn Fs,
    path: &Path,
    format: Option<Format>,
) -> Result<(Document, Version), EditError> {
    let format = format_of(path, format)?;
    let bytes = read_optional(file_system, path)
        .map_err(|source| EditError::Read { path: path.to_owned(), source })?;
    let document = Document::parse(format, bytes.as_deref())
        .map_err(|source| EditError::Document { path: path.to_owned(), source })?;
    Ok((document, Version::of_optional(bytes.as_deref())))
}

/// Under `path`'s lock, makes `edits` on its document and replaces it atomically; with
/// `if_version`, only if the file is still at that version ([`EditError::Conflict`] otherwise).
pub fn edit(
    locker: &Locker,
    writer: &Writer,
    path: &Path,
    format: Option<Format>,
    if_version: Option<Version>,
    edits: &[Edit],
) -> Result<Edited, EditError> {
    edit_with(locker, writer, path, format, if_version, |_| Ok(edits.to_vec()))
}

/// Under `path`'s lock, gives `change` the document's value to modify as it likes, then makes
/// the difference as edits that keep the file's formatting.
pub fn edit_value(
    locker: &Locker,
    writer: &Writer,
    path: &Path,
    format: Option<Format>,
    change: impl FnOnce(&mut Value),
) -> Result<Edited, EditError> {
    edit_with(locker, writer, path, format, None, |old| {
        let mut new = old.clone();
        change(&mut new);
        Ok(diff(old, &new))
    })
}

fn edit_with(
    locker: &Locker,
    writer: &Writer,
    path: &Path,
    format: Option<Format>,
    if_version: Option<Version>,
    edits: impl FnOnce(&Value) -> Result<Vec<Edit>, DocError>,
) -> Result<Edited, EditError> {
    let format = format_of(path, format)?;
    let updated =
        update(locker, writer, path, |old, lock| new_content(lock.path(), format, old, if_version, edits))?;
    Ok(Edited { path: updated.path, version: updated.version, changed: updated.changed })
}

/// The file's new bytes after the edits (`None`: no value changes), checked against `if_version`.
fn new_content(
    path: &Path,
    format: Format,
    old: Option<&[u8]>,
    if_version: Option<Version>,
    edits: impl FnOnce(&Value) -> Result<Vec<Edit>, DocError>,
) -> Result<Option<Vec<u8>>, EditError> {
    let document_error = |source| EditError::Document { path: path.to_owned(), source };
    if let Some(expected) = if_version {
        let found = Version::of_optional(old);
        if expected != found {
            return Err(EditError::Conflict { path: path.to_owned(), expected, found });
        }
    }
    let document = Document::parse(format, old).map_err(document_error)?;
    let edits = edits(document.value()).map_err(document_error)?;
    Ok(document.edited(&edits).map_err(document_error)?.map(String::into_bytes))
}

/// A document that one process edits many times (a server, an editor, an agent's loop): its lock
/// file stays open between edits, so each edit costs one `flock` instead of creating and removing
/// `FILE.lock` (see [`LockFile`]). Edits are otherwise the same as [`edit`]: locked from the read
/// to the atomic replace, formatting kept. The lock file goes when the editor is dropped.
#[derive(Debug)]
pub struct Editor {
    lock_file: LockFile,
    writer: Writer,
    path: PathBuf,
    format: Format,
}

impl Editor {
    /// Prepares to edit `path` (flock protocol only). Creates nothing yet.
    pub fn open(
        locker: &Locker,
        writer: &Writer,
        path: &Path,
        format: Option<Format>,
    ) -> Result<Editor, EditError> {
        let format = format_of(path, format)?;
        let lock_file = LockFile::open(locker, path)?;
        let path = lock_file.path().to_path_buf();
        Ok(Editor { lock_file, writer: writer.clone(), path, format })
    }

    /// Makes `edits`, if the file is at `if_version` (when given).
    pub fn edit(&mut self, if_version: Option<Version>, edits: &[Edit]) -> Result<Edited, EditError> {
        self.edit_with(if_version, |_| Ok(edits.to_vec()))
    }

    /// Gives `change` the document's value, and makes the difference as edits.
    pub fn edit_value(&mut self, change: impl FnOnce(&mut Value)) -> Result<Edited, EditError> {
        self.edit_with(None, |old| {
            let mut new = old.clone();
            change(&mut new);
            Ok(diff(old, &new))
        })
    }

    fn edit_with(
        &mut self,
        if_version: Option<Version>,
        edits: impl FnOnce(&Value) -> Result<Vec<Edit>, DocError>,
    ) -> Result<Edited, EditError> {
        let guard = self.lock_file.lock()?;
        let old = read_optional(&**self.writer.file_system(), &self.path)
            .map_err(|source| EditError::Read { path: self.path.clone(), source })?;
        let edited = match new_content(&self.path, self.format, old.as_deref(), if_version, edits)? {
            Some(new) if old.as_deref() != Some(new.as_slice()) => {
                let staged = self.writer.stage(&self.path, &new)?;
                guard.check()?;
                let written = staged.commit()?;
                Edited { path: written.path, version: written.version, changed: true }
            }
            _ => Edited {
                path: self.path.clone(),
                version: Version::of_optional(old.as_deref()),
                changed: false,
            },
        };
        drop(guard);
        Ok(edited)
    }
}

fn format_of(path: &Path, format: Option<Format>) -> Result<Format, EditError> {
    format.or_else(|| Format::of_path(path)).ok_or_else(|| EditError::Document {
        path: path.to_owned(),
        source: DocError::Invalid {
            message: "stet cannot tell the document's format from its extension; pass --format md, yaml, json or toml"
                .into(),
        },
    })
}
