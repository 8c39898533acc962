//! Transactions across power loss: three writers run transactions that span three directories
//! (`set`, `write`, `delete`, `copy`, `append`, `new` in each) on a loop-mounted XFS image whose
//! power is cut (`xfs_io -x -c shutdown`, see `power.rs`) at a random moment, over and over. After
//! each cut the file system is mounted again and `stet recover` runs; then every transaction is
//! all or nothing (the log says which ones happened, and every other file must agree with it
//! exactly), and every transaction `stet tx` acknowledged before the cut is there.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Disk, names, require_root, run, run_with_input, sh, stderr, stet};

const WRITERS: usize = 3;
const LOG: &str = "c/events.ndjson";

/// How many times the power is cut: 200, or `$STET_TX_POWER_CUTS`.
fn cuts() -> usize {
    std::env::var("STET_TX_POWER_CUTS").ok().and_then(|cuts| cuts.parse().ok()).unwrap_or(200)
}

fn tx_id(writer: usize, n: u64) -> String {
    format!("w{writer}-{n}")
}

/// The file transaction `n` of `writer` writes into `b/`: up to ~48 KiB, its size varying.
fn content(writer: usize, n: u64) -> String {
    let lines = (n * 7919 + writer as u64 * 104_729) % 3000;
    let id = tx_id(writer, n);
    (0..lines).fold(String::new(), |mut text, line| {
        let _ = writeln!(text, "{id} line {line}");
        text
    })
}

/// Transaction `n` of `writer`: its document in `a/` gets `n`, its file in `b/` is replaced by a
/// new one, the document is copied into `c/`, its event goes to the shared log in `c/` and a
/// numbered entry into the shared `a/specs/`.
fn plan(writer: usize, n: u64, document_version: &str) -> Value {
    let id = tx_id(writer, n);
    json!({"ops": [
        {"op": "set", "path": format!("a/w{writer}.md"), "values": {"n": n, "tx": id}, "if_version": document_version},
        {"op": "write", "path": format!("b/w{writer}-{n}.txt"), "content": content(writer, n)},
        {"op": "delete", "path": format!("b/w{writer}-{}.txt", n - 1)},
        {"op": "copy", "from": format!("a/w{writer}.md"), "path": format!("c/w{writer}-copy.md")},
        {"op": "append", "path": LOG, "event": {"id": id, "writer": writer, "n": n}},
        {"op": "new", "dir": "a/specs", "slug": id, "template": "templates/spec", "set": {"tx": id}},
    ]})
}

fn set_up(root: &Path) {
    for dir in [".stet", "a/specs", "b", "c", "templates/spec"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(
        root.join("templates/spec/README.md"),
        "---\ntitle: '{{name}}'\ntx: none\n---\n# {{slug}}\n",
    )
    .unwrap();
    std::fs::write(root.join("templates/spec/notes.txt"), "notes of {{slug}}\n").unwrap();
    for writer in 0..WRITERS {
        let document = format!("---\nn: 0\ntx: none\n---\n# Writer {writer}\n");
        std::fs::write(root.join(format!("a/w{writer}.md")), &document).unwrap();
        std::fs::write(root.join(format!("c/w{writer}-copy.md")), &document).unwrap();
        std::fs::write(root.join(format!("b/w{writer}-0.txt")), content(writer, 0)).unwrap();
    }
    std::fs::write(root.join(LOG), "{\"id\":\"start\"}\n").unwrap();
    sh("sync", &[]);
}

/// What one writer did before the power went: the last transaction `stet tx` acknowledged before
/// the cut began, and the last one it started.
struct Run {
    acknowledged: u64,
    started: u64,
}

/// Runs `writer`'s transactions after `done` (its document at `version`) until one fails or the power is being cut. A
/// transaction acknowledged while the cut is under way does not count (see `power.rs`): a file
/// system shutting down can report a flush done that a real power loss would have lost.
fn write_until_cut(root: &Path, writer: usize, done: u64, mut version: String, cutting: &AtomicBool) -> Run {
    let mut run = Run { acknowledged: done, started: done };
    loop {
        run.started += 1;
        let n = run.started;
        let output = run_with_input(
            stet(root).args(["tx", "-", "--json"]),
            plan(writer, n, &version).to_string().as_bytes(),
        );
        if cutting.load(Ordering::SeqCst) {
            return run;
        }
        assert!(
            output.status.success(),
            "{} failed before the power cut: {}",
            tx_id(writer, n),
            stderr(&output)
        );
        let result: Value = serde_json::from_slice(&output.stdout).unwrap();
        result["results"][0]["version"].as_str().expect("set reports the version").clone_into(&mut version);
        run.acknowledged = n;
    }
}

/// The events `stet log read` shows, after `stet log verify` found the log clean.
fn logged(root: &Path) -> Vec<Value> {
    let verified = run(stet(root).args(["log", "verify", LOG]));
    assert!(verified.status.success(), "the log is not clean after recovery: {}", stderr(&verified));
    let read = run(stet(root).args(["log", "read", LOG]));
    assert!(read.status.success(), "{}", stderr(&read));
    String::from_utf8(read.stdout).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// Checks that every file of `writer` agrees with the log's last transaction of it (all of each
/// transaction or none of it); returns that transaction's number.
fn check_writer(root: &Path, writer: usize, events: &[Value], run: &Run, checked: u64, cut: usize) -> u64 {
    let numbers: Vec<u64> = events
        .iter()
        .filter(|event| event["writer"] == json!(writer))
        .map(|event| event["n"].as_u64().expect("a number"))
        .collect();
    let last = numbers.len() as u64;
    let id = tx_id(writer, last);
    assert_eq!(
        numbers,
        (1..=last).collect::<Vec<_>>(),
        "cut {cut}: writer {writer}'s events, each once, in order"
    );
    assert!(
        last >= run.acknowledged,
        "cut {cut}: {} was acknowledged before the power cut, but the log ends at {id}",
        tx_id(writer, run.acknowledged)
    );
    assert!(last <= run.started, "cut {cut}: the log has {id}, which never started");

    let document = format!("a/w{writer}.md");
    let got = run_json(root, &["get", &document]);
    let expected = if last == 0 { json!({"n": 0, "tx": "none"}) } else { json!({"n": last, "tx": id}) };
    assert_eq!(got, expected, "cut {cut}: {document} against the log's {id} (set)");
    assert_eq!(
        std::fs::read(root.join(format!("c/w{writer}-copy.md"))).unwrap(),
        std::fs::read(root.join(&document)).unwrap(),
        "cut {cut}: the copy against {document} ({id}: copy)"
    );
    let prefix = format!("w{writer}-");
    // Lock files that power loss left empty stay (nothing in them shows that stet made them).
    let files: Vec<String> = names(&root.join("b"))
        .into_iter()
        .filter(|name| {
            name.starts_with(&prefix) && Path::new(name).extension().is_none_or(|ext| ext != "lock")
        })
        .collect();
    assert_eq!(
        files,
        [format!("w{writer}-{last}.txt")],
        "cut {cut}: b/ against the log's {id} (write, delete)"
    );
    assert!(
        std::fs::read_to_string(root.join("b").join(&files[0])).unwrap() == content(writer, last),
        "cut {cut}: b/{} has other content than {id} wrote",
        files[0]
    );

    let mut entries = BTreeSet::new();
    for name in names(&root.join("a/specs")) {
        let Some(n) = name.split_once('-').and_then(|(_, slug)| slug.strip_prefix(&prefix)) else { continue };
        let n: u64 =
            n.parse().unwrap_or_else(|_| panic!("cut {cut}: a/specs/{name} is not an entry stet made"));
        assert!(entries.insert(n), "cut {cut}: two entries for {}", tx_id(writer, n));
        if n > checked {
            let entry = root.join("a/specs").join(&name);
            let readme = std::fs::read_to_string(entry.join("README.md")).unwrap_or_default();
            let notes = std::fs::read_to_string(entry.join("notes.txt")).unwrap_or_default();
            let slug = tx_id(writer, n);
            assert!(
                readme.contains(&format!("\ntx: {slug}\n")) && readme.ends_with(&format!("# {slug}\n")),
                "cut {cut}: a/specs/{name}/README.md is incomplete: {readme:?}"
            );
            assert_eq!(notes, format!("notes of {slug}\n"), "cut {cut}: a/specs/{name}/notes.txt");
        }
    }
    assert_eq!(
        entries,
        (1..=last).collect(),
        "cut {cut}: writer {writer}'s entries against the log's {id} (new)"
    );
    last
}

fn run_json(root: &Path, args: &[&str]) -> Value {
    let output = run(stet(root).args(args).arg("--json"));
    assert!(output.status.success(), "stet {args:?}: {}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Temporary files and staging directories left in the transactions' directories, but for those
/// `stet recover` reported keeping.
fn leftovers(root: &Path, report: &Value) -> Vec<String> {
    let kept: Vec<&str> =
        report["kept"].as_array().unwrap().iter().filter_map(|kept| kept["path"].as_str()).collect();
    let mut left = Vec::new();
    for dir in ["a", "a/specs", "b", "c"] {
        for name in names(&root.join(dir)) {
            let path = root.join(dir).join(&name);
            let temporary = Path::new(&name).extension().is_some_and(|ext| ext == "tmp");
            if name.contains(".stet-") && temporary && !kept.contains(&path.to_str().unwrap()) {
                left.push(format!("{dir}/{name}"));
            }
        }
    }
    left
}

#[test]
fn every_transaction_is_all_or_nothing_after_a_power_loss_and_acknowledged_ones_survive() {
    if !require_root("the transaction power-loss test (loop devices, mount)") {
        return;
    }
    let disk = Disk::new();
    let root = disk.mount.as_path();
    set_up(root);
    let seed = fastrand::u64(..);
    eprintln!("seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let started = Instant::now();
    let mut done = [0u64; WRITERS];
    let (mut rolled_forward, mut rolled_back, mut acknowledged, mut lost_in_flight) = (0, 0, 0, 0);
    let mut kept = BTreeSet::new();
    let cuts = cuts();
    for cut in 0..cuts {
        let cutting = AtomicBool::new(false);
        let runs: Vec<Run> = std::thread::scope(|scope| {
            let writers: Vec<_> = (0..WRITERS)
                .map(|writer| {
                    let (cutting, done) = (&cutting, done[writer]);
                    let version = run_json(root, &["version", &format!("a/w{writer}.md")]);
                    let version = version["version"].as_str().expect("a version").to_owned();
                    scope.spawn(move || write_until_cut(root, writer, done, version, cutting))
                })
                .collect();
            std::thread::sleep(Duration::from_millis(rng.u64(0..250)));
            cutting.store(true, Ordering::SeqCst);
            disk.cut_power();
            writers.into_iter().map(|writer| writer.join().unwrap()).collect()
        });
        disk.remount();
        let report = run_json(root, &["recover"]);
        for transaction in report["transactions"].as_array().unwrap() {
            match transaction["outcome"].as_str() {
                Some("rolled_forward") => rolled_forward += 1,
                Some("rolled_back") => rolled_back += 1,
                _ => panic!("cut {cut}: {report}"),
            }
        }
        for entry in report["kept"].as_array().unwrap() {
            kept.insert(entry["why"].as_str().unwrap().to_owned());
        }
        assert!(names(&root.join(".stet/tx")).is_empty(), "cut {cut}: recover left a journal: {report}");
        let left = leftovers(root, &report);
        assert!(left.is_empty(), "cut {cut}: temporary files left after recover: {left:?} ({report})");
        let events = logged(root);
        for (writer, run) in runs.iter().enumerate() {
            let last = check_writer(root, writer, &events, run, done[writer], cut);
            acknowledged += run.acknowledged - done[writer];
            lost_in_flight += run.started - last;
            done[writer] = last;
        }
    }
    eprintln!(
        "{cuts} power cuts in {:.1?}: {} transactions survived ({acknowledged} acknowledged before a cut, \
         {lost_in_flight} started but not there: in flight at the cut or begun after it), {rolled_forward} rolled forward and {rolled_back} rolled back by \
         recover; kept: {kept:?}",
        started.elapsed(),
        done.iter().sum::<u64>()
    );
}
