//! Platform differences, in one place: every function here has the same signature on every platform.
//! Unsupported platforms return `io::ErrorKind::Unsupported`; they never panic.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(not(unix))]
mod other;
#[cfg(not(unix))]
pub(crate) use other::*;
