//! Paths as the kernel resolves them: writes through dangling links land where the kernel would
//! put them, leases and root confinement judge the resolved file, the lease tree follows no link
//! planted in it, and durations too large for a clock are refused or saturate, never abort.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Output;

use crate::support::{json_error, run, run_with_input, scratch, stderr, stet};

fn write(dir: &Path, owner: Option<&str>, file: &str, input: &str) -> Output {
    let mut command = stet(dir);
    command.arg("--json");
    if let Some(owner) = owner {
        command.args(["--owner", owner]);
    }
    run_with_input(command.args(["write", file]), input.as_bytes())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| format!("<{err}>"))
}

fn assert_no_panic(output: &Output, what: &str) {
    assert_ne!(output.status.code(), Some(134), "{what} aborted: {}", stderr(output));
    assert!(!stderr(output).contains("panicked"), "{what} panicked: {}", stderr(output));
}

/// A root holding `.stet/` and `docs/a.md`, with `docs` leased to alice.
fn leased_project() -> tempfile::TempDir {
    let dir = scratch();
    std::fs::create_dir_all(dir.path().join(".stet")).unwrap();
    std::fs::create_dir_all(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docs/a.md"), "alice's\n").unwrap();
    let output = run(stet(dir.path()).args(["--owner", "alice", "lease", "acquire", "docs", "--ttl", "10m"]));
    assert!(output.status.success(), "{}", stderr(&output));
    dir
}

fn assert_leased(output: &Output, what: &str) {
    assert_eq!(output.status.code(), Some(3), "{what}: {}", stderr(output));
    assert_eq!(json_error(output)["code"], "ELEASED", "{what}");
}

#[test]
fn a_dangling_link_with_dotdot_under_a_symlinked_directory_is_written_where_the_kernel_resolves_it() {
    let dir = scratch();
    std::fs::create_dir_all(dir.path().join("real/deep")).unwrap();
    symlink("real/deep", dir.path().join("sub")).unwrap();
    symlink("../target.txt", dir.path().join("real/deep/link")).unwrap();
    std::fs::write(dir.path().join("target.txt"), "unrelated precious file\n").unwrap();

    let output = write(dir.path(), None, "sub/link", "NEW\n");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        read(&dir.path().join("target.txt")),
        "unrelated precious file\n",
        "the textual `..` file is untouched"
    );
    assert_eq!(
        read(&dir.path().join("real/target.txt")),
        "NEW\n",
        "`..` applies to the link's real directory"
    );
    assert_eq!(read(&dir.path().join("sub/link")), "NEW\n", "the kernel reads back what stet wrote");
}

#[test]
fn chains_of_dangling_links_relative_and_absolute_are_followed_as_the_kernel_follows_them() {
    let dir = scratch();
    let root = dir.path();
    for sub in ["a", "b/y", "c"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    symlink("b/y", root.join("by")).unwrap();
    symlink("../b/y", root.join("a/x")).unwrap();
    // start -> ../by/hop (through the symlinked directory `by`), hop -> ../../c/abs (whose `..`
    // climbs from b/y, not from by), abs -> ROOT/a/x/../end.txt (whose `..` climbs from b/y too).
    symlink("../by/hop", root.join("a/start")).unwrap();
    symlink("../../c/abs", root.join("b/y/hop")).unwrap();
    symlink(root.join("a/x/../end.txt"), root.join("c/abs")).unwrap();
    let output = write(root, None, "a/start", "chained\n");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(read(&root.join("b/end.txt")), "chained\n", "where the kernel resolves the chain");
    assert_eq!(read(&root.join("a/start")), "chained\n", "the kernel reads back what stet wrote");
    assert!(!root.join("a/end.txt").exists(), "nothing at the textual `..` location");
    for link in ["a/start", "b/y/hop", "c/abs"] {
        assert!(
            std::fs::symlink_metadata(root.join(link)).unwrap().file_type().is_symlink(),
            "{link} stays a link"
        );
    }

    // Once the chain resolves to a file, a second write replaces that same file.
    let output = write(root, None, "by/hop", "again\n");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(read(&root.join("b/end.txt")), "again\n");
}

#[test]
fn a_link_loop_or_a_chain_longer_than_forty_links_is_refused_and_creates_nothing() {
    let dir = scratch();
    let root = dir.path();
    symlink("loop-b", root.join("loop-a")).unwrap();
    symlink("loop-a", root.join("loop-b")).unwrap();
    let output = write(root, None, "loop-a", "x\n");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("symbolic links"), "says why: {}", stderr(&output));

    for at in 0..45 {
        symlink(format!("chain-{}", at + 1), root.join(format!("chain-{at}"))).unwrap();
    }
    let output = write(root, None, "chain-0", "x\n");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("symbolic links"), "says why: {}", stderr(&output));
    assert!(!root.join("chain-45").exists(), "the end of the chain was not created");
}

#[test]
fn a_dangling_link_into_a_directory_that_does_not_exist_is_refused() {
    let dir = scratch();
    symlink("missing/dir/new.txt", dir.path().join("link")).unwrap();
    let output = write(dir.path(), None, "link", "x\n");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(!dir.path().join("missing").exists());
}

#[test]
fn links_of_every_kind_cannot_carry_a_write_into_another_owners_leased_directory() {
    let dir = leased_project();
    let root = dir.path();
    symlink("docs/new.md", root.join("dangling.md")).unwrap();
    symlink("docs/a.md", root.join("to-file.md")).unwrap();
    symlink("docs", root.join("alias")).unwrap();
    symlink("hop.md", root.join("two-hops.md")).unwrap();
    symlink("alias/newer.md", root.join("hop.md")).unwrap();
    for (path, what) in [
        ("docs/direct.md", "a direct write"),
        ("dangling.md", "a dangling link into the leased directory"),
        ("to-file.md", "a link to a file in it"),
        ("alias/a.md", "a symlinked directory into it"),
        ("alias/fresh.md", "a new file under a symlinked directory into it"),
        ("two-hops.md", "a dangling link to a dangling link through the symlinked directory"),
    ] {
        assert_leased(&write(root, Some("bob"), path, "by bob\n"), what);
    }
    assert_eq!(read(&root.join("docs/a.md")), "alice's\n");
    let mut names: Vec<_> =
        std::fs::read_dir(root.join("docs")).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["a.md"], "nothing was created in the leased directory");

    let output = write(root, Some("alice"), "dangling.md", "by alice\n");
    assert!(output.status.success(), "the owner writes through the link: {}", stderr(&output));
    assert_eq!(read(&root.join("docs/new.md")), "by alice\n");
}

#[test]
fn a_path_outside_the_root_has_no_leases_and_is_written_and_resolved_paths_decide_outside() {
    let outside = scratch();
    let dir = leased_project();
    let root = dir.path();
    let output = run(stet(root).args(["--owner", "alice", "lease", "acquire", ".", "--ttl", "10m"]));
    assert!(output.status.success(), "alice leases the whole root: {}", stderr(&output));

    let elsewhere = outside.path().join("elsewhere.txt");
    let output = write(root, Some("bob"), elsewhere.to_str().unwrap(), "hi\n");
    assert!(output.status.success(), "outside the root: {}", stderr(&output));
    assert_eq!(read(&elsewhere), "hi\n");

    symlink(outside.path().join("via-link.txt"), root.join("out-link.txt")).unwrap();
    let output = write(root, Some("bob"), "out-link.txt", "out\n");
    assert!(output.status.success(), "a link in the root that leads out is outside: {}", stderr(&output));
    assert_eq!(read(&outside.path().join("via-link.txt")), "out\n");

    let inward = outside.path().join("in-link.md");
    symlink(root.join("docs/a.md"), &inward).unwrap();
    assert_leased(&write(root, Some("bob"), inward.to_str().unwrap(), "x\n"), "a link outside that leads in");
    assert_eq!(read(&root.join("docs/a.md")), "alice's\n");
}

#[test]
fn symlinks_planted_in_the_lease_tree_are_refused_by_name_and_never_followed() {
    let outside = scratch();
    let dir = leased_project();
    let root = dir.path();
    let tree = root.join(".stet/leases");
    std::fs::write(outside.path().join("victim.json"), "precious\n").unwrap();

    // A record replaced by a link to a file elsewhere.
    let record = tree.join("_docs/lease.json");
    std::fs::remove_file(&record).unwrap();
    symlink(outside.path().join("victim.json"), &record).unwrap();
    for args in [
        &["write", "docs/a.md"][..],
        &["lease", "acquire", "docs"],
        &["lease", "status"],
        &["lease", "release", "docs"],
    ] {
        let output = run_with_input(stet(root).args(["--json", "--owner", "bob"]).args(args), b"x\n");
        assert!(!output.status.success(), "{args:?} went through a planted link");
        assert!(stderr(&output).contains("lease.json"), "{args:?} names the link: {}", stderr(&output));
        assert!(stderr(&output).contains("symbolic link"), "{args:?} says what it is: {}", stderr(&output));
    }
    assert_eq!(read(&outside.path().join("victim.json")), "precious\n");
    assert_eq!(read(&root.join("docs/a.md")), "alice's\n");
    std::fs::remove_file(&record).unwrap();

    // A node directory replaced by a link to a directory elsewhere.
    std::fs::create_dir(outside.path().join("nodes")).unwrap();
    symlink(outside.path().join("nodes"), tree.join("_other")).unwrap();
    let output = run(stet(root).args(["--json", "--owner", "bob", "lease", "acquire", "other/z.md"]));
    assert!(!output.status.success(), "an acquire through a planted node link: {}", stderr(&output));
    assert!(stderr(&output).contains("_other"), "names it: {}", stderr(&output));
    assert!(
        std::fs::read_dir(outside.path().join("nodes")).unwrap().next().is_none(),
        "nothing made through the link"
    );
    let output = run(stet(root).args(["--json", "lease", "status"]));
    assert!(
        !output.status.success() && stderr(&output).contains("_other"),
        "status names it: {}",
        stderr(&output)
    );
}

#[test]
fn a_hard_link_or_a_huge_file_planted_as_a_lease_record_is_refused_by_name() {
    let outside = scratch();
    let dir = leased_project();
    let record = dir.path().join(".stet/leases/_docs/lease.json");
    let bytes = std::fs::read(&record).unwrap();

    std::fs::write(outside.path().join("victim.json"), &bytes).unwrap();
    std::fs::remove_file(&record).unwrap();
    std::fs::hard_link(outside.path().join("victim.json"), &record).unwrap();
    let output = run(stet(dir.path()).args(["--json", "--owner", "alice", "lease", "renew", "docs"]));
    assert!(!output.status.success(), "a renewal through a hard link: {}", stderr(&output));
    assert!(
        stderr(&output).contains("lease.json") && stderr(&output).contains("links"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(outside.path().join("victim.json")).unwrap(), bytes);
    std::fs::remove_file(&record).unwrap();

    let huge = std::fs::File::create(&record).unwrap();
    huge.set_len(1 << 30).unwrap();
    let output =
        run_with_input(stet(dir.path()).args(["--json", "--owner", "bob", "write", "docs/a.md"]), b"x\n");
    assert_eq!(output.status.code(), Some(65), "{}", stderr(&output));
    let error = json_error(&output);
    assert_eq!(error["code"], "EMALFORMED");
    assert!(error["message"].as_str().unwrap().contains("bytes"), "says it is too large: {error}");
    assert!(error["path"].as_str().unwrap().ends_with("lease.json"), "{error}");
}

#[test]
fn huge_timeouts_and_waits_saturate_to_forever_and_never_abort() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join(".stet")).unwrap();
    for timeout in ["9223372036854775807s", "70000000h"] {
        let output = run_with_input(stet(dir.path()).args(["--timeout", timeout, "write", "f.txt"]), b"y\n");
        assert_no_panic(&output, timeout);
        assert!(output.status.success(), "--timeout {timeout}: {}", stderr(&output));
    }
    let output = run(stet(dir.path()).args([
        "--owner",
        "A",
        "lease",
        "acquire",
        "b",
        "--wait",
        "9223372036854775807s",
    ]));
    assert_no_panic(&output, "--wait");
    assert!(output.status.success(), "{}", stderr(&output));

    std::fs::write(
        dir.path().join(".stet/config.toml"),
        "[lock]\nprotocol = \"mkdir\"\ntimeout = \"9223372036854775807s\"\nstale = \"9223372036854775807s\"\n",
    )
    .unwrap();
    let output = run(stet(dir.path()).args(["set", "d.yaml", "a=1"]));
    assert_no_panic(&output, "config durations");
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_ttl_whose_expiry_is_past_year_9999_is_a_usage_error_naming_the_flag_and_the_limit() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join(".stet")).unwrap();
    for ttl in ["70000000h", "9223372036854775807s"] {
        let output =
            run(stet(dir.path()).args(["--json", "--owner", "A", "lease", "acquire", "a", "--ttl", ttl]));
        assert_no_panic(&output, ttl);
        assert_eq!(output.status.code(), Some(2), "{ttl}: {}", stderr(&output));
        let error = json_error(&output);
        assert_eq!(error["code"], "EUSAGE");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("--ttl") && message.contains("9999"), "{message}");
    }
    let output = run(stet(dir.path()).args(["--owner", "A", "lease", "acquire", "a", "--ttl", "7000h"]));
    assert!(output.status.success(), "a long but representable TTL: {}", stderr(&output));

    std::fs::write(dir.path().join(".stet/config.toml"), "[lease]\nttl = \"70000000h\"\n").unwrap();
    let output = run(stet(dir.path()).args(["--json", "--owner", "A", "lease", "acquire", "b"]));
    assert_no_panic(&output, "lease.ttl");
    assert!(!output.status.success());
    let message = json_error(&output)["message"].as_str().unwrap().to_owned();
    assert!(message.contains("lease.ttl") && message.contains("9999"), "{message}");
}
