//! Running the user's command under a lock: its exit status becomes stet's, and termination
//! signals sent to stet reach it, so the lock is released only after it has ended.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::failure::Failure;

/// What the command did.
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
}

impl Outcome {
    /// The status as a process exit code: the command's own, or 128 + the signal that killed it.
    pub fn exit_code(&self) -> u8 {
        use std::os::unix::process::ExitStatusExt;
        match (self.status.code(), self.status.signal()) {
            (Some(code), _) => code as u8,
            (None, Some(signal)) => 128u8.wrapping_add(signal as u8),
            (None, None) => 1,
        }
    }
}

/// Runs `argv`, feeding `stdin` if given and capturing stdout if `capture`.
pub fn run(
    argv: &[OsString],
    env: &[(OsString, OsString)],
    stdin: Option<&[u8]>,
    capture: bool,
) -> Result<Outcome, Failure> {
    let (program, arguments) =
        argv.split_first().ok_or_else(|| Failure::usage("no command given after --"))?;
    // Registered before the spawn so no signal falls between: while the command runs, SIGTERM and
    // SIGHUP are passed on to it, SIGINT and SIGQUIT (which a terminal sends to the whole process
    // group, the command included) are only kept from killing stet.
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        .map_err(|err| Failure::new("EIO", format!("cannot handle signals: {err}")))?;
    let mut child = Command::new(program)
        .args(arguments)
        .envs(env.iter().map(|(key, value)| (key, value)))
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::inherit() })
        .stdout(if capture { Stdio::piped() } else { Stdio::inherit() })
        .spawn()
        .map_err(|err| spawn_failure(program, &err))?;
    let handle = signals.handle();
    let pid = child.id();
    let forwarder = std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal == SIGTERM || signal == SIGHUP {
                // SAFETY: sending a signal to our own child, which has not been reaped yet.
                unsafe { libc::kill(pid as libc::pid_t, signal) };
            }
        }
    });
    let feeder = match (stdin, child.stdin.take()) {
        (Some(bytes), Some(mut pipe)) => {
            let bytes = bytes.to_vec();
            // A command that does not read its input closes the pipe early: not an error.
            Some(std::thread::spawn(move || drop(pipe.write_all(&bytes))))
        }
        _ => None,
    };
    let mut stdout = Vec::new();
    let read = match child.stdout.take() {
        Some(mut pipe) => pipe.read_to_end(&mut stdout).map(drop),
        None => Ok(()),
    };
    let status = child.wait();
    handle.close();
    let _ = forwarder.join();
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    read.map_err(|err| Failure::new("EIO", format!("cannot read the output of the command: {err}")))?;
    let status = status.map_err(|err| Failure::new("EIO", format!("cannot wait for the command: {err}")))?;
    Ok(Outcome { status, stdout })
}

/// As shells do: 127 when the command is missing, 126 when it cannot be run.
fn spawn_failure(program: &std::ffi::OsStr, err: &std::io::Error) -> Failure {
    let name = program.to_string_lossy();
    if err.kind() == std::io::ErrorKind::NotFound {
        Failure::new("ENOTFOUND", format!("command not found: {name}")).with_status(127)
    } else {
        Failure::new("EPERM", format!("cannot run {name}: {err}")).with_status(126)
    }
}
