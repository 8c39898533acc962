//! The front door, driven as a Rust program would: leases enforced on every change, the
//! configuration honoured and overridden by options, results in the contract's JSON shapes,
//! notices given to the callback, errors carrying the contract's codes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use stet::lock::{LockKind, Protocol, Wait};
use stet::project::{Cleanup, EditOptions, NewEntryOptions, Notice, ProtocolName, WriteOptions};
use stet::{Code, Error, Options, Project};

use crate::support::scratch;

fn as_owner(root: &Path, owner: Option<&str>) -> Project {
    Options::new().owner(owner.map(str::to_owned)).open(root).expect("the project opens")
}

fn values(pairs: &[(&str, serde_json::Value)]) -> Vec<(String, serde_json::Value)> {
    pairs.iter().map(|(key, value)| ((*key).to_owned(), value.clone())).collect()
}

#[test]
fn a_project_is_send_sync_and_its_clones_share_one_state() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Project>();
    shareable::<Error>();
    let dir = scratch();
    let project = Project::open(dir.path()).unwrap();
    let clone = project.clone();
    std::thread::spawn(move || clone.write(&clone.root().join("a"), b"x", WriteOptions::default()).unwrap())
        .join()
        .unwrap();
    assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"x");
}

/// Every change the facade offers, to files under `docs/`.
fn every_change(project: &Project, docs: &Path) -> Vec<(&'static str, Result<(), Error>)> {
    let file = docs.join("a.md");
    let log = docs.join("events.ndjson");
    let keep = EditOptions::default();
    vec![
        ("write", project.write(&file, b"---\nn: 1\n---\n", WriteOptions::default()).map(drop)),
        ("update", project.update(&file, |old, _| Ok(old.map(<[u8]>::to_vec))).map(drop)),
        ("set", project.set(&file, &values(&[("n", json!(2))]), keep).map(drop)),
        ("push", project.push(&file, &values(&[("tags", json!("x"))]), keep).map(drop)),
        ("unset", project.unset(&file, &["tags".to_owned()], keep).map(drop)),
        ("merge", project.merge(&file, json!({"m": 1}), keep).map(drop)),
        ("log append", project.log_append(&log, &[json!({"id": 1})], None).map(drop)),
        ("log repair", project.log_repair(&log).map(drop)),
        ("new", project.new_entry(&docs.join("specs"), &NewEntryOptions::new("login")).map(drop)),
    ]
}

#[test]
fn another_owners_live_lease_refuses_every_change_and_its_owner_may_make_them() {
    let dir = scratch();
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(docs.join("events.ndjson"), "{\"id\": 0}\n").unwrap();
    let alice = as_owner(dir.path(), Some("alice"));
    alice.lease_acquire(&[&docs], Some(Duration::from_secs(600)), None).expect("alice takes docs/");

    for owner in [Some("bob"), None] {
        for (what, outcome) in every_change(&as_owner(dir.path(), owner), &docs) {
            let err = outcome.expect_err(&format!("{what} by {owner:?} under alice's lease must be refused"));
            assert_eq!(err.code(), Code::Leased, "{what} by {owner:?}: {err}");
            assert_eq!(err.exit_status(), 3);
            assert_eq!(err.holder().and_then(|holder| holder.owner.as_deref()), Some("alice"), "{what}");
            assert!(err.message().contains("stet lease status"), "{what}: {err}");
        }
    }
    assert!(!docs.join("a.md").exists(), "nothing was written under the lease");

    for (what, outcome) in every_change(&alice, &docs) {
        outcome.unwrap_or_else(|err| panic!("{what} by the lease's owner: {err}"));
    }
    let bob = Options::new().owner(Some("bob".into())).ignore_leases(true).open(dir.path()).unwrap();
    for (what, outcome) in every_change(&bob, &docs) {
        outcome.unwrap_or_else(|err| panic!("{what} with ignore_leases: {err}"));
    }
}

#[test]
fn the_configuration_sets_timeout_protocol_suffix_and_id_field_and_options_win_over_it() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join(".stet")).unwrap();
    std::fs::write(
        dir.path().join(".stet/config.toml"),
        "[lock]\nprotocol = \"mkdir\"\ntimeout = \"0\"\nstale = \"4s\"\nsuffix = \".stet-lock\"\n\n[log]\nid_field = \"event_id\"\n",
    )
    .unwrap();
    let project = Project::open(dir.path()).unwrap();
    assert_eq!(project.lock_wait(), Wait::Immediately);
    assert_eq!(project.protocol(), Protocol::Mkdir { stale: Duration::from_secs(4) });

    let file = dir.path().join("f.md");
    project
        .lock(&file, LockKind::Exclusive, |_| {
            assert!(dir.path().join("f.md.stet-lock").is_dir(), "a mkdir lock named with lock.suffix");
            let other = project.clone();
            let file = file.clone();
            let started = Instant::now();
            let refused = std::thread::spawn(move || other.write(&file, b"x", WriteOptions::default()))
                .join()
                .unwrap()
                .expect_err("the lock is held");
            assert_eq!(refused.code(), Code::LockTimeout, "{refused}");
            assert!(started.elapsed() < Duration::from_secs(1), "lock.timeout = 0 tries once");
        })
        .unwrap();

    let log = dir.path().join("e.ndjson");
    project.log_append(&log, &[json!({"event_id": 1, "id": 1})], None).unwrap();
    let again = project.log_append(&log, &[json!({"event_id": 1, "id": 2})], None).unwrap();
    assert_eq!((again.appended, again.duplicates), (0, 1), "log.id_field names the id");

    let flagged = Options::new()
        .lock_wait(Some(Wait::For(Duration::from_millis(300))))
        .protocol(Some(ProtocolName::Flock))
        .open(dir.path())
        .unwrap();
    assert_eq!(flagged.lock_wait(), Wait::For(Duration::from_millis(300)));
    assert_eq!(flagged.protocol(), Protocol::Flock);
    let _held = flagged.lock_guard(&file, LockKind::Exclusive).unwrap();
    assert!(dir.path().join("f.md.stet-lock").is_file(), "the flock protocol, still with lock.suffix");
}

#[test]
fn a_malformed_configuration_is_emalformed_naming_its_line() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join(".stet")).unwrap();
    std::fs::write(dir.path().join(".stet/config.toml"), "[lock]\n\ntimeuot = \"1s\"\n").unwrap();
    let err = Project::open(dir.path()).expect_err("a typo is refused");
    assert_eq!(err.code(), Code::Malformed, "{err}");
    assert!(err.message().contains("line 3"), "{err}");
    assert_eq!(err.path(), Some(dir.path().join(".stet/config.toml").as_path()));
}

#[test]
fn results_serialize_to_the_contracts_json_shapes() {
    let dir = scratch();
    let project = Project::open(dir.path()).unwrap();
    let file = dir.path().join("s.md");
    let written = project.write(&file, b"---\nn: 1\n---\n", WriteOptions::default()).unwrap();
    assert_eq!(written.json(), json!({"path": file, "bytes": 13, "version": written.version.to_string()}));
    let edited = project.set(&file, &values(&[("n", json!(2))]), EditOptions::default()).unwrap();
    assert_eq!(edited.json(), json!({"path": file, "version": edited.version.to_string(), "changed": true}));
    let got = project.get(&file, Some("n"), None).unwrap();
    assert_eq!(got.json(), json!({"value": 2, "version": edited.version.to_string()}));
    let log = dir.path().join("e.ndjson");
    let appended = project.log_append(&log, &[json!({"id": 1}), json!({"id": 1})], None).unwrap();
    assert_eq!(appended.json(), json!({"appended": 1, "duplicates": 1, "offset": 0, "cut": null}));
    let owner = as_owner(dir.path(), Some("alice"));
    let leases = owner.lease_acquire(&[&file], None, None).unwrap();
    let lease = leases.json();
    assert_eq!(lease["leases"][0]["path"], "s.md");
    for field in ["owner", "acquired_at", "expires_at", "expired", "pid", "host"] {
        assert!(lease["leases"][0].get(field).is_some(), "{field} in {lease}");
    }
    assert_eq!((owner.lease_release(&[&file]).unwrap()).json(), json!({"released": 1}));
    assert_eq!((owner.lease_cleanup(Cleanup::Owner).unwrap()).json(), json!({"released": []}));
}

/// A result as JSON, whatever its type.
trait AsJson {
    fn json(&self) -> serde_json::Value;
}

impl<T: serde::Serialize> AsJson for T {
    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap()
    }
}

#[test]
fn an_error_has_the_contracts_json_form() {
    let dir = scratch();
    let project = Project::open(dir.path()).unwrap();
    let file = dir.path().join("s.md");
    std::fs::write(&file, "---\nn: 1\n---\n").unwrap();
    let stale =
        EditOptions { if_version: Some("0000000000000000".parse().unwrap()), ..EditOptions::default() };
    let err = project.set(&file, &values(&[("n", json!(2))]), stale).unwrap_err();
    let shown = err.to_json();
    assert_eq!(shown["code"], "ECONFLICT");
    assert_eq!(shown["path"], json!(file));
    assert_eq!(shown["expected"], "0000000000000000");
    assert!(shown["message"].as_str().unwrap().contains("nothing was written"), "{shown}");
    assert_eq!(err.exit_status(), 3);
}

#[test]
fn must_exist_refuses_a_missing_document_and_creates_nothing() {
    let dir = scratch();
    let project = Project::open(dir.path()).unwrap();
    let file = dir.path().join("typo.md");
    let options = EditOptions { must_exist: true, ..EditOptions::default() };
    let err = project.set(&file, &values(&[("n", json!(1))]), options).unwrap_err();
    assert_eq!((err.code(), err.exit_status()), (Code::NotFound, 1), "{err}");
    assert!(!file.exists());
}

#[test]
fn a_lock_wait_and_corrupt_lines_go_to_the_notice_callback_not_to_stderr() {
    let dir = scratch();
    let said: Arc<Mutex<Vec<Notice>>> = Arc::default();
    let heard = said.clone();
    let project = Options::new()
        .lock_wait(Some(Wait::For(Duration::from_millis(1500))))
        .on_notice(move |notice| heard.lock().unwrap().push(notice.clone()))
        .open(dir.path())
        .unwrap();
    let file = dir.path().join("f.md");
    let held = project.lock_guard(&file, LockKind::Exclusive).unwrap();
    let other = project.clone();
    let waited = std::thread::spawn({
        let file = file.clone();
        move || other.write(&file, b"x", WriteOptions::default())
    });
    std::thread::sleep(Duration::from_millis(1200));
    drop(held);
    waited.join().unwrap().expect("the write goes ahead once the lock is free");
    let log = dir.path().join("e.ndjson");
    std::fs::write(&log, "{\"a\":1}\nnot json\n{\"b\":2}\n").unwrap();
    assert_eq!(project.log_read(&log, 0, None).unwrap().len(), 2);
    let said = said.lock().unwrap();
    assert!(
        matches!(&said[0], Notice::Waiting { path, .. } if path == &file),
        "the wait is said, naming the file as given: {said:?}"
    );
    assert_eq!(said[1], Notice::CorruptLine { path: log.clone(), line: 2, offset: 8 });
    assert_eq!(said[1].to_json()["notice"]["kind"], "corrupt_line");
}

#[test]
fn leases_held_while_work_runs_are_renewed_and_released_after() {
    let dir = scratch();
    let alice = as_owner(dir.path(), Some("alice"));
    let path: PathBuf = dir.path().join("a.md");
    let seen = alice
        .lease_hold(&[&path], Some(Duration::from_millis(600)), None, || {
            std::thread::sleep(Duration::from_millis(900));
            as_owner(dir.path(), Some("bob")).write(&path, b"x", WriteOptions::default())
        })
        .unwrap();
    assert_eq!(seen.unwrap_err().code(), Code::Leased, "renewed past its first TTL, the lease still holds");
    as_owner(dir.path(), Some("bob")).write(&path, b"x", WriteOptions::default()).expect("released after");
}

#[test]
fn leases_need_an_owner_and_a_ttl_above_zero() {
    let dir = scratch();
    let paths = [dir.path().join("a.md")];
    let err = as_owner(dir.path(), None).lease_acquire(&paths, None, None).unwrap_err();
    assert_eq!(err.code(), Code::Usage, "{err}");
    let err = as_owner(dir.path(), Some("a")).lease_acquire(&paths, Some(Duration::ZERO), None).unwrap_err();
    assert_eq!(err.code(), Code::Usage, "{err}");
}
