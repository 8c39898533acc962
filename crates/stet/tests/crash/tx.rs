//! `stet::tx` through `Project::tx`, recovered by `Project::recover`: a plan of every op kind across
//! three directories takes effect whole or not at all, and a crash during recovery changes nothing
//! about the outcome.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;
use stet::Project;
use stet::project::WriteOptions;
use stet::tx::Plan;

use super::model::{Crash, Event, State};
use super::run::{self, Budget, Protocol, Tally, Verdicts, Watched, Workspace, acknowledged};

/// The tree a check compares: every file and directory but the project's `.stet/`, lock files,
/// the log's index and temporary files (the sweep's, tested by `tests/sweep.rs`).
pub type Tree = BTreeMap<String, Option<Vec<u8>>>;

pub fn tree(root: &Path) -> Tree {
    let mut tree = Tree::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let temporary = name.contains(".stet-") && name.ends_with(".tmp");
            if name == ".stet" || name.ends_with(".lock") || name.ends_with(".stet-index") || temporary {
                continue;
            }
            let relative = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                stack.push(path);
                tree.insert(relative, None);
            } else {
                tree.insert(relative, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    tree
}

/// What differs between two trees, for a message.
pub fn differences(now: &Tree, other: &Tree) -> Vec<String> {
    let mut paths: Vec<&String> = now.keys().chain(other.keys()).collect();
    paths.sort();
    paths.dedup();
    paths.into_iter().filter(|path| now.get(*path) != other.get(*path)).cloned().collect()
}

struct Transaction;

/// A plan with every op kind, across `specs/`, `docs/` and `logs/`.
fn every_op(root: &Path) -> Plan {
    let p = |rel: &str| root.join(rel).display().to_string();
    Plan::from_value(&json!({"ops": [
        {"op": "new", "dir": p("specs"), "slug": "login flow", "template": p("docs/template.md"), "pattern": "{seq:03}-{slug}.md", "set": {"status": "draft"}},
        {"op": "set", "path": p("specs/001-a.md"), "values": {"status": "done", "links": ["002-login-flow"]}},
        {"op": "push", "path": p("specs/meta.yaml"), "values": {"list": "y"}},
        {"op": "write", "path": p("docs/notes.txt"), "content": "new notes\n"},
        {"op": "copy", "from": p("docs/notes.txt"), "path": p("docs/notes-copy.txt")},
        {"op": "delete", "path": p("docs/old.txt")},
        {"op": "unset", "path": p("docs/cfg.json"), "keys": ["drop"]},
        {"op": "merge", "path": p("logs/state.json"), "patch": {"phase": "two", "old": null}},
        {"op": "append", "path": p("logs/events.ndjson"), "events": [{"id": 1}, {"id": 2, "kind": "linked"}]},
    ]}))
    .expect("the plan is valid")
}

/// Before and after the transaction, and after the next write put one file back as it was.
pub struct Outcomes {
    before: Tree,
    after: Tree,
    reverted: Tree,
}

const OLD_CFG: &str = "{\n  // comment\n  \"n\": 1,\n  \"drop\": true\n}\n";

impl Protocol for Transaction {
    type Expected = Outcomes;

    fn name(&self) -> &'static str {
        "tx"
    }

    fn seed(&self, root: &Path) {
        for dir in ["specs", "docs", "logs"] {
            std::fs::create_dir(root.join(dir)).unwrap();
        }
        let write = |rel: &str, text: &str| std::fs::write(root.join(rel), text).unwrap();
        write("specs/001-a.md", "---\nstatus: draft # keep me\nowner: ann\n---\n# A\n");
        write("specs/meta.yaml", "name: m\nlist:\n  - x\n");
        write("docs/template.md", "---\ntitle: '{{name}}'\n---\nBody of {{slug}}\n");
        write("docs/old.txt", "remove me\n");
        write("docs/cfg.json", OLD_CFG);
        write("logs/state.json", "{\"phase\": \"one\", \"old\": 1}\n");
        write("logs/events.ndjson", "{\"id\":1}\n");
    }

    /// The transaction, then a write that puts `docs/cfg.json` back exactly as it was: a journal
    /// that came back after that would replay over it (its version is the journal's `old`).
    fn run(&self, root: &Path, project: &Project, acknowledge: &(dyn Fn(usize) + Sync)) -> Outcomes {
        let before = tree(root);
        project.tx(&every_op(root)).expect("the transaction commits");
        acknowledge(0);
        let after = tree(root);
        project.write(&root.join("docs/cfg.json"), OLD_CFG.as_bytes(), WriteOptions::default()).unwrap();
        acknowledge(1);
        Outcomes { before, after, reverted: tree(root) }
    }

    fn check(&self, outcomes: &Outcomes, root: &Path, acknowledged_ops: u64) -> Result<(), String> {
        run::stet_dir_whole(root)?;
        let watched = Watched::open(root)?;
        watched.project.recover().map_err(|err| format!("recover: {err}"))?;
        let now = tree(root);
        let allowed: [(&str, &Tree); 2] = if acknowledged(acknowledged_ops, 1) {
            [("reverted", &outcomes.reverted); 2]
        } else if acknowledged(acknowledged_ops, 0) {
            [("after", &outcomes.after), ("reverted", &outcomes.reverted)]
        } else {
            [("before", &outcomes.before), ("after", &outcomes.after)]
        };
        if !allowed.iter().any(|(_, tree)| **tree == now) {
            let differs: Vec<String> = allowed
                .iter()
                .map(|(name, tree)| format!("from {name} in {:?}", differences(&now, tree)))
                .collect();
            return Err(format!("half applied: differs {}", differs.join(", ")));
        }
        next_command(&watched, root)
    }
}

/// The next commands on the transaction's files succeed, and the log is clean.
fn next_command(watched: &Watched, root: &Path) -> Result<(), String> {
    let project = &watched.project;
    if std::fs::read_dir(root.join(".stet/tx")).is_ok_and(|mut names| names.next().is_some()) {
        return Err("a journal is left after recovery".into());
    }
    project
        .set(
            &root.join("specs/001-a.md"),
            &[("owner".into(), json!("bo"))],
            stet::project::EditOptions::default(),
        )
        .map_err(|err| format!("the next set: {err}"))?;
    let log = root.join("logs/events.ndjson");
    project.log_append(&log, &[json!({"id": 9})], None).map_err(|err| format!("the next append: {err}"))?;
    let checked = project.log_verify(&log).map_err(|err| format!("verify: {err}"))?;
    if !checked.clean {
        return Err(format!("the log is not clean after the next append: {checked:?}"));
    }
    watched.index_usable()
}

/// Recovery from a committed state: the outcome must be the transaction's.
fn recovered_check(after: &Tree, root: &Path) -> Result<(), String> {
    let watched = Watched::open(root)?;
    watched.project.recover().map_err(|err| format!("recover: {err}"))?;
    let now = tree(root);
    if &now != after {
        return Err(format!("recovered again, differs from after in {:?}", differences(&now, after)));
    }
    next_command(&watched, root)
}

/// Whether a state holds a committed journal.
fn committed(state: &State) -> bool {
    let mut found = false;
    state.walk(&mut |path, bytes| {
        found |= bytes.is_some() && path.starts_with(".stet/tx/") && path.ends_with(".tx");
    });
    found
}

/// Committed crash states to recover under the recorder: at every crash point up to the
/// transaction's acknowledgement, everything kept and everything lost, where that holds a
/// committed journal; distinct ones, `count` of them spread evenly over the trace.
fn committed_states(recorded: &run::Recorded<Outcomes>, count: usize) -> Vec<State> {
    let trace = &recorded.trace;
    let acknowledged = trace.events.iter().position(|event| matches!(event, Event::Acknowledged(0)));
    let mut seen = std::collections::HashSet::new();
    let mut states = Vec::new();
    for point in 0..=acknowledged.expect("the transaction was acknowledged") {
        let crash = Crash::at(&trace.start, &trace.events, point, None);
        for corner in crash.selection(2, 0).into_iter().take(2) {
            let state = crash.state(&corner);
            if committed(&state) && seen.insert(state.fingerprint()) {
                states.push(state);
            }
        }
    }
    let step = states.len().div_ceil(count).max(1);
    states.into_iter().step_by(step).collect()
}

#[test]
fn a_transaction_of_every_op_kind_is_whole_or_absent_after_a_power_loss_at_any_point() {
    let workspace = Workspace::new("tx");
    let recorded = run::record(&Transaction, &workspace, "rec");
    let tally = run::check(&Transaction, &recorded, &workspace, Budget::full(1400), &Verdicts::default());
    tally.report("tx (every op kind, three directories)");
    tally.assert_clean("tx");
}

#[test]
fn a_power_loss_during_recovery_leaves_a_state_that_recovers_to_the_same_outcome() {
    let workspace = Workspace::new("tx-recovery");
    let recorded = run::record(&Transaction, &workspace, "rec");
    let after = &recorded.expected.after;
    let states = committed_states(&recorded, 24);
    let verdicts = Verdicts::default();
    let mut tally = Tally::default();
    for state in &states {
        let root = workspace.fresh("rc0");
        state.materialize(&root, &recorded.trace.root);
        let recovery = run::record_in(&root, |project, acknowledge| {
            project.recover().expect("recovery of a committed state succeeds");
            acknowledge(0);
        });
        tally.add(run::check_trace(&recovery.trace, &workspace, Budget::full(256), &verdicts, &|root, _| {
            recovered_check(after, root)
        }));
    }
    tally.report(&format!("tx recovery, crashed during recovery of {} committed states", states.len()));
    tally.assert_clean("tx recovery");
}

#[test]
fn removing_any_fsync_of_a_transaction_is_noticed() {
    let workspace = Workspace::new("tx-mutation");
    run::assert_every_barrier_needed(&Transaction, &workspace, 256);
}
