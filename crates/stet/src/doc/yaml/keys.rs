//! Finding a mapping's entry by its key: a scan while the mapping is small, a hash table once it
//! is not, so that reading or editing a mapping of n keys costs O(n), not O(n²).

use std::collections::HashMap;

use super::tree::{Node, scalar_text};
use super::work;

/// Mappings up to this size are scanned: the n²/2 comparisons of short keys (about 500 at 32)
/// cost less than hashing and copying every key, and a story's frontmatter (17 keys in
/// `tests/fixtures/story.md`, about as many in the wild) never pays for a table.
const SCAN_LIMIT: usize = 32;

/// The positions of a mapping's keys, kept beside its entries.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyIndex {
    /// Key text to position, built once the mapping outgrows [`SCAN_LIMIT`].
    table: Option<HashMap<String, usize>>,
}

impl KeyIndex {
    /// The position among `entries` of the entry whose key is `name`.
    pub fn find(&self, entries: &[(Node, Node)], name: &str) -> Option<usize> {
        match &self.table {
            Some(table) => {
                work::count(|work| work.key_probes += 1);
                table.get(name).copied()
            }
            None => entries.iter().position(|(key, _)| {
                work::count(|work| work.key_probes += 1);
                scalar_text(key) == name
            }),
        }
    }

    /// Takes note of the entry just pushed at the end of `entries`.
    pub fn pushed(&mut self, entries: &[(Node, Node)]) {
        if let Some(table) = &mut self.table {
            let (key, _) = entries.last().expect("an entry was pushed");
            work::count(|work| work.key_probes += 1);
            table.insert(scalar_text(key).to_owned(), entries.len() - 1);
        } else if entries.len() > SCAN_LIMIT {
            work::count(|work| work.key_probes += entries.len());
            let table = entries.iter().enumerate().map(|(at, (key, _))| (scalar_text(key).to_owned(), at));
            self.table = Some(table.collect());
        }
    }
}
