//! The one error of the facade: every module error mapped, once, to the contract's code, exit
//! status, message and JSON form.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::atomic::WriteError;
use crate::config::ConfigError;
use crate::doc::{DocError, EditError};
use crate::entry::EntryError;
use crate::lease::LeaseError;
use crate::lock::{Holder, LockError};
use crate::log::LogError;
use crate::update::UpdateError;

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

    fn with_holder(mut self, holder: Option<Holder>) -> Self {
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

/// The first operating-system error in `err`'s chain of causes.
fn io_cause(err: &dyn std::error::Error) -> Option<&io::Error> {
    let mut current = err.source();
    while let Some(source) = current {
        if let Some(io) = source.downcast_ref::<io::Error>() {
            return Some(io);
        }
        current = source.source();
    }
    None
}

impl From<WriteError> for Error {
    fn from(err: WriteError) -> Self {
        let code = match &err {
            WriteError::Exists { .. } => Code::Exists,
            WriteError::HardLinked { .. } => Code::Conflict,
            WriteError::NotWritable { .. } => Code::Permission,
            WriteError::NotRegularFile { .. } | WriteError::IsDirectory { .. } => Code::Io,
            // An attribute's code is its cause's: EPERM where only a privileged user may set it.
            other => io_cause(other).map_or(Code::Io, Code::of_io),
        };
        Error::new(code, err.to_string()).with_path(err.path())
    }
}

impl From<LockError> for Error {
    fn from(err: LockError) -> Self {
        let code = match &err {
            LockError::Timeout { .. } => Code::LockTimeout,
            LockError::Compromised { .. } => Code::Compromised,
            LockError::AlreadyHeld { .. } => Code::Conflict,
            LockError::Unsupported { .. } => Code::Usage,
            LockError::Foreign { .. } | LockError::OtherProtocol { .. } => Code::Exists,
            other => io_cause(other).map_or(Code::Io, Code::of_io),
        };
        // A refused side file is named itself: it is the file the user must look at.
        let path = match &err {
            LockError::Foreign { side_path, .. } => side_path.as_path(),
            LockError::OtherProtocol { lock_path, .. } => lock_path.as_path(),
            other => other.path(),
        };
        Error::new(code, err.to_string()).with_path(path).with_holder(err.holder().cloned())
    }
}

impl From<LeaseError> for Error {
    fn from(err: LeaseError) -> Self {
        let message = err.to_string();
        match err {
            LeaseError::Leased { path, holder } => Error::new(
                Code::Leased,
                format!(
                    "{message}. Wait for it to be released or to expire (see `stet lease status`), or pass --ignore-leases to write anyway."
                ),
            )
            .with_path(Path::new(&path))
            .with_extra("expires_at", json!(holder.expires_at_text()))
            .with_holder(Some(Holder {
                pid: holder.pid,
                host: holder.host.clone(),
                owner: Some(holder.owner.clone()),
                command: String::new(),
                since: holder.acquired_text(),
            })),
            LeaseError::NotHeld { path, .. } => Error::new(Code::NotFound, message).with_path(Path::new(&path)),
            LeaseError::Corrupt { record, .. } | LeaseError::Newer { record, .. } => {
                Error::new(Code::Malformed, message).with_path(&record)
            }
            LeaseError::OutsideRoot { path, .. } => Error::usage(message).with_path(&path),
            LeaseError::Invalid(_) | LeaseError::TtlTooLong { .. } => Error::usage(message),
            LeaseError::Foreign { path, .. } => Error::new(Code::Exists, message).with_path(&path),
            LeaseError::Busy { .. } => Error::new(Code::LockTimeout, message),
            LeaseError::Write(err) => err.into(),
            LeaseError::Io(err) => Error::new(Code::of_io(&err.source), message).with_path(&err.path),
            // A variant added to the module's error is an I/O failure until it is mapped here.
            #[allow(unreachable_patterns)]
            _ => Error::new(Code::Io, message),
        }
    }
}

impl From<ConfigError> for Error {
    fn from(err: ConfigError) -> Self {
        match &err {
            ConfigError::Malformed { path, .. } => {
                Error::new(Code::Malformed, err.to_string()).with_path(path)
            }
            ConfigError::Io { path, source } => {
                Error::new(Code::of_io(source), err.to_string()).with_path(path)
            }
            // A variant added to the module's error is an I/O failure until it is mapped here.
            #[allow(unreachable_patterns)]
            _ => Error::new(Code::Io, err.to_string()),
        }
    }
}

impl<E: Into<Error>> From<UpdateError<E>> for Error {
    fn from(err: UpdateError<E>) -> Self {
        match err {
            UpdateError::Lock(err) => err.into(),
            UpdateError::Write(err) => err.into(),
            UpdateError::Read { path, source } => Error::io(&path, &source, "cannot read"),
            UpdateError::Edit(err) => err.into(),
            // A variant added to the module's error is an I/O failure until it is mapped here.
            #[allow(unreachable_patterns)]
            _ => Error::new(Code::Io, "the update failed"),
        }
    }
}

impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<EditError> for Error {
    fn from(err: EditError) -> Self {
        match err {
            EditError::Conflict { path, expected, found } => Error::new(
                Code::Conflict,
                format!(
                    "{} is at version {found}, not {expected}: it changed since it was read; nothing was written. Read it again and retry.",
                    path.display()
                ),
            )
            .with_path(&path)
            .with_extra("expected", json!(expected.to_string()))
            .with_extra("found", json!(found.to_string())),
            EditError::Document { path, source } => Error::document(&path, &source),
            EditError::Lock(err) => err.into(),
            EditError::Write(err) => err.into(),
            EditError::Read { path, source } => Error::io(&path, &source, "cannot read"),
            // A variant added to the module's error is an I/O failure until it is mapped here.
            #[allow(unreachable_patterns)]
            _ => Error::new(Code::Io, "the edit failed"),
        }
    }
}

impl From<EntryError> for Error {
    fn from(err: EntryError) -> Self {
        match err {
            EntryError::Invalid { message } => Error::usage(message),
            EntryError::Document { path, source } => Error::document(&path, &source),
            EntryError::Lock(err) => err.into(),
            EntryError::Io(ref err) => Error::io(&err.path, &err.source, "cannot create the entry:"),
            // A variant added to the module's error is an I/O failure until it is mapped here.
            #[allow(unreachable_patterns)]
            other => Error::new(Code::Io, other.to_string()),
        }
    }
}

impl Error {
    /// A document or edit problem in `path`: nothing was written.
    pub fn document(path: &Path, err: &DocError) -> Self {
        let (code, line) = match err {
            DocError::Malformed { line, .. } => (Code::Malformed, *line),
            DocError::Invalid { .. } => (Code::Usage, None),
            _ => (Code::Malformed, None),
        };
        let error =
            Error::new(code, format!("{}: {err}; the file was not changed", path.display())).with_path(path);
        match line {
            Some(line) => error.with_extra("line", json!(line)),
            None => error,
        }
    }

    /// A log problem in `log`.
    pub fn log(log: &Path, err: LogError) -> Self {
        match err {
            LogError::Malformed { .. } => {
                Error::new(Code::Malformed, format!("{}: {err}", log.display())).with_path(log)
            }
            LogError::NotFound { .. } => Error::new(Code::NotFound, err.to_string()).with_path(log),
            LogError::NotALog { ref path } => Error::new(Code::Malformed, err.to_string()).with_path(path),
            LogError::NotAFile { ref path, .. } => Error::new(Code::Io, err.to_string()).with_path(path),
            LogError::NotStets { ref path, .. } => Error::new(Code::Exists, err.to_string()).with_path(path),
            LogError::Lock(err) => err.into(),
            LogError::Write(err) => err.into(),
            LogError::Io(ref io) => Error::new(Code::of_io(&io.source), err.to_string()).with_path(&io.path),
            // A variant added to the module's error is an I/O failure until it is mapped here.
            #[allow(unreachable_patterns)]
            other => Error::new(Code::Io, other.to_string()).with_path(log),
        }
    }
}
