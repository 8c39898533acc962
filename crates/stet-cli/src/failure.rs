//! Errors as the contract shows them: a stable code, an exit status, a message, and JSON.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};
use stet::atomic::WriteError;
use stet::config::ConfigError;
use stet::doc::{DocError, EditError};
use stet::lease::LeaseError;
use stet::lock::{Holder, LockError};
use stet::update::UpdateError;

/// A failure of a stet command.
#[derive(Debug)]
pub struct Failure {
    pub code: &'static str,
    pub status: u8,
    pub message: String,
    pub path: Option<PathBuf>,
    pub holder: Option<Box<Holder>>,
    /// Extra JSON fields.
    pub extra: Vec<(&'static str, Value)>,
}

impl Failure {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        let status = match code {
            "EUSAGE" => 2,
            "ECONFLICT" | "EEXIST" | "ELEASED" | "ECOMPROMISED" => 3,
            "EMALFORMED" => 65,
            "ELOCK_TIMEOUT" => 75,
            _ => 1,
        };
        Failure { code, status, message: message.into(), path: None, holder: None, extra: Vec::new() }
    }

    pub fn with_path(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }

    pub fn with_status(mut self, status: u8) -> Self {
        self.status = status;
        self
    }

    pub fn with_extra(mut self, key: &'static str, value: Value) -> Self {
        self.extra.push((key, value));
        self
    }

    pub fn with_message(mut self, message: String) -> Self {
        self.message = message;
        self
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new("EUSAGE", message)
    }

    pub fn io(path: &Path, err: &io::Error, what: &str) -> Self {
        Failure::new(io_code(err), format!("{what} {}: {err}", path.display())).with_path(path)
    }

    pub fn report(&self, json_output: bool) -> ExitCode {
        if json_output {
            let mut error = json!({ "code": self.code, "message": self.message });
            if let Some(path) = &self.path {
                error["path"] = json!(path);
            }
            if let Some(holder) = &self.holder {
                error["holder"] = json!(holder);
            }
            for (key, value) in &self.extra {
                error[*key] = value.clone();
            }
            eprintln!("{}", json!({ "error": error }));
        } else {
            eprintln!("stet: {}", self.message);
        }
        ExitCode::from(self.status)
    }
}

fn io_code(err: &io::Error) -> &'static str {
    match err.kind() {
        io::ErrorKind::NotFound => "ENOTFOUND",
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => "EPERM",
        _ => "EIO",
    }
}

fn error_chain(err: &dyn std::error::Error) -> Option<&io::Error> {
    let mut current = err.source();
    while let Some(source) = current {
        if let Some(io) = source.downcast_ref::<io::Error>() {
            return Some(io);
        }
        current = source.source();
    }
    None
}

impl From<WriteError> for Failure {
    fn from(err: WriteError) -> Self {
        let code = match &err {
            WriteError::Exists { .. } => "EEXIST",
            WriteError::HardLinked { .. } => "ECONFLICT",
            WriteError::NotWritable { .. } => "EPERM",
            WriteError::NotRegularFile { .. } | WriteError::IsDirectory { .. } => "EIO",
            // An attribute's code is its cause's: EPERM where only a privileged user may set it.
            other => error_chain(other).map_or("EIO", io_code),
        };
        Failure::new(code, err.to_string()).with_path(err.path())
    }
}

impl From<LockError> for Failure {
    fn from(err: LockError) -> Self {
        let code = match &err {
            LockError::Timeout { .. } => "ELOCK_TIMEOUT",
            LockError::Compromised { .. } => "ECOMPROMISED",
            LockError::AlreadyHeld { .. } => "ECONFLICT",
            LockError::Unsupported { .. } => "EUSAGE",
            LockError::Foreign { .. } | LockError::OtherProtocol { .. } => "EEXIST",
            other => error_chain(other).map_or("EIO", io_code),
        };
        // A refused side file is named itself: it is the file the user must look at.
        let path = match &err {
            LockError::Foreign { side_path, .. } => side_path.as_path(),
            LockError::OtherProtocol { lock_path, .. } => lock_path.as_path(),
            other => other.path(),
        };
        let mut failure = Failure::new(code, err.to_string()).with_path(path);
        failure.holder = err.holder().cloned().map(Box::new);
        failure
    }
}

impl From<LeaseError> for Failure {
    fn from(err: LeaseError) -> Self {
        let message = err.to_string();
        match err {
            LeaseError::Leased { path, holder } => {
                let mut failure = Failure::new(
                    "ELEASED",
                    format!(
                        "{message}. Wait for it to be released or to expire, or act as its owner (--owner)."
                    ),
                )
                .with_path(Path::new(&path))
                .with_extra("expires_at", json!(holder.expires_at_text()));
                failure.holder = Some(Box::new(Holder {
                    pid: holder.pid,
                    host: holder.host.clone(),
                    owner: Some(holder.owner.clone()),
                    command: String::new(),
                    since: holder.acquired_text(),
                }));
                failure
            }
            LeaseError::NotHeld { path, .. } => {
                Failure::new("ENOTFOUND", message).with_path(Path::new(&path))
            }
            LeaseError::Corrupt { record, .. } | LeaseError::Newer { record, .. } => {
                Failure::new("EMALFORMED", message).with_path(&record)
            }
            LeaseError::OutsideRoot { path, .. } => Failure::usage(message).with_path(&path),
            LeaseError::Invalid(_) | LeaseError::TtlTooLong { .. } => Failure::usage(message),
            LeaseError::Foreign { path, .. } => Failure::new("EEXIST", message).with_path(&path),
            LeaseError::Busy { .. } => Failure::new("ELOCK_TIMEOUT", message),
            LeaseError::Write(err) => err.into(),
            LeaseError::Io { path, source, .. } => {
                Failure::io(&path, &source, "").with_path(&path).with_message(message)
            }
            _ => Failure::new("EIO", message),
        }
    }
}

impl From<std::convert::Infallible> for Failure {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<ConfigError> for Failure {
    fn from(err: ConfigError) -> Self {
        match &err {
            ConfigError::Malformed { path, .. } => {
                Failure::new("EMALFORMED", err.to_string()).with_path(path)
            }
            ConfigError::Io { path, source } => {
                Failure::new(io_code(source), err.to_string()).with_path(path)
            }
            _ => Failure::new("EIO", err.to_string()),
        }
    }
}

impl<E: Into<Failure>> From<UpdateError<E>> for Failure {
    fn from(err: UpdateError<E>) -> Self {
        match err {
            UpdateError::Lock(err) => err.into(),
            UpdateError::Write(err) => err.into(),
            UpdateError::Read { path, source } => Failure::io(&path, &source, "cannot read"),
            UpdateError::Edit(err) => err.into(),
            _ => Failure::new("EIO", "the update failed"),
        }
    }
}

impl From<EditError> for Failure {
    fn from(err: EditError) -> Self {
        match err {
            EditError::Conflict { path, expected, found } => Failure::new("ECONFLICT", format!(
                "{} is at version {found}, not {expected}: it changed since it was read; nothing was written. Read it again and retry.",
                path.display()
            ))
            .with_path(&path)
            .with_extra("expected", json!(expected.to_string()))
            .with_extra("found", json!(found.to_string())),
            EditError::Document { path, source } => Failure::document(&path, &source),
            EditError::Lock(err) => err.into(),
            EditError::Write(err) => err.into(),
            EditError::Read { path, source } => Failure::io(&path, &source, "cannot read"),
            _ => Failure::new("EIO", "the edit failed"),
        }
    }
}

impl Failure {
    /// A document or edit problem in `path`: nothing was written.
    pub fn document(path: &Path, err: &DocError) -> Self {
        let (code, line) = match err {
            DocError::Malformed { line, .. } => ("EMALFORMED", *line),
            DocError::Invalid { .. } => ("EUSAGE", None),
            _ => ("EMALFORMED", None),
        };
        let mut failure = Failure::new(code, format!("{}: {err}; the file was not changed", path.display()))
            .with_path(path);
        if let Some(line) = line {
            failure = failure.with_extra("line", json!(line));
        }
        failure
    }
}
