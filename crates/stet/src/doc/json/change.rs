//! One edit of a JSON document as text splices, the way VS Code's `jsonc-parser` `modify()`
//! makes them: a set replaces the span of the value it names; a new member or item goes after
//! its siblings in their style (on a line of its own with their indentation in a multi-line
//! collection, after `, ` or `,` in a one-line one, with a trailing comma if the last sibling
//! has one); a removed member takes its own comma, its own line and the comment lines directly
//! above it. Nothing else is touched.

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
    fn insert(at: usize, text: String) -> Self {
        Splice { start: at, end: at, text }
    }

    fn remove(start: usize, end: usize) -> Self {
        Splice { start, end, text: String::new() }
    }
}

/// Joins splices that overlap none of each other into the text.
pub(crate) fn apply(text: &str, mut splices: Vec<Splice>) -> String {
    splices.sort_by_key(|splice| (splice.start, splice.end));
    let mut out = String::with_capacity(text.len() + splices.iter().map(|splice| splice.text.len()).sum::<usize>());
    let mut at = 0;
    for splice in splices {
        debug_assert!(at <= splice.start, "splices do not overlap");
        out.push_str(&text[at..splice.start]);
        out.push_str(&splice.text);
        at = splice.end;
    }
    out.push_str(&text[at..]);
    out
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
            let op = Op::Insert { container: target, key: Some(rest[0].clone()), value: nest(&rest[1..], value) };
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
    Splice { start: node.start, end: node.end, text: layout.render(value, indent, &context.colon, &context.separator) }
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
    colon: String,
    separator: String,
    multiline: bool,
}

impl Context {
    /// The context of `container`'s entries (`None`: the document's root value).
    pub fn of(layout: &Layout<'_>, container: Option<&Node>) -> Context {
        let Some(container) = container else {
            return Context { colon: layout.colon.clone(), separator: layout.separator.clone(), multiline: true };
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
        && layout.text.trim_end().contains('\n')
}

/// Adds members (with a key) or items (without) holding their values at the end of `container`,
/// in order.
pub(crate) fn insert(layout: &Layout<'_>, container: &Node, added: &[(Option<String>, Value)]) -> Vec<Splice> {
    let entries = container.entries().expect("a container");
    let Context { colon, separator, multiline } = Context::of(layout, Some(container));
    let open = container.start;
    let close = container.end - 1;
    let newline = layout.newline;
    let indent = match multiline {
        false => None,
        true => Some(
            entries
                .iter()
                .rev()
                .find_map(|entry| layout.own_line_indent(entry.start))
                .map_or_else(|| format!("{}{}", layout.line_indent(open), layout.unit), str::to_owned),
        ),
    };
    let between = match &indent {
        Some(indent) => format!(",{newline}{indent}"),
        None => format!(",{separator}"),
    };
    let mut entry = String::new();
    for (at, (key, value)) in added.iter().enumerate() {
        if at > 0 {
            entry.push_str(&between);
        }
        if let Some(key) = key {
            entry.push_str(&serde_json::to_string(key).expect("a string serializes"));
            entry.push_str(&colon);
        }
        entry.push_str(&layout.render(value, indent.as_deref(), &colon, &separator));
    }
    let close_on_own_line = layout.own_line_indent(close).is_some();
    match (entries.last(), indent) {
        (Some(last), Some(indent)) => {
            let trailing = if last.comma.is_some() { "," } else { "" };
            let mut splices = Vec::new();
            if last.comma.is_none() {
                splices.push(Splice::insert(last.value.end, ",".into()));
            }
            if close_on_own_line {
                splices.push(Splice::insert(layout.line_start(close), format!("{indent}{entry}{trailing}{newline}")));
            } else {
                let after = last.comma.map_or(last.value.end, |comma| comma + 1);
                splices.push(Splice::insert(after, format!("{newline}{indent}{entry}{trailing}")));
            }
            splices
        }
        (Some(last), None) => match last.comma {
            Some(comma) => vec![Splice::insert(comma + 1, format!("{separator}{entry},"))],
            None => vec![Splice::insert(last.value.end, format!(",{separator}{entry}"))],
        },
        (None, Some(indent)) => {
            let outer = layout.line_indent(open);
            if close_on_own_line {
                vec![Splice::insert(layout.line_start(close), format!("{indent}{entry}{newline}"))]
            } else if layout.text[open + 1..close].trim().is_empty() {
                vec![Splice { start: open + 1, end: close, text: format!("{newline}{indent}{entry}{newline}{outer}") }]
            } else {
                vec![Splice::insert(close, format!("{newline}{indent}{entry}{newline}{outer}"))]
            }
        }
        (None, None) => {
            let inside = &layout.text[open + 1..close];
            if !inside.is_empty() && inside.trim().is_empty() {
                vec![Splice { start: open + 1, end: close, text: format!("{inside}{entry}{inside}") }]
            } else {
                vec![Splice::insert(close, entry)]
            }
        }
    }
}

/// Removes the entries `removed` (ascending) of `container`: each with its own line and comment
/// lines where it has a line of its own, else with its comma and the space up to the next entry.
pub(crate) fn remove(layout: &Layout<'_>, container: &Node, removed: &[usize]) -> Vec<Splice> {
    let entries = container.entries().expect("a container");
    let open = container.start;
    let close = container.end - 1;
    let end_of = |entry: &Entry| entry.comma.map_or(entry.value.end, |comma| comma + 1);
    if removed.len() == entries.len() {
        let mut outside = layout.text[open + 1..entries[0].start].to_owned();
        for pair in entries.windows(2) {
            outside.push_str(&layout.text[end_of(&pair[0])..pair[1].start]);
        }
        outside.push_str(&layout.text[end_of(entries.last().expect("not empty"))..close]);
        if outside.trim().is_empty() {
            return vec![Splice::remove(open + 1, close)];
        }
    }
    // The removed entries that end the collection, from `tail` on; the one before stays.
    let mut tail = entries.len();
    while tail > 0 && removed.binary_search(&(tail - 1)).is_ok() {
        tail -= 1;
    }
    let multiline = layout.multiline(container);
    let own_lines = |entry: &Entry| {
        (multiline && layout.own_line_indent(entry.start).is_some())
            .then(|| rest_of_line(layout.text, end_of(entry)))
            .flatten()
            .map(|line_end| Splice::remove(own_comment_lines(layout, layout.line_start(entry.start)), line_end))
    };
    let mut splices = Vec::new();
    for &at in removed.iter().filter(|at| **at < tail) {
        let entry = &entries[at];
        splices.push(own_lines(entry).unwrap_or_else(|| Splice::remove(entry.start, entries[at + 1].start)));
    }
    if tail == entries.len() {
        return splices;
    }
    let last = entries.last().expect("not empty");
    let kept = tail.checked_sub(1).map(|before| &entries[before]);
    let tail_lines: Option<Vec<Splice>> = entries[tail..].iter().map(own_lines).collect();
    match (tail_lines, kept) {
        (Some(lines), kept) => {
            splices.extend(lines);
            // The entry left last loses its comma unless the last one had one (a trailing comma).
            if last.comma.is_none()
                && let Some(comma) = kept.and_then(|kept| kept.comma)
            {
                splices.push(Splice::remove(comma, comma + 1));
            }
        }
        (None, Some(kept)) => {
            let comma = kept.comma.expect("an entry followed by another has a comma");
            splices.push(match last.comma {
                Some(own) => Splice::remove(comma + 1, own + 1),
                None => Splice::remove(comma, last.value.end),
            });
        }
        (None, None) => splices.push(Splice::remove(entries[0].start, end_of(last))),
    }
    splices
}

/// Where the line that `at` stands in ends (after its line break), if only spaces and comments
/// that end on it follow `at`.
fn rest_of_line(text: &str, mut at: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    loop {
        match bytes.get(at) {
            Some(b' ' | b'\t' | b'\r') => at += 1,
            Some(b'\n') => return Some(at + 1),
            None => return Some(at),
            Some(b'/') if bytes.get(at + 1) == Some(&b'/') => {
                return Some(text[at..].find('\n').map_or(text.len(), |length| at + length + 1));
            }
            Some(b'/') if bytes.get(at + 1) == Some(&b'*') => {
                let length = text[at + 2..].find("*/")?;
                if text[at..at + 2 + length].contains('\n') {
                    return None;
                }
                at += 2 + length + 2;
            }
            Some(_) => return None,
        }
    }
}

/// The start of the comment lines directly above the line starting at `line`: lines holding
/// only a comment, with no blank line between.
fn own_comment_lines(layout: &Layout<'_>, mut line: usize) -> usize {
    while line > 0 {
        let above = layout.line_start(line - 1);
        let content = layout.text[above..line].trim();
        let comment = content.starts_with("//") || (content.starts_with("/*") && content.ends_with("*/"));
        if !comment {
            break;
        }
        line = above;
    }
    line
}
