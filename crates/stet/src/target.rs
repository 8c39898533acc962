//! Which file a path designates: symlinks are followed to the file they lead to, so writes go
//! through a link to its target and two paths to one file share one lock.
//!
//! Resolution is the kernel's: every existing prefix is resolved by `realpath`, and a dangling
//! link's relative target is joined to the link's *real* directory, with `..` left for the kernel
//! to resolve there. No `..` is ever handled textually: under `sub -> real/deep`, the link
//! `sub/link -> ../t` designates `real/t`, not `./t`.

use std::io;
use std::path::{Path, PathBuf};

use std::fs::Metadata;

use crate::fs::{Fs, not_found_as_none};

/// Most links a path may traverse, as Linux's `MAXSYMLINKS`.
const MAX_LINKS: usize = 40;

/// The absolute, symlink-free path of the file `path` designates. The file itself need not exist
/// (a dangling link designates its missing target), but its directory must.
pub(crate) fn resolve(fs: &dyn Fs, path: &Path) -> io::Result<PathBuf> {
    let mut links = MAX_LINKS;
    match follow(fs, &absolute(path)?, &mut links)? {
        Found::Real(real) => Ok(real),
        Found::Missing(missing) => {
            let (dir, name) = split(&missing)?;
            let dir = not_found_as_none(fs.canonicalize(dir))?.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("the directory {} does not exist", dir.display()),
                )
            })?;
            Ok(dir.join(name))
        }
    }
}

/// As [`resolve`], for a path whose directory may be missing too (a lease may name a path before
/// it exists): the missing directories are resolved as the kernel would once they were made, so
/// links above them are still followed. `..` after a missing directory is refused: the kernel
/// could not resolve it either.
pub(crate) fn resolve_beyond(fs: &dyn Fs, path: &Path) -> io::Result<PathBuf> {
    let mut links = MAX_LINKS;
    resolve_beyond_from(fs, &absolute(path)?, &mut links)
}

fn resolve_beyond_from(fs: &dyn Fs, path: &Path, links: &mut usize) -> io::Result<PathBuf> {
    match follow(fs, path, links)? {
        Found::Real(real) => Ok(real),
        Found::Missing(missing) => {
            let (dir, name) = split(&missing)?;
            Ok(resolve_beyond_from(fs, dir, links)?.join(name))
        }
    }
}

/// The path a write must replace for `path`, and the metadata of the file there if one exists.
/// Unlike [`resolve`], directories need not be canonical (a rename through a symlinked directory
/// lands in the right place, the kernel resolving it); only symlinks at the final component are
/// followed. A plain file costs one `lstat`.
pub(crate) fn resolve_for_write(fs: &dyn Fs, path: &Path) -> io::Result<(PathBuf, Option<Metadata>)> {
    match not_found_as_none(fs.symlink_metadata(path))? {
        Some(meta) if !meta.file_type().is_symlink() => Ok((absolute(path)?, Some(meta))),
        _ => {
            let target = resolve(fs, path)?;
            let meta = not_found_as_none(fs.metadata(&target))?;
            Ok((target, meta))
        }
    }
}

enum Found {
    /// The path resolves fully: its real path.
    Real(PathBuf),
    /// Nothing is there, and it is not a link: the path (absolute, not canonical) of the missing
    /// file.
    Missing(PathBuf),
}

/// Follows the dangling links at the end of `path` until it names an existing file or nothing.
fn follow(fs: &dyn Fs, path: &Path, links: &mut usize) -> io::Result<Found> {
    let mut current = path.to_path_buf();
    loop {
        if let Some(real) = not_found_as_none(fs.canonicalize(&current))? {
            return Ok(Found::Real(real));
        }
        match not_found_as_none(fs.symlink_metadata(&current))? {
            Some(meta) if meta.file_type().is_symlink() => {
                *links = links.checked_sub(1).ok_or_else(too_many_links)?;
                let target = fs.read_link(&current)?;
                // The link exists, so its directory does: `..` in a relative target climbs from
                // there, as the kernel climbs, never from the path as written.
                let (dir, _) = split(&current)?;
                current = fs.canonicalize(dir)?.join(target);
            }
            _ => return Ok(Found::Missing(current)),
        }
    }
}

/// A missing path's directory and file name. A path that ends in `..`, `.` or `/` names a
/// directory, which no file can be created as.
fn split(path: &Path) -> io::Result<(&Path, &std::ffi::OsStr)> {
    let bytes = path.as_os_str().as_encoded_bytes();
    let names_directory = bytes.ends_with(b"/") || bytes.ends_with(b"/.") || bytes.ends_with(b"/..");
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) if !names_directory => Ok((dir, name)),
        _ => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} names a directory that does not exist", path.display()),
        )),
    }
}

fn too_many_links() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("too many levels of symbolic links (more than {MAX_LINKS})"),
    )
}

fn absolute(path: &Path) -> io::Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the path is empty"));
    }
    if path.is_absolute() { Ok(path.to_path_buf()) } else { Ok(std::env::current_dir()?.join(path)) }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn real(dir: &Path) -> PathBuf {
        std::fs::canonicalize(dir).unwrap()
    }

    fn fs() -> std::sync::Arc<dyn Fs> {
        crate::fs::real()
    }

    #[test]
    fn a_dangling_relative_link_climbs_from_its_real_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = real(dir.path());
        std::fs::create_dir_all(root.join("real/deep")).unwrap();
        symlink("real/deep", root.join("sub")).unwrap();
        symlink("../target.txt", root.join("real/deep/link")).unwrap();
        assert_eq!(resolve(&*fs(), &root.join("sub/link")).unwrap(), root.join("real/target.txt"));
        assert_eq!(resolve_beyond(&*fs(), &root.join("sub/link")).unwrap(), root.join("real/target.txt"));
    }

    #[test]
    fn chains_of_links_relative_absolute_and_to_links_resolve_as_the_kernel_does() {
        let dir = tempfile::tempdir().unwrap();
        let root = real(dir.path());
        for sub in ["a", "b/y", "c"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        symlink("b/y", root.join("by")).unwrap();
        symlink("../b/y", root.join("a/x")).unwrap();
        symlink("../by/hop", root.join("a/start")).unwrap();
        symlink("../../c/abs", root.join("b/y/hop")).unwrap();
        symlink(root.join("a/x/../end.txt"), root.join("c/abs")).unwrap();
        let expected = root.join("b/end.txt");
        assert_eq!(resolve(&*fs(), &root.join("a/start")).unwrap(), expected);
        // The oracle: the kernel creates the file through the same chain.
        std::fs::write(root.join("a/start"), "x").unwrap();
        assert_eq!(std::fs::read(&expected).unwrap(), b"x");
        assert_eq!(resolve(&*fs(), &root.join("a/start")).unwrap(), expected, "and finds it once it exists");
    }

    #[test]
    fn a_loop_and_a_chain_past_forty_links_are_errors_and_the_limit_is_not_the_first_link() {
        let dir = tempfile::tempdir().unwrap();
        let root = real(dir.path());
        symlink("b", root.join("a")).unwrap();
        symlink("a", root.join("b")).unwrap();
        assert!(resolve(&*fs(), &root.join("a")).is_err());
        for at in 0..45 {
            symlink(format!("l{}", at + 1), root.join(format!("l{at}"))).unwrap();
        }
        let err = resolve(&*fs(), &root.join("l0")).unwrap_err();
        assert!(err.to_string().contains("symbolic links"), "{err}");
        assert!(resolve_beyond(&*fs(), &root.join("l0")).is_err());
        assert_eq!(resolve(&*fs(), &root.join("l10")).unwrap(), root.join("l45"), "35 links are fine");
    }

    #[test]
    fn missing_directories_resolve_beyond_but_not_for_a_write_and_dotdot_after_them_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = real(dir.path());
        std::fs::create_dir(root.join("docs")).unwrap();
        symlink("docs/new/deeper", root.join("into")).unwrap();
        assert_eq!(
            resolve_beyond(&*fs(), &root.join("into/x.md")).unwrap(),
            root.join("docs/new/deeper/x.md")
        );
        assert_eq!(resolve(&*fs(), &root.join("into/x.md")).unwrap_err().kind(), io::ErrorKind::NotFound);
        assert!(resolve_beyond(&*fs(), &root.join("docs/missing/../x")).is_err());
        assert!(resolve(&*fs(), &root.join("docs/missing/.")).is_err());
        assert_eq!(resolve(&*fs(), &root.join("docs/../docs/./a")).unwrap(), root.join("docs/a"));
    }
}
