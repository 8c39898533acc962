//! Several edits made on one parse of the text.
//!
//! Re-parsing the text after every edit made a merge of n keys cost n parses. Instead, edits are
//! computed against one tree for as long as each is independent of those before it, and their
//! splices are joined in one pass; an edit that depends on an earlier one ends the batch, and is
//! made on the text parsed again. Independent means: it touches no node another edit of the batch
//! touches, contains or is inside (so it sees the tree as it would after the earlier edits); its
//! splices overlap none of theirs; and it does not empty a collection whose entries an earlier edit
//! changed (removing the last key of a mapping is an edit of its own). Whatever the batches, the
//! text is checked once at the end to mean exactly the edits.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::editor::{Change, Effect};
use super::text::Splice;
use super::tree::{Kind, Node};

#[derive(Default)]
pub(crate) struct Batch<'e> {
    splices: Vec<Splice>,
    /// The key paths of the nodes the batch's edits touch.
    touched: HashSet<&'e [String]>,
    /// Every proper prefix of a touched key path: the nodes that hold a touched one.
    holding: HashSet<&'e [String]>,
    /// The byte ranges the splices replace (start to end), and the points where they insert.
    ranges: BTreeMap<usize, usize>,
    points: BTreeSet<usize>,
    /// Per collection (by address in the tree): entries removed, and whether any were added.
    containers: HashMap<*const Node, (usize, bool)>,
}

impl<'e> Batch<'e> {
    pub fn is_empty(&self) -> bool {
        self.touched.is_empty()
    }

    /// Whether `change` can be made together with the batch's edits.
    pub fn fits(&self, change: &Change<'_, 'e>) -> bool {
        let path = change.touched;
        let path_free = !self.touched.contains(path)
            && !self.holding.contains(path)
            && (1..path.len()).all(|length| !self.touched.contains(&path[..length]));
        path_free
            && self.container_free(change)
            && change.splices.iter().all(|splice| self.splice_free(splice))
    }

    fn container_free(&self, change: &Change<'_, 'e>) -> bool {
        let Some(container) = change.container else { return true };
        let Some(&(removed, added)) = self.containers.get(&std::ptr::from_ref(container)) else {
            return true;
        };
        let (count, flow) = match &container.kind {
            Kind::Mapping { entries, flow, .. } => (entries.len(), *flow),
            Kind::Sequence { items, flow } => (items.len(), *flow),
            _ => return true,
        };
        match change.effect {
            Effect::Remove => count - removed > 1,
            // Entries added to an empty flow collection are not separated by commas.
            Effect::Add => !(flow && count == 0 && added),
            Effect::Replace | Effect::None => true,
        }
    }

    fn splice_free(&self, splice: &Splice) -> bool {
        let before = self.ranges.range(..splice.end.max(splice.start + 1)).next_back();
        if splice.start == splice.end {
            return before.is_none_or(|(start, end)| !(*start < splice.start && splice.start < *end));
        }
        before.is_none_or(|(_, end)| *end <= splice.start)
            && self.points.range(splice.start + 1..splice.end).next().is_none()
    }

    pub fn add(&mut self, change: Change<'_, 'e>) {
        let path = change.touched;
        self.touched.insert(path);
        for length in 0..path.len() {
            self.holding.insert(&path[..length]);
        }
        if let Some(container) = change.container {
            let entry = self.containers.entry(std::ptr::from_ref(container)).or_default();
            match change.effect {
                Effect::Remove => entry.0 += 1,
                Effect::Add => entry.1 = true,
                Effect::Replace | Effect::None => {}
            }
        }
        for mut splice in change.splices {
            if splice.start == splice.end {
                self.points.insert(splice.start);
            } else {
                self.ranges.insert(splice.start, splice.end);
            }
            splice.depth = change.depth;
            self.splices.push(splice);
        }
    }

    pub fn into_splices(self) -> Vec<Splice> {
        self.splices
    }
}
