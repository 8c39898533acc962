//! Writes stet's man pages (`stet.1`, `stet-get.1`, `stet-log-append.1`, ...) from the same
//! command-line definition that `--help` shows, so they never drift apart.
//!
//! Usage: `cargo run -p stet-cli --example man -- [DIR]` (default `target/man`); then
//! `man -l target/man/stet.1`. Not part of the normal build: clap_mangen is a dev-dependency.

#[allow(dead_code)] // the example uses the definition, not the helpers the binary uses
#[path = "../src/flags.rs"]
mod flags;
#[allow(dead_code)]
#[path = "../src/help.rs"]
mod help;

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os().nth(1).map_or_else(|| PathBuf::from("target/man"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    // `stet help SUB` would otherwise get a page of its own per subcommand.
    let mut command = help::command().disable_help_subcommand(true);
    command.build();
    clap_mangen::generate_to(command, &dir)?;
    println!("man pages written to {}", dir.display());
    Ok(())
}
