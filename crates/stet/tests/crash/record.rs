//! The recorder: an [`Fs`] that performs every call on the real file system and records the
//! logical effect of each one (which inode, which bytes, which names), so that the states a power
//! loss could leave can be computed afterwards.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::io::{self, Seek};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use stet::fs::{Fs, LockKind};

use super::model::{Event, Ino, Kind, NameChange, State};

/// What a recording holds: the state it started from and every effect since, in order.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The scratch root the recording ran in.
    pub root: PathBuf,
    /// The tree before the first call, taken as durable.
    pub start: State,
    /// The effects, in the order they happened (calls that change something are serialized).
    pub events: Vec<Event>,
    /// What each event was, by index: the call and the path it concerned, relative to the root,
    /// with temporary names and journal ids generalized (`fsync docs/.a.md.stet-*.tmp`).
    pub labels: HashMap<usize, String>,
}

#[derive(Debug)]
struct Recording {
    trace: Trace,
    /// Real `(st_dev, st_ino)` to the logical inode: a fresh logical inode at every creation, so
    /// an inode number the kernel reuses after an unlink is another inode here.
    inodes: HashMap<(u64, u64), Ino>,
}

/// An [`Fs`] over the real one that records what each call did to the tree under `root`.
#[derive(Debug)]
pub struct Recorder {
    inner: Arc<dyn Fs>,
    recording: Mutex<Recording>,
}

fn identity(meta: &Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

impl Recorder {
    /// Starts recording under `root` (canonical), whose present tree is the durable start.
    pub fn new(root: &Path) -> Recorder {
        let mut inodes = HashMap::new();
        let start = State::scan(root, &mut |meta, ino| {
            inodes.insert(identity(meta), ino);
        });
        let trace = Trace { root: root.to_path_buf(), start, events: Vec::new(), labels: HashMap::new() };
        Recorder { inner: stet::fs::real(), recording: Mutex::new(Recording { trace, inodes }) }
    }

    /// The trace so far.
    pub fn trace(&self) -> Trace {
        self.lock().trace.clone()
    }

    /// Records that the test's operation `op` returned `Ok`: it is acknowledged from here on.
    pub fn acknowledge(&self, op: usize) {
        self.lock().push(Event::Acknowledged(op), format!("operation {op} acknowledged"));
    }

    fn lock(&self) -> MutexGuard<'_, Recording> {
        self.recording.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Recording {
    fn known(&self, meta: &Metadata) -> Option<Ino> {
        self.inodes.get(&identity(meta)).copied()
    }

    fn of_file(&self, file: &File) -> Option<Ino> {
        self.known(&file.metadata().ok()?)
    }

    fn of_path(&self, path: &Path) -> Option<Ino> {
        self.known(&std::fs::symlink_metadata(path).ok()?)
    }

    /// The directory holding `path` and its name, when the directory is one of the recorded tree.
    fn entry(&self, path: &Path) -> Option<(Ino, OsString)> {
        let dir = self.of_path(path.parent()?)?;
        Some((dir, path.file_name()?.to_owned()))
    }

    fn created(&mut self, meta: &Metadata, kind: Kind) -> Ino {
        let ino = self.trace.start.new_inode(kind);
        self.inodes.insert(identity(meta), ino);
        ino
    }

    fn push(&mut self, event: Event, label: String) {
        self.trace.labels.insert(self.trace.events.len(), label);
        self.trace.events.push(event);
    }

    /// `path` relative to the root, generalized (see [`Trace::labels`]).
    fn relative(&self, path: &Path) -> String {
        let relative = path.strip_prefix(&self.trace.root).unwrap_or(path);
        let parts: Vec<String> = relative.iter().map(|part| generalize(&part.to_string_lossy())).collect();
        if parts.is_empty() { ".".to_owned() } else { parts.join("/") }
    }

    /// The path an open file has now.
    fn path_of(&self, file: &File) -> String {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()));
        link.map_or_else(|_| "?".to_owned(), |path| self.relative(&path))
    }

    /// A name now leads to `ino` (or to nothing).
    fn name(&mut self, path: &Path, ino: Option<Ino>, call: &str) {
        if let Some((dir, name)) = self.entry(path) {
            let label = format!("{call} {}", self.relative(path));
            self.push(Event::Names(vec![NameChange { dir, name, to: ino }]), label);
        }
    }

    /// A file `path` that a call made (`created`) or opened: a new inode with its name.
    fn opened(&mut self, path: &Path, file: &File, created: bool) {
        if created && let Ok(meta) = file.metadata() {
            let ino = self.created(&meta, Kind::File);
            self.name(path, Some(ino), "create");
        }
    }

    /// A write of `bytes` at `offset` to a file `size` bytes long before it.
    fn write(&mut self, file: &File, offset: u64, bytes: &[u8], size: u64) {
        if let Some(ino) = self.of_file(file) {
            let label = format!("write {} at {offset}, {} bytes", self.path_of(file), bytes.len());
            let extends = offset + bytes.len() as u64 > size;
            self.push(Event::Write { ino, offset, bytes: bytes.to_vec(), extends }, label);
        }
    }

    fn set_len(&mut self, file: &File, len: u64) {
        if let Some(ino) = self.of_file(file) {
            let label = format!("truncate {} to {len}", self.path_of(file));
            self.push(Event::SetLen { ino, len }, label);
        }
    }

    fn sync(&mut self, file: &File, data_only: bool) {
        if let Some(ino) = self.of_file(file) {
            let label = format!("{} {}", if data_only { "fdatasync" } else { "fsync" }, self.path_of(file));
            self.push(Event::Sync { ino }, label);
        }
    }

    /// A rename of `from` to `to` (`exchange`: both names swap inodes). Names in one directory
    /// change together (one entry in the directory's journal); across directories, each side is
    /// made durable by its own directory's fsync, so each is its own event.
    fn renamed(&mut self, (from, to): (&Path, &Path), before: [Before; 2], exchange: bool) {
        let [(Some((from_dir, from_name)), Some(moved)), (Some((to_dir, to_name)), replaced)] = before else {
            return;
        };
        let label = format!(
            "{} {} -> {}",
            if exchange { "exchange" } else { "rename" },
            self.relative(from),
            self.relative(to)
        );
        let left = NameChange { dir: from_dir, name: from_name, to: if exchange { replaced } else { None } };
        let arrived = NameChange { dir: to_dir, name: to_name, to: Some(moved) };
        if from_dir == to_dir {
            self.push(Event::Names(vec![left, arrived]), label);
        } else {
            self.push(Event::Names(vec![arrived]), format!("{label} (its new name)"));
            self.push(Event::Names(vec![left]), format!("{label} (its old name)"));
        }
    }

    fn before_rename(&self, from: &Path, to: &Path) -> [Before; 2] {
        [(self.entry(from), self.of_path(from)), (self.entry(to), self.of_path(to))]
    }
}

/// A name before a rename: its directory and name, and the inode it leads to.
type Before = (Option<(Ino, OsString)>, Option<Ino>);

/// A path component with the parts that differ between runs replaced by `*`: the host, process
/// and random parts of a temporary name, a transaction's id.
fn generalize(part: &str) -> String {
    if let Some(at) = part.rfind(".stet-")
        && part.ends_with(".tmp")
    {
        return format!("{}.stet-*.tmp", &part[..at]);
    }
    for suffix in [".tx.tmp", ".tx"] {
        if part.ends_with(suffix) && part.starts_with(|c: char| c.is_ascii_digit()) {
            return format!("ID{suffix}");
        }
    }
    part.to_owned()
}

/// An open file's size.
fn size(file: &File) -> u64 {
    file.metadata().map_or(0, |meta| meta.len())
}

/// Whether something is at `path` (a call that may create a file checks before it runs).
fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

impl Fs for Recorder {
    fn open_read(&self, path: &Path) -> io::Result<File> {
        self.inner.open_read(path)
    }
    fn create_new(&self, path: &Path, mode: u32) -> io::Result<File> {
        let mut recording = self.lock();
        let file = self.inner.create_new(path, mode)?;
        recording.opened(path, &file, true);
        Ok(file)
    }
    fn open_side_file(&self, path: &Path) -> io::Result<(File, bool)> {
        let mut recording = self.lock();
        let (file, created) = self.inner.open_side_file(path)?;
        recording.opened(path, &file, created);
        Ok((file, created))
    }
    fn read_to_end(&self, file: &mut File, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.inner.read_to_end(file, buf)
    }
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        let mut recording = self.lock();
        let (offset, size) = (file.stream_position()?, size(file));
        self.inner.write_all(file, bytes)?;
        recording.write(file, offset, bytes, size);
        Ok(())
    }
    fn overwrite(&self, file: &File, old_len: u64, bytes: &[u8]) -> io::Result<()> {
        let mut recording = self.lock();
        let size = size(file);
        self.inner.overwrite(file, old_len, bytes)?;
        recording.write(file, 0, bytes, size);
        if old_len > bytes.len() as u64 {
            recording.set_len(file, bytes.len() as u64);
        }
        Ok(())
    }
    fn sync(&self, file: &File) -> io::Result<()> {
        let mut recording = self.lock();
        self.inner.sync(file)?;
        recording.sync(file, false);
        Ok(())
    }
    fn sync_data(&self, file: &File) -> io::Result<()> {
        let mut recording = self.lock();
        self.inner.sync_data(file)?;
        recording.sync(file, true);
        Ok(())
    }
    fn open_rw(&self, path: &Path, mode: u32) -> io::Result<File> {
        let mut recording = self.lock();
        let created = !exists(path);
        let file = self.inner.open_rw(path, mode)?;
        recording.opened(path, &file, created);
        Ok(file)
    }
    fn write_at(&self, file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
        let mut recording = self.lock();
        let size = size(file);
        self.inner.write_at(file, bytes, offset)?;
        recording.write(file, offset, bytes, size);
        Ok(())
    }
    fn read_at(&self, file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(file, buf, offset)
    }
    fn set_len(&self, file: &File, len: u64) -> io::Result<()> {
        let mut recording = self.lock();
        self.inner.set_len(file, len)?;
        recording.set_len(file, len);
        Ok(())
    }
    fn map_mut(&self, file: &File) -> io::Result<memmap2::MmapMut> {
        let mut recording = self.lock();
        let map = self.inner.map_mut(file)?;
        if recording.of_file(file).is_some() {
            let label = format!("mmap {}", recording.path_of(file));
            recording.push(Event::Mapped, label);
        }
        Ok(map)
    }
    fn set_mode(&self, file: &File, mode: u32) -> io::Result<()> {
        self.inner.set_mode(file, mode)
    }
    fn set_owner(&self, file: &File, uid: u32, gid: u32) -> io::Result<()> {
        self.inner.set_owner(file, uid, gid)
    }
    fn file_metadata(&self, file: &File) -> io::Result<Metadata> {
        self.inner.file_metadata(file)
    }
    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.inner.metadata(path)
    }
    fn symlink_metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.inner.symlink_metadata(path)
    }
    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        self.inner.read_link(path)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.inner.canonicalize(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut recording = self.lock();
        let before = recording.before_rename(from, to);
        self.inner.rename(from, to)?;
        recording.renamed((from, to), before, false);
        Ok(())
    }
    fn rename_noreplace(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut recording = self.lock();
        let before = recording.before_rename(from, to);
        self.inner.rename_noreplace(from, to)?;
        recording.renamed((from, to), before, false);
        Ok(())
    }
    fn rename_exchange(&self, a: &Path, b: &Path) -> io::Result<bool> {
        let mut recording = self.lock();
        let before = recording.before_rename(a, b);
        let exchanged = self.inner.rename_exchange(a, b)?;
        if exchanged {
            recording.renamed((a, b), before, true);
        }
        Ok(exchanged)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut recording = self.lock();
        self.inner.sync_dir(dir)?;
        if let Some(ino) = recording.of_path(dir) {
            let label = format!("fsync dir {}", recording.relative(dir));
            recording.push(Event::SyncDir { dir: ino }, label);
        }
        Ok(())
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut recording = self.lock();
        self.inner.remove_file(path)?;
        recording.name(path, None, "unlink");
        Ok(())
    }
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        let mut recording = self.lock();
        self.inner.create_dir(path)?;
        let meta = std::fs::symlink_metadata(path)?;
        let ino = recording.created(&meta, Kind::Dir);
        recording.name(path, Some(ino), "mkdir");
        Ok(())
    }
    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        let mut recording = self.lock();
        self.inner.remove_dir(path)?;
        recording.name(path, None, "rmdir");
        Ok(())
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        self.inner.list_dir(path)
    }
    fn set_mtime(&self, path: &Path, time: SystemTime) -> io::Result<()> {
        self.inner.set_mtime(path, time)
    }
    fn try_lock(&self, file: &File, kind: LockKind) -> io::Result<bool> {
        self.inner.try_lock(file, kind)
    }
    fn unlock(&self, file: &File) -> io::Result<()> {
        self.inner.unlock(file)
    }
    fn check_write_access(&self, path: &Path) -> io::Result<()> {
        self.inner.check_write_access(path)
    }
    fn list_xattrs(&self, path: &Path) -> io::Result<Vec<OsString>> {
        self.inner.list_xattrs(path)
    }
    fn get_xattr(&self, path: &Path, name: &OsStr) -> io::Result<Vec<u8>> {
        self.inner.get_xattr(path, name)
    }
    fn file_xattr(&self, file: &File, name: &OsStr) -> io::Result<Vec<u8>> {
        self.inner.file_xattr(file, name)
    }
    fn set_file_xattr(&self, file: &File, name: &OsStr, value: &[u8]) -> io::Result<()> {
        self.inner.set_file_xattr(file, name, value)
    }
    fn open_no_follow(&self, path: &Path) -> io::Result<File> {
        self.inner.open_no_follow(path)
    }
    fn open_no_block(&self, path: &Path, create: Option<u32>) -> io::Result<File> {
        let mut recording = self.lock();
        let created = create.is_some() && !exists(path);
        let file = self.inner.open_no_block(path, create)?;
        recording.opened(path, &file, created);
        Ok(file)
    }
    fn open_read_nofollow(&self, path: &Path) -> io::Result<File> {
        self.inner.open_read_nofollow(path)
    }
}
