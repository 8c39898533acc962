//! `stet log`: appends raced, repeated and killed by real processes; torn tails and a damaged
//! index made by hand.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;

use serde_json::{Value, json};

use crate::support::{json_error, run, run_with_input, scratch, stet};

/// The events `read` returns.
fn read(dir: &Path, log: &str) -> Vec<Value> {
    let output = run(stet(dir).args(["log", "read", log]));
    assert!(output.status.success(), "{}", crate::support::stderr(&output));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("read returns JSON lines"))
        .collect()
}

fn append(dir: &Path, log: &str, event: &str) -> Value {
    let output = run(stet(dir).args(["--json", "--timeout", "120s", "log", "append", log, event]));
    assert!(output.status.success(), "{}", crate::support::stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `writers` processes append `per_writer` events each (each sent `times` times); returns the events.
fn race(dir: &Path, writers: usize, per_writer: usize, times: usize) {
    std::thread::scope(|scope| {
        for writer in 0..writers {
            scope.spawn(move || {
                for seq in 0..per_writer {
                    for _ in 0..times {
                        append(
                            dir,
                            "events.ndjson",
                            &json!({"id": format!("w{writer}-{seq}"), "writer": writer, "seq": seq})
                                .to_string(),
                        );
                    }
                }
            });
        }
    });
}

/// Every id once, each writer's events in its order.
fn assert_exactly_once_in_order(events: &[Value], writers: usize, per_writer: usize) {
    assert_eq!(events.len(), writers * per_writer, "every event exactly once");
    let mut last: HashMap<u64, i64> = HashMap::new();
    let mut ids = std::collections::HashSet::new();
    for event in events {
        assert!(ids.insert(event["id"].as_str().unwrap().to_owned()), "{event} appears twice");
        let (writer, seq) = (event["writer"].as_u64().unwrap(), event["seq"].as_i64().unwrap());
        let previous = last.insert(writer, seq).unwrap_or(-1);
        assert_eq!(seq, previous + 1, "writer {writer}'s events are in its order");
    }
}

#[test]
fn eight_processes_appending_1000_events_each_leave_8000_whole_lines_in_writer_order() {
    let dir = scratch();
    race(dir.path(), 8, 1000, 1);
    let text = std::fs::read_to_string(dir.path().join("events.ndjson")).unwrap();
    assert!(
        text.lines().all(|line| serde_json::from_str::<Value>(line).is_ok()),
        "every line is one JSON value"
    );
    assert_exactly_once_in_order(&read(dir.path(), "events.ndjson"), 8, 1000);
    let verify = run(stet(dir.path()).args(["--json", "log", "verify", "events.ndjson"]));
    assert_eq!(serde_json::from_slice::<Value>(&verify.stdout).unwrap()["clean"], true);
}

#[test]
fn every_event_sent_twice_is_still_appended_once() {
    let dir = scratch();
    race(dir.path(), 8, 300, 2);
    assert_exactly_once_in_order(&read(dir.path(), "events.ndjson"), 8, 300);
    let output = run_with_input(
        stet(dir.path()).args(["--json", "log", "append", "events.ndjson"]),
        b"{\"id\": \"new\"}\n{\"id\": \"new\"}\n{\"id\": \"w0-0\"}\n",
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (result["appended"].clone(), result["duplicates"].clone()),
        (json!(1), json!(2)),
        "duplicates within a batch too"
    );
}

#[test]
fn killed_appenders_lose_no_acknowledged_event_and_leave_no_garbage() {
    let dir = scratch();
    let mut acknowledged = Vec::new();
    let rounds = 150;
    // Kill within about twice the time a whole append takes here, so that some finish and the
    // others die at every stage, whatever the speed of the machine.
    let mut window = std::time::Duration::from_millis(4);
    for round in 0..rounds {
        let pad = "x".repeat(200);
        let batch: String = (0..200).fold(String::new(), |mut batch, n| {
            let _ = writeln!(batch, "{{\"id\":\"r{round}-{n}\",\"pad\":\"{pad}\"}}");
            batch
        });
        let mut child = stet(dir.path())
            .args(["--json", "log", "append", "events.ndjson"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let mut stdin = child.stdin.take().unwrap();
        let _ = std::io::Write::write_all(&mut stdin, batch.as_bytes());
        drop(stdin);
        let delay = window.mul_f64(2.0 * fastrand::f64());
        std::thread::sleep(delay.saturating_sub(started.elapsed()));
        // SAFETY: killing our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let output = child.wait_with_output().unwrap();
        if output.status.success() {
            acknowledged.extend((0..200).map(|n| format!("r{round}-{n}")));
        } else if round < 10 {
            window = window.mul_f64(1.5); // still learning how long an append takes
        }
        if round % 10 == 9 {
            // A torn tail as a crash would leave it, between the kills.
            std::fs::OpenOptions::new()
                .append(true)
                .open(dir.path().join("events.ndjson"))
                .and_then(|mut log| {
                    std::io::Write::write_all(&mut log, b"{\"id\":\"torn\",\"pad\":\"xx\0\0\0")
                })
                .ok();
        }
    }
    let events = read(dir.path(), "events.ndjson");
    let ids: std::collections::HashSet<String> =
        events.iter().map(|event| event["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), events.len(), "no event twice");
    assert!(!ids.contains("torn"), "no torn line is ever returned");
    for id in &acknowledged {
        assert!(ids.contains(id), "acknowledged event {id} is in the log");
    }
    append(dir.path(), "events.ndjson", r#"{"id": "after"}"#);
    let verify = run(stet(dir.path()).args(["--json", "log", "verify", "events.ndjson"]));
    assert_eq!(
        verify.status.code(),
        Some(0),
        "the next append leaves a clean file: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let batches = acknowledged.len() / 200;
    assert!(
        batches > 0 && batches < rounds,
        "some appenders finished and some were killed ({batches} of {rounds} finished)"
    );
}

#[test]
fn torn_tails_are_invisible_found_by_verify_and_cut_by_append_and_repair() {
    for (name, tail) in [
        ("no newline", &b"{\"id\":\"t\",\"x\":"[..]),
        ("NUL run", &[0u8; 64][..]),
        ("garbage", &b"\x01\x02 not json\xff\xfe"[..]),
    ] {
        let dir = scratch();
        std::fs::write(dir.path().join("log.ndjson"), b"{\"id\":1}\n{\"id\":2}\n").unwrap();
        let mut torn = std::fs::read(dir.path().join("log.ndjson")).unwrap();
        torn.extend_from_slice(tail);
        std::fs::write(dir.path().join("log.ndjson"), &torn).unwrap();
        assert_eq!(
            read(dir.path(), "log.ndjson"),
            [json!({"id": 1}), json!({"id": 2})],
            "{name}: the tail is invisible"
        );
        let verify = run(stet(dir.path()).args(["--json", "log", "verify", "log.ndjson"]));
        assert_eq!(verify.status.code(), Some(65), "{name}: verify finds it");
        assert_eq!(serde_json::from_slice::<Value>(&verify.stdout).unwrap()["torn_tail_bytes"], tail.len());

        let repaired = dir.path().join("repaired.ndjson");
        std::fs::write(&repaired, &torn).unwrap();
        assert!(run(stet(dir.path()).args(["log", "repair", "repaired.ndjson"])).status.success());
        assert_eq!(
            std::fs::read(&repaired).unwrap(),
            b"{\"id\":1}\n{\"id\":2}\n",
            "{name}: repair cuts the tail"
        );
        assert!(
            rejected_holds(&dir.path().join("repaired.ndjson.rejected"), tail),
            "{name}: the cut bytes are kept"
        );

        append(dir.path(), "log.ndjson", r#"{"id":3}"#);
        assert_eq!(
            std::fs::read(dir.path().join("log.ndjson")).unwrap(),
            b"{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n",
            "{name}: the next append cuts it first"
        );
        assert!(
            rejected_holds(&dir.path().join("log.ndjson.rejected"), tail),
            "{name}: the cut bytes are kept"
        );
    }
}

#[test]
fn corrupt_middle_lines_are_skipped_with_their_line_numbers_and_repair_moves_them() {
    let dir = scratch();
    std::fs::write(dir.path().join("log.ndjson"), "{\"id\":1}\nnot json\n{\"id\":2}\n").unwrap();
    let output = run(stet(dir.path()).args(["log", "read", "log.ndjson"]));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "{\"id\":1}\n{\"id\":2}\n");
    assert!(crate::support::stderr(&output).contains("line 2"), "the warning names the line");
    let output = run(stet(dir.path()).args(["log", "repair", "log.ndjson"]));
    assert!(output.status.success());
    assert_eq!(std::fs::read_to_string(dir.path().join("log.ndjson")).unwrap(), "{\"id\":1}\n{\"id\":2}\n");
    assert!(rejected_holds(&dir.path().join("log.ndjson.rejected"), b"not json\n"));
}

/// Whether `LOG.rejected` holds `bytes` as one block after its header line.
fn rejected_holds(path: &Path, bytes: &[u8]) -> bool {
    let kept = std::fs::read(path).unwrap();
    let Some(newline) = kept.iter().position(|byte| *byte == b'\n') else { return false };
    let header: Value = serde_json::from_slice(&kept[..newline]).unwrap();
    header["bytes"] == bytes.len() && kept[newline + 1..].starts_with(bytes)
}

/// A named way of damaging the index.
type Damage<'a> = (&'a str, Box<dyn Fn() + 'a>);

#[test]
fn a_damaged_index_never_causes_a_duplicate_or_a_wrongly_skipped_event() {
    let dir = scratch();
    let index = dir.path().join(".log.ndjson.stet-index");
    for n in 0..50 {
        append(dir.path(), "log.ndjson", &json!({"id": n}).to_string());
    }
    let good = std::fs::read(&index).unwrap();
    // Deleted, truncated, garbage: each is rebuilt from the log.
    let damages: [Damage; 3] = [
        ("deleted", Box::new(|| std::fs::remove_file(&index).unwrap())),
        ("truncated", Box::new(|| std::fs::write(&index, &good[..good.len() / 3]).unwrap())),
        ("garbage", Box::new(|| std::fs::write(&index, vec![0xAB; good.len()]).unwrap())),
    ];
    for (name, damage) in damages {
        damage();
        assert_eq!(
            append(dir.path(), "log.ndjson", r#"{"id": 7}"#)["duplicates"],
            1,
            "{name}: a known id is still a duplicate"
        );
        assert_eq!(
            append(dir.path(), "log.ndjson", &json!({"id": format!("new-{name}")}).to_string())["appended"],
            1,
            "{name}: a new id is appended"
        );
    }
    // From a different log, and from a longer log: the index of one log given to another.
    std::fs::write(dir.path().join("other.ndjson"), "").unwrap();
    for n in 100..300 {
        append(dir.path(), "other.ndjson", &json!({"id": n}).to_string());
    }
    let other_index = std::fs::read(dir.path().join(".other.ndjson.stet-index")).unwrap();
    std::fs::write(&index, &other_index).unwrap();
    assert_eq!(
        append(dir.path(), "log.ndjson", r#"{"id": 150}"#)["appended"],
        1,
        "an id only the other log holds is not skipped"
    );
    assert_eq!(
        append(dir.path(), "log.ndjson", r#"{"id": 3}"#)["duplicates"],
        1,
        "an id this log holds is a duplicate"
    );
    std::fs::write(dir.path().join("short.ndjson"), "{\"id\":100}\n").unwrap();
    std::fs::write(dir.path().join(".short.ndjson.stet-index"), &other_index).unwrap();
    assert_eq!(
        append(dir.path(), "short.ndjson", r#"{"id": 101}"#)["appended"],
        1,
        "an index from a longer log is not trusted"
    );
    assert_eq!(append(dir.path(), "short.ndjson", r#"{"id": 100}"#)["duplicates"], 1);
    let ids: Vec<Value> = read(dir.path(), "log.ndjson").iter().map(|event| event["id"].clone()).collect();
    let unique: std::collections::HashSet<String> = ids.iter().map(Value::to_string).collect();
    assert_eq!(unique.len(), ids.len(), "no duplicate in the log");
}

#[test]
fn bad_events_and_missing_logs_are_refused_clearly() {
    let dir = scratch();
    let output = run_with_input(
        stet(dir.path()).args(["--json", "log", "append", "log.ndjson"]),
        b"{\"id\":1}\n{broken\n",
    );
    assert_eq!(output.status.code(), Some(65));
    assert_eq!(json_error(&output)["code"], "EMALFORMED");
    assert!(!dir.path().join("log.ndjson").exists(), "a refused batch appends nothing");
    let output = run(stet(dir.path()).args(["--json", "log", "append", "log.ndjson", "{\"a\":\n1}"]));
    assert_eq!(output.status.code(), Some(65), "an event spanning lines is refused");
    let output = run(stet(dir.path()).args(["--json", "log", "read", "missing.ndjson"]));
    assert_eq!((output.status.code(), json_error(&output)["code"].clone()), (Some(1), json!("ENOTFOUND")));
    std::fs::create_dir(dir.path().join("dir.ndjson")).unwrap();
    let output = run(stet(dir.path()).args(["--json", "log", "read", "dir.ndjson"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(json_error(&output)["message"].as_str().unwrap().contains("directory"));
}

#[test]
fn follow_prints_events_as_they_land_and_from_resumes_at_next() {
    let dir = scratch();
    append(dir.path(), "log.ndjson", r#"{"id":1}"#);
    let mut follower = stet(dir.path())
        .args(["log", "read", "log.ndjson", "--follow", "--with-offsets"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(follower.stdout.take().unwrap()));
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["event"], json!({"id": 1}));
    let started = std::time::Instant::now();
    append(dir.path(), "log.ndjson", r#"{"id":2}"#);
    let second: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(second["event"], json!({"id": 2}));
    assert!(
        started.elapsed() < std::time::Duration::from_millis(900),
        "a new event shows without waiting for a poll"
    );
    follower.kill().unwrap();
    let _ = follower.wait();
    let output =
        run(stet(dir.path()).args(["log", "read", "log.ndjson", "--from", &first["next"].to_string()]));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "{\"id\":2}\n",
        "--from the last next resumes after it"
    );
}
