//! Several edits made on one reading of the text.
//!
//! Reading the text again after every edit made a merge of n keys cost n readings. Instead,
//! edits are located in one tree for as long as each is apart from those before it: its key
//! path is neither one of theirs nor holds nor lies inside one of theirs, and it does not add
//! to a collection whose last entry another removes (or the reverse). Members added to one
//! collection are written together, as are the entries removed from one. An edit that is not
//! apart ends the batch and is made on the text read again; a batch whose splices would overlap
//! is made one edit at a time. The text is checked once at the end to mean exactly the edits.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::change::{self, Located, Op, Splice};
use super::layout::Layout;
use super::syntax::Node;
use super::{insert, remove};

#[derive(Default)]
pub(crate) struct Batch<'n> {
    touched: HashSet<Vec<String>>,
    /// Every proper prefix of a touched key path.
    holding: HashSet<Vec<String>>,
    replaces: Vec<(&'n Node, Option<&'n Node>, Value)>,
    groups: Vec<Group<'n>>,
    group_of: HashMap<*const Node, usize>,
}

/// The entries added to and removed from one collection.
struct Group<'n> {
    container: &'n Node,
    added: Vec<(Option<String>, Value)>,
    removed: Vec<usize>,
    /// Whether `removed` holds the last entry.
    removes_last: bool,
}

impl<'n> Batch<'n> {
    pub fn is_empty(&self) -> bool {
        self.touched.is_empty()
    }

    /// Whether `located` can be made together with the batch's edits.
    pub fn fits(&self, located: &Located<'n>) -> bool {
        let path = &located.touched;
        let apart = !self.touched.contains(path)
            && !self.holding.contains(path)
            && (0..path.len()).all(|length| !self.touched.contains(&path[..length]));
        apart
            && match &located.op {
                Op::Insert { container, .. } => self.group(container).is_none_or(|group| !group.removes_last),
                Op::Remove { container, at } => self.group(container).is_none_or(|group| {
                    let count = container.entries().map_or(0, <[_]>::len);
                    group.added.is_empty() || *at + 1 != count
                }),
                Op::Replace { .. } | Op::Nothing => true,
            }
    }

    fn group(&self, container: &Node) -> Option<&Group<'n>> {
        self.group_of.get(&std::ptr::from_ref(container)).map(|at| &self.groups[*at])
    }

    fn group_mut(&mut self, container: &'n Node) -> &mut Group<'n> {
        let next = self.groups.len();
        let at = *self.group_of.entry(std::ptr::from_ref(container)).or_insert(next);
        if at == next {
            self.groups.push(Group {
                container,
                added: Vec::new(),
                removed: Vec::new(),
                removes_last: false,
            });
        }
        &mut self.groups[at]
    }

    pub fn add(&mut self, located: Located<'n>) {
        for length in 0..located.touched.len() {
            self.holding.insert(located.touched[..length].to_vec());
        }
        self.touched.insert(located.touched);
        match located.op {
            Op::Replace { node, container, value } => self.replaces.push((node, container, value)),
            Op::Insert { container, key, value } => self.group_mut(container).added.push((key, value)),
            Op::Remove { container, at } => {
                let last = container.entries().map_or(0, <[_]>::len) == at + 1;
                let group = self.group_mut(container);
                group.removed.push(at);
                group.removes_last |= last;
            }
            Op::Nothing => {}
        }
    }

    /// The batch's splices, or `None` when some would overlap.
    pub fn splices(mut self, layout: &Layout<'_>) -> Option<Vec<Splice>> {
        // Many values of one large collection may be replaced: its style is looked at once.
        let mut contexts = HashMap::new();
        let mut splices: Vec<Splice> = self
            .replaces
            .iter()
            .map(|(node, container, value)| {
                let key = container.map(std::ptr::from_ref);
                let context = contexts.entry(key).or_insert_with(|| change::Context::of(layout, *container));
                change::replace(layout, node, context, value)
            })
            .collect();
        for group in &mut self.groups {
            group.removed.sort_unstable();
            if !group.removed.is_empty() {
                splices.extend(remove::remove(layout, group.container, &group.removed));
            }
            if !group.added.is_empty() {
                splices.extend(insert::insert(layout, group.container, &group.added));
            }
        }
        splices.sort_by_key(|splice| (splice.start, splice.end));
        let mut end = 0;
        for splice in &splices {
            if splice.start < end {
                return None;
            }
            end = end.max(splice.end);
        }
        Some(splices)
    }
}
