//! Every module error mapped, once, to the contract's code, exit status, message and JSON.

use std::io;
use std::path::Path;

use serde_json::json;

use super::{Code, Error};
use crate::atomic::WriteError;
use crate::config::ConfigError;
use crate::doc::{DocError, EditError};
use crate::entry::EntryError;
use crate::lease::LeaseError;
use crate::lock::{Holder, LockError};
use crate::log::LogError;
use crate::sweep::SweepError;
use crate::tx::TxError;
use crate::update::UpdateError;

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

impl From<SweepError> for Error {
    fn from(err: SweepError) -> Self {
        let message = err.to_string();
        match err {
            SweepError::NotADirectory { path } => Error::new(Code::Io, message).with_path(&path),
            SweepError::Io { path, source, .. } => Error::new(Code::of_io(&source), message).with_path(&path),
            // A variant added to the module's error is an I/O failure until it is mapped here.
            #[allow(unreachable_patterns)]
            _ => Error::new(Code::Io, message),
        }
    }
}

impl From<TxError> for Error {
    fn from(err: TxError) -> Self {
        let op = err.op();
        let message = err.to_string();
        let error = match err {
            TxError::Plan { .. } => Error::usage(message),
            TxError::Conflict { path, expected, found, .. } => Error::new(Code::Conflict, message)
                .with_path(&path)
                .with_extra("expected", json!(expected.to_string()))
                .with_extra("found", json!(found.to_string())),
            TxError::NotFound { path, .. } => Error::new(Code::NotFound, message).with_path(&path),
            TxError::Refused { path, .. } | TxError::CrossDevice { path, .. } => {
                Error::new(Code::Io, message).with_path(&path)
            }
            TxError::Document { path, source, .. } => Error::document(&path, &source),
            TxError::Log { path, source, .. } => Error::log(&path, source),
            TxError::Entry { source, .. } => source.into(),
            TxError::Write { source, .. } => source.into(),
            TxError::Lock(err) => err.into(),
            TxError::Io(err) => Error::new(Code::of_io(&err.source), message).with_path(&err.path),
            TxError::Unfinished { journal, source } => {
                Error::new(Code::of_io(&source.source), message).with_path(&journal)
            }
            // A variant added to the module's error is an I/O failure until it is mapped here.
            #[allow(unreachable_patterns)]
            _ => Error::new(Code::Io, message),
        };
        match op {
            // Every error about one op names it, in the message and as `"op"`.
            Some(op) => {
                let prefix = format!("op {op}: ");
                let error = if error.message().starts_with(&prefix) {
                    error
                } else {
                    let message = format!("{prefix}{}", error.message());
                    error.with_message(message)
                };
                error.with_extra("op", json!(op))
            }
            None => error,
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
