//! The `stet` command's integration tests: real processes racing, killed, and failing.

mod config;
mod doc;
mod errors;
mod interop;
mod kill;
mod lease;
mod lock;
mod log;
mod new;
mod power;
mod safety_paths;
mod support;
mod update;
mod write;
