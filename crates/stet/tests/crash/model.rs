//! The file-system model: a tree of logical inodes, the effects a trace records, and the states a
//! power loss after any prefix of the trace can leave.
//!
//! What is durable at a crash point: the starting tree; every name change (create, rename,
//! unlink, mkdir, rmdir) followed by an fsync of its directory before the crash; every write and
//! truncation of a file followed by an fsync or fdatasync of that file. Everything else since is
//! *pending*, and each pending effect independently happened or not: a name change is kept or lost
//! (a rename's two names within one directory together, so a rename is atomic per entry), a write
//! is kept, lost, torn (only a prefix came) or, if it extended the file, zeroed (the size grew,
//! the data did not come), a truncation is kept or lost. The kept effects apply in the order they
//! were made.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::fs::Metadata;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

/// A logical inode: a file or directory, as long as it lives (a reused inode number is another).
pub type Ino = u32;

/// What an inode is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
}

/// The entry `name` of directory `dir` now leads to `to` (`None`: removed).
#[derive(Debug, Clone)]
pub struct NameChange {
    pub dir: Ino,
    pub name: OsString,
    pub to: Option<Ino>,
}

/// One recorded effect.
#[derive(Debug, Clone)]
pub enum Event {
    /// Entries of one directory changed together (a create, an unlink, a rename within it).
    Names(Vec<NameChange>),
    /// `extends`: the write went past the file's end (only such a write can come back as zeros:
    /// an overwrite in place leaves the old or the new bytes).
    Write {
        ino: Ino,
        offset: u64,
        bytes: Vec<u8>,
        extends: bool,
    },
    SetLen {
        ino: Ino,
        len: u64,
    },
    /// fsync or fdatasync of a file (both make its data durable, and the size it needs).
    Sync {
        ino: Ino,
    },
    /// fsync of a directory.
    SyncDir {
        dir: Ino,
    },
    /// The file was mapped read-write: its writes through the map bypass the seam and are not
    /// in the trace, so in every crash state they are lost (the file holds what its `pwrite`s and
    /// fsyncs give). Only the event-log index is mapped, and it is derived data.
    Mapped,
    /// The test's operation returned `Ok` here.
    Acknowledged(usize),
}

impl Event {
    /// Whether this is a barrier: an fsync, an fdatasync or a directory fsync.
    pub fn is_barrier(&self) -> bool {
        matches!(self, Event::Sync { .. } | Event::SyncDir { .. })
    }
}

/// A tree of logical inodes, rooted at inode 0.
#[derive(Debug, Clone, Default)]
pub struct State {
    kinds: Vec<Kind>,
    dirs: HashMap<Ino, BTreeMap<OsString, Ino>>,
    files: HashMap<Ino, Vec<u8>>,
}

const ROOT: Ino = 0;

impl State {
    /// The tree under `root` as it is now; `seen` learns each inode's metadata and number.
    pub fn scan(root: &Path, seen: &mut dyn FnMut(&Metadata, Ino)) -> State {
        let mut state = State::default();
        let root_ino = state.new_inode(Kind::Dir);
        seen(&std::fs::symlink_metadata(root).expect("the root exists"), root_ino);
        let mut stack = vec![(root.to_path_buf(), root_ino)];
        while let Some((dir, ino)) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("the seeded tree is readable") {
                let entry = entry.expect("entries are readable");
                let meta = entry.metadata().expect("entries can be stat'ed");
                let kind = if meta.is_dir() { Kind::Dir } else { Kind::File };
                let child = state.new_inode(kind);
                seen(&meta, child);
                state.dirs.get_mut(&ino).expect("a directory").insert(entry.file_name(), child);
                match kind {
                    Kind::Dir => stack.push((entry.path(), child)),
                    Kind::File => {
                        let bytes = std::fs::read(entry.path()).expect("seeded files are readable");
                        state.files.insert(child, bytes);
                    }
                }
            }
        }
        state
    }

    /// A new, empty, unnamed inode.
    pub fn new_inode(&mut self, kind: Kind) -> Ino {
        let ino = self.kinds.len() as Ino;
        self.kinds.push(kind);
        match kind {
            Kind::Dir => self.dirs.insert(ino, BTreeMap::new()).map(drop),
            Kind::File => self.files.insert(ino, Vec::new()).map(drop),
        };
        ino
    }

    fn apply(&mut self, event: &Event, choice: Choice) {
        match (event, choice) {
            (_, Choice::Lose) => {}
            (Event::Names(changes), _) => {
                for change in changes {
                    let dir = self.dirs.entry(change.dir).or_default();
                    match change.to {
                        Some(ino) => dir.insert(change.name.clone(), ino),
                        None => dir.remove(&change.name),
                    };
                }
            }
            (Event::Write { ino, offset, bytes, .. }, choice) => {
                let file = self.files.entry(*ino).or_default();
                let offset = *offset as usize;
                let (len, zero) = match choice {
                    Choice::Tear(len) => (len, false),
                    Choice::Zero => (bytes.len(), true),
                    _ => (bytes.len(), false),
                };
                if file.len() < offset + len {
                    file.resize(offset + len, 0);
                }
                let target = &mut file[offset..offset + len];
                if zero {
                    target.fill(0);
                } else {
                    target.copy_from_slice(&bytes[..len]);
                }
            }
            (Event::SetLen { ino, len }, _) => self.files.entry(*ino).or_default().resize(*len as usize, 0),
            _ => {}
        }
    }

    /// Calls `visit` with each file's path (relative, `/`-separated) and bytes, and each
    /// directory's path with `None`, in a fixed order.
    pub fn walk(&self, visit: &mut dyn FnMut(&str, Option<&[u8]>)) {
        self.walk_dir(ROOT, "", visit, 0);
    }

    fn walk_dir(&self, dir: Ino, prefix: &str, visit: &mut dyn FnMut(&str, Option<&[u8]>), depth: usize) {
        assert!(depth < 64, "a directory cycle in a crash state");
        for (name, &ino) in &self.dirs[&dir] {
            let path = format!("{prefix}{}", name.to_string_lossy());
            match self.kinds[ino as usize] {
                Kind::File => visit(&path, Some(&self.files[&ino])),
                Kind::Dir => {
                    visit(&path, None);
                    self.walk_dir(ino, &format!("{path}/"), visit, depth + 1);
                }
            }
        }
    }

    /// A hash of the tree as materialized: two states with one hash make the same directory.
    pub fn fingerprint(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        self.walk(&mut |path, bytes| (path, bytes).hash(&mut hasher));
        hasher.finish()
    }

    /// Writes the tree into the empty directory `into`, with every occurrence of `recorded`
    /// (the recording's root) in file contents replaced by `into` (same length): a journal names
    /// its files by absolute path.
    pub fn materialize(&self, into: &Path, recorded: &Path) {
        let (from, to) = (recorded.as_os_str().as_encoded_bytes(), into.as_os_str().as_encoded_bytes());
        assert_eq!(from.len(), to.len(), "worker roots are as long as the recording's");
        self.walk(&mut |path, bytes| {
            let target = into.join(path);
            match bytes {
                None => std::fs::create_dir(&target).expect("a crash state's directory can be made"),
                Some(bytes) => std::fs::write(&target, replace(bytes, from, to))
                    .expect("a crash state's file can be written"),
            }
        });
    }
}

fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut at = 0;
    while let Some(found) = out[at..].windows(from.len()).position(|window| window == from) {
        out[at + found..at + found + from.len()].copy_from_slice(to);
        at += found + from.len();
    }
    out
}

/// What became of one pending effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Keep,
    Lose,
    Zero,
    /// Only the first so many bytes of the write came.
    Tear(usize),
}

/// What a pending effect could have become, `Keep` first and `Lose` second.
fn choices(event: &Event) -> Vec<Choice> {
    match event {
        Event::Names(_) | Event::SetLen { .. } => vec![Choice::Keep, Choice::Lose],
        Event::Write { bytes, extends, .. } => {
            let mut choices = vec![Choice::Keep, Choice::Lose];
            if *extends {
                choices.push(Choice::Zero);
            }
            // Torn in the middle, and at the first 4 KiB block boundary of a longer write.
            for tear in [bytes.len() / 2, 4096] {
                if tear > 0 && tear < bytes.len() && !choices.contains(&Choice::Tear(tear)) {
                    choices.push(Choice::Tear(tear));
                }
            }
            choices
        }
        _ => vec![Choice::Keep],
    }
}

/// A crash after the first `point` events of a trace, with what was durable by then and what
/// was pending.
#[derive(Debug)]
pub struct Crash<'a> {
    start: &'a State,
    events: &'a [Event],
    /// The pending effects, by event index, each with what it could have become.
    pending: Vec<(usize, Vec<Choice>)>,
    /// Bit `op` is set when test operation `op` was acknowledged before the crash.
    pub acknowledged: u64,
}

impl<'a> Crash<'a> {
    /// The crash after `point` events; the barrier at event index `ignored` (if any) is taken as
    /// never made (the mutation check).
    pub fn at(start: &'a State, events: &'a [Event], point: usize, ignored: Option<usize>) -> Crash<'a> {
        let events = &events[..point];
        let mut durable = vec![false; point];
        let (mut synced_files, mut synced_dirs) = (HashSet::new(), HashSet::new());
        let mut acknowledged = 0;
        for (index, event) in events.iter().enumerate().rev() {
            match event {
                _ if Some(index) == ignored => {}
                Event::Sync { ino, .. } => drop(synced_files.insert(*ino)),
                Event::SyncDir { dir } => drop(synced_dirs.insert(*dir)),
                Event::Names(changes) => {
                    durable[index] = changes.iter().all(|change| synced_dirs.contains(&change.dir));
                }
                Event::Write { ino, .. } | Event::SetLen { ino, .. } => {
                    durable[index] = synced_files.contains(ino);
                }
                Event::Acknowledged(op) => acknowledged |= 1 << op,
                Event::Mapped => {}
            }
        }
        let pending = events
            .iter()
            .enumerate()
            .filter(|(index, event)| !durable[*index] && choices(event).len() > 1)
            .map(|(index, event)| (index, choices(event)))
            .collect();
        Crash { start, events, pending, acknowledged }
    }

    /// How many combinations of the pending effects there are (saturating).
    pub fn combinations(&self) -> u64 {
        self.pending.iter().fold(1u64, |product, (_, choices)| product.saturating_mul(choices.len() as u64))
    }

    /// The combinations to check: all of them when there are at most `limit`; else the corners
    /// (everything kept, everything lost), every single deviation from each corner, then
    /// combinations drawn with `seed` until `limit`.
    pub fn selection(&self, limit: usize, seed: u64) -> Vec<Vec<usize>> {
        let radix: Vec<usize> = self.pending.iter().map(|(_, choices)| choices.len()).collect();
        if self.combinations() <= limit as u64 {
            let mut all = Vec::new();
            let mut digits = vec![0; radix.len()];
            loop {
                all.push(digits.clone());
                let Some(position) = (0..radix.len()).find(|&at| digits[at] + 1 < radix[at]) else {
                    break;
                };
                digits[position] += 1;
                digits[..position].fill(0);
            }
            return all;
        }
        let mut picked = Vec::new();
        let mut distinct = HashSet::new();
        let mut add = |combination: Vec<usize>, picked: &mut Vec<Vec<usize>>| {
            if distinct.insert(combination.clone()) {
                picked.push(combination);
            }
        };
        for corner in [0, 1] {
            let base: Vec<usize> = radix.iter().map(|_| corner).collect();
            add(base.clone(), &mut picked);
            for (at, &choices) in radix.iter().enumerate() {
                for choice in 0..choices {
                    let mut deviation = base.clone();
                    deviation[at] = choice;
                    add(deviation, &mut picked);
                }
            }
        }
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut attempts = 0;
        while picked.len() < limit && attempts < limit * 4 {
            attempts += 1;
            let combination = radix.iter().map(|&choices| rng.usize(..choices)).collect();
            add(combination, &mut picked);
        }
        picked
    }

    /// The state this combination (one choice index per pending effect) leaves.
    pub fn state(&self, combination: &[usize]) -> State {
        let mut state = self.start.clone();
        let mut pending = self.pending.iter().zip(combination).peekable();
        for (index, event) in self.events.iter().enumerate() {
            let choice = match pending.peek() {
                Some(((at, choices), pick)) if *at == index => {
                    let choice = choices[**pick];
                    pending.next();
                    choice
                }
                _ => Choice::Keep,
            };
            state.apply(event, choice);
        }
        state
    }

    /// The pending effects and what this combination made of them, for a report.
    pub fn describe(&self, combination: &[usize]) -> String {
        self.pending
            .iter()
            .zip(combination)
            .filter(|((_, choices), pick)| choices[**pick] != Choice::Keep)
            .map(|((index, choices), pick)| format!("#{index} {:?}", choices[*pick]))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
