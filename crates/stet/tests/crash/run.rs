//! Recording a protocol's run, then checking recovery from every crash state of its trace, in
//! parallel worker directories, each distinct state once.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use stet::fs::Fs;
use stet::{Options, Project};

use super::model::{Crash, Event, State};
use super::record::{Recorder, Trace};

/// A protocol under test: the tree it starts from, what it does, and what must hold after any
/// crash, once recovery and the next stet command ran.
pub trait Protocol: Sync {
    /// What the run tells the check (the tree before and after, the events appended).
    type Expected: Sync;
    /// The protocol's name in reports.
    fn name(&self) -> &'static str;
    /// Makes the starting tree in the empty directory `root`.
    fn seed(&self, root: &Path);
    /// Runs the operations through `project`, calling `acknowledge(op)` as soon as operation
    /// `op` (0 to 63) returned `Ok`.
    fn run(&self, root: &Path, project: &Project, acknowledge: &(dyn Fn(usize) + Sync)) -> Self::Expected;
    /// After a crash leaving the tree at `root` (operations `acknowledged`, a bit set): runs
    /// recovery and the next command, and says what is wrong, if anything.
    fn check(&self, expected: &Self::Expected, root: &Path, acknowledged: u64) -> Result<(), String>;
}

/// The directories of one test: one to record in, one per worker to check in, all with names of
/// one length (a journal's absolute paths are rewritten from one to the other).
#[derive(Debug)]
pub struct Workspace {
    base: PathBuf,
}

impl Workspace {
    pub fn new(test: &str) -> Workspace {
        let parent =
            if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        let base = parent.join(format!("stet-crash-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).expect("the workspace can be made");
        Workspace { base: std::fs::canonicalize(&base).expect("the workspace exists") }
    }

    /// An empty directory `NAME` (three characters) of the workspace.
    pub fn fresh(&self, name: &str) -> PathBuf {
        assert_eq!(name.len(), 3, "workspace directories share one length");
        let dir = self.base.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("a workspace directory can be made");
        dir
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// A protocol's recorded run.
#[derive(Debug)]
pub struct Recorded<E> {
    pub trace: Trace,
    pub expected: E,
}

/// Seeds a fresh directory `name` and runs the protocol there through a recorder.
pub fn record<P: Protocol>(protocol: &P, workspace: &Workspace, name: &str) -> Recorded<P::Expected> {
    let root = workspace.fresh(name);
    protocol.seed(&root);
    record_in(&root, |project, acknowledge| protocol.run(&root, project, acknowledge))
}

/// Runs `work` through a recorder over the tree now at `root`.
pub fn record_in<E>(root: &Path, work: impl FnOnce(&Project, &(dyn Fn(usize) + Sync)) -> E) -> Recorded<E> {
    let recorder = Arc::new(Recorder::new(root));
    let project = Options::new().fs(recorder.clone() as Arc<dyn Fs>).open(root).expect("the project opens");
    let expected = work(&project, &|op| recorder.acknowledge(op));
    drop(project);
    Recorded { trace: recorder.trace(), expected }
}

/// How much to check.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Combinations per crash point: all of them up to this many, else a sample this large.
    pub per_point: usize,
    /// The barrier (event index) taken as never made.
    pub ignored: Option<usize>,
    /// Stop at the first violation.
    pub stop_at_first: bool,
}

impl Budget {
    /// The full check, `STET_CRASH_SCALE` times larger when set.
    pub fn full(per_point: usize) -> Budget {
        Budget { per_point: per_point * scale(), ignored: None, stop_at_first: false }
    }
}

fn scale() -> usize {
    std::env::var("STET_CRASH_SCALE").ok().and_then(|scale| scale.parse().ok()).unwrap_or(1).max(1)
}

/// What a check found.
#[derive(Debug, Default)]
pub struct Tally {
    /// Crash points (prefixes of the trace).
    pub points: usize,
    /// Crash states enumerated (combinations of the pending effects, before deduplication).
    pub enumerated: usize,
    /// Distinct states (tree and acknowledged operations) on which recovery ran and was checked.
    pub checked: usize,
    /// What went wrong, one line each (the first few).
    pub violations: Vec<String>,
    pub violation_count: usize,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.points += other.points;
        self.enumerated += other.enumerated;
        self.checked += other.checked;
        self.violation_count += other.violation_count;
        self.violations.extend(other.violations);
        self.violations.truncate(8);
    }

    pub fn report(&self, what: &str) {
        eprintln!(
            "crash states: {what}: {} crash points, {} states enumerated, {} distinct states checked, {} violations",
            self.points, self.enumerated, self.checked, self.violation_count
        );
    }

    pub fn assert_clean(&self, what: &str) {
        assert!(
            self.violation_count == 0,
            "{what}: {} crash states break the invariant, e.g.:\n{}",
            self.violation_count,
            self.violations.join("\n")
        );
    }
}

/// Verdicts by (tree, acknowledged operations): `true` when the invariant held.
pub type Verdicts = Mutex<HashMap<(u64, u64), bool>>;

fn threads() -> usize {
    std::env::var("STET_CRASH_THREADS")
        .ok()
        .and_then(|threads| threads.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
        .clamp(1, 16)
}

/// Checks every crash state of `recorded` within `budget`, on worker directories of `workspace`.
pub fn check<P: Protocol>(
    protocol: &P,
    recorded: &Recorded<P::Expected>,
    workspace: &Workspace,
    budget: Budget,
    verdicts: &Verdicts,
) -> Tally {
    check_trace(&recorded.trace, workspace, budget, verdicts, &|root, acknowledged| {
        protocol.check(&recorded.expected, root, acknowledged)
    })
}

/// [`check`] for any trace and check.
pub fn check_trace(
    trace: &Trace,
    workspace: &Workspace,
    budget: Budget,
    verdicts: &Verdicts,
    check: &(dyn Fn(&Path, u64) -> Result<(), String> + Sync),
) -> Tally {
    let first = budget.ignored.map_or(0, |barrier| barrier + 1);
    let points: Vec<usize> = (first..=trace.events.len()).collect();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let tallies = Mutex::new(Tally::default());
    std::thread::scope(|scope| {
        for number in 0..threads() {
            let (next, stop, tallies, points) = (&next, &stop, &tallies, &points);
            scope.spawn(move || {
                let root = workspace.fresh(&format!("w{number:02}"));
                let mut worker = Worker { trace, root, budget, verdicts, check, tally: Tally::default() };
                while let Some(&point) = points.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if !worker.crash_at(point) && budget.stop_at_first {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                tallies.lock().unwrap().add(worker.tally);
            });
        }
    });
    tallies.into_inner().unwrap()
}

/// One checking thread, with its own directory.
struct Worker<'a> {
    trace: &'a Trace,
    root: PathBuf,
    budget: Budget,
    verdicts: &'a Verdicts,
    check: &'a (dyn Fn(&Path, u64) -> Result<(), String> + Sync),
    tally: Tally,
}

impl Worker<'_> {
    /// Checks the crash after `point` events; `false` when a state broke the invariant.
    fn crash_at(&mut self, point: usize) -> bool {
        self.tally.points += 1;
        let crash = Crash::at(&self.trace.start, &self.trace.events, point, self.budget.ignored);
        let mut clean = true;
        for combination in crash.selection(self.budget.per_point, seed(self.trace, point)) {
            self.tally.enumerated += 1;
            let state = crash.state(&combination);
            let key = (state.fingerprint(), crash.acknowledged);
            let known = self.verdicts.lock().unwrap().get(&key).copied();
            let held = known.unwrap_or_else(|| {
                self.tally.checked += 1;
                let verdict = run_check(&state, self.trace, &self.root, crash.acknowledged, self.check);
                if let Err(why) = &verdict {
                    let acknowledged = crash.acknowledged;
                    let what = crash.describe(&combination);
                    self.tally.violations.push(format!(
                        "crash after event {point} (acknowledged {acknowledged:#b}; {what}): {why}"
                    ));
                    self.tally.violations.truncate(8);
                }
                self.verdicts.lock().unwrap().insert(key, verdict.is_ok());
                verdict.is_ok()
            });
            if !held {
                self.tally.violation_count += 1;
                clean = false;
                if self.budget.stop_at_first {
                    break;
                }
            }
        }
        clean
    }
}

fn seed(trace: &Trace, point: usize) -> u64 {
    let mut hasher = DefaultHasher::new();
    (trace.events.len(), point).hash(&mut hasher);
    hasher.finish()
}

fn run_check(
    state: &State,
    trace: &Trace,
    root: &Path,
    acknowledged: u64,
    check: &(dyn Fn(&Path, u64) -> Result<(), String> + Sync),
) -> Result<(), String> {
    std::fs::remove_dir_all(root).expect("the worker directory can be cleared");
    std::fs::create_dir(root).expect("the worker directory can be made");
    state.materialize(root, &trace.root);
    match catch_unwind(AssertUnwindSafe(|| check(root, acknowledged))) {
        Ok(verdict) => verdict,
        Err(panic) => Err(format!(
            "the check panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or(panic.downcast_ref::<&str>().copied())
                .unwrap_or("?")
        )),
    }
}

/// The barriers of a trace: event index and a label naming the synced file or directory by its
/// path relative to the root, temporary names and journal ids generalized, with an ordinal when
/// one label comes again (`fsync dir .stet/tx #2`).
pub fn barriers(trace: &Trace) -> Vec<(usize, String)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    trace
        .events
        .iter()
        .enumerate()
        .filter(|(_, event)| event.is_barrier())
        .map(|(index, _)| {
            let label = trace.labels.get(&index).cloned().unwrap_or_default();
            let count = seen.entry(label.clone()).or_default();
            *count += 1;
            (index, if *count == 1 { label } else { format!("{label} #{count}") })
        })
        .collect()
}

/// The mutation check: for each barrier in turn, taken as never made, whether some crash state
/// then breaks the invariant. Returns each barrier's label and whether its removal was noticed.
pub fn mutations(
    trace: &Trace,
    workspace: &Workspace,
    per_point: usize,
    check: &(dyn Fn(&Path, u64) -> Result<(), String> + Sync),
) -> Vec<(String, bool)> {
    let verdicts = Verdicts::default();
    barriers(trace)
        .into_iter()
        .map(|(index, label)| {
            let budget = Budget { per_point, ignored: Some(index), stop_at_first: true };
            let tally = check_trace(trace, workspace, budget, &verdicts, check);
            (label, tally.violation_count > 0)
        })
        .collect()
}

/// Asserts that removing any barrier of the protocol's trace is noticed, except those
/// `NOT_NEEDED` lists (which must then indeed go unnoticed, so the table stays true). Racing
/// threads make the trace differ from run to run: a removal counts as noticed when it is in one
/// of up to [`RECORDINGS`] recordings.
pub fn assert_every_barrier_needed<P: Protocol>(protocol: &P, workspace: &Workspace, per_point: usize) {
    let name = protocol.name();
    let exempt: Vec<&str> =
        super::NOT_NEEDED.iter().filter(|(of, _, _)| *of == name).map(|(_, label, _)| *label).collect();
    let mut noticed: BTreeMap<String, bool> = BTreeMap::new();
    for _ in 0..RECORDINGS {
        let recorded = record(protocol, workspace, "rec");
        let check = |root: &Path, ops: u64| protocol.check(&recorded.expected, root, ops);
        for (label, found) in mutations(&recorded.trace, workspace, per_point, &check) {
            *noticed.entry(label).or_default() |= found;
        }
        if noticed.iter().all(|(label, found)| *found || exempt.contains(&label.as_str())) {
            break;
        }
    }
    for (label, found) in &noticed {
        eprintln!(
            "mutation: {name}: without {label}: {}",
            if *found { "a violation" } else { "nothing noticed" }
        );
    }
    let unnoticed: Vec<&String> = noticed
        .iter()
        .filter(|(label, found)| !**found && !exempt.contains(&label.as_str()))
        .map(|(label, _)| label)
        .collect();
    assert!(
        unnoticed.is_empty(),
        "{name}: removing these barriers breaks nothing the model checks; list each in NOT_NEEDED with a reason, or fix the check: {unnoticed:?}"
    );
    let stale: Vec<&&str> =
        exempt.iter().filter(|label| noticed.get(**label).is_none_or(|found| *found)).collect();
    assert!(
        stale.is_empty(),
        "{name}: NOT_NEEDED lists barriers whose removal is noticed, or that are not made: {stale:?}"
    );
    eprintln!("mutation: {name}: {} barriers, each removal noticed or listed", noticed.len());
}

/// How many times a protocol is recorded, at most, to notice every barrier's removal.
const RECORDINGS: usize = 4;

/// A state's events, for debugging a violation.
#[allow(dead_code)]
pub fn dump(trace: &Trace) {
    for (index, event) in trace.events.iter().enumerate() {
        let text = match event {
            Event::Write { ino, offset, bytes, .. } => {
                format!("write ino {ino} at {offset}: {:?}", String::from_utf8_lossy(bytes))
            }
            other => format!("{other:?}"),
        };
        eprintln!("#{index} {text} {}", trace.labels.get(&index).map_or("", String::as_str));
    }
}

/// Whether operation `op` is acknowledged in the bit set `ops`.
pub fn acknowledged(ops: u64, op: usize) -> bool {
    ops & (1 << op) != 0
}

/// A project at `root` that remembers whether an event log's index was found unusable (a file at
/// its path that is not stet's, so appends go on without it): after a crash, stet's own index
/// must always be usable or rebuilt.
pub struct Watched {
    pub project: Project,
    unusable: Arc<Mutex<Option<String>>>,
}

impl Watched {
    pub fn open(root: &Path) -> Result<Watched, String> {
        let unusable = Arc::new(Mutex::new(None));
        let noticed = unusable.clone();
        let project = Options::new()
            .on_notice(move |notice| {
                if let stet::project::Notice::IndexUnusable { message, .. } = notice {
                    *noticed.lock().unwrap() = Some(message.clone());
                }
            })
            .open(root)
            .map_err(|err| format!("open: {err}"))?;
        Ok(Watched { project, unusable })
    }

    /// An error if an index was found unusable.
    pub fn index_usable(&self) -> Result<(), String> {
        match self.unusable.lock().unwrap().take() {
            Some(message) => Err(format!("an index is left unusable: {message}")),
            None => Ok(()),
        }
    }
}

/// `.stet` comes whole: with its `.gitignore`, untorn, or not at all.
pub fn stet_dir_whole(root: &Path) -> Result<(), String> {
    if !root.join(".stet").exists() {
        return Ok(());
    }
    match std::fs::read(root.join(".stet/.gitignore")) {
        Ok(bytes) if bytes == stet::root::GITIGNORE.as_bytes() => Ok(()),
        found => Err(format!(".stet is there but its .gitignore is {found:?}")),
    }
}
