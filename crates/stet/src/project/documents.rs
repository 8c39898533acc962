//! Documents: get, set, unset, push, merge.

use std::path::Path;

use serde_json::Value;

use super::files::refuse_directory;
use super::{Code, Edited, Error, Got, Project};
use crate::doc::{DocError, Edit, Format, KeyPath};
use crate::version::Version;

/// How an edit is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EditOptions {
    /// Edit only if the file is still at this version (`ECONFLICT` otherwise; `none`: it must not
    /// exist).
    pub if_version: Option<Version>,
    /// A missing file is `ENOTFOUND` instead of being created.
    pub must_exist: bool,
    /// The document's format, when the extension does not say.
    pub format: Option<Format>,
}

impl Project {
    /// The document at `path` as JSON, or its value at `key` (a dotted path or a JSON Pointer),
    /// with the version of the bytes it was read from. A missing file or key is `ENOTFOUND`.
    pub fn get(&self, path: &Path, key: Option<&str>, format: Option<Format>) -> Result<Got, Error> {
        self.given(path, || {
            refuse_directory(self, path)?;
            let (document, version) =
                self.read_settled(path, || Ok(crate::doc::read(self.fs(), path, format)?))?;
            if version == Version::MISSING {
                return Err(not_found(path));
            }
            let value = match key {
                None => document.value(),
                Some(key) => {
                    let key_path = KeyPath::parse(key).map_err(|err| Error::document(path, &err))?;
                    crate::doc::lookup(document.value(), &key_path).ok_or_else(|| {
                        Error::new(Code::NotFound, format!("{} has no key `{key}`", path.display()))
                            .with_path(path)
                    })?
                }
            };
            Ok(Got { value: value.clone(), version })
        })
    }

    /// Makes `edits` on the document at `path` under its lock, keeping everything else byte for byte.
    pub fn edit(&self, path: &Path, edits: &[Edit], options: EditOptions) -> Result<Edited, Error> {
        self.given(path, || {
            self.check_lease(path)?;
            refuse_directory(self, path)?;
            if options.must_exist && !self.exists(path)? {
                return Err(not_found(path));
            }
            let edited = crate::doc::edit(
                &self.locker_for(path),
                &self.writer(),
                path,
                options.format,
                options.if_version,
                edits,
            )?;
            Ok(Edited { path: path.to_path_buf(), version: edited.version, changed: edited.changed })
        })
    }

    /// Sets each key to its value (creating missing intermediate mappings).
    pub fn set(
        &self,
        path: &Path,
        values: &[(String, Value)],
        options: EditOptions,
    ) -> Result<Edited, Error> {
        self.edit(path, &assignments(path, values, Edit::set)?, options)
    }

    /// Appends each value to the list at its key, creating the list if absent.
    pub fn push(
        &self,
        path: &Path,
        values: &[(String, Value)],
        options: EditOptions,
    ) -> Result<Edited, Error> {
        self.edit(path, &assignments(path, values, Edit::push)?, options)
    }

    /// Removes each key, with its own comment lines.
    pub fn unset(&self, path: &Path, keys: &[String], options: EditOptions) -> Result<Edited, Error> {
        let edits = keys
            .iter()
            .map(|key| Edit::unset(key))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| Error::document(path, &err))?;
        self.edit(path, &edits, options)
    }

    /// Applies an RFC 7396 merge patch.
    pub fn merge(&self, path: &Path, merge_patch: Value, options: EditOptions) -> Result<Edited, Error> {
        self.edit(path, &[Edit::Merge { patch: merge_patch }], options)
    }

    fn exists(&self, path: &Path) -> Result<bool, Error> {
        match self.fs().metadata(path) {
            Ok(_) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(Error::io(path, &err, "cannot inspect")),
        }
    }
}

fn not_found(path: &Path) -> Error {
    Error::new(Code::NotFound, format!("{} does not exist", path.display())).with_path(path)
}

/// `KEY=VALUE` as a key and a value: a YAML flow value, or with `string` the text as it is.
/// (A front end reports the error against the document, [`Error::document`], or the option it
/// came from.)
pub fn parse_assignment(assignment: &str, string: bool) -> Result<(String, Value), DocError> {
    let (key, text) = assignment
        .split_once('=')
        .ok_or_else(|| DocError::Invalid { message: format!("{assignment:?} is not KEY=VALUE") })?;
    let value = if string { Value::String(text.to_owned()) } else { crate::doc::parse_value(text)? };
    Ok((key.to_owned(), value))
}

/// A merge patch given as JSON or YAML text, for the document `path`.
pub fn parse_merge_patch(path: &Path, text: &str) -> Result<Value, Error> {
    crate::doc::parse_yaml(text).map_err(|err| {
        Error::new(
            Code::Malformed,
            format!("the merge patch is not JSON or YAML: {err}; {} was not changed", path.display()),
        )
        .with_path(path)
    })
}

/// The edits `make` gives for each key and value (a set, a push), or the first key that is wrong.
fn assignments(
    path: &Path,
    values: &[(String, Value)],
    make: fn(&str, Value) -> Result<Edit, DocError>,
) -> Result<Vec<Edit>, Error> {
    values
        .iter()
        .map(|(key, value)| make(key, value.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| Error::document(path, &err))
}
