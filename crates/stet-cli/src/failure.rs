//! Errors as the contract shows them: one JSON line, or a plain sentence, and the exit status.

use std::process::ExitCode;

use serde_json::json;

/// Prints `error` on stderr and gives the exit status it carries.
pub fn report(error: &stet::Error, json_output: bool) -> ExitCode {
    if json_output {
        eprintln!("{}", json!({ "error": error.to_json() }));
    } else {
        eprintln!("stet: {}", error.message());
    }
    ExitCode::from(error.exit_status())
}
