//! Removing members and items: each with its own comma, and where it stands alone on its lines,
//! with those lines and the comment lines directly above it (no blank line between).

use super::change::Splice;
use super::layout::Layout;
use super::syntax::{Entry, Node};

/// Removes the entries `removed` (ascending) of `container`: each with its own line and comment
/// lines where it has a line of its own, else with its comma and the space up to the next entry.
pub(crate) fn remove(layout: &Layout<'_>, container: &Node, removed: &[usize]) -> Vec<Splice> {
    let entries = container.entries().expect("a container");
    if removed.len() == entries.len()
        && let Some(emptied) = emptied(layout, container)
    {
        return vec![emptied];
    }
    // The removed entries that end the collection, from `tail` on; the one before stays.
    let mut tail = entries.len();
    while tail > 0 && removed.binary_search(&(tail - 1)).is_ok() {
        tail -= 1;
    }
    let multiline = layout.multiline(container);
    let mut splices: Vec<Splice> = removed
        .iter()
        .filter(|at| **at < tail)
        .map(|&at| {
            let entry = &entries[at];
            own_lines(layout, multiline, entry)
                .unwrap_or_else(|| Splice::remove(entry.start, entries[at + 1].start))
        })
        .collect();
    if tail < entries.len() {
        splices.extend(remove_tail(layout, multiline, entries, tail));
    }
    splices
}

/// The splice that empties `container`, when nothing but its entries and whitespace is inside.
fn emptied(layout: &Layout<'_>, container: &Node) -> Option<Splice> {
    let entries = container.entries()?;
    let (open, close) = (container.start, container.end - 1);
    let mut gaps = vec![&layout.text[open + 1..entries.first()?.start]];
    gaps.extend(entries.windows(2).map(|pair| &layout.text[end_of(&pair[0])..pair[1].start]));
    gaps.push(&layout.text[end_of(entries.last()?)..close]);
    gaps.iter().all(|gap| gap.trim().is_empty()).then(|| Splice::remove(open + 1, close))
}

/// Removes the entries from `tail` to the end: the entry left last loses its comma, unless the
/// old last one had one (a trailing comma).
fn remove_tail(layout: &Layout<'_>, multiline: bool, entries: &[Entry], tail: usize) -> Vec<Splice> {
    let last = entries.last().expect("not empty");
    let kept = tail.checked_sub(1).map(|before| &entries[before]);
    let lines: Option<Vec<Splice>> =
        entries[tail..].iter().map(|entry| own_lines(layout, multiline, entry)).collect();
    match (lines, kept) {
        (Some(mut lines), kept) => {
            if last.comma.is_none()
                && let Some(comma) = kept.and_then(|kept| kept.comma)
            {
                lines.push(Splice::remove(comma, comma + 1));
            }
            lines
        }
        (None, Some(kept)) => {
            let comma = kept.comma.expect("an entry followed by another has a comma");
            vec![match last.comma {
                Some(own) => Splice::remove(comma + 1, own + 1),
                None => Splice::remove(comma, last.value.end),
            }]
        }
        (None, None) => vec![Splice::remove(entries[0].start, end_of(last))],
    }
}

/// Where an entry ends: after its comma, if it has one.
fn end_of(entry: &Entry) -> usize {
    entry.comma.map_or(entry.value.end, |comma| comma + 1)
}

/// The splice that removes `entry` with its lines and own comment lines, if it stands alone on
/// them in a multi-line collection.
fn own_lines(layout: &Layout<'_>, multiline: bool, entry: &Entry) -> Option<Splice> {
    if !multiline || layout.own_line_indent(entry.start).is_none() {
        return None;
    }
    let line_end = rest_of_line(layout.text, end_of(entry))?;
    Some(Splice::remove(own_comment_lines(layout, layout.line_start(entry.start)), line_end))
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
