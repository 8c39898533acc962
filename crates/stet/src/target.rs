//! Which file a path designates: symlinks are followed to the file they lead to, so writes go
//! through a link to its target and two paths to one file share one lock.

use std::io;
use std::path::{Component, Path, PathBuf};

use std::fs::Metadata;

use crate::fs::{Fs, not_found_as_none};

/// Most links a path may traverse, as Linux's `MAXSYMLINKS`.
const MAX_LINKS: usize = 40;

/// The absolute, symlink-free path of the file `path` designates. The file itself need not exist
/// (a dangling link designates its missing target), but its directory must.
pub(crate) fn resolve(fs: &dyn Fs, path: &Path) -> io::Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the path is empty"));
    }
    let mut current = absolute(path)?;
    for _ in 0..MAX_LINKS {
        if let Some(real) = not_found_as_none(fs.canonicalize(&current))? {
            return Ok(real);
        }
        // The path does not fully resolve: either a dangling link or a missing file.
        match not_found_as_none(fs.symlink_metadata(&current))? {
            Some(meta) if meta.file_type().is_symlink() => {
                let link = fs.read_link(&current)?;
                let base = current.parent().unwrap_or(Path::new("/"));
                current = lexical_normalize(&base.join(link));
            }
            _ => return resolve_missing(fs, &current),
        }
    }
    Err(io::Error::new(io::ErrorKind::InvalidInput, "too many levels of symbolic links"))
}

/// The path a write must replace for `path`, and the metadata of the file there if one exists.
/// Unlike [`resolve`], directories need not be canonical (a rename through a symlinked directory
/// lands in the right place); only symlinks at the final component are followed. A plain file
/// costs one `lstat`.
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

/// A missing file: its directory must exist; the result is that directory's real path plus the name.
fn resolve_missing(fs: &dyn Fs, path: &Path) -> io::Result<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"));
    };
    let dir = fs.canonicalize(dir).map_err(|err| {
        if err.kind() == io::ErrorKind::NotFound {
            io::Error::new(io::ErrorKind::NotFound, format!("the directory {} does not exist", dir.display()))
        } else {
            err
        }
    })?;
    Ok(dir.join(name))
}

fn absolute(path: &Path) -> io::Result<PathBuf> {
    if path.is_absolute() { Ok(path.to_path_buf()) } else { Ok(std::env::current_dir()?.join(path)) }
}

/// Removes `.` and resolves `..` textually; used only on link targets, whose `..` must apply to the
/// link's directory, which is already resolved.
fn lexical_normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
