//! The library's integration tests: one binary, a module per concept.

mod atomic;
mod doc;
mod lock;
mod support;
mod update;
