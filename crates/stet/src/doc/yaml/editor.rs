//! One edit of YAML text, as splices that touch only the edited key's lines, and what it touches
//! (so that several edits can be made on one parse, see `batch`).

use saphyr_parser::ScalarStyle;
use serde_json::{Map, Value};

use super::render::{self, Quote};
use super::text::{Layout, Splice};
use super::tree::{Anchors, Kind, Node, scalar_text};
use crate::doc::edit::Edit;
use crate::doc::error::DocError;
use crate::doc::key::{KeyPath, index};

/// The (container, index) pairs a key path passes through.
type Trail<'n> = Vec<(&'n Node, usize)>;

/// Where a key path leads in the tree.
enum Place<'n> {
    /// To the value at `index` of `container` (a mapping entry or a list item). With `rest`
    /// segments left over, that value is null and the rest must be created beneath it.
    At { container: &'n Node, index: usize, rest: usize },
    /// To a key missing from `mapping` (`None`: the document is empty); `depth` segments matched.
    Missing { mapping: Option<&'n Node>, depth: usize },
}

pub(crate) struct Editor<'a> {
    pub layout: Layout<'a>,
    pub root: Option<&'a Node>,
    pub anchors: &'a Anchors,
}

/// What one edit does: its splices, the node they replace, remove or add, and the collection
/// whose entries they add or remove.
pub(crate) struct Change<'a, 'e> {
    /// The key path of the node replaced, removed or added (for an added list item, of the list).
    pub touched: &'e [String],
    /// The collection the node is an entry or item of (`None`: the document, which is empty).
    pub container: Option<&'a Node>,
    /// How many key path segments lead to `container`.
    pub depth: usize,
    pub effect: Effect,
    pub splices: Vec<Splice>,
}

/// What a change does to its container's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Replaces a value; the container keeps its entries.
    Replace,
    /// Adds an entry or item after the container's last one.
    Add,
    /// Removes an entry or item.
    Remove,
    /// Changes nothing (an unset of a key that is absent).
    None,
}

impl<'a> Editor<'a> {
    /// What making `edit` (a set, unset or push) takes.
    pub fn change<'e>(&self, edit: &'e Edit) -> Result<Change<'a, 'e>, DocError> {
        match edit {
            Edit::Set { key, value } => self.set(key, value, false),
            Edit::Push { key, value } => self.set(key, value, true),
            Edit::Unset { key } => self.unset(key),
            Edit::Merge { .. } => unreachable!("merges are expanded into sets and unsets first"),
        }
    }

    fn set<'e>(&self, key: &'e KeyPath, value: &Value, push: bool) -> Result<Change<'a, 'e>, DocError> {
        let segments = key.segments();
        let (_, place) = self.locate(key)?;
        let change = |touched: usize, container, depth, effect, splices| Change {
            touched: &segments[..touched],
            container,
            depth,
            effect,
            splices,
        };
        match place {
            Place::At { container, index, rest: 0 } => {
                let old = child(container, index);
                let at = segments.len();
                self.check_not_aliased(old, &segments[..at])?;
                if push {
                    if let Kind::Alias(id) = old.kind {
                        return Err(self.through_alias(id, &segments[..at]));
                    }
                    match &old.kind {
                        Kind::Sequence { .. } => {
                            Ok(change(at, Some(old), at, Effect::Add, self.append_item(old, value)))
                        }
                        Kind::Scalar { .. } if is_null(old) => {
                            let splices =
                                self.replace(container, index, &Value::Array(vec![value.clone()]), true)?;
                            Ok(change(at, Some(container), at - 1, Effect::Replace, splices))
                        }
                        _ => Err(DocError::Shape { key: key.to_string(), message: "is not a list".into() }),
                    }
                } else {
                    let splices = self.replace(container, index, value, false)?;
                    Ok(change(at, Some(container), at - 1, Effect::Replace, splices))
                }
            }
            Place::At { container, index, rest } => {
                let at = segments.len() - rest;
                let created = nest(&segments[at..], value, push);
                let splices = self.replace(container, index, &created, true)?;
                Ok(change(at, Some(container), at - 1, Effect::Replace, splices))
            }
            Place::Missing { mapping, depth } => {
                let created = nest(&segments[depth + 1..], value, push);
                let block = depth + 1 < segments.len() || push;
                let splices = self.insert_entry(mapping, &segments[depth], &created, block);
                Ok(change(depth + 1, mapping, depth, Effect::Add, splices))
            }
        }
    }

    fn unset<'e>(&self, key: &'e KeyPath) -> Result<Change<'a, 'e>, DocError> {
        let segments = key.segments();
        let (trail, place) = self.locate(key)?;
        let Place::At { container, index, rest: 0 } = place else {
            return Ok(Change {
                touched: segments,
                container: None,
                depth: 0,
                effect: Effect::None,
                splices: Vec::new(),
            });
        };
        // Removing an anchor would leave its aliases naming nothing.
        if let Kind::Mapping { entries, .. } = &container.kind {
            self.check_not_aliased(&entries[index].0, segments)?;
        }
        self.check_no_aliased_anchor_within(child(container, index), segments)?;
        let count = match &container.kind {
            Kind::Mapping { entries, .. } => entries.len(),
            Kind::Sequence { items, .. } => items.len(),
            _ => unreachable!("containers are collections"),
        };
        let is_root = self.root.is_some_and(|root| std::ptr::eq(root, container));
        if count == 1
            && !is_root
            && !matches!(container.kind, Kind::Mapping { flow: true, .. } | Kind::Sequence { flow: true, .. })
        {
            // The last key of a nested block mapping: the mapping becomes `{}` (or `[]`).
            let (holder, at) = trail[trail.len() - 2];
            let empty = if matches!(container.kind, Kind::Mapping { .. }) {
                Map::new().into()
            } else {
                Value::Array(Vec::new())
            };
            let splices = self.replace(holder, at, &empty, false)?;
            let depth = segments.len() - 2;
            return Ok(Change {
                touched: &segments[..=depth],
                container: Some(holder),
                depth,
                effect: Effect::Replace,
                splices,
            });
        }
        let depth = segments.len() - 1;
        let splices = vec![self.remove(container, index)];
        Ok(Change { touched: segments, container: Some(container), depth, effect: Effect::Remove, splices })
    }

    /// Follows `key` as far as the tree goes. The trail holds each (container, index) passed.
    fn locate(&self, key: &KeyPath) -> Result<(Trail<'a>, Place<'a>), DocError> {
        let mut trail = Vec::new();
        let Some(mut current) = self.root else {
            return Ok((trail, Place::Missing { mapping: None, depth: 0 }));
        };
        let segments = key.segments();
        for (depth, segment) in segments.iter().enumerate() {
            self.check_not_aliased(current, &segments[..depth])?;
            let found = match &current.kind {
                Kind::Mapping { entries, keys, .. } => match keys.find(entries, segment) {
                    Some(at) => at,
                    None => return Ok((trail, Place::Missing { mapping: Some(current), depth })),
                },
                Kind::Sequence { items, .. } => match index(segment).filter(|at| *at < items.len()) {
                    Some(at) => at,
                    None => return Err(shape(key, "names no item of the list")),
                },
                Kind::Scalar { .. } if is_null(current) && !trail.is_empty() => {
                    let (container, index) = trail[trail.len() - 1];
                    return Ok((trail, Place::At { container, index, rest: segments.len() - depth }));
                }
                Kind::Alias(id) => return Err(self.through_alias(*id, &segments[..depth])),
                Kind::Scalar { .. } => return Err(shape(key, "goes through a value that is not a mapping")),
            };
            trail.push((current, found));
            current = child(current, found);
        }
        let (container, index) = trail[trail.len() - 1];
        Ok((trail, Place::At { container, index, rest: 0 }))
    }

    /// Replaces the value at `index` of `container`. `block` asks for block style (for mappings
    /// and lists stet creates) where the container is in block style.
    fn replace(
        &self,
        container: &Node,
        index: usize,
        value: &Value,
        block: bool,
    ) -> Result<Vec<Splice>, DocError> {
        let old = child(container, index);
        let layout = &self.layout;
        let Kind::Mapping { flow: false, entries, .. } = &container.kind else {
            // A list item, or an entry of a flow mapping: replaced in place, on one line.
            let (start, end) =
                if old.is_empty_scalar() { (old.start, old.start) } else { (old.start, old.end) };
            let separator = if old.is_empty_scalar() && start > 0 && layout.text.as_bytes()[start - 1] == b':'
            {
                " "
            } else {
                ""
            };
            return Ok(vec![Splice::new(
                start,
                end,
                format!("{separator}{}", render::inline(value, quote_of(old))),
            )]);
        };
        let key = &entries[index].0;
        let colon = layout.colon_after(key).ok_or_else(|| explicit_key(key))?;
        let key_line_end = layout.line_end(colon);
        let same_kind = matches!(
            (&old.kind, value),
            (Kind::Mapping { flow: false, .. }, Value::Object(_))
                | (Kind::Sequence { flow: false, .. }, Value::Array(_))
        );
        let wants_block = (block || same_kind) && is_nonempty_collection(value);
        let inline_old = old.start < key_line_end && !old.is_empty_scalar() && !is_block_scalar(old);
        if wants_block {
            let indent =
                if same_kind { layout.column(old.start) } else { layout.column(key.start) + layout.step };
            let rendered = render::block(value, layout.newline, indent, layout.step);
            if inline_old || is_block_scalar(old) {
                return Ok(vec![Splice::new(colon, old.end, rendered)]);
            }
            return Ok(vec![Splice::new(key_line_end, old.end.max(key_line_end), rendered)]);
        }
        let rendered = render::inline(value, quote_of(old));
        if inline_old {
            return Ok(vec![Splice::new(old.start, old.end, rendered)]);
        }
        if is_block_scalar(old) {
            return Ok(vec![Splice::new(colon, old.end, format!(" {rendered}"))]);
        }
        // An empty value, or a block collection below the key line: the new value goes right
        // after the colon (before a comment on the key line), and the old lines go.
        let mut splices = vec![Splice::insert(colon, format!(" {rendered}"))];
        if old.end > key_line_end {
            splices.push(Splice::new(key_line_end, old.end, ""));
        }
        Ok(splices)
    }

    /// Adds `name: value` at the end of `mapping` (after its last entry, before the comments
    /// that follow it).
    fn insert_entry(&self, mapping: Option<&Node>, name: &str, value: &Value, block: bool) -> Vec<Splice> {
        let layout = &self.layout;
        let name = render::string(name, Quote::Plain);
        let Some(mapping) = mapping else {
            let line = entry_line(layout, 0, &name, value, block);
            let text = layout.text;
            let splice = if text.is_empty() || text.ends_with('\n') {
                Splice::insert(text.len(), format!("{line}{}", layout.newline))
            } else {
                Splice::insert(text.len(), format!("{}{line}", layout.newline))
            };
            return vec![splice];
        };
        let Kind::Mapping { flow, entries, .. } = &mapping.kind else {
            unreachable!("entries go into mappings")
        };
        let is_root = self.root.is_some_and(|root| std::ptr::eq(root, mapping));
        if *flow && entries.is_empty() && is_root && layout.text[mapping.start..mapping.end] == *"{}" {
            // The `{}` of a document that had no keys gives way to the first one.
            let line = entry_line(layout, layout.column(mapping.start), &name, value, block);
            return vec![Splice::new(mapping.start, mapping.end, line)];
        }
        if *flow {
            let entry = format!("{name}: {}", render::inline(value, Quote::Plain));
            return vec![match entries.last() {
                Some((_, last)) => Splice::insert(last.end, format!(", {entry}")),
                None => Splice::insert(mapping.start + 1, entry),
            }];
        }
        let column = layout.column(mapping.start);
        let (_, last) = entries.last().expect("block mappings have entries");
        layout.insert_line_after(last.end, &entry_line(layout, column, &name, value, block))
    }

    fn append_item(&self, list: &Node, value: &Value) -> Vec<Splice> {
        let Kind::Sequence { flow, items } = &list.kind else { unreachable!("items go into lists") };
        let item = render::inline(value, Quote::Plain);
        if *flow {
            return vec![match items.last() {
                Some(final_item) => Splice::insert(final_item.end, format!(", {item}")),
                None => Splice::insert(list.start + 1, item),
            }];
        }
        let column = self.layout.column(list.start);
        let final_item = items.last().expect("block lists have items");
        self.layout.insert_line_after(final_item.end, &format!("{}- {item}", " ".repeat(column)))
    }

    /// Refuses an edit of `node` (at the key path `path`) when it is anchored and aliases use it:
    /// the edit would change them all, and the document's value says it must not.
    fn check_not_aliased(&self, node: &Node, path: &[String]) -> Result<(), DocError> {
        let Some(alias_line) = self.anchors.aliased.get(&node.anchor).filter(|_| node.anchor != 0) else {
            return Ok(());
        };
        let name = self.anchor_name(node.anchor);
        Err(DocError::Unsupported {
            message: format!(
                "`{}` is anchored as `&{name}`, edited values would change every alias (`*{name}` on line \
                 {alias_line}); edit the aliases' own keys instead",
                key_text(path)
            ),
        })
    }

    /// [`Self::check_not_aliased`] for every node inside `node`.
    fn check_no_aliased_anchor_within(&self, node: &Node, path: &[String]) -> Result<(), DocError> {
        if self.anchors.aliased.is_empty() {
            return Ok(());
        }
        self.check_not_aliased(node, path)?;
        match &node.kind {
            Kind::Mapping { entries, .. } => entries.iter().try_for_each(|(key, value)| {
                self.check_not_aliased(key, path)?;
                self.check_no_aliased_anchor_within(value, path)
            }),
            Kind::Sequence { items, .. } => {
                items.iter().try_for_each(|item| self.check_no_aliased_anchor_within(item, path))
            }
            Kind::Scalar { .. } | Kind::Alias(_) => Ok(()),
        }
    }

    fn through_alias(&self, id: usize, path: &[String]) -> DocError {
        let name = self.anchor_name(id);
        let line = self.anchors.names.get(&id).map_or(0, |(_, line)| *line);
        DocError::Unsupported {
            message: format!(
                "`{}` is an alias of `&{name}` (line {line}), edited values would change the anchor and every \
                 alias; edit the anchor's own key",
                key_text(path)
            ),
        }
    }

    fn anchor_name(&self, id: usize) -> &str {
        self.anchors.names.get(&id).map_or("", |(name, _)| name.as_str())
    }

    /// Removes the entry or item at `index` of `container`, with a block entry's own comments.
    fn remove(&self, container: &Node, index: usize) -> Splice {
        let layout = &self.layout;
        // Only the neighbours matter: collecting every entry's bounds would make each removal
        // O(n), and a merge removing many keys O(n²).
        let (flow, count, bounds): (bool, usize, &dyn Fn(usize) -> (usize, usize)) = match &container.kind {
            Kind::Mapping { flow, entries, .. } => {
                (*flow, entries.len(), &|at: usize| (entries[at].0.start, entries[at].1.end))
            }
            Kind::Sequence { flow, items } => {
                (*flow, items.len(), &|at: usize| (items[at].start, items[at].end))
            }
            _ => unreachable!("containers are collections"),
        };
        let (own_start, own_end) = bounds(index);
        let is_list = matches!(container.kind, Kind::Sequence { .. });
        // A block list item's lines start at its `-`, which may be on a line of its own above.
        let start =
            if is_list && !flow { layout.line_start(layout.dash_of_item(own_start)) } else { own_start };
        if !flow && (layout.starts_line(start) || is_list) {
            let from = layout.attached_comments_start(layout.line_start(start), layout.column(own_start));
            let from = if is_list { layout.line_start(start) } else { from };
            return Splice::new(from, layout.next_line_start(layout.line_end(own_end)), "");
        }
        let line_end = layout.line_end(own_end);
        if flow && layout.starts_line(own_start) && matches!(layout.text[own_end..line_end].trim(), "" | ",")
        {
            // A flow entry on lines of its own goes with its lines; the comma before it, if it
            // was the last, stays as a trailing comma, which YAML allows.
            return Splice::new(layout.line_start(own_start), layout.next_line_start(line_end), "");
        }
        if !flow && !is_list && index + 1 < count {
            // The first key of a list item's mapping, on the item's `- ` line: its text goes and
            // the `-` stays, so that the other keys' lines stay as they are (`-` then the
            // mapping on the lines below is the same item).
            let before = layout.text[..own_start].trim_end_matches(' ').len();
            return Splice::new(before, line_end, "");
        }
        if index + 1 < count {
            Splice::new(own_start, bounds(index + 1).0, "")
        } else if index > 0 {
            Splice::new(bounds(index - 1).1, own_end, "")
        } else {
            Splice::new(own_start, own_end, "")
        }
    }
}

fn entry_line(layout: &Layout<'_>, column: usize, name: &str, value: &Value, block: bool) -> String {
    let rendered = if block && is_nonempty_collection(value) {
        render::block(value, layout.newline, column + layout.step, layout.step)
    } else {
        format!(" {}", render::inline(value, Quote::Plain))
    };
    format!("{}{name}:{rendered}", " ".repeat(column))
}

/// `value` under the mappings `segments` name (`[value]` for a push).
fn nest(segments: &[String], value: &Value, push: bool) -> Value {
    let leaf = if push { Value::Array(vec![value.clone()]) } else { value.clone() };
    segments.iter().rev().fold(leaf, |inner, segment| {
        let mut map = Map::new();
        map.insert(segment.clone(), inner);
        Value::Object(map)
    })
}

fn child(container: &Node, index: usize) -> &Node {
    match &container.kind {
        Kind::Mapping { entries, .. } => &entries[index].1,
        Kind::Sequence { items, .. } => &items[index],
        _ => unreachable!("containers are collections"),
    }
}

fn is_null(node: &Node) -> bool {
    matches!(&node.kind, Kind::Scalar { text, style: ScalarStyle::Plain, tag: None }
        if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
}

fn is_block_scalar(node: &Node) -> bool {
    matches!(&node.kind, Kind::Scalar { style: ScalarStyle::Literal | ScalarStyle::Folded, .. })
}

fn is_nonempty_collection(value: &Value) -> bool {
    match value {
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
        _ => false,
    }
}

/// The quoting a replacement keeps: the old string's, where it can.
fn quote_of(old: &Node) -> Quote {
    match &old.kind {
        Kind::Scalar { style: ScalarStyle::SingleQuoted, .. } => Quote::Single,
        Kind::Scalar { style: ScalarStyle::DoubleQuoted, .. } => Quote::Double,
        _ => Quote::Plain,
    }
}

fn shape(key: &KeyPath, message: &str) -> DocError {
    DocError::Shape { key: key.to_string(), message: message.into() }
}

/// A key path as the user writes it (`(document)` for the whole document).
fn key_text(path: &[String]) -> String {
    if path.is_empty() { "(document)".to_owned() } else { path.join(".") }
}

fn explicit_key(key: &Node) -> DocError {
    DocError::Unsupported {
        message: format!(
            "line {}: the key `{}` is written as an explicit `? key`, which stet does not edit",
            key.line,
            scalar_text(key)
        ),
    }
}
