//! The CLI tests.
