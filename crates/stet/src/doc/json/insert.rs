//! Adding members and items: after the last entry of their collection, in its siblings' style.
//!
//! In a multi-line collection a new entry goes on a line of its own before the closing bracket's
//! line, at the last sibling's indentation, with a comma added after the old last value (before
//! any comment beside it) and a trailing comma if the old last entry had one. In a one-line
//! collection it follows `,` and the space the first comma has. An empty `{}` in a multi-line
//! document opens across lines.

use serde_json::Value;

use super::change::{Context, Splice};
use super::layout::Layout;
use super::syntax::{Entry, Node};

/// Adds members (with a key) or items (without) holding their values at the end of `container`,
/// in order.
pub(crate) fn insert(
    layout: &Layout<'_>,
    container: &Node,
    added: &[(Option<String>, Value)],
) -> Vec<Splice> {
    let entries = container.entries().expect("a container");
    let context = Context::of(layout, Some(container));
    let indent = context.multiline.then(|| {
        entries
            .iter()
            .rev()
            .find_map(|entry| layout.own_line_indent(entry.start))
            .map_or_else(|| format!("{}{}", layout.line_indent(container.start), layout.unit), str::to_owned)
    });
    let text = written(layout, added, indent.as_deref(), &context);
    match (entries.last(), indent) {
        (Some(last), Some(indent)) => after_last_line(layout, container, last, &indent, &text),
        (Some(last), None) => match last.comma {
            Some(comma) => vec![Splice::insert(comma + 1, format!("{}{text},", context.separator))],
            None => vec![Splice::insert(last.value.end, format!(",{}{text}", context.separator))],
        },
        (None, Some(indent)) => into_empty_across_lines(layout, container, &indent, &text),
        (None, None) => {
            let (open, close) = (container.start, container.end - 1);
            let inside = &layout.text[open + 1..close];
            if !inside.is_empty() && inside.trim().is_empty() {
                vec![Splice { start: open + 1, end: close, text: format!("{inside}{text}{inside}") }]
            } else {
                vec![Splice::insert(close, text)]
            }
        }
    }
}

/// The new entries' text, joined by commas (and line breaks and `indent`, across lines).
fn written(
    layout: &Layout<'_>,
    added: &[(Option<String>, Value)],
    indent: Option<&str>,
    context: &Context,
) -> String {
    let between = match indent {
        Some(indent) => format!(",{}{indent}", layout.newline),
        None => format!(",{}", context.separator),
    };
    let mut text = String::new();
    for (at, (key, value)) in added.iter().enumerate() {
        if at > 0 {
            text.push_str(&between);
        }
        if let Some(key) = key {
            text.push_str(&serde_json::to_string(key).expect("a string serializes"));
            text.push_str(&context.colon);
        }
        text.push_str(&layout.render(value, indent, &context.colon, &context.separator));
    }
    text
}

/// New entries on lines of their own after `last`, the old last entry of a multi-line collection.
fn after_last_line(
    layout: &Layout<'_>,
    container: &Node,
    last: &Entry,
    indent: &str,
    text: &str,
) -> Vec<Splice> {
    let newline = layout.newline;
    let close = container.end - 1;
    let trailing = if last.comma.is_some() { "," } else { "" };
    let mut splices = Vec::new();
    if last.comma.is_none() {
        splices.push(Splice::insert(last.value.end, ",".into()));
    }
    if layout.own_line_indent(close).is_some() {
        splices.push(Splice::insert(layout.line_start(close), format!("{indent}{text}{trailing}{newline}")));
    } else {
        let after = last.comma.map_or(last.value.end, |comma| comma + 1);
        splices.push(Splice::insert(after, format!("{newline}{indent}{text}{trailing}")));
    }
    splices
}

/// New entries on lines of their own in an empty collection.
fn into_empty_across_lines(layout: &Layout<'_>, container: &Node, indent: &str, text: &str) -> Vec<Splice> {
    let newline = layout.newline;
    let (open, close) = (container.start, container.end - 1);
    let outer = layout.line_indent(open);
    if layout.own_line_indent(close).is_some() {
        vec![Splice::insert(layout.line_start(close), format!("{indent}{text}{newline}"))]
    } else if layout.text[open + 1..close].trim().is_empty() {
        vec![Splice { start: open + 1, end: close, text: format!("{newline}{indent}{text}{newline}{outer}") }]
    } else {
        vec![Splice::insert(close, format!("{newline}{indent}{text}{newline}{outer}"))]
    }
}
