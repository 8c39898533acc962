//! Numbered entries of spec and story directories: the next `specs/004-login-flow/` or
//! `stories/S-0035.md`, created from a template, complete or not at all.
//!
//! **Guarantees.** Under the directory's lock, the next number is one more than the highest in
//! the directory; the entry is built aside under a temporary name (`.NAME.stet-HOST-PID-RAND.tmp`),
//! every file fsynced, then published with one rename that never replaces an existing entry, and
//! the directory fsynced. Readers see no entry or the whole entry. Concurrent creators never get
//! the same number. A crash while building leaves only the temporary entry, which the name marks
//! as stet's and its creator's.

use std::io;
use std::path::{Path, PathBuf};

use crate::atomic::{Durability, temp_name};
use crate::doc::{DocError, Document, Edit, Format};
use crate::fs::Fs;
use crate::lock::{LockError, Locker};

/// The pattern of entry names when none is given: `004-login-flow`.
pub const DEFAULT_PATTERN: &str = "{seq:03}-{slug}";

/// The main document of a directory entry, the first of these that the template holds.
const MAIN_DOCUMENTS: [&str; 3] = ["README.md", "spec.md", "index.md"];

/// What to create.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    /// The directory that holds the entries (created if missing, when its parent exists).
    pub dir: &'a Path,
    /// The entry's slug (`login-flow`), made lowercase with `-` between words.
    pub slug: &'a str,
    /// The entry's name: `{seq}` or `{seq:0N}` (zero-padded to N digits), and `{slug}`.
    pub pattern: &'a str,
    /// A template file, or a directory copied whole; `{{seq}}`, `{{slug}}`, `{{name}}` and
    /// `{{date}}` are replaced in its text files and file names.
    pub template: Option<&'a Path>,
    /// Edits made to the entry's main document (the template file itself, or in a directory
    /// `README.md`, `spec.md` or `index.md`).
    pub edits: &'a [Edit],
}

/// An entry that was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The entry.
    pub path: PathBuf,
    /// Its number.
    pub seq: u64,
}

/// Why no entry was created. Nothing of it is left behind in any case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The pattern, slug or edits cannot be used.
    #[error("{message}")]
    Invalid {
        /// What is wrong and what to write instead.
        message: String,
    },
    /// The template's main document is malformed, or the edits do not fit it.
    #[error("{}: {source}", path.display())]
    Document {
        /// The template file.
        path: PathBuf,
        /// What is wrong.
        source: DocError,
    },
    /// The directory's lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A file-system step failed.
    #[error(transparent)]
    Io(#[from] crate::fs::IoError),
}

/// Creates the next entry in `request.dir`.
pub fn create(
    locker: &Locker,
    durability: Durability,
    request: &NewEntry<'_>,
) -> Result<Created, EntryError> {
    let pattern = Pattern::parse(request.pattern)?;
    let slug = slugify(request.slug)?;
    let fs = &**locker.file_system();
    ensure_dir(fs, request.dir)?;
    let lock = locker.lock(request.dir)?;
    let dir = lock.path().to_path_buf();
    let names = fs.list_dir(&dir).map_err(io_error(&dir, "list"))?;
    let mut seq =
        names.iter().filter_map(|name| pattern.seq_of(&name.to_string_lossy())).max().unwrap_or(0) + 1;
    loop {
        let name = pattern.name(seq, &slug);
        let values = Placeholders {
            seq: pattern.seq_text(seq),
            slug: slug.clone(),
            name: name.clone(),
            date: crate::sys::local_date(),
        };
        let mut build = Build { fs, durability, created: Vec::new() };
        let staged = dir.join(temp_name(&name));
        // Recorded before it exists, for removal if the process is interrupted while building it;
        // cleanup waits until the build is published or undone, so it never races the build.
        let _held_off = crate::interrupt::hold_off();
        let _tracked = crate::interrupt::track(crate::interrupt::Leftover::Staged(staged.clone()));
        let published = build.entry(&staged, &name, request, &values).and_then(|()| {
            lock.check()?;
            match fs.rename_noreplace(&staged, &dir.join(&name)) {
                Ok(()) => Ok(true),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(err) => Err(io_error(&dir.join(&name), "publish")(err)),
            }
        });
        match published {
            Ok(true) => {
                let path = dir.join(&name);
                if durability == Durability::Sync
                    && let Err(err) = fs.sync_dir(&dir)
                {
                    // The entry is visible but may not survive a power loss: take it back, so
                    // that an error means "no entry", as everywhere else.
                    if fs.rename_noreplace(&path, &staged).is_ok() {
                        build.remove_all();
                        return Err(io_error(&dir, "fsync the directory")(err));
                    }
                    return Err(io_error(
                        &dir,
                        "fsync the directory (the entry exists but may not survive a power loss)",
                    )(err));
                }
                let _ = lock.release();
                return Ok(Created { path, seq });
            }
            // Someone made this name without stet's lock: take the next number.
            Ok(false) => {
                build.remove_all();
                seq += 1;
            }
            Err(err) => {
                build.remove_all();
                return Err(err);
            }
        }
    }
}

/// An entry built whole under its temporary name in its directory, whose lock the caller holds,
/// for a transaction to publish after its commit point (with one `rename_noreplace`). Dropped
/// before [`StagedEntry::keep`], it is removed again.
pub(crate) struct StagedEntry<'a> {
    /// The temporary name it was built under.
    pub staged: PathBuf,
    /// The name it is to be published under.
    pub path: PathBuf,
    /// Its number.
    pub seq: u64,
    build: Build<'a>,
    _tracked: crate::interrupt::Tracked,
}

impl std::fmt::Debug for StagedEntry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedEntry").field("staged", &self.staged).field("path", &self.path).finish()
    }
}

impl StagedEntry<'_> {
    /// From now on the entry is the caller's to publish (or, after a crash, recovery's).
    pub(crate) fn keep(mut self) {
        self.build.created.clear();
    }
}

impl Drop for StagedEntry<'_> {
    fn drop(&mut self) {
        self.build.remove_all();
    }
}

/// Builds the next entry of `dir` (resolved, its lock held by the caller) aside, numbered after
/// both the directory's entries and `after` (the numbers a transaction already took there).
pub(crate) fn stage<'a>(
    fs: &'a dyn Fs,
    durability: Durability,
    dir: &Path,
    request: &NewEntry<'_>,
    after: u64,
) -> Result<StagedEntry<'a>, EntryError> {
    let pattern = Pattern::parse(request.pattern)?;
    let slug = slugify(request.slug)?;
    let names = fs.list_dir(dir).map_err(io_error(dir, "list"))?;
    let highest = names.iter().filter_map(|name| pattern.seq_of(&name.to_string_lossy())).max().unwrap_or(0);
    let mut seq = highest.max(after) + 1;
    // A name made without stet's lock is skipped, as `create` does.
    while fs.symlink_metadata(&dir.join(pattern.name(seq, &slug))).is_ok() {
        seq += 1;
    }
    let name = pattern.name(seq, &slug);
    let values = Placeholders {
        seq: pattern.seq_text(seq),
        slug: slug.clone(),
        name: name.clone(),
        date: crate::sys::local_date(),
    };
    let staged = dir.join(temp_name(&name));
    let _held_off = crate::interrupt::hold_off();
    let tracked = crate::interrupt::track(crate::interrupt::Leftover::Staged(staged.clone()));
    let mut entry = StagedEntry {
        staged: staged.clone(),
        path: dir.join(&name),
        seq,
        build: Build { fs, durability, created: Vec::new() },
        _tracked: tracked,
    };
    entry.build.entry(&staged, &name, request, &values)?;
    Ok(entry)
}

/// `{prefix}{seq}{rest}`, the rest holding `{slug}` where the slug goes.
struct Pattern {
    prefix: String,
    width: usize,
    rest: String,
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, EntryError> {
        let invalid = |why: &str| EntryError::Invalid { message: format!("the pattern {text:?} {why}") };
        if text.contains(['/', '\\']) || text.contains('\0') {
            return Err(invalid("must name one entry, without `/`"));
        }
        let start = text.find("{seq").ok_or_else(|| invalid("has no {seq} (or {seq:03}) for the number"))?;
        let end = start + text[start..].find('}').ok_or_else(|| invalid("has an unclosed {seq"))?;
        let width = match &text[start + 4..end] {
            "" => 0,
            spec => spec
                .strip_prefix(':')
                .map(|digits| digits.trim_start_matches('0'))
                .and_then(|digits| if digits.is_empty() { Some(0) } else { digits.parse().ok() })
                .filter(|width| *width <= 20)
                .ok_or_else(|| invalid("has a {seq:...} that is not {seq:0N}"))?,
        };
        let rest = text[end + 1..].to_owned();
        if rest.contains("{seq") {
            return Err(invalid("has {seq} twice"));
        }
        Ok(Pattern { prefix: text[..start].to_owned(), width, rest })
    }

    fn seq_text(&self, seq: u64) -> String {
        format!("{seq:0width$}", width = self.width)
    }

    fn name(&self, seq: u64, slug: &str) -> String {
        format!("{}{}{}", self.prefix, self.seq_text(seq), self.rest.replace("{slug}", slug))
    }

    /// The number of an existing entry whose name fits the pattern.
    fn seq_of(&self, name: &str) -> Option<u64> {
        let digits: String =
            name.strip_prefix(&self.prefix)?.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }
}

/// `Login Flow!` → `login-flow`.
fn slugify(text: &str) -> Result<String, EntryError> {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            slug.extend(c.to_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        return Err(EntryError::Invalid { message: format!("the slug {text:?} has no letters or digits") });
    }
    Ok(slug)
}

struct Placeholders {
    seq: String,
    slug: String,
    name: String,
    date: String,
}

impl Placeholders {
    fn fill(&self, text: &str) -> String {
        text.replace("{{seq}}", &self.seq)
            .replace("{{slug}}", &self.slug)
            .replace("{{name}}", &self.name)
            .replace("{{date}}", &self.date)
    }
}

/// An entry being built aside, and what was made for it (removed again on failure).
struct Build<'a> {
    fs: &'a dyn Fs,
    durability: Durability,
    created: Vec<(PathBuf, bool)>,
}

impl Build<'_> {
    fn entry(
        &mut self,
        staged: &Path,
        name: &str,
        request: &NewEntry<'_>,
        values: &Placeholders,
    ) -> Result<(), EntryError> {
        let fs = self.fs;
        let template = match request.template {
            Some(template) => {
                Some((template, fs.metadata(template).map_err(io_error(template, "read the template"))?))
            }
            None => None,
        };
        match template {
            Some((template, meta)) if meta.is_dir() => {
                let main = MAIN_DOCUMENTS
                    .iter()
                    .map(Path::new)
                    .find(|main| fs.metadata(&template.join(main)).is_ok_and(|meta| meta.is_file()));
                if main.is_none() && !request.edits.is_empty() {
                    return Err(EntryError::Invalid {
                        message: format!(
                            "--set needs a main document in the template {} (README.md, spec.md or index.md)",
                            template.display()
                        ),
                    });
                }
                self.directory(
                    template,
                    staged,
                    main.map(|main| template.join(main)).as_deref(),
                    request.edits,
                    values,
                )?;
            }
            Some((template, meta)) => {
                let bytes = read(fs, template)?;
                self.file(staged, &content(template, name, bytes, request.edits, values)?, mode_of(&meta))?;
            }
            None if Format::of_path(Path::new(name)).is_some() => {
                self.file(
                    staged,
                    &content(Path::new(name), name, Vec::new(), request.edits, values)?,
                    0o666,
                )?;
            }
            None => {
                self.make_dir(staged)?;
                if !request.edits.is_empty() {
                    let readme = Path::new("README.md");
                    self.file(
                        &staged.join(readme),
                        &content(readme, readme.to_str().expect("ASCII"), Vec::new(), request.edits, values)?,
                        0o666,
                    )?;
                }
                self.sync_dir(staged)?;
            }
        }
        Ok(())
    }

    fn directory(
        &mut self,
        template: &Path,
        staged: &Path,
        main: Option<&Path>,
        edits: &[Edit],
        values: &Placeholders,
    ) -> Result<(), EntryError> {
        let fs = self.fs;
        self.make_dir(staged)?;
        let mut names = fs.list_dir(template).map_err(io_error(template, "list the template"))?;
        names.sort();
        for name in names {
            let source = template.join(&name);
            let target = staged.join(values.fill(&name.to_string_lossy()));
            let meta = fs.symlink_metadata(&source).map_err(io_error(&source, "read the template"))?;
            if meta.is_dir() {
                self.directory(&source, &target, main, edits, values)?;
            } else if meta.is_file() {
                let own_edits = if main == Some(source.as_path()) { edits } else { &[] };
                let target_name =
                    target.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
                let bytes = content(&source, &target_name, read(fs, &source)?, own_edits, values)?;
                self.file(&target, &bytes, mode_of(&meta))?;
            } else {
                return Err(EntryError::Invalid {
                    message: format!(
                        "{} is a symlink or special file; templates hold files and directories",
                        source.display()
                    ),
                });
            }
        }
        self.sync_dir(staged)
    }

    fn file(&mut self, path: &Path, bytes: &[u8], mode: u32) -> Result<(), EntryError> {
        let fs = self.fs;
        let mut file = fs.create_new(path, mode).map_err(io_error(path, "create"))?;
        self.created.push((path.to_owned(), false));
        fs.write_all(&mut file, bytes).map_err(io_error(path, "write"))?;
        if self.durability == Durability::Sync {
            fs.sync(&file).map_err(io_error(path, "fsync"))?;
        }
        Ok(())
    }

    fn make_dir(&mut self, path: &Path) -> Result<(), EntryError> {
        self.fs.create_dir(path).map_err(io_error(path, "create the directory"))?;
        self.created.push((path.to_owned(), true));
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> Result<(), EntryError> {
        if self.durability == Durability::Sync {
            self.fs.sync_dir(path).map_err(io_error(path, "fsync the directory"))?;
        }
        Ok(())
    }

    /// Removes what was built, innermost first; a failure here leaves a temporary entry that
    /// its name marks as stet's.
    fn remove_all(&mut self) {
        for (path, is_dir) in self.created.drain(..).rev() {
            let _ = if is_dir { self.fs.remove_dir(&path) } else { self.fs.remove_file(&path) };
        }
    }
}

/// A template file's bytes with placeholders filled and edits made (text files only).
fn content(
    template: &Path,
    name: &str,
    bytes: Vec<u8>,
    edits: &[Edit],
    values: &Placeholders,
) -> Result<Vec<u8>, EntryError> {
    let Ok(text) = String::from_utf8(bytes.clone()) else { return Ok(bytes) };
    let text = values.fill(&text);
    if edits.is_empty() {
        return Ok(text.into_bytes());
    }
    let format = Format::of_path(Path::new(name)).or_else(|| Format::of_path(template)).ok_or_else(|| {
        EntryError::Invalid {
            message: format!("--set needs a document: {name} is not Markdown, YAML, JSON or TOML"),
        }
    })?;
    let document_error = |source| EntryError::Document { path: template.to_owned(), source };
    let document =
        Document::parse(format, (!text.is_empty()).then_some(text.as_bytes())).map_err(document_error)?;
    Ok(document.edited(edits).map_err(document_error)?.unwrap_or(text).into_bytes())
}

pub(crate) fn ensure_dir(fs: &dyn Fs, dir: &Path) -> Result<(), EntryError> {
    match fs.metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(EntryError::Invalid { message: format!("{} is not a directory", dir.display()) }),
        Err(err) if err.kind() == io::ErrorKind::NotFound => match fs.create_dir(dir) {
            Err(err) if err.kind() != io::ErrorKind::AlreadyExists => {
                Err(io_error(dir, "create the directory")(err))
            }
            _ => Ok(()),
        },
        Err(err) => Err(io_error(dir, "read")(err)),
    }
}

fn read(fs: &dyn Fs, path: &Path) -> Result<Vec<u8>, EntryError> {
    let mut file = crate::fs::open_regular(fs, path).map_err(io_error(path, "read the template"))?;
    let mut bytes = Vec::new();
    fs.read_to_end(&mut file, &mut bytes).map_err(io_error(path, "read the template"))?;
    Ok(bytes)
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777
}

#[cfg(not(unix))]
fn mode_of(_meta: &std::fs::Metadata) -> u32 {
    0o666
}

fn io_error(path: &Path, step: &'static str) -> impl FnOnce(io::Error) -> EntryError {
    let path = path.to_owned();
    move |source| EntryError::Io(crate::fs::IoError { path, step, source })
}

#[cfg(test)]
mod tests {
    use super::{Pattern, slugify};

    #[test]
    fn patterns_name_entries_and_read_their_numbers_back() {
        let pattern = Pattern::parse("{seq:03}-{slug}").unwrap();
        assert_eq!(pattern.name(4, "login-flow"), "004-login-flow");
        assert_eq!(pattern.seq_of("012-x"), Some(12));
        assert_eq!(pattern.seq_of("README.md"), None);
        let stories = Pattern::parse("S-{seq:04}.md").unwrap();
        assert_eq!(stories.name(35, "ignored"), "S-0035.md");
        assert_eq!(stories.seq_of("S-0035.md"), Some(35));
        assert!(Pattern::parse("{slug}").is_err());
        assert!(Pattern::parse("a/{seq}").is_err());
        assert!(Pattern::parse("{seq:x}").is_err());
        assert_eq!(slugify("Login Flow!").unwrap(), "login-flow");
        assert!(slugify("--").is_err());
    }
}
