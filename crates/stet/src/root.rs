//! Finding the project root: where `.stet/` (configuration, leases, journals) lives.

use std::path::{Path, PathBuf};

/// The environment variable that names the root.
pub const ROOT_ENV: &str = "STET_ROOT";

/// The root for a command run in `cwd`: `explicit` (`--root`), else `$STET_ROOT`, else the nearest
/// ancestor of `cwd` holding `.stet/`, else the nearest holding `.git/`, else `cwd`.
pub fn discover(explicit: Option<&Path>, cwd: &Path) -> PathBuf {
    if let Some(root) = explicit {
        return cwd.join(root);
    }
    if let Some(root) = std::env::var_os(ROOT_ENV).filter(|root| !root.is_empty()) {
        return cwd.join(root);
    }
    nearest_holding(cwd, ".stet")
        .or_else(|| nearest_holding(cwd, ".git"))
        .unwrap_or_else(|| cwd.to_path_buf())
}

fn nearest_holding(start: &Path, marker: &str) -> Option<PathBuf> {
    start.ancestors().find(|dir| dir.join(marker).is_dir()).map(Path::to_path_buf)
}

/// What `.stet/.gitignore` holds: the runtime state stays out of version control, the
/// configuration (and this file) in.
pub const GITIGNORE: &str = "\
# Written by stet when it made this directory: stet keeps its runtime state here (leases,
# transaction journals), which belongs to this checkout only. The configuration is shared.
*
!.gitignore
!config.toml
";

/// Makes `ROOT/.stet` (`stet_dir`) if it is missing, with its `.gitignore` in it from the first
/// instant: it is built whole under a temporary name beside it (`.gitignore` written and, when
/// durable, fsynced with its directory) and renamed into place without replacing anything, then
/// the root is fsynced. So a power loss leaves `.stet` complete or absent, never without its
/// `.gitignore` or with a torn one. Returns whether this call made it (`false`: it was there, or
/// another process made it first; the caller checks what is there).
pub(crate) fn make_stet_dir(
    fs: &dyn crate::fs::Fs,
    stet_dir: &Path,
    durability: crate::atomic::Durability,
) -> Result<bool, crate::fs::IoError> {
    use std::io::ErrorKind;
    let sync = durability == crate::atomic::Durability::Sync;
    let io_error = |path: &Path, step: &'static str| {
        let path = path.to_path_buf();
        move |source| crate::fs::IoError { path, step, source }
    };
    match fs.symlink_metadata(stet_dir) {
        Ok(_) => return Ok(false),
        Err(err) if err.kind() == ErrorKind::NotFound => {}
        Err(err) => return Err(io_error(stet_dir, "inspect")(err)),
    }
    let root = stet_dir.parent().unwrap_or(Path::new("."));
    let staged = root.join(crate::atomic::temp_name(".stet"));
    let gitignore = staged.join(".gitignore");
    let _held_off = crate::interrupt::hold_off();
    let _tracked = crate::interrupt::track(crate::interrupt::Leftover::Staged(staged.clone()));
    fs.create_dir(&staged).map_err(io_error(&staged, "create"))?;
    let built = (|| {
        let mut file = fs.create_new(&gitignore, 0o644).map_err(io_error(&gitignore, "create"))?;
        fs.write_all(&mut file, GITIGNORE.as_bytes()).map_err(io_error(&gitignore, "write"))?;
        if sync {
            fs.sync(&file).map_err(io_error(&gitignore, "fsync"))?;
            fs.sync_dir(&staged).map_err(io_error(&staged, "fsync"))?;
        }
        match fs.rename_noreplace(&staged, stet_dir) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(err) => Err(io_error(stet_dir, "create")(err)),
        }
    })();
    if !matches!(built, Ok(true)) {
        let _ = fs.remove_file(&gitignore);
        let _ = fs.remove_dir(&staged);
        return built;
    }
    if sync {
        fs.sync_dir(root).map_err(io_error(root, "fsync"))?;
    }
    Ok(true)
}
