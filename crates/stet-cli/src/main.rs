//! The `stet` command: an adapter over the library's front door, [`stet::Project`]. It parses
//! arguments into a typed command, opens the project with the global flags as options, calls
//! the project, and renders the result and the error (text, or the contract's JSON).

mod child;
mod cmd;
mod context;
mod failure;
mod flags;
mod help;

use std::io::Write;
use std::process::ExitCode;

use flags::{Cli, Command};
use stet::Error;

fn main() -> ExitCode {
    clean_up_on_signals();
    let json_output = wants_json();
    let cli = match help::parse() {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            let args: Vec<String> = std::env::args().collect();
            let err = flags::hint_keys_after_double_dash(err, &args);
            if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            {
                let _ = err.print();
                return if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            if json_output {
                return failure::report(&Error::usage(summary(&err.to_string())), true);
            }
            let _ = err.print();
            return ExitCode::from(2);
        }
    };
    let outcome = run(cli);
    stet::interrupt::checkpoint();
    match outcome {
        Ok(code) => code,
        Err(error) => failure::report(&error, json_output),
    }
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(shell, &mut help::command(), "stet", &mut std::io::stdout());
        return Ok(ExitCode::SUCCESS);
    }
    let ctx = context::Context::build(&cli.global)?;
    match cli.command {
        Command::Write { file, create_new, mode } => cmd::write::run(&ctx, &file, create_new, mode),
        Command::Update { file, command } => cmd::update::run(&ctx, &file, &command),
        Command::Lock { file, shared, command } => cmd::lock::run(&ctx, &file, shared, &command),
        Command::Get { file, key, format, with_version } => {
            cmd::doc::get(&ctx, &file, key.as_deref(), format, with_version)
        }
        Command::Set(args) => cmd::doc::set(&ctx, &args, false),
        Command::Push(args) => cmd::doc::set(&ctx, &args, true),
        Command::Unset { file, keys, options } => cmd::doc::unset(&ctx, &file, &keys, &options),
        Command::Merge { file, options } => cmd::doc::merge(&ctx, &file, &options),
        Command::Version { file } => cmd::doc::version(&ctx, &file),
        Command::Log { command } => cmd::log::run(&ctx, command),
        Command::Lease { command } => cmd::lease::run(&ctx, command),
        Command::New { dir, slug, pattern, template, assignments } => {
            cmd::new::run(&ctx, &dir, &slug, &pattern, template.as_deref(), &assignments)
        }
        Command::Tx { plan } => cmd::tx::run(&ctx, &plan),
        Command::Recover => cmd::tx::recover(&ctx),
        Command::Batch => cmd::batch::run(&ctx.project),
        Command::Completions { .. } => unreachable!("completions are printed before the context is built"),
    }
}

/// SIGINT, SIGTERM and SIGHUP end stet with 128+N after removing its temporary files, staging
/// directories and locks, leaving every target as it was; while a command runs under stet, the
/// signal goes to the command instead (see `child`), and stet ends after it.
fn clean_up_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else { return };
    let _ = std::thread::Builder::new().name("stet-signals".into()).spawn(move || {
        for signal in signals.forever() {
            if child::running() {
                continue;
            }
            stet::interrupt::clean_up();
            // SAFETY: _exit ends the process at once; nothing is left to flush, since an
            // interrupted command reports nothing.
            unsafe { libc::_exit(128 + signal) };
        }
    });
}

/// `--json` before any `--`, so that even argument errors are reported as JSON.
fn wants_json() -> bool {
    std::env::args_os().skip(1).take_while(|arg| arg != "--").any(|arg| arg == "--json")
}

/// clap's message without its usage block, on one line.
fn summary(text: &str) -> String {
    text.lines()
        .take_while(|line| !line.starts_with("Usage:"))
        .map(|line| line.trim().trim_start_matches("error: "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints a command's result; a closed stdout (`stet ... | head`) is not an error.
pub(crate) fn print_output(text: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::new(stet::Code::Io, format!("cannot write to standard output: {err}")))
        }
        _ => Ok(()),
    }
}

/// Prints a result as the contract's JSON (one line).
pub(crate) fn print_json(result: &impl serde::Serialize) -> Result<(), Error> {
    print_output(&serde_json::to_string(result).expect("results serialize to JSON"))
}
