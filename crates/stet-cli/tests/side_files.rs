//! Side files (`FILE.lock`, `FILE.lock.holder`) are stet's only if stet made them: whatever else
//! stands at their names (a `Gemfile.lock`, a hard link, a symlink, another protocol's lock) is
//! refused with `EEXIST`, named, and left exactly as it was.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Output;

use crate::support::{INCREMENT, json_error, names, run, run_bounded, run_with_input, scratch, stderr, stet};

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

/// What is planted at a side file's name.
#[derive(Debug, Clone, Copy)]
enum Plant {
    Symlink,
    HardLink,
    Fifo,
    Foreign,
}

fn plant(dir: &Path, name: &str, plant: Plant) {
    let path = dir.join(name);
    match plant {
        Plant::Symlink | Plant::HardLink => unreachable!("planted by plant_in, which knows the victim"),
        Plant::Fifo => {
            let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
            // SAFETY: a valid path string.
            assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o644) }, 0);
        }
        Plant::Foreign => std::fs::write(&path, "someone else's notes\n").unwrap(),
    }
}

/// Every file under `dir` with its content (symlinks as their target), to compare before and after.
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for name in names(dir) {
        let path = dir.join(&name);
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let content = if meta.file_type().is_symlink() {
            format!("-> {}", std::fs::read_link(&path).unwrap().display())
        } else if meta.is_file() {
            String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned()
        } else {
            format!("{:?}", meta.file_type())
        };
        all.push((name, content));
    }
    all
}

/// A command to try: its name, its arguments, the side files it uses, its standard input.
type Case = (&'static str, Vec<&'static str>, &'static [&'static str], Option<&'static str>);

/// Each writing command against a symlink, a hard link, a FIFO and a foreign file planted at each
/// side-file name it uses: nothing outside the scratch directory changes (the victim is the only
/// file outside the project), the planted thing is left as it was, nothing blocks, and a refusal
/// names the planted file.
#[test]
fn every_command_meets_planted_side_files_without_touching_them_or_blocking() {
    let doc = |verb: &'static str, arg: &'static str| -> Vec<&'static str> { vec![verb, "s.yaml", arg] };
    let commands: Vec<Case> = vec![
        ("write", vec!["write", "s.yaml"], &["s.yaml.lock"], Some("a: 9\n")),
        ("update", vec!["update", "s.yaml", "--", "cat"], &["s.yaml.lock"], None),
        ("lock", vec!["lock", "s.yaml", "--", "true"], &["s.yaml.lock"], None),
        ("set", doc("set", "a=2"), &["s.yaml.lock"], None),
        ("unset", doc("unset", "a"), &["s.yaml.lock"], None),
        ("push", doc("push", "l=x"), &["s.yaml.lock"], None),
        ("merge", vec!["merge", "s.yaml"], &["s.yaml.lock"], Some("{\"b\": 1}")),
        ("new", vec!["new", "specs", "--slug", "x"], &["specs.lock"], None),
        (
            "log append",
            vec!["log", "append", "l.ndjson", "{\"id\":\"2\"}"],
            &["l.ndjson.lock", "l.ndjson.rejected", ".l.ndjson.stet-index"],
            None,
        ),
        ("log repair", vec!["log", "repair", "l.ndjson"], &["l.ndjson.lock", "l.ndjson.rejected"], None),
    ];
    let mut runs = 0;
    for (config, holder_too) in [("", false), (MKDIR, true)] {
        for (what, args, sides, input) in &commands {
            let mut sides: Vec<String> = sides.iter().map(|side| (*side).to_owned()).collect();
            if holder_too {
                sides.push(format!("{}.holder", sides[0]));
            }
            for side in &sides {
                for kind in [Plant::Symlink, Plant::HardLink, Plant::Fifo, Plant::Foreign] {
                    let scratch = scratch();
                    let outside = scratch.path().join("outside");
                    let dir = scratch.path().join("project");
                    std::fs::create_dir_all(&outside).unwrap();
                    std::fs::create_dir_all(dir.join("specs")).unwrap();
                    configure(&dir, config);
                    std::fs::write(outside.join("victim.txt"), "precious\n").unwrap();
                    std::fs::write(dir.join("s.yaml"), "a: 1\n").unwrap();
                    // A log with a torn tail, so that append and repair want LOG.rejected.
                    std::fs::write(dir.join("l.ndjson"), "{\"id\":\"1\"}\nBAD LINE\n{\"id\":").unwrap();
                    plant_in(&dir, &outside, side, kind);
                    let planted_before = std::fs::symlink_metadata(dir.join(side)).unwrap();
                    let outside_before = snapshot(&outside);

                    let mut command = stet(&dir);
                    command.args(["--json", "--timeout", "2s"]).args(args);
                    let output = run_bounded(&mut command, input.unwrap_or("").as_bytes());
                    runs += 1;

                    let case = format!(
                        "{what} with {kind:?} at {side} ({})",
                        if holder_too { "mkdir" } else { "flock" }
                    );
                    assert_eq!(
                        snapshot(&outside),
                        outside_before,
                        "{case}: a file outside the project changed"
                    );
                    let planted_after =
                        std::fs::symlink_metadata(dir.join(side)).expect("the planted file stays");
                    assert_eq!(
                        planted_after.ino(),
                        planted_before.ino(),
                        "{case}: the planted file was replaced"
                    );
                    if matches!(kind, Plant::Foreign) {
                        assert_eq!(
                            std::fs::read_to_string(dir.join(side)).unwrap(),
                            "someone else's notes\n",
                            "{case}"
                        );
                    }
                    if !output.status.success() {
                        let error = json_error(&output);
                        assert!(
                            error["message"].as_str().is_some_and(|message| message.contains(side.as_str())),
                            "{case}: the refusal names {side}: {error}"
                        );
                    }
                }
            }
        }
    }
    assert!(runs >= 140, "{runs} runs: every command, side file and plant was tried");
}

/// Plants `kind` at `side` in `dir`, pointing (or linked) to the victim in `outside`.
fn plant_in(dir: &Path, outside: &Path, side: &str, kind: Plant) {
    let victim = outside.join("victim.txt");
    let path = dir.join(side);
    match kind {
        Plant::Symlink => std::os::unix::fs::symlink(&victim, &path).unwrap(),
        Plant::HardLink => std::fs::hard_link(&victim, &path).unwrap(),
        Plant::Fifo | Plant::Foreign => plant(dir, side, kind),
    }
}
