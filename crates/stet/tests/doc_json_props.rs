//! Property tests of JSON and JSONC edits: for generated documents (comments, trailing commas,
//! CRLF, one-line and multi-line collections, escapes, number spellings) and any edit of any key
//! path, `serde_json`'s reading of the result (comments and trailing commas stripped) is the
//! input's reading with exactly that edit made, and no byte outside the edited collection or
//! value changes.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::{Value, json};
use stet::doc::{Document, Edit, Format, KeyPath};

/// A generated value and how it is written.
#[derive(Debug, Clone)]
enum Gen {
    Scalar(&'static str),
    Object(Vec<Gen>, Look),
    Array(Vec<Gen>, Look),
}

/// How a collection is written.
#[derive(Debug, Clone)]
struct Look {
    multiline: bool,
    trailing_comma: bool,
    /// Per entry: 0 nothing, 1 a `//` line above, 2 a `/* */` line above, 3 a comment beside,
    /// 4 a blank line above.
    decorations: Vec<u8>,
}

const KEYS: [&str; 6] = ["a", "b", "c", "d.o", "e/f", "é"];

const SCALARS: [&str; 17] = [
    "0",
    "-7",
    "1e5",
    "1.0",
    "2.50E-3",
    "-0",
    "12345678901234567890",
    "true",
    "false",
    "null",
    "\"x\"",
    "\"a\\/b\"",
    "\"\\u00e9t\\u00E9\"",
    "\"é\"",
    "\"tab\\there \\\"q\\\"\"",
    "\"// not a comment, /* nor this */\"",
    "\"\"",
];

fn look() -> impl Strategy<Value = Look> {
    (any::<bool>(), any::<bool>(), proptest::collection::vec(0u8..8, 6)).prop_map(
        |(multiline, trailing_comma, decorations)| Look {
            multiline,
            trailing_comma,
            decorations: decorations.into_iter().map(|at| if at > 4 { 0 } else { at }).collect(),
        },
    )
}

fn generated() -> impl Strategy<Value = Gen> {
    let leaf = proptest::sample::select(&SCALARS[..]).prop_map(Gen::Scalar);
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            (proptest::collection::vec(inner.clone(), 0..5), look())
                .prop_map(|(items, look)| Gen::Object(items, look)),
            (proptest::collection::vec(inner, 0..5), look())
                .prop_map(|(items, look)| Gen::Array(items, look)),
        ]
    })
}

/// The document's overall style: each flag is one independent choice of the generator.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)]
struct Style {
    crlf: bool,
    unit: &'static str,
    colon: &'static str,
    bom: bool,
    final_newline: bool,
    leading_comment: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (
        any::<bool>(),
        proptest::sample::select(vec!["  ", "    ", "\t"]),
        proptest::sample::select(vec![": ", ":", " : "]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(crlf, unit, colon, bom, final_newline, leading_comment)| Style {
            crlf,
            unit,
            colon,
            bom,
            final_newline,
            leading_comment,
        })
}

/// Writes documents and records the span of every value by its key path.
struct Writer<'s> {
    style: &'s Style,
    out: String,
    spans: HashMap<Vec<String>, (usize, usize)>,
}

impl Writer<'_> {
    fn newline(&mut self) {
        self.out.push_str(if self.style.crlf { "\r\n" } else { "\n" });
    }

    fn value(&mut self, value: &Gen, path: Vec<String>, indent: &str, flat: bool) {
        let start = self.out.len();
        match value {
            Gen::Scalar(text) => self.out.push_str(text),
            Gen::Object(items, look) | Gen::Array(items, look) => {
                let object = matches!(value, Gen::Object(..));
                let (open, close) = if object { ('{', '}') } else { ('[', ']') };
                self.out.push(open);
                let multiline = look.multiline && !flat && !items.is_empty();
                let inner = format!("{indent}{}", self.style.unit);
                for (at, item) in items.iter().enumerate() {
                    let key = if object { KEYS[at].to_owned() } else { at.to_string() };
                    let decoration = look.decorations[at];
                    let last = at + 1 == items.len();
                    if multiline {
                        self.newline();
                        match decoration {
                            1 => self.line(&inner, "// about the next entry"),
                            2 => self.line(&inner, "/* about the next entry */"),
                            4 => self.newline(),
                            _ => {}
                        }
                        self.out.push_str(&inner);
                    } else if at > 0 {
                        self.out.push(' ');
                    }
                    if object {
                        self.out.push_str(&serde_json::to_string(&key).unwrap());
                        self.out.push_str(self.style.colon);
                    }
                    let mut child = path.clone();
                    child.push(key);
                    self.value(item, child, &inner, !multiline);
                    if !last || look.trailing_comma {
                        self.out.push(',');
                    }
                    if decoration == 3 {
                        self.out.push_str(if multiline { " // beside" } else { " /* beside */" });
                    }
                }
                if multiline {
                    self.newline();
                    self.out.push_str(indent);
                }
                self.out.push(close);
            }
        }
        self.spans.insert(path, (start, self.out.len()));
    }

    fn line(&mut self, indent: &str, comment: &str) {
        self.out.push_str(indent);
        self.out.push_str(comment);
        self.newline();
    }
}

/// The document's text and the spans of its values; its root is always an object.
fn write(root: &Gen, style: &Style) -> (String, HashMap<Vec<String>, (usize, usize)>) {
    let root = match root {
        Gen::Object(..) => root.clone(),
        other => Gen::Object(
            vec![other.clone()],
            Look { multiline: true, trailing_comma: false, decorations: vec![0; 6] },
        ),
    };
    let mut writer = Writer { style, out: String::new(), spans: HashMap::new() };
    if style.bom {
        writer.out.push('\u{feff}');
    }
    if style.leading_comment {
        writer.out.push_str("// settings");
        writer.newline();
    }
    writer.value(&root, Vec::new(), "", false);
    if style.final_newline {
        writer.newline();
    }
    (writer.out, writer.spans)
}

/// `serde_json`'s reading of a JSONC text: comments and trailing commas removed first.
fn reference(text: &str) -> Value {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(char) = chars.next() {
        if in_string {
            plain.push(char);
            match char {
                '\\' => plain.push(chars.next().unwrap()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (char, chars.peek()) {
            ('"', _) => {
                in_string = true;
                plain.push(char);
            }
            ('/', Some('/')) => {
                while chars.peek().is_some_and(|next| *next != '\n') {
                    chars.next();
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut previous = ' ';
                for next in chars.by_ref() {
                    if previous == '*' && next == '/' {
                        break;
                    }
                    previous = next;
                }
                plain.push(' ');
            }
            (',', _) => {
                let rest: String = chars.clone().collect();
                let rest = strip_comments_start(&rest);
                if !rest.starts_with(['}', ']']) {
                    plain.push(',');
                }
            }
            _ => plain.push(char),
        }
    }
    serde_json::from_str(&plain).unwrap_or_else(|err| panic!("the reference reads {plain:?}: {err}"))
}

/// `text` from its first character that is neither whitespace nor in a comment.
fn strip_comments_start(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        if let Some(rest) = text.strip_prefix("//") {
            text = rest.find('\n').map_or("", |at| &rest[at..]);
        } else if let Some(rest) = text.strip_prefix("/*") {
            text = rest.find("*/").map_or("", |at| &rest[at + 2..]);
        } else {
            return text;
        }
    }
}

/// Every key path of `value`: (path, value there).
fn paths(value: &Value, at: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(key, item)| (key.clone(), item)).collect(),
        Value::Array(items) => {
            items.iter().enumerate().map(|(index, item)| (index.to_string(), item)).collect()
        }
        _ => return,
    };
    for (key, child) in children {
        at.push(key);
        out.push((at.clone(), child.clone()));
        paths(child, at, out);
        at.pop();
    }
}

/// The edit's meaning on a value, as the contract states it.
fn apply(document: &mut Value, edit: &Edit) -> Result<(), ()> {
    let (key, value) = match edit {
        Edit::Set { key, value } | Edit::Push { key, value } => (key, value),
        Edit::Unset { key } => {
            let (last, parent) = key.segments().split_last().unwrap();
            let container = parent.iter().try_fold(document, |current, segment| match current {
                Value::Object(map) => map.get_mut(segment),
                Value::Array(items) => segment.parse::<usize>().ok().and_then(|at| items.get_mut(at)),
                _ => None,
            });
            match container {
                Some(Value::Object(map)) => {
                    map.shift_remove(last);
                }
                Some(Value::Array(items)) => {
                    if let Some(at) = last.parse::<usize>().ok().filter(|at| *at < items.len()) {
                        items.remove(at);
                    }
                }
                _ => {}
            }
            return Ok(());
        }
        _ => unreachable!(),
    };
    let mut current = document;
    for segment in key.segments() {
        if current.is_null() {
            *current = json!({});
        }
        current = match current {
            Value::Object(map) => map.entry(segment.clone()).or_insert(Value::Null),
            Value::Array(items) => items.get_mut(segment.parse::<usize>().map_err(|_| ())?).ok_or(())?,
            _ => return Err(()),
        };
    }
    match (edit, current) {
        (Edit::Set { .. }, slot) => *slot = value.clone(),
        (Edit::Push { .. }, Value::Array(items)) => items.push(value.clone()),
        (Edit::Push { .. }, slot @ Value::Null) => *slot = json!([value]),
        _ => return Err(()),
    }
    Ok(())
}

fn new_value() -> impl Strategy<Value = Value> {
    proptest::sample::select(vec![
        json!(1),
        json!("new"),
        json!("é\"/"),
        json!(null),
        json!(true),
        json!([1, 2]),
        json!({"x": 1, "y": [true]}),
        json!({}),
    ])
}

/// An edit kind, the path chosen among the document's (by index), and a new key.
type Choice = (u8, usize, usize, Value);

fn choice() -> impl Strategy<Value = Choice> {
    (0u8..5, any::<usize>(), 0usize..3, new_value())
}

/// The edit a choice names in the document `value`, and the key path of the span that may
/// change (the edited value, or the collection an entry is added to or removed from).
fn edit_of(value: &Value, (kind, pick, fresh, new): &Choice) -> (Edit, Vec<String>) {
    let mut all = vec![(Vec::new(), value.clone())];
    paths(value, &mut Vec::new(), &mut all);
    let (path, found) = all[pick % all.len()].clone();
    let fresh = ["n", "n.m", "z/z"][*fresh].to_owned();
    let key = |segments: Vec<String>| KeyPath::from_segments(segments);
    let child = || {
        let mut child = path.clone();
        child.push(fresh.clone());
        child
    };
    match (kind, &found) {
        (0, _) if !path.is_empty() => {
            (Edit::Set { key: key(path.clone()), value: new.clone() }, path.clone())
        }
        (1, _) if !path.is_empty() => {
            (Edit::Unset { key: key(path.clone()) }, path[..path.len() - 1].to_vec())
        }
        (3, Value::Object(_)) => (Edit::Push { key: key(child()), value: new.clone() }, path.clone()),
        (_, Value::Object(_)) => (Edit::Set { key: key(child()), value: new.clone() }, path.clone()),
        (_, Value::Array(_)) => (Edit::Push { key: key(path.clone()), value: new.clone() }, path.clone()),
        _ => (Edit::Set { key: key(path.clone()), value: new.clone() }, path.clone()),
    }
}

fn edited(text: &str, edits: &[Edit]) -> String {
    let document = Document::parse(Format::Json, Some(text.as_bytes())).expect("a generated document parses");
    match document.edited(edits) {
        Ok(Some(new)) => new,
        Ok(None) => text.to_owned(),
        Err(err) => panic!("{edits:?} refused on\n{text}\n: {err}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn a_json_edit_means_exactly_the_edit_and_changes_no_byte_outside_its_span(
        root in generated(),
        style in style(),
        choice in choice(),
    ) {
        let (text, spans) = write(&root, &style);
        let before = reference(&text);
        prop_assert_eq!(&value_of(&text), &before, "stet reads what serde_json reads:\n{}", text);
        let (edit, span_path) = edit_of(&before, &choice);
        let mut expected = before.clone();
        prop_assume!(apply(&mut expected, &edit).is_ok());
        let new = edited(&text, std::slice::from_ref(&edit));
        prop_assert_eq!(&reference(&new), &expected, "{:?} on\n{}\ngave\n{}", edit, text, new);
        let (start, end) = spans[&span_path];
        let prefix = text.bytes().zip(new.bytes()).take_while(|(a, b)| a == b).count();
        let suffix = text.bytes().rev().zip(new.bytes().rev()).take_while(|(a, b)| a == b).count();
        let suffix = suffix.min(text.len().min(new.len()) - prefix);
        let changed = prefix..text.len() - suffix;
        prop_assert!(
            new == text || (start <= changed.start && changed.end <= end),
            "{:?} changed bytes {:?} outside {}..{} of\n{}\ngiving\n{}", edit, changed, start, end, text, new
        );
    }

    #[test]
    fn several_json_edits_at_once_mean_them_made_in_order(
        root in generated(),
        style in style(),
        choices in proptest::collection::vec(choice(), 1..5),
    ) {
        let (text, _) = write(&root, &style);
        let before = reference(&text);
        let mut expected = before.clone();
        let mut edits = Vec::new();
        for choice in &choices {
            let (edit, _) = edit_of(&expected, choice);
            prop_assume!(apply(&mut expected, &edit).is_ok());
            edits.push(edit);
        }
        let new = edited(&text, &edits);
        prop_assert_eq!(&reference(&new), &expected, "{:?} on\n{}\ngave\n{}", edits, text, new);
        prop_assert_eq!(value_of(&new), expected, "stet reads what serde_json reads");
    }
}

fn value_of(text: &str) -> Value {
    Document::parse(Format::Json, Some(text.as_bytes())).unwrap().value().clone()
}
