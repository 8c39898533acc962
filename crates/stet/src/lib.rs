//! stet makes the plain-text files shared by people, tools and AI agents safe to change
//! concurrently and safe across crashes.
//!
//! - [`Project`]: the front door. A project root with its configuration, owner and policies,
//!   offering every operation of the contract, leases enforced, errors carrying the contract's
//!   codes. The modules below are the layer it is built on.
//! - [`atomic`]: replace a file atomically and durably ([`atomic::write`]).
//! - [`lock`]: lock a file against other processes ([`lock::lock`]), with the flock protocol or
//!   the directory protocol of npm `proper-lockfile`.
//! - [`update`]: locked read-modify-write of a whole file.
//! - [`doc`]: format-preserving, locked edits of frontmatter and YAML, JSON and TOML files.
//! - [`log`]: NDJSON event logs: linearized, durable, idempotent appends; tolerant reads.
//! - [`lease`]: an owner's leases on paths, across processes, with TTLs.
//! - [`entry`]: the next numbered entry of a spec or story directory, created whole.
//! - [`tx`]: several files changed all together or not at all, across crashes; recovery.
//! - [`config`], [`root`]: a project's settings and where they live.
//! - [`confine`]: paths a client names kept beneath the root and out of `.stet/`.
//! - [`interrupt`]: what a process interrupted by a signal removes before it exits.
//!
//! Every file-system effect goes through the [`fs::Fs`] seam, which tests replace to inject
//! I/O errors and crashes at every step. `docs/design.md` records the on-disk formats and the
//! order of system calls of each protocol.

#![deny(missing_docs)]

pub mod atomic;
pub mod config;
pub mod confine;
pub mod doc;
pub mod duration;
pub mod entry;
pub mod fs;
pub mod interrupt;
pub mod lease;
pub mod lock;
pub mod log;
pub mod project;
pub mod root;
pub mod sweep;
mod sys;
mod target;
pub mod tx;
pub mod update;
pub mod version;

pub use project::{Code, Error, Options, Project};
pub use version::Version;
