//! `stet-bench`: stet side by side with the bare-syscall floor and with what users would otherwise
//! use (Node proper-lockfile + write-file-atomic, Python filelock + os.replace), in one run, on one
//! counter file, with 1 and 4 concurrent processes. Every contestant does the same operation: a
//! locked, durable read-increment-write of the counter. Reports ops/s, ratios to the floor, lost
//! updates and fairness.
//!
//! Usage: `stet-bench [--quick] [--runs N] [--only counter|doc|log|lease|batch|tx]` (the table goes to stdout).
//! Internal subcommands: `worker floor|lib|lib-kept|doc-floor|doc-lib|doc-lib-kept|log-floor|log-lib|batch-lib|batch-pipe|tx|tx-atomic FILE N`,
//! `once FILE [HELPER...]`, `incr`, `doc-once FILE VALUE`.

// Statistics over operation counts: f64 precision is ample.
#![allow(clippy::cast_precision_loss)]

mod batch_suite;
mod doc;
mod doc_suite;
mod floor;
mod harness;
mod lease_suite;
mod log_suite;
mod report;
mod tx_suite;

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match words.as_slice() {
        ["worker", kind, file, ops] if kind.starts_with("log-") => {
            log_suite::worker(kind, Path::new(file), ops.parse().expect("N is a number"))
        }
        ["worker", kind, file, ops] if kind.starts_with("batch-") => {
            batch_suite::worker(kind, Path::new(file), ops.parse().expect("N is a number"))
        }
        ["worker", kind, file, ops] if kind.starts_with("tx") => {
            tx_suite::worker(kind, Path::new(file), ops.parse().expect("N is a number"))
        }
        ["worker", kind, file, ops] if kind.starts_with("doc-") => {
            doc::worker(kind, Path::new(file), ops.parse().expect("N is a number"))
        }
        ["worker", kind, file, ops] => {
            floor::worker(kind, Path::new(file), ops.parse().expect("N is a number"))
        }
        ["doc-once", file, value] => doc::set_once(Path::new(file), value),
        ["once", file, helper @ ..] => floor::increment_once(
            Path::new(file),
            &helper.iter().map(|word| (*word).to_owned()).collect::<Vec<_>>(),
        ),
        ["incr"] => floor::incr_stdin(),
        options => harness::run(options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("stet-bench: {err}");
            ExitCode::FAILURE
        }
    }
}
