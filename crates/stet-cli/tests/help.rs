//! `--help`, completions: what a new user finds by asking the command itself.

use crate::support::{run, scratch, stderr, stet};

const SUBCOMMANDS: &[&[&str]] = &[
    &["write"],
    &["update"],
    &["lock"],
    &["get"],
    &["set"],
    &["unset"],
    &["push"],
    &["merge"],
    &["version"],
    &["new"],
    &["batch"],
    &["completions"],
    &["log"],
    &["log", "append"],
    &["log", "read"],
    &["log", "verify"],
    &["log", "repair"],
    &["lease"],
    &["lease", "acquire"],
    &["lease", "renew"],
    &["lease", "release"],
    &["lease", "status"],
    &["lease", "cleanup"],
    &["lease", "run"],
];

#[test]
fn every_subcommands_help_shows_a_one_line_example() {
    let dir = scratch();
    for path in SUBCOMMANDS {
        let output = run(stet(dir.path()).args(*path).arg("--help"));
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "stet {path:?} --help: {}", stderr(&output));
        let example = help
            .lines()
            .find(|line| line.starts_with("Example: "))
            .unwrap_or_else(|| panic!("`stet {} --help` has no example:\n{help}", path.join(" ")));
        assert!(example.contains("stet "), "the example runs stet: {example}");
    }
}

#[test]
fn global_flags_appear_only_in_the_help_of_commands_they_change() {
    let dir = scratch();
    let help = |args: &[&str]| {
        String::from_utf8_lossy(&run(stet(dir.path()).args(args).arg("--help")).stdout).into_owned()
    };
    let version = help(&["version"]);
    assert!(!version.contains("--break-links") && !version.contains("--timeout"), "{version}");
    assert!(version.contains("--json"), "{version}");
    let set = help(&["set"]);
    assert!(
        set.contains("--break-links") && set.contains("--timeout") && set.contains("--ignore-leases"),
        "{set}"
    );
    // Hidden is not refused: a script that passes a global flag everywhere keeps working.
    std::fs::write(dir.path().join("f.txt"), "x").unwrap();
    assert!(run(stet(dir.path()).args(["version", "f.txt", "--timeout", "1s"])).status.success());
}

#[test]
fn completions_print_for_bash_zsh_and_fish() {
    let dir = scratch();
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef stet"), ("fish", "complete -c stet")] {
        let output = run(stet(dir.path()).args(["completions", shell]));
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{shell}: {}", stderr(&output));
        assert!(script.contains(marker) && script.contains("lease"), "{shell} completion:\n{script}");
    }
    assert_eq!(run(stet(dir.path()).args(["completions", "tcsh"])).status.code(), Some(2));
}
