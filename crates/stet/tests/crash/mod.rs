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
pub const NOT_NEEDED: &[(&str, &str, &str)] = &[(
    "lease",
    "fsync dir .stet/leases/_docs",
    "redundant here: the sibling node made next (`_b.md`) fsyncs the same parent before any record is written; \
         an acquire of several new siblings could fsync their parent once",
)];

/// What the enumerator found that is not fixed, by protocol, with the explanation.
pub const KNOWN_FINDINGS: &[(&str, &str)] = &[];

#[test]
fn the_known_findings_are_listed() {
    for (protocol, finding) in KNOWN_FINDINGS {
        eprintln!("known finding: {protocol}: {finding}");
    }
    for (protocol, label, reason) in NOT_NEEDED {
        eprintln!("not needed: {protocol}: {label}: {reason}");
    }
}
