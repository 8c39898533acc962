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

/// The version of the file at `path` now ([`Version::MISSING`] if it does not exist).
pub fn of_file(file_system: &dyn crate::fs::Fs, path: &std::path::Path) -> std::io::Result<Version> {
    Ok(Version::of_optional(crate::fs::read_optional(file_system, path)?.as_deref()))
}

/// Text that is not a version: 16 hex digits, or `none`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a version: a version is 16 hex digits (as `stet version` prints), or `none`")]
pub struct ParseVersionError(String);

impl std::str::FromStr for Version {
    type Err = ParseVersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "none" {
            return Ok(Version::MISSING);
        }
        if text.len() != 16 {
            return Err(ParseVersionError(text.to_owned()));
        }
        u64::from_str_radix(text, 16)
            .map(|digest| Version(Some(digest)))
            .map_err(|_| ParseVersionError(text.to_owned()))
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

/// A version serializes as its text: `"0f3a..."` or `"none"`.
impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A version deserializes from its text, as `--if-version` takes it.
impl<'de> serde::Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
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
        let version = Version::of(b"a");
        assert_eq!(version.to_string().parse::<Version>(), Ok(version));
        assert_eq!("none".parse::<Version>(), Ok(Version::MISSING));
        assert!("12".parse::<Version>().is_err());
        assert!("zzzzzzzzzzzzzzzz".parse::<Version>().is_err());
    }
}
