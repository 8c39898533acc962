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
