//! What one edit changes in a TOML text, as splices of the original: the value's own span for a
//! set, the key's lines and its own comment for an unset, one new line after the table's last
//! key for a new key. Nothing else is re-rendered.

use std::ops::Range;

use serde_json::Value;
use toml_edit::{Array, ArrayOfTables, InlineTable, Item, Table};

use super::place::Places;
use super::read::table_value;
use super::render;
use super::text::{indentation, line_end, line_start, own_comment_start};
use crate::doc::edit::{Edit, diff};
use crate::doc::error::DocError;
use crate::doc::key::{KeyPath, index};

/// A range of the text and what replaces it.
pub(crate) type Splice = (Range<usize>, String);

/// The parsed text an edit is planned against.
pub(crate) struct Context<'t, 'd> {
    pub text: &'t str,
    pub root: &'d Table,
    pub places: &'d Places,
    /// The document's line break, for lines an edit adds.
    pub newline: &'t str,
}

/// A part of the document along a key path.
#[derive(Clone, Copy)]
enum Node<'d> {
    /// The root, a `[table]` or `[[table]]` section, a dotted-key table or an implicit one.
    Table(&'d Table),
    /// An array of tables (`[[bin]]`).
    Tables(&'d ArrayOfTables),
    /// A value, an inline table or an array of values among them.
    Value(&'d toml_edit::Value),
}

fn child<'d>(node: Node<'d>, segment: &str) -> Option<Node<'d>> {
    match node {
        Node::Table(table) => match table.get(segment)? {
            Item::Table(inner) => Some(Node::Table(inner)),
            Item::ArrayOfTables(tables) => Some(Node::Tables(tables)),
            Item::Value(value) => Some(Node::Value(value)),
            Item::None => None,
        },
        Node::Tables(tables) => index(segment).and_then(|at| tables.get(at)).map(Node::Table),
        Node::Value(toml_edit::Value::InlineTable(table)) => table.get(segment).map(Node::Value),
        Node::Value(toml_edit::Value::Array(items)) => {
            index(segment).and_then(|at| items.get(at)).map(Node::Value)
        }
        Node::Value(_) => None,
    }
}

/// The root, then the node of each segment of the path that is there.
fn walk<'d>(root: &'d Table, segments: &[String]) -> Vec<Node<'d>> {
    let mut nodes = vec![Node::Table(root)];
    for segment in segments {
        match child(*nodes.last().expect("the root is there"), segment) {
            Some(node) => nodes.push(node),
            None => break,
        }
    }
    nodes
}

/// A table whose keys follow its own header line (or the root).
fn is_section(table: &Table) -> bool {
    !table.is_implicit() && !table.is_dotted()
}

/// The splices `edit` makes, and how much of its key path it changes (the edits of one pass
/// must not change paths within each other: the spans they are planned on would be stale).
pub(crate) fn splices(cx: &Context<'_, '_>, edit: &Edit) -> Result<(Vec<Splice>, usize), DocError> {
    let mut out = Vec::new();
    let key = match edit {
        Edit::Set { key, value } => {
            set(cx, key, key.segments(), value, &mut out)?;
            key
        }
        Edit::Unset { key } => {
            unset(cx, key.segments(), &mut out)?;
            key
        }
        Edit::Push { key, value } => {
            push(cx, key, value, &mut out)?;
            key
        }
        Edit::Merge { .. } => unreachable!("merges are expanded into sets and unsets first"),
    };
    let nodes = walk(cx.root, key.segments());
    let mut touched = nodes.len().min(key.segments().len());
    if let Some(list) = nodes
        .iter()
        .position(|node| matches!(node, Node::Tables(_) | Node::Value(toml_edit::Value::Array(_))))
    {
        touched = touched.min(list.max(1));
    }
    Ok((out, touched))
}

fn set(
    cx: &Context<'_, '_>,
    key: &KeyPath,
    segments: &[String],
    value: &Value,
    out: &mut Vec<Splice>,
) -> Result<(), DocError> {
    let nodes = walk(cx.root, segments);
    if nodes.len() <= segments.len() {
        return insert(cx, key, &nodes, segments, value, out);
    }
    let parents = &nodes[..nodes.len() - 1];
    match nodes[nodes.len() - 1] {
        Node::Value(old) => {
            out.push((span(old.span())?, render::value(value, Some(old), key)?));
        }
        Node::Table(table) if value.is_object() => {
            for edit in diff(&table_value(cx.text, table), value) {
                match &edit {
                    Edit::Set { key: sub, value } => {
                        let sub = KeyPath::from_segments(absolute(segments, sub));
                        set(cx, &sub, sub.segments(), value, out)?;
                    }
                    Edit::Unset { key: sub } => unset(cx, &absolute(segments, sub), out)?,
                    _ => unreachable!("a diff is sets and unsets"),
                }
            }
        }
        Node::Table(table) => {
            table_ranges(cx, table, &mut removals(out));
            insert(cx, key, parents, segments, value, out)?;
        }
        Node::Tables(tables) => {
            for table in tables {
                table_ranges(cx, table, &mut removals(out));
            }
            insert(cx, key, parents, segments, value, out)?;
        }
    }
    Ok(())
}

/// The path of a diff's key, which is relative to the value diffed.
fn absolute(at: &[String], relative: &KeyPath) -> Vec<String> {
    at.iter().chain(relative.segments()).cloned().collect()
}

/// A sink of ranges to remove.
struct Removals<'a>(&'a mut Vec<Splice>);

impl Removals<'_> {
    fn push(&mut self, range: Range<usize>) {
        self.0.push((range, String::new()));
    }
}

fn removals(out: &mut Vec<Splice>) -> Removals<'_> {
    Removals(out)
}

/// A new key (and the tables on its way) in the deepest table of `nodes` that exists.
fn insert(
    cx: &Context<'_, '_>,
    key: &KeyPath,
    nodes: &[Node<'_>],
    segments: &[String],
    value: &Value,
    out: &mut Vec<Splice>,
) -> Result<(), DocError> {
    let depth = nodes.len() - 1;
    match nodes[depth] {
        Node::Table(table) => {
            let section = (0..=depth)
                .rev()
                .find(|at| matches!(nodes[*at], Node::Table(table) if is_section(table)))
                .expect("the root is a section");
            let Node::Table(section_table) = nodes[section] else { unreachable!("found as a table") };
            let place = cx.places.of(if table.is_dotted() { table } else { section_table });
            let name: Vec<String> = segments[section..].to_vec();
            let line =
                format!("{}{} = {}", place.indent, render::key(&name), render::value(value, None, key)?);
            out.push(new_lines(cx, place.at, &line));
        }
        Node::Value(toml_edit::Value::InlineTable(_)) => {
            // A dotted key inside an inline table (`{ a.b = 1 }`) is written in the braces it
            // is in, with its dotted path.
            let (outer, table) = enclosing_inline(nodes, depth);
            let member =
                format!("{} = {}", render::key(&segments[outer..]), render::value(value, None, key)?);
            match table.get_values().iter().filter_map(|(_, value)| value.span()).map(|span| span.end).max() {
                None => out.push((span(table.span())?, format!("{{ {member} }}"))),
                Some(end) => out.push((end..end, format!(", {member}"))),
            }
        }
        _ => return Err(cannot(key, "there is no table there to add it to")),
    }
    Ok(())
}

/// `lines` (joined by the document's line break) inserted at `at`, the end of a line: a file
/// that ends without a line break keeps ending without one.
fn new_lines(cx: &Context<'_, '_>, at: usize, lines: &str) -> Splice {
    if at == cx.text.len() && !cx.text.is_empty() && !cx.text.ends_with('\n') {
        (at..at, format!("{}{lines}", cx.newline))
    } else {
        (at..at, format!("{lines}{}", cx.newline))
    }
}

fn unset(cx: &Context<'_, '_>, segments: &[String], out: &mut Vec<Splice>) -> Result<(), DocError> {
    let nodes = walk(cx.root, segments);
    if nodes.len() <= segments.len() {
        return Ok(());
    }
    let name = &segments[segments.len() - 1];
    match (nodes[nodes.len() - 2], nodes[nodes.len() - 1]) {
        (Node::Table(parent), Node::Value(value)) => {
            let key_start = span(parent.key(name).and_then(toml_edit::Key::span))?.start;
            let value_end = span(value.span())?.end;
            if parent.is_dotted() && parent.len() == 1 {
                // The last key of `a.b = 1` goes, `a` stays (as `{}`), as it does in every other format.
                let section = (0..nodes.len() - 1)
                    .rev()
                    .find(|at| matches!(nodes[*at], Node::Table(table) if is_section(table)))
                    .expect("the root is a section");
                let start = line_start(cx.text, key_start);
                let empty = format!(
                    "{}{} = {{}}",
                    indentation(cx.text, key_start),
                    render::key(&segments[section..segments.len() - 1])
                );
                out.push((start..value_end, empty));
            } else {
                let start = own_comment_start(cx.text, line_start(cx.text, key_start));
                removals(out).push(start..line_end(cx.text, value_end));
            }
        }
        (Node::Tables(tables), Node::Table(_)) if tables.len() == 1 => {
            let list = segments[..segments.len() - 1].join(".");
            return Err(DocError::Unsupported {
                message: format!(
                    "{}: it is the only table of the array of tables `[[{list}]]`, and TOML cannot write \
                     an empty one; unset `{list}` instead",
                    segments.join(".")
                ),
            });
        }
        (_, Node::Table(table)) => table_ranges(cx, table, &mut removals(out)),
        (_, Node::Tables(tables)) => {
            for table in tables {
                table_ranges(cx, table, &mut removals(out));
            }
        }
        (Node::Value(toml_edit::Value::InlineTable(_)), Node::Value(_)) => {
            remove_member(cx, &nodes, segments, out)?;
        }
        (Node::Value(toml_edit::Value::Array(items)), Node::Value(_)) => {
            remove_item(cx, items, index(name).expect("found by index"), out)?;
        }
        _ => {
            return Err(cannot(&KeyPath::from_segments(segments.to_vec()), "it is not in a table or a list"));
        }
    }
    Ok(())
}

/// The lines of a table and everything in it: its header with its own comment through its last
/// key, and the same for each table under it, wherever it is.
fn table_ranges(cx: &Context<'_, '_>, table: &Table, out: &mut Removals<'_>) {
    if is_section(table)
        && let Some(header) = table.span()
    {
        let start = own_comment_start(cx.text, line_start(cx.text, header.start));
        let end = line_end(cx.text, header.end).max(cx.places.of(table).at);
        out.push(start..end);
    }
    for (name, item) in table {
        match item {
            Item::Value(value) if table.is_dotted() => {
                if let (Some(key), Some(value)) =
                    (table.key(name).and_then(toml_edit::Key::span), value.span())
                {
                    let start = own_comment_start(cx.text, line_start(cx.text, key.start));
                    out.push(start..line_end(cx.text, value.end));
                }
            }
            Item::Table(inner) if inner.is_dotted() && !table.is_dotted() => sections_under(cx, inner, out),
            Item::Table(inner) => table_ranges(cx, inner, out),
            Item::ArrayOfTables(tables) => {
                for inner in tables {
                    table_ranges(cx, inner, out);
                }
            }
            Item::Value(_) | Item::None => {}
        }
    }
}

/// The sections under a dotted-key table whose own lines are already removed with its section.
fn sections_under(cx: &Context<'_, '_>, table: &Table, out: &mut Removals<'_>) {
    for (_, item) in table {
        match item {
            Item::Table(inner) if inner.is_dotted() => sections_under(cx, inner, out),
            Item::Table(inner) => table_ranges(cx, inner, out),
            Item::ArrayOfTables(tables) => {
                for inner in tables {
                    table_ranges(cx, inner, out);
                }
            }
            Item::Value(_) | Item::None => {}
        }
    }
}

fn push(cx: &Context<'_, '_>, key: &KeyPath, value: &Value, out: &mut Vec<Splice>) -> Result<(), DocError> {
    let segments = key.segments();
    let nodes = walk(cx.root, segments);
    if nodes.len() <= segments.len() {
        return insert(cx, key, &nodes, segments, &Value::Array(vec![value.clone()]), out);
    }
    match nodes[nodes.len() - 1] {
        Node::Value(toml_edit::Value::Array(items)) => push_item(cx, key, items, value, out),
        Node::Tables(tables) => push_table(cx, key, &nodes, tables, value, out),
        _ => Err(cannot(key, "it is not a list")),
    }
}

fn push_item(
    cx: &Context<'_, '_>,
    key: &KeyPath,
    items: &Array,
    value: &Value,
    out: &mut Vec<Splice>,
) -> Result<(), DocError> {
    let text = cx.text;
    let whole = span(items.span())?;
    let Some(last) = items.get(items.len().wrapping_sub(1)) else {
        out.push((whole, format!("[{}]", render::value(value, None, key)?)));
        return Ok(());
    };
    let item = render::value(value, Some(last), key)?;
    let last = span(last.span())?;
    let after_line = line_end(text, last.end);
    let comma = text[last.end..after_line].trim_start().starts_with(',');
    let own_lines =
        text[line_start(text, last.start)..last.start].trim().is_empty() && after_line < whole.end;
    if own_lines {
        let indent = indentation(text, last.start);
        if comma {
            out.push((after_line..after_line, format!("{indent}{item},{}", cx.newline)));
        } else {
            out.push((last.end..last.end, ",".into()));
            out.push((after_line..after_line, format!("{indent}{item}{}", cx.newline)));
        }
    } else {
        out.push((last.end..last.end, format!(", {item}")));
    }
    Ok(())
}

fn push_table(
    cx: &Context<'_, '_>,
    key: &KeyPath,
    nodes: &[Node<'_>],
    tables: &ArrayOfTables,
    value: &Value,
    out: &mut Vec<Splice>,
) -> Result<(), DocError> {
    let Value::Object(members) = value else {
        return Err(DocError::Shape {
            key: key.to_string(),
            message: "is a list of tables (`[[...]]`); only a mapping can be pushed to it".into(),
        });
    };
    // The header names the path without the indexes of lists of tables on the way, which a
    // `[[a.b]]` header takes as the last table of `a`.
    let header: Vec<String> = key
        .segments()
        .iter()
        .enumerate()
        .filter(|(at, _)| !matches!(nodes[*at], Node::Tables(_)))
        .map(|(_, segment)| segment.clone())
        .collect();
    let mut lines = vec![format!("[[{}]]", render::key(&header))];
    for (name, member) in members {
        lines.push(format!(
            "{} = {}",
            render::key(std::slice::from_ref(name)),
            render::value(member, None, key)?
        ));
    }
    let mut extent = Vec::new();
    if let Some(last) = tables.get(tables.len().wrapping_sub(1)) {
        table_ranges(cx, last, &mut removals(&mut extent));
    }
    let at = extent.iter().map(|(range, _)| range.end).max().unwrap_or(cx.text.len());
    out.push(new_lines(cx, at, &lines.join(cx.newline)));
    Ok(())
}

/// The inline table, with its braces, that the one at `nodes[depth]` is (or is a dotted key
/// of), and its depth.
fn enclosing_inline<'d>(nodes: &[Node<'d>], depth: usize) -> (usize, &'d InlineTable) {
    (0..=depth)
        .rev()
        .find_map(|at| match nodes[at] {
            Node::Value(toml_edit::Value::InlineTable(table)) if !table.is_dotted() => Some((at, table)),
            _ => None,
        })
        .expect("a dotted inline table is inside braces")
}

/// Removes a key of an inline table with the comma between it and its neighbour; the last key
/// of a dotted one (`{ a.b = 1 }`) leaves its table, as `a = {}`.
fn remove_member(
    cx: &Context<'_, '_>,
    nodes: &[Node<'_>],
    segments: &[String],
    out: &mut Vec<Splice>,
) -> Result<(), DocError> {
    let depth = nodes.len() - 2;
    let Node::Value(target) = nodes[depth + 1] else { unreachable!("a member is a value") };
    let (outer, table) = enclosing_inline(nodes, depth);
    let mut members = Vec::new();
    for (_, value) in table.get_values() {
        let value_span = span(value.span())?;
        members.push((std::ptr::eq(value, target), member_start(cx.text, value_span.start)..value_span.end));
    }
    members.sort_by_key(|(_, range)| range.start);
    if let Node::Value(toml_edit::Value::InlineTable(parent)) = nodes[depth]
        && parent.is_dotted()
        && parent.len() == 1
        && let Some((_, range)) = members.iter().find(|(target, _)| *target)
    {
        let empty = format!("{} = {{}}", render::key(&segments[outer..segments.len() - 1]));
        out.push((range.clone(), empty));
        return Ok(());
    }
    remove_between_neighbours(&members, span(table.span())?, "{}", out);
    Ok(())
}

/// Where the member of an inline table whose value starts at `value_start` starts: after the
/// brace or comma before its key.
fn member_start(text: &str, value_start: usize) -> usize {
    let before = &text[..value_start];
    let key_start = before.rfind(['{', ',']).map_or(0, |at| at + 1);
    key_start + (before.len() - key_start - before[key_start..].trim_start().len())
}

/// Removes an item of an array: its own lines when it has them, else with the comma between it
/// and its neighbour.
fn remove_item(
    cx: &Context<'_, '_>,
    items: &Array,
    at: usize,
    out: &mut Vec<Splice>,
) -> Result<(), DocError> {
    let text = cx.text;
    let mut spans = Vec::new();
    for (position, item) in items.iter().enumerate() {
        spans.push((position == at, span(item.span())?));
    }
    let (_, item) = spans[at].clone();
    let start = line_start(text, item.start);
    let end = line_end(text, item.end);
    let after = text[item.end..end].trim_start();
    let after = after.strip_prefix(',').unwrap_or(after).trim_start();
    if spans.len() > 1
        && text[start..item.start].trim().is_empty()
        && (after.is_empty() || after.starts_with('#'))
    {
        removals(out).push(start..end);
        return Ok(());
    }
    remove_between_neighbours(&spans, span(items.span())?, "[]", out);
    Ok(())
}

fn remove_between_neighbours(
    members: &[(bool, Range<usize>)],
    whole: Range<usize>,
    empty: &str,
    out: &mut Vec<Splice>,
) {
    let Some(at) = members.iter().position(|(target, _)| *target) else { return };
    let range = match (at.checked_sub(1), members.get(at + 1)) {
        (_, _) if members.len() == 1 => {
            out.push((whole, empty.into()));
            return;
        }
        (_, Some((_, next))) => members[at].1.start..next.start,
        (Some(previous), None) => members[previous].1.end..members[at].1.end,
        (None, None) => return,
    };
    removals(out).push(range);
}

fn span(span: Option<Range<usize>>) -> Result<Range<usize>, DocError> {
    span.ok_or_else(|| DocError::Unsupported {
        message: "stet could not locate a part of the TOML document it parsed; nothing was written".into(),
    })
}

fn cannot(key: &KeyPath, why: &str) -> DocError {
    DocError::Unsupported {
        message: format!("{key}: stet cannot make this edit to the TOML document: {why}"),
    }
}
