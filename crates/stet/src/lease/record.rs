//! A lease record: one JSON object in `lease.json` of the leased path's node.

use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::LeaseError;

/// The record format this stet writes and reads.
pub(crate) const FORMAT: u64 = 1;

/// One lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The leased path, relative to the root, `/`-separated (`.` for the root).
    pub path: String,
    /// Who holds it.
    pub owner: String,
    /// The process that took or last renewed it.
    pub pid: u32,
    /// The host it ran on.
    pub host: String,
    /// When the owner took it.
    pub acquired_at: SystemTime,
    /// When it expires unless renewed.
    pub expires_at: SystemTime,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    format: u64,
    path: String,
    owner: String,
    pid: u32,
    host: String,
    acquired_at: String,
    expires_at: String,
}

/// What reading a record gave.
pub(crate) enum Read {
    Lease(Lease),
    Bad(LeaseError),
}

impl Lease {
    pub(crate) fn new(path: String, owner: &str, acquired_at: SystemTime, expires_at: SystemTime) -> Lease {
        Lease {
            path,
            owner: owner.to_owned(),
            pid: std::process::id(),
            host: crate::sys::hostname(),
            acquired_at,
            expires_at,
        }
    }

    /// Whether it has expired at `now`: then anyone may take it.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_at <= now
    }

    /// `acquired_at` in RFC 3339.
    pub fn acquired_text(&self) -> String {
        rfc3339(self.acquired_at)
    }

    /// `expires_at` in RFC 3339.
    pub fn expires_at_text(&self) -> String {
        rfc3339(self.expires_at)
    }

    pub(crate) fn to_json(&self) -> Vec<u8> {
        let stored = Stored {
            format: FORMAT,
            path: self.path.clone(),
            owner: self.owner.clone(),
            pid: self.pid,
            host: self.host.clone(),
            acquired_at: rfc3339(self.acquired_at),
            expires_at: rfc3339(self.expires_at),
        };
        let mut bytes = serde_json::to_vec(&stored).expect("a lease record serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Parses the record at `record`; corrupt or newer records are errors, never "free".
    pub(crate) fn parse(record: &Path, bytes: &[u8]) -> Result<Lease, LeaseError> {
        let corrupt = |message: String| LeaseError::Corrupt { record: record.to_owned(), message };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|err| corrupt(format!("not JSON: {err}")))?;
        let format = value
            .get("format")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| corrupt("no format number".into()))?;
        if format > FORMAT {
            return Err(LeaseError::Newer { record: record.to_owned(), format });
        }
        let stored: Stored = serde_json::from_value(value).map_err(|err| corrupt(err.to_string()))?;
        let time = |text: &str, field: &str| {
            humantime::parse_rfc3339(text).map_err(|err| corrupt(format!("{field}: {err}")))
        };
        Ok(Lease {
            acquired_at: time(&stored.acquired_at, "acquired_at")?,
            expires_at: time(&stored.expires_at, "expires_at")?,
            path: stored.path,
            owner: stored.owner,
            pid: stored.pid,
            host: stored.host,
        })
    }
}

/// The latest time RFC 3339 can write (its years have four digits), as text.
pub(crate) const LATEST_TEXT: &str = "9999-12-31T23:59:59.999Z";

/// [`LATEST_TEXT`] as a time: a record's times are at most this.
pub(crate) fn latest() -> SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_millis(253_402_300_799_999)
}

/// Never panics: [`super::expiry`] keeps every time a lease is given within [`latest`], and a
/// parsed record's times are within it by construction.
fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// Components joined as the tree names a path (`.` for none).
pub(crate) fn join(components: &[String]) -> String {
    if components.is_empty() { ".".to_owned() } else { components.join("/") }
}

/// The inverse of [`join`].
pub(crate) fn split(path: &str) -> Vec<String> {
    if path == "." { Vec::new() } else { path.split('/').map(str::to_owned).collect() }
}
