//! The idempotency index: which event ids a log holds, found in a few reads whatever its size.
//!
//! `.LOG.stet-index` next to the log is an open-addressing hash table of (XXH3 of the id, offset of
//! the event's line + 1). It is derived from the log and never trusted over it:
//! - every hit is checked by reading the line at its offset and comparing the id, so a stale or
//!   damaged slot can never make stet skip an event that is not in the log;
//! - the header names the log it was built from (hash of the first line), how far it is known to
//!   be complete (`covered`, a checkpoint made after an fsync of the table) and the hash of the line
//!   ending there; a header that does not match the log, a truncated table or another id rule
//!   makes stet rebuild the index from the log;
//! - lines after what the table is known to hold are read and inserted again on every open: after
//!   `written` (how far the table was updated) when that was recorded in this boot, where every
//!   process sees unflushed writes, else after `covered`, at most [`CHECKPOINT_BYTES`] of log; so
//!   the cost stays flat as the log grows.
//!
//! Only the log's lock holder touches the index. The index is opened without following a symlink
//! and used only if it is a regular file with one link that is empty or starts with stet's magic;
//! anything else is not stet's to overwrite, and the append goes on without an index.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::xxh3_64;

use super::IdRule;
use super::lines::{self, line_at, parse, read_range, scan};
use super::side::{self, Side};
use crate::fs::Fs;

const MAGIC: &[u8; 8] = b"STETIDX2";
/// What every index stet ever wrote starts with (the magic without its format number).
const MAGIC_STEM: &[u8] = b"STETIDX";

/// Whether a file that starts with `bytes` is an index stet made (of any format).
pub(crate) fn is_stets(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC_STEM)
}
const HEADER: u64 = 128;
const SLOT: u64 = 16;
const MIN_SLOTS: u64 = 1024;
/// The table is written a page at a time: the page cache then holds it in small folios. Written
/// in one piece, it lands in large folios, and every later `pwrite` of one slot walks all the
/// blocks of the folio it hits (on ext4, tens of microseconds at ten million events).
const PAGE: usize = 4096;
/// How much log may follow the last checkpoint before the next append makes one.
pub(crate) const CHECKPOINT_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    rule: u64,
    slots: u64,
    used: u64,
    /// The durable checkpoint: the table holds every id before it, on disk.
    covered: u64,
    first: u64,
    last: u64,
    /// The boot in which `written` was recorded (0: none).
    boot: u64,
    /// How far the table was updated, not necessarily on disk: trusted only in the same boot,
    /// where every process sees unflushed writes.
    written: u64,
    /// XXH3 of the line ending at `written`.
    written_last: u64,
}

const WORDS: usize = 9;

impl Header {
    fn encode(&self) -> [u8; HEADER as usize] {
        let mut bytes = [0u8; HEADER as usize];
        bytes[..8].copy_from_slice(MAGIC);
        let words = [
            self.rule,
            self.slots,
            self.used,
            self.covered,
            self.first,
            self.last,
            self.boot,
            self.written,
            self.written_last,
        ];
        for (at, value) in words.into_iter().enumerate() {
            bytes[8 + at * 8..16 + at * 8].copy_from_slice(&value.to_le_bytes());
        }
        let end = 8 + WORDS * 8;
        let checksum = xxh3_64(&bytes[..end]);
        bytes[end..end + 8].copy_from_slice(&checksum.to_le_bytes());
        bytes
    }

    fn decode(bytes: &[u8]) -> Option<Header> {
        if bytes.len() < HEADER as usize || &bytes[..8] != MAGIC {
            return None;
        }
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let end = 8 + WORDS * 8;
        if word(end) != xxh3_64(&bytes[..end]) {
            return None;
        }
        let header = Header {
            rule: word(8),
            slots: word(16),
            used: word(24),
            covered: word(32),
            first: word(40),
            last: word(48),
            boot: word(56),
            written: word(64),
            written_last: word(72),
        };
        header.slots.is_power_of_two().then_some(header)
    }
}

pub(crate) struct Index<'a> {
    fs: &'a dyn Fs,
    path: PathBuf,
    file: File,
    /// How slots are read and written.
    backing: Backing,
    header: Header,
    rule: &'a IdRule,
}

/// An index between two appends of one [`super::Appender`]: its file and header, as committed.
#[derive(Debug)]
pub(crate) struct Kept {
    path: PathBuf,
    file: File,
    backing: Backing,
    header: Header,
}

/// Slots read and written with `pread`/`pwrite` (a few events: no mapping to set up and tear
/// down), or through a map of the whole file (a batch: no system call per event).
#[derive(Debug)]
enum Backing {
    File,
    Map(memmap2::MmapMut),
}

/// What [`Index::open`] found.
pub(crate) enum Opened<'a> {
    /// The index, loaded or rebuilt.
    Index(Index<'a>),
    /// Something stet did not make is at the index's path (what it is): left alone.
    NotStets(&'static str),
}

/// `.NAME.stet-index` next to the log.
pub(crate) fn index_path(log: &Path) -> PathBuf {
    let name = log.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    log.with_file_name(format!(".{name}.stet-index"))
}

impl<'a> Index<'a> {
    /// The index of the log's first `end` bytes, loaded, or rebuilt when it does not match.
    pub fn open(
        fs: &'a dyn Fs,
        log_path: &Path,
        log: &File,
        end: u64,
        rule: &'a IdRule,
    ) -> io::Result<Opened<'a>> {
        let path = index_path(log_path);
        let file = match side::open(fs, &path, is_stets)? {
            Side::Foreign(found) => return Ok(Opened::NotStets(found)),
            Side::Missing => None,
            Side::Usable(file) => Some(file),
        };
        if let Some(file) = file
            && let Some(index) = Self::load(fs, &path, file, log, end, rule)?
        {
            return Ok(Opened::Index(index));
        }
        Self::rebuild(fs, &path, log, end, rule, 0).map(Opened::Index)
    }

    /// The rule the index was opened for.
    pub fn rule(&self) -> &'a IdRule {
        self.rule
    }

    fn load(
        fs: &'a dyn Fs,
        path: &Path,
        file: File,
        log: &File,
        end: u64,
        rule: &'a IdRule,
    ) -> io::Result<Option<Index<'a>>> {
        let mut bytes = [0u8; HEADER as usize];
        let read = fs.read_at(&file, &mut bytes, 0)?;
        let Some(header) = Header::decode(&bytes[..read]) else { return Ok(None) };
        let expected_len = HEADER + header.slots * SLOT;
        let matches = header.rule == rule.hash()
            && fs.file_metadata(&file)?.len() == expected_len
            && header.covered <= end
            && header.first == first_line_hash(fs, log, end)?
            && header.last == line_before_hash(fs, log, header.covered)?;
        if !matches {
            return Ok(None);
        }
        // Lines after what the table is known to hold: insert them again (inserting is
        // idempotent). In the boot that wrote them, the unflushed updates count too.
        let same_boot = crate::sys::boot_id().is_some_and(|boot| boot == header.boot);
        let from = if same_boot
            && header.written >= header.covered
            && header.written <= end
            && header.written_last == line_before_hash(fs, log, header.written)?
        {
            header.written
        } else {
            header.covered
        };
        let mut index = Index { fs, path: path.to_owned(), file, backing: Backing::File, header, rule };
        let mut pending = Vec::new();
        scan(fs, log, from, end, |offset, line| {
            if let Some(id) = parse(line).and_then(|event| rule.id_of(&event)) {
                pending.push((id, offset));
            }
            Ok(())
        })?;
        for (id, offset) in pending {
            if !index.contains(log, &id, end)? {
                index.insert(&id, offset)?;
            }
        }
        Ok(Some(index))
    }

    /// Builds the index of the log's first `end` bytes from scratch, with room for twice its
    /// entries (at least `min_slots`), written aside, fsynced, and renamed into place.
    fn rebuild(
        fs: &'a dyn Fs,
        path: &Path,
        log: &File,
        end: u64,
        rule: &'a IdRule,
        min_slots: u64,
    ) -> io::Result<Index<'a>> {
        let mut entries: Vec<(u64, u64, String)> = Vec::new();
        scan(fs, log, 0, end, |offset, line| {
            if let Some(id) = parse(line).and_then(|event| rule.id_of(&event)) {
                entries.push((xxh3_64(id.as_bytes()), offset + 1, id));
            }
            Ok(())
        })?;
        let slots = (entries.len() as u64 * 2).max(MIN_SLOTS).max(min_slots).next_power_of_two();
        let mut table = vec![0u64; (slots * 2) as usize];
        let mut used = 0;
        for (hash, offset_plus_one, id) in &entries {
            // An id the log holds twice (appended without stet) needs one slot.
            if place(&mut table, slots, *hash, *offset_plus_one, |existing| {
                same_id(fs, log, existing - 1, end, rule, id)
            })? {
                used += 1;
            }
        }
        Self::write_table(fs, path, log, end, rule, &table, used)
    }

    /// Doubles the table: its entries rehashed, no log read.
    fn grow(self, log: &File, end: u64) -> io::Result<Index<'a>> {
        let slots = self.header.slots * 2;
        let mut table = vec![0u64; (slots * 2) as usize];
        let mut used = 0;
        let mut old = vec![0u8; (self.header.slots * SLOT) as usize];
        match &self.backing {
            Backing::Map(map) => old.copy_from_slice(&map[HEADER as usize..]),
            Backing::File => {
                if self.fs.read_at(&self.file, &mut old, HEADER)? < old.len() {
                    return Self::rebuild(self.fs, &self.path, log, end, self.rule, slots);
                }
            }
        }
        for pair in old.chunks_exact(SLOT as usize) {
            let hash = u64::from_le_bytes(pair[..8].try_into().expect("8 bytes"));
            let offset_plus_one = u64::from_le_bytes(pair[8..].try_into().expect("8 bytes"));
            if offset_plus_one != 0 && place(&mut table, slots, hash, offset_plus_one, |_| Ok(false))? {
                used += 1;
            }
        }
        Self::write_table(self.fs, &self.path, log, end, self.rule, &table, used)
    }

    /// Writes a complete table (covering the log up to `end`) aside, fsyncs it, renames it into
    /// place, and opens it.
    fn write_table(
        fs: &'a dyn Fs,
        path: &Path,
        log: &File,
        end: u64,
        rule: &'a IdRule,
        table: &[u64],
        used: u64,
    ) -> io::Result<Index<'a>> {
        let last = line_before_hash(fs, log, end)?;
        let header = Header {
            rule: rule.hash(),
            slots: table.len() as u64 / 2,
            used,
            covered: end,
            first: first_line_hash(fs, log, end)?,
            last,
            boot: crate::sys::boot_id().unwrap_or(0),
            written: end,
            written_last: last,
        };
        let mut bytes = Vec::with_capacity(HEADER as usize + table.len() * 8);
        bytes.extend_from_slice(&header.encode());
        for word in table {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
        let temp = side::temp_path(path);
        let held_off = crate::interrupt::hold_off();
        let _tracked = crate::interrupt::track(crate::interrupt::Leftover::File(temp.clone()));
        let mut file = fs.create_new(&temp, 0o644)?;
        drop(held_off);
        let written = bytes
            .chunks(PAGE)
            .try_for_each(|page| fs.write_all(&mut file, page))
            .and_then(|()| fs.sync(&file));
        if let Err(err) = written {
            let _ = fs.remove_file(&temp);
            return Err(err);
        }
        publish(fs, &temp, path)?;
        drop(file);
        // The file just renamed into place is stet's; opened as every side file is, all the same.
        let file = fs.open_no_follow(path)?;
        Ok(Index { fs, path: path.to_owned(), file, backing: Backing::File, header, rule })
    }

    /// Whether the log's first `end` bytes hold an event with this id.
    pub fn contains(&self, log: &File, id: &str, end: u64) -> io::Result<bool> {
        let hash = xxh3_64(id.as_bytes());
        let mask = self.header.slots - 1;
        let mut slot = hash & mask;
        for _ in 0..self.header.slots {
            let (slot_hash, offset_plus_one) = self.read_slot(slot)?;
            if offset_plus_one == 0 {
                return Ok(false);
            }
            if slot_hash == hash && same_id(self.fs, log, offset_plus_one - 1, end, self.rule, id)? {
                return Ok(true);
            }
            slot = (slot + 1) & mask;
        }
        Ok(false)
    }

    /// Records that the line at `offset` holds an event with this id.
    pub fn insert(&mut self, id: &str, offset: u64) -> io::Result<()> {
        let hash = xxh3_64(id.as_bytes());
        let mask = self.header.slots - 1;
        let mut slot = hash & mask;
        for _ in 0..self.header.slots {
            if self.read_slot(slot)?.1 == 0 {
                let mut bytes = [0u8; SLOT as usize];
                bytes[..8].copy_from_slice(&hash.to_le_bytes());
                bytes[8..].copy_from_slice(&(offset + 1).to_le_bytes());
                self.write(HEADER + slot * SLOT, &bytes)?;
                self.header.used += 1;
                return Ok(());
            }
            slot = (slot + 1) & mask;
        }
        Err(io::Error::other("the idempotency index is full"))
    }

    /// An index kept by an appender that alone changed the log since it committed it.
    pub fn resume(fs: &'a dyn Fs, rule: &'a IdRule, kept: Kept) -> Index<'a> {
        Index { fs, path: kept.path, file: kept.file, backing: kept.backing, header: kept.header, rule }
    }

    /// After events were appended up to `end` (`last`: the hash of the line ending there, when
    /// the caller knows it): grows the table when half full (a rebuild), and makes a checkpoint
    /// when [`CHECKPOINT_BYTES`] of log followed the last one. Returns the index to keep.
    pub fn commit(self, log: &File, end: u64, last: Option<u64>) -> io::Result<Kept> {
        if self.header.used * 2 > self.header.slots {
            return Ok(self.grow(log, end)?.keep());
        }
        let mut index = self;
        index.header.boot = crate::sys::boot_id().unwrap_or(0);
        index.header.written = end;
        index.header.written_last = match last {
            Some(hash) => hash,
            None => line_before_hash(index.fs, log, end)?,
        };
        if end - index.header.covered >= CHECKPOINT_BYTES {
            if let Backing::Map(map) = &index.backing {
                map.flush()?;
            }
            index.fs.sync(&index.file)?;
            index.header.covered = end;
            index.header.last = index.header.written_last;
        }
        let header = index.header.encode();
        index.write(0, &header)?;
        Ok(index.keep())
    }

    fn keep(self) -> Kept {
        Kept { path: self.path, file: self.file, backing: self.backing, header: self.header }
    }

    /// Maps the file, for a batch of many lookups and inserts.
    pub fn map(&mut self) -> io::Result<()> {
        if matches!(self.backing, Backing::File) {
            self.backing = Backing::Map(self.fs.map_mut(&self.file)?);
        }
        Ok(())
    }

    fn read_slot(&self, slot: u64) -> io::Result<(u64, u64)> {
        let at = HEADER + slot * SLOT;
        let mut bytes = [0u8; SLOT as usize];
        match &self.backing {
            Backing::Map(map) => bytes.copy_from_slice(&map[at as usize..(at + SLOT) as usize]),
            Backing::File => {
                if self.fs.read_at(&self.file, &mut bytes, at)? < bytes.len() {
                    return Ok((0, 0));
                }
            }
        }
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        Ok((word(0), word(8)))
    }

    fn write(&mut self, at: u64, bytes: &[u8]) -> io::Result<()> {
        match &mut self.backing {
            Backing::Map(map) => {
                map[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
                Ok(())
            }
            Backing::File => self.fs.write_at(&self.file, bytes, at),
        }
    }
}

/// Puts (hash, offset + 1) in the first free slot of its probe sequence; `false` when `same`
/// says a slot with the same hash already holds this id.
fn place(
    table: &mut [u64],
    slots: u64,
    hash: u64,
    offset_plus_one: u64,
    mut same: impl FnMut(u64) -> io::Result<bool>,
) -> io::Result<bool> {
    let mut slot = hash & (slots - 1);
    loop {
        let at = (slot * 2) as usize;
        if table[at + 1] == 0 {
            table[at] = hash;
            table[at + 1] = offset_plus_one;
            return Ok(true);
        }
        if table[at] == hash && same(table[at + 1])? {
            return Ok(false);
        }
        slot = (slot + 1) & (slots - 1);
    }
}

/// Whether the line at `offset` (before `end`) is an event with this id.
fn same_id(fs: &dyn Fs, log: &File, offset: u64, end: u64, rule: &IdRule, id: &str) -> io::Result<bool> {
    if offset >= end {
        return Ok(false);
    }
    if offset > 0 && read_range(fs, log, offset - 1, offset)? != b"\n" {
        return Ok(false);
    }
    let line = line_at(fs, log, offset, end)?;
    Ok(line.and_then(|line| parse(&line)).and_then(|event| rule.id_of(&event)).as_deref() == Some(id))
}

/// XXH3 of the log's first line (0 for an empty log): which log an index was built from.
fn first_line_hash(fs: &dyn Fs, log: &File, end: u64) -> io::Result<u64> {
    Ok(line_at(fs, log, 0, end)?.map_or(0, |line| xxh3_64(&line)))
}

/// XXH3 of the line that ends at `end` (0 when `end` is 0).
fn line_before_hash(fs: &dyn Fs, log: &File, end: u64) -> io::Result<u64> {
    if end == 0 {
        return Ok(0);
    }
    let start = lines::line_start_before(fs, log, end - 1)?;
    Ok(xxh3_64(&read_range(fs, log, start, end)?))
}
/// Puts the index written at `temp` in place at `path`, never replacing a file stet did not make:
/// a name found free is taken with a no-replace rename; a name found taken is exchanged with it,
/// and what was there, now at `temp`, is removed if it is stet's (or empty) and put back
/// otherwise (someone planted it since the index was checked). Nothing is left at `temp`, except
/// a foreign file that could not be put back, which is then named in the error.
fn publish(fs: &dyn Fs, temp: &Path, path: &Path) -> io::Result<()> {
    match fs.rename_noreplace(temp, path) {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(err) => {
            let _ = fs.remove_file(temp);
            return Err(err);
        }
        Ok(()) => return Ok(()),
    }
    match fs.rename_exchange(temp, path) {
        Ok(true) => {}
        // No exchange on this file system: the name was checked to be stet's moments ago.
        Ok(false) => {
            return fs.rename(temp, path).inspect_err(|_| {
                let _ = fs.remove_file(temp);
            });
        }
        Err(err) => {
            let _ = fs.remove_file(temp);
            return Err(err);
        }
    }
    match side::open(fs, temp, is_stets) {
        Ok(Side::Usable(_) | Side::Missing) => {
            let _ = fs.remove_file(temp);
            Ok(())
        }
        Ok(Side::Foreign(found)) => {
            let restored = fs.rename_exchange(temp, path).is_ok_and(|swapped| swapped);
            let message = if restored {
                let _ = fs.remove_file(temp);
                format!(
                    "{} is {found}, put there meanwhile; stet left it and goes on without an index",
                    path.display()
                )
            } else {
                format!(
                    "{} was {found}; it could not be put back and is now at {}",
                    path.display(),
                    temp.display()
                )
            };
            Err(io::Error::new(io::ErrorKind::AlreadyExists, message))
        }
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::publish;
    use crate::fs::Real;

    fn scratch() -> tempfile::TempDir {
        tempfile::Builder::new().prefix("stet-index-").tempdir().expect("a temporary directory")
    }

    #[test]
    fn publishing_an_index_never_replaces_a_file_planted_at_its_name() {
        let dir = scratch();
        let (temp, path) = (dir.path().join(".i.stet-1-00000000.tmp"), dir.path().join(".log.stet-index"));
        std::fs::write(&temp, b"STETIDX new").unwrap();
        std::fs::write(&path, b"someone's notes\n").unwrap();
        let err = publish(&Real, &temp, &path).expect_err("a foreign file at the name is not replaced");
        assert!(err.to_string().contains("stet-index"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"someone's notes\n", "the planted file is back in place");
        assert!(!temp.exists(), "the new index is not left behind");
    }

    #[test]
    fn publishing_an_index_replaces_stets_own_and_takes_a_free_name() {
        let dir = scratch();
        let (temp, path) = (dir.path().join(".i.stet-1-00000000.tmp"), dir.path().join(".log.stet-index"));
        std::fs::write(&temp, b"STETIDX first").unwrap();
        publish(&Real, &temp, &path).expect("a free name is taken");
        std::fs::write(&temp, b"STETIDX second").unwrap();
        publish(&Real, &temp, &path).expect("stet's own index is replaced");
        assert_eq!(std::fs::read(&path).unwrap(), b"STETIDX second");
        assert!(!temp.exists(), "the old index is removed");
    }
}
