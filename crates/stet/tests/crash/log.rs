//! Event-log appends through `Project::log_append`: two appenders racing, a batch large enough to
//! map the index, and the first append to a new log, on a log that starts with a torn tail.
//! After a power loss at any point, and the next append, every acknowledged event is in its log
//! once, no event twice, no line glued to another, no torn tail left, and the torn tail's bytes
//! are in `LOG.rejected`.

use std::path::Path;

use serde_json::{Value, json};
use stet::Project;

use super::run::{self, Budget, Protocol, Verdicts, Watched, Workspace, acknowledged};

const LOG: &str = "logs/events.ndjson";
const NEW_LOG: &str = "logs/new.ndjson";
const TORN: &str = "{\"id\":\"torn";

struct Append;

/// The ids each operation appends, and to which log.
fn operations() -> Vec<(&'static str, Vec<String>)> {
    let ids = |prefix: &str, count: usize| (0..count).map(|n| format!("{prefix}{n}")).collect();
    // 32 events: a batch that large maps the index.
    vec![(LOG, ids("a", 2)), (LOG, ids("b", 1)), (LOG, ids("c", 32)), (NEW_LOG, ids("n", 1))]
}

fn events(ids: &[String]) -> Vec<Value> {
    ids.iter().map(|id| json!({"id": id, "kind": "test"})).collect()
}

/// The ids of the events in a log, in order.
fn ids_in(project: &Project, log: &Path) -> Result<Vec<String>, String> {
    let entries = project.log_read(log, 0, None).map_err(|err| format!("read {}: {err}", log.display()))?;
    entries
        .iter()
        .map(|entry| {
            let value: Value =
                serde_json::from_slice(&entry.raw).map_err(|err| format!("an event read: {err}"))?;
            Ok(value["id"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

impl Protocol for Append {
    type Expected = ();

    fn name(&self) -> &'static str {
        "log"
    }

    fn seed(&self, root: &Path) {
        std::fs::create_dir(root.join("logs")).unwrap();
        std::fs::write(root.join(LOG), format!("{{\"id\":\"s0\"}}\n{{\"id\":\"s1\"}}\n{TORN}")).unwrap();
    }

    fn run(&self, root: &Path, project: &Project, acknowledge: &(dyn Fn(usize) + Sync)) {
        let operations = operations();
        let append = |op: usize| {
            let (log, ids) = &operations[op];
            project.log_append(&root.join(log), &events(ids), None).unwrap();
            acknowledge(op);
        };
        std::thread::scope(|scope| {
            scope.spawn(|| append(0));
            scope.spawn(|| append(1));
        });
        append(2);
        append(3);
    }

    fn check(&self, (): &(), root: &Path, ops: u64) -> Result<(), String> {
        let watched = Watched::open(root)?;
        let project = &watched.project;
        project.recover().map_err(|err| format!("recover: {err}"))?;
        let operations = operations();
        for log in [LOG, NEW_LOG] {
            let path = root.join(log);
            // The next command: an append, which cuts any torn tail.
            project
                .log_append(&path, &events(&["next".into()]), None)
                .map_err(|err| format!("the next append to {log}: {err}"))?;
            let checked = project.log_verify(&path).map_err(|err| format!("verify {log}: {err}"))?;
            if !checked.clean {
                return Err(format!("{log} is not clean after the next append: {checked:?}"));
            }
            let ids = ids_in(project, &path)?;
            let mut sorted = ids.clone();
            sorted.sort();
            if let Some([twice, _]) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
                return Err(format!("{log}: the event {twice} is there twice: {ids:?}"));
            }
            if ids.last().map(String::as_str) != Some("next") {
                return Err(format!("{log}: the next append's event is not last: {ids:?}"));
            }
            let seeded: &[&str] = if log == LOG { &["s0", "s1"] } else { &[] };
            let acknowledged_ids = operations
                .iter()
                .enumerate()
                .filter(|(op, (target, _))| *target == log && acknowledged(ops, *op))
                .flat_map(|(_, (_, ids))| ids.iter().map(String::as_str));
            if let Some(lost) =
                seeded.iter().copied().chain(acknowledged_ids).find(|id| !ids.iter().any(|have| have == id))
            {
                return Err(format!("{log}: the acknowledged event {lost} is lost: {ids:?}"));
            }
        }
        watched.index_usable()?;
        let rejected = std::fs::read(root.join(format!("{LOG}.rejected"))).unwrap_or_default();
        if !rejected.windows(TORN.len()).any(|window| window == TORN.as_bytes()) {
            return Err(format!(
                "the torn tail is neither in the log nor in LOG.rejected: {:?}",
                String::from_utf8_lossy(&rejected)
            ));
        }
        Ok(())
    }
}

#[test]
fn every_acknowledged_event_is_in_its_log_once_after_a_power_loss_at_any_point() {
    let workspace = Workspace::new("log");
    let recorded = run::record(&Append, &workspace, "rec");
    let tally = run::check(&Append, &recorded, &workspace, Budget::full(1024), &Verdicts::default());
    tally.report("log append (two racing, a mapped batch, a new log, a torn tail)");
    tally.assert_clean("log append");
}

#[test]
fn removing_any_fsync_of_a_log_append_is_noticed() {
    let workspace = Workspace::new("log-mutation");
    run::assert_every_barrier_needed(&Append, &workspace, 1024);
}
