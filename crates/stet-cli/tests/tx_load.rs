//! Transactions under load, with real processes racing: eight movers shift tokens between five
//! counter documents, each move one `tx` (two `set`s conditional on the versions just read, and
//! the move's event appended to one log), while `stet set` processes edit another key of the same
//! files and a checker reads all five under their shared locks. The sum of tokens never changes,
//! replaying the log from the start gives every snapshot and the final files exactly (a lost or
//! doubled update shows as an event whose "before" is not the replay's), every committed move's
//! event is there exactly once, and nothing waits out a lock timeout or hangs.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{scratch, stderr, stet, stet_bin};

const COUNTERS: usize = 5;
const START: i64 = 100;
const LOG: &str = "events.ndjson";
/// Far longer than any wait at the default 5 s lock timeout: a process still running then is stuck.
const STUCK: Duration = Duration::from_secs(60);

fn counter(index: usize) -> String {
    format!("c{index}.json")
}

/// How long the load runs: 20 s, or `$STET_TX_LOAD_SECS`.
fn load_time() -> Duration {
    let secs = std::env::var("STET_TX_LOAD_SECS").ok().and_then(|secs| secs.parse().ok()).unwrap_or(20);
    Duration::from_secs(secs)
}

/// Runs `command` with `input` on stdin; fails the test (after killing it) if it is still running
/// after [`STUCK`]: at the default lock timeout nothing waits that long unless it is deadlocked.
fn run_unstuck(command: &mut Command, input: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let _ = stdin.write_all(input);
    drop(stdin);
    let (sender, ended) = mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    let Ok(output) = ended.recv_timeout(STUCK) else {
        // SAFETY: the child's pid, still ours to signal: its waiter has not reaped it.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        panic!("{command:?} was still running after {STUCK:?}: a deadlock or a lost wake-up");
    };
    output.expect("the command can be waited for")
}

/// One `stet batch` process, asked one request at a time.
struct Batch {
    child: Child,
    input: Option<ChildStdin>,
    answers: mpsc::Receiver<String>,
    next: u64,
}

impl Batch {
    fn start(root: &Path) -> Batch {
        let mut child = stet(root)
            .arg("batch")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("stet batch starts");
        let output = child.stdout.take().expect("stdout is piped");
        let (sender, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(output).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Batch { input: child.stdin.take(), child, answers, next: 0 }
    }

    /// The request's result, or its error object.
    fn call(&mut self, mut request: Value) -> Result<Value, Value> {
        self.next += 1;
        request["id"] = json!(self.next);
        let input = self.input.as_mut().expect("the batch's input is open until it is dropped");
        writeln!(input, "{request}").expect("stet batch reads its input");
        let Ok(line) = self.answers.recv_timeout(STUCK) else {
            let _ = self.child.kill();
            panic!("stet batch did not answer {request} within {STUCK:?}: a deadlock or a lost wake-up");
        };
        let answer: Value = serde_json::from_str(&line).unwrap_or_else(|err| panic!("{err}: {line}"));
        assert_eq!(answer["id"], json!(self.next), "answers come in order: {line}");
        if answer["ok"] == json!(true) { Ok(answer["result"].clone()) } else { Err(answer["error"].clone()) }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        drop(self.input.take());
        let _ = self.child.wait();
    }
}

/// How a mover talks to stet: one `stet batch` for its whole run, or a process per command
/// (`stet get`, `stet tx -`).
enum Client {
    Batch(Batch),
    Cli(PathBuf),
}

impl Client {
    /// A counter's tokens and version, from one read.
    fn read(&mut self, file: &str) -> (i64, String) {
        let got = match self {
            Client::Batch(batch) => batch
                .call(json!({"op": "get", "path": file, "with_version": true}))
                .unwrap_or_else(|error| panic!("get {file}: {error}")),
            Client::Cli(root) => {
                let output = run_unstuck(stet(root).args(["get", file, "--with-version", "--json"]), b"");
                assert!(output.status.success(), "stet get {file}: {}", stderr(&output));
                serde_json::from_slice(&output.stdout).expect("get prints JSON")
            }
        };
        let tokens = got["value"]["tokens"].as_i64().unwrap_or_else(|| panic!("{file} has tokens: {got}"));
        (tokens, got["version"].as_str().expect("a version").to_owned())
    }

    /// Runs `plan`: its result, or its error object.
    fn tx(&mut self, plan: &Value) -> Result<Value, Value> {
        match self {
            Client::Batch(batch) => batch.call(json!({"op": "tx", "plan": plan})),
            Client::Cli(root) => {
                let output = run_unstuck(stet(root).args(["tx", "-", "--json"]), plan.to_string().as_bytes());
                if output.status.success() {
                    return Ok(serde_json::from_slice(&output.stdout).expect("tx prints JSON"));
                }
                // Waiting notices (a lock wait over a second) come first; the error is the last line.
                let text = stderr(&output);
                let last = text.lines().last().unwrap_or_default();
                let error: Value =
                    serde_json::from_str::<Value>(last)
                        .unwrap_or_else(|err| panic!("stderr does not end in a JSON error ({err}): {text}"))
                        ["error"]
                        .clone();
                if error["code"] == json!("ECONFLICT") {
                    assert_eq!(output.status.code(), Some(3), "a conflict exits 3");
                }
                Err(error)
            }
        }
    }
}

#[derive(Default)]
struct Moves {
    committed: Vec<String>,
    conflicts: u64,
}

fn set_tokens(index: usize, tokens: i64, version: &str) -> Value {
    json!({"op": "set", "path": counter(index), "values": {"tokens": tokens}, "if_version": version})
}

/// Moves one token at a time between two random counters until `until`, each move retried
/// (reading again) while the versions it read are out of date.
fn mover(name: &str, mut client: Client, seed: u64, until: Instant) -> Moves {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut moves = Moves::default();
    for n in 1.. {
        if Instant::now() >= until {
            break;
        }
        let id = format!("{name}-{n}");
        let from = rng.usize(..COUNTERS);
        let to = (from + rng.usize(1..COUNTERS)) % COUNTERS;
        for attempt in 1.. {
            assert!(attempt <= 10_000, "{id} conflicted 10000 times: the movers live-lock");
            let (mut from, mut to) = (from, to);
            let (mut from_read, mut to_read) = (client.read(&counter(from)), client.read(&counter(to)));
            if from_read.0 == 0 {
                (from, to, from_read, to_read) = (to, from, to_read, from_read);
            }
            let ((from_tokens, from_version), (to_tokens, to_version)) = (from_read, to_read);
            let event = json!({
                "id": id, "attempt": attempt, "from": from, "to": to,
                "from_tokens": [from_tokens, from_tokens - 1], "to_tokens": [to_tokens, to_tokens + 1],
                "versions": [from_version, to_version],
            });
            let mut sets = [
                set_tokens(from, from_tokens - 1, &from_version),
                set_tokens(to, to_tokens + 1, &to_version),
            ];
            if rng.bool() {
                sets.reverse();
            }
            let [first, second] = sets;
            let plan = json!({"ops": [first, second, {"op": "append", "path": LOG, "event": event}]});
            match client.tx(&plan) {
                Ok(result) => {
                    assert_eq!(result["committed"], json!(true), "{id}: {result}");
                    let appended = &result["results"][2];
                    assert_eq!(
                        (&appended["appended"], &appended["duplicates"]),
                        (&json!(1), &json!(0)),
                        "{id}: the move's event is appended once, and no earlier attempt left it: {result}"
                    );
                    moves.committed.push(id);
                    break;
                }
                Err(error) if error["code"] == json!("ECONFLICT") => moves.conflicts += 1,
                Err(error) => panic!(
                    "{id}: the transaction failed, where only a conflict may (ELOCK_TIMEOUT: a lock was not \
                     had within the default 5 s): {error}"
                ),
            }
        }
    }
    moves
}

/// Sets a key the movers do not touch on random counters until `until`: contends for the locks
/// and changes the versions, not the tokens.
fn setter(root: &Path, name: &str, seed: u64, until: Instant) -> u64 {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut count = 0;
    while Instant::now() < until {
        count += 1;
        let file = counter(rng.usize(..COUNTERS));
        let note = format!("note={name}-{count}");
        let output = run_unstuck(stet(root).args(["set", &file, &note, "--string", "--json"]), b"");
        assert!(output.status.success(), "stet set {file} {note}: {}", stderr(&output));
    }
    count
}

/// The counters' tokens and the log's events, read while holding all five counters' shared locks
/// (nested `stet lock --shared`): no move is half applied then, and every move that touched a
/// counter has finished, its event included (a move takes its counters' locks before the log's).
fn snapshot(root: &Path) -> ([i64; COUNTERS], Vec<Value>) {
    let mut command = stet(root);
    for index in 0..COUNTERS {
        if index > 0 {
            command.arg(stet_bin());
        }
        command.args(["lock", &counter(index), "--shared", "--"]);
    }
    let files: Vec<String> = (0..COUNTERS).map(counter).collect();
    let script = format!("cat {}; echo '--- log'; cat {LOG} 2>/dev/null || true", files.join(" "));
    let output = run_unstuck(command.args(["sh", "-c", &script]), b"");
    assert!(output.status.success(), "the locked read: {}", stderr(&output));
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let (documents, log) = text.split_once("--- log\n").expect("the script prints the separator");
    let documents: Vec<Value> = serde_json::Deserializer::from_str(documents)
        .into_iter::<Value>()
        .map(|document| document.expect("a counter is JSON"))
        .collect();
    assert_eq!(documents.len(), COUNTERS);
    (tokens_of(&documents), events_of(log))
}

fn tokens_of(documents: &[Value]) -> [i64; COUNTERS] {
    std::array::from_fn(|index| {
        documents[index]["tokens"]
            .as_i64()
            .unwrap_or_else(|| panic!("c{index} has tokens: {}", documents[index]))
    })
}

fn events_of(log: &str) -> Vec<Value> {
    log.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}"))).collect()
}

/// The counters after replaying `events` from the start, checking that each move found the tokens
/// the moves before it left.
fn replay(events: &[Value]) -> [i64; COUNTERS] {
    let mut tokens = [START; COUNTERS];
    for (line, event) in events.iter().enumerate() {
        let side = |name: &str| -> (usize, i64, i64) {
            let index = usize::try_from(event[name].as_u64().expect("a counter index")).expect("small");
            let values = &event[format!("{name}_tokens")];
            (index, values[0].as_i64().expect("before"), values[1].as_i64().expect("after"))
        };
        let ((from, from_before, from_after), (to, to_before, to_after)) = (side("from"), side("to"));
        assert!(
            from_before == tokens[from] && to_before == tokens[to],
            "log line {line}: move {} read c{from} = {from_before}, c{to} = {to_before}, but the moves before \
             it left {} and {}: an update was lost or applied out of order ({event})",
            event["id"],
            tokens[from],
            tokens[to]
        );
        assert_eq!((from_after, to_after), (from_before - 1, to_before + 1), "{event}");
        tokens[from] = from_after;
        tokens[to] = to_after;
    }
    tokens
}

#[test]
fn overlapping_transactions_and_sets_keep_the_token_sum_and_log_every_move_once() {
    let dir = scratch();
    let root = dir.path();
    std::fs::create_dir(root.join(".stet")).unwrap();
    for index in 0..COUNTERS {
        std::fs::write(root.join(counter(index)), format!("{{\"tokens\": {START}, \"note\": \"\"}}\n"))
            .unwrap();
    }
    let seed = fastrand::u64(..);
    eprintln!("seed {seed}");
    let (time, started) = (load_time(), Instant::now());
    let until = started + time;
    let (moves, sets, snapshots) = std::thread::scope(|scope| {
        let running: Vec<_> = (0..8u64)
            .map(|m| {
                // Five movers keep one `stet batch` each; three start `stet get` and `stet tx` per move.
                let (name, client) = if m < 5 {
                    (format!("b{m}"), Client::Batch(Batch::start(root)))
                } else {
                    (format!("t{m}"), Client::Cli(root.to_path_buf()))
                };
                scope.spawn(move || (name.clone(), mover(&name, client, seed + m, until)))
            })
            .collect();
        let setters: Vec<_> = (0..2u64)
            .map(|s| scope.spawn(move || setter(root, &format!("s{s}"), seed + 100 + s, until)))
            .collect();
        let checker = scope.spawn(move || {
            let mut snapshots = 0;
            while Instant::now() < until {
                let (tokens, events) = snapshot(root);
                assert_eq!(
                    tokens.iter().sum::<i64>(),
                    START * COUNTERS as i64,
                    "a locked read saw {tokens:?}"
                );
                assert_eq!(
                    replay(&events),
                    tokens,
                    "the log replayed does not give the counters read with it"
                );
                snapshots += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            snapshots
        });
        let moves: Vec<(String, Moves)> = running.into_iter().map(|mover| mover.join().unwrap()).collect();
        let sets: u64 = setters.into_iter().map(|setter| setter.join().unwrap()).sum();
        (moves, sets, checker.join().unwrap())
    });
    let elapsed = started.elapsed();

    let documents: Vec<Value> = (0..COUNTERS)
        .map(|index| serde_json::from_slice(&std::fs::read(root.join(counter(index))).unwrap()).unwrap())
        .collect();
    let tokens = tokens_of(&documents);
    let read = stet(root).args(["log", "read", LOG]).output().unwrap();
    assert!(read.status.success(), "log read: {}", stderr(&read));
    let events = events_of(&String::from_utf8(read.stdout).unwrap());
    assert_eq!(tokens.iter().sum::<i64>(), START * COUNTERS as i64, "the final counters: {tokens:?}");
    assert_eq!(replay(&events), tokens, "the whole log replayed gives the final counters exactly");
    let mut logged = HashSet::new();
    for event in &events {
        let id = event["id"].as_str().expect("an id").to_owned();
        assert!(logged.insert(id), "{} is logged twice", event["id"]);
    }
    let committed: HashSet<String> =
        moves.iter().flat_map(|(_, moves)| moves.committed.iter().cloned()).collect();
    let unlogged: Vec<&String> = committed.difference(&logged).collect();
    let uncommitted: Vec<&String> = logged.difference(&committed).collect();
    assert!(unlogged.is_empty(), "committed moves whose event is missing: {unlogged:?}");
    assert!(uncommitted.is_empty(), "events of moves that did not report a commit: {uncommitted:?}");
    for (name, moves) in &moves {
        assert!(!moves.committed.is_empty(), "mover {name} never committed in {time:?}: it starved");
    }
    let leftovers: Vec<String> = crate::support::names(root)
        .into_iter()
        .filter(|name| {
            let extension = Path::new(name).extension().unwrap_or_default();
            extension == "lock" || extension == "tmp"
        })
        .collect();
    assert!(leftovers.is_empty(), "locks or temporary files left: {leftovers:?}");
    assert!(crate::support::names(&root.join(".stet/tx")).is_empty(), "a journal is left");

    let conflicts: u64 = moves.iter().map(|(_, moves)| moves.conflicts).sum();
    let per_mover: Vec<String> =
        moves.iter().map(|(name, moves)| format!("{name} {}", moves.committed.len())).collect();
    eprintln!(
        "{} transactions committed in {elapsed:.1?} ({}), {conflicts} conflicts retried, {sets} stet set, \
         {snapshots} locked snapshots checked",
        committed.len(),
        per_mover.join(", ")
    );
}
