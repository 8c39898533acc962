//! Side files (`FILE.lock`, `FILE.lock.holder`) are stet's only if stet made them: whatever else
//! stands at their names (a `Gemfile.lock`, a hard link, a symlink, another protocol's lock) is
//! refused with `EEXIST`, named, and left exactly as it was.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Output;

use crate::support::{INCREMENT, json_error, names, run, run_with_input, scratch, stderr, stet};

const MKDIR: &str = "[lock]\nprotocol = \"mkdir\"\n";

fn configure(dir: &Path, config: &str) {
    std::fs::create_dir_all(dir.join(".stet")).unwrap();
    std::fs::write(dir.join(".stet/config.toml"), config).unwrap();
}

fn write(dir: &Path, file: &str, content: &str) -> Output {
    run_with_input(stet(dir).args(["--json", "write", file]), content.as_bytes())
}

/// Asserts a refusal with EEXIST (exit 3) that names `side` in its message and JSON path.
fn assert_refused_naming(output: &Output, side: &str) {
    assert_eq!(output.status.code(), Some(3), "refused with exit 3: {}", stderr(output));
    let error = json_error(output);
    assert_eq!(error["code"], "EEXIST", "{error}");
    assert!(
        error["path"].as_str().is_some_and(|path| path.ends_with(side)),
        "the JSON names {side}: {error}"
    );
    assert!(error["message"].as_str().is_some_and(|message| message.contains(side)), "{error}");
}

#[test]
fn write_never_truncates_or_deletes_a_foreign_file_at_the_lock_path() {
    let dir = scratch();
    let lockfile = "GEM\n  specs:\n    rails (7.1.0)\n";
    std::fs::write(dir.path().join("Gemfile"), "source \"https://rubygems.org\"\n").unwrap();
    std::fs::write(dir.path().join("Gemfile.lock"), lockfile).unwrap();

    let output = write(dir.path(), "Gemfile", "gem \"rake\"\n");

    assert_refused_naming(&output, "Gemfile.lock");
    assert!(
        json_error(&output)["message"].as_str().unwrap().contains("lock.suffix"),
        "says how to move the lock"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Gemfile.lock")).unwrap(),
        lockfile,
        "Gemfile.lock is intact"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Gemfile")).unwrap(),
        "source \"https://rubygems.org\"\n",
        "nothing was written without the lock"
    );
}

#[test]
fn a_configured_lock_suffix_moves_the_lock_away_from_a_foreign_file_in_both_protocols() {
    for protocol in ["flock", "mkdir"] {
        let dir = scratch();
        configure(dir.path(), &format!("[lock]\nprotocol = \"{protocol}\"\nsuffix = \".stet-lock\"\n"));
        std::fs::write(dir.path().join("Gemfile.lock"), "GEM\n").unwrap();

        let output = write(dir.path(), "Gemfile", "gem \"rake\"\n");

        assert!(output.status.success(), "{protocol}: {}", stderr(&output));
        assert_eq!(std::fs::read_to_string(dir.path().join("Gemfile")).unwrap(), "gem \"rake\"\n");
        assert_eq!(std::fs::read_to_string(dir.path().join("Gemfile.lock")).unwrap(), "GEM\n");
        assert_eq!(
            names(dir.path()),
            [".stet", "Gemfile", "Gemfile.lock"],
            "{protocol}: no lock left behind"
        );
    }
}

#[test]
fn an_unusable_lock_suffix_is_a_malformed_configuration() {
    let dir = scratch();
    configure(dir.path(), "[lock]\nsuffix = \"/x\"\n");
    let output = write(dir.path(), "f", "x");
    assert_eq!(output.status.code(), Some(65), "{}", stderr(&output));
    assert!(json_error(&output)["message"].as_str().unwrap().contains("lock.suffix"));
}

#[test]
fn a_hard_link_planted_at_the_lock_path_is_refused_and_its_file_never_written() {
    for config in ["", MKDIR] {
        let dir = scratch();
        configure(dir.path(), config);
        std::fs::write(dir.path().join("victim.txt"), "precious\n").unwrap();
        std::fs::write(dir.path().join("s.yaml"), "a: 1\n").unwrap();
        // Under flock the link stands at the lock file; under mkdir at the holder record.
        let side = if config.is_empty() { "s.yaml.lock" } else { "s.yaml.lock.holder" };
        std::fs::hard_link(dir.path().join("victim.txt"), dir.path().join(side)).unwrap();

        let output = run(stet(dir.path()).args(["--json", "set", "s.yaml", "a=2"]));

        assert_refused_naming(&output, side);
        assert_eq!(std::fs::read_to_string(dir.path().join("victim.txt")).unwrap(), "precious\n");
        assert_eq!(
            std::fs::metadata(dir.path().join("victim.txt")).unwrap().nlink(),
            2,
            "the link is not removed"
        );
        assert_eq!(std::fs::read_to_string(dir.path().join("s.yaml")).unwrap(), "a: 1\n");
        assert!(!dir.path().join("s.yaml.lock").is_dir(), "a refused mkdir lock is not left held");
    }
}

#[test]
fn a_symlink_planted_at_any_side_file_is_never_followed() {
    for (config, side) in [("", "s.yaml.lock"), (MKDIR, "s.yaml.lock"), (MKDIR, "s.yaml.lock.holder")] {
        let dir = scratch();
        configure(dir.path(), config);
        std::fs::create_dir(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/victim.txt"), "precious\n").unwrap();
        std::fs::write(dir.path().join("s.yaml"), "a: 1\n").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside/victim.txt"), dir.path().join(side)).unwrap();
        let victim_mtime =
            std::fs::metadata(dir.path().join("outside/victim.txt")).unwrap().modified().unwrap();

        let output = run(stet(dir.path()).args(["--json", "set", "s.yaml", "a=2"]));

        assert_refused_naming(&output, side);
        let victim = dir.path().join("outside/victim.txt");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n", "{config:?} {side}");
        assert_eq!(std::fs::metadata(&victim).unwrap().modified().unwrap(), victim_mtime, "not even touched");
        assert!(std::fs::symlink_metadata(dir.path().join(side)).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(dir.path().join("s.yaml")).unwrap(), "a: 1\n");
    }
}

#[test]
fn a_fifo_at_the_lock_path_is_refused_at_once_without_blocking() {
    for config in ["", MKDIR] {
        let dir = scratch();
        configure(dir.path(), config);
        std::fs::write(dir.path().join("f"), "0\n").unwrap();
        let fifo = std::ffi::CString::new(dir.path().join("f.lock").to_str().unwrap()).unwrap();
        // SAFETY: a valid path string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);

        let started = std::time::Instant::now();
        let output =
            run(stet(dir.path()).args(["--json", "--timeout", "10s", "update", "f", "--"]).args(INCREMENT));

        assert_refused_naming(&output, "f.lock");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "refused at once, not after a wait");
        assert!(json_error(&output)["message"].as_str().unwrap().contains("FIFO"), "says what it is");
    }
}

#[test]
fn each_protocol_names_the_other_when_it_finds_its_lock_and_says_how_to_switch() {
    let dir = scratch();
    std::fs::write(dir.path().join("f"), "0\n").unwrap();
    std::fs::create_dir(dir.path().join("f.lock")).unwrap();
    let output = run(stet(dir.path()).args(["--json", "update", "f", "--"]).args(INCREMENT));
    assert_refused_naming(&output, "f.lock");
    let message = json_error(&output)["message"].as_str().unwrap().to_owned();
    assert!(message.contains("mkdir") && message.contains("--lock-protocol mkdir"), "{message}");
    assert!(message.contains("STET_LOCK_PROTOCOL"), "{message}");
    std::fs::remove_dir(dir.path().join("f.lock")).unwrap();

    std::fs::write(dir.path().join("f.lock"), "").unwrap();
    let output = run(stet(dir.path())
        .args(["--json", "--lock-protocol", "mkdir", "update", "f", "--"])
        .args(INCREMENT));
    assert_refused_naming(&output, "f.lock");
    let message = json_error(&output)["message"].as_str().unwrap().to_owned();
    assert!(message.contains("flock") && message.contains("--lock-protocol flock"), "{message}");
    assert!(dir.path().join("f.lock").is_file(), "the other protocol's lock file stays");
}

#[test]
fn the_lock_protocol_can_be_chosen_by_flag_or_environment_over_the_configuration() {
    let dir = scratch();
    std::fs::write(dir.path().join("f"), "0\n").unwrap();
    // A mkdir lock held by a live proper-lockfile peer: only the mkdir protocol waits for it.
    std::fs::create_dir(dir.path().join("f.lock")).unwrap();
    let output = run(stet(dir.path())
        .env("STET_LOCK_PROTOCOL", "mkdir")
        .args(["--json", "--timeout", "200ms", "update", "f", "--"])
        .args(INCREMENT));
    assert_eq!(output.status.code(), Some(75), "waits for the directory lock: {}", stderr(&output));
    let output = run(stet(dir.path()).args(["--json", "--lock-protocol", "bogus", "version", "f"]));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn an_empty_lock_file_left_by_another_locker_serves_as_the_lock() {
    let dir = scratch();
    std::fs::write(dir.path().join("f"), "0\n").unwrap();
    std::fs::write(dir.path().join("f.lock"), "").unwrap();
    let output = run(stet(dir.path()).args(["update", "f", "--"]).args(INCREMENT));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(dir.path().join("f")).unwrap(), "1\n");
    assert_eq!(names(dir.path()), ["f"], "an empty lock file holds no data: it goes like stet's own");
}

#[test]
fn a_lock_file_a_killed_stet_left_is_stet_s_to_reuse_and_remove() {
    let dir = scratch();
    std::fs::write(dir.path().join("f"), "0\n").unwrap();
    let record =
        r#"{"pid":999999999,"host":"elsewhere","command":"stet set f a=1","since":"2026-01-01T00:00:00Z"}"#;
    std::fs::write(dir.path().join("f.lock"), record).unwrap();
    let output = run(stet(dir.path()).args(["update", "f", "--"]).args(INCREMENT));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(names(dir.path()), ["f"], "the leftover stet lock file is gone");
}

/// `rm FILE.lock` from outside while writers work: a holder whose lock file was removed finds out
/// before it commits (`ECOMPROMISED`, nothing written), so every update that reports success
/// counts, and none is lost.
#[test]
fn a_lock_file_removed_from_outside_never_lets_two_writers_both_commit() {
    let dir = scratch();
    std::fs::write(dir.path().join("counter"), "0\n").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let remover = {
        let (stop, lock) = (stop.clone(), dir.path().join("counter.lock"));
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::remove_file(&lock);
                std::thread::sleep(std::time::Duration::from_micros(300));
            }
        })
    };
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let (mut succeeded, mut compromised) = (0, 0);
                for _ in 0..60 {
                    let output = run(stet(&dir).args(["--json", "update", "counter", "--"]).args(INCREMENT));
                    match output.status.code() {
                        Some(0) => succeeded += 1,
                        Some(3) if json_error(&output)["code"] == "ECOMPROMISED" => compromised += 1,
                        other => panic!("unexpected exit {other:?}: {}", stderr(&output)),
                    }
                }
                (succeeded, compromised)
            })
        })
        .collect();
    let (succeeded, compromised) = writers
        .into_iter()
        .map(|writer| writer.join().expect("a writer thread ends"))
        .fold((0, 0), |(s, c), (ws, wc)| (s + ws, c + wc));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    remover.join().unwrap();
    let counter: u32 = std::fs::read_to_string(dir.path().join("counter")).unwrap().trim().parse().unwrap();
    assert_eq!(
        counter, succeeded,
        "every reported update, and only those, is in the file ({compromised} refused as compromised)"
    );
}
