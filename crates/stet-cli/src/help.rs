//! The command line as `--help`, completions and the man page show it: each subcommand with a
//! one-line example, and with only the global flags that change what it does.
//!
//! The global flags stay `global = true`, so that they parse anywhere on the line (`stet get F
//! --json` and `stet --json get F` both work, as scripts expect); each subcommand then hides the
//! ones that do not apply to it, so that `stet version --help` does not offer `--break-links`.

use clap::{Arg, ArgMatches, Command, CommandFactory, FromArgMatches};

use crate::flags::Cli;

/// One example per subcommand, by its path of names.
const EXAMPLES: &[(&str, &str)] = &[
    ("write", "echo 'hello' | stet write notes.txt"),
    ("update", "stet update cfg.json -- jq '.n += 1'"),
    ("get", "stet get specs/004-login-flow/spec.md status"),
    ("set", "stet set story.md status=done 'labels=[auth, ui]'"),
    ("unset", "stet unset story.md blocked_diagnostic.reason"),
    ("push", "stet push story.md labels=backend"),
    ("merge", "echo '{\"status\": \"done\", \"blocked\": null}' | stet merge story.md"),
    ("version", "stet version story.md"),
    ("new", "stet new specs --slug login-flow --template specs/_template"),
    ("log", "stet log append events.ndjson '{\"id\": \"e1\", \"kind\": \"started\"}'"),
    ("log append", "stet log append events.ndjson '{\"id\": \"e1\", \"kind\": \"started\"}'"),
    ("log read", "stet log read events.ndjson --from 1024 --with-offsets"),
    ("log verify", "stet log verify events.ndjson"),
    ("log repair", "stet log repair events.ndjson"),
    ("lease", "stet lease acquire specs/004-login-flow --owner agent-7 --ttl 10m"),
    ("lease acquire", "stet lease acquire specs/004-login-flow --owner agent-7 --ttl 10m"),
    ("lease renew", "stet lease renew specs/004-login-flow --owner agent-7 --ttl 10m"),
    ("lease release", "stet lease release specs/004-login-flow --owner agent-7"),
    ("lease status", "stet lease status specs --json"),
    ("lease cleanup", "stet lease cleanup --expired"),
    ("lease run", "stet lease run specs/004-login-flow --owner agent-7 -- ./implement.sh"),
    ("lock", "stet lock db.json -- ./migrate.sh"),
    (
        "batch",
        "echo '{\"id\": 1, \"op\": \"get\", \"path\": \"story.md\", \"key\": \"status\"}' | stet batch",
    ),
    (
        "tx",
        "stet tx plan.json   # {\"ops\": [{\"op\": \"set\", \"path\": \"a.md\", \"values\": {\"status\": \"done\"}}, ...]}",
    ),
    ("recover", "stet recover --json"),
    ("completions", "stet completions bash > ~/.local/share/bash-completion/completions/stet"),
];

/// The subcommands that take a lock (`--timeout`, `--lock-protocol`).
const LOCKING: &[&str] = &[
    "write",
    "update",
    "lock",
    "set",
    "unset",
    "push",
    "merge",
    "new",
    "log append",
    "log repair",
    "batch",
    "tx",
    "recover",
];
/// The subcommands that change files (`--no-sync`, `--ignore-leases`, `--owner`).
const CHANGING: &[&str] =
    &["write", "update", "set", "unset", "push", "merge", "new", "log append", "log repair", "batch", "tx"];
/// The subcommands that replace a file whole (`--break-links`).
const REPLACING: &[&str] =
    &["write", "update", "set", "unset", "push", "merge", "log repair", "batch", "tx", "recover"];
/// The lease subcommands that write lease records (`--no-sync`, `--timeout` for the lease tree).
const LEASE_WRITING: &[&str] =
    &["lease acquire", "lease renew", "lease release", "lease cleanup", "lease run"];

/// Whether the global flag `id` changes what the subcommand at `path` does.
fn applies(path: &str, id: &str) -> bool {
    let within = |list: &[&str]| {
        list.contains(&path) || list.iter().any(|entry| entry.starts_with(&format!("{path} ")))
    };
    match id {
        "root" | "json" | "quiet" | "verbose" => path != "completions",
        "timeout" => within(LOCKING) || within(LEASE_WRITING),
        "lock_protocol" => within(LOCKING),
        "no_sync" => within(CHANGING) || within(LEASE_WRITING),
        "owner" => within(CHANGING) || path == "lock" || path.starts_with("lease"),
        "ignore_leases" => within(CHANGING),
        "break_links" => within(REPLACING),
        _ => true,
    }
}

/// The whole command line, with examples, and each subcommand showing only its global flags.
///
/// A flag is hidden by giving the subcommand its own hidden copy before clap builds the tree:
/// clap then propagates the global flag to every subcommand but those that already have it, and
/// still hands a value given there up to `Cli` (editing built subcommands instead would leave
/// clap's index of flag names stale).
pub fn command() -> Command {
    let command = Cli::command();
    let globals: Vec<Arg> = command.get_arguments().filter(|arg| arg.is_global_set()).cloned().collect();
    annotate_subcommands(command, "", &globals)
}

fn annotate_subcommands(mut command: Command, parent: &str, globals: &[Arg]) -> Command {
    let names: Vec<String> = command.get_subcommands().map(|sub| sub.get_name().to_owned()).collect();
    for name in names {
        if name == "help" {
            continue;
        }
        let path = if parent.is_empty() { name.clone() } else { format!("{parent} {name}") };
        command = command.mut_subcommand(&name, |mut sub| {
            if let Some((_, example)) = EXAMPLES.iter().find(|(at, _)| *at == path) {
                sub = sub.after_help(format!("Example: {example}"));
            }
            for global in globals {
                if !applies(&path, global.get_id().as_str()) {
                    sub = sub.arg(global.clone().hide(true));
                }
            }
            annotate_subcommands(sub, &path, globals)
        });
    }
    command
}

/// The command line of this process, parsed.
pub fn parse() -> Result<Cli, clap::Error> {
    let mut command = command();
    let matches: ArgMatches = command.try_get_matches_from_mut(std::env::args_os())?;
    Cli::from_arg_matches(&matches).map_err(|err| err.format(&mut command))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk<'a>(command: &'a Command, path: &str, found: &mut Vec<(String, &'a Command)>) {
        for sub in command.get_subcommands().filter(|sub| sub.get_name() != "help") {
            let path = format!("{path} {}", sub.get_name()).trim().to_owned();
            found.push((path.clone(), sub));
            walk(sub, &path, found);
        }
    }

    #[test]
    fn every_subcommand_has_an_example_and_every_argument_a_description() {
        let mut command = command();
        command.build();
        let mut all = Vec::new();
        walk(&command, "", &mut all);
        assert!(all.len() > 20, "the walk finds the subcommands");
        for (path, sub) in all {
            let example = sub.get_after_help().map(ToString::to_string).unwrap_or_default();
            assert!(
                example.starts_with("Example: ") && example.contains("stet "),
                "`stet {path} --help` has no example"
            );
            for arg in sub.get_arguments().filter(|arg| !arg.is_hide_set()) {
                assert!(
                    arg.get_help().is_some(),
                    "`stet {path}`: argument `{}` has no description",
                    arg.get_id()
                );
            }
        }
    }

    #[test]
    fn global_flags_show_only_where_they_apply() {
        let mut command = command();
        command.build();
        let shown = |path: &[&str], id: &str| {
            let sub = path
                .iter()
                .fold(&command, |at, name| at.find_subcommand(name).expect("the subcommand exists"));
            sub.get_arguments().any(|arg| arg.get_id() == id && !arg.is_hide_set())
        };
        assert!(shown(&["set"], "break_links") && shown(&["set"], "timeout"));
        assert!(!shown(&["version"], "break_links") && !shown(&["version"], "timeout"));
        assert!(!shown(&["get"], "no_sync") && shown(&["get"], "json"));
        assert!(shown(&["lease", "acquire"], "owner") && !shown(&["lease", "status"], "no_sync"));
        assert!(shown(&["log", "append"], "lock_protocol") && !shown(&["log", "read"], "lock_protocol"));
        assert!(!shown(&["completions"], "root"));
    }
}
