//! ALICE-style crash-state enumeration: each protocol runs once through a recording seam, every
//! state a power loss could leave after every prefix of its calls is materialized, and recovery and
//! the next stet command must find the protocol's invariant intact. See `docs/design.md`,
//! "Crash-state enumeration".

// The names compared are stet's own (`.tmp`, `.lock`, `.tx`), always lower case.
#![allow(clippy::case_sensitive_file_extension_comparisons)]

mod crash;
