//! Transactions: all or nothing, checked whole before anything is written, finished or undone
//! after a crash at any step, by `recover` or by the next command that locks one of its files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use stet::fs::{self, Fault, Faulty, Fs};
use stet::project::WriteOptions;
use stet::tx::{Outcome, Plan};
use stet::{Code, Options, Project};

use crate::support::scratch;

/// Three directories with a document, a file to copy, a file to delete, a log and an entries
/// directory with a template.
fn seed(root: &Path) {
    for dir in ["specs", "docs", "logs"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("specs/001-a.md"), "---\nstatus: draft # keep me\nowner: ann\n---\n# A\n")
        .unwrap();
    std::fs::write(root.join("docs/template.md"), "---\ntitle: '{{name}}'\n---\nBody of {{slug}}\n").unwrap();
    std::fs::write(root.join("docs/old.txt"), "remove me\n").unwrap();
    std::fs::write(root.join("docs/cfg.json"), "{\n  // comment\n  \"n\": 1,\n  \"drop\": true\n}\n")
        .unwrap();
    std::fs::write(root.join("logs/events.ndjson"), "{\"id\":1}\n").unwrap();
}

/// A plan with every op kind, across `specs/`, `docs/` and `logs/`.
fn every_op(root: &Path) -> Plan {
    let p = |rel: &str| root.join(rel).display().to_string();
    Plan::from_value(&json!({"ops": [
        {"op": "new", "dir": p("specs"), "slug": "login flow", "template": p("docs/template.md"), "pattern": "{seq:03}-{slug}.md", "set": {"status": "draft"}},
        {"op": "set", "path": p("specs/001-a.md"), "values": {"status": "done", "links": ["002-login-flow"]}},
        {"op": "write", "path": p("docs/notes.txt"), "content": "new notes\n"},
        {"op": "copy", "from": p("docs/notes.txt"), "path": p("docs/notes-copy.txt")},
        {"op": "delete", "path": p("docs/old.txt")},
        {"op": "unset", "path": p("docs/cfg.json"), "keys": ["drop"]},
        {"op": "append", "path": p("logs/events.ndjson"), "events": [{"id": 1}, {"id": 2, "kind": "linked"}]},
    ]}))
    .expect("the plan is valid")
}

/// Every file under `root` but the project's own `.stet/` and the lock files, with its bytes.
fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            // Temporary files a crash leaves are the sweep's (tested with it), not the journal's.
            let extension = Path::new(&name).extension().and_then(|ext| ext.to_str()).unwrap_or("");
            let temporary = name.contains(".stet-") && extension == "tmp";
            if name == ".stet" || extension == "lock" || name.ends_with(".stet-index") || temporary {
                continue;
            }
            if path.is_dir() {
                stack.push(path.clone());
                files.push((path.strip_prefix(root).unwrap().to_path_buf(), Vec::new()));
            } else {
                files.push((path.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

fn committed_state(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let project = Project::open(root).unwrap();
    project.tx(&every_op(root)).expect("the transaction commits");
    snapshot(root)
}

#[test]
fn a_plan_of_every_op_kind_across_three_directories_takes_effect_whole() {
    let dir = scratch();
    let root = dir.path();
    seed(root);
    let project = Project::open(root).unwrap();
    let committed = project.tx(&every_op(root)).unwrap();
    let results = serde_json::to_value(&committed).unwrap();
    assert_eq!(results["committed"], json!(true));
    assert_eq!(results["ops"], json!(7));
    assert_eq!(results["results"][0]["seq"], json!(2));
    assert!(results["results"][0]["path"].as_str().unwrap().ends_with("specs/002-login-flow.md"));
    assert_eq!(results["results"][1]["changed"], json!(true));
    assert_eq!(results["results"][4], json!({"path": root.join("docs/old.txt"), "deleted": true}));
    assert_eq!(results["results"][6], json!({"appended": 1, "duplicates": 1, "offset": 9}));

    let read = |rel: &str| std::fs::read_to_string(root.join(rel)).unwrap();
    assert_eq!(
        read("specs/001-a.md"),
        "---\nstatus: done # keep me\nowner: ann\nlinks: [002-login-flow]\n---\n# A\n"
    );
    assert_eq!(
        read("specs/002-login-flow.md"),
        "---\ntitle: '002-login-flow.md'\nstatus: draft\n---\nBody of login-flow\n"
    );
    assert_eq!(read("docs/notes-copy.txt"), "new notes\n");
    assert!(!root.join("docs/old.txt").exists());
    assert_eq!(read("docs/cfg.json"), "{\n  // comment\n  \"n\": 1\n}\n");
    assert_eq!(read("logs/events.ndjson"), "{\"id\":1}\n{\"id\":2,\"kind\":\"linked\"}\n");
    assert!(no_journal(root), "the journal is removed");
    assert_eq!(crate::support::temp_files(root), Vec::<PathBuf>::new());
}

#[test]
fn a_version_that_differs_in_the_last_op_leaves_every_file_as_it_was() {
    let dir = scratch();
    let root = dir.path();
    seed(root);
    let before = snapshot(root);
    let mut plan = every_op(root);
    plan.ops.last_mut().unwrap().if_version = Some("0123456789abcdef".parse().unwrap());
    let err = Project::open(root).unwrap().tx(&plan).unwrap_err();
    assert_eq!(err.code(), Code::Conflict);
    assert_eq!(err.extra()["op"], json!(6));
    assert!(err.message().starts_with("op 6: "), "{}", err.message());
    assert_eq!(snapshot(root), before);
    assert!(no_journal(root));
}

#[test]
fn a_malformed_document_a_missing_copy_source_or_a_bad_op_does_nothing_and_names_the_op() {
    let dir = scratch();
    let root = dir.path();
    seed(root);
    std::fs::write(root.join("docs/bad.yaml"), "a: [1, 2\n").unwrap();
    let before = snapshot(root);
    let p = |rel: &str| root.join(rel).display().to_string();
    let project = Project::open(root).unwrap();
    let cases = [
        (json!({"op": "set", "path": p("docs/bad.yaml"), "values": {"a": 1}}), Code::Malformed),
        (json!({"op": "copy", "from": p("docs/missing.txt"), "path": p("docs/x.txt")}), Code::NotFound),
        (json!({"op": "append", "path": p("docs/old.txt"), "event": {"id": 3}}), Code::Malformed),
        (json!({"op": "write", "path": p("docs"), "content": "x"}), Code::Io),
        (json!({"op": "set", "path": p("docs/notes.txt"), "values": {"a": 1}}), Code::Usage),
    ];
    for (bad, code) in cases {
        let plan = Plan::from_value(&json!({"ops": [
            {"op": "write", "path": p("docs/first.txt"), "content": "first"},
            {"op": "new", "dir": p("specs"), "slug": "x"},
            bad.clone(),
        ]}))
        .unwrap();
        let err = project.tx(&plan).unwrap_err();
        assert_eq!(err.code(), code, "{bad}: {}", err.message());
        assert_eq!(err.extra()["op"], json!(2), "{bad}");
        assert_eq!(snapshot(root), before, "{bad}: nothing is done");
        assert_eq!(crate::support::temp_files(root), Vec::<PathBuf>::new(), "{bad}");
    }
    for (plan, needle) in [
        (json!({"ops": [{"op": "rename", "path": "a"}]}), "not an op"),
        (
            json!({"ops": [{"op": "write", "path": "a", "content": "x", "contnet": 1}]}),
            "has no field \"contnet\"",
        ),
        (json!({"ops": [{"op": "set", "path": "a.md", "values": {}}]}), "\"values\" must be"),
        (
            json!({"ops": [{"op": "write", "path": "a", "content": "x", "if_version": "abc"}]}),
            "not a version",
        ),
        (json!({"op": "write"}), "a plan has only \"ops\""),
    ] {
        let err = Plan::from_value(&plan).unwrap_err();
        assert!(err.to_string().contains(needle), "{plan}: {err}");
    }
}

/// Runs the every-op transaction through a file system that stops working at call `step`, as
/// a process killed there would; returns whether it reported success.
fn crash_at(root: &Path, step: usize) -> (bool, bool) {
    let faulty = Arc::new(Faulty::new(fs::real(), Fault::CrashAt { step }));
    let project = Options::new().fs(faulty.clone() as Arc<dyn Fs>).open(root).unwrap();
    let ok = project.tx(&every_op(root)).is_ok();
    (ok, faulty.fired())
}

fn faulty_log(root: &Path, step: usize) -> Vec<String> {
    let dir = scratch();
    seed(dir.path());
    let faulty = Arc::new(Faulty::new(fs::real(), Fault::CrashAt { step: step + 1 }));
    let project = Options::new().fs(faulty.clone() as Arc<dyn Fs>).open(dir.path()).unwrap();
    let _ = project.tx(&every_op(dir.path()));
    let _ = root;
    faulty.log().iter().rev().take(8).map(|(op, path)| format!("{op:?} {path:?}")).collect()
}

/// The process's flocks die with it; here they die with the `Project` and its open files,
/// which `crash_at` drops before recovery runs.
#[test]
fn a_crash_at_any_step_is_finished_or_undone_by_recover_and_never_half_applied() {
    let dir = scratch();
    seed(dir.path());
    let before = snapshot(dir.path());
    let after = committed_state(dir.path());
    let mut rolled = (0, 0);
    for step in 0.. {
        let dir = scratch();
        let root = dir.path();
        seed(root);
        let (ok, fired) = crash_at(root, step);
        let recovered = Project::open(root).unwrap().recover().unwrap();
        let now = snapshot(root);
        if now != before && now != after {
            let differs = |other: &[(PathBuf, Vec<u8>)]| {
                now.iter()
                    .filter(|item| !other.contains(item))
                    .map(|(path, _)| path.clone())
                    .collect::<Vec<_>>()
            };
            panic!(
                "step {step}: half applied: differs from before in {:?}, from after in {:?}; recovered {recovered:?}; log {:?}",
                differs(&before),
                differs(&after),
                faulty_log(root, step)
            );
        }
        if ok {
            assert_eq!(now, after, "step {step}: reported committed");
        }
        if !recovered.transactions.is_empty() {
            match recovered.transactions[0].outcome {
                Outcome::RolledForward => rolled.0 += 1,
                Outcome::RolledBack => rolled.1 += 1,
            }
        }
        assert!(
            !root.join(".stet/tx").exists() || std::fs::read_dir(root.join(".stet/tx")).unwrap().count() == 0
        );
        if !fired {
            assert!(ok);
            break;
        }
    }
    assert!(rolled.0 > 0, "some crashes came after the commit point and were rolled forward");
}

#[test]
fn the_next_command_on_a_file_of_an_interrupted_transaction_finishes_it_first() {
    let dir = scratch();
    seed(dir.path());
    let after = committed_state(dir.path());
    // The crash point right after the commit: find it by running until the journal exists.
    for step in 0.. {
        let dir = scratch();
        let root = dir.path();
        seed(root);
        let (ok, fired) = crash_at(root, step);
        assert!(fired && !ok, "a crash after the commit point was never seen");
        let journals: Vec<_> = match std::fs::read_dir(root.join(".stet/tx")) {
            Ok(names) => names.map(|entry| entry.unwrap().file_name()).collect(),
            Err(_) => continue,
        };
        if !journals.iter().any(|name| name.to_string_lossy().ends_with(".tx")) {
            continue;
        }
        // A set on the log's neighbour document, through the front door.
        let project = Project::open(root).unwrap();
        project
            .set(
                &root.join("specs/001-a.md"),
                &[("owner".into(), json!("bo"))],
                stet::project::EditOptions::default(),
            )
            .unwrap();
        let text = std::fs::read_to_string(root.join("specs/001-a.md")).unwrap();
        assert_eq!(text, "---\nstatus: done # keep me\nowner: bo\nlinks: [002-login-flow]\n---\n# A\n");
        assert!(no_journal(root));
        let now = snapshot(root);
        let expected: Vec<_> = after
            .iter()
            .map(|(path, bytes)| {
                if path == Path::new("specs/001-a.md") {
                    (path.clone(), text.clone().into_bytes())
                } else {
                    (path.clone(), bytes.clone())
                }
            })
            .collect();
        assert_eq!(now, expected);
        return;
    }
}

#[test]
fn a_reader_of_a_file_under_a_running_transaction_waits_for_its_lock() {
    let dir = scratch();
    let root = dir.path().to_path_buf();
    std::fs::write(root.join("a.json"), "{\"n\": 1}\n").unwrap();
    let project = Project::open(&root).unwrap();
    // A transaction's journal is there (another transaction, elsewhere), and a.json is locked.
    std::fs::create_dir_all(root.join(".stet/tx")).unwrap();
    let journal = std::fs::File::create(root.join(".stet/tx/running.tx")).unwrap();
    journal.lock().unwrap();
    let lock = project.lock_guard(&root.join("a.json"), stet::lock::LockKind::Exclusive).unwrap();
    let reader = {
        let project = project.with_lock_wait(stet::lock::Wait::Immediately);
        let path = root.join("a.json");
        std::thread::spawn(move || project.get(&path, None, None).map(|got| got.value))
    };
    let err = reader.join().unwrap().unwrap_err();
    assert_eq!(err.code(), Code::LockTimeout);
    drop(lock);
    drop(journal);
    std::fs::remove_file(root.join(".stet/tx/running.tx")).unwrap();
    assert_eq!(project.get(&root.join("a.json"), None, None).unwrap().value, json!({"n": 1}));
}

#[test]
fn a_plan_for_files_outside_the_root_file_system_is_refused_before_anything() {
    let dir = scratch();
    let Ok(shm) = tempfile::tempdir_in("/dev/shm") else { return };
    if std::fs::metadata("/dev/shm").map(|m| std::os::unix::fs::MetadataExt::dev(&m)).ok()
        == std::fs::metadata(dir.path()).map(|m| std::os::unix::fs::MetadataExt::dev(&m)).ok()
    {
        return;
    }
    let plan = Plan::from_value(&json!({"ops": [
        {"op": "write", "path": dir.path().join("a").display().to_string(), "content": "a"},
        {"op": "write", "path": shm.path().join("b").display().to_string(), "content": "b"},
    ]}))
    .unwrap();
    let err = Project::open(dir.path()).unwrap().tx(&plan).unwrap_err();
    assert!(err.message().contains("another file system"), "{}", err.message());
    assert!(!dir.path().join("a").exists());
}

#[test]
fn a_write_through_the_front_door_is_unaffected_by_an_empty_journal_directory() {
    let dir = scratch();
    std::fs::create_dir_all(dir.path().join(".stet/tx")).unwrap();
    let project = Project::open(dir.path()).unwrap();
    project.write(&dir.path().join("f"), b"x", WriteOptions::default()).unwrap();
    let _: Value = serde_json::to_value(project.recover().unwrap()).unwrap();
}

/// Whether the journal directory is missing or empty.
fn no_journal(root: &Path) -> bool {
    std::fs::read_dir(root.join(".stet/tx")).map_or(true, |mut names| names.next().is_none())
}

/// Several ops on one file, and a lone delete, are one rename or unlink each: no journal is
/// written, and a crash at any step leaves the file old or new.
#[test]
fn a_plan_that_changes_one_file_needs_no_journal_and_is_old_or_new_after_any_crash() {
    let plan = |root: &Path| {
        let doc = root.join("specs/001-a.md").display().to_string();
        Plan::from_value(&json!({"ops": [
            {"op": "set", "path": doc, "values": {"status": "done"}},
            {"op": "push", "path": doc, "values": {"links": "002"}},
            {"op": "unset", "path": doc, "keys": ["owner"]},
        ]}))
        .unwrap()
    };
    let old = b"---\nstatus: draft # keep me\nowner: ann\n---\n# A\n".to_vec();
    let new = b"---\nstatus: done # keep me\nlinks:\n  - \"002\"\n---\n# A\n".to_vec();
    for step in 0.. {
        let dir = scratch();
        let root = dir.path();
        seed(root);
        let faulty = Arc::new(Faulty::new(fs::real(), Fault::CrashAt { step }));
        let project = Options::new().fs(faulty.clone() as Arc<dyn Fs>).open(root).unwrap();
        let ok = project.tx(&plan(root)).is_ok();
        drop(project);
        let journaled = faulty.log().iter().any(|(op, path)| {
            let writes =
                matches!(op, fs::Op::CreateNew | fs::Op::Rename | fs::Op::RemoveFile | fs::Op::SyncDir);
            writes && path.as_ref().is_some_and(|path| path.starts_with(root.join(".stet/tx")))
        });
        assert!(!journaled, "step {step}: a one-file plan wrote a journal: {:?}", faulty.log());
        Project::open(root).unwrap().recover().unwrap();
        let now = std::fs::read(root.join("specs/001-a.md")).unwrap();
        assert!(now == old || now == new, "step {step}: {}", String::from_utf8_lossy(&now));
        if ok {
            assert_eq!(now, new, "step {step}: reported committed");
        }
        if !faulty.fired() {
            assert!(ok);
            break;
        }
    }

    let dir = scratch();
    seed(dir.path());
    let faulty = Arc::new(Faulty::new(fs::real(), Fault::None));
    let project = Options::new().fs(faulty.clone() as Arc<dyn Fs>).open(dir.path()).unwrap();
    let old = dir.path().join("docs/old.txt").display().to_string();
    project.tx(&Plan::from_value(&json!({"ops": [{"op": "delete", "path": old}]})).unwrap()).unwrap();
    assert!(!dir.path().join("docs/old.txt").exists());
    assert!(no_journal(dir.path()));
    let syncs = faulty.log().iter().filter(|(op, _)| *op == fs::Op::SyncDir).count();
    assert_eq!(syncs, 1, "the deletion is made durable: {:?}", faulty.log());
}
