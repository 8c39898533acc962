//! What the operations return: typed, and serialized to exactly the contract's JSON shapes, so
//! that every front end prints the same thing from one definition. Paths are as the caller gave
//! them.

use std::path::PathBuf;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;

use crate::lease::Lease;
use crate::version::Version;

/// `write`: `{"path", "bytes", "version"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Written {
    /// The file, as given.
    pub path: PathBuf,
    /// Its size now.
    pub bytes: u64,
    /// Its version now.
    pub version: Version,
}

/// `update`: `{"path", "bytes", "version", "changed"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Updated {
    /// The file, as given.
    pub path: PathBuf,
    /// Its size now (0 if it does not exist).
    pub bytes: u64,
    /// Its version now.
    pub version: Version,
    /// Whether it was rewritten.
    pub changed: bool,
}

/// `set`, `unset`, `push`, `merge`: `{"path", "version", "changed"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edited {
    /// The document, as given.
    pub path: PathBuf,
    /// Its version now.
    pub version: Version,
    /// Whether it was rewritten (an edit that changes nothing does not rewrite).
    pub changed: bool,
}

/// `get --with-version`: `{"value", "version"}`, from one read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Got {
    /// The document as JSON, or the value at the key.
    pub value: Value,
    /// The version of the bytes the value was read from.
    pub version: Version,
}

/// `version`: `{"path", "version"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionOf {
    /// The file, as given.
    pub path: PathBuf,
    /// Its version (`none`: it does not exist).
    pub version: Version,
}

/// `new`: `{"path", "seq"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewEntry {
    /// The entry, inside the directory as given.
    pub path: PathBuf,
    /// Its number.
    pub seq: u64,
}

/// `log append`: `{"appended", "duplicates", "offset", "cut"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Appended {
    /// Events written.
    pub appended: usize,
    /// Events skipped as duplicates.
    pub duplicates: usize,
    /// Where the first written event's line starts (the log's end when none was written).
    pub offset: u64,
    /// The torn tail cut before writing, if any (`null` otherwise).
    pub cut: Option<CutTail>,
}

/// A torn tail an append cut: `{"bytes", "rejected"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CutTail {
    /// How many bytes were cut.
    pub bytes: u64,
    /// The `LOG.rejected` that keeps them.
    pub rejected: PathBuf,
}

/// `log verify`, `log repair`: `{"path", "lines", "bytes", "torn_tail_bytes", "corrupt_lines", "clean"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogChecked {
    /// The log, as given.
    pub path: PathBuf,
    /// Complete lines (valid and corrupt).
    pub lines: usize,
    /// The log's size.
    pub bytes: u64,
    /// Bytes of torn tail after the last complete line.
    pub torn_tail_bytes: u64,
    /// Line numbers of complete lines that are not one JSON value.
    pub corrupt_lines: Vec<usize>,
    /// Neither torn tail nor corrupt lines (for `repair`: before the repair).
    pub clean: bool,
}

/// One lease as the contract shows it: `{"path", "owner", "acquired_at", "expires_at",
/// "expired", "pid", "host"}`, times in RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseInfo {
    /// The leased path, relative to the root, `/`-separated.
    pub path: String,
    /// Who holds it.
    pub owner: String,
    /// When it was taken, RFC 3339.
    pub acquired_at: String,
    /// When it expires unless renewed, RFC 3339.
    pub expires_at: String,
    /// Whether it had expired when this was made.
    pub expired: bool,
    /// The process that took or last renewed it.
    pub pid: u32,
    /// Its host.
    pub host: String,
    /// The lease itself.
    #[serde(skip)]
    pub lease: Lease,
}

impl From<Lease> for LeaseInfo {
    fn from(lease: Lease) -> Self {
        LeaseInfo {
            path: lease.path.clone(),
            owner: lease.owner.clone(),
            acquired_at: lease.acquired_text(),
            expires_at: lease.expires_at_text(),
            expired: lease.is_expired(SystemTime::now()),
            pid: lease.pid,
            host: lease.host.clone(),
            lease,
        }
    }
}

/// `lease acquire|renew|status`: `{"leases": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseList {
    /// The leases.
    pub leases: Vec<LeaseInfo>,
}

impl LeaseList {
    pub(super) fn of(leases: Vec<Lease>) -> Self {
        LeaseList { leases: leases.into_iter().map(LeaseInfo::from).collect() }
    }
}

/// `lease release`: `{"released": N}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Released {
    /// How many leases were released.
    pub released: usize,
}

/// `lease cleanup`: `{"released": [lease...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CleanedUp {
    /// The leases removed.
    pub released: Vec<LeaseInfo>,
}
