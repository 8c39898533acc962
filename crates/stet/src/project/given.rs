//! Files named in messages as the caller gave them.

use std::path::Path;

use super::{Error, Project};

impl Project {
    /// Runs `op`, naming files in its error as the caller gave them (see [`Project::as_given`]).
    pub(super) fn given<T>(&self, given: &Path, op: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
        op().map_err(|err| self.as_given(given, err))
    }

    /// `err` about `given`, its message naming files as the caller named them: the library names
    /// the files it resolved (absolute, symlinks resolved), the caller gave a path relative to its
    /// directory. Files in the given path's directory are named through that directory as given.
    /// (The JSON `path` stays the resolved one: it is unambiguous.)
    pub(super) fn as_given(&self, given: &Path, err: Error) -> Error {
        let given_dir = given.parent().filter(|dir| !dir.as_os_str().is_empty());
        let Ok(real_dir) = self.fs().canonicalize(given_dir.unwrap_or(Path::new("."))) else { return err };
        let from = format!("{}/", real_dir.display());
        let to = given_dir.map_or_else(String::new, |dir| format!("{}/", dir.display()));
        let mut message = err.message().to_owned();
        // The file itself by the name given (through a link, the link's name), its side files
        // (`FILE.lock`, in the target's directory) through the directory given.
        if let Ok(real) = crate::target::resolve(self.fs(), given) {
            message = replace_whole_path(&message, &real.display().to_string(), &given.display().to_string());
        }
        if from != to {
            message = message.replace(&from, &to);
        }
        if message == err.message() {
            return err;
        }
        err.with_message(message)
    }
}

/// `text` with each occurrence of the path `from` that is not the start of a longer path
/// (`FILE.lock`, `FILE/x`) replaced by `to`.
fn replace_whole_path(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let after = &rest[at + from.len()..];
        let mut next = after.chars();
        let longer = match next.next() {
            Some('.') => next.next().is_some_and(char::is_alphanumeric),
            Some(next) => next.is_alphanumeric() || "_-/".contains(next),
            None => false,
        };
        out.push_str(&rest[..at]);
        out.push_str(if longer { from } else { to });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::replace_whole_path;

    #[test]
    fn a_whole_path_is_renamed_and_a_longer_one_is_left() {
        assert_eq!(
            replace_whole_path("lock on /r/f.md: /r/f.md.lock is /r/f.md.", "/r/f.md", "link.md"),
            "lock on link.md: /r/f.md.lock is link.md."
        );
    }
}
