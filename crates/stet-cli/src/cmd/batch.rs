//! `stet batch`: the batch protocol of `stet-batch` on stdin and stdout.

use std::process::ExitCode;

use stet::{Code, Error, Project};

pub fn run(project: &Project) -> Result<ExitCode, Error> {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    // A closed stdout ends the batch as the end of input does: the client has gone.
    stet_batch::serve(project, stdin, stdout).map_err(|err| {
        Error::new(Code::Io, format!("stet batch: cannot read requests or write responses: {err}"))
    })?;
    Ok(ExitCode::SUCCESS)
}
