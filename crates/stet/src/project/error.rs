//! The one error of the facade: the contract's code, exit status, message and JSON form (each
//! module error is mapped to it in `causes.rs`).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::lock::Holder;

/// The contract's error codes (`cli.md`, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// `EIO`: an I/O error, or a path that is not a regular file.
    Io,
    /// `ENOTFOUND`: a missing file, key or lease.
    NotFound,
    /// `EPERM`: the caller may not do this.
    Permission,
    /// `EUSAGE`: bad arguments.
    Usage,
    /// `ECONFLICT`: a version mismatch, a file with several hard links.
    Conflict,
    /// `EEXIST`: the target exists, or a side file is not stet's.
    Exists,
    /// `ELEASED`: the path is under another owner's live lease.
    Leased,
    /// `ECOMPROMISED`: a lock or lease was lost while held.
    Compromised,
    /// `EMALFORMED`: invalid YAML/JSON/TOML, broken frontmatter, an event that is not one value.
    Malformed,
    /// `ELOCK_TIMEOUT`: the lock was not acquired in time.
    LockTimeout,
    /// `ECOMMAND`: a command run by `update`, `lock` or `lease run` failed; the status is its own.
    Command,
}

impl Code {
    /// The code as the contract spells it: `"ELOCK_TIMEOUT"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Io => "EIO",
            Code::NotFound => "ENOTFOUND",
            Code::Permission => "EPERM",
            Code::Usage => "EUSAGE",
            Code::Conflict => "ECONFLICT",
            Code::Exists => "EEXIST",
            Code::Leased => "ELEASED",
            Code::Compromised => "ECOMPROMISED",
            Code::Malformed => "EMALFORMED",
            Code::LockTimeout => "ELOCK_TIMEOUT",
            Code::Command => "ECOMMAND",
        }
    }

    /// The exit status the contract gives this code.
    pub fn exit_status(self) -> u8 {
        match self {
            Code::Usage => 2,
            Code::Conflict | Code::Exists | Code::Leased | Code::Compromised => 3,
            Code::Malformed => 65,
            Code::LockTimeout => 75,
            Code::Io | Code::NotFound | Code::Permission | Code::Command => 1,
        }
    }

    /// The code of an operating-system error.
    pub fn of_io(err: &io::Error) -> Code {
        match err.kind() {
            io::ErrorKind::NotFound => Code::NotFound,
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => Code::Permission,
            _ => Code::Io,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Why an operation of a [`Project`](super::Project) failed: the contract's code and exit status,
/// a message that says what happened, to which file, and what to do, and the file and holder
/// concerned. A failed operation changed nothing (the module errors say where that has limits).
#[derive(Debug, Clone)]
pub struct Error {
    // Boxed: a `Result<_, Error>` stays two words wide on the happy path.
    inner: Box<Details>,
}

#[derive(Debug, Clone)]
struct Details {
    code: Code,
    status: u8,
    message: String,
    path: Option<PathBuf>,
    holder: Option<Box<Holder>>,
    extra: Map<String, Value>,
}

impl Error {
    /// An error of `code` with `message`, the code's exit status, no path.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Details {
                code,
                status: code.exit_status(),
                message: message.into(),
                path: None,
                holder: None,
                extra: Map::new(),
            }),
        }
    }

    /// A usage error (`EUSAGE`, exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(Code::Usage, message)
    }

    /// A command run under stet (`update`, `lock`, `lease run`) exited with `status`: stet exits
    /// with the same status.
    pub fn command_failed(message: impl Into<String>, status: u8) -> Self {
        let mut error = Error::new(Code::Command, message);
        error.inner.status = status;
        error.inner.extra.insert("status".into(), json!(status));
        error
    }

    /// An operating-system error about `path`, its message `what` followed by the cause.
    pub fn io(path: &Path, err: &io::Error, what: &str) -> Self {
        Error::new(Code::of_io(err), format!("{what} {}: {err}", path.display())).with_path(path)
    }

    /// The same error with another exit status (a command stet could not start: 126, 127).
    #[must_use]
    pub fn with_exit_status(mut self, status: u8) -> Self {
        self.inner.status = status;
        self
    }

    /// The same error naming `path`.
    #[must_use]
    pub fn with_path(mut self, path: &Path) -> Self {
        self.inner.path = Some(path.to_path_buf());
        self
    }

    /// The same error with another message.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.inner.message = message.into();
        self
    }

    /// The same error with one more JSON field.
    #[must_use]
    pub fn with_extra(mut self, key: &str, value: Value) -> Self {
        self.inner.extra.insert(key.to_owned(), value);
        self
    }

    /// The contract's code.
    pub fn code(&self) -> Code {
        self.inner.code
    }

    /// The exit status a command reports for this error.
    pub fn exit_status(&self) -> u8 {
        self.inner.status
    }

    /// The message: what happened, to which file, and what to do.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The file concerned, when there is one.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Who holds the lock or lease in the way, when known.
    pub fn holder(&self) -> Option<&Holder> {
        self.inner.holder.as_deref()
    }

    /// Fields beyond code, message, path and holder (`line`, `expected`, `found`, `expires_at`).
    pub fn extra(&self) -> &Map<String, Value> {
        &self.inner.extra
    }

    /// `{"code", "message", "path"?, "holder"?, ...extra}`: the object under `"error"` in the
    /// contract's JSON.
    pub fn to_json(&self) -> Value {
        let mut error = json!({ "code": self.inner.code.as_str(), "message": self.inner.message });
        if let Some(path) = &self.inner.path {
            error["path"] = json!(path);
        }
        if let Some(holder) = &self.inner.holder {
            error["holder"] = json!(holder);
        }
        for (key, value) in &self.inner.extra {
            error[key] = value.clone();
        }
        error
    }

    pub(super) fn with_holder(mut self, holder: Option<Holder>) -> Self {
        self.inner.holder = holder.map(Box::new);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl std::error::Error for Error {}

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}
