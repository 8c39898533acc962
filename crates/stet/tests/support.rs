//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};

/// A fresh directory, removed at the end of the test.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("stet-test-").tempdir().expect("a temporary directory can be made")
}

/// The names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the directory is readable")
        .map(|entry| entry.expect("entries are readable").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The stet temporary files in `dir`.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    names(dir)
        .into_iter()
        .filter(|name| stet::atomic::temp_file_creator(name).is_some())
        .map(|name| dir.join(name))
        .collect()
}

#[cfg(unix)]
pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("the file exists").permissions().mode() & 0o7777
}

/// `set KEY=VALUE`, the value read as the command line reads it (a YAML flow value).
pub fn set(key: &str, value: &str) -> stet::doc::Edit {
    stet::doc::Edit::set(key, stet::doc::parse_value(value).unwrap()).unwrap()
}

/// `set --string KEY=VALUE`.
pub fn set_string(key: &str, value: &str) -> stet::doc::Edit {
    stet::doc::Edit::set(key, serde_json::Value::String(value.into())).unwrap()
}

/// `push KEY=VALUE`.
pub fn push(key: &str, value: &str) -> stet::doc::Edit {
    stet::doc::Edit::push(key, stet::doc::parse_value(value).unwrap()).unwrap()
}

/// `unset KEY`.
pub fn unset(key: &str) -> stet::doc::Edit {
    stet::doc::Edit::unset(key).unwrap()
}
