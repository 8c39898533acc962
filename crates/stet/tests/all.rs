//! The library's integration tests: one binary, a module per concept.

mod atomic;
mod lock;
mod support;
mod update;
