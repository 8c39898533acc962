//! The enumerator ([`model`], [`record`], [`run`]) and one module per protocol.

mod model;
mod record;
mod run;

mod atomic;
mod doc;
mod entry;
mod lease;
mod log;
mod tx;

/// Barriers whose removal the enumerator does not notice, by protocol and label (see
/// [`run::barriers`]), each with the reason. An entry is a gap of the model or a redundant fsync.
pub const NOT_NEEDED: &[(&str, &str, &str)] = &[];

/// Violations the enumerator finds that are not fixed, with the explanation.
pub const KNOWN_FINDINGS: &[(&str, &str)] = &[];
