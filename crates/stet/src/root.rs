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

/// Gives a `.stet/` that stet has just made its `.gitignore`. It is created exclusively (never
/// through a link, never over a file someone put there), and a failure is not an error: the file
/// is a courtesy to version control, not part of any protocol.
pub(crate) fn write_gitignore(
    fs: &dyn crate::fs::Fs,
    stet_dir: &Path,
    durability: crate::atomic::Durability,
) {
    let path = stet_dir.join(".gitignore");
    let Ok(mut file) = fs.create_new(&path, 0o644) else { return };
    let written = fs.write_all(&mut file, GITIGNORE.as_bytes());
    if written.is_ok() && durability == crate::atomic::Durability::Sync {
        let _ = fs.sync(&file).and_then(|()| fs.sync_dir(stet_dir));
    }
}
