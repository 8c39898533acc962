//! Making an edit's splices: every format computes byte ranges to replace, and this joins them
//! into the new text in one pass.

/// `text` with each piece's byte range `start..end` replaced by its text. The pieces come sorted
/// by position and do not overlap (a range that starts inside the previous one is joined from
/// where that one ended).
pub(crate) fn join<'p>(text: &str, pieces: impl IntoIterator<Item = (usize, usize, &'p str)>) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for (start, end, with) in pieces {
        debug_assert!(at <= start || start == end, "splices do not overlap");
        out.push_str(&text[at..start.max(at)]);
        out.push_str(with);
        at = at.max(end);
    }
    out.push_str(&text[at..]);
    out
}
