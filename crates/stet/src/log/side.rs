//! Side files beside a log (`LOG.rejected`, `.LOG.stet-index`, their temporary files): opened
//! without following a symlink and without waiting, checked on the descriptor (a regular file
//! with one link), and used only when empty or recognisably stet's.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::fs::Fs;

/// What is at a side file's path.
#[derive(Debug)]
pub(crate) enum Side {
    /// Nothing.
    Missing,
    /// A regular file with one link that is empty or that `is_stets` recognised, open read-write.
    Usable(File),
    /// Something stet must not touch, in words for a message.
    Foreign(&'static str),
}

/// How many bytes of a side file are shown to its recogniser.
const PREFIX: usize = 64;

/// Opens the side file at `path` if it is stet's to use. `is_stets` sees its first bytes (up to
/// 64) when it is not empty.
pub(crate) fn open(fs: &dyn Fs, path: &Path, is_stets: impl Fn(&[u8]) -> bool) -> io::Result<Side> {
    // lstat first, so that a device or a FIFO is never even opened.
    let named = match fs.symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Side::Missing),
        Err(err) => return Err(err),
    };
    if let Some(found) = unusable(&named) {
        return Ok(Side::Foreign(found));
    }
    let file = match fs.open_no_follow(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Side::Missing),
        // Swapped for a symlink (ELOOP) or a directory since the lstat: say what it is now.
        Err(err) => {
            return match fs.symlink_metadata(path).ok().as_ref().and_then(unusable) {
                Some(found) => Ok(Side::Foreign(found)),
                None => Err(err),
            };
        }
    };
    let meta = fs.file_metadata(&file)?;
    if let Some(found) = unusable(&meta) {
        return Ok(Side::Foreign(found));
    }
    if meta.len() == 0 {
        return Ok(Side::Usable(file));
    }
    let mut prefix = [0u8; PREFIX];
    let read = fs.read_at(&file, &mut prefix, 0)?;
    Ok(if is_stets(&prefix[..read]) { Side::Usable(file) } else { Side::Foreign("a file stet did not make") })
}

/// Why a file is not one stet may use, whatever its content.
fn unusable(meta: &std::fs::Metadata) -> Option<&'static str> {
    if !meta.file_type().is_file() {
        Some(crate::fs::FileKind::describe_metadata(meta))
    } else if crate::sys::link_count(meta) > 1 {
        Some("a file with several hard links")
    } else {
        None
    }
}

/// Removes the side file at `path` only if it is stet's (`is_stets` recognised it; an empty file
/// is left) and the path still names the file checked.
pub(crate) fn remove_if_stets(fs: &dyn Fs, path: &Path, is_stets: impl Fn(&[u8]) -> bool) -> io::Result<()> {
    let Side::Usable(file) = open(fs, path, is_stets)? else { return Ok(()) };
    let ours = fs.file_metadata(&file)?;
    let named = fs.symlink_metadata(path)?;
    if ours.len() > 0 && crate::sys::file_id(&ours) == crate::sys::file_id(&named) {
        fs.remove_file(path)?;
    }
    Ok(())
}

/// A fresh temporary name beside `path`, `.NAME.stet-HOST-PID-RANDOM.tmp` as
/// [`crate::atomic::temp_file_origin`] recognises, so that `stet recover` can tell whether its
/// creator still runs. A leading dot of `NAME` is dropped; the name fits in 255 bytes.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(crate::atomic::temp_name(name.strip_prefix('.').unwrap_or(&name)))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn temporary_names_are_recognised_as_stets_and_fit() {
        let temp = super::temp_path(Path::new("/logs/.events.ndjson.stet-index"));
        let name = temp.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(".events.ndjson.stet-index.stet-"), "{name}");
        assert_eq!(crate::atomic::temp_file_creator(name), Some(std::process::id()));
        assert!(crate::atomic::temp_file_origin(name).is_some_and(|origin| origin.made_here()), "{name}");
        let long = "é".repeat(200);
        let temp = super::temp_path(&Path::new("/logs").join(&long));
        let name = temp.file_name().unwrap().to_str().unwrap();
        assert!(name.len() <= 255, "{} bytes", name.len());
        assert_eq!(crate::atomic::temp_file_creator(name), Some(std::process::id()));
    }
}
