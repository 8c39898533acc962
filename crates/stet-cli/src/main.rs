//! The `stet` command: a thin layer over the `stet` library. It parses arguments into a typed
//! command, builds the library's policies from flags and `.stet/config.toml`, and maps errors to
//! the exit codes and JSON shapes of the contract.

mod child;
mod cmd;
mod context;
mod failure;
mod flags;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use failure::Failure;
use flags::{Cli, Command};

fn main() -> ExitCode {
    clean_up_on_signals();
    let json_output = wants_json();
    let cli = match Cli::try_parse() {
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
                return Failure::usage(summary(&err.to_string())).report(true);
            }
            let _ = err.print();
            return ExitCode::from(2);
        }
    };
    let outcome = run(cli);
    stet::interrupt::checkpoint();
    match outcome {
        Ok(code) => code,
        Err(failure) => failure.report(json_output),
    }
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let ctx = context::Context::build(&cli.global)?;
    if let Some(path) = cli.command.changes() {
        ctx.check_lease(path)?;
    }
    match cli.command {
        Command::Write { file, create_new, mode } => cmd::write::run(&ctx, &file, create_new, mode),
        Command::Update { file, command } => cmd::update::run(&ctx, &file, &command),
        Command::Lock { file, shared, command } => cmd::lock::run(&ctx, &file, shared, &command),
        Command::Get { file, key, format } => cmd::doc::get(&ctx, &file, key.as_deref(), format),
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
pub(crate) fn print_output(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::new("EIO", format!("cannot write to standard output: {err}")))
        }
        _ => Ok(()),
    }
}
