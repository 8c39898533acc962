//! The text of a TOML document as lines, and the splices an edit makes to it.
//!
//! Every edit is a set of splices of the original text: ranges replaced by new text. What no
//! splice covers stays byte for byte (line breaks, a missing final line break, comments,
//! spelling), which is the promise; the splices are checked not to overlap.

use std::collections::BTreeMap;
use std::ops::Range;

/// The start of the line holding `at`.
pub(crate) fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |offset| offset + 1)
}

/// The end of the line holding `at`, past its line break.
pub(crate) fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |offset| at + offset + 1)
}

/// The start of the comment lines directly above the line starting at `start` (no blank line
/// between): a key's or a table's own comment, which goes when it goes.
pub(crate) fn own_comment_start(text: &str, start: usize) -> usize {
    let mut start = start;
    while start > 0 {
        let above = line_start(text, start - 1);
        if !text[above..start].trim_start().starts_with('#') {
            break;
        }
        start = above;
    }
    start
}

/// The whitespace that starts the line holding `at`.
pub(crate) fn indentation(text: &str, at: usize) -> &str {
    let start = line_start(text, at);
    let line = &text[start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// The line break the document uses: that of its first line, else `fallback`.
pub(crate) fn newline<'a>(text: &str, fallback: &'a str) -> &'a str {
    match text.find('\n') {
        Some(at) if at > 0 && text.as_bytes()[at - 1] == b'\r' => "\r\n",
        Some(_) => "\n",
        None => fallback,
    }
}

/// The splices of one pass over a text, kept ordered by where they start.
#[derive(Debug, Default)]
pub(crate) struct Splices {
    /// By (start, end, order of arrival): insertions at a point come before a removal starting
    /// there, and in the order they were made.
    splices: BTreeMap<(usize, usize, usize), String>,
}

impl Splices {
    /// Whether a splice of `range` would overlap one already made (touching ends is fine). The
    /// splices made are disjoint, so only the one starting last before `range` and those
    /// starting inside it can overlap it.
    pub fn overlaps(&self, range: &Range<usize>) -> bool {
        let (start, end) = (range.start, range.end);
        let before = self.splices.range(..(start, 0, 0)).next_back();
        if before.is_some_and(|((_, before_end, _), _)| *before_end > start) {
            return true;
        }
        end > start
            && self.splices.range((start, 0, 0)..(end, 0, 0)).any(|((at, to, _), _)| *at > start || to > at)
    }

    /// Replaces `range` by `with`.
    pub fn add(&mut self, range: Range<usize>, with: String) {
        let order = self.splices.len();
        self.splices.insert((range.start, range.end, order), with);
    }

    /// The text with every splice made.
    pub fn apply(self, text: &str) -> String {
        crate::doc::splice::join(
            text,
            self.splices.iter().map(|((start, end, _), with)| (*start, *end, with.as_str())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{Splices, own_comment_start};

    #[test]
    fn only_comment_lines_directly_above_belong_to_a_line() {
        let text = "# far\n\n# near\n  # nearer\nkey = 1\n";
        assert_eq!(
            &text[own_comment_start(text, text.find("key").unwrap())..],
            "# near\n  # nearer\nkey = 1\n"
        );
    }

    #[test]
    fn splices_apply_in_order_and_overlaps_are_seen() {
        let mut splices = Splices::default();
        splices.add(4..8, String::new());
        assert!(splices.overlaps(&(6..10)) && splices.overlaps(&(2..5)) && splices.overlaps(&(5..5)));
        assert!(!splices.overlaps(&(8..8)) && !splices.overlaps(&(4..4)) && !splices.overlaps(&(0..4)));
        splices.add(8..8, "X".into());
        splices.add(4..4, "Y".into());
        splices.add(8..8, "Z".into());
        assert_eq!(splices.apply("0123456789"), "0123YXZ89");
    }
}
