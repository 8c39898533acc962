//! Versions: short digests of a file's bytes, for optimistic checks between a read and a write.

use std::fmt;

/// The version of a file's content: 16 hex digits of its XXH3-64 digest, or `none` for a missing
/// file. Equal bytes always give equal versions; a different version means different bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version(Option<u64>);

impl Version {
    /// The version of these bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Version(Some(xxhash_rust::xxh3::xxh3_64(bytes)))
    }

    /// The version of a file that does not exist.
    pub const MISSING: Version = Version(None);

    /// The version of optional content (`None`: the file does not exist).
    pub fn of_optional(bytes: Option<&[u8]>) -> Self {
        bytes.map_or(Self::MISSING, Self::of)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(digest) => write!(f, "{digest:016x}"),
            None => f.write_str("none"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Version;

    #[test]
    fn equal_bytes_give_equal_versions_and_missing_files_print_none() {
        assert_eq!(Version::of(b"a"), Version::of(b"a"));
        assert_ne!(Version::of(b"a"), Version::of(b"b"));
        assert_eq!(Version::MISSING.to_string(), "none");
        assert_eq!(Version::of(b"").to_string().len(), 16);
    }
}
