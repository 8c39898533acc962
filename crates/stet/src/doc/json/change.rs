//! Edits of a JSON document as text splices, the way VS Code's `jsonc-parser` `modify()` makes
//! them: an edit is located in the tree, and a set replaces the span of the value it names.
//! Adding entries ([`super::insert`]) and removing them ([`super::remove`]) have files of their own.

use serde_json::{Map, Value};

use super::layout::Layout;
use super::syntax::{Entry, Kind, Node};
use crate::doc::edit::Edit;
use crate::doc::key::index;

/// Replace `start..end` with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Splice {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl Splice {
    pub(super) fn insert(at: usize, text: String) -> Self {
        Splice { start: at, end: at, text }
    }

    pub(super) fn remove(start: usize, end: usize) -> Self {
        Splice { start, end, text: String::new() }
    }
}

/// Joins splices that overlap none of each other into the text.
pub(crate) fn apply(text: &str, mut splices: Vec<Splice>) -> String {
    splices.sort_by_key(|splice| (splice.start, splice.end));
    crate::doc::splice::join(
        text,
        splices.iter().map(|splice| (splice.start, splice.end, splice.text.as_str())),
    )
}

/// What one edit does to the tree it was located in.
pub(crate) enum Op<'n> {
    /// Write `value` over `node`, an entry's value in `container` (`None`: the root).
    Replace { node: &'n Node, container: Option<&'n Node>, value: Value },
    /// Add a member `key` (an item, for `None`) holding `value` at the end of `container`.
    Insert { container: &'n Node, key: Option<String>, value: Value },
    /// Remove entry `at` of `container`.
    Remove { container: &'n Node, at: usize },
    /// Remove a key that is not there.
    Nothing,
}

/// An edit located in the tree, and the key path of the part of the document it touches:
/// edits whose paths are apart may be made on one tree together.
pub(crate) struct Located<'n> {
    pub op: Op<'n>,
    pub touched: Vec<String>,
}

/// Locates `edit` in the document `root`.
pub(crate) fn locate_edit<'n>(root: &'n Node, edit: &Edit) -> Located<'n> {
    let segments = edit_key(edit).segments();
    let path = locate(root, segments);
    let target = path.target();
    let found = segments[..path.found].to_vec();
    let in_array = |found: &[String]| -> Vec<String> {
        // An edit that adds or removes an item moves those after it: it touches the whole list.
        found[..found.len().saturating_sub(1)].to_vec()
    };
    match edit {
        Edit::Push { value, .. } if matches!(target.kind, Kind::Array(_)) && path.found == segments.len() => {
            Located { op: Op::Insert { container: target, key: None, value: value.clone() }, touched: found }
        }
        Edit::Set { value, .. } | Edit::Push { value, .. } => {
            let value = match edit {
                Edit::Push { .. } => Value::Array(vec![value.clone()]),
                _ => value.clone(),
            };
            let rest = &segments[path.found..];
            if rest.is_empty() || !matches!(target.kind, Kind::Object(..)) {
                // The value itself, or a null on the way that becomes a mapping (the plan refuses
                // other values in the way before the text is touched).
                let container = path.steps.last().map(|&(container, _)| container);
                let op = Op::Replace { node: target, container, value: nest(rest, value) };
                return Located { op, touched: found };
            }
            let mut touched = found;
            touched.push(rest[0].clone());
            let op =
                Op::Insert { container: target, key: Some(rest[0].clone()), value: nest(&rest[1..], value) };
            Located { op, touched }
        }
        Edit::Unset { .. } => match path.steps.last() {
            Some(&(container, at)) if path.found == segments.len() => {
                let touched = match container.kind {
                    Kind::Array(_) => in_array(&found),
                    _ => found,
                };
                Located { op: Op::Remove { container, at }, touched }
            }
            _ => Located { op: Op::Nothing, touched: segments.to_vec() },
        },
        Edit::Merge { .. } => unreachable!("merges are expanded into sets and unsets first"),
    }
}

fn edit_key(edit: &Edit) -> &crate::doc::KeyPath {
    match edit {
        Edit::Set { key, .. } | Edit::Unset { key } | Edit::Push { key, .. } => key,
        Edit::Merge { .. } => unreachable!("merges are expanded into sets and unsets first"),
    }
}

/// The nodes a key path passes through, as far as they exist.
struct Path<'n> {
    root: &'n Node,
    /// Each container passed and the index of the entry taken in it.
    steps: Vec<(&'n Node, usize)>,
    /// How many segments were found.
    found: usize,
}

impl<'n> Path<'n> {
    /// The node the found segments lead to.
    fn target(&self) -> &'n Node {
        match self.steps.last() {
            Some(&(container, at)) => &container.entries().expect("a container")[at].value,
            None => self.root,
        }
    }
}

fn locate<'n>(root: &'n Node, segments: &[String]) -> Path<'n> {
    let mut path = Path { root, steps: Vec::new(), found: 0 };
    let mut current = root;
    for segment in segments {
        let at = match &current.kind {
            Kind::Object(..) => current.member(segment),
            Kind::Array(entries) => index(segment).filter(|at| *at < entries.len()),
            Kind::Scalar => None,
        };
        let Some(at) = at else { break };
        path.steps.push((current, at));
        path.found += 1;
        current = &current.entries().expect("a container")[at].value;
    }
    path
}

/// The splice that writes `value` over `node`, in a collection written as `context` says.
pub(crate) fn replace(layout: &Layout<'_>, node: &Node, context: &Context, value: &Value) -> Splice {
    let indent = context.multiline.then(|| layout.line_indent(node.start));
    Splice {
        start: node.start,
        end: node.end,
        text: layout.render(value, indent, &context.colon, &context.separator),
    }
}

/// `value` under the keys `rest`, innermost last.
fn nest(rest: &[String], value: Value) -> Value {
    rest.iter().rev().fold(value, |value, key| {
        let mut map = Map::new();
        map.insert(key.clone(), value);
        Value::Object(map)
    })
}

/// How values are written in a collection: the colon, what follows commas, and whether entries
/// go on lines of their own.
pub(crate) struct Context {
    pub colon: String,
    pub separator: String,
    pub multiline: bool,
}

impl Context {
    /// The context of `container`'s entries (`None`: the document's root value).
    pub fn of(layout: &Layout<'_>, container: Option<&Node>) -> Context {
        let Some(container) = container else {
            return Context {
                colon: layout.colon.clone(),
                separator: layout.separator.clone(),
                multiline: true,
            };
        };
        Context {
            colon: layout.colon_of(container).unwrap_or_else(|| layout.colon.clone()),
            separator: layout.separator_of(container.entries().unwrap_or_default()),
            multiline: layout.multiline(container) || expands(layout, container),
        }
    }
}

/// Whether an empty one-line collection takes a new entry on a line of its own: inside a
/// multi-line document, as a formatter would write it.
fn expands(layout: &Layout<'_>, container: &Node) -> bool {
    container.entries().is_some_and(<[Entry]>::is_empty)
        && layout.text[container.start + 1..container.end - 1].trim().is_empty()
        && layout.multiline_document
}
