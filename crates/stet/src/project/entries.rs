//! Numbered entries: `new`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Error, NewEntry, Project};
use crate::doc::Edit;

/// What `new` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntryOptions {
    /// The entry's slug (`login-flow`).
    pub slug: String,
    /// The entry's name pattern (default `{seq:03}-{slug}`).
    pub pattern: String,
    /// A template file, or a directory copied whole.
    pub template: Option<PathBuf>,
    /// Keys set in the entry's main document.
    pub set: Vec<(String, Value)>,
}

impl NewEntryOptions {
    /// An entry named `slug` with the default pattern, no template, nothing set.
    pub fn new(slug: impl Into<String>) -> Self {
        NewEntryOptions {
            slug: slug.into(),
            pattern: crate::entry::DEFAULT_PATTERN.to_owned(),
            template: None,
            set: Vec::new(),
        }
    }
}

impl Project {
    /// Creates the next numbered entry in `dir`, complete or not at all.
    pub fn new_entry(&self, dir: &Path, options: &NewEntryOptions) -> Result<NewEntry, Error> {
        self.given(dir, || {
            self.check_lease(dir)?;
            let edits = options
                .set
                .iter()
                .map(|(key, value)| Edit::set(key, value.clone()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| Error::usage(format!("--set: {err}")))?;
            let request = crate::entry::NewEntry {
                dir,
                slug: &options.slug,
                pattern: &options.pattern,
                template: options.template.as_deref(),
                edits: &edits,
            };
            let created = crate::entry::create(&self.locker_for(dir), self.durability(), &request)?;
            let path = dir.join(created.path.file_name().expect("an entry is a named file or directory"));
            Ok(NewEntry { path, seq: created.seq })
        })
    }
}
