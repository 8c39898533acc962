//! Block scalars (`|`, `>`, with chomping and indentation indicators): where their text is, and
//! what their value is where the parser gets it wrong.
//!
//! The parser's span of a block scalar starts at its first content character and ends anywhere
//! from there to past its trailing blank lines, and it reads a scalar that ends the file without a
//! line break as if it had one. So the lines are found here, from the text, by the YAML 1.2 rules:
//! the header (`|+2 # comment`), then every line indented at least as far as the content (found on
//! the first non-empty line unless the header says it), then, with `+`, the blank lines after it.

/// What stet needs of one block scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockScalar {
    /// The byte offset of the `|` or `>`.
    pub header: usize,
    /// Just past the scalar's last line that belongs to its value, before that line's break: its
    /// last content line, or with `+` its last blank line. The header line's end when it has no
    /// content.
    pub end: usize,
    pub chomping: Chomping,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chomping {
    /// `-`: no final line break.
    Strip,
    /// No indicator: one final line break, if the last content line has one.
    Clip,
    /// `+`: every final line break.
    Keep,
}

impl BlockScalar {
    /// The block scalar whose header is the first token at or after `from` (past `:`, `-`, `?`,
    /// anchors, tags and comments); `parent` is the indentation of the collection holding it (-1
    /// at the top).
    pub fn find(text: &str, from: usize, parent: isize) -> Option<BlockScalar> {
        let header = header_at(text, from)?;
        let indicators: &str = {
            let rest = &text[header + 1..];
            &rest[..rest.find(|c: char| !matches!(c, '+' | '-' | '1'..='9')).unwrap_or(rest.len())]
        };
        let chomping = if indicators.contains('+') {
            Chomping::Keep
        } else if indicators.contains('-') {
            Chomping::Strip
        } else {
            Chomping::Clip
        };
        let explicit = indicators.bytes().find(u8::is_ascii_digit).map(|digit| isize::from(digit - b'0'));
        let header_line_end = line_end(text, header);
        let mut indent = explicit.map(|step| parent.max(0) + step);
        let (mut content_end, mut kept_end) = (header_line_end, header_line_end);
        let mut at = next_line(text, header_line_end);
        while let Some(start) = at {
            let end = line_end(text, start);
            let line = &text[start..end];
            let spaces = line.len() - line.trim_start_matches(' ').len();
            #[allow(clippy::cast_possible_wrap)] // a line is far shorter than isize::MAX
            let spaces_wide = spaces as isize;
            if spaces == line.len() {
                // Spaces only: content if longer than the indentation, else a blank line.
                if indent.is_some_and(|indent| spaces_wide > indent) {
                    content_end = end;
                }
                kept_end = end;
            } else {
                let indent = *indent.get_or_insert(spaces_wide);
                if spaces_wide < indent || spaces_wide <= parent {
                    break;
                }
                content_end = end;
                kept_end = end;
            }
            at = next_line(text, end);
        }
        let end = if chomping == Chomping::Keep { kept_end.max(content_end) } else { content_end };
        Some(BlockScalar { header, end, chomping })
    }

    /// Whether the scalar's last line ends the text without a line break (its value then has no
    /// final line break, whatever the chomping).
    pub fn ends_unterminated(&self, text: &str) -> bool {
        self.end == text.len() && self.end > line_end(text, self.header)
    }

    /// The change to the header that keeps this scalar's value when a line break is added after
    /// it: `-` for its chomping indicator. `None` when it strips already.
    pub fn strip_indicator(&self, text: &str) -> Option<(usize, usize)> {
        if self.chomping == Chomping::Strip {
            return None;
        }
        let rest = &text[self.header + 1..];
        let length = rest.find(|c: char| !matches!(c, '+' | '1'..='9')).unwrap_or(rest.len());
        match rest[..length].find('+') {
            Some(plus) => Some((self.header + 1 + plus, self.header + 2 + plus)),
            None => Some((self.header + 1 + length, self.header + 1 + length)),
        }
    }
}

/// The `|` or `>` of the first token at or after `from`.
fn header_at(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = from;
    while at < bytes.len() {
        match bytes[at] {
            b' ' | b'\t' | b'\r' | b'\n' | b':' | b'-' | b'?' => at += 1,
            b'#' => at = line_end(text, at),
            b'&' | b'!' => {
                at += text[at..].find([' ', '\t', '\r', '\n']).unwrap_or(text.len() - at);
            }
            b'|' | b'>' => return Some(at),
            _ => return None,
        }
    }
    None
}

/// The end of the line holding `at`, before its line break.
fn line_end(text: &str, at: usize) -> usize {
    match text[at..].find('\n') {
        Some(offset) if offset > 0 && text.as_bytes()[at + offset - 1] == b'\r' => at + offset - 1,
        Some(offset) => at + offset,
        None => text.len(),
    }
}

/// The start of the line after the one ending at `end`, if there is one.
fn next_line(text: &str, end: usize) -> Option<usize> {
    let start = end + text[end..].find('\n')? + 1;
    (start < text.len()).then_some(start)
}

#[cfg(test)]
mod tests {
    use super::{BlockScalar, Chomping};

    fn find(text: &str) -> BlockScalar {
        BlockScalar::find(text, 2, 0).expect("a block scalar")
    }

    #[test]
    fn a_block_scalar_ends_at_its_last_content_line_or_with_keep_its_last_blank_line() {
        let text = "a: |\n  x\n\n  y\n\n\nb: 1\n";
        assert_eq!(&text[..find(text).end], "a: |\n  x\n\n  y");
        let text = "a: |+\n  x\n\n\nb: 1\n";
        assert_eq!(&text[..find(text).end], "a: |+\n  x\n\n");
        let text = "a: >-\n  x\n     \n# c\n";
        assert_eq!(&text[..find(text).end], "a: >-\n  x\n     ");
        assert_eq!(find(text).chomping, Chomping::Strip);
        let text = "a: |\nb: 1\n";
        assert_eq!(&text[..find(text).end], "a: |");
    }

    #[test]
    fn the_strip_indicator_goes_after_the_other_indicators_or_replaces_keep() {
        let at = |text: &str| find(text).strip_indicator(text);
        assert_eq!(at("a: |\n  x"), Some((4, 4)));
        assert_eq!(at("a: >2\n  x"), Some((5, 5)));
        assert_eq!(at("a: |+\n  x"), Some((4, 5)));
        assert_eq!(at("a: |-\n  x"), None);
        assert!(find("a: |\n  x").ends_unterminated("a: |\n  x"));
        assert!(!find("a: |\n  x\n").ends_unterminated("a: |\n  x\n"));
    }
}
